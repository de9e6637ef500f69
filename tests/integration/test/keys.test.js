// The JWK set shared by workers through one Redis: two server processes
// (the way `--workers N` or several hosts run) must publish one JWK set and
// sign with keys the other publishes, also after Redis lost the key record
// (a flush, a failover without persistence). RFC 7517 §5 (the JWK set the
// server publishes), OIDC Core §10.1 (ID tokens signed with a published
// key): a token signed by either worker must verify against the JWKS of
// the other.
import { test, describe, before, after, afterEach } from '../lib/test.js';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import * as jose from 'jose';
import { startServer, startRedis, stopAll } from '../lib/harness.js';
import { signIn, responseParams, authzQuery } from '../lib/authz.js';

const KEY_RECORD = 'op:keys:op'; // storage.prefix "op:", namespace "keys", key "op"
// Re-read the key set every second (the minimum), so convergence is quick.
const ENV = { TESSERA_KEY_STORE_REFRESH_INTERVAL: '1' };
const CONVERGE_MS = 15000;

async function redisCli(redis, ...args) {
  const { stdout } = await promisify(execFile)('redis-cli', ['-p', String(redis.port), ...args]);
  return stdout.trim();
}

async function jwksOf(server) {
  const r = await fetch(`${server.issuer}/jwks.json`);
  assert.equal(r.status, 200);
  return r.text();
}

// Poll (bounded) until check() holds: the workers converge on their own
// refresh timer, there is no event to wait for from outside.
async function eventually(check, what) {
  const end = Date.now() + CONVERGE_MS;
  while (Date.now() < end) {
    if (await check()) return;
    await sleep(100);
  }
  assert.fail(`${what} within ${CONVERGE_MS} ms`);
}

// An ID token and a self-contained access token (both JWS) from server.
async function tokensFrom(server) {
  const nonce = `n-${Math.random()}`;
  const msg = await signIn(server, authzQuery({
    response_type: 'id_token token', response_mode: 'fragment', nonce, scope: 'openid email',
  }));
  const p = responseParams(msg);
  assert.ok(p.get('id_token') && p.get('access_token'), JSON.stringify(msg));
  return [p.get('id_token'), p.get('access_token')];
}

// Every token of `from` verifies against the JWK set `to` publishes.
async function verifiesAt(tokens, to) {
  const keys = jose.createLocalJWKSet(JSON.parse(await jwksOf(to)));
  for (const t of tokens) await jose.compactVerify(t, keys);
}

describe('one key set for two workers on one Redis', () => {
  let redis;
  const servers = [];

  // Each test's servers go after it (also when it failed; a frozen one is
  // thawed first), then the record: the next test starts from an empty
  // Redis.
  before(async () => {
    redis = await startRedis();
  });

  afterEach(async () => {
    const these = servers.splice(0);
    for (const s of these) s.child.kill('SIGCONT');
    try {
      await stopAll(...these);
    } finally {
      await redisCli(redis, 'FLUSHALL');
    }
  });

  after(async () => {
    await stopAll(redis);
  });

  const start = async () => {
    const s = await startServer({ storage: 'redis', redis, env: ENV });
    servers.push(s);
    return s;
  };

  test('a worker that finds the key record missing stores its set again, create-only', { timeout: 60000 }, async () => {
    const a = await start();
    const published = await jwksOf(a);
    assert.equal(await redisCli(redis, 'DEL', KEY_RECORD), '1');
    await eventually(async () => (await redisCli(redis, 'EXISTS', KEY_RECORD)) === '1',
      'worker A stores its key set again');
    // A new worker loads that set instead of making one of its own.
    const b = await start();
    assert.equal(await jwksOf(b), published);
    assert.equal(await jwksOf(a), published);
    await verifiesAt(await tokensFrom(a), b);
    await verifiesAt(await tokensFrom(b), a);
  });

  test('a worker started while the record was lost makes a set; the running one adopts it', { timeout: 60000 }, async () => {
    const a = await start();
    const old = await jwksOf(a);
    // A is frozen (it cannot restore the record), the record goes, and B
    // starts: B finds no set and generates one, also "version 1".
    let b;
    a.child.kill('SIGSTOP');
    try {
      assert.equal(await redisCli(redis, 'DEL', KEY_RECORD), '1');
      b = await start();
    } finally {
      a.child.kill('SIGCONT');
    }
    const published = await jwksOf(b);
    assert.notEqual(published, old);
    await eventually(async () => (await jwksOf(a)) === published,
      'worker A publishes the stored key set');
    await verifiesAt(await tokensFrom(a), b);
    await verifiesAt(await tokensFrom(b), a);
  });
});
