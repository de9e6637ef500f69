// The server's spine against real clients: discovery (openid-client), the
// JWK set and a server-made JWS (jose), storage on memory and on a real
// redis-server, bad input, start-up errors, outage and recovery, shutdown.
import { test, describe, before, after } from '../lib/test.js';
import assert from 'node:assert/strict';
import * as client from 'openid-client';
import * as jose from 'jose';
import {
  startServer, startRedis, runServer, stopAll, DEMO_CONFIG, DEMO_API_TOKEN, SANITIZER_REPORT,
} from '../lib/harness.js';
import { rawRequest } from '../lib/raw.js';
import { setTimeout as sleep } from 'node:timers/promises';
import { createHash } from 'node:crypto';

for (const storage of ['memory', 'redis']) {
  describe(`spine on the ${storage} store`, () => {
    let redis;
    let server;
    before(async () => {
      if (storage === 'redis') redis = await startRedis();
      server = await startServer({ storage, redis });
    });
    after(() => stopAll(server, redis));

    test('openid-client discovers the provider (OpenID Connect Discovery 1.0 §4)', async () => {
      const config = await client.discovery(new URL(server.issuer), 'demo-client', 'demo-secret',
        undefined, { execute: [client.allowInsecureRequests] });
      const md = config.serverMetadata();
      assert.equal(md.issuer, server.issuer);
      assert.equal(md.jwks_uri, `${server.issuer}/jwks.json`);
      assert.equal(md.authorization_endpoint, 'http://127.0.0.1:8081/login');
      assert.ok(md.response_types_supported.includes('code'));
      assert.deepEqual(md.subject_types_supported, ['public']);
      assert.ok(md.id_token_signing_alg_values_supported.includes('RS256'));
    });

    test('RFC 8414 metadata has the same issuer and content (RFC 8414 §3.3)', async () => {
      const a = await (await fetch(`${server.issuer}/.well-known/openid-configuration`)).json();
      const r = await fetch(`${server.issuer}/.well-known/oauth-authorization-server`);
      assert.equal(r.status, 200);
      assert.match(r.headers.get('content-type'), /^application\/json/);
      assert.deepEqual(await r.json(), a);
    });

    test('the JWK set publishes RSA, EC P-256 and Ed25519 public keys only (RFC 7517, RFC 8037)', async () => {
      const r = await fetch(`${server.issuer}/jwks.json`);
      assert.equal(r.status, 200);
      const { keys } = await r.json();
      const kinds = new Set(keys.map((k) => `${k.kty}/${k.crv ?? ''}`));
      assert.ok(kinds.has('RSA/'), 'an RSA key');
      assert.ok(kinds.has('EC/P-256'), 'an EC P-256 key');
      assert.ok(kinds.has('OKP/Ed25519'), 'an Ed25519 key');
      for (const k of keys) {
        assert.ok(k.kid, 'every key has a kid');
        assert.equal(k.use, 'sig');
        for (const priv of ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k']) assert.equal(k[priv], undefined);
        if (k.kty === 'RSA') assert.ok(Buffer.from(k.n, 'base64url').length >= 256);
      }
    });

    test('jose verifies the signed metadata made by the server against /jwks.json (RFC 8414 §2.1)', async () => {
      const md = await (await fetch(`${server.issuer}/.well-known/openid-configuration`)).json();
      assert.ok(md.signed_metadata, 'signed_metadata present');
      const jwks = jose.createRemoteJWKSet(new URL(md.jwks_uri));
      const { payload, protectedHeader } = await jose.jwtVerify(md.signed_metadata, jwks, {
        issuer: server.issuer,
      });
      assert.equal(payload.jwks_uri, md.jwks_uri);
      assert.ok(protectedHeader.kid);
    });

    test('monitor/v1/healthcheck needs the monitor token and reports the store', async () => {
      const url = `${server.issuer}/monitor/v1/healthcheck`;
      const anon = await fetch(url);
      assert.equal(anon.status, 401);
      assert.match(anon.headers.get('www-authenticate'), /^Bearer/);
      const wrong = await fetch(url, { headers: { authorization: 'Bearer wrong-token' } });
      assert.equal(wrong.status, 401);
      const ok = await fetch(url, { headers: { authorization: `Bearer ${DEMO_API_TOKEN}` } });
      assert.equal(ok.status, 200);
      const body = await ok.json();
      assert.equal(body.storage.healthy, true);
      const q = await fetch(`${url}?access_token=${DEMO_API_TOKEN}`);
      assert.equal(q.status, 200);
    });
  });
}

describe('HTTP front-end refuses bad input with a clear error', () => {
  let server;
  before(async () => { server = await startServer(); });
  after(() => stopAll(server));

  test('unknown route: 404 JSON', async () => {
    const r = await fetch(`${server.issuer}/no/such/thing`);
    assert.equal(r.status, 404);
    assert.equal((await r.json()).error, 'not_found');
  });

  test('wrong method: 405 with Allow (RFC 9110 §15.5.6)', async () => {
    const r = await fetch(`${server.issuer}/jwks.json`, { method: 'DELETE' });
    assert.equal(r.status, 405);
    assert.match(r.headers.get('allow'), /GET/);
  });

  test('CORS preflight on public endpoints', async () => {
    const r = await fetch(`${server.issuer}/jwks.json`, {
      method: 'OPTIONS',
      headers: { origin: 'https://rp.example', 'access-control-request-method': 'GET' },
    });
    assert.ok(r.status === 204 || r.status === 200);
    assert.ok(r.headers.get('access-control-allow-origin'));
    const g = await fetch(`${server.issuer}/jwks.json`, { headers: { origin: 'https://rp.example' } });
    assert.ok(g.headers.get('access-control-allow-origin'));
  });

  test('oversized body: 413', async () => {
    const body = 'a'.repeat(300 * 1024);
    const r = await rawRequest(server.port,
      `POST /jwks.json HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: ${body.length}\r\n\r\n${body}`);
    assert.equal(r.status, 413);
  });

  test('oversized headers: refused (431 or 400), never served', async () => {
    const r = await rawRequest(server.port,
      `GET /jwks.json HTTP/1.1\r\nHost: x\r\nX-Big: ${'b'.repeat(64 * 1024)}\r\n\r\n`);
    assert.ok([400, 431].includes(r.status), `status ${r.status}`);
  });

  test('malformed percent-encoding, duplicate parameters and NUL in the query: 400 (RFC 6749 §3.1)', async () => {
    for (const q of ['a=%zz', 'a=%4', 'a=1&a=2', 'a=%00', '%00=1']) {
      const r = await rawRequest(server.port, `GET /jwks.json?${q} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
      assert.equal(r.status, 400, q);
      assert.equal(JSON.parse(r.body).error, 'invalid_request', q);
    }
  });

  test('a 2.7 KB unrouted path of 1-byte secrets: one short log line with its tag (secrets never reach a log)', async () => {
    const path = `/${'code=a&xx'.repeat(300)}`;
    const r = await rawRequest(server.port, `GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
    assert.equal(r.status, 404);
    // The line is written before the answer goes out.
    assert.equal((await fetch(`${server.issuer}/jwks.json`)).status, 200, 'still serving');
    // A path no route takes is client text: the access line shows only the
    // first hex digits of its SHA-256.
    const tag = createHash('sha256').update(path).digest('hex').slice(0, 8);
    const line = server.log().split('\n').find((l) => l.includes(`http: GET ~${tag} 404 `));
    assert.ok(line, 'the request is logged');
    assert.ok(line.length < 2048, `a line of ${line.length} bytes`);
    assert.doesNotMatch(server.log(), /code=a/);
  });

  test('every answer says nosniff; error answers are not cached', async () => {
    const r = await fetch(`${server.issuer}/nope`);
    assert.equal(r.headers.get('x-content-type-options'), 'nosniff');
    assert.match(r.headers.get('cache-control') ?? '', /no-store/);
  });

  test('the demo token is announced loudly at start', () => {
    assert.match(server.log(), /DEMO API TOKEN/);
  });
});

describe('start-up and configuration errors', () => {
  test('--check-config accepts the example and rejects a bad value naming it', async () => {
    const ok = await runServer(['--check-config', DEMO_CONFIG]);
    assert.equal(ok.code, 0, ok.output);
    const bad = await runServer(['--check-config', DEMO_CONFIG], { TESSERA_HTTP_PORT: '99999' });
    assert.equal(bad.code, 1);
    assert.match(bad.output, /http\.port|TESSERA_HTTP_PORT/);
    assert.match(bad.output, /99999/);
  });

  test('an unknown property is an error', async () => {
    const r = await runServer(['--check-config', DEMO_CONFIG], { TESSERA_NO_SUCH_THING: '1' });
    assert.equal(r.code, 1);
    assert.match(r.output, /TESSERA_NO_SUCH_THING/);
  });

  test('a wrong Redis address at start: clear message, non-zero exit', async () => {
    const r = await runServer(['--config', DEMO_CONFIG], {
      TESSERA_STORAGE_TYPE: 'redis', TESSERA_STORAGE_REDIS_ADDRESS: '127.0.0.1:1',
      TESSERA_HTTP_PORT: '0',
    });
    assert.notEqual(r.code, 0);
    assert.match(r.output, /127\.0\.0\.1:1/);
    assert.doesNotMatch(r.output, SANITIZER_REPORT);
  });

  test('a Redis host name is refused (it would block the loop)', async () => {
    const r = await runServer(['--check-config', DEMO_CONFIG], {
      TESSERA_STORAGE_TYPE: 'redis', TESSERA_STORAGE_REDIS_ADDRESS: 'redis.example:6379',
    });
    assert.equal(r.code, 1);
    assert.match(r.output, /storage\.redis\.address|TESSERA_STORAGE_REDIS_ADDRESS/);
  });

  test('--workers > 1 is refused with the memory store', async () => {
    const r = await runServer(['--config', DEMO_CONFIG, '--workers', '2'], { TESSERA_HTTP_PORT: '0' });
    assert.notEqual(r.code, 0);
    assert.match(r.output, /memory/);
  });
});

describe('Redis outage and recovery', () => {
  test('healthcheck goes 503 while Redis is down and 200 again when it returns', async () => {
    let redis = await startRedis();
    const port = redis.port;
    const server = await startServer({ storage: 'redis', redis });
    const health = async () => (await fetch(`${server.issuer}/monitor/v1/healthcheck`, {
      headers: { authorization: `Bearer ${DEMO_API_TOKEN}` },
    }));
    try {
      assert.equal((await health()).status, 200);
      await redis.stop();
      let r;
      for (let i = 0; i < 100; i++) {
        r = await health();
        if (r.status === 503) break;
        await sleep(50);
      }
      assert.equal(r.status, 503);
      assert.equal((await r.json()).storage.healthy, false);
      // The JWK set is cached: still served while the store is down.
      assert.equal((await fetch(`${server.issuer}/jwks.json`)).status, 200);
      // A flow that needs the store fails fast with 503 temporarily_unavailable.
      const flow = await fetch(`${server.issuer}/authz-sessions/rest/v3`, {
        method: 'POST',
        headers: { authorization: `Bearer ${DEMO_API_TOKEN}`, 'content-type': 'application/json' },
        body: JSON.stringify({ query: 'response_type=code&client_id=demo-client&redirect_uri=http%3A%2F%2F127.0.0.1%3A9999%2Fcallback&scope=openid' }),
      });
      assert.equal(flow.status, 503);
      assert.equal((await flow.json()).error, 'temporarily_unavailable');
      redis = await startRedis(port);
      for (let i = 0; i < 200; i++) {
        r = await health();
        if (r.status === 200) break;
        await sleep(50);
      }
      assert.equal(r.status, 200, 'recovered by itself');
    } finally {
      await stopAll(server, redis);
    }
  });
});

describe('keys are shared through the store', () => {
  test('a restart and a second worker see the same JWK set', async () => {
    const redis = await startRedis();
    let a;
    let b;
    try {
      a = await startServer({ storage: 'redis', redis });
      const jwksA = await (await fetch(`${a.issuer}/jwks.json`)).json();
      await stopAll(a);
      b = await startServer({ storage: 'redis', redis, args: ['--workers', '2'] });
      for (let i = 0; i < 8; i++) {
        const jwksB = await (await fetch(`${b.issuer}/jwks.json`)).json();
        assert.deepEqual(jwksB, jwksA);
      }
    } finally {
      await stopAll(a, b, redis);
    }
  });
});
