import http from 'node:http';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import {
  createLongPollTransport,
  parsePollBody,
  resolveLongPollUrl,
} from '../../src/transport/longpoll.js';
import { TransportError, type CloseInfo, type InboundFrame, type Transport, type TransportOptions } from '../../src/transport/types.js';
import { generateSelfSignedCertificate } from '../../src/targets/tls.js';
import { startLongPollServer, type LongPollTestServer } from '../helpers/longpoll-server.js';

class RecordingSink {
  frames: InboundFrame[] = [];
  closes: CloseInfo[] = [];
  onFrame(frame: InboundFrame): void {
    this.frames.push(frame);
  }
  onClose(info: CloseInfo): void {
    this.closes.push(info);
  }
}

function options(lp: string, extra: Partial<TransportOptions> = {}): TransportOptions {
  return {
    url: 'ws://unused.invalid/',
    longPollUrl: lp,
    headers: {},
    subprotocols: [],
    handshakeTimeoutMs: 2000,
    perMessageDeflate: false,
    maxPayloadBytes: 1 << 20,
    ...extra,
  };
}

/** Polls `predicate` every 5 ms; fails after `timeoutMs` (a bound, not a speed assertion). */
async function waitFor(predicate: () => boolean, timeoutMs = 3000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

async function connectError(t: Transport): Promise<TransportError> {
  try {
    await t.connect();
  } catch (err) {
    expect(err).toBeInstanceOf(TransportError);
    return err as TransportError;
  }
  throw new Error('connect() resolved but was expected to fail');
}

const servers: LongPollTestServer[] = [];
const transports: Transport[] = [];
const rawServers: (net.Server | http.Server)[] = [];

async function server(opts: Parameters<typeof startLongPollServer>[0] = {}): Promise<LongPollTestServer> {
  const s = await startLongPollServer(opts);
  servers.push(s);
  return s;
}

function transport(opts: TransportOptions, sink: RecordingSink): Transport {
  const t = createLongPollTransport(opts, sink);
  transports.push(t);
  return t;
}

afterEach(async () => {
  for (const t of transports.splice(0)) t.destroy();
  await Promise.all(servers.splice(0).map((s) => s.close()));
  await Promise.all(rawServers.splice(0).map((s) => new Promise((r) => s.close(r))));
});

describe('long-poll transport against a convention server', () => {
  it('connects, sends a text and a binary frame, and receives their echoes in order', async () => {
    const srv = await server();
    const sink = new RecordingSink();
    const t = transport(options(srv.url), sink);
    await t.connect();
    expect(t.isOpen).toBe(true);
    t.send('héllo', false);
    t.send(new Uint8Array([0, 1, 2, 255]), true);
    await waitFor(() => sink.frames.length === 2, 3000, 'two echoes');
    expect(sink.frames[0]).toMatchObject({ text: 'héllo', bytes: undefined });
    expect(sink.frames[1]!.text).toBeUndefined();
    expect([...sink.frames[1]!.bytes!]).toEqual([0, 1, 2, 255]);
    for (const f of sink.frames) expect(f.arrivedAtMs).toBeLessThanOrEqual(performance.now());
    expect(srv.stats.contentTypes).toEqual(['text/plain; charset=utf-8', 'application/octet-stream']);
    expect(srv.stats.sessions).toHaveLength(1);
    expect(srv.stats.sessions[0]).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });

  it('keeps 300 quick sends in order, reports queued bytes, and accounts for every frame', async () => {
    const srv = await server();
    const sink = new RecordingSink();
    const t = transport(options(srv.url), sink);
    await t.connect();
    const count = 300;
    for (let i = 0; i < count; i++) t.send(`m${i}`, false);
    // Only one POST is in flight at a time; the rest wait in the queue.
    expect(t.bufferedAmount).toBeGreaterThan(0);
    await waitFor(() => sink.frames.length === count, 10_000, `${count} echoes`);
    expect(sink.frames.map((f) => f.text)).toEqual(Array.from({ length: count }, (_, i) => `m${i}`));
    expect(t.bufferedAmount).toBe(0);
    expect(srv.stats.framesReceived).toBe(count);
    expect(srv.stats.framesSent).toBe(count);
  });

  it('polls again after a 204 poll timeout and still receives data', async () => {
    const srv = await server({ pollTimeoutMs: 30 });
    const sink = new RecordingSink();
    const t = transport(options(srv.url), sink);
    await t.connect();
    await waitFor(() => srv.stats.emptyPolls >= 4, 3000, 'several empty polls');
    t.send('after the quiet', false);
    await waitFor(() => sink.frames.length === 1, 3000, 'the echo');
    expect(sink.frames[0]!.text).toBe('after the quiet');
    expect(sink.closes).toEqual([]);
  });

  it('opens against a server that holds even the first poll, by probing with a ping', async () => {
    const srv = await server({ answerFirstPollAtOnce: false, pollTimeoutMs: 20_000 });
    const sink = new RecordingSink();
    const t = transport(options(srv.url, { handshakeTimeoutMs: 3000 }), sink);
    await t.connect();
    expect(srv.stats.pings).toBe(1);
    expect(srv.stats.emptyPolls).toBe(0);
    t.send('x', false);
    await waitFor(() => sink.frames.length === 1, 3000, 'the echo');
  });

  it('opens against a server with only the send and poll endpoints (the probe gets 404), and closes from it', async () => {
    const srv = await server({ answerFirstPollAtOnce: false, pollTimeoutMs: 20_000, onlySendAndPoll: true });
    const sink = new RecordingSink();
    const t = transport(options(srv.url, { handshakeTimeoutMs: 3000 }), sink);
    await t.connect();
    expect(srv.stats.pings).toBe(1);
    t.send('only two endpoints', false);
    await waitFor(() => sink.frames.length === 1, 3000, 'the echo');
    expect(sink.frames[0]!.text).toBe('only two endpoints');
    await t.close(1000, '');
    expect(sink.closes.map((c) => c.code)).toEqual([1000]);
  });

  it('measures a ping as an HTTP round trip', async () => {
    const srv = await server();
    const t = transport(options(srv.url), new RecordingSink());
    await t.connect();
    const rttMs = await t.ping(2000);
    expect(rttMs).toBeGreaterThan(0);
    expect(srv.stats.pings).toBe(1);
  });

  it('closes politely: the server sees /close, the sink gets 1000 from the client, sends then fail', async () => {
    const srv = await server();
    const sink = new RecordingSink();
    const t = transport(options(srv.url), sink);
    await t.connect();
    t.send('last words', false);
    await t.close(1000, 'done');
    // The queued send went out before the close request.
    expect(srv.stats.framesReceived).toBe(1);
    expect(srv.stats.closes).toBe(1);
    expect(sink.closes).toEqual([{ code: 1000, reason: 'done', initiatedByClient: true }]);
    expect(t.isOpen).toBe(false);
    expect(() => t.send('late', false)).toThrow(TransportError);
    await srv.socketsClosed(3000);
    await t.close(1000, 'again'); // idempotent
    expect(sink.closes).toHaveLength(1);
  });

  it('reports closed_by_server when the server ends the session (410 on the held poll)', async () => {
    const srv = await server();
    const sink = new RecordingSink();
    const t = transport(options(srv.url), sink);
    await t.connect();
    await waitFor(() => srv.stats.heldPolls === 1, 3000, 'a held poll');
    srv.endSession(srv.stats.sessions[0]!);
    await waitFor(() => sink.closes.length === 1, 3000, 'the close');
    expect(sink.closes[0]).toMatchObject({ initiatedByClient: false, errorKind: 'closed_by_server' });
    expect(t.isOpen).toBe(false);
  });
});

describe('long-poll over keep-alive sockets the server closed', () => {
  it('retries a poll and a send once on a fresh connection, losing and duplicating nothing', async () => {
    // Every connection serves one request; a second request on it finds the socket closed, as
    // when a server's keep-alive timeout closed an idle socket just as the client reused it.
    const served = new WeakMap<net.Socket, number>();
    const sends: string[] = [];
    let polls = 0;
    let connections = 0;
    const stale = http.createServer((req, res) => {
      const n = (served.get(req.socket) ?? 0) + 1;
      served.set(req.socket, n);
      if (n > 1) {
        req.socket.destroy();
        return;
      }
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        if (req.url!.startsWith('/lp/send')) {
          sends.push(Buffer.concat(chunks).toString());
          res.writeHead(204).end();
        } else if (req.url!.startsWith('/lp/poll') && ++polls === 1) {
          res.writeHead(204).end(); // the session-creating poll; later polls are held
        }
      });
    });
    stale.on('connection', () => connections++);
    rawServers.push(stale);
    await new Promise<void>((r) => stale.listen(0, '127.0.0.1', r));
    const port = (stale.address() as net.AddressInfo).port;
    const sink = new RecordingSink();
    const t = transport(options(`http://127.0.0.1:${port}/lp`), sink);
    await t.connect();
    await waitFor(() => polls === 2, 3000, 'the retried poll');
    t.send('one', false);
    t.send('two', false);
    await waitFor(() => sends.length === 2 && t.bufferedAmount === 0, 3000, 'both sends');
    expect(sends).toEqual(['one', 'two']);
    expect(sink.closes).toEqual([]);
    expect(t.isOpen).toBe(true);
    // poll#1 (A), poll#2 killed on A then retried (B), send one (C), send two killed on C then retried (D).
    expect(connections).toBe(4);
    t.destroy();
    stale.closeAllConnections();
  });
});

