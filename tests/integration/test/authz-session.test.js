// The authorisation session API (reference §2.1) driven as a login page
// does, with openid-client redeeming codes and jose checking ID tokens,
// on both storage backends.
import { test, describe, before, after } from '../lib/test.js';
import assert from 'node:assert/strict';
import * as client from 'openid-client';
import * as jose from 'jose';
import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { startServer, startRedis, stopAll } from '../lib/harness.js';
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
    after(() => stopAll(server, redis));

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

    test('prompt=login and select_account ask for a new authentication (OIDC Core §3.1.2.1)', async () => {
      const first = await signIn(server, authzQuery());
      const login = (await start(server, authzQuery({ prompt: 'login' }), first.sub_sid)).body;
      assert.equal(login.type, 'auth');
      const sel = (await start(server, authzQuery({ prompt: 'select_account' }), first.sub_sid)).body;
      assert.equal(sel.type, 'auth');
      assert.equal(sel.select_account, true);
      assert.equal(sel.sub_session.sub, 'alice');
    });

    // The authentication's age comes from the auth_time the login page
    // reports, so no test waits for the clock.
    test('max_age: an authentication more than max_age seconds old is made again (OIDC Core §3.1.2.1)', async () => {
      const now = Math.floor(Date.now() / 1000);
      const first = await signIn(server, authzQuery(), { auth: { auth_time: now - 100 } });
      const aged = (await start(server, authzQuery({ max_age: '50' }), first.sub_sid)).body;
      assert.equal(aged.type, 'auth');
      assert.equal(aged.sub_session.auth_time, now - 100);
      const nonce = `n-${Math.random()}`;
      const young = (await start(server, authzQuery({
        max_age: '3600', response_type: 'id_token', response_mode: 'fragment', nonce,
      }), first.sub_sid)).body;
      const idt = await verifyIdToken(responseParams(young).get('id_token'), nonce);
      assert.equal(idt.auth_time, now - 100);
    });

    test('max_age=0 asks for a new authentication even within the same second (OIDC Core §3.1.2.1, errata 2)', async () => {
      const first = await signIn(server, authzQuery());
      const again = (await start(server, authzQuery({ max_age: '0' }), first.sub_sid)).body;
      assert.equal(again.type, 'auth');
    });

    test('the authentication must be the one the request asked for: auth_time within max_age, made for prompt=login and max_age=0 (OIDC Core §3.1.2.1)', async () => {
      const now = Math.floor(Date.now() / 1000);
      const sub = `age-${storage}-${Date.now()}`;
      for (const [params, stale] of [
        [{ max_age: '60' }, now - 100],
        [{ max_age: '0' }, now - 5],
        [{ prompt: 'login' }, now - 5],
      ]) {
        const r = (await start(server, authzQuery(params))).body;
        assert.equal(r.type, 'auth');
        const old = await apiJSON(server, 'PUT', `/${r.sid}`, { sub, auth_time: stale });
        assert.equal(old.status, 400, JSON.stringify(params));
        assert.match(old.body.error_description, /auth_time/);
        const r2 = (await start(server, authzQuery(params))).body;
        const fresh = await apiJSON(server, 'PUT', `/${r2.sid}`, { sub });
        assert.equal(fresh.body.type, 'consent', JSON.stringify(params));
      }
    });

    test('a covered request leaves the long-lived consent as it was (OIDC Core §3.1.2.1)', async () => {
      const sub = `narrow-${storage}-${Date.now()}`;
      const full = 'openid email address offline_access';
      const first = await signIn(server, authzQuery({ scope: full }), { sub });
      const narrow = (await start(server, authzQuery({ scope: 'openid', prompt: 'none' }), first.sub_sid)).body;
      assert.ok(responseParams(narrow).get('code'), 'covered');
      const wide = (await start(server, authzQuery({ scope: full, prompt: 'none' }), first.sub_sid)).body;
      assert.ok(responseParams(wide).get('code'), JSON.stringify(wide));
      const prompt = (await start(server, authzQuery({ scope: `${full} phone` }), first.sub_sid)).body;
      assert.equal(prompt.type, 'consent');
      assert.deepEqual(prompt.scope.consented, full.split(' '));
    });

    test('the claims parameter: essential claims in the prompt, values in the ID token (OIDC Core §5.5)', async () => {
      const claims = JSON.stringify({ id_token: { email: { essential: true }, name: null } });
      const r = await start(server, authzQuery({ response_type: 'code id_token', response_mode: 'fragment', nonce: 'n1', claims,
        code_challenge: b64url(createHash('sha256').update('v'.repeat(43)).digest()), code_challenge_method: 'S256' }));
      // bob, who has consented to nothing yet
      const c = (await apiJSON(server, 'PUT', `/${r.body.sid}`, { sub: 'bob' })).body;
      assert.equal(c.type, 'consent');
      assert.ok(c.claims.new.essential.includes('email'));
      assert.ok(c.claims.new.voluntary.includes('name'));
      const msg = (await apiJSON(server, 'PUT', `/${c.sid}`, { scope: ['openid'], claims: ['email', 'name'] })).body;
      const idt = await verifyIdToken(responseParams(msg).get('id_token'), 'n1');
      assert.equal(idt.email, 'bob@example.com');
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

    test('claim placement is the login page\'s directive, never the client\'s (reference §2.1)', async () => {
      for (const claims of [
        { userinfo: { 'access_token:email': null } },
        { userinfo: { 'access_token:uip:email': null } },
        { id_token: { 'id_token:email': { essential: true } } },
      ]) {
        const r = await start(server, authzQuery({
          response_type: 'id_token token', response_mode: 'fragment', nonce: 'n3',
          scope: 'openid', state: 'S5', claims: JSON.stringify(claims),
        }));
        const p = responseParams(r.body);
        assert.equal(p.get('error'), 'invalid_request', JSON.stringify(claims));
        assert.match(p.get('error_description'), /must not begin with/);
        assert.equal(p.get('access_token'), null);
        assert.equal(p.get('state'), 'S5');
      }
      // the login page may: its consent puts email into the access token
      const msg = await signIn(server, authzQuery({
        response_type: 'id_token token', response_mode: 'fragment', nonce: 'n4', scope: 'openid email',
        prompt: 'consent',
      }), { sub: 'bob', consent: { scope: ['*'], claims: ['access_token:email'] } });
      const at = jose.decodeJwt(responseParams(msg).get('access_token'));
      assert.equal(at.email, 'bob@example.com');
    });

    test('id_token_hint takes only ID tokens; UserInfo takes only access tokens (OIDC Core §3.1.2.1, §5.3.1; RFC 9068 §4)', async () => {
      const nonce = `n-${Math.random()}`;
      const msg = await signIn(server, authzQuery({
        response_type: 'id_token token', response_mode: 'fragment', nonce, scope: 'openid email',
      }));
      const p = responseParams(msg);
      const idToken = p.get('id_token');
      const accessToken = p.get('access_token');
      assert.equal(jose.decodeProtectedHeader(accessToken).typ, 'at+jwt');
      const hinted = (hint) => start(server, authzQuery({ prompt: 'none', id_token_hint: hint }), msg.sub_sid);
      assert.ok(responseParams((await hinted(idToken)).body).get('code'), 'an ID token of ours');
      // an access token is signed by the same keys, for the same subject
      assert.equal(responseParams((await hinted(accessToken)).body).get('error'), 'login_required');
      assert.equal(responseParams((await hinted('eyJhbGciOiJub25lIn0.e30.')).body).get('error'), 'login_required');
      // and the other way round
      const ui = await fetch(`${server.issuer}/userinfo`, { headers: { authorization: `Bearer ${idToken}` } });
      assert.equal(ui.status, 401);
      assert.match(ui.headers.get('www-authenticate'), /invalid_token/);
      const ok = await fetch(`${server.issuer}/userinfo`, { headers: { authorization: `Bearer ${accessToken}` } });
      assert.equal(ok.status, 200);
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

      test('a repeated or malformed parameter goes back to the client once its redirect_uri is known good (RFC 6749 §4.1.2.1, §3.1)', async () => {
        for (const [extra, says] of [
          ['&scope=openid', /scope/],
          ['&foo=1&foo=2', /foo/],
          ['&nonce=%zz', /nonce/],
          [`&claims=${encodeURIComponent('{"id_token":')}`, /claims/],
        ]) {
          const r = await start(server, `${authzQuery({ state: 'S2' })}${extra}`);
          assert.equal(r.status, 200, extra);
          const p = responseParams(r.body);
          assert.equal(p.get('error'), 'invalid_request', extra);
          assert.match(p.get('error_description'), says);
          assert.equal(p.get('state'), 'S2');
          assert.equal(p.get('iss'), server.issuer);
          assert.ok(r.body.parameters.uri.startsWith(DEMO_REDIRECT));
        }
        // a state in doubt is not echoed
        const st = await start(server, `${authzQuery({ state: 'S3' })}&state=S4`);
        assert.equal(responseParams(st.body).get('error'), 'invalid_request');
        assert.equal(responseParams(st.body).get('state'), null);
        // the response mode asked for is kept
        const fp = await start(server, `${authzQuery({ response_mode: 'form_post' })}&scope=x`);
        assert.equal(fp.body.mode, 'form_post');
        // where the client_id or the redirect_uri is in doubt, nothing is redirected
        for (const extra of [
          `&client_id=${DEMO_CLIENT}`,
          `&redirect_uri=${encodeURIComponent(DEMO_REDIRECT)}`,
          '&redirect_uri=https%3A%2F%2Fevil.example%2F',
        ]) {
          const r = await start(server, `${authzQuery()}${extra}&scope=x`);
          assert.equal(r.status, 200);
          assert.equal(r.body.type, 'error', extra);
          assert.equal(r.body.error, 'invalid_request');
          assert.equal(r.body.parameters, undefined);
        }
      });

      test('malformed requests to the API: 400 with a clear message', async () => {
        const big = await start(server, authzQuery({ state: 'x'.repeat(40000) }));
        assert.equal(big.status, 400);
        assert.match(big.body.error_description, /query/);
        const notJson = await fetch(`${server.issuer}/authz-sessions/rest/v3`, {
          method: 'POST', headers: { authorization: 'Bearer demo-api-token', 'content-type': 'application/json' },
          body: '{"query":"a","query":"b"}',
        });
        assert.equal(notJson.status, 400);
      });

      test('what the login page reports is checked before it is used: sub, acr, amr, sub_sid (OIDC Core §2)', async () => {
        // before the session is even read
        const long = await apiJSON(server, 'PUT', '/nosuchsession', { sub: 'x'.repeat(100000) });
        assert.equal(long.status, 400);
        assert.match(long.body.error_description, /sub: must be 1 to 255 printable ASCII/);
        for (const sub of ['x'.repeat(256), 'al\nice', 'caf\u00e9', '', 42]) {
          const r = await start(server, authzQuery());
          const put = await apiJSON(server, 'PUT', `/${r.body.sid}`, { sub });
          assert.equal(put.status, 400, JSON.stringify(sub));
          assert.match(put.body.error_description, /sub/);
        }
        for (const auth of [
          { acr: 'a'.repeat(256) }, { acr: 'x\ty' },
          { amr: Array(17).fill('pwd') }, { amr: ['p'.repeat(65)] }, { amr: 'pwd' },
        ]) {
          const r = await start(server, authzQuery());
          const put = await apiJSON(server, 'PUT', `/${r.body.sid}`, { sub: 'alice', ...auth });
          assert.equal(put.status, 400, JSON.stringify(auth));
          assert.match(put.body.error_description, new RegExp(Object.keys(auth)[0]));
        }
        const s255 = `${'s'.repeat(250)}-${storage.slice(0, 4)}`;
        const ok = await signIn(server, authzQuery(), { sub: s255 });
        assert.equal(ok.type, 'response');
        const bad = await start(server, authzQuery(), 'sid\u0001');
        assert.equal(bad.status, 400);
        assert.match(bad.body.error_description, /sub_sid/);
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
