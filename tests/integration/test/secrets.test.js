// Bearer secrets of the front channel: the authorisation session id (sid),
// the subject session id (sub_sid, the SSO cookie), codes and tokens.
// RFC 6819 §5.1.4.1.3 / §5.2.2.1: secrets are not derivable from other
// values and never written where others read them (the log); OIDC
// Front-Channel Logout §3: the "sid" claim identifies the session to relying
// parties without being the session's credential. On both storage backends.
import { test, describe, before, after } from '../lib/test.js';
import assert from 'node:assert/strict';
import { createHash, createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import * as jose from 'jose';
import { startServer, startRedis, stopAll, DEMO_CONFIG } from '../lib/harness.js';
import {
  apiJSON, authzQuery, start, responseParams, DEMO_CLIENT, DEMO_SECRET, DEMO_REDIRECT,
} from '../lib/authz.js';

const sha256 = (v) => createHash('sha256').update(v).digest();
// The demo keyStore.encJWK (examples/tessera.properties), as raw bytes.
const DEMO_ENC_KEY = Buffer.from(
  JSON.parse(readFileSync(DEMO_CONFIG, 'utf8').match(/^keyStore\.encJWK = (.*)$/m)[1]).k,
  'base64url');

for (const storage of ['memory', 'redis']) {
  describe(`bearer secrets on the ${storage} store`, () => {
    let redis;
    let server;
    let jwks;
    before(async () => {
      if (storage === 'redis') redis = await startRedis();
      server = await startServer({ storage, redis });
      jwks = jose.createRemoteJWKSet(new URL(`${server.issuer}/jwks.json`));
    });
    after(async () => {
      await stopAll(server, redis);
    });

    // POST -> auth -> PUT {sub} -> consent (+ GET, PUT data) -> PUT consent
    // -> response, then the code at /token: every secret it handed out.
    async function fullFlow() {
      const nonce = `n-${Math.random()}`;
      const q = authzQuery({ response_type: 'code', scope: 'openid email offline_access', nonce });
      const first = (await start(server, q)).body;
      assert.equal(first.type, 'auth', JSON.stringify(first));
      const sid = first.sid;
      const consent = (await apiJSON(server, 'PUT', `/${sid}`, { sub: 'alice', amr: ['pwd'] })).body;
      assert.equal(consent.type, 'consent', JSON.stringify(consent));
      assert.equal((await apiJSON(server, 'GET', `/${consent.sid}`)).status, 200);
      assert.equal((await apiJSON(server, 'PUT', `/${consent.sid}/data`, { n: 1 })).status, 204);
      const done = (await apiJSON(server, 'PUT', `/${consent.sid}`,
        { scope: ['*'], claims: ['*'], long_lived: false })).body;
      assert.equal(done.type, 'response', JSON.stringify(done));
      assert.ok(done.sub_sid, 'a new subject session');
      const code = responseParams(done).get('code');
      const r = await fetch(`${server.issuer}/token`, {
        method: 'POST',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          authorization: `Basic ${Buffer.from(`${DEMO_CLIENT}:${DEMO_SECRET}`).toString('base64')}`,
        },
        body: new URLSearchParams({
          grant_type: 'authorization_code', code, redirect_uri: DEMO_REDIRECT,
        }).toString(),
      });
      const tokens = await r.json();
      assert.equal(r.status, 200, JSON.stringify(tokens));
      const { payload } = await jose.jwtVerify(tokens.id_token, jwks, {
        issuer: server.issuer, audience: DEMO_CLIENT,
      });
      return { sid, subSid: done.sub_sid, code, tokens, idToken: payload, sids: [sid, consent.sid] };
    }

    // A request with the SSO cookie: no authentication step (the session
    // is found), consent, the response.
    async function ssoFlow(subSid, params = {}) {
      const first = (await start(server, authzQuery(params), subSid)).body;
      assert.equal(first.type, 'consent', JSON.stringify(first));
      const done = (await apiJSON(server, 'PUT', `/${first.sid}`,
        { scope: ['*'], claims: ['*'], long_lived: false })).body;
      assert.equal(done.type, 'response', JSON.stringify(done));
      assert.equal(done.sub_sid, undefined, 'no new session');
      return { sid: first.sid, params: responseParams(done) };
    }

    test('no session id, subject session id, code or token reaches the log; a hash tag does', { timeout: 60000 }, async () => {
      const f = await fullFlow();
      // SSO with the cookie, then an unknown and a malformed session id.
      const again = await ssoFlow(f.subSid);
      const unknown = `${Buffer.from(DEMO_CLIENT).toString('base64url')}.${'A'.repeat(43)}`;
      assert.equal((await apiJSON(server, 'GET', `/${unknown}`)).status, 404);
      assert.ok((await apiJSON(server, 'PATCH', `/${unknown}`)).status >= 400, 'refused by the router');
      const log = server.log();
      const secrets = {
        ...Object.fromEntries(f.sids.map((s, i) => [`sid ${i}`, s])),
        sub_sid: f.subSid, code: f.code, unknown_sid: unknown,
        sso_sid: again.sid, second_code: again.params.get('code'),
        access_token: f.tokens.access_token, refresh_token: f.tokens.refresh_token,
        id_token: f.tokens.id_token,
      };
      for (const [name, value] of Object.entries(secrets)) {
        assert.ok(value, name);
        assert.ok(!log.includes(value), `the log shows the ${name}`);
        // Not even a long piece of it.
        assert.ok(!log.includes(value.slice(-24)), `the log shows part of the ${name}`);
      }
      // What the access log shows instead: the first 8 hex digits of the
      // SHA-256 of the id, which is also the prefix of its store key.
      const tag = sha256(f.sid).toString('hex').slice(0, 8);
      assert.match(log, new RegExp(`PUT /authz-sessions/rest/v3/~${tag} 200`));
      assert.match(log, new RegExp(`PUT /authz-sessions/rest/v3/~${tag}/data 204`));
    });

    test('sub_sid is an independent random id, not derived from the sid with keyStore.encJWK', { timeout: 60000 }, async () => {
      const f = await fullFlow();
      const derived = createHmac('sha256', DEMO_ENC_KEY).update(`sub_sid\n${f.sid}`).digest('base64url');
      assert.notEqual(f.subSid, derived);
      assert.match(f.subSid, /^[A-Za-z0-9_-]{43}$/, '256 random bits, base64url');
      // The cookie the final answer gave after the consent step is the
      // session's: it signs in silently, and a second flow gets another id.
      assert.ok((await ssoFlow(f.subSid)).params.get('code'));
      const other = await fullFlow();
      assert.notEqual(other.subSid, f.subSid);
    });

    test('the ID token "sid" claim is stable per session and not a hash of the session id', { timeout: 60000 }, async () => {
      const f = await fullFlow();
      assert.match(f.idToken.sid, /^[A-Za-z0-9_-]{22,}$/);
      assert.notEqual(f.idToken.sid, sha256(f.subSid).toString('base64url').slice(0, 22));
      assert.ok(!sha256(f.subSid).toString('hex').startsWith(
        Buffer.from(f.idToken.sid, 'base64url').toString('hex').slice(0, 16)));
      const nonce = 'n-sso';
      const again = await ssoFlow(f.subSid, {
        response_type: 'id_token', response_mode: 'fragment', nonce,
      });
      const { payload } = await jose.jwtVerify(again.params.get('id_token'), jwks, {
        issuer: server.issuer, audience: DEMO_CLIENT,
      });
      assert.equal(payload.sid, f.idToken.sid);
    });
  });
}
