// HTTP/1.1 message framing and connection limits of the real server, over
// raw sockets: a request whose framing is ambiguous or malformed gets 400
// and its connection closes, so nothing smuggled after it runs (RFC 9112);
// a request read too slowly is cut off (http.requestReadTimeout), and
// http.maxConnections caps the open connections.
import { test, describe, before, after } from '../lib/test.js';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { startServer, stopAll } from '../lib/harness.js';
import { rawExchange } from '../lib/raw.js';

const basic = (id, secret) => `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;
// A second request, run only if the server takes the first one's framing
// differently from the sender.
const SMUGGLED = 'GET /jwks.json HTTP/1.1\r\nHost: x\r\n\r\n';

// The only answer is a 400 (or status) that closes the connection.
function assertRefused(r, status = 400) {
  assert.deepEqual(r.statuses, [status], r.text.slice(0, 500));
  assert.match(r.text, /\r\nConnection: close\r\n/i);
}

const errorOf = (r) => JSON.parse(r.text.slice(r.text.indexOf('\r\n\r\n') + 4));

describe('HTTP/1.1 framing (RFC 9112)', () => {
  let server;
  before(async () => { server = await startServer(); });
  after(async () => { await stopAll(server); });

  const send = (text) => rawExchange(server.port, [text]);

  test('two Content-Length values: 400, close, the request in the body never runs (RFC 9112 §6.3)', async () => {
    for (const [a, b] of [[0, SMUGGLED.length], [SMUGGLED.length, 0]]) {
      const r = await send('POST /token HTTP/1.1\r\nHost: x\r\n'
        + 'Content-Type: application/x-www-form-urlencoded\r\n'
        + `Content-Length: ${a}\r\nContent-Length: ${b}\r\n\r\n${SMUGGLED}`);
      assertRefused(r);
      assert.equal(errorOf(r).error, 'invalid_request');
    }
  });

  test('a Content-Length that is not digits only: 400 and close (RFC 9112 §6.3)', async () => {
    assertRefused(await send(`POST /token HTTP/1.1\r\nHost: x\r\nContent-Length: +0\r\n\r\n${SMUGGLED}`));
  });

  test('whitespace between a field name and its colon: 400 and close (RFC 9112 §5.1)', async () => {
    const r = await send(`GET /jwks.json HTTP/1.1\r\nHost : x\r\n\r\n${SMUGGLED}`);
    assertRefused(r);
    assert.match(errorOf(r).error_description, /RFC 9112 section 5\.1/);
    assertRefused(await send(`POST /token HTTP/1.1\r\nHost: x\r\nContent-Length : 36\r\n\r\n${SMUGGLED}`));
  });

  test('an HTTP/1.1 request without Host, or with two, is refused (RFC 9112 §3.2)', async () => {
    assertRefused(await send('GET /jwks.json HTTP/1.1\r\n\r\n'));
    assertRefused(await send('GET /jwks.json HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n'));
    assertRefused(await send('GET /jwks.json HTTP/1.1\r\nHost: x y\r\n\r\n'));
    const old = await send('GET /jwks.json HTTP/1.0\r\n\r\n'); // HTTP/1.0 may omit it
    assert.deepEqual(old.statuses, [200]);
  });

  test('a NUL or control character in a field value: 400 (RFC 9110 §5.5)', async () => {
    assertRefused(await send('GET /jwks.json HTTP/1.1\r\nHost: x\r\nX-A: a\0b\r\n\r\n'));
    assertRefused(await send('GET /jwks.json HTTP/1.1\r\nHost: x\r\nX-A: a\x01b\r\n\r\n'));
  });

  test('line folding, bare CR and bare LF in the head: 400 (RFC 9112 §2.2, §5.2)', async () => {
    assertRefused(await send(`GET /jwks.json HTTP/1.1\r\nHost: x\r\nX-A: 1\r\n 2\r\n\r\n${SMUGGLED}`));
    assertRefused(await send(`GET /jwks.json HTTP/1.1\r\nHost: x\r\nX-A: 1\r 2\r\n\r\n${SMUGGLED}`));
    assertRefused(await send(`GET /jwks.json HTTP/1.1\nHost: x\n\n${SMUGGLED}`));
  });

  test('/token with two Authorization headers is refused before authentication (RFC 9110 §5.3)', async () => {
    const good = basic('demo-client', 'demo-secret');
    const bad = basic('demo-client', 'wrong');
    const body = 'grant_type=authorization_code&code=x&redirect_uri=http%3A%2F%2F127.0.0.1%3A9999%2Fcallback';
    for (const [a, b] of [[good, bad], [bad, good]]) {
      const r = await send('POST /token HTTP/1.1\r\nHost: x\r\n'
        + `Authorization: ${a}\r\nAuthorization: ${b}\r\n`
        + `Content-Type: application/x-www-form-urlencoded\r\nContent-Length: ${body.length}\r\n\r\n${body}`);
      assertRefused(r);
      assert.equal(errorOf(r).error, 'invalid_request');
      assert.match(errorOf(r).error_description, /repeated Authorization/);
    }
  });

  test('Transfer-Encoding with Content-Length, or not ending in chunked: refused (RFC 9112 §6.1)', async () => {
    assertRefused(await send('POST /token HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n'
      + `Content-Length: 5\r\n\r\n0\r\n\r\n${SMUGGLED}`));
    assertRefused(await send(`POST /token HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n${SMUGGLED}`));
    assertRefused(await send('POST /token HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n'
      + `0\r\n\r\n${SMUGGLED}`), 501);
  });

  test('a chunked body alone is read (RFC 9112 §7.1)', async () => {
    const form = 'grant_type=nonsense';
    const r = await send('POST /token HTTP/1.1\r\nHost: x\r\nConnection: close\r\n'
      + 'Content-Type: application/x-www-form-urlencoded\r\nTransfer-Encoding: chunked\r\n\r\n'
      + `${form.length.toString(16)}\r\n${form}\r\n0\r\n\r\n`);
    assert.deepEqual(r.statuses, [400]);
    assert.equal(errorOf(r).error, 'unsupported_grant_type');
  });

  test('HEAD with a body: 400, the body never runs as a request (RFC 9112 §6.3)', async () => {
    assertRefused(await send(`HEAD /jwks.json HTTP/1.1\r\nHost: x\r\nContent-Length: ${SMUGGLED.length}\r\n\r\n${SMUGGLED}`));
  });

  test('pipelined requests are each answered, in order (RFC 9112 §9.3.2)', async () => {
    const r = await send('GET /jwks.json HTTP/1.1\r\nHost: x\r\n\r\n'
      + 'GET /nothing-here HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    assert.deepEqual(r.statuses, [200, 404]);
  });
});

describe('connection limits (http.requestReadTimeout, http.maxConnections)', () => {
  let server;
  before(async () => {
    server = await startServer({
      env: { TESSERA_HTTP_REQUEST_READ_TIMEOUT: '1000', TESSERA_HTTP_MAX_CONNECTIONS: '2' },
    });
  });
  after(async () => { await stopAll(server); });

  test('a head sent a byte at a time is cut off by the read deadline (RFC 9112 §9.5)', async () => {
    const head = `GET /jwks.json HTTP/1.1\r\nHost: x\r\nX-Pad: ${'a'.repeat(200)}\r\n\r\n`;
    const r = await rawExchange(server.port, [...head], { gapMs: 20, timeout: 15000 });
    assert.deepEqual(r.statuses, [], 'no answer');
    assert.ok(r.sent < head.length / 2, `closed after ${r.sent} of ${head.length} bytes`);
  });

  test('at http.maxConnections a new connection is served only once one closes', async () => {
    // Two silent connections fill the cap; the read deadline closes them.
    const closed = [];
    const silent = [0, 1].map(() => new Promise((resolve) => {
      const s = connect(server.port, '127.0.0.1');
      const t = setTimeout(() => s.destroy(), 5000);
      s.on('error', () => {});
      s.on('close', () => { clearTimeout(t); closed.push(Date.now()); resolve(); });
    }));
    await new Promise((r) => setTimeout(r, 100));
    const r = await rawExchange(server.port,
      ['GET /jwks.json HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'], { timeout: 10000 });
    const answeredAt = Date.now();
    await Promise.all(silent);
    assert.deepEqual(r.statuses, [200]);
    assert.ok(closed.length > 0 && Math.min(...closed) <= answeredAt,
      'the third connection was served before any of the first two closed');
  });
});