describe('long-poll connect failures', () => {
  it('rejects with connect_refused on a closed port', async () => {
    const probe = net.createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    const port = (probe.address() as net.AddressInfo).port;
    await new Promise((r) => probe.close(r));
    const err = await connectError(transport(options(`http://127.0.0.1:${port}/lp`), new RecordingSink()));
    expect(err.kind).toBe('connect_refused');
  });

  it('rejects with handshake_rejected and the status when the server answers 500', async () => {
    const srv = await server({ rejectStatus: 500 });
    const err = await connectError(transport(options(srv.url), new RecordingSink()));
    expect(err.kind).toBe('handshake_rejected');
    expect(err.message).toContain('500');
  });

  it('rejects with connect_timeout when the server accepts but never answers', async () => {
    const silent = net.createServer((socket) => socket.resume());
    rawServers.push(silent);
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const port = (silent.address() as net.AddressInfo).port;
    const err = await connectError(transport(options(`http://127.0.0.1:${port}/lp`, { handshakeTimeoutMs: 300 }), new RecordingSink()));
    expect(err.kind).toBe('connect_timeout');
  });

  it('rejects with reset when the server drops the connection on the request', async () => {
    const rude = net.createServer((socket) => socket.once('data', () => socket.resetAndDestroy()));
    rawServers.push(rude);
    await new Promise<void>((r) => rude.listen(0, '127.0.0.1', r));
    const port = (rude.address() as net.AddressInfo).port;
    const err = await connectError(transport(options(`http://127.0.0.1:${port}/lp`), new RecordingSink()));
    expect(err.kind).toBe('reset');
  });

  it('rejects with tls when the certificate is not trusted', async () => {
    const pair = generateSelfSignedCertificate();
    const srv = await server({ tls: pair });
    const err = await connectError(
      transport(options(srv.url, { tls: { rejectUnauthorized: true } }), new RecordingSink()),
    );
    expect(err.kind).toBe('tls');
  });
});

