// Client metadata honoured or refused, and provider metadata that matches
// what is served, on both storage backends: default_max_age,
// require_auth_time and default_acr_values (OIDC Registration §2), pairwise
// subjects (OIDC Core §8.1) in ID tokens, UserInfo and refreshed ID tokens,
// loopback redirect URIs of native apps at any port (RFC 8252 §7.3), and
// every advertised discovery member checked against the behaviour both ways
// (OIDC Discovery §3). Driven by openid-client where it fits, with jose
// for signatures; codes come from the authorisation session API (lib/authz.js).
import { test, describe, before, after } from '../lib/test.js';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as client from 'openid-client';
import * as jose from 'jose';
import { startServer, startRedis, stopAll, runServer, writeRegistry, DEMO_CONFIG } from '../lib/harness.js';
import { signIn, start, apiJSON, responseParams } from '../lib/authz.js';

const PAIRWISE_KEY = '{"kty":"oct","k":"c2VjdG9yLWtleS1mb3ItdGhlLXBhaXJ3aXNlLXRlc3Q"}';
const ALL_RT = ['code', 'id_token', 'token', 'id_token token', 'code id_token', 'code token',
  'code id_token token', 'none'];
const ALGS = ['RS256', 'PS256', 'ES256', 'EdDSA'];
const web = (id, redirect, extra = {}) => ({
  client_id: id, client_secret: `${id}-secret-0123456789abcdef`, redirect_uris: [redirect],
  grant_types: ['authorization_code', 'refresh_token'], ...extra,
});
const implicit = { grant_types: ['authorization_code', 'implicit', 'refresh_token'] };
const CLIENTS = [
  web('all', 'https://rp.example/all', { ...implicit, response_types: ALL_RT }),
  web('post', 'https://rp.example/post', { token_endpoint_auth_method: 'client_secret_post' }),
  web('pub', 'https://rp.example/pub'),
  web('pw-a', 'https://rp.example/a', { subject_type: 'pairwise' }),
  web('pw-b', 'https://rp.example/b', { subject_type: 'pairwise' }),
  web('pw-other', 'https://other.example/cb', { subject_type: 'pairwise' }),
  web('age', 'https://rp.example/age', { default_max_age: 60, require_auth_time: true }),
  web('auth-time', 'https://rp.example/at', { require_auth_time: true }),
  web('acr', 'https://rp.example/acr', { default_acr_values: ['urn:acr:gold'] }),
  web('web-loop', 'http://127.0.0.1/cb', { redirect_uris: ['http://127.0.0.1/cb', 'http://localhost/cb'] }),
  {
    client_id: 'native', application_type: 'native', token_endpoint_auth_method: 'none',
    redirect_uris: ['http://127.0.0.1/cb', 'http://[::1]/cb', 'http://127.0.0.1/q?app=1',
      'com.example.app:/cb'],
    grant_types: ['authorization_code', 'refresh_token'],
  },
  ...ALGS.map((alg) => web(`alg-${alg}`, 'https://rp.example/alg', {
    ...implicit, response_types: ['code', 'id_token', 'id_token token'],
    id_token_signed_response_alg: alg, userinfo_signed_response_alg: alg,
  })),
];
const byId = (id) => CLIENTS.find((c) => c.client_id === id);
const USERS = { alice: { name: 'Alice Adams', email: 'alice@example.com', email_verified: true } };
const now = () => Math.floor(Date.now() / 1000);
const query = (id, params = {}) => new URLSearchParams({
  response_type: 'code', client_id: id, redirect_uri: byId(id).redirect_uris[0],
  scope: 'openid', state: 'st', nonce: 'n-0', ...params,
}).toString();
const basic = (id) => `Basic ${Buffer.from(`${id}:${byId(id).client_secret}`).toString('base64')}`;

