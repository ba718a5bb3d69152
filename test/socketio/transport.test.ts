import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSocketIoTransport } from '../../src/transport/socketio.js';
import { TransportError, type Transport } from '../../src/transport/types.js';
import {
  caught,
  RecordingSink,
  startSocketIoServer,
  transportOptions,
  TRANSPORT_SETS,
  waitFor,
  type TestSocketIoServer,
} from './helpers.js';

interface Seen {
  transport: string;
  upgradedTo?: string;
  headers: Record<string, unknown>;
  auth: unknown;
  query: Record<string, unknown>;
}

let server: TestSocketIoServer;
const seen = new Map<string, Seen>(); // by socket id

beforeAll(async () => {
  server = await startSocketIoServer();
  server.io.use((socket, next) => {
    const auth = socket.handshake.auth as { token?: string };
    if (auth.token === 'bad') next(new Error('not authorized'));
    else next();
  });
  const setup = (socket: import('socket.io').Socket): void => {
    const entry: Seen = {
      transport: socket.conn.transport.name,
      headers: socket.handshake.headers,
      auth: socket.handshake.auth,
      query: socket.handshake.query,
    };
    seen.set(socket.id, entry);
    socket.conn.on('upgrade', (t: { name: string }) => (entry.upgradedTo = t.name));
    socket.emit('welcome', { sid: socket.id });
    socket.on('echo-ack', (data: unknown, ack: (v: unknown) => void) => ack({ got: data }));
    socket.on('no-ack', () => undefined);
    socket.on('push', () => socket.emit('pushed', { n: 1 }, 'second argument'));
    socket.on('message', (data: unknown) => socket.emit('message', data));
    socket.on('bin', (data: Buffer) => socket.emit('bin', data));
    socket.on('empty', () => socket.emit('empty'));
    socket.on('kick', () => socket.disconnect(true));
  };
  server.io.on('connection', setup);
  server.io.of('/admin').on('connection', (socket) => socket.emit('welcome', { nsp: '/admin' }));
});

afterAll(() => server.close());

async function open(transports: ('websocket' | 'polling')[], extra: Parameters<typeof transportOptions>[2] = {}) {
  const sink = new RecordingSink();
  const transport = createSocketIoTransport(transportOptions(server.url, transports, extra), sink);
  await transport.connect();
  return { sink, transport };
}