describe('long-poll bytes on the wire', () => {
  // Both sides count their TCP sockets: the client's totals must equal what the server's sockets
  // read and wrote, headers, framing and (for https) TLS records included.
  for (const secure of [false, true]) {
    it(`equal the server's socket counts in both directions (${secure ? 'https' : 'http'})`, async () => {
      const pair = secure ? generateSelfSignedCertificate() : undefined;
      const srv = await server(pair ? { tls: pair } : {});
      const sink = new RecordingSink();
      const tls = pair ? { ca: Buffer.from(pair.cert), rejectUnauthorized: true } : undefined;
      const t = transport(options(srv.url, { tls }), sink);
      await t.connect();
      for (let i = 0; i < 20; i++) t.send(i % 2 === 0 ? `text ${i}` : new Uint8Array([i, i, i]), i % 2 === 1);
      await waitFor(() => sink.frames.length === 20, 5000, '20 echoes');
      await t.ping(2000);

      // A quiet moment (poll held, nothing else in flight): live sockets must already add up.
      await waitFor(() => srv.stats.heldPolls === 1 && t.bytesSent === srv.bytesRead(), 3000, 'a quiet moment');
      expect(t.bytesReceived).toBe(srv.bytesWritten());
      const payloadBytes = 10 * 'text 0'.length + 10 * 3;
      expect(t.bytesSent).toBeGreaterThan(payloadBytes + 20 * 60); // every POST carries a request line and headers

      await t.close(1000, '');
      await srv.socketsClosed(3000);
      expect(t.bytesSent).toBe(srv.bytesRead());
      if (secure) {
        // After the client drops its two sockets, the https server still answers each with a
        // TLS close_notify alert (24 bytes) that the client never reads.
        expect(srv.bytesWritten() - t.bytesReceived).toBeGreaterThanOrEqual(0);
        expect(srv.bytesWritten() - t.bytesReceived).toBeLessThanOrEqual(2 * 24);
      } else {
        expect(t.bytesReceived).toBe(srv.bytesWritten());
      }
      expect(srv.stats.framesReceived).toBe(20);
      expect(srv.stats.framesSent).toBe(20);
    });
  }
});

