// Starts the real things the integration tests talk to: a redis-server and
// the Tessera server (ASan + UBSan build), each on a free loopback port, with
// the demo configuration of examples/ and environment overrides.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

export const ROOT = resolve(import.meta.dirname, '../../..');
export const SERVER_BIN = join(ROOT, 'build/asan/tessera');
export const DEMO_CONFIG = join(ROOT, 'examples/tessera.properties');
export const DEMO_API_TOKEN = 'demo-api-token';

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
  const child = spawn('redis-server', [
    '--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no',
    '--dir', dir,
  ], { stdio: ['ignore', 'pipe', 'pipe'] });
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
  const exited = new Promise((r) => child.once('exit', (code, signal) => r({ code, signal })));
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
    port, issuer, child, exited,
    log: () => out.text,
    // SIGTERM, then the exit status; a sanitizer report fails the caller.
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      const st = await exited;
      return { ...st, log: out.text };
    },
  };
}

// Run the server binary to completion (for --check-config and start errors).
export async function runServer(args, env = {}, ms = 20000) {
  const child = spawn(SERVER_BIN, args, {
    cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'],
  });
  const out = collect(child);
  const timer = setTimeout(() => child.kill('SIGKILL'), ms);
  const code = await new Promise((r) => child.once('exit', (c) => r(c)));
  clearTimeout(timer);
  return { code, output: out.text };
}

export const readJSON = (p) => JSON.parse(readFileSync(p, 'utf8'));
