// Tokens against real clients, on both storage backends: the token endpoint
// (authorization_code with PKCE, refresh_token with rotation and reuse
// detection, code replay), client authentication and UserInfo, driven by
// openid-client, with jose checking what openid-client does not (signed
// UserInfo, access token claims). Codes come from the authorisation session
// API, driven as a login page does (lib/authz.js).
import { test, describe, before, after } from '../lib/test.js';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as client from 'openid-client';
import * as jose from 'jose';
import { startServer, startRedis, stopAll, writeRegistry, DEMO_CONFIG } from '../lib/harness.js';
import { api, apiJSON, start, signIn, responseParams } from '../lib/authz.js';

const REDIRECT = 'http://127.0.0.1:9999/callback';
const SCOPE = 'openid profile email offline_access';
const common = {
  redirect_uris: [REDIRECT],
  grant_types: ['authorization_code', 'refresh_token'],
  response_types: ['code'],
  scope: SCOPE,
};
const CLIENTS = [
  { ...common, client_id: 'basic-client', client_secret: 'basic-secret-0123456789abcdef' },
  {
    ...common, client_id: 'post-client', client_secret: 'post-secret-0123456789abcdef',
    token_endpoint_auth_method: 'client_secret_post',
  },
  {
    ...common, client_id: 'public-client', token_endpoint_auth_method: 'none',
    application_type: 'native',
  },
  {
    ...common, client_id: 'jwt-client', client_secret: 'jwt-secret-0123456789abcdef',
    userinfo_signed_response_alg: 'RS256', id_token_signed_response_alg: 'ES256',
  },
  {
    ...common, client_id: 'code-only-client', client_secret: 'code-only-secret-0123456789',
    grant_types: ['authorization_code'],
  },
  {
    ...common, client_id: 'hybrid-client', client_secret: 'hybrid-secret-0123456789abcdef',
    application_type: 'native',
    grant_types: ['authorization_code', 'refresh_token', 'implicit'],
    response_types: ['code', 'code id_token'],
  },
];
const secretOf = (id) => CLIENTS.find((c) => c.client_id === id).client_secret;

// basic-client (client_secret_basic) as openid-client configures it at server.
const basicClient = (server) => client.discovery(new URL(server.issuer), 'basic-client', {},
  client.ClientSecretBasic(secretOf('basic-client')), { execute: [client.allowInsecureRequests] });
const USERS = {
  alice: {
    name: 'Alice Adams', 'name#de': 'Alicia Adams', given_name: 'Alice',
    email: 'alice@example.com', email_verified: true,
  },
  bob: { name: 'Bob Brown', email: 'bob@example.com', email_verified: false },
};

// The consent a login page sends (reference §2.1), transient unless said.
const consentWith = (extra = {}) => ({
  scope: ['*'], claims: ['*'], long_lived: false, ...extra,
});

const form = (params) => new URLSearchParams(params).toString();
const basic = (id, secret) =>
  `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')}`;

// A raw token request to server with client_secret_basic.
const tokenPost = (server, clientId, params, headers = {}) => fetch(`${server.issuer}/token`, {
  method: 'POST',
  headers: {
    'content-type': 'application/x-www-form-urlencoded',
    authorization: basic(clientId, secretOf(clientId)),
    ...headers,
  },
  body: form(params),
});

// An authorisation of basic-client (config) with consent, through the session
// API: the final message, and the PKCE verifier and state the client kept.
async function authorizeWith(server, config, consent) {
  const verifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const url = client.buildAuthorizationUrl(config, {
    redirect_uri: REDIRECT, scope: 'openid email', state,
    code_challenge: await client.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
  });
  const msg = await signIn(server, url.search.slice(1), { consent });
  return { msg, verifier, state };
}

// The OAuth error of a rejected openid-client call.
async function oauthError(promise) {
  try {
    await promise;
  } catch (e) {
    if (e instanceof client.ResponseBodyError) return { error: e.error, status: e.status };
    if (e instanceof client.WWWAuthenticateChallengeError) {
      return { error: e.cause[0]?.parameters?.error, status: e.status, challenge: e.cause[0] };
    }
    throw e;
  }
  assert.fail('the call succeeded');
}