describe.each(TRANSPORT_SETS)('Socket.IO over $label', ({ transports }) => {
  it('connects, and receives events with their name and first argument', async () => {
    const { sink, transport } = await open(transports);
    try {
      expect(transport.isOpen).toBe(true);
      const welcome = await sink.frame('welcome');
      expect(welcome.value).toEqual({ sid: expect.any(String) });
      expect(welcome.text).toBe(JSON.stringify(welcome.value));
      expect(welcome.jsonState).toBe(1);
      expect(welcome.bytes).toBeUndefined();
      expect(welcome.arrivedAtMs).toBeGreaterThan(0);
      const sid = (welcome.value as { sid: string }).sid;
      expect(seen.get(sid)?.transport).toBe(transports[0]);

      transport.emit!('push', [], undefined);
      const pushed = await sink.frame('pushed');
      expect(pushed.value).toEqual({ n: 1 });
    } finally {
      await transport.close(1000, 'done');
    }
  });

  it('emits with an ack and resolves with the ack arguments', async () => {
    const { transport } = await open(transports);
    try {
      const started = performance.now();
      const ackArgs = await transport.emit!('echo-ack', [{ text: 'hi 1' }], 2000);
      const latencyMs = performance.now() - started;
      expect(ackArgs).toEqual([{ got: { text: 'hi 1' } }]);
      expect(latencyMs).toBeGreaterThan(0);
      expect(latencyMs).toBeLessThan(2000);
      expect(transport.emit!('no-ack', [1], undefined)).toBeUndefined();
    } finally {
      await transport.close(1000, 'done');
    }
  });

  it('sends plain messages as a "message" event, text staying text', async () => {
    const { sink, transport } = await open(transports);
    try {
      transport.send('{"type":"hello"}', false);
      const echoed = await sink.frame('message');
      expect(echoed.value).toBe('{"type":"hello"}');
      expect(echoed.text).toBe('{"type":"hello"}');
      expect(echoed.jsonState).toBe(0);
    } finally {
      await transport.close(1000, 'done');
    }
  });

  it('carries binary payloads both ways', async () => {
    const { sink, transport } = await open(transports);
    try {
      const payload = Uint8Array.from([0, 1, 2, 250, 255]);
      transport.emit!('bin', [Buffer.from(payload)], undefined);
      const echoed = await sink.frame('bin');
      expect(echoed.bytes).toBeInstanceOf(Uint8Array);
      expect(Buffer.from(echoed.bytes!)).toEqual(Buffer.from(payload));
      expect(echoed.text).toBeUndefined();
      transport.send(payload, true);
      const viaSend = await sink.frame('message');
      expect(Buffer.from(viaSend.bytes!)).toEqual(Buffer.from(payload));
    } finally {
      await transport.close(1000, 'done');
    }
  });

  it('counts the same bytes on the wire as the server\'s sockets saw', async () => {
    await server.socketsClosed(3000); // earlier tests' sockets must not add bytes to this count
    const readBefore = server.bytesRead();
    const writtenBefore = server.bytesWritten();
    const { sink, transport } = await open(transports);
    await sink.frame('welcome');
    const sentWhileOpen = transport.bytesSent;
    expect(sentWhileOpen).toBeGreaterThan(0);
    await transport.emit!('echo-ack', [{ text: 'x'.repeat(500) }], 2000);
    // Live: the emit's bytes are visible before anything closes.
    expect(transport.bytesSent).toBeGreaterThan(sentWhileOpen + 500);
    await transport.close(1000, 'done');
    await server.socketsClosed(3000);
    expect(transport.bytesSent).toBe(server.bytesRead() - readBefore);
    expect(transport.bytesReceived).toBe(server.bytesWritten() - writtenBefore);
  });

  it('measures a ping round trip', async () => {
    const { transport } = await open(transports);
    try {
      const rttMs = await transport.ping(2000);
      expect(rttMs).toBeGreaterThan(0);
      expect(rttMs).toBeLessThan(2000);
    } finally {
      await transport.close(1000, 'done');
    }
  });

  it('reports a close it asked for, and refuses to send afterwards', async () => {
    const { sink, transport } = await open(transports);
    await transport.close(1000, 'bye');
    expect(sink.closes).toEqual([{ code: 1000, reason: 'bye', initiatedByClient: true }]);
    expect(transport.isOpen).toBe(false);
    expect(() => transport.send('late', false)).toThrow(TransportError);
    await transport.close(1000, 'again');
    expect(sink.closes).toHaveLength(1);
  });

  it('reports a server disconnect as closed_by_server with the reason', async () => {
    const { sink, transport } = await open(transports);
    transport.emit!('kick', [], undefined);
    const info = await sink.closed();
    expect(info).toMatchObject({ initiatedByClient: false, errorKind: 'closed_by_server', reason: 'io server disconnect' });
    expect(transport.isOpen).toBe(false);
    await transport.close(1000, 'done'); // harmless after the server's close
    expect(sink.closes).toHaveLength(1);
  });
});

