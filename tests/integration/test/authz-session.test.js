// The authorisation session API (reference §2.1) driven as a login page
// does, with openid-client redeeming codes and jose checking ID tokens,
// on both storage backends.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as client from 'openid-client';
import * as jose from 'jose';
import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { startServer, startRedis } from '../lib/harness.js';
import {
  api, apiJSON, authzQuery, start, signIn, responseParams,
  DEMO_CLIENT, DEMO_SECRET, DEMO_REDIRECT,
} from '../lib/authz.js';

const b64url = (buf) => Buffer.from(buf).toString('base64url');
const halfHash = (v) => b64url(createHash('sha256').update(v).digest().subarray(0, 16));

for (const storage of ['memory', 'redis']) {
  describe(`authorisation session API on the ${storage} store`, () => {
    let redis;
    let server;
    let config;
    let jwks;
    before(async () => {
      if (storage === 'redis') redis = await startRedis();
      server = await startServer({ storage, redis });
      // demo-client is registered for client_secret_basic (RFC 6749 §2.3.1)
      config = await client.discovery(new URL(server.issuer), DEMO_CLIENT, DEMO_SECRET,
        client.ClientSecretBasic(DEMO_SECRET), { execute: [client.allowInsecureRequests] });
      jwks = jose.createRemoteJWKSet(new URL(`${server.issuer}/jwks.json`));
    });
    after(async () => {
      const { code, log } = await server.stop();
      assert.equal(code, 0, log.slice(-3000));
      assert.doesNotMatch(log, /AddressSanitizer|LeakSanitizer|runtime error:/);
      if (redis) await redis.stop();
    });

    const verifyIdToken = async (jwt, nonce) => {
      const { payload } = await jose.jwtVerify(jwt, jwks, {
        issuer: server.issuer, audience: DEMO_CLIENT,
      });
      if (nonce) assert.equal(payload.nonce, nonce);
      return payload;
    };

    test('code flow with PKCE, redeemed by openid-client (OIDC Core §3.1, RFC 7636, RFC 9207)', async () => {
      const verifier = client.randomPKCECodeVerifier();
      const nonce = client.randomNonce();
      const state = client.randomState();
      const url = client.buildAuthorizationUrl(config, {
        redirect_uri: DEMO_REDIRECT, scope: 'openid profile email', nonce, state,
        code_challenge: await client.calculatePKCECodeChallenge(verifier),
        code_challenge_method: 'S256',
      });
      const first = await start(server, url.search.slice(1));
      assert.equal(first.body.type, 'auth');
      assert.ok(first.body.sid);
      const consent = await apiJSON(server, 'PUT', `/${first.body.sid}`, { sub: 'alice', amr: ['pwd'] });
      assert.equal(consent.body.type, 'consent');
      assert.equal(consent.body.client.client_id, DEMO_CLIENT);
      assert.deepEqual(consent.body.scope.new, ['openid', 'profile', 'email']);
      assert.ok(consent.body.claims.new.voluntary.includes('email'));
      assert.equal(consent.body.sub_session.sub, 'alice');
      const msg = (await apiJSON(server, 'PUT', `/${consent.body.sid}`,
        { scope: ['*'], claims: ['*'], long_lived: true })).body;
      assert.equal(msg.type, 'response');
      assert.equal(msg.mode, 'query');
      assert.ok(msg.sub_sid, 'a new subject session');
      const params = responseParams(msg);
      assert.equal(params.get('iss'), server.issuer);
      assert.equal(params.get('state'), state);
      const tokens = await client.authorizationCodeGrant(config, new URL(msg.parameters.uri), {
        pkceCodeVerifier: verifier, expectedNonce: nonce, expectedState: state,
      });
      const claims = tokens.claims();
      assert.equal(claims.sub, 'alice');
      assert.ok(claims.auth_time);
      assert.deepEqual(claims.amr, ['pwd']);
    });

    for (const [responseType, mode] of [
      ['code', 'query'], ['code', 'fragment'], ['code', 'form_post'],
      ['id_token', 'fragment'], ['id_token', 'form_post'],
      ['id_token token', 'fragment'], ['code id_token', 'fragment'],
      ['code token', 'fragment'], ['code id_token token', 'form_post'], ['none', 'query'],
    ]) {
      test(`response_type=${responseType} response_mode=${mode} (OIDC Core §3, Multiple Response Types §3)`, async () => {
        const nonce = `n-${Math.random()}`;
        const msg = await signIn(server, authzQuery({
          response_type: responseType, response_mode: mode, nonce, scope: 'openid email',
          code_challenge: responseType.includes('code') ? b64url(createHash('sha256').update('v'.repeat(43)).digest()) : undefined,
          code_challenge_method: responseType.includes('code') ? 'S256' : undefined,
        }));
        assert.equal(msg.mode, mode);
        const p = responseParams(msg);
        assert.equal(p.get('iss'), server.issuer);
        assert.equal(p.has('code'), responseType.includes('code'));
        assert.equal(p.has('access_token'), responseType.split(' ').includes('token'));
        assert.equal(p.has('id_token'), responseType.includes('id_token'));
        if (p.has('access_token')) assert.equal(p.get('token_type'), 'Bearer');
        if (p.has('id_token')) {
          const idt = await verifyIdToken(p.get('id_token'), nonce);
          assert.equal(idt.sub, 'alice');
          if (p.has('access_token')) assert.equal(idt.at_hash, halfHash(p.get('access_token')));
          if (p.has('code')) assert.equal(idt.c_hash, halfHash(p.get('code')));
          if (responseType === 'id_token') assert.equal(idt.email, 'alice@example.com');
        }
      });
    }

    test('SSO: prompt=none answers login_required without a session, and a response with one (OIDC Core §3.1.2.6)', async () => {
      const q = authzQuery({ prompt: 'none' });
      const none = (await start(server, q)).body;
      const p = responseParams(none);
      assert.equal(p.get('error'), 'login_required');
      assert.ok(p.get('state'));
      assert.equal(p.get('iss'), server.issuer);
      const first = await signIn(server, authzQuery());
      const again = (await start(server, authzQuery({ prompt: 'none' }), first.sub_sid)).body;
      assert.ok(responseParams(again).get('code'), 'signed in silently');
      assert.equal(again.sub_sid, undefined, 'no new session');
    });

    test('consent remembered: a covered request skips the consent step; more scope asks again', async () => {
      const first = await signIn(server, authzQuery({ scope: 'openid email' }));
      const again = (await start(server, authzQuery({ scope: 'openid email' }), first.sub_sid)).body;
      assert.equal(again.type, 'response');
      const more = (await start(server, authzQuery({ scope: 'openid email phone' }), first.sub_sid)).body;
      assert.equal(more.type, 'consent');
      assert.deepEqual(more.scope.new, ['phone']);
      assert.deepEqual(more.scope.consented, ['openid', 'email']);
      const forced = (await start(server, authzQuery({ scope: 'openid email', prompt: 'consent' }), first.sub_sid)).body;
      assert.equal(forced.type, 'consent');
    });

    test('prompt=login, select_account and max_age ask for a new authentication', async () => {
      const first = await signIn(server, authzQuery());
      const login = (await start(server, authzQuery({ prompt: 'login' }), first.sub_sid)).body;
      assert.equal(login.type, 'auth');
      const sel = (await start(server, authzQuery({ prompt: 'select_account' }), first.sub_sid)).body;
      assert.equal(sel.type, 'auth');
      assert.equal(sel.select_account, true);
      assert.equal(sel.sub_session.sub, 'alice');
      await sleep(1100);
      // more than max_age seconds since the authentication (OIDC Core §3.1.2.1)
      const aged = (await start(server, authzQuery({ max_age: '0' }), first.sub_sid)).body;
      assert.equal(aged.type, 'auth');
      const young = (await start(server, authzQuery({ max_age: '3600' }), first.sub_sid)).body;
      assert.equal(young.type, 'response');
    });

    test('the claims parameter: essential claims in the prompt, values in the ID token (OIDC Core §5.5)', async () => {
      const claims = JSON.stringify({ id_token: { email: { essential: true }, name: null } });
      const r = await start(server, authzQuery({ response_type: 'code id_token', response_mode: 'fragment', nonce: 'n1', claims,
        code_challenge: b64url(createHash('sha256').update('v'.repeat(43)).digest()), code_challenge_method: 'S256' }));
      const c = (await apiJSON(server, 'PUT', `/${r.body.sid}`, { sub: 'alice' })).body;
      assert.equal(c.type, 'consent');
      assert.ok(c.claims.new.essential.includes('email'));
      assert.ok(c.claims.new.voluntary.includes('name'));
      const msg = (await apiJSON(server, 'PUT', `/${c.sid}`, { scope: ['openid'], claims: ['email', 'name'] })).body;
      const idt = await verifyIdToken(responseParams(msg).get('id_token'), 'n1');
      assert.equal(idt.email, 'alice@example.com');
      assert.ok(idt.name);
    });

    test('a subject keeps at most sessionStore.quotaPerSubject sessions; the oldest close (reference §2.6)', async () => {
      const sub = `quota-${storage}-${Date.now()}`;
      const sids = [];
      for (let i = 0; i < 6; i++) sids.push((await signIn(server, authzQuery(), { sub })).sub_sid);
      await sleep(200); // the quota is enforced in the background
      const oldest = (await start(server, authzQuery({ prompt: 'none' }), sids[0])).body;
      assert.equal(responseParams(oldest).get('error'), 'login_required');
      const newest = (await start(server, authzQuery({ prompt: 'none' }), sids[5])).body;
      assert.ok(responseParams(newest).get('code'));
    });

    test('claims submitted with the authentication go into ID tokens (reference §2.1)', async () => {
      const msg = await signIn(server, authzQuery({ response_type: 'id_token', response_mode: 'fragment', nonce: 'n2' }),
        { sub: `claims-${storage}-${Date.now()}`, auth: { claims: { office: 'Berlin' }, acr: 'urn:example:mfa' } });
      const idt = await verifyIdToken(responseParams(msg).get('id_token'), 'n2');
      assert.equal(idt.office, 'Berlin');
      assert.equal(idt.acr, 'urn:example:mfa');
    });

    test('GET {sid} shows the request; {sid}/data keeps front-end state', async () => {
      const r = await start(server, authzQuery({ login_hint: 'alice' }));
      const sid = r.body.sid;
      assert.equal(r.body.login_hint, 'alice');
      const g = await apiJSON(server, 'GET', `/${sid}`);
      assert.equal(g.status, 200);
      assert.equal(g.body.auth_req.client_id, DEMO_CLIENT);
      assert.equal((await api(server, 'PUT', `/${sid}/data`, { step: 2 })).status, 204);
      assert.deepEqual((await apiJSON(server, 'GET', `/${sid}/data`)).body, { step: 2 });
      const d = await apiJSON(server, 'DELETE', `/${sid}`);
      assert.equal(responseParams(d.body).get('error'), 'access_denied');
      assert.equal((await apiJSON(server, 'GET', `/${sid}`)).status, 404);
    });

    describe('bad input', () => {
      test('unknown client or unregistered redirect_uri: type error, never a redirect (RFC 6749 §4.1.2.1)', async () => {
        for (const q of [
          authzQuery({ client_id: 'nobody' }),
          authzQuery({ redirect_uri: 'https://evil.example/cb' }),
          authzQuery({ redirect_uri: undefined }),
        ]) {
          const r = await start(server, q);
          assert.equal(r.status, 200);
          assert.equal(r.body.type, 'error', q);
          assert.ok(r.body.error);
          assert.equal(r.body.parameters, undefined);
        }
      });

      test('redirectable errors carry error, state and iss (RFC 6749 §4.1.2.1, RFC 9207)', async () => {
        for (const [params, error] of [
          [{ scope: 'openid not-registered' }, 'invalid_scope'],
          [{ response_type: 'code unknown' }, 'unsupported_response_type'],
          [{ response_type: 'id_token', response_mode: 'fragment' }, 'invalid_request'], // no nonce
          [{ code_challenge: 'x'.repeat(43), code_challenge_method: 'plain' }, 'invalid_request'],
          [{ prompt: 'none login' }, 'invalid_request'],
        ]) {
          const r = await start(server, authzQuery({ state: 'S1', ...params }));
          assert.equal(r.body.type, 'response', JSON.stringify(params));
          const p = responseParams(r.body);
          assert.equal(p.get('error'), error, JSON.stringify(params));
          assert.equal(p.get('state'), 'S1');
          assert.equal(p.get('iss'), server.issuer);
        }
      });

      test('malformed requests to the API: 400 with a clear message', async () => {
        const dup = await start(server, `${authzQuery()}&scope=openid`);
        assert.equal(dup.status, 400);
        assert.match(dup.body.error_description, /scope/);
        const big = await start(server, authzQuery({ state: 'x'.repeat(40000) }));
        assert.equal(big.status, 400);
        const claims = await start(server, authzQuery({ claims: '{"id_token":' }));
        assert.equal(claims.status, 400);
        assert.match(claims.body.error_description, /claims/);
        const notJson = await fetch(`${server.issuer}/authz-sessions/rest/v3`, {
          method: 'POST', headers: { authorization: 'Bearer demo-api-token', 'content-type': 'application/json' },
          body: '{"query":"a","query":"b"}',
        });
        assert.equal(notJson.status, 400);
      });

      test('the API needs its bearer token (RFC 6750 §3)', async () => {
        const r = await api(server, 'POST', '', { query: authzQuery() }, 'wrong');
        assert.equal(r.status, 401);
        assert.match(r.headers.get('www-authenticate'), /Bearer/);
      });

      test('unknown sid: 404; a step out of order: 400', async () => {
        assert.equal((await apiJSON(server, 'PUT', '/nosuchsession', { sub: 'alice' })).status, 404);
        const r = await start(server, authzQuery());
        const wrong = await apiJSON(server, 'PUT', `/${r.body.sid}`, { scope: ['openid'] });
        assert.equal(wrong.status, 400);
        // a subject without a remembered consent, so the consent step comes
        const c = await apiJSON(server, 'PUT', `/${r.body.sid}`, { sub: `new-${Date.now()}` });
        assert.equal(c.body.type, 'consent');
        const again = await apiJSON(server, 'PUT', `/${c.body.sid}`, { sub: 'alice' });
        assert.equal(again.status, 400);
      });

      test('DELETE with a custom error only when configured (reference §2.1)', async () => {
        const r = await start(server, authzQuery());
        const bad = await api(server, 'DELETE', `/${r.body.sid}?error=made_up_error`);
        assert.equal(bad.status, 400);
        const ok = await apiJSON(server, 'DELETE', `/${r.body.sid}?error=invalid_target&error_description=no`);
        assert.equal(responseParams(ok.body).get('error'), 'invalid_target');
      });
    });
  });
}