for (const storage of ['memory', 'redis']) {
  describe(`tokens on the ${storage} store`, () => {
    let redis;
    let server;
    let dir;
    const configs = {};
    let jwks;

    before(async () => {
      dir = mkdtempSync(join(tmpdir(), 'tessera-tokens-'));
      const env = writeRegistry(dir, CLIENTS, USERS);
      if (storage === 'redis') redis = await startRedis();
      server = await startServer({ storage, redis, env });
      const insecure = { execute: [client.allowInsecureRequests] };
      const issuer = new URL(server.issuer);
      for (const c of CLIENTS) {
        const auth = c.token_endpoint_auth_method === 'none' ? client.None()
          : c.token_endpoint_auth_method === 'client_secret_post'
            ? client.ClientSecretPost(c.client_secret) : client.ClientSecretBasic(c.client_secret);
        const metadata = c.userinfo_signed_response_alg
          ? { userinfo_signed_response_alg: c.userinfo_signed_response_alg,
            id_token_signed_response_alg: c.id_token_signed_response_alg }
          : {};
        configs[c.client_id] = await client.discovery(issuer, c.client_id, metadata, auth, insecure);
      }
      jwks = jose.createRemoteJWKSet(new URL(`${server.issuer}/jwks.json`));
    });

    after(async () => {
      try {
        await stopAll(server, redis);
      } finally {
        if (dir) rmSync(dir, { recursive: true, force: true });
      }
    });

    // An authorisation request through the session API; the redirect the
    // login page would relay, and what the client kept to redeem it.
    async function authorize(clientId, { scope = SCOPE, consent = consentWith(), sub = 'alice' } = {}) {
      const verifier = client.randomPKCECodeVerifier();
      const nonce = client.randomNonce();
      const state = client.randomState();
      const url = client.buildAuthorizationUrl(configs[clientId], {
        redirect_uri: REDIRECT, scope, nonce, state,
        code_challenge: await client.calculatePKCECodeChallenge(verifier),
        code_challenge_method: 'S256',
      });
      const msg = await signIn(server, url.search.slice(1), { sub, consent });
      return {
        callback: new URL(msg.parameters.uri),
        code: responseParams(msg).get('code'),
        checks: { pkceCodeVerifier: verifier, expectedNonce: nonce, expectedState: state },
      };
    }

    const redeem = (clientId, a) =>
      client.authorizationCodeGrant(configs[clientId], a.callback, a.checks);

    const tokenRequest = (clientId, params, headers) => tokenPost(server, clientId, params, headers);

    const userinfo = (token, init = {}) => fetch(`${server.issuer}/userinfo`, {
      ...init, headers: { authorization: `Bearer ${token}`, ...init.headers },
    });

    test('code flow with PKCE: openid-client redeems the code (OIDC Core §3.1.3, RFC 7636 §4.5)', async () => {
      const a = await authorize('basic-client');
      const tokens = await redeem('basic-client', a);
      assert.equal(tokens.token_type.toLowerCase(), 'bearer');
      assert.ok(tokens.expires_in > 0 && tokens.expires_in <= 600);
      assert.equal(tokens.scope, SCOPE);
      assert.ok(tokens.refresh_token);
      const claims = tokens.claims();
      assert.equal(claims.iss, server.issuer);
      assert.equal(claims.sub, 'alice');
      assert.deepEqual(claims.aud, ['basic-client']);
      assert.equal(claims.nonce, a.checks.expectedNonce);
      assert.ok(claims.auth_time <= claims.iat);
      assert.deepEqual(claims.amr, ['pwd']);
      assert.ok(claims.sid);
      // RFC 9068: a JWT access token of ours, typ at+jwt.
      const { payload, protectedHeader } = await jose.jwtVerify(tokens.access_token, jwks, {
        issuer: server.issuer, typ: 'at+jwt',
      });
      assert.equal(protectedHeader.alg, 'RS256');
      assert.equal(payload.sub, 'alice');
      assert.equal(payload.client_id, 'basic-client');
      assert.equal(payload.aud, 'basic-client');
      assert.equal(payload.scope, SCOPE);
      assert.ok(payload.jti);
      assert.equal(payload.sid, claims.sid);
    });

    test('the token answer is not cached (RFC 6749 §5.1)', async () => {
      const a = await authorize('basic-client');
      const r = await tokenRequest('basic-client', {
        grant_type: 'authorization_code', code: a.code, redirect_uri: REDIRECT,
        code_verifier: a.checks.pkceCodeVerifier,
      });
      assert.equal(r.status, 200);
      assert.equal(r.headers.get('cache-control'), 'no-store');
      assert.equal(r.headers.get('pragma'), 'no-cache');
      assert.match(r.headers.get('content-type'), /^application\/json/);
      const body = await r.json();
      assert.equal(body.token_type, 'Bearer');
    });

    test('client_secret_post and a public client with PKCE (RFC 6749 §2.3.1, RFC 7636)', async () => {
      let tokens = await redeem('post-client', await authorize('post-client'));
      assert.equal(tokens.claims().aud[0], 'post-client');
      tokens = await redeem('public-client', await authorize('public-client'));
      assert.equal(tokens.claims().sub, 'alice');
      assert.ok(tokens.refresh_token);
    });

    test('ID token signed with the client\'s alg; no refresh token without the grant', async () => {
      const tokens = await redeem('jwt-client', await authorize('jwt-client'));
      const { protectedHeader } = await jose.jwtVerify(tokens.id_token, jwks, {
        issuer: server.issuer, audience: 'jwt-client',
      });
      assert.equal(protectedHeader.alg, 'ES256');
      assert.equal(protectedHeader.typ, 'JWT');
      const plain = await redeem('code-only-client', await authorize('code-only-client'));
      assert.equal(plain.refresh_token, undefined);
    });

    test('ID token claims from the claims source and presets (reference §2.1)', async () => {
      const a = await authorize('basic-client', {
        consent: consentWith({
          claims: ['id_token:name', 'email'],
          preset_claims: { id_token: { 'https://example.com/tier': 'gold' } },
        }),
      });
      const claims = (await redeem('basic-client', a)).claims();
      assert.equal(claims.name, 'Alice Adams');
      assert.equal(claims['https://example.com/tier'], 'gold');
      assert.equal(claims.email, undefined, 'email goes to UserInfo');
    });

    test('wrong code_verifier, missing verifier: invalid_grant (RFC 7636 §4.6)', async () => {
      let a = await authorize('basic-client');
      let err = await oauthError(client.authorizationCodeGrant(configs['basic-client'], a.callback, {
        ...a.checks, pkceCodeVerifier: client.randomPKCECodeVerifier(),
      }));
      assert.deepEqual(err, { error: 'invalid_grant', status: 400 });
      a = await authorize('basic-client');
      const r = await tokenRequest('basic-client', {
        grant_type: 'authorization_code', code: a.code, redirect_uri: REDIRECT,
      });
      assert.equal(r.status, 400);
      assert.equal((await r.json()).error, 'invalid_grant');
      // The code is single-use even when the exchange failed.
      err = await oauthError(redeem('basic-client', a));
      assert.equal(err.error, 'invalid_grant');
    });

    test('wrong redirect_uri, wrong client: invalid_grant (RFC 6749 §4.1.3)', async () => {
      let a = await authorize('basic-client');
      let r = await tokenRequest('basic-client', {
        grant_type: 'authorization_code', code: a.code, redirect_uri: `${REDIRECT}x`,
        code_verifier: a.checks.pkceCodeVerifier,
      });
      assert.equal(r.status, 400);
      assert.equal((await r.json()).error, 'invalid_grant');
      a = await authorize('basic-client');
      r = await tokenRequest('basic-client', {
        grant_type: 'authorization_code', code: a.code, code_verifier: a.checks.pkceCodeVerifier,
      });
      assert.equal((await r.json()).error, 'invalid_grant', 'redirect_uri is required');
      a = await authorize('basic-client');
      const err = await oauthError(redeem('post-client', a));
      assert.deepEqual(err, { error: 'invalid_grant', status: 400 });
    });

    test('code replay: invalid_grant, and what the code issued is revoked (RFC 6749 §4.1.2, §10.5)', async () => {
      const a = await authorize('basic-client', {
        consent: consentWith({ access_token: { encoding: 'IDENTIFIER' } }),
      });
      const tokens = await redeem('basic-client', a);
      assert.doesNotMatch(tokens.access_token, /\./, 'an identifier, not a JWT');
      const info = await client.fetchUserInfo(configs['basic-client'], tokens.access_token, 'alice');
      assert.equal(info.sub, 'alice');
      const err = await oauthError(redeem('basic-client', a));
      assert.deepEqual(err, { error: 'invalid_grant', status: 400 });
      const r = await userinfo(tokens.access_token);
      assert.equal(r.status, 401);
      assert.match(r.headers.get('www-authenticate'), /^Bearer error="invalid_token"/);
      const rerr = await oauthError(client.refreshTokenGrant(configs['basic-client'],
        tokens.refresh_token));
      assert.equal(rerr.error, 'invalid_grant');
    });

    test('a replayed code or a reused refresh token also kills the family\'s JWT access tokens at UserInfo (RFC 6749 §4.1.2, §10.5, RFC 9700 §4.14.2, RFC 6750 §3.1)', async () => {
      const a = await authorize('basic-client');
      const tokens = await redeem('basic-client', a);
      assert.match(tokens.access_token, /\./, 'a JWT, not an identifier');
      assert.equal((await userinfo(tokens.access_token)).status, 200);
      assert.equal((await oauthError(redeem('basic-client', a))).error, 'invalid_grant');
      let r = await userinfo(tokens.access_token);
      assert.equal(r.status, 401);
      assert.match(r.headers.get('www-authenticate'), /error="invalid_token"/);
      // A refresh token family: the access tokens of its code and of its refreshes.
      const first = await redeem('basic-client', await authorize('basic-client'));
      const second = await client.refreshTokenGrant(configs['basic-client'], first.refresh_token);
      assert.equal((await userinfo(second.access_token)).status, 200);
      await oauthError(client.refreshTokenGrant(configs['basic-client'], first.refresh_token));
      for (const at of [first.access_token, second.access_token]) {
        r = await userinfo(at);
        assert.equal(r.status, 401);
        assert.equal((await r.json()).error, 'invalid_token');
      }
    });

    test('refresh with rotation; the old token again revokes the family (RFC 6749 §6, Security BCP §4.14.2)', async () => {
      const first = await redeem('basic-client', await authorize('basic-client'));
      const second = await client.refreshTokenGrant(configs['basic-client'], first.refresh_token);
      assert.ok(second.refresh_token);
      assert.notEqual(second.refresh_token, first.refresh_token);
      assert.notEqual(second.access_token, first.access_token);
      const c1 = first.claims();
      const c2 = second.claims();
      assert.equal(c2.sub, 'alice');
      assert.equal(c2.auth_time, c1.auth_time);
      assert.equal(c2.sid, c1.sid);
      assert.equal(c2.nonce, undefined, 'no nonce in a refreshed ID token');
      const third = await client.refreshTokenGrant(configs['basic-client'], second.refresh_token);
      // Reuse of a rotated-out token: refused, and the live one dies with it.
      let err = await oauthError(client.refreshTokenGrant(configs['basic-client'],
        first.refresh_token));
      assert.deepEqual(err, { error: 'invalid_grant', status: 400 });
      err = await oauthError(client.refreshTokenGrant(configs['basic-client'], third.refresh_token));
      assert.deepEqual(err, { error: 'invalid_grant', status: 400 });
    });

    test('refresh without rotation keeps the token; another client cannot use it', async () => {
      const first = await redeem('basic-client', await authorize('basic-client', {
        consent: consentWith({ refresh_token: { issue: true, rotate: false } }),
      }));
      for (let i = 0; i < 2; i++) {
        const r = await tokenRequest('basic-client', {
          grant_type: 'refresh_token', refresh_token: first.refresh_token,
        });
        assert.equal(r.status, 200);
        const body = await r.json();
        assert.equal(body.refresh_token, undefined);
        assert.ok(body.access_token);
      }
      const r = await tokenRequest('post-client', {
        grant_type: 'refresh_token', refresh_token: first.refresh_token,
      }, { authorization: basic('post-client', secretOf('post-client')) });
      assert.equal(r.status, 401, 'post-client must use client_secret_post');
      const err = await oauthError(client.refreshTokenGrant(configs['post-client'],
        first.refresh_token));
      assert.equal(err.error, 'invalid_grant');
      // Still good for its own client.
      assert.ok((await client.refreshTokenGrant(configs['basic-client'], first.refresh_token))
        .access_token);
    });

    test('refresh scope: narrower is allowed, wider is invalid_scope (RFC 6749 §6)', async () => {
      const first = await redeem('basic-client', await authorize('basic-client', {
        scope: 'openid profile',
      }));
      let r = await tokenRequest('basic-client', {
        grant_type: 'refresh_token', refresh_token: first.refresh_token, scope: 'profile email',
      });
      assert.equal(r.status, 400);
      assert.equal((await r.json()).error, 'invalid_scope');
      r = await tokenRequest('basic-client', {
        grant_type: 'refresh_token', refresh_token: first.refresh_token, scope: 'profile',
      });
      assert.equal(r.status, 200);
      const body = await r.json();
      assert.equal(body.scope, 'profile');
      assert.equal(body.id_token, undefined, 'no openid, no ID token');
      // UserInfo needs the openid scope (OIDC Core §5.3, RFC 6750 §3.1).
      const u = await userinfo(body.access_token);
      assert.equal(u.status, 403);
      assert.match(u.headers.get('www-authenticate'), /error="insufficient_scope"/);
      assert.equal((await u.json()).error, 'insufficient_scope');
    });

    test('client authentication failures: 401 invalid_client with a Basic challenge (RFC 6749 §5.2)', async () => {
      const a = await authorize('basic-client');
      const params = {
        grant_type: 'authorization_code', code: a.code, redirect_uri: REDIRECT,
        code_verifier: a.checks.pkceCodeVerifier,
      };
      const wrong = await tokenRequest('basic-client', params,
        { authorization: basic('basic-client', 'not-the-secret') });
      const unknown = await tokenRequest('basic-client', params,
        { authorization: basic('nobody', 'not-the-secret') });
      for (const r of [wrong, unknown]) {
        assert.equal(r.status, 401);
        assert.match(r.headers.get('www-authenticate'), /^Basic realm="/);
        assert.equal(r.headers.get('cache-control'), 'no-store');
      }
      assert.deepEqual(await wrong.json(), await unknown.json());
      // Two methods at once (RFC 6749 §2.3).
      const two = await tokenRequest('basic-client', { ...params, client_secret: 'x' });
      assert.equal(two.status, 400);
      assert.equal((await two.json()).error, 'invalid_request');
      // The code survived the failed attempts.
      assert.equal((await redeem('basic-client', a)).claims().sub, 'alice');
    });

    test('bad token requests: grant_type, parameters, content type (RFC 6749 §5.2)', async () => {
      const cases = [
        [{ grant_type: 'password', username: 'a', password: 'b' }, 400, 'unsupported_grant_type'],
        [{}, 400, 'invalid_request'],
        [{ grant_type: 'authorization_code' }, 400, 'invalid_request'],
        [{ grant_type: 'refresh_token' }, 400, 'invalid_request'],
        [{ grant_type: 'refresh_token', refresh_token: 'nope' }, 400, 'invalid_grant'],
        [{ grant_type: 'authorization_code', code: 'nope', redirect_uri: REDIRECT }, 400,
          'invalid_grant'],
      ];
      for (const [params, status, error] of cases) {
        const r = await tokenRequest('basic-client', params);
        assert.equal(r.status, status, JSON.stringify(params));
        assert.equal((await r.json()).error, error, JSON.stringify(params));
      }
      const dup = await fetch(`${server.issuer}/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded',
          authorization: basic('basic-client', secretOf('basic-client')) },
        body: 'grant_type=refresh_token&refresh_token=a&refresh_token=b',
      });
      assert.equal(dup.status, 400);
      assert.equal((await dup.json()).error, 'invalid_request');
      const json = await tokenRequest('basic-client', {}, { 'content-type': 'application/json' });
      assert.equal(json.status, 400);
      // The code-only client may not refresh.
      const r = await tokenRequest('code-only-client', { grant_type: 'refresh_token',
        refresh_token: 'x' });
      assert.equal((await r.json()).error, 'unauthorized_client');
      const get = await fetch(`${server.issuer}/token`);
      assert.equal(get.status, 405);
    });

    test('UserInfo with GET and POST: claims from the claims source (OIDC Core §5.3)', async () => {
      const tokens = await redeem('basic-client', await authorize('basic-client', {
        consent: consentWith({ preset_claims: { userinfo: { nickname: 'al' } } }),
      }));
      const info = await client.fetchUserInfo(configs['basic-client'], tokens.access_token, 'alice');
      assert.equal(info.sub, 'alice');
      assert.equal(info.name, 'Alice Adams');
      assert.equal(info.given_name, 'Alice');
      assert.equal(info.email, 'alice@example.com');
      assert.equal(info.email_verified, true);
      assert.equal(info.nickname, 'al');
      // POST with the token in the header, and in the form (RFC 6750 §2.2).
      let r = await userinfo(tokens.access_token, { method: 'POST' });
      assert.equal(r.status, 200);
      assert.equal(r.headers.get('cache-control'), 'no-store');
      assert.deepEqual(await r.json(), info);
      r = await fetch(`${server.issuer}/userinfo`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: form({ access_token: tokens.access_token }),
      });
      assert.equal(r.status, 200);
      assert.deepEqual(await r.json(), info);
      // Both at once: invalid_request (RFC 6750 §2).
      r = await fetch(`${server.issuer}/userinfo`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded',
          authorization: `Bearer ${tokens.access_token}` },
        body: form({ access_token: tokens.access_token }),
      });
      assert.equal(r.status, 400);
      assert.equal((await r.json()).error, 'invalid_request');
      // The claims the consent did not cover are not delivered.
      const bob = await redeem('basic-client', await authorize('basic-client', {
        sub: 'bob', scope: 'openid email',
      }));
      const binfo = await client.fetchUserInfo(configs['basic-client'], bob.access_token, 'bob');
      assert.deepEqual(binfo, { sub: 'bob', email: 'bob@example.com', email_verified: false });
    });

    test('UserInfo without or with a bad token: the Bearer challenge (RFC 6750 §3)', async () => {
      let r = await fetch(`${server.issuer}/userinfo`);
      assert.equal(r.status, 401);
      assert.match(r.headers.get('www-authenticate'), /^Bearer realm="[^"]+"$/);
      r = await userinfo('not-a-token');
      assert.equal(r.status, 401);
      assert.match(r.headers.get('www-authenticate'), /error="invalid_token"/);
      assert.equal((await r.json()).error, 'invalid_token');
      // An ID token is not an access token (typ, RFC 9068 §4).
      const tokens = await redeem('basic-client', await authorize('basic-client'));
      r = await userinfo(tokens.id_token);
      assert.equal(r.status, 401);
      r = await fetch(`${server.issuer}/userinfo`, { headers: { authorization: 'Bearer' } });
      assert.equal(r.status, 400);
      assert.match(r.headers.get('www-authenticate'), /^Bearer realm="[^"]+", error="invalid_request"$/);
    });

    test('signed UserInfo for a client that registered an alg (OIDC Core §5.3.2)', async () => {
      const tokens = await redeem('jwt-client', await authorize('jwt-client'));
      const r = await userinfo(tokens.access_token);
      assert.equal(r.status, 200);
      assert.match(r.headers.get('content-type'), /^application\/jwt/);
      const { payload, protectedHeader } = await jose.jwtVerify(await r.text(), jwks, {
        issuer: server.issuer, audience: 'jwt-client',
      });
      assert.equal(protectedHeader.alg, 'RS256');
      assert.equal(payload.sub, 'alice');
      assert.equal(payload.email, 'alice@example.com');
      const info = await client.fetchUserInfo(configs['jwt-client'], tokens.access_token, 'alice');
      assert.equal(info.name, 'Alice Adams');
    });
  });
}

// A claims source slower than spi.callTimeout: the example plugin answering
// from a timer (examples/plugins/timer_claims.c), 3 s against 100 ms.
describe('tokens with a slow claims source', () => {
  const SLOW = 'https://example.com/claims/loyalty_tier';
  let server;
  let dir;
  let config;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tessera-tokens-slow-'));
    const registry = writeRegistry(dir, CLIENTS, USERS);
    // Plugin properties can only be set in the file.
    writeFileSync(join(dir, 'tessera.properties'),
      `${readFileSync(DEMO_CONFIG, 'utf8')}\nplugin.timer-claims.delayMs = 3000\n`);
    server = await startServer({
      args: ['--config', join(dir, 'tessera.properties')],
      env: {
        ...registry,
        TESSERA_SPI_PLUGINS: 'build/asan/plugins/timer_claims.so',
        TESSERA_SPI_CALL_TIMEOUT: '100',
      },
    });
    config = await basicClient(server);
  });
  after(async () => {
    try {
      await stopAll(server);
    } finally {
      if (dir) rmSync(dir, { recursive: true, force: true });
    }
  });

  async function tokensWith(claims) {
    const { msg, verifier, state } = await authorizeWith(server, config, consentWith({ claims }));
    return client.authorizationCodeGrant(config, new URL(msg.parameters.uri),
      { pkceCodeVerifier: verifier, expectedState: state });
  }

  test('UserInfo answers 503 temporarily_unavailable when a claims source is late (OIDC Core §5.3.3)', async () => {
    const tokens = await tokensWith(['email', SLOW]);
    const r = await fetch(`${server.issuer}/userinfo`, {
      headers: { authorization: `Bearer ${tokens.access_token}` },
    });
    assert.equal(r.status, 503);
    assert.equal((await r.json()).error, 'temporarily_unavailable');
  });

  test('the token endpoint leaves out ID token claims a late source did not give (reference §3.1)', async () => {
    const tokens = await tokensWith(['email', `id_token:${SLOW}`]);
    const claims = tokens.claims();
    assert.equal(claims.sub, 'alice');
    assert.equal(claims[SLOW], undefined);
  });
});

// A claims endpoint for the test claims source (tests/unit/plugins/fake_claims.c
// in its fetch mode: it POSTs {sub, claims} and answers the body). It answers
// at once, or, once hold() was called, keeps every fetch until release(): an
// exchange waiting in its claims lookup is held in flight, deterministically.
async function startClaimsHook() {
  const held = [];
  const waiters = [];
  let holding = false;
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const answer = () => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ fake_claim: 'from the hook' }));
      };
      if (!holding) return answer();
      held.push(answer);
      for (const w of waiters.splice(0)) {
        if (held.length >= w.n) w.resolve();
        else waiters.push(w);
      }
      return undefined;
    });
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${server.address().port}/claims`,
    hold() { holding = true; },
    held: () => held.length,
    // Resolves once n fetches are held.
    waitHeld: (n) => (held.length >= n ? Promise.resolve()
      : new Promise((resolve) => { waiters.push({ n, resolve }); })),
    release() {
      holding = false;
      for (const answer of held.splice(0)) answer();
    },
    close: () => new Promise((r) => { server.closeAllConnections(); server.close(r); }),
  };
}

// A server whose tokens' claims come from the hook (plugin.fake.*).
async function startHookedServer(dir, hook, { storage = 'memory', redis, env = {} } = {}) {
  const registry = writeRegistry(dir, CLIENTS, USERS);
  writeFileSync(join(dir, 'tessera.properties'), `${readFileSync(DEMO_CONFIG, 'utf8')}
plugin.fake.mode = fetch
plugin.fake.url = ${hook.url}
`);
  return startServer({
    storage, redis,
    args: ['--config', join(dir, 'tessera.properties')],
    env: {
      ...registry,
      TESSERA_SPI_PLUGINS: 'build/asan/tests/plugins/fake_claims.so',
      TESSERA_SPI_CALL_TIMEOUT: '20000',
      ...env,
    },
  });
}

// The consent of the single-use tests: the ID token carries the hook's claim,
// so every exchange (code, refresh, hybrid response) asks the hook for it.
const HOOKED_CONSENT = { scope: ['*'], claims: ['id_token:fake_claim', 'fake_claim'], long_lived: false };

// Registers, in the describe it is called in, a server whose claims come from
// a hook (startHookedServer), on redis when storage is 'redis', and
// basic-client's configuration; the returned scene holds server, hook and
// config once the describe's before has run.
function hookedScene(prefix, { storage = 'memory', env } = {}) {
  const scene = {};
  let redis;
  let dir;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), prefix));
    scene.hook = await startClaimsHook();
    if (storage === 'redis') redis = await startRedis();
    scene.server = await startHookedServer(dir, scene.hook, { storage, redis, env });
    scene.config = await basicClient(scene.server);
  });
  after(async () => {
    scene.hook?.release();
    try {
      await stopAll(scene.server, redis);
    } finally {
      if (scene.hook) await scene.hook.close();
      if (dir) rmSync(dir, { recursive: true, force: true });
    }
  });
  return scene;
}

