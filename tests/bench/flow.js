// Load driver for `make bench`: complete authorisation-code flows through
// the authorisation session API (POST session, PUT authentication, PUT
// consent, token, UserInfo; PKCE S256, RFC 7636), then refresh_token
// grants, against a running server. Prints one line per figure (latency of
// one operation, in ms):
//   flows <per second> <count> <p50> <p99>
//   refresh <per second> <count> <p50> <p99>
// Usage: node flow.js ISSUER SECONDS CONCURRENCY [flows|refresh]
// (only the flows, or only the refresh grants; default both)
// `make bench-compare` drives the same flows (and oidc-provider's, through
// its interaction routes) with the C driver tests/bench/load.c instead.
import { createHash, randomBytes } from 'node:crypto';

const [issuer, secondsArg, concArg, only] = process.argv.slice(2);
const seconds = Number(secondsArg ?? 5);
const concurrency = Number(concArg ?? 16);
const API = `${issuer}/authz-sessions/rest/v3`;
const apiHeaders = { authorization: 'Bearer demo-api-token', 'content-type': 'application/json' };
const basic = `Basic ${Buffer.from('demo-client:demo-secret').toString('base64')}`;
const redirectUri = 'http://127.0.0.1:9999/callback';

// The authorisation request of one flow and its PKCE code_verifier (RFC 7636
// §4.1-4.2: S256).
function authorisation() {
  const verifier = randomBytes(32).toString('base64url');
  const query = new URLSearchParams({
    response_type: 'code', client_id: 'demo-client', redirect_uri: redirectUri,
    scope: 'openid email', state: 'bench', code_challenge_method: 'S256',
    code_challenge: createHash('sha256').update(verifier).digest('base64url'),
  }).toString();
  return { query, verifier };
}

async function call(url, init) {
  const r = await fetch(url, init);
  const body = await r.json();
  if (!r.ok) throw new Error(`${url}: ${r.status} ${JSON.stringify(body)}`);
  return body;
}

const token = (form) => call(`${issuer}/token`, {
  method: 'POST',
  headers: { authorization: basic, 'content-type': 'application/x-www-form-urlencoded' },
  body: new URLSearchParams(form).toString(),
});

// The code's token request, then UserInfo with its access token; returns
// the refresh token.
async function redeem(code, verifier) {
  const tokens = await token({
    grant_type: 'authorization_code', code, redirect_uri: redirectUri, code_verifier: verifier,
  });
  await call(`${issuer}/userinfo`, { headers: { authorization: `Bearer ${tokens.access_token}` } });
  return tokens.refresh_token;
}

async function flow(n) {
  const { query, verifier } = authorisation();
  const auth = await call(API, { method: 'POST', headers: apiHeaders, body: JSON.stringify({ query }) });
  const consent = await call(`${API}/${auth.sid}`, {
    method: 'PUT', headers: apiHeaders, body: JSON.stringify({ sub: `bench-${n}` }),
  });
  const resp = await call(`${API}/${consent.sid}`, {
    method: 'PUT', headers: apiHeaders, body: JSON.stringify({ scope: ['*'], claims: ['*'] }),
  });
  return redeem(new URL(resp.parameters.uri).searchParams.get('code'), verifier);
}

async function run(label, work) {
  const took = [];
  let next = 0;
  const end = Date.now() + seconds * 1000;
  const start = Date.now();
  await Promise.all(Array.from({ length: concurrency }, async (_, w) => {
    let state = null;
    while (Date.now() < end) {
      const t0 = performance.now();
      state = await work(next++, w, state);
      took.push(performance.now() - t0);
    }
  }));
  const elapsed = (Date.now() - start) / 1000;
  took.sort((a, b) => a - b);
  const at = (q) => took[Math.min(took.length - 1, Math.floor(q * took.length))].toFixed(3);
  const rate = Math.round(took.length / elapsed);
  console.log(`${label} ${rate} ${took.length} ${at(0.5)} ${at(0.99)}`);
}

if (only !== 'refresh') await run('flows', (n) => flow(n));
if (only === 'flows') process.exit(0);
// Each worker keeps one refresh token and rotates it.
const seeds = await Promise.all(Array.from({ length: concurrency }, (_, i) => flow(`seed-${i}`)));
await run('refresh', async (n, w, rt) => {
  const t = await token({ grant_type: 'refresh_token', refresh_token: rt ?? seeds[w] });
  return t.refresh_token ?? rt ?? seeds[w];
});