describe('Socket.IO destroy and debug', () => {
  it('destroy() ends every socket at once and reports a client close', async () => {
    for (const { transports } of TRANSPORT_SETS) {
      const { sink, transport } = await open(transports);
      await sink.frame('welcome');
      transport.destroy();
      expect(transport.isOpen).toBe(false);
      expect(sink.closes).toEqual([{ code: 1000, reason: 'destroyed', initiatedByClient: true }]);
      await server.socketsClosed(3000);
    }
  });

  it('hands handshake and event lines to the debug callback', async () => {
    const lines: string[] = [];
    const { sink, transport } = await open(['websocket'], { debug: (line) => lines.push(line) });
    try {
      await sink.frame('welcome');
      await transport.emit!('echo-ack', [{ n: 1 }], 2000);
    } finally {
      await transport.close(1000, 'done');
    }
    // The handshake's HTTP heads come first (request, then the 101), then the connect line.
    expect(lines[0]).toMatch(/^> GET \/socket\.io\/\?EIO=4&transport=websocket HTTP\/1\.1$/);
    expect(lines).toContain('< HTTP/1.1 101 Switching Protocols');
    expect(lines.find((l) => l.startsWith('socket.io connected'))).toMatch(/^socket\.io connected to http:\/\/127\.0\.0\.1:\d+\/ \(sid .+, engine .+, websocket\)$/);
    expect(lines).toContain('< ack echo-ack {"got":{"n":1}}');
    expect(lines).toContain('> echo-ack {"n":1}');
    expect(lines.some((l) => l.startsWith('< welcome {"sid":'))).toBe(true);
    expect(lines[lines.length - 1]).toBe('socket.io disconnect: io client disconnect');
  });
});

describe('Socket.IO polling with upgrade', () => {
  it('moves to websocket once the upgrade completes', async () => {
    const { sink, transport } = await open(['polling', 'websocket']);
    try {
      const sid = ((await sink.frame('welcome')).value as { sid: string }).sid;
      await waitFor(() => seen.get(sid)?.upgradedTo === 'websocket', 3000, () => 'no upgrade');
      expect(await transport.emit!('echo-ack', ['after upgrade'], 2000)).toEqual([{ got: 'after upgrade' }]);
    } finally {
      await transport.close(1000, 'done');
    }
  });
});

describe('Socket.IO handshake options', () => {
  it('sends headers, auth and query (the URL\'s and the option\'s) on the handshake', async () => {
    for (const { transports } of TRANSPORT_SETS) {
      const { sink, transport } = await open(transports, {
        url: `${server.url}/?fromUrl=1`,
        headers: { 'x-volley': 'yes', authorization: 'Bearer t0k' },
        auth: { token: 'good', user: 'ann' },
        query: { room: 'lobby' },
      });
      try {
        const sid = ((await sink.frame('welcome')).value as { sid: string }).sid;
        const entry = seen.get(sid)!;
        expect(entry.headers['x-volley']).toBe('yes');
        expect(entry.headers['authorization']).toBe('Bearer t0k');
        expect(entry.auth).toEqual({ token: 'good', user: 'ann' });
        expect(entry.query).toMatchObject({ fromUrl: '1', room: 'lobby', EIO: '4' });
      } finally {
        await transport.close(1000, 'done');
      }
    }
  });

  it('connects to a namespace named by the option or by the URL path', async () => {
    for (const extra of [{ namespace: '/admin' }, { url: `${server.url}/admin` }]) {
      const { sink, transport } = await open(['websocket'], extra);
      try {
        expect((await sink.frame('welcome')).value).toEqual({ nsp: '/admin' });
      } finally {
        await transport.close(1000, 'done');
      }
    }
  });

  it('accepts a ws:// URL as the http twin', async () => {
    const { sink, transport } = await open(['websocket'], { url: server.url.replace('http:', 'ws:') });
    try {
      await sink.frame('welcome');
    } finally {
      await transport.close(1000, 'done');
    }
  });
});