for (const storage of ['memory', 'redis']) {
  describe(`single use while the first exchange is still running, on the ${storage} store`, () => {
    const scene = hookedScene('tessera-tokens-once-', { storage });

    const tokenRequest = (clientId, params) => tokenPost(scene.server, clientId, params);
    const answer = async (promise) => {
      const r = await promise;
      return { status: r.status, body: await r.json() };
    };

    // A code for basic-client, and the form that redeems it.
    async function codeGrant() {
      const { msg, verifier } = await authorizeWith(scene.server, scene.config, HOOKED_CONSENT);
      return {
        grant_type: 'authorization_code', code: responseParams(msg).get('code'),
        redirect_uri: REDIRECT, code_verifier: verifier,
      };
    }

    // The same grant twice: the second while the first is held in the hook,
    // after its grant was spent; both are refused as invalid_grant.
    async function exchangeTwiceWhileHeld(params, lateMessage) {
      scene.hook.hold();
      const first = answer(tokenRequest('basic-client', params));
      await scene.hook.waitHeld(1);
      const second = await answer(tokenRequest('basic-client', params));
      assert.deepEqual([second.status, second.body.error], [400, 'invalid_grant']);
      scene.hook.release();
      const late = await first;
      assert.deepEqual([late.status, late.body.error], [400, 'invalid_grant'], lateMessage);
    }

    test('a code replayed while its first exchange runs: both refused, nothing issued (RFC 6749 §4.1.2, §10.5)', { timeout: 60000 }, async () => {
      const params = await codeGrant();
      // The code is taken; the first exchange waits for its claims.
      await exchangeTwiceWhileHeld(params, 'no tokens out of a replayed code');
    });

    test('a refresh token reused while its first exchange runs: both refused, the family revoked (RFC 9700 §4.14.2)', { timeout: 60000 }, async () => {
      const tokens = await answer(tokenRequest('basic-client', await codeGrant()));
      assert.equal(tokens.status, 200);
      const rt = tokens.body.refresh_token;
      const refresh = { grant_type: 'refresh_token', refresh_token: rt };
      // rt is rotated out; the first exchange waits for its claims.
      await exchangeTwiceWhileHeld(refresh, 'no successor in a revoked family');
      const u = await fetch(`${scene.server.issuer}/userinfo`, {
        headers: { authorization: `Bearer ${tokens.body.access_token}` },
      });
      assert.equal(u.status, 401, 'the family\'s access token dies with it');
    });

    test('concurrent consent PUTs on one authorisation session: one response, one code (RFC 6749 §4.1.2, OIDC Core §3.3.2.5)', { timeout: 60000 }, async () => {
      const N = 10;
      const verifier = client.randomPKCECodeVerifier();
      const query = new URLSearchParams({
        response_type: 'code id_token', client_id: 'hybrid-client', redirect_uri: REDIRECT,
        scope: 'openid', state: 's-race', nonce: 'n-race',
        code_challenge: await client.calculatePKCECodeChallenge(verifier),
        code_challenge_method: 'S256',
      }).toString();
      const auth = (await start(scene.server, query)).body;
      assert.equal(auth.type, 'auth');
      const prompt = (await apiJSON(scene.server, 'PUT', `/${auth.sid}`, { sub: `race-${storage}-${Date.now()}` })).body;
      assert.equal(prompt.type, 'consent');
      scene.hook.hold();
      const puts = Array.from({ length: N },
        () => apiJSON(scene.server, 'PUT', `/${prompt.sid}`, HOOKED_CONSENT));
      await scene.hook.waitHeld(N); // every PUT read the session and waits for ID token claims
      scene.hook.release();
      const results = await Promise.all(puts);
      const won = results.filter((r) => r.status === 200);
      assert.equal(won.length, 1, JSON.stringify(results.map((r) => r.status)));
      assert.equal(won[0].body.type, 'response');
      for (const r of results.filter((x) => x.status !== 200)) assert.equal(r.status, 409);
      const code = responseParams(won[0].body).get('code');
      const tokens = await answer(tokenRequest('hybrid-client', {
        grant_type: 'authorization_code', code, redirect_uri: REDIRECT, code_verifier: verifier,
      }));
      assert.equal(tokens.status, 200);
      assert.equal((await apiJSON(scene.server, 'GET', `/${prompt.sid}`)).status, 404);
      assert.equal((await api(scene.server, 'DELETE', `/${prompt.sid}`)).status, 404);
    });

    test('a refused PUT leaves the session for the next one; a DELETE racing the consent: one answer (reference §2.1)', { timeout: 60000 }, async () => {
      const r = await start(scene.server, new URLSearchParams({
        response_type: 'code id_token', client_id: 'hybrid-client', redirect_uri: REDIRECT,
        scope: 'openid', state: 's-del', nonce: 'n-del',
        code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM', code_challenge_method: 'S256',
      }).toString());
      const prompt = (await apiJSON(scene.server, 'PUT', `/${r.body.sid}`, { sub: `del-${storage}-${Date.now()}` })).body;
      assert.equal(prompt.type, 'consent');
      assert.equal((await apiJSON(scene.server, 'PUT', `/${prompt.sid}`, { scope: 'openid' })).status, 400);
      scene.hook.hold();
      const put = apiJSON(scene.server, 'PUT', `/${prompt.sid}`, HOOKED_CONSENT);
      await scene.hook.waitHeld(1);
      const del = await apiJSON(scene.server, 'DELETE', `/${prompt.sid}`);
      assert.equal(responseParams(del.body).get('error'), 'access_denied');
      scene.hook.release();
      assert.equal((await put).status, 409, 'the session already ended');
    });
  });
}