// Refused at load (OIDC Registration §2, RFC 7591 §2): the server does not
// start, and says which client and member.
describe('client metadata refused at load', () => {
  let dir;
  before(() => { dir = mkdtempSync(join(tmpdir(), 'tessera-clients-')); });
  after(() => rmSync(dir, { recursive: true, force: true }));
  const refused = [
    [{ require_pushed_authorization_requests: true },
      'require_pushed_authorization_requests: not supported until pushed authorisation requests'],
    [{ sector_identifier_uri: 'https://rp.example/sector.json' }, 'sector_identifier_uri: not supported'],
    [{ subject_type: 'pairwise' }, 'subject_type: pairwise needs op.subject.pairwiseKey'],
    [{ subject_type: 'pairwise', redirect_uris: ['https://a.example/cb', 'https://b.example/cb'] },
      'redirect_uris[1]: a pairwise client\'s redirect URIs must share one host'],
    [{ jwks_uri: 'https://rp.example/jwks' }, 'jwks_uri: not supported'],
    [{ post_logout_redirect_uris: ['https://rp.example/bye'] }, 'post_logout_redirect_uris: not supported'],
    [{ backchannel_logout_uri: 'https://rp.example/bc' }, 'backchannel_logout_uri: not supported'],
    [{ id_token_encrypted_response_alg: 'RSA-OAEP-256' }, 'id_token_encrypted_response_alg: not supported'],
    [{ request_uris: ['https://rp.example/r'] }, 'request_uris: not supported'],
    [{ grant_types: ['authorization_code', 'client_credentials'] },
      'grant_types[1]: "client_credentials" is not supported'],
    [{ token_endpoint_auth_method: 'private_key_jwt' },
      'token_endpoint_auth_method: "private_key_jwt" is not supported'],
    [{ id_token_signed_response_alg: 'ES256' },
      'id_token_signed_response_alg: ES256 is not among op.idToken.jwsAlgs',
      { TESSERA_OP_ID_TOKEN_JWS_ALGS: 'RS256' }],
  ];
  for (const [extra, want, env = {}] of refused) {
    test(`refused: ${Object.keys(extra).join(', ')} (OIDC Registration §2)`, async () => {
      const file = join(dir, 'clients.json');
      writeFileSync(file, JSON.stringify([web('bad', 'https://rp.example/cb', extra)]));
      const r = await runServer(['--check-config', DEMO_CONFIG],
        { TESSERA_OP_REG_CLIENTS_FILE: file, ...env });
      assert.equal(r.code, 1, r.output);
      assert.match(r.output, new RegExp(`client "bad": ${want.replace(/[[\]().*+?"]/g, '\\$&')}`));
    });
  }
  test('accepted: the same client without them, and pairwise with its key', async () => {
    const file = join(dir, 'clients.json');
    writeFileSync(file, JSON.stringify(CLIENTS));
    const r = await runServer(['--check-config', DEMO_CONFIG],
      { TESSERA_OP_REG_CLIENTS_FILE: file, TESSERA_OP_SUBJECT_PAIRWISE_KEY: PAIRWISE_KEY });
    assert.equal(r.code, 0, r.output);
  });
});

