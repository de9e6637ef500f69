// oidc-provider configured like Tessera's demo, for `make bench-compare`:
// the demo client of examples/clients.json (client_secret_basic, its one
// loopback redirect URI, PKCE S256 required), the scopes openid profile
// email offline_access, the library's in-memory adapter, one EC P-256 and
// one RSA 2048 signing key, ID tokens in ES256 (ID_TOKEN_ALG=RS256 for
// RS256). The front channel is the library's interaction routes with one
// programmatic step: POST /interaction/:uid with sub=... logs that user in
// and grants the requested scopes, then the authorisation request resumes.
// Listens on a free loopback port (PORT to choose one) and prints
//   ready on 127.0.0.1:<port>
import { createServer } from 'node:http';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import Provider from 'oidc-provider';

const idTokenAlg = process.env.ID_TOKEN_ALG ?? 'ES256';
if (!['ES256', 'RS256'].includes(idTokenAlg)) throw new Error(`ID_TOKEN_ALG: ${idTokenAlg}`);

// A private JWK of a fresh key pair, with its kid and use.
function signingKey(type, options, kid) {
  const { privateKey } = generateKeyPairSync(type, options);
  return { ...privateKey.export({ format: 'jwk' }), kid, use: 'sig' };
}

const jwks = {
  keys: [
    signingKey('ec', { namedCurve: 'P-256' }, 'bench-es256'),
    signingKey('rsa', { modulusLength: 2048 }, 'bench-rs256'),
  ],
};

const client = {
  client_id: 'demo-client',
  client_secret: 'demo-secret',
  application_type: 'native',
  redirect_uris: ['http://127.0.0.1:9999/callback'],
  grant_types: ['authorization_code', 'refresh_token'],
  response_types: ['code'],
  token_endpoint_auth_method: 'client_secret_basic',
  id_token_signed_response_alg: idTokenAlg,
};

const configuration = {
  clients: [client],
  jwks,
  scopes: ['openid', 'profile', 'email', 'offline_access'],
  claims: {
    openid: ['sub'],
    profile: ['name'],
    email: ['email', 'email_verified'],
  },
  pkce: { required: () => true },
  features: { devInteractions: { enabled: false } },
  interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
  cookies: { keys: [randomBytes(32).toString('base64url')] },
  // Tessera issues a refresh token to a client allowed the grant; so here.
  issueRefreshToken: async (ctx, c) => c.grantTypeAllowed('refresh_token'),
  // Tessera rotates refresh tokens (authzStore.refreshToken.rotate = true).
  rotateRefreshToken: true,
  findAccount: async (ctx, sub) => ({
    accountId: sub,
    claims: async () => ({ sub, name: sub, email: `${sub}@example.com`, email_verified: true }),
  }),
};

// POST /interaction/:uid (form sub=...): log the user in and grant what the
// request asked for, in one interaction result; oidc-provider answers 303 to
// the resuming authorisation endpoint.
async function interaction(provider, req, res) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  const sub = new URLSearchParams(Buffer.concat(chunks).toString()).get('sub');
  if (!sub) {
    res.writeHead(400).end('sub required');
    return;
  }
  const { params } = await provider.interactionDetails(req, res);
  const grant = new provider.Grant({ accountId: sub, clientId: params.client_id });
  grant.addOIDCScope(params.scope);
  const grantId = await grant.save();
  await provider.interactionFinished(req, res, {
    login: { accountId: sub },
    consent: { grantId },
  }, { mergeWithLastSubmission: false });
}

const server = createServer();
server.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => {
  const { port } = server.address();
  const provider = new Provider(`http://127.0.0.1:${port}`, configuration);
  const callback = provider.callback();
  server.on('request', (req, res) => {
    if (req.method === 'POST' && req.url.startsWith('/interaction/')) {
      interaction(provider, req, res).catch((err) => {
        res.writeHead(500).end(String(err));
      });
      return;
    }
    callback(req, res);
  });
  console.log(`ready on 127.0.0.1:${port}`);
});
process.on('SIGTERM', () => process.exit(0));
process.on('SIGINT', () => process.exit(0));
