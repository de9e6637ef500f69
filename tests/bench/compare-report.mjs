// The report of `make bench-compare` (tests/bench/compare.sh), from the
// lines it collected (build/bench/compare-runs.txt):
//   title ...                     setup rounds= seconds= concurrency= ...
//   case=C round=R <bench_load's line: workload= server= ops_per_s= ...>
//   memory alg= server= idle= now= peak=     (KiB)
// For each case (a workload with ES256 or RS256 ID tokens), concurrency and
// server: the median over the rounds of each figure (errors: their sum),
// and the ratio Tessera / oidc-provider. Prints the tables, writes them as
// Markdown, and draws throughput against concurrency as SVG (one panel per
// case, both axes logarithmic), with nothing but node's own modules.
// Usage: node compare-report.mjs RUNS OUT.md OUT.svg
import { readFileSync, writeFileSync } from 'node:fs';

const [runsFile, mdFile, svgFile] = process.argv.slice(2);
const SERVERS = ['tessera', 'oidc-provider'];
const COLOURS = { tessera: '#1f6fb4', 'oidc-provider': '#e0701a' };
const FIGURES = [
  // key of bench_load's line, column heading, decimals
  ['ops_per_s', 'ops/s', 1],
  ['p50_ms', 'p50 ms', 3],
  ['p99_ms', 'p99 ms', 3],
  ['server_cpu_us_per_op', 'server CPU µs/op', 1],
  ['driver_cpu_us_per_op', 'driver CPU µs/op', 1],
];
const ABOUT = {
  discovery: 'GET /.well-known/openid-configuration',
  jwks: 'GET the JWK set (Tessera /jwks.json, the peer /jwks)',
  flow: 'complete authorisation-code flows with PKCE S256, each one operation (Tessera: '
    + 'POST session, PUT authentication, PUT consent; the peer: GET /auth, POST '
    + '/interaction/:uid, GET /auth/:uid, with cookies; then token and UserInfo)',
  refresh: 'refresh_token grants, each rotating the token',
};

