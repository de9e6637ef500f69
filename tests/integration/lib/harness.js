// Starts the real things the integration tests talk to: a redis-server and
// the Tessera server (ASan + UBSan build), each on a free loopback port, with
// the demo configuration of examples/ and environment overrides; and stops
// them, checking how the programs exited (stopAll).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

export const ROOT = resolve(import.meta.dirname, '../../..');
export const SERVER_BIN = join(ROOT, 'build/asan/tessera');
export const DEMO_CONFIG = join(ROOT, 'examples/tessera.properties');
export const DEMO_API_TOKEN = 'demo-api-token';
// What ASan, LSan and UBSan print; none of it may appear in a program's log.
export const SANITIZER_REPORT = /AddressSanitizer|LeakSanitizer|runtime error:/;
// How long a program may take to exit after SIGTERM before it is killed.
const STOP_MS = 20000;

// Every child still running when this process ends is killed, so that a
// file stopped at its deadline leaves no server or redis-server behind.
const children = new Set();
function track(child) {
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}
process.once('exit', () => { for (const c of children) c.kill('SIGKILL'); });
process.once('SIGTERM', () => process.exit(143));

export async function freePort() {
  return new Promise((res, rej) => {
    const s = createServer();
    s.on('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => res(port));
    });
  });
}

async function waitFor(check, what, ms = 15000) {
  const end = Date.now() + ms;
  let last;
  while (Date.now() < end) {
    try {
      if (await check()) return;
    } catch (e) {
      last = e;
    }
    await sleep(50);
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${last.message}` : ''}`);
}

function collect(child) {
  const out = { text: '' };
  child.stdout.on('data', (d) => { out.text += d; });
  child.stderr.on('data', (d) => { out.text += d; });
  return out;
}

// A redis-server on a free port, without persistence.
export async function startRedis(port) {
  port ??= await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'tessera-redis-'));
  const child = track(spawn('redis-server', [
    '--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no',
    '--dir', dir,
  ], { stdio: ['ignore', 'pipe', 'pipe'] }));
  const out = collect(child);
  await waitFor(() => out.text.includes('Ready to accept connections'), 'redis-server');
  return {
    port,
    address: `127.0.0.1:${port}`,
    async stop() {
      if (child.exitCode === null) {
        const done = new Promise((r) => child.once('exit', r));
        child.kill('SIGKILL');
        await done;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

// The server with the demo config plus `env` overrides (TESSERA_* names).
export async function startServer({ env = {}, args = [], storage = 'memory', redis } = {}) {
  const port = await freePort();
  const issuer = `http://127.0.0.1:${port}`;
  const fullEnv = {
    ...process.env,
    ASAN_OPTIONS: 'detect_leaks=1:abort_on_error=0',
    UBSAN_OPTIONS: 'print_stacktrace=1:halt_on_error=1',
    TESSERA_OP_ISSUER: issuer,
    TESSERA_HTTP_PORT: String(port),
    TESSERA_STORAGE_TYPE: storage,
    ...(redis ? { TESSERA_STORAGE_REDIS_ADDRESS: redis.address } : {}),
    ...env,
  };
  const child = spawn(SERVER_BIN, ['--config', DEMO_CONFIG, ...args], {
    cwd: ROOT, env: fullEnv, stdio: ['ignore', 'pipe', 'pipe'],
  });
  const out = collect(child);
  const stop = stopper(child, 'tessera', () => out.text);
  try {
    await waitFor(async () => {
      if (child.exitCode !== null) throw new Error(`server exited: ${out.text}`);
      const r = await fetch(`${issuer}/.well-known/openid-configuration`);
      return r.ok;
    }, 'the server');
  } catch (e) {
    child.kill('SIGKILL');
    throw e;
  }
  return {
    port, issuer, child, name: 'tessera',
    log: () => out.text,
    stop,
  };
}

// The stop() of a program (made right after the spawn, so that no exit is
// missed): SIGTERM, then its exit status and log once it has exited;
// SIGKILL (and `late`) if it is still running after STOP_MS. Repeated calls
// answer the same result. The child is killed if this process ends first.
export function stopper(child, name, log) {
  track(child);
  const exited = new Promise((r) => child.once('exit', (code, signal) => r({ code, signal })));
  let result;
  return () => {
    result ??= (async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      let timer;
      const late = new Promise((r) => { timer = setTimeout(() => r(true), STOP_MS); });
      const wasLate = await Promise.race([exited.then(() => false), late]);
      clearTimeout(timer);
      if (wasLate) child.kill('SIGKILL');
      return { name, ...(await exited), late: wasLate, log: log() };
    })();
    return result;
  };
}

// Stops every program given, in order (a login page before its server, a
// server before its redis-server; undefined ones are skipped), all of them
// even when one fails, and only then asserts that each exited by itself
// with status 0 and left no sanitizer report in its log. Every suite's
// after hook (or a test's finally) ends with it, so that a failing check
// never leaves a program running.
export async function stopAll(...programs) {
  const done = [];
  for (const p of programs.filter(Boolean)) {
    try {
      done.push(await p.stop());
    } catch (e) {
      done.push({ error: e });
    }
  }
  for (const d of done) {
    if (d?.error) throw d.error;
    if (d?.log === undefined) continue; // a redis-server: nothing to check
    const { name, code, signal, late, log } = d;
    const tail = log.slice(-3000);
    assert.ok(!late, `${name} still running ${STOP_MS} ms after SIGTERM\n${tail}`);
    assert.equal(signal, null, `${name} died by ${signal}\n${tail}`);
    assert.equal(code, 0, `${name} exit code ${code}\n${tail}`);
    assert.doesNotMatch(log, SANITIZER_REPORT, `${name} sanitizer report\n${tail}`);
  }
}

// Run the server binary to completion (for --check-config and start errors).
export async function runServer(args, env = {}, ms = 20000) {
  const child = track(spawn(SERVER_BIN, args, {
    cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'],
  }));
  const out = collect(child);
  const timer = setTimeout(() => child.kill('SIGKILL'), ms);
  const code = await new Promise((r) => child.once('exit', (c) => r(c)));
  clearTimeout(timer);
  return { code, output: out.text };
}

export const readJSON = (p) => JSON.parse(readFileSync(p, 'utf8'));

// Writes the clients and the users the server is to read into dir
// (clients.json, users.json); returns the environment that points the
// server at them.
export function writeRegistry(dir, clients, users) {
  writeFileSync(join(dir, 'clients.json'), JSON.stringify(clients));
  writeFileSync(join(dir, 'users.json'), JSON.stringify(users));
  return {
    TESSERA_OP_REG_CLIENTS_FILE: join(dir, 'clients.json'),
    TESSERA_CLAIMS_SOURCE_USERS_FILE: join(dir, 'users.json'),
  };
}
