// Starts the example login page (ASan + UBSan build) on a loopback port,
// against a running server, with the demo users and API token; and
// Chromium for the browser tests.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ROOT, DEMO_API_TOKEN, freePort } from './harness.js';

// LOGIN_PAGE_BIN runs another build (e.g. build/release/login-page).
export const LOGIN_PAGE_BIN = process.env.LOGIN_PAGE_BIN ?? join(ROOT, 'build/asan/login-page');
export const DEMO_USERS = join(ROOT, 'examples/login-page/users.json');
export const CHROMIUM = {
  executablePath: '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
};

// The environment that makes the server advertise the page at `port`.
export function loginPageEnv(port) {
  return {
    TESSERA_OP_AUTHZ_ENDPOINT: `http://127.0.0.1:${port}/login`,
    TESSERA_OP_LOGOUT_ENDPOINT: `http://127.0.0.1:${port}/logout`,
  };
}

// The page on `port` (a free one when not given) for `server`.
export async function startLoginPage({ server, port, args = [], env = {} }) {
  port ??= await freePort();
  const url = `http://127.0.0.1:${port}`;
  const child = spawn(LOGIN_PAGE_BIN, [
    '--listen', `127.0.0.1:${port}`, '--server', server.issuer, '--users', DEMO_USERS, ...args,
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
  const exited = new Promise((r) => child.once('exit', (code, signal) => r({ code, signal })));
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
    port, url, child,
    log: () => log,
    // SIGTERM, then the exit status and the log.
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      const st = await exited;
      return { ...st, log };
    },
  };
}