// The request deadline (http.requestTimeout, here 1 s) against single use: a
// code exchange held in its claims lookup past the deadline still answers, with
// tokens, instead of a 503 for a code already consumed. A UserInfo call started
// after it, held the same way, proves the deadline has passed: its own 503 comes
// first (one timer queue, later deadline).
describe('the request deadline once a code is taken', () => {
  const scene = hookedScene('tessera-tokens-deadline-', {
    env: { TESSERA_HTTP_REQUEST_TIMEOUT: '1000' },
  });

  async function codeGrant() {
    const { msg, verifier, state } = await authorizeWith(scene.server, scene.config, HOOKED_CONSENT);
    return { callback: new URL(msg.parameters.uri), checks: { pkceCodeVerifier: verifier, expectedState: state } };
  }

  test('a taken code is always answered, never a 503 and a lost grant (RFC 6749 §4.1.2, §5.1)', { timeout: 60000 }, async () => {
    const sentinel = await client.authorizationCodeGrant(scene.config, ...Object.values(await codeGrant()));
    const g = await codeGrant();
    scene.hook.hold();
    const exchange = client.authorizationCodeGrant(scene.config, g.callback, g.checks);
    await scene.hook.waitHeld(1);
    const info = fetch(`${scene.server.issuer}/userinfo`, {
      headers: { authorization: `Bearer ${sentinel.access_token}` },
    });
    await scene.hook.waitHeld(2);
    const late = await info;
    assert.equal(late.status, 503, 'UserInfo, started later, had its deadline');
    scene.hook.release();
    const tokens = await exchange;
    assert.ok(tokens.access_token);
    assert.ok((await client.refreshTokenGrant(scene.config, tokens.refresh_token)).access_token);
  });
});
