// Starts the example login page (ASan + UBSan build) on a loopback port,
// against a running server, with the demo users and API token; Chromium
// for the browser tests; a TLS front for the page; and screenshots of a
// failed browser test, under build/test-artifacts/.
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { createServer as createTlsServer } from 'node:tls';
import { ROOT, DEMO_API_TOKEN, freePort, stopper } from './harness.js';

// LOGIN_PAGE_BIN runs another build (e.g. build/release/login-page).
export const LOGIN_PAGE_BIN = process.env.LOGIN_PAGE_BIN ?? join(ROOT, 'build/asan/login-page');
export const DEMO_USERS = join(ROOT, 'examples/login-page/users.json');
export const ARTIFACTS = process.env.TEST_ARTIFACTS ?? join(ROOT, 'build/test-artifacts');
export const CHROMIUM = {
  executablePath: '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
};

// Chromium that resolves each of `hosts` to 127.0.0.1: names that are
// not "potentially trustworthy" over http (no Fetch Metadata is sent to
// them), and that make sites of their own (login.test, evil.test).
export function chromiumWithHosts(hosts) {
  const rules = hosts.map((h) => `MAP ${h} 127.0.0.1`).join(', ');
  return { ...CHROMIUM, args: [...CHROMIUM.args, `--host-resolver-rules=${rules}`] };
}

// The environment that makes the server advertise the page at `origin`
// (a port on 127.0.0.1, or an origin URL).
export function loginPageEnv(origin) {
  const base = typeof origin === 'number' ? `http://127.0.0.1:${origin}` : origin;
  return {
    TESSERA_OP_AUTHZ_ENDPOINT: `${base}/login`,
    TESSERA_OP_LOGOUT_ENDPOINT: `${base}/logout`,
  };
}

// The page on `port` (a free one when not given) for `server`; with
// `publicUrl`, the origin browsers see it at (--public-url). `url` is that
// origin, `direct` the page's own loopback address.
export async function startLoginPage({ server, port, publicUrl, args = [], env = {} }) {
  port ??= await freePort();
  const direct = `http://127.0.0.1:${port}`;
  const child = spawn(LOGIN_PAGE_BIN, [
    '--listen', `127.0.0.1:${port}`, '--server', server.issuer, '--users', DEMO_USERS,
    ...(publicUrl ? ['--public-url', publicUrl] : []), ...args,
  ], {
    cwd: ROOT,
    env: {
      ...process.env,
      ASAN_OPTIONS: 'detect_leaks=1:abort_on_error=0',
      UBSAN_OPTIONS: 'print_stacktrace=1:halt_on_error=1',
      LOGIN_PAGE_API_TOKEN: DEMO_API_TOKEN,
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  child.stdout.on('data', (d) => { log += d; });
  child.stderr.on('data', (d) => { log += d; });
  const stop = stopper(child, 'login-page', () => log);
  const end = Date.now() + 15000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`login page exited: ${log}`);
    if (log.includes('login page: ready')) break;
    if (Date.now() > end) {
      child.kill('SIGKILL');
      throw new Error(`timed out waiting for the login page: ${log}`);
    }
    await sleep(50);
  }
  return {
    port, url: publicUrl ?? direct, direct, child,
    log: () => log,
    stop, // SIGTERM, then the exit status and the log
  };
}

// A self-signed P-256 certificate for `names` (openssl req), valid a day.
export function selfSignedCert(names) {
  const dir = mkdtempSync(join(tmpdir(), 'tessera-tls-'));
  try {
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt',
      'ec_paramgen_curve:P-256', '-nodes', '-days', '1', '-subj', `/CN=${names[0]}`,
      '-addext', `subjectAltName=${names.map((n) => `DNS:${n}`).join(',')}`,
      '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')], { stdio: 'pipe' });
    return { key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(join(dir, 'cert.pem')) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// TLS on a free loopback port in front of 127.0.0.1:`target` (bytes
// relayed as they are), as nginx is in front of the page in production.
export async function startTlsFront({ target, names }) {
  const sockets = new Set();
  const server = createTlsServer(selfSignedCert(names), (tls) => {
    const up = connect(target, '127.0.0.1');
    for (const s of [tls, up]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => { tls.destroy(); up.destroy(); });
    }
    tls.pipe(up).pipe(tls);
  });
  const port = await new Promise((r) => server.listen(0, '127.0.0.1', () => r(server.address().port)));
  return {
    port,
    async stop() {
      for (const s of sockets) s.destroy();
      await new Promise((r) => server.close(r));
    },
  };
}

// Screenshots of the browser tests that failed in this run, and only those.
const SCREENSHOTS = join(ARTIFACTS, 'login-page');
rmSync(SCREENSHOTS, { recursive: true, force: true });

// Run fn(tab) in a new tab of `context` for test `t`; when it fails, keep a
// screenshot of the tab in build/test-artifacts/login-page/ and say where.
export async function withTab(context, t, fn) {
  const tab = await context.newPage();
  try {
    return await fn(tab);
  } catch (e) {
    const path = join(SCREENSHOTS, `${t.fullName ?? t.name}`.replace(/[^A-Za-z0-9._-]+/g, '-')
      .slice(0, 120) + '.png');
    try {
      mkdirSync(SCREENSHOTS, { recursive: true });
      await tab.screenshot({ path, fullPage: true });
      t.diagnostic(`screenshot: ${path}`);
    } catch (shotError) {
      t.diagnostic(`no screenshot: ${shotError.message}`);
    }
    throw e;
  } finally {
    await tab.close();
  }
}