describe('Socket.IO acks, payloads and emits', () => {
  it('rejects an ack that does not come in time with ack_timeout', async () => {
    const { transport } = await open(['websocket']);
    try {
      const err = await caught(transport.emit!('no-ack', [1], 100)!);
      expect(err).toBeInstanceOf(TransportError);
      expect(err).toMatchObject({ kind: 'ack_timeout', message: 'no ack for "no-ack" in 100ms' });
    } finally {
      await transport.close(1000, 'done');
    }
  });

  it('delivers an event without arguments as empty text', async () => {
    const { sink, transport } = await open(['websocket']);
    try {
      transport.emit!('empty', [], undefined);
      const frame = await sink.frame('empty');
      expect(frame.value).toBeUndefined();
      expect(frame.text).toBe('');
    } finally {
      await transport.close(1000, 'done');
    }
  });

  it('refuses reserved event names with send_failed', async () => {
    const { transport } = await open(['websocket']);
    try {
      expect(() => transport.emit!('disconnect', [], undefined)).toThrow(/cannot emit "disconnect"/);
    } finally {
      await transport.close(1000, 'done');
    }
  });
});

describe('Socket.IO connect failures', () => {
  for (const { label, transports } of TRANSPORT_SETS) {
    it(`classifies a middleware rejection as handshake_rejected with its reason (${label})`, async () => {
      const sink = new RecordingSink();
      const transport = createSocketIoTransport(transportOptions(server.url, transports, { auth: { token: 'bad' } }), sink);
      const err = await caught(transport.connect());
      expect(err).toBeInstanceOf(TransportError);
      expect((err as TransportError).kind).toBe('handshake_rejected');
      expect((err as TransportError).message).toContain('not authorized');
      expect(transport.isOpen).toBe(false);
      expect(sink.closes).toEqual([]);
    });

    it(`classifies a refused port as connect_refused (${label})`, async () => {
      const port = await freePort();
      const transport = createSocketIoTransport(transportOptions(`http://127.0.0.1:${port}`, transports), new RecordingSink());
      const err = await caught(transport.connect());
      expect(err).toMatchObject({ kind: 'connect_refused', message: `connection refused by http://127.0.0.1:${port}` });
    });
  }

  it('rejects a target that is not an http(s) or ws(s) URL from connect(), not the factory', async () => {
    const transport = createSocketIoTransport(transportOptions('ftp://127.0.0.1:21', ['websocket']), new RecordingSink());
    const err = await caught(transport.connect());
    expect(err).toMatchObject({ kind: 'other', message: 'Socket.IO target must be an http(s) or ws(s) URL, got ftp://127.0.0.1:21' });
    expect(transport.isOpen).toBe(false);
  });

  it('classifies an unknown namespace as handshake_rejected', async () => {
    const transport = createSocketIoTransport(transportOptions(server.url, ['websocket'], { namespace: '/nope' }), new RecordingSink());
    const err = await caught(transport.connect());
    expect(err).toMatchObject({ kind: 'handshake_rejected', message: expect.stringContaining('Invalid namespace') });
  });

  it('classifies a server that never answers as connect_timeout', async () => {
    const silent = net.createServer(() => undefined); // accepts TCP, never speaks
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const port = (silent.address() as net.AddressInfo).port;
    try {
      for (const { transports } of TRANSPORT_SETS.slice(0, 2)) {
        const transport = createSocketIoTransport(
          transportOptions(`http://127.0.0.1:${port}`, transports, { handshakeTimeoutMs: 200 }),
          new RecordingSink(),
        );
        const err = await caught(transport.connect());
        expect(err).toMatchObject({ kind: 'connect_timeout' });
      }
    } finally {
      silent.close();
    }
  });

  it('classifies an Engine.IO refusal (allowRequest) as handshake_rejected with the HTTP status', async () => {
    const picky = await startSocketIoServer({ allowRequest: (_req, callback) => callback('go away', false) });
    try {
      for (const { transports } of TRANSPORT_SETS.slice(0, 2)) {
        const transport = createSocketIoTransport(transportOptions(picky.url, transports), new RecordingSink());
        const err = await caught(transport.connect());
        expect(err).toMatchObject({ kind: 'handshake_rejected', message: expect.stringMatching(/with HTTP 4\d\d/) });
      }
    } finally {
      await picky.close();
    }
  });
});

async function freePort(): Promise<number> {
  const probe = net.createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const port = (probe.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

export type { Transport };