// "a=1 b=\"x y\"" -> { a: '1', b: 'x y' }
function pairs(line) {
  const out = {};
  for (const [, k, v] of line.matchAll(/(\w+)=("[^"]*"|\S+)/g)) out[k] = v.replace(/^"|"$/g, '');
  return out;
}

const lines = readFileSync(runsFile, 'utf8').split('\n').filter(Boolean);
const title = lines.find((l) => l.startsWith('title ')).slice(6);
const setup = pairs(lines.find((l) => l.startsWith('setup ')));
const runs = lines.filter((l) => l.startsWith('case=')).map(pairs);
const memory = lines.filter((l) => l.startsWith('memory ')).map(pairs);
const concurrencies = setup.concurrency.split(',').map(Number);

function median(values) {
  const v = [...values].sort((a, b) => a - b);
  const m = v.length >> 1;
  return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
}

// cases in run order: { name, workload, alg, skipped, rows: conc -> server -> figures }
const cases = [];
for (const r of runs) {
  let c = cases.find((x) => x.name === r.case);
  if (!c) {
    const [workload, alg] = r.case.split('-');
    c = { name: r.case, workload, alg, skipped: r.skipped, rows: new Map() };
    cases.push(c);
  }
  if (r.skipped) continue;
  const conc = Number(r.concurrency);
  if (!c.rows.has(conc)) c.rows.set(conc, {});
  const row = c.rows.get(conc);
  (row[r.server] ??= []).push(r);
}
for (const c of cases) {
  for (const [conc, row] of c.rows) {
    const figures = {};
    for (const s of SERVERS) {
      const rs = row[s] ?? [];
      figures[s] = Object.fromEntries(FIGURES.map(([k]) => [k, median(rs.map((r) => Number(r[k])))]));
      figures[s].errors = rs.reduce((n, r) => n + Number(r.errors), 0);
    }
    c.rows.set(conc, figures);
  }
}

const label = (c) => (['discovery', 'jwks'].includes(c.workload) || c.skipped
  ? c.workload : `${c.workload}, ${c.alg} ID tokens`);
const ratio = (a, b) => (b > 0 ? a / b : NaN);
const fmt = (v, d) => (Number.isFinite(v) ? v.toFixed(d) : '-');

// ---- text and Markdown tables --------------------------------------------
const text = [];
const md = [];
const heading = `${title}; median of ${setup.rounds} rounds of ${setup.seconds} s each `
  + `(after a ${setup.warmup} s warm-up), rounds alternating the servers; ${setup.cpus} CPUs `
  + 'shared by the driver and the server. Ratios are Tessera / oidc-provider: above 1 is more '
  + 'operations per second, or more latency, CPU or memory, for Tessera.';
text.push(`== ${heading}`);
md.push('# make bench-compare', '', heading, '');

// The summary: at the highest concurrency, each workload's throughput and
// server CPU per operation for both servers and their ratio, and the
// driver's CPU per operation next to it.
const top = Math.max(...concurrencies);
const SUMMARY = [
  // heading (text, Markdown), width, figure, server or ratio, decimals
  ['tessera ops/s', 'Tessera ops/s', 13, 'ops_per_s', 'tessera', 0],
  ['peer ops/s', 'oidc-provider ops/s', 10, 'ops_per_s', 'oidc-provider', 0],
  ['ratio', 'ratio', 6, 'ops_per_s', null, 2],
  ['tessera CPU', 'Tessera server CPU µs/op', 11, 'server_cpu_us_per_op', 'tessera', 1],
  ['peer CPU', 'oidc-provider server CPU µs/op', 9, 'server_cpu_us_per_op', 'oidc-provider', 1],
  ['ratio', 'ratio', 6, 'server_cpu_us_per_op', null, 2],
  ['driver (t)', 'driver CPU µs/op (Tessera)', 10, 'driver_cpu_us_per_op', 'tessera', 1],
  ['driver (p)', 'driver CPU µs/op (oidc-provider)', 10, 'driver_cpu_us_per_op', 'oidc-provider',
    1],
];
text.push('', `== summary at concurrency ${top}: CPU is the server's µs per operation, driver`
  + " the load driver's in the run against Tessera (t) and the peer (p)");
text.push(`  ${'workload'.padEnd(26)} ${SUMMARY.map(([h, , w]) => h.padStart(w)).join(' ')}`);
md.push(`## Summary at concurrency ${top}`, '',
  `| workload | ${SUMMARY.map(([, h]) => h).join(' | ')} |`,
  `|---|${SUMMARY.map(() => '---:').join('|')}|`);
for (const c of cases) {
  if (c.skipped) {
    text.push(`  ${label(c).padEnd(26)} skipped: ${c.skipped}`);
    md.push(`| ${label(c)} | skipped: ${c.skipped} |${' |'.repeat(SUMMARY.length - 1)}`);
    continue;
  }
  const f = c.rows.get(top);
  if (!f) continue;
  const cells = SUMMARY.map(([, , , k, s, d]) => fmt(s ? f[s][k]
    : ratio(f.tessera[k], f['oidc-provider'][k]), d));
  text.push(`  ${label(c).padEnd(26)} ${cells.map((v, i) => v.padStart(SUMMARY[i][2])).join(' ')}`);
  md.push(`| ${label(c)} | ${cells.join(' | ')} |`);
}

const widths = [5, 14, ...FIGURES.map(([, h]) => Math.max(h.length, 9)), 6];
const cols = (cells) => `  ${cells.map((v, i) => (i === 1 ? String(v).padEnd(widths[i])
  : String(v).padStart(widths[i]))).join(' ')}`;
for (const c of cases) {
  if (c.skipped) continue;
  text.push('', `== ${label(c)}: ${ABOUT[c.workload]}`);
  text.push(cols(['conc', 'server', ...FIGURES.map(([, h]) => h), 'errors']));
  md.push('', `## ${label(c)}`, '', `${ABOUT[c.workload]}.`, '',
    `| concurrency | server | ${FIGURES.map(([, h]) => h).join(' | ')} | errors |`,
    `|---:|---|${FIGURES.map(() => '---:').join('|')}|---:|`);
  for (const [conc, f] of [...c.rows].sort((a, b) => a[0] - b[0])) {
    for (const s of SERVERS) {
      const cells = FIGURES.map(([k, , d]) => fmt(f[s][k], d));
      text.push(cols([conc, s, ...cells, f[s].errors]));
      md.push(`| ${conc} | ${s} | ${cells.join(' | ')} | ${f[s].errors} |`);
    }
    // the driver's CPU is no figure of the servers: no ratio for it
    const r = FIGURES.slice(0, 4).map(([k]) => fmt(ratio(f.tessera[k], f['oidc-provider'][k]), 2));
    text.push(cols(['', 'tessera/peer', ...r, '', '']));
    md.push(`| ${conc} | *tessera / peer* | ${r.map((v) => `*${v}*`).join(' | ')} | | |`);
  }
}

text.push('', '== memory, KiB: RSS at idle (after start), after the load, and the peak (VmHWM)');
text.push(`  ${'ID tokens'.padEnd(10)} ${'server'.padEnd(14)} ${'idle'.padStart(9)}`
  + ` ${'after load'.padStart(10)} ${'peak'.padStart(9)}`);
md.push('', '## Memory', '', 'RSS in KiB at idle (after start), after the load, and the peak '
  + '(VmHWM) over all the runs of that server.', '',
  '| ID tokens | server | idle | after load | peak |', '|---|---|---:|---:|---:|');
for (const alg of [...new Set(memory.map((m) => m.alg))]) {
  const m = Object.fromEntries(memory.filter((x) => x.alg === alg).map((x) => [x.server, x]));
  const rows = [...SERVERS.map((s) => [s, m[s].idle, m[s].now, m[s].peak]),
    ['tessera/peer', ...['idle', 'now', 'peak'].map((k) => fmt(ratio(m.tessera[k],
      m['oidc-provider'][k]), 2))]];
  for (const [s, ...v] of rows) {
    text.push(`  ${alg.padEnd(10)} ${s.padEnd(14)} ${String(v[0]).padStart(9)}`
      + ` ${String(v[1]).padStart(10)} ${String(v[2]).padStart(9)}`);
    md.push(`| ${alg} | ${s} | ${v.join(' | ')} |`);
  }
}
text.push('', `table: ${mdFile}`, `chart: ${svgFile}`);
console.log(text.join('\n'));
writeFileSync(mdFile, `${md.join('\n')}\n`);

// ---- the chart -------------------------------------------------------------
const esc = (s) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const W = 380;
const H = 280;
const M = { left: 64, right: 16, top: 34, bottom: 48 };
const PER_ROW = 3;
const panels = cases.filter((c) => !c.skipped && c.rows.size > 0);
const rowsOfPanels = Math.ceil(panels.length / PER_ROW);
const HEAD = 64;
const width = W * Math.min(PER_ROW, panels.length);
const height = HEAD + H * rowsOfPanels;
const si = (v) => (v >= 1e6 ? `${v / 1e6}M` : v >= 1e3 ? `${v / 1e3}k` : `${v}`);

// One panel: ops/s against concurrency, both on log scales, at (x0, y0).
function panel(c, x0, y0) {
  const out = [];
  const pw = W - M.left - M.right;
  const ph = H - M.top - M.bottom;
  const concs = [...c.rows.keys()].sort((a, b) => a - b);
  const values = concs.flatMap((k) => SERVERS.map((s) => c.rows.get(k)[s].ops_per_s))
    .filter((v) => v > 0);
  let lo = Math.floor(Math.log10(Math.min(...values)));
  let hi = Math.ceil(Math.log10(Math.max(...values)));
  if (hi === lo) hi = lo + 1;
  const [cmin, cmax] = [Math.log2(concs[0]), Math.log2(concs[concs.length - 1])];
  const x = (k) => x0 + M.left + (cmax > cmin ? ((Math.log2(k) - cmin) / (cmax - cmin)) * pw : pw / 2);
  const y = (v) => y0 + M.top + ph - ((Math.log10(v) - lo) / (hi - lo)) * ph;
  out.push(`<text x="${x0 + W / 2}" y="${y0 + 20}" text-anchor="middle" font-weight="bold">`
    + `${esc(label(c))}</text>`);
  out.push(`<rect x="${x0 + M.left}" y="${y0 + M.top}" width="${pw}" height="${ph}" `
    + 'fill="none" stroke="#888"/>');
  // y ticks: each decade, and 2 and 5 times it when there are few decades
  for (let d = lo; d <= hi; d++) {
    for (const m of hi - lo <= 2 ? [1, 2, 5] : [1]) {
      const v = m * 10 ** d;
      if (Math.log10(v) > hi + 1e-9) continue;
      out.push(`<line x1="${x0 + M.left}" x2="${x0 + M.left + pw}" y1="${y(v)}" y2="${y(v)}" `
        + `stroke="#ddd"${m === 1 ? '' : ' stroke-dasharray="2,3"'}/>`);
      out.push(`<text x="${x0 + M.left - 6}" y="${y(v) + 4}" text-anchor="end">${si(v)}</text>`);
    }
  }
  for (const k of concs) {
    out.push(`<line x1="${x(k)}" x2="${x(k)}" y1="${y0 + M.top + ph}" y2="${y0 + M.top + ph + 5}" `
      + 'stroke="#888"/>');
    out.push(`<text x="${x(k)}" y="${y0 + M.top + ph + 18}" text-anchor="middle">${k}</text>`);
  }
  out.push(`<text x="${x0 + M.left + pw / 2}" y="${y0 + H - 8}" text-anchor="middle">`
    + 'concurrent connections</text>');
  const ym = y0 + M.top + ph / 2;
  out.push(`<text x="${x0 + 14}" y="${ym}" text-anchor="middle" `
    + `transform="rotate(-90 ${x0 + 14} ${ym})">operations/s (log)</text>`);
  for (const s of SERVERS) {
    const pts = concs.map((k) => [x(k), y(Math.max(c.rows.get(k)[s].ops_per_s, 10 ** lo))]);
    out.push(`<polyline fill="none" stroke="${COLOURS[s]}" stroke-width="2" points="`
      + `${pts.map(([a, b]) => `${a.toFixed(1)},${b.toFixed(1)}`).join(' ')}"/>`);
    for (const [a, b] of pts) {
      out.push(`<circle cx="${a.toFixed(1)}" cy="${b.toFixed(1)}" r="3" fill="${COLOURS[s]}"/>`);
    }
  }
  return out;
}

const svg = [`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" `
  + `viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="11">`,
`<rect width="${width}" height="${height}" fill="white"/>`,
`<text x="${width / 2}" y="20" text-anchor="middle" font-size="14" font-weight="bold">`
  + `${esc(`Throughput against concurrency: ${title}`)}</text>`,
`<text x="${width / 2}" y="36" text-anchor="middle">${esc(`median of ${setup.rounds} rounds `
  + `of ${setup.seconds} s; ${setup.cpus} CPUs shared by the load driver and the server`)}</text>`];
SERVERS.forEach((s, i) => {
  const lx = width / 2 - 130 + i * 150;
  svg.push(`<line x1="${lx}" x2="${lx + 24}" y1="52" y2="52" stroke="${COLOURS[s]}" `
    + 'stroke-width="2"/>', `<circle cx="${lx + 12}" cy="52" r="3" fill="${COLOURS[s]}"/>`,
  `<text x="${lx + 30}" y="56">${esc(s)}</text>`);
});
panels.forEach((c, i) => {
  svg.push(...panel(c, (i % PER_ROW) * W, HEAD + Math.floor(i / PER_ROW) * H));
});
svg.push('</svg>');
writeFileSync(svgFile, `${svg.join('\n')}\n`);
