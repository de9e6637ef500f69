// The example login page in headless Chromium, against the real server:
// openid-client builds the authorisation request from the server's
// discovery (the authorization_endpoint is the page), the browser signs in
// and consents, and openid-client redeems the code at the token endpoint.
// Nothing listens at the demo client's redirect URI: the browser's request
// to it is caught (page.waitForRequest) and its URL is the response.
// A failed browser test leaves a screenshot in build/test-artifacts/login-page/.
//
// Login CSRF (OWASP CSRF Prevention Cheat Sheet, "Login CSRF"): an attacker
// starts a sign-in of their own, then makes the victim's browser post that
// form with the attacker's credentials, which would sign the victim into the
// attacker's account. The last suites try it from another site in Chromium,
// over http (login.test is not "potentially trustworthy", so Chromium sends
// no Fetch Metadata there, as older browsers) and over https (behind a TLS
// front, with "__Host-" cookies, RFC 6265bis §4.1.3.2).
import { test, describe, before, after } from '../lib/test.js';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import * as client from 'openid-client';
import { chromium } from 'playwright-core';
import { startServer, startRedis, stopAll, freePort, DEMO_API_TOKEN } from '../lib/harness.js';
import {
  startLoginPage, loginPageEnv, startTlsFront, withTab, CHROMIUM, chromiumWithHosts,
} from '../lib/login-page.js';

const CALLBACK = 'http://127.0.0.1:9999/callback';

