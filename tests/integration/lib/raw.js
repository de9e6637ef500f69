// A raw HTTP/1.1 exchange over a socket, for inputs fetch() would refuse or
// rewrite (NUL bytes, malformed escapes, huge headers). Resolves with the
// status code, the headers (lower-cased names) and the body text.
import { connect } from 'node:net';

export function rawRequest(port, text, { timeout = 10000 } = {}) {
  return new Promise((resolve, reject) => {
    const sock = connect(port, '127.0.0.1');
    const chunks = [];
    const timer = setTimeout(() => { sock.destroy(); reject(new Error('raw request timed out')); }, timeout);
    sock.on('data', (d) => chunks.push(d));
    sock.on('error', (e) => {
      // The server may close after answering a request it refused (413).
      if (chunks.length === 0) { clearTimeout(timer); reject(e); }
    });
    sock.on('close', () => {
      clearTimeout(timer);
      const all = Buffer.concat(chunks).toString('latin1');
      const m = /^HTTP\/1\.[01] (\d{3})/.exec(all);
      if (!m) { reject(new Error(`no HTTP answer: ${JSON.stringify(all.slice(0, 200))}`)); return; }
      const [head, ...rest] = all.split('\r\n\r\n');
      const headers = {};
      for (const line of head.split('\r\n').slice(1)) {
        const i = line.indexOf(':');
        headers[line.slice(0, i).toLowerCase()] = line.slice(i + 1).trim();
      }
      resolve({ status: Number(m[1]), headers, body: rest.join('\r\n\r\n') });
    });
    sock.write(text);
  });
}

// Send `pieces` (strings, as latin1 bytes) on one connection, gapMs apart,
// and collect everything until the server closes it. Resolves with the
// text received, the status codes of the answers in order, how many pieces
// were sent before the close, and when (ms after connecting) it closed.
export function rawExchange(port, pieces, { gapMs = 0, timeout = 10000 } = {}) {
  return new Promise((resolve, reject) => {
    const sock = connect(port, '127.0.0.1');
    const chunks = [];
    let sent = 0;
    let start = 0;
    const timer = setTimeout(() => { sock.destroy(); reject(new Error('raw exchange timed out')); },
      timeout);
    const next = () => {
      if (sock.destroyed || sent >= pieces.length) return;
      sock.write(Buffer.from(pieces[sent++], 'latin1'));
      if (sent < pieces.length) setTimeout(next, gapMs);
    };
    sock.on('connect', () => { start = Date.now(); next(); });
    sock.on('data', (d) => chunks.push(d));
    sock.on('error', () => {}); // a reset after the answer still ends in 'close'
    sock.on('close', () => {
      clearTimeout(timer);
      const text = Buffer.concat(chunks).toString('latin1');
      const statuses = [...text.matchAll(/HTTP\/1\.[01] (\d{3}) /g)].map((m) => Number(m[1]));
      resolve({ text, statuses, sent, closedAfterMs: Date.now() - start });
    });
  });
}
