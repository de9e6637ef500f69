// Drives the authorisation session API the way a login page does
// (authz-sessions/rest/v3, reference §2.1), for tests.
import assert from 'node:assert/strict';
import { DEMO_API_TOKEN } from './harness.js';

export const DEMO_CLIENT = 'demo-client';
export const DEMO_SECRET = 'demo-secret';
export const DEMO_REDIRECT = 'http://127.0.0.1:9999/callback';

export function api(server, method, path, body, token = DEMO_API_TOKEN) {
  const headers = { authorization: `Bearer ${token}` };
  if (body !== undefined) headers['content-type'] = 'application/json';
  return fetch(`${server.issuer}/authz-sessions/rest/v3${path}`, {
    method, headers, body: body === undefined ? undefined : JSON.stringify(body),
  });
}

export async function apiJSON(server, method, path, body) {
  const r = await api(server, method, path, body);
  const text = await r.text();
  return { status: r.status, body: text ? JSON.parse(text) : null };
}

// The query string of an authorisation request for the demo client.
export function authzQuery(params = {}) {
  const p = new URLSearchParams({
    response_type: 'code',
    client_id: DEMO_CLIENT,
    redirect_uri: DEMO_REDIRECT,
    scope: 'openid',
    state: 'st-' + Math.random().toString(36).slice(2),
    ...params,
  });
  for (const [k, v] of Object.entries(params)) if (v === undefined) p.delete(k);
  return p.toString();
}

export const start = (server, query, subSid) =>
  apiJSON(server, 'POST', '', subSid ? { query, sub_sid: subSid } : { query });

// POST -> auth -> PUT {sub} -> consent -> PUT consent -> response.
export async function signIn(server, query, { sub = 'alice', consent, subSid, auth = {} } = {}) {
  let r = await start(server, query, subSid);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  if (r.body.type === 'auth') {
    r = await apiJSON(server, 'PUT', `/${r.body.sid}`, { sub, amr: ['pwd'], ...auth });
    assert.equal(r.status, 200, JSON.stringify(r.body));
  }
  if (r.body.type === 'consent') {
    r = await apiJSON(server, 'PUT', `/${r.body.sid}`,
      consent ?? { scope: ['*'], claims: ['*'], long_lived: true });
    assert.equal(r.status, 200, JSON.stringify(r.body));
  }
  return r.body;
}

// The response parameters of a final "response" message, whatever its mode.
export function responseParams(msg) {
  assert.equal(msg.type, 'response', JSON.stringify(msg));
  if (msg.mode === 'form_post') return new URLSearchParams(msg.parameters.form);
  const u = new URL(msg.parameters.uri);
  return new URLSearchParams(msg.mode === 'fragment' ? u.hash.slice(1) : u.search);
}