// An authorisation request for the demo client, built by openid-client
// (PKCE S256, RFC 7636 §4; nonce, OIDC Core §3.1.2.1).
async function buildAuthzRequest(config, extra = {}) {
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
async function untilCallbackOf(page, tab, action) {
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
async function redeemWith(config, server, callback, req, sub) {
  const tokens = await client.authorizationCodeGrant(config, callback, {
    pkceCodeVerifier: req.verifier, expectedState: req.state, expectedNonce: req.nonce,
  });
  const claims = tokens.claims();
  assert.equal(claims.sub, sub);
  assert.equal(claims.iss, server.issuer);
  return tokens;
}

// The demo client's configuration from the server's discovery.
// demo-client authenticates with client_secret_basic (examples/clients.json).
function demoClient(server) {
  return client.discovery(new URL(server.issuer), 'demo-client', undefined,
    client.ClientSecretBasic('demo-secret'), { execute: [client.allowInsecureRequests] });
}

// Without a browser, straight to the page's loopback address: a form post
// with `headers` (an Origin, a Cookie, ...), redirects not followed.
// A header given as undefined is not sent.
function post(page, path, body, headers = {}) {
  const given = Object.entries(headers).filter(([, v]) => v !== undefined);
  return fetch(`${page.direct}${path}`, {
    method: 'POST', redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...Object.fromEntries(given) },
    body: new URLSearchParams(body),
  });
}

// A hidden field of a page's form.
function field(html, name) {
  return html.match(new RegExp(`name="${name}" value="([^"]*)"`))?.[1];
}

// The form of page `path` (a sign-in or logout page) as an attacker gets it
// in their own client: its sid, CSRF token and the pre-session cookie
// ("name=value") the token is bound to.
async function formOf(page, path, cookieName) {
  const r = await fetch(`${page.direct}${path}`, { redirect: 'manual' });
  assert.equal(r.status, 200);
  const html = await r.text();
  const cookie = r.headers.getSetCookie().find((c) => c.startsWith(`${cookieName}=`));
  return { sid: field(html, 'sid'), csrf: field(html, 'csrf'), cookie: cookie?.split(';')[0] };
}

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
    try {
      await browser?.close();
    } finally {
      await stopAll(page, server, redis);
    }
  });

  // An authorisation request for the demo client, built by openid-client
  // (PKCE S256, RFC 7636 §4; nonce, OIDC Core §3.1.2.1).
  const authzRequest = (extra) => buildAuthzRequest(config, extra);

  const untilCallback = (tab, action) => untilCallbackOf(page, tab, action);
  const redeem = (callback, req, sub) => redeemWith(config, server, callback, req, sub);

  // Security headers of every page (CSP Level 3, RFC 7034, Referrer Policy).
  function assertPageHeaders(response) {
    const h = response.headers();
    assert.match(h['content-type'], /^text\/html; charset=utf-8/);
    assert.match(h['content-security-policy'], /default-src 'none'/);
    assert.match(h['content-security-policy'], /frame-ancestors 'none'/);
    assert.equal(h['x-frame-options'], 'DENY');
    // No Referer to other sites, a real Origin on the page's own posts.
    assert.equal(h['referrer-policy'], 'same-origin');
    assert.equal(h['cache-control'], 'no-store');
  }

  test('the server advertises the page as its authorisation endpoint (OIDC Discovery §3)', () => {
    assert.equal(config.serverMetadata().authorization_endpoint, `${page.url}/login`);
  });

  test('a wrong password shows an error and goes nowhere', async (t) => withTab(context, t, async (tab) => {
    const req = await authzRequest();
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
    // Only the pre-session cookie the forms' tokens are bound to; over
    // plain http without the "__Host-" prefix and Secure (RFC 6265bis §4.1.3.2).
    assert.deepEqual((await context.cookies()).map((c) => [c.name, c.httpOnly, c.sameSite, c.path]),
      [['pre_session', true, 'Lax', '/']]);
  }));

  test('sign in as alice, allow and remember; the code redeems to an ID token for alice (RFC 6749 §4.1)', async (t) => withTab(context, t, async (tab) => {
    const req = await authzRequest();
    assert.equal(`${req.url.origin}${req.url.pathname}`, `${page.url}/login`);
    const first = await tab.goto(req.url.href);
    assert.equal(first.status(), 200);
    assertPageHeaders(first);
    assert.equal(await tab.title(), 'Sign in - Tessera');
    assert.equal(await tab.getAttribute('#username', 'autocomplete'), 'username');
    assert.equal(await tab.getAttribute('#password', 'autocomplete'), 'current-password');

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

    const callback = await untilCallback(tab, () => tab.click('button[value=allow]'));
    assert.equal(callback.searchParams.get('state'), req.state);
    assert.equal(callback.searchParams.get('iss'), server.issuer); // RFC 9207 §2
    assert.ok(callback.searchParams.get('code'));
    await redeem(callback, req, 'alice');

    const cookie = (await context.cookies()).find((c) => c.name === 'sub_sid');
    assert.ok(cookie, 'the subject session cookie');
    assert.equal(cookie.httpOnly, true);
    assert.equal(cookie.sameSite, 'Lax');
  }));

  test('SSO: a second request signs in silently, consent remembered (OIDC Core §3.1.2.3)', async (t) => withTab(context, t, async (tab) => {
    const req = await authzRequest();
    const pages = [];
    tab.on('response', (r) => { if (r.url().startsWith(page.url)) pages.push(r.status()); });
    const callback = await untilCallback(tab, () => tab.goto(req.url.href));
    assert.deepEqual(pages, [302], 'straight back to the client: no sign-in, no consent');
    await redeem(callback, req, 'alice');
  }));

  test('prompt=select_account offers the signed-in account (OIDC Core §3.1.2.1)', async (t) => withTab(context, t, async (tab) => {
    const req = await authzRequest({ prompt: 'select_account' });
    await tab.goto(req.url.href);
    const choice = tab.locator('button[value=continue]');
    assert.equal(await choice.textContent(), 'Continue as Alice Adams (alice)');
    assert.equal(await tab.isVisible('#username'), true, 'and the form for another account');
    const callback = await untilCallback(tab, () => choice.click());
    await redeem(callback, req, 'alice');
  }));

  test('another account needs its own consent; Deny answers access_denied (RFC 6749 §4.1.2.1)', async (t) => withTab(context, t, async (tab) => {
    const req = await authzRequest({ prompt: 'select_account' });
    await tab.goto(req.url.href);
    await tab.fill('#username', 'bob');
    await tab.fill('#password', 'bob-pass');
    await Promise.all([tab.waitForNavigation(), tab.click('button[value=signin]')]);
    assert.equal(await tab.title(), 'Allow access? - Tessera');
    const callback = await untilCallback(tab, () => tab.click('button[value=deny]'));
    assert.equal(callback.searchParams.get('error'), 'access_denied');
    assert.equal(callback.searchParams.get('state'), req.state);
    assert.equal(callback.searchParams.get('code'), null);
  }));

  test('a request with an unregistered redirect_uri shows an error page, never a redirect (RFC 6749 §4.1.2.1)', async (t) => withTab(context, t, async (tab) => {
    const req = await authzRequest({ redirect_uri: 'https://evil.example/cb' });
    let left = false;
    tab.on('request', (r) => { if (!r.url().startsWith(page.url)) left = true; });
    const r = await tab.goto(req.url.href);
    assert.equal(r.status(), 400);
    assertPageHeaders(r);
    assert.match(await tab.locator('main').textContent(), /invalid_request/);
    assert.equal(left, false);
  }));

  test('forms without a valid CSRF token, or from another site, are refused', async () => {
    let r = await post(page, '/login', { sid: 'abc', username: 'alice', password: 'alice-pass' });
    assert.equal(r.status, 400);
    r = await post(page, '/login', { sid: 'abc', csrf: 'forged', username: 'alice', password: 'alice-pass' });
    assert.equal(r.status, 400);
    r = await post(page, '/login', { sid: 'abc', csrf: 'x', username: 'a', password: 'b' },
      { 'sec-fetch-site': 'cross-site' });
    assert.equal(r.status, 403);
    r = await post(page, '/consent', { sid: 'abc', csrf: 'forged', action: 'allow', scope_0: 'openid' });
    assert.equal(r.status, 400);
  });

  // A sign-in form of the attacker's own (their sid, their token, their
  // pre-session cookie), posted with the attacker's credentials and the
  // given headers: what a forged cross-site post looks like to the page.
  async function forgedSignIn(headers) {
    const req = await authzRequest({ prompt: 'login' });
    const f = await formOf(page, `${req.url.pathname}${req.url.search}`, 'pre_session');
    return post(page, '/login', {
      sid: f.sid, csrf: f.csrf, action: 'signin', username: 'bob', password: 'not-bobs-password',
    }, headers(f));
  }

  test('login CSRF: a cross-origin Origin is refused also without Fetch Metadata, "null" too (RFC 6454 §7; OWASP "Verifying Origin With Standard Headers")', async () => {
    for (const origin of ['http://evil.example', 'null', page.url.replace('127.0.0.1', 'localhost')]) {
      const r = await forgedSignIn((f) => ({ origin, cookie: f.cookie }));
      assert.equal(r.status, 403, origin);
      assert.match(await r.text(), /sent from another site/);
    }
  });

  test('login CSRF: without Fetch Metadata and Origin, a Referer of another site is refused (Fetch Metadata §2.1; OWASP "Verifying Origin With Standard Headers")', async () => {
    const r = await forgedSignIn((f) => ({ referer: 'http://evil.example/page', cookie: f.cookie }));
    assert.equal(r.status, 403);
  });

  test('login CSRF: a token not bound to the browser\'s pre-session cookie is refused (OWASP "Login CSRF", "Signed Double-Submit Cookie")', async () => {
    // no cookie at all: the victim's browser never had the attacker's
    let r = await forgedSignIn(() => ({}));
    assert.equal(r.status, 400);
    assert.match(await r.text(), /did not come from this page/);
    // the victim's own pre-session cookie, with the attacker's token
    const victim = await formOf(page, '/logout', 'pre_session');
    r = await forgedSignIn(() => ({ cookie: victim.cookie }));
    assert.equal(r.status, 400);
    // the same form with the cookie it is bound to, from the page itself: on to the password check
    r = await forgedSignIn((f) => ({ origin: page.url, cookie: f.cookie }));
    assert.equal(r.status, 200);
    assert.match(await r.text(), /The username or password is incorrect/);
    r = await forgedSignIn((f) => ({ referer: `${page.url}/login?x=1`, cookie: f.cookie }));
    assert.equal(r.status, 200);
  });

  test('the API token never reaches the browser', async () => {
    const req = await authzRequest({ prompt: 'login' });
    const r = await fetch(req.url);
    assert.equal(r.status, 200);
    const html = await r.text();
    assert.ok(!html.includes(DEMO_API_TOKEN));
    assert.ok(!JSON.stringify([...r.headers]).includes(DEMO_API_TOKEN));
  });

  test('logout asks to confirm and a GET signs nothing out (OIDC RP-Initiated Logout 1.0 §2); a forged logout is refused', async () => {
    const f = await formOf(page, '/logout', 'pre_session');
    assert.ok(f.csrf && f.cookie);
    let r = await post(page, '/logout', { csrf: f.csrf }, { origin: 'http://evil.example', cookie: f.cookie });
    assert.equal(r.status, 403);
    r = await post(page, '/logout', { csrf: f.csrf });
    assert.equal(r.status, 400, 'no pre-session cookie');
    r = await post(page, '/logout', { csrf: 'forged' }, { cookie: f.cookie });
    assert.equal(r.status, 400);
  });

  test('Sign out forgets the session cookie; the next request asks to sign in again', async (t) => withTab(context, t, async (tab) => {
    const r = await tab.goto(`${page.url}/logout`);
    assert.equal(r.status(), 200);
    assertPageHeaders(r);
    assert.equal(await tab.title(), 'Sign out - Tessera');
    assert.ok((await context.cookies()).find((c) => c.name === 'sub_sid'), 'still signed in');
    const [done] = await Promise.all([tab.waitForNavigation(), tab.click('button[type=submit]')]);
    assert.equal(done.status(), 200);
    assert.equal(await tab.title(), 'Signed out - Tessera');
    assert.equal((await context.cookies()).find((c) => c.name === 'sub_sid'), undefined);
    const req = await authzRequest();
    await tab.goto(req.url.href);
    assert.equal(await tab.title(), 'Sign in - Tessera');
  }));
});
}