for (const storage of ['memory', 'redis']) {
  describe(`client metadata on the ${storage} store`, () => {
    let redis;
    let server;
    let dir;
    let md;
    let jwks;
    const configs = {};

    before(async () => {
      dir = mkdtempSync(join(tmpdir(), 'tessera-client-md-'));
      const registry = writeRegistry(dir, CLIENTS, USERS);
      if (storage === 'redis') redis = await startRedis();
      server = await startServer({
        storage, redis,
        env: {
          ...registry,
          TESSERA_OP_SUBJECT_PAIRWISE_KEY: PAIRWISE_KEY,
        },
      });
      md = await (await fetch(`${server.issuer}/.well-known/openid-configuration`)).json();
      jwks = jose.createRemoteJWKSet(new URL(`${server.issuer}/jwks.json`));
      for (const c of CLIENTS) {
        const auth = c.token_endpoint_auth_method === 'none' ? client.None()
          : c.token_endpoint_auth_method === 'client_secret_post'
            ? client.ClientSecretPost(c.client_secret) : client.ClientSecretBasic(c.client_secret);
        const metadata = c.id_token_signed_response_alg
          ? { id_token_signed_response_alg: c.id_token_signed_response_alg } : {};
        configs[c.client_id] = await client.discovery(new URL(server.issuer), c.client_id,
          metadata, auth, { execute: [client.allowInsecureRequests] });
      }
    });

    after(async () => {
      try {
        await stopAll(server, redis);
      } finally {
        if (dir) rmSync(dir, { recursive: true, force: true });
      }
    });

    // A code flow with openid-client: the tokens, and the final message.
    async function codeFlow(id, { redirect = byId(id).redirect_uris[0], scope = 'openid email offline_access',
      auth = {}, consent } = {}) {
      const verifier = client.randomPKCECodeVerifier();
      const nonce = client.randomNonce();
      const url = client.buildAuthorizationUrl(configs[id], {
        redirect_uri: redirect, scope, nonce, state: 'st',
        code_challenge: await client.calculatePKCECodeChallenge(verifier),
        code_challenge_method: 'S256',
      });
      const msg = await signIn(server, url.search.slice(1), {
        auth, consent: consent ?? { scope: ['*'], claims: ['*'], long_lived: false },
      });
      const tokens = await client.authorizationCodeGrant(configs[id], new URL(msg.parameters.uri), {
        pkceCodeVerifier: verifier, expectedNonce: nonce, expectedState: 'st',
      });
      return { tokens, msg };
    }

    // ---- OIDC Registration §2 ----------------------------------------------

    test('default_max_age forces a new authentication, max_age overrides it (OIDC Registration §2)', async () => {
      const first = await signIn(server, query('pub'), { auth: { auth_time: now() - 120 } });
      const sid = first.sub_sid;
      assert.ok(sid);
      let r = await start(server, query('age'), sid);
      assert.equal(r.body.type, 'auth', JSON.stringify(r.body));
      r = await start(server, query('pub', { state: 'again' }), sid);
      assert.notEqual(r.body.type, 'auth', JSON.stringify(r.body));
      r = await start(server, query('age', { max_age: '3600' }), sid);
      assert.notEqual(r.body.type, 'auth', JSON.stringify(r.body));
      // Within default_max_age: SSO holds, and the ID token says when.
      const fresh = await signIn(server, query('pub', { state: 'f' }), { auth: { auth_time: now() - 5 } });
      r = await start(server, query('age', { response_type: 'code' }), fresh.sub_sid);
      assert.notEqual(r.body.type, 'auth', JSON.stringify(r.body));
      const { tokens } = await codeFlow('age');
      assert.ok(Number.isInteger(tokens.claims().auth_time));
    });

    test('require_auth_time: auth_time is in every ID token (OIDC Registration §2)', async () => {
      const { tokens } = await codeFlow('auth-time', { auth: { auth_time: now() - 30 } });
      const at = tokens.claims().auth_time;
      assert.ok(Number.isInteger(at) && at <= now() - 30 + 1, String(at));
      const refreshed = await client.refreshTokenGrant(configs['auth-time'], tokens.refresh_token);
      assert.equal(refreshed.claims().auth_time, at);
    });

    test('default_acr_values reach the auth prompt and drive SSO; acr_values override (OIDC Registration §2)', async () => {
      const first = await signIn(server, query('pub', { state: 'acr' }), { auth: { acr: 'urn:acr:silver' } });
      let r = await start(server, query('acr'), first.sub_sid);
      assert.equal(r.body.type, 'auth', JSON.stringify(r.body));
      assert.deepEqual(r.body.acr_values, ['urn:acr:gold']);
      r = await start(server, query('acr', { acr_values: 'urn:acr:silver' }), first.sub_sid);
      assert.notEqual(r.body.type, 'auth', JSON.stringify(r.body));
      r = await start(server, query('acr'));
      assert.deepEqual(r.body.acr_values, ['urn:acr:gold']);
    });

    // ---- OIDC Core §8.1 -----------------------------------------------------

    test('pairwise sub: per sector in ID tokens, UserInfo and refreshed ID tokens (OIDC Core §8.1)', async () => {
      const a = await codeFlow('pw-a');
      const sub = a.tokens.claims().sub;
      assert.match(sub, /^[A-Za-z0-9_-]{43}$/);
      assert.notEqual(sub, 'alice');
      // openid-client checks that UserInfo names the same subject.
      const info = await client.fetchUserInfo(configs['pw-a'], a.tokens.access_token, sub);
      assert.equal(info.email, 'alice@example.com');
      const b = await codeFlow('pw-b');
      assert.equal(b.tokens.claims().sub, sub, 'same sector, same sub');
      const other = await codeFlow('pw-other');
      assert.notEqual(other.tokens.claims().sub, sub, 'another sector, another sub');
      const pub = await codeFlow('pub');
      assert.equal(pub.tokens.claims().sub, 'alice');
      const refreshed = await client.refreshTokenGrant(configs['pw-a'], a.tokens.refresh_token);
      assert.equal(refreshed.claims().sub, sub);
      // The access token is an identifier: a JWT would show the local sub.
      assert.notEqual(a.tokens.access_token.split('.').length, 3);
      await client.fetchUserInfo(configs['pw-a'], refreshed.access_token, sub);
    });

    test('pairwise: an id_token_hint of the pairwise sub keeps SSO (OIDC Core §3.1.2.1, §8.1)', async () => {
      const a = await codeFlow('pw-a');
      const sid = a.msg.sub_sid;
      assert.ok(sid);
      const r = await start(server, query('pw-a', { id_token_hint: a.tokens.id_token }), sid);
      assert.notEqual(r.body.type, 'auth', JSON.stringify(r.body));
      // The hint is about the session with the client it was issued to
      // (OIDC Core §3.1.2.1): pw-b shares the sector, not the ID token.
      const other = await start(server, query('pw-b', { id_token_hint: a.tokens.id_token }), sid);
      assert.equal(other.body.type, 'auth', JSON.stringify(other.body));
    });

    test('pairwise: a consent asking for a self-contained access token is refused (OIDC Core §8.1)', async () => {
      let r = await start(server, query('pw-a', { state: 'sc' }));
      r = await apiJSON(server, 'PUT', `/${r.body.sid}`, { sub: 'alice' });
      assert.equal(r.body.type, 'consent');
      r = await apiJSON(server, 'PUT', `/${r.body.sid}`, {
        scope: ['*'], claims: ['*'], access_token: { encoding: 'SELF_CONTAINED' },
      });
      assert.equal(r.status, 400, JSON.stringify(r.body));
      assert.match(r.body.error_description, /pairwise/);
    });

    // ---- RFC 8252 §7.3 -------------------------------------------------------

    test('native client: any port on a loopback IP redirect URI, path and query exact (RFC 8252 §7.3)', async () => {
      for (const redirect of ['http://127.0.0.1:54321/cb', 'http://[::1]:8123/cb', 'http://127.0.0.1/cb']) {
        const { tokens, msg } = await codeFlow('native', { redirect });
        const back = new URL(msg.parameters.uri);
        assert.equal(`${back.origin}${back.pathname}`, new URL(redirect).href);
        assert.equal(tokens.claims().aud[0], 'native');
      }
      // The query stays exact (the redirect keeps it, RFC 6749 §3.1.2).
      const q = await signIn(server, query('native', {
        redirect_uri: 'http://127.0.0.1:9000/q?app=1', code_challenge: 'a'.repeat(43),
        code_challenge_method: 'S256',
      }));
      assert.match(q.parameters.uri, /^http:\/\/127\.0\.0\.1:9000\/q\?app=1&code=/);
      for (const redirect of ['http://127.0.0.1:54321/cb/', 'http://127.0.0.1:54321/cb?x=1',
        'http://127.0.0.1:9000/q', 'http://127.0.0.1:9000/q?app=2', 'http://[::1]:8123/cb?app=1',
        'http://localhost:54321/cb', 'http://127.0.0.2:54321/cb',
        'https://127.0.0.1:54321/cb', 'com.example.app:/cb2']) {
        const r = await start(server, query('native', { redirect_uri: redirect }));
        assert.equal(r.body.type, 'error', `${redirect}: ${JSON.stringify(r.body)}`);
        assert.equal(r.body.error, 'invalid_request');
      }
    });

    test('web client and localhost: exact match only (RFC 8252 §8.3, RFC 6749 §3.1.2.3)', async () => {
      for (const redirect of ['http://127.0.0.1:8080/cb', 'http://localhost:8080/cb']) {
        const r = await start(server, query('web-loop', { redirect_uri: redirect }));
        assert.equal(r.body.type, 'error', `${redirect}: ${JSON.stringify(r.body)}`);
      }
      const r = await start(server, query('web-loop', { redirect_uri: 'http://localhost/cb' }));
      assert.equal(r.body.type, 'auth');
    });

    // ---- OIDC Discovery §3: advertised <=> served --------------------------

    test('response_types_supported: each advertised one is served, each served one advertised (OIDC Discovery §3)', async () => {
      for (const rt of ALL_RT) {
        const msg = await signIn(server, query('all', { response_type: rt, state: rt }));
        const p = responseParams(msg);
        const served = !p.has('error');
        assert.equal(served, md.response_types_supported.includes(rt), `${rt}: ${p}`);
        const parts = rt.split(' ');
        assert.equal(p.has('code'), parts.includes('code'), rt);
        assert.equal(p.has('id_token'), parts.includes('id_token'), rt);
        assert.equal(p.has('access_token'), parts.includes('token'), rt);
      }
    });

    test('response_modes_supported both ways (OIDC Discovery §3, OAuth 2.0 Multiple Response Types §2.1)', async () => {
      for (const mode of ['query', 'fragment', 'form_post', 'jwt', 'query.jwt']) {
        const msg = await signIn(server, query('all', { response_mode: mode, state: mode }));
        const served = msg.type === 'response' && msg.mode === mode && !responseParams(msg).has('error');
        assert.equal(served, md.response_modes_supported.includes(mode), `${mode}: ${JSON.stringify(msg)}`);
      }
    });

    test('grant_types_supported both ways (OIDC Discovery §3)', async () => {
      assert.deepEqual([...md.grant_types_supported].sort(), ['authorization_code', 'implicit', 'refresh_token']);
      const { tokens } = await codeFlow('all');
      assert.ok(tokens.refresh_token);
      await client.refreshTokenGrant(configs.all, tokens.refresh_token);
      const implicitMsg = await signIn(server, query('all', { response_type: 'token', state: 'i' }));
      assert.ok(responseParams(implicitMsg).get('access_token'));
      for (const gt of ['client_credentials', 'password', 'urn:ietf:params:oauth:grant-type:jwt-bearer',
        'urn:ietf:params:oauth:grant-type:token-exchange', 'urn:ietf:params:oauth:grant-type:device_code']) {
        const r = await fetch(`${server.issuer}/token`, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic('all') },
          body: new URLSearchParams({ grant_type: gt }).toString(),
        });
        assert.equal((await r.json()).error, 'unsupported_grant_type', gt);
        assert.ok(!md.grant_types_supported.includes(gt), gt);
      }
    });

    test('token_endpoint_auth_methods_supported both ways (OIDC Discovery §3)', async () => {
      assert.deepEqual([...md.token_endpoint_auth_methods_supported].sort(),
        ['client_secret_basic', 'client_secret_post', 'none']);
      await codeFlow('all');    // client_secret_basic
      await codeFlow('post');   // client_secret_post
      await codeFlow('native', { redirect: 'http://127.0.0.1:40000/cb' }); // none
      const r = await fetch(`${server.issuer}/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({
          grant_type: 'authorization_code', code: 'x', client_id: 'all',
          client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
          client_assertion: 'a.b.c',
        }).toString(),
      });
      assert.equal((await r.json()).error, 'invalid_client');
      for (const m of ['client_secret_jwt', 'private_key_jwt', 'tls_client_auth']) {
        assert.ok(!md.token_endpoint_auth_methods_supported.includes(m), m);
      }
    });

    test('code_challenge_methods_supported both ways (OIDC Discovery §3, RFC 7636 §4.3)', async () => {
      assert.deepEqual(md.code_challenge_methods_supported, ['S256']);
      const r = await start(server, query('all', { code_challenge: 'a'.repeat(43), code_challenge_method: 'plain' }));
      assert.equal(responseParams(r.body).get('error'), 'invalid_request');
    });

    test('subject_types_supported lists pairwise with its key (OIDC Discovery §3, OIDC Core §8)', () => {
      assert.deepEqual(md.subject_types_supported, ['public', 'pairwise']);
    });

    test('id_token and userinfo signing algs: each advertised one is served (OIDC Discovery §3)', async () => {
      assert.deepEqual([...md.id_token_signing_alg_values_supported].sort(), [...ALGS].sort());
      assert.deepEqual([...md.userinfo_signing_alg_values_supported].sort(), [...ALGS].sort());
      for (const alg of md.id_token_signing_alg_values_supported) {
        const id = `alg-${alg}`;
        const msg = await signIn(server, query(id, { response_type: 'id_token token', state: alg }));
        const p = responseParams(msg);
        const { protectedHeader } = await jose.jwtVerify(p.get('id_token'), jwks, { issuer: server.issuer, audience: id });
        assert.equal(protectedHeader.alg, alg);
        const r = await fetch(`${server.issuer}/userinfo`, { headers: { authorization: `Bearer ${p.get('access_token')}` } });
        assert.equal(r.headers.get('content-type'), 'application/jwt');
        const ui = await jose.jwtVerify(await r.text(), jwks, { issuer: server.issuer, audience: id });
        assert.equal(ui.protectedHeader.alg, alg);
      }
    });

    test('claims, request and request_uri parameters as advertised (OIDC Discovery §3, OIDC Core §5.5, §6)', async () => {
      assert.equal(md.claims_parameter_supported, true);
      const claims = JSON.stringify({ id_token: { email: null } });
      const msg = await signIn(server, query('all', { response_type: 'id_token', claims, state: 'c' }));
      assert.equal(jose.decodeJwt(responseParams(msg).get('id_token')).email, 'alice@example.com');
      assert.equal(md.request_parameter_supported, false);
      let r = await start(server, query('all', { request: 'e30.e30.' }));
      assert.equal(responseParams(r.body).get('error'), 'request_not_supported');
      assert.equal(md.request_uri_parameter_supported, false);
      r = await start(server, query('all', { request_uri: 'https://rp.example/r' }));
      assert.equal(responseParams(r.body).get('error'), 'request_uri_not_supported');
      assert.equal(md.authorization_response_iss_parameter_supported, true);
      assert.equal(responseParams(msg).get('iss'), server.issuer);
    });

    test('no endpoint is advertised that is not served (OIDC Discovery §3, RP-Initiated Logout §2.1)', async () => {
      for (const m of ['end_session_endpoint', 'check_session_iframe', 'registration_endpoint',
        'introspection_endpoint', 'revocation_endpoint', 'pushed_authorization_request_endpoint',
        'device_authorization_endpoint', 'backchannel_authentication_endpoint']) {
        assert.equal(md[m], undefined, m);
      }
      for (const m of ['token_endpoint', 'userinfo_endpoint', 'jwks_uri']) {
        const r = await fetch(md[m]);
        assert.notEqual(r.status, 404, m);
      }
      // Every advertised scope can be asked for.
      const msg = await signIn(server, query('all', { scope: md.scopes_supported.join(' '), state: 's' }));
      assert.ok(responseParams(msg).get('code'));
    });
  });
}