describe('long-poll URL and body parsing', () => {
  it.each([
    ['ws://h:9/chat?t=1', undefined, 'http://h:9/lp?t=1'],
    ['wss://h/chat', undefined, 'https://h/lp'],
    ['http://h:8080/x', undefined, 'http://h:8080/lp'],
    ['ws://h/', 'https://other:1/custom/lp', 'https://other:1/custom/lp'],
  ])('target %s with longPollUrl %s gives {lp} = %s', (url, longPollUrl, expected) => {
    expect(resolveLongPollUrl({ url, longPollUrl }).href).toBe(expected);
  });

  it('rejects a URL that is not http(s) or ws(s) with setup_failed', async () => {
    expect(() => resolveLongPollUrl({ url: 'ftp://h/' })).toThrow(TransportError);
    const err = await connectError(transport(options('ftp://h/lp'), new RecordingSink()));
    expect(err.kind).toBe('setup_failed');
  });

  it('parses strings as text frames and base64 objects as binary, stamping each', () => {
    const frames = parsePollBody(Buffer.from('["a",{"base64":"AAH/"},"{\\"k\\":1}"]'), 42);
    expect(frames).toEqual([
      { text: 'a', bytes: undefined, arrivedAtMs: 42 },
      { text: undefined, bytes: Buffer.from([0, 1, 255]), arrivedAtMs: 42 },
      { text: '{"k":1}', bytes: undefined, arrivedAtMs: 42 },
    ]);
  });

  it('takes the other base64 object keys, and JSON values that are not strings as JSON text frames', () => {
    const frames = parsePollBody(Buffer.from('[{"binary":"AAH/"},{"b64":"AQ=="},{"type":"chat","n":2},7,{"base64":"AA==","x":1}]'), 5);
    expect(typeof frames).not.toBe('string');
    const f = frames as ReturnType<typeof parsePollBody> & unknown[];
    expect(f).toHaveLength(5);
    expect(f[0]).toEqual({ text: undefined, bytes: Buffer.from([0, 1, 255]), arrivedAtMs: 5 });
    expect(f[1]).toEqual({ text: undefined, bytes: Buffer.from([1]), arrivedAtMs: 5 });
    // A message sent as an object is a text frame with its JSON, already parsed for matchers.
    expect(f[2]).toEqual({ text: '{"type":"chat","n":2}', bytes: undefined, arrivedAtMs: 5, jsonState: 1, json: { type: 'chat', n: 2 } });
    expect(f[3]).toMatchObject({ text: '7', json: 7 });
    // Two keys: a JSON message that happens to have a base64 field, not a binary frame.
    expect(f[4]).toMatchObject({ text: '{"base64":"AA==","x":1}', bytes: undefined });
  });

  it.each([['not json'], ['{"a":1}'], ['"one"']])('reports %s as malformed (not an array: its frames cannot be counted)', (body) => {
    expect(typeof parsePollBody(Buffer.from(body), 0)).toBe('string');
  });
});