// An attacker's site: serves `html` (set per test) at "/".
async function startEvilSite() {
  const site = { html: '' };
  const server = createServer((req, res) => {
    res.setHeader('content-type', 'text/html; charset=utf-8');
    res.end(site.html);
  });
  site.port = await new Promise((r) => server.listen(0, '127.0.0.1', () => r(server.address().port)));
  site.stop = () => new Promise((r) => server.close(r));
  return site;
}

// A page that posts the attacker's sign-in form to `action` at once.
function autoSubmit(action, f, { noReferrer = false } = {}) {
  const input = (name, value) => `<input type="hidden" name="${name}" value="${value}">`;
  return `<!DOCTYPE html><html><head>${noReferrer ? '<meta name="referrer" content="no-referrer">' : ''}`
    + `<title>Win a prize</title></head><body><form method="post" action="${action}">`
    + input('sid', f.sid) + input('csrf', f.csrf) + input('action', 'signin')
    + input('username', 'bob') + input('password', 'bob-pass')
    + '</form><script>document.forms[0].submit()</script></body></html>';
}

// The sign-in form of a fresh authorisation request of the demo client that
// forces a sign-in, as the attacker gets it in their own client (formOf).
async function attackerForm(page, config, cookieName) {
  const req = await buildAuthzRequest(config, { prompt: 'login' });
  return formOf(page, `${req.url.pathname}${req.url.search}`, cookieName);
}

