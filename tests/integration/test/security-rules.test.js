// The security rules end to end, each next to its unit test: the exact
// redirect URI match at the authorisation request and at the token
// endpoint, the exp check and the alg allow-list of the access tokens the
// server accepts at UserInfo, and the bearer token of the integration APIs.
// Each rule is tried with the near misses an attacker would send.
import { test, describe, before, after } from '../lib/test.js';
import assert from 'node:assert/strict';
import { createHash, createHmac, createPublicKey, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { startServer, stopAll, writeRegistry, DEMO_API_TOKEN } from '../lib/harness.js';
import { api, start, signIn, responseParams } from '../lib/authz.js';
import { rawRequest } from '../lib/raw.js';

const CLIENT = 'rules-client';
const SECRET = 'rules-secret-0123456789abcdef';
const REDIRECT = 'https://rp.example/cb';
const REDIRECT_Q = 'https://rp.example/cb2?tenant=a';
const CLIENTS = [{
  client_id: CLIENT, client_secret: SECRET, redirect_uris: [REDIRECT, REDIRECT_Q],
  grant_types: ['authorization_code'], response_types: ['code'], scope: 'openid',
}];
const USERS = { alice: { name: 'Alice Adams' } };

const b64url = (v) => Buffer.from(v).toString('base64url');
const basic = `Basic ${Buffer.from(`${CLIENT}:${SECRET}`).toString('base64')}`;

// An authorisation request of the client (PKCE S256, RFC 7636 §4).
function authzQuery(redirectUri, verifier = b64url(randomBytes(32))) {
  const query = new URLSearchParams({
    response_type: 'code', client_id: CLIENT, redirect_uri: redirectUri, scope: 'openid',
    state: b64url(randomBytes(8)),
    code_challenge: b64url(createHash('sha256').update(verifier).digest()),
    code_challenge_method: 'S256',
  }).toString();
  return { query, verifier };
}

// A code for redirectUri, through the session API as a login page does.
async function codeFor(server, redirectUri = REDIRECT) {
  const { query, verifier } = authzQuery(redirectUri);
  const msg = await signIn(server, query, {
    consent: { scope: ['*'], claims: ['*'], long_lived: false },
  });
  return { code: responseParams(msg).get('code'), verifier };
}

function tokenRequest(server, params) {
  return fetch(`${server.issuer}/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic },
    body: new URLSearchParams(params).toString(),
  });
}

// An access token of the server (a JWT: the default encoding).
async function accessToken(server) {
  const { code, verifier } = await codeFor(server);
  const r = await tokenRequest(server, {
    grant_type: 'authorization_code', code, redirect_uri: REDIRECT, code_verifier: verifier,
  });
  assert.equal(r.status, 200);
  return (await r.json()).access_token;
}

const userinfo = (server, token) => fetch(`${server.issuer}/userinfo`, {
  headers: { authorization: `Bearer ${token}` },
});

// RFC 6750 §3.1: the refusal of a token that is not acceptable.
async function assertInvalidToken(r, what) {
  assert.equal(r.status, 401, what);
  assert.match(r.headers.get('www-authenticate'), /^Bearer .*error="invalid_token"/, what);
  assert.equal((await r.json()).error, 'invalid_token', what);
}

describe('security rules end to end', () => {
  let dir;
  let server;
  let shortLived; // access tokens that live one second

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tessera-rules-'));
    const env = writeRegistry(dir, CLIENTS, USERS);
    server = await startServer({ env });
    shortLived = await startServer({
      env: { ...env, TESSERA_AUTHZ_STORE_ACCESS_TOKEN_DEFAULT_LIFETIME: '1' },
    });
  });

  after(async () => {
    try {
      await stopAll(server, shortLived);
    } finally {
      if (dir) rmSync(dir, { recursive: true, force: true });
    }
  });

  test('the authorisation request needs a registered redirect_uri, matched exactly (RFC 6749 §3.1.2.3, OIDC Core §3.1.2.1)', async () => {
    for (const uri of [REDIRECT, REDIRECT_Q]) {
      const r = await start(server, authzQuery(uri).query);
      assert.equal(r.status, 200, uri);
      assert.equal(r.body.type, 'auth', uri);
    }
    for (const uri of [
      'https://rp.example/cb/', 'https://rp.example/Cb', 'https://RP.example/cb',
      'https://rp.example:443/cb', 'https://rp.example./cb', 'http://rp.example/cb',
      'https://rp.example/cb?', 'https://rp.example/cb?x=1', 'https://rp.example/cb#',
      'https://rp.example/cb#x', 'https://rp.example/%63b', 'https://rp.example/cb%2F',
      'https://rp.example/./cb', 'https://rp.example/x/../cb', 'https://rp.example/c',
      'https://rp.example/cbx', 'https://rp.example/cb2', 'https://rp.example/cb2?tenant=A',
      'https://rp.example/cb2?tenant=a&x=1', 'https://rp.example/cb2?x=1&tenant=a',
      'https://user@rp.example/cb', 'https://rp.example.evil.example/cb',
      'https://evil.example/https://rp.example/cb', ' https://rp.example/cb', 'rp.example/cb',
    ]) {
      const r = await start(server, authzQuery(uri).query);
      assert.equal(r.status, 200, uri);
      // RFC 6749 §4.1.2.1: never a redirect to an unverified URI.
      assert.equal(r.body.type, 'error', uri);
      assert.equal(r.body.parameters, undefined, uri);
      assert.doesNotMatch(JSON.stringify(r.body), /evil/, uri);
    }
  });

  test('a code is redeemed only with the redirect_uri it was issued for (RFC 6749 §4.1.3)', async () => {
    for (const uri of [`${REDIRECT}/`, 'https://RP.example/cb', `${REDIRECT}?x=1`, REDIRECT_Q]) {
      const { code, verifier } = await codeFor(server);
      const r = await tokenRequest(server, {
        grant_type: 'authorization_code', code, redirect_uri: uri, code_verifier: verifier,
      });
      assert.equal(r.status, 400, uri);
      assert.equal((await r.json()).error, 'invalid_grant', uri);
    }
    const q = await codeFor(server, REDIRECT_Q);
    const wrong = await tokenRequest(server, {
      grant_type: 'authorization_code', code: q.code, redirect_uri: REDIRECT,
      code_verifier: q.verifier,
    });
    assert.equal((await wrong.json()).error, 'invalid_grant', 'another registered URI');
    const ok = await codeFor(server, REDIRECT_Q);
    const r = await tokenRequest(server, {
      grant_type: 'authorization_code', code: ok.code, redirect_uri: REDIRECT_Q,
      code_verifier: ok.verifier,
    });
    assert.equal(r.status, 200);
  });

  // The lifetime is one second, so the check is seen on the wall clock:
  // every answer before exp is 200, the first refusal comes at exp.
  test('an access token is accepted before its exp and refused from exp on (RFC 7519 §4.1.4)', async () => {
    const token = await accessToken(shortLived);
    const { exp, iat } = JSON.parse(Buffer.from(token.split('.')[1], 'base64url'));
    assert.equal(exp, iat + 1);
    let r;
    for (let i = 0; i < 50; i++) {
      const sent = Date.now() / 1000;
      r = await userinfo(shortLived, token);
      if (r.status !== 200) break;
      assert.ok(sent < exp, 'answered 200 for a request sent at or after exp');
      await r.arrayBuffer();
      await sleep(100);
    }
    assert.ok(Date.now() / 1000 >= exp, 'refused before exp');
    await assertInvalidToken(r, 'at exp');
    assert.match(r.headers.get('www-authenticate'), /expired/);
    await assertInvalidToken(await userinfo(shortLived, token), 'after exp');
  });

  test('the access token alg allow-list: none, HS256 with our public key, others and a swapped alg are refused (RFC 8725 §3.1, RFC 9068 §4)', async () => {
    const token = await accessToken(server);
    assert.equal((await userinfo(server, token)).status, 200);
    const [h, p, sig] = token.split('.');
    const header = JSON.parse(Buffer.from(h, 'base64url'));
    assert.equal(header.alg, 'RS256');
    const { keys } = await (await fetch(`${server.issuer}/jwks.json`)).json();
    const rsa = keys.find((k) => k.kid === header.kid);
    const pem = createPublicKey({ key: rsa, format: 'jwk' }).export({ type: 'spki', format: 'pem' });
    const der = createPublicKey({ key: rsa, format: 'jwk' }).export({ type: 'spki', format: 'der' });
    const withHeader = (hdr, signature = sig) => `${b64url(JSON.stringify(hdr))}.${p}.${signature}`;
    const hs256 = (hdr, secret) => {
      const input = `${b64url(JSON.stringify(hdr))}.${p}`;
      return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`;
    };
    const forged = {
      'alg none, no signature': withHeader({ ...header, alg: 'none' }, ''),
      'alg none, the signature kept': withHeader({ ...header, alg: 'none' }),
      'alg None': withHeader({ ...header, alg: 'None' }, ''),
      'alg NONE': withHeader({ ...header, alg: 'NONE' }, ''),
      'no alg': withHeader({ typ: header.typ, kid: header.kid }),
      'alg as an array': withHeader({ ...header, alg: ['RS256'] }),
      'HS256 keyed with the PEM public key': hs256({ ...header, alg: 'HS256' }, pem),
      'HS256 keyed with the DER public key': hs256({ ...header, alg: 'HS256' }, der),
      'HS256 keyed with the JWK': hs256({ ...header, alg: 'HS256' }, JSON.stringify(rsa)),
      'RS512 header': withHeader({ ...header, alg: 'RS512' }),
      'ES512 header': withHeader({ ...header, alg: 'ES512' }),
      'PS256 header on an RS256 signature': withHeader({ ...header, alg: 'PS256' }),
      'ES256 header with the RSA kid': withHeader({ ...header, alg: 'ES256' }),
      'rs256 in lower case': withHeader({ ...header, alg: 'rs256' }),
    };
    for (const [what, jwt] of Object.entries(forged)) {
      await assertInvalidToken(await userinfo(server, jwt), what);
    }
    assert.equal((await userinfo(server, token)).status, 200, 'the real token still works');
  });

  test('every integration API route needs its bearer token (RFC 6750 §2.1, §3.1)', async () => {
    const s = await start(server, authzQuery(REDIRECT).query);
    assert.equal(s.body.type, 'auth');
    const sid = s.body.sid;
    const base = `${server.issuer}/authz-sessions/rest/v3`;
    const routes = [
      ['POST', base, { query: authzQuery(REDIRECT).query }],
      ['GET', `${base}/${sid}`],
      ['PUT', `${base}/${sid}`, { sub: 'alice' }],
      ['DELETE', `${base}/${sid}`],
      ['GET', `${base}/${sid}/data`],
      ['GET', `${server.issuer}/monitor/v1/healthcheck`],
    ];
    const call = (method, url, body, authorization) => fetch(url, {
      method,
      headers: {
        ...(authorization === undefined ? {} : { authorization }),
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    for (const [method, url, body] of routes) {
      const what = (a) => `${method} ${url.slice(server.issuer.length)} with ${a}`;
      // No credentials, or another scheme's: no error code (§3.1).
      for (const a of [undefined, `Basic ${b64url(`x:${DEMO_API_TOKEN}`)}`, `Token ${DEMO_API_TOKEN}`]) {
        const r = await call(method, url, body, a);
        assert.equal(r.status, 401, what(a));
        assert.equal(r.headers.get('www-authenticate'), 'Bearer', what(a));
      }
      // A token that is not ours, however close (compared in constant time).
      for (const t of ['wrong', DEMO_API_TOKEN.slice(0, -1), `${DEMO_API_TOKEN}x`,
        DEMO_API_TOKEN.toUpperCase(), createHash('sha256').update(DEMO_API_TOKEN).digest('hex')]) {
        await assertInvalidToken(await call(method, url, body, `Bearer ${t}`), what(t));
      }
      // Malformed: invalid_request (§3.1).
      for (const a of ['Bearer', 'Bearer demo api token', `Bearer "${DEMO_API_TOKEN}"`]) {
        const r = await call(method, url, body, a);
        assert.equal(r.status, 400, what(a));
        assert.match(r.headers.get('www-authenticate'), /^Bearer error="invalid_request"/, what(a));
      }
    }
    // Two Authorization headers: refused, even with the right token twice.
    const twice = await rawRequest(server.port, `GET /authz-sessions/rest/v3/${sid} HTTP/1.1\r\n`
      + `Host: 127.0.0.1\r\nAuthorization: Bearer ${DEMO_API_TOKEN}\r\n`
      + `Authorization: Bearer ${DEMO_API_TOKEN}\r\nConnection: close\r\n\r\n`);
    assert.equal(twice.status, 400);
    // The session API takes the token from the header only (§2.3).
    const q = await fetch(`${base}/${sid}?access_token=${DEMO_API_TOKEN}`);
    assert.equal(q.status, 401);
    // The scheme is case-insensitive (RFC 9110 §11.1).
    const lower = await call('GET', `${base}/${sid}`, undefined, `bearer ${DEMO_API_TOKEN}`);
    assert.equal(lower.status, 200);
    // Nothing refused changed the session: it goes on with the right token.
    const r = await api(server, 'PUT', `/${sid}`, { sub: 'alice', amr: ['pwd'] });
    assert.equal(r.status, 200);
    assert.equal((await r.json()).type, 'consent');
  });
});
