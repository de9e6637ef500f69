// The example login page in headless Chromium, against the real server:
// openid-client builds the authorisation request from the server's
// discovery (the authorization_endpoint is the page), the browser signs in
// and consents, and openid-client redeems the code at the token endpoint.
// Nothing listens at the demo client's redirect URI: the browser's request
// to it is caught (page.waitForRequest) and its URL is the response.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as client from 'openid-client';
import { chromium } from 'playwright-core';
import { startServer, startRedis, freePort, DEMO_API_TOKEN } from '../lib/harness.js';
import { startLoginPage, loginPageEnv, CHROMIUM } from '../lib/login-page.js';

const CALLBACK = 'http://127.0.0.1:9999/callback';
const NO_SANITIZER_REPORT = /AddressSanitizer|LeakSanitizer|runtime error:/;
const SHOTS = process.env.LOGIN_PAGE_SCREENSHOTS ?? mkdtempSync(join(tmpdir(), 'login-page-'));

for (const storage of ['memory', 'redis']) {
describe(`the example login page in Chromium, ${storage} store`, () => {
  let redis;
  let server;
  let page;
  let browser;
  let context; // one browser: its cookies carry the SSO session across tests
  let config;

  before(async () => {
    const port = await freePort();
    if (storage === 'redis') redis = await startRedis();
    server = await startServer({ env: loginPageEnv(port), storage, redis });
    page = await startLoginPage({ server, port });
    // demo-client authenticates with client_secret_basic (examples/clients.json).
    config = await client.discovery(new URL(server.issuer), 'demo-client', undefined,
      client.ClientSecretBasic('demo-secret'), { execute: [client.allowInsecureRequests] });
    browser = await chromium.launch(CHROMIUM);
    context = await browser.newContext();
  });

  after(async () => {
    await browser?.close();
    for (const p of [page, server]) {
      if (!p) continue;
      const { code, signal, log } = await p.stop();
      assert.equal(signal, null, `died by ${signal}\n${log.slice(-3000)}`);
      assert.equal(code, 0, `exit code ${code}\n${log.slice(-3000)}`);
      assert.doesNotMatch(log, NO_SANITIZER_REPORT, log.slice(-3000));
    }
    await redis?.stop();
  });

  // An authorisation request for the demo client, built by openid-client
  // (PKCE S256, RFC 7636 §4; nonce, OIDC Core §3.1.2.1).
  async function authzRequest(extra = {}) {
    const verifier = client.randomPKCECodeVerifier();
    const state = client.randomState();
    const nonce = client.randomNonce();
    const url = client.buildAuthorizationUrl(config, {
      redirect_uri: CALLBACK,
      scope: 'openid profile email',
      code_challenge: await client.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      state,
      nonce,
      ...extra,
    });
    return { url, verifier, state, nonce };
  }

  // Run action and return the URL the browser then requests at the
  // redirect URI (nothing answers there, so the navigation itself fails).
  // An error page from the login page instead fails at once, with its text.
  async function untilCallback(tab, action) {
    const callback = tab.waitForRequest((r) => r.url().startsWith(CALLBACK), { timeout: 20000 });
    const failed = tab.waitForResponse((r) => r.url().startsWith(page.url) && r.status() >= 400,
      { timeout: 20000 }).then(async (r) => {
      throw new Error(`the login page answered ${r.status()}: ${await r.text()}`);
    });
    callback.catch(() => {});
    failed.catch(() => {});
    action().catch(() => {});
    return new URL((await Promise.race([callback, failed])).url());
  }

  // Redeem the code (RFC 6749 §4.1.3) and check the ID token.
  async function redeem(callback, req, sub) {
    const tokens = await client.authorizationCodeGrant(config, callback, {
      pkceCodeVerifier: req.verifier, expectedState: req.state, expectedNonce: req.nonce,
    });
    const claims = tokens.claims();
    assert.equal(claims.sub, sub);
    assert.equal(claims.iss, server.issuer);
    return tokens;
  }

  // Security headers of every page (CSP Level 3, RFC 7034, Referrer Policy).
  function assertPageHeaders(response) {
    const h = response.headers();
    assert.match(h['content-type'], /^text\/html; charset=utf-8/);
    assert.match(h['content-security-policy'], /default-src 'none'/);
    assert.match(h['content-security-policy'], /frame-ancestors 'none'/);
    assert.equal(h['x-frame-options'], 'DENY');
    assert.equal(h['referrer-policy'], 'no-referrer');
    assert.equal(h['cache-control'], 'no-store');
  }

  test('the server advertises the page as its authorisation endpoint (OIDC Discovery §3)', () => {
    assert.equal(config.serverMetadata().authorization_endpoint, `${page.url}/login`);
  });

  test('a wrong password shows an error and goes nowhere', async () => {
    const req = await authzRequest();
    const tab = await context.newPage();
    let left = false;
    tab.on('request', (r) => { if (r.url().startsWith(CALLBACK)) left = true; });
    await tab.goto(req.url.href);
    await tab.fill('#username', 'alice');
    await tab.fill('#password', 'not-her-password');
    const [response] = await Promise.all([tab.waitForNavigation(), tab.click('button[value=signin]')]);
    assert.equal(response.status(), 200);
    assertPageHeaders(response);
    assert.equal(await tab.locator('[role=alert]').textContent(),
      'The username or password is incorrect.');
    assert.equal(await tab.inputValue('#username'), 'alice');
    assert.equal(left, false);
    assert.equal((await context.cookies()).length, 0);
    await tab.close();
  });

  test('sign in as alice, allow and remember; the code redeems to an ID token for alice (RFC 6749 §4.1)', async () => {
    const req = await authzRequest();
    assert.equal(`${req.url.origin}${req.url.pathname}`, `${page.url}/login`);
    const tab = await context.newPage();
    const first = await tab.goto(req.url.href);
    assert.equal(first.status(), 200);
    assertPageHeaders(first);
    assert.equal(await tab.title(), 'Sign in - Tessera');
    assert.equal(await tab.getAttribute('#username', 'autocomplete'), 'username');
    assert.equal(await tab.getAttribute('#password', 'autocomplete'), 'current-password');
    await tab.screenshot({ path: join(SHOTS, 'sign-in.png'), fullPage: true });

    await tab.fill('#username', 'alice');
    await tab.fill('#password', 'alice-pass');
    const [consent] = await Promise.all([tab.waitForNavigation(), tab.click('button[value=signin]')]);
    assertPageHeaders(consent);
    assert.equal(await tab.title(), 'Allow access? - Tessera');
    const main = await tab.locator('main').textContent();
    assert.match(main, /demo-client/);
    for (const scope of ['openid', 'profile', 'email']) {
      assert.equal(await tab.isChecked(`input[name^=scope_][value="${scope}"]`), true, scope);
    }
    await tab.check('#long_lived');
    await tab.screenshot({ path: join(SHOTS, 'consent.png'), fullPage: true });

    const callback = await untilCallback(tab, () => tab.click('button[value=allow]'));
    assert.equal(callback.searchParams.get('state'), req.state);
    assert.equal(callback.searchParams.get('iss'), server.issuer); // RFC 9207 §2
    assert.ok(callback.searchParams.get('code'));
    await redeem(callback, req, 'alice');

    const cookie = (await context.cookies()).find((c) => c.name === 'sub_sid');
    assert.ok(cookie, 'the subject session cookie');
    assert.equal(cookie.httpOnly, true);
    assert.equal(cookie.sameSite, 'Lax');
    await tab.close();
  });

  test('SSO: a second request signs in silently, consent remembered (OIDC Core §3.1.2.3)', async () => {
    const req = await authzRequest();
    const tab = await context.newPage();
    const pages = [];
    tab.on('response', (r) => { if (r.url().startsWith(page.url)) pages.push(r.status()); });
    const callback = await untilCallback(tab, () => tab.goto(req.url.href));
    assert.deepEqual(pages, [302], 'straight back to the client: no sign-in, no consent');
    await redeem(callback, req, 'alice');
    await tab.close();
  });

  test('prompt=select_account offers the signed-in account (OIDC Core §3.1.2.1)', async () => {
    const req = await authzRequest({ prompt: 'select_account' });
    const tab = await context.newPage();
    await tab.goto(req.url.href);
    const choice = tab.locator('button[value=continue]');
    assert.equal(await choice.textContent(), 'Continue as Alice Adams (alice)');
    assert.equal(await tab.isVisible('#username'), true, 'and the form for another account');
    const callback = await untilCallback(tab, () => choice.click());
    await redeem(callback, req, 'alice');
    await tab.close();
  });

  test('another account needs its own consent; Deny answers access_denied (RFC 6749 §4.1.2.1)', async () => {
    const req = await authzRequest({ prompt: 'select_account' });
    const tab = await context.newPage();
    await tab.goto(req.url.href);
    await tab.fill('#username', 'bob');
    await tab.fill('#password', 'bob-pass');
    await Promise.all([tab.waitForNavigation(), tab.click('button[value=signin]')]);
    assert.equal(await tab.title(), 'Allow access? - Tessera');
    const callback = await untilCallback(tab, () => tab.click('button[value=deny]'));
    assert.equal(callback.searchParams.get('error'), 'access_denied');
    assert.equal(callback.searchParams.get('state'), req.state);
    assert.equal(callback.searchParams.get('code'), null);
    await tab.close();
  });

  test('a request with an unregistered redirect_uri shows an error page, never a redirect (RFC 6749 §4.1.2.1)', async () => {
    const req = await authzRequest({ redirect_uri: 'https://evil.example/cb' });
    const tab = await context.newPage();
    let left = false;
    tab.on('request', (r) => { if (!r.url().startsWith(page.url)) left = true; });
    const r = await tab.goto(req.url.href);
    assert.equal(r.status(), 400);
    assertPageHeaders(r);
    assert.match(await tab.locator('main').textContent(), /invalid_request/);
    assert.equal(left, false);
    await tab.close();
  });

  test('forms without a valid CSRF token, or from another site, are refused', async () => {
    const form = (body, headers = {}) => fetch(`${page.url}/login`, {
      method: 'POST', redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
      body: new URLSearchParams(body),
    });
    let r = await form({ sid: 'abc', username: 'alice', password: 'alice-pass' });
    assert.equal(r.status, 400);
    r = await form({ sid: 'abc', csrf: 'forged', username: 'alice', password: 'alice-pass' });
    assert.equal(r.status, 400);
    r = await form({ sid: 'abc', csrf: 'x', username: 'a', password: 'b' },
      { 'sec-fetch-site': 'cross-site' });
    assert.equal(r.status, 403);
    r = await fetch(`${page.url}/consent`, {
      method: 'POST', redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'sid=abc&csrf=forged&action=allow&scope_0=openid',
    });
    assert.equal(r.status, 400);
  });

  test('the API token never reaches the browser', async () => {
    const req = await authzRequest({ prompt: 'login' });
    const r = await fetch(req.url);
    assert.equal(r.status, 200);
    const html = await r.text();
    assert.ok(!html.includes(DEMO_API_TOKEN));
    assert.ok(!JSON.stringify([...r.headers]).includes(DEMO_API_TOKEN));
  });

  test('logout forgets the session cookie; the next request asks to sign in again', async () => {
    const tab = await context.newPage();
    const r = await tab.goto(`${page.url}/logout`);
    assert.equal(r.status(), 200);
    assert.equal(await tab.title(), 'Signed out - Tessera');
    assert.equal((await context.cookies()).find((c) => c.name === 'sub_sid'), undefined);
    const req = await authzRequest();
    await tab.goto(req.url.href);
    assert.equal(await tab.title(), 'Sign in - Tessera');
    await tab.close();
  });
});
}