// The attacker, in their own client, signs in as bob and gives the demo
// client a long-lived consent, so that a forged sign-in as bob would go
// straight back to the client with a code and set the session cookie.
async function attackerConsents(page, config, cookieName) {
  const f = await attackerForm(page, config, cookieName);
  let r = await post(page, '/login', {
    sid: f.sid, csrf: f.csrf, action: 'signin', username: 'bob', password: 'bob-pass',
  }, { origin: page.url, cookie: f.cookie });
  const html = await r.text();
  assert.equal(r.status, 200, html);
  const boxes = Object.fromEntries([...html.matchAll(/name="((?:scope|claim)_\d+)" value="([^"]*)"/g)]
    .map((m) => [m[1], m[2]]));
  r = await post(page, '/consent', {
    sid: field(html, 'sid'), csrf: field(html, 'csrf'), action: 'allow', long_lived: 'true', ...boxes,
  }, { origin: page.url, cookie: f.cookie });
  assert.equal(r.status, 302);
  assert.ok(r.headers.get('location').startsWith(CALLBACK));
}

// The victim's browser opens the attacker's page (`evilUrl`, serving
// `html`); resolves to the page's answer to the forged post, its request
// headers, and whether the browser then went on to the client.
async function victimOpens(tab, page, evil, evilUrl, html) {
  let left = false;
  tab.on('request', (r) => { if (r.url().startsWith(CALLBACK)) left = true; });
  evil.html = html;
  const posted = tab.waitForResponse((r) => r.url() === `${page.url}/login`
    && r.request().method() === 'POST');
  await tab.goto(evilUrl);
  const response = await posted;
  return { response, headers: await response.request().allHeaders(), left: () => left };
}

describe('login CSRF in Chromium over http, no Fetch Metadata (OWASP "Login CSRF")', () => {
  let server;
  let page;
  let evil;
  let browser;
  let victim;
  let config;

  before(async () => {
    const port = await freePort();
    const publicUrl = `http://login.test:${port}`;
    evil = await startEvilSite();
    // The server accepts a plain-http endpoint on loopback only; the
    // requests below go to the page by path, so it advertises 127.0.0.1.
    server = await startServer({ env: loginPageEnv(port) });
    page = await startLoginPage({ server, port, publicUrl });
    config = await demoClient(server);
    await attackerConsents(page, config, 'pre_session');
    browser = await chromium.launch(chromiumWithHosts(['login.test', 'evil.test', 'evil.login.test']));
    victim = await browser.newContext();
  });

  after(async () => {
    try {
      await browser?.close();
      await evil?.stop();
    } finally {
      await stopAll(page, server);
    }
  });

  for (const host of ['evil.test', 'evil.login.test']) {
    test(`a page on ${host} (${host === 'evil.test' ? 'another site' : 'a sibling origin of the same site'}) auto-submitting the sign-in form does not sign the victim in (RFC 6454 §7 Origin)`, async (t) => withTab(victim, t, async (tab) => {
      const f = await attackerForm(page, config, 'pre_session');
      const evilUrl = `http://${host}:${evil.port}/`;
      const got = await victimOpens(tab, page, evil, evilUrl, autoSubmit(`${page.url}/login`, f));
      assert.equal(got.headers['sec-fetch-site'], undefined, 'Chromium sends no Fetch Metadata here');
      assert.equal(got.headers.origin, evilUrl.slice(0, -1));
      assert.equal(got.response.status(), 403);
      assert.equal(got.left(), false, 'the browser never went on to the client');
      assert.deepEqual((await victim.cookies()).filter((c) => c.name === 'sub_sid'), []);
    }));
  }

  test('the same from a page that sends no Referer (Origin: null) is refused too (Fetch §3.1 "null" origin)', async (t) => withTab(victim, t, async (tab) => {
    const f = await attackerForm(page, config, 'pre_session');
    const got = await victimOpens(tab, page, evil, `http://evil.test:${evil.port}/`,
      autoSubmit(`${page.url}/login`, f, { noReferrer: true }));
    assert.equal(got.headers.origin, 'null');
    assert.equal(got.headers.referer, undefined);
    assert.equal(got.response.status(), 403);
    assert.equal(got.left(), false);
    assert.deepEqual((await victim.cookies()).filter((c) => c.name === 'sub_sid'), []);
  }));
});

describe('login CSRF in Chromium over https, "__Host-" cookies (RFC 6265bis §4.1.3.2)', () => {
  let server;
  let page;
  let front;
  let evil;
  let browser;
  let victim;
  let config;

  before(async () => {
    const port = await freePort();
    front = await startTlsFront({ target: port, names: ['login.test'] });
    const publicUrl = `https://login.test:${front.port}`;
    evil = await startEvilSite();
    server = await startServer({ env: loginPageEnv(publicUrl) });
    page = await startLoginPage({ server, port, publicUrl });
    config = await demoClient(server);
    browser = await chromium.launch(chromiumWithHosts(['login.test', 'evil.test']));
    // The TLS front's certificate is self-signed.
    victim = await browser.newContext({ ignoreHTTPSErrors: true });
  });

  after(async () => {
    try {
      await browser?.close();
      await evil?.stop();
      await front?.stop();
    } finally {
      await stopAll(page, server);
    }
  });

  test('over https the cookies are "__Host-" named, Secure, Path=/, host-only, and Chromium signs in with them', async (t) => withTab(victim, t, async (tab) => {
    const req = await buildAuthzRequest(config);
    assert.equal(`${req.url.origin}${req.url.pathname}`, `${page.url}/login`);
    await tab.goto(req.url.href);
    await tab.fill('#username', 'alice');
    await tab.fill('#password', 'alice-pass');
    await Promise.all([tab.waitForNavigation(), tab.click('button[value=signin]')]);
    assert.equal(await tab.title(), 'Allow access? - Tessera');
    await tab.check('#long_lived');
    const callback = await untilCallbackOf(page, tab, () => tab.click('button[value=allow]'));
    await redeemWith(config, server, callback, req, 'alice');
    const cookies = (await victim.cookies()).sort((a, b) => a.name.localeCompare(b.name));
    assert.deepEqual(cookies.map((c) => [c.name, c.domain, c.path, c.secure, c.httpOnly, c.sameSite]), [
      ['__Host-pre_session', 'login.test', '/', true, true, 'Lax'],
      ['__Host-sub_sid', 'login.test', '/', true, true, 'Lax'],
    ]);
  }));

  test('a cross-site page auto-submitting the sign-in form is refused (Fetch Metadata §2.1) and the victim keeps their session', async (t) => withTab(victim, t, async (tab) => {
    const before = (await victim.cookies()).find((c) => c.name === '__Host-sub_sid');
    assert.ok(before, 'the victim is signed in');
    const f = await attackerForm(page, config, '__Host-pre_session');
    const got = await victimOpens(tab, page, evil, `http://evil.test:${evil.port}/`,
      autoSubmit(`${page.url}/login`, f));
    assert.equal(got.headers['sec-fetch-site'], 'cross-site');
    assert.equal(got.response.status(), 403);
    assert.equal(got.left(), false);
    const after = (await victim.cookies()).find((c) => c.name === '__Host-sub_sid');
    assert.equal(after?.value, before.value);
  }));
});
