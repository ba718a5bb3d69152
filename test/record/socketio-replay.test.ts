// From a real Socket.IO session to a passing scenario: a real, unmodified socket.io v4 server
// (auth middleware, a namespace, ack handlers, room broadcasts, a fast Engine.IO heartbeat) and a
// real socket.io-client over the websocket transport, with the recording proxy (volley record's)
// between them to capture the Engine.IO frames. The frames are written as the HAR Chrome saves,
// imported with `volley import`, and the scenario is run with the library API against the same
// server: no errors, the session completes, and the server counts the same events it counted
// while recording.

import { randomUUID } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Namespace, Socket } from 'socket.io';
import { io as connectClient } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { runScenario } from '../../src/engine/coordinator.js';
import type { ObservedFlow } from '../../src/record/flows.js';
import { generateScenario } from '../../src/record/generate.js';
import { importHar } from '../../src/record/import.js';
import { startRecorder } from '../../src/record/proxy.js';
import { tempDir } from '../helpers/cli.js';
import { counter } from '../helpers/metrics.js';
import { startSocketIoServer, waitFor, type TestSocketIoServer } from '../socketio/helpers.js';

const TOKEN = 'tok-' + randomUUID();
const API_KEY = 'key-' + randomUUID();
const dir = tempDir('volley-record-sio-replay-');

/** What the server saw, per phase: events from clients, events it delivered (a broadcast once per
 *  recipient), acks it sent, connections refused by the middleware. */
interface Seen {
  received: string[];
  delivered: string[];
  acks: number;
  refused: number;
  connections: number;
}
const fresh = (): Seen => ({ received: [], delivered: [], acks: 0, refused: 0, connections: 0 });
let seen = fresh();
let server: TestSocketIoServer;

function deliver(nsp: Namespace, room: string, event: string, data: unknown): void {
  const n = nsp.adapter.rooms.get(room)?.size ?? 0;
  for (let i = 0; i < n; i++) seen.delivered.push(event);
  nsp.to(room).emit(event, data);
}

beforeAll(async () => {
  // A heartbeat every 150 ms, so the recording holds Engine.IO pings and pongs.
  server = await startSocketIoServer({ pingInterval: 150, pingTimeout: 2000 });
  const chat = server.io.of('/chat');
  chat.use((socket, next) => {
    const auth = socket.handshake.auth as { token?: string };
    if (auth.token !== TOKEN || socket.handshake.query.apiKey !== API_KEY) {
      seen.refused++;
      next(new Error('not authorized'));
    } else next();
  });
  chat.on('connection', (socket: Socket) => {
    seen.connections++;
    socket.onAny((event: string) => seen.received.push(event));
    const emit = (event: string, data: unknown): void => {
      seen.delivered.push(event);
      socket.emit(event, data);
    };
    const ack = (fn: unknown, value: unknown): void => {
      if (typeof fn !== 'function') return;
      seen.acks++;
      (fn as (v: unknown) => void)(value);
    };
    emit('welcome', { motd: 'hello', sessionId: socket.id, serverTime: Date.now() });
    socket.on('join', (data: { room: string }, fn: unknown) => {
      void socket.join(data.room);
      ack(fn, { ok: true, room: data.room, members: chat.adapter.rooms.get(data.room)?.size ?? 0 });
      deliver(chat, data.room, 'joined', { room: data.room, user: (socket.handshake.auth as { user?: string }).user, id: randomUUID() });
    });
    socket.on('say', (data: { room: string; text: string }) => {
      deliver(chat, data.room, 'said', { room: data.room, text: data.text, id: randomUUID(), at: Date.now() });
    });
    // Answers whether the client sent back the session id the welcome carried (a capture).
    socket.on('whoami', (data: { sessionId?: string }, fn: unknown) => {
      ack(fn, { ok: true });
      emit('whoami', { match: data.sessionId === socket.id, sessionId: socket.id });
    });
    socket.on('shout', (text: string) => emit('shout', text.toUpperCase()));
    socket.on('upload', (bytes: Buffer, fn: unknown) => ack(fn, { size: bytes.length }));
    // 'multi' (two arguments) is only counted.
  });
});

afterAll(async () => {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** One socket.io-client session through the recording proxy; resolves with the recorded flows. */
async function recordSession(): Promise<ObservedFlow[]> {
  const rec = await startRecorder({ upstream: `ws://127.0.0.1:${server.port}`, listen: '127.0.0.1:0' });
  try {
    const socket = connectClient(`${rec.listenUrl.replace(/^ws:/, 'http:')}/chat`, {
      transports: ['websocket'],
      auth: { token: TOKEN, user: 'alice' },
      query: { room: 'lobby', apiKey: API_KEY },
      forceNew: true,
      reconnection: false,
    });
    const got = new Map<string, unknown[]>();
    socket.onAny((event: string, ...args: unknown[]) => got.set(event, args));
    const event = async (name: string): Promise<unknown> => {
      await waitFor(() => got.has(name), 3000, () => `no ${name} event; got ${[...got.keys()].join(', ')}`);
      const v = got.get(name)![0];
      got.delete(name);
      return v;
    };
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', () => resolve());
      socket.once('connect_error', reject);
    });
    const welcome = (await event('welcome')) as { sessionId: string };
    await sleep(80);
    await socket.timeout(3000).emitWithAck('join', { room: 'lobby' });
    await event('joined');
    await sleep(60);
    socket.emit('say', { room: 'lobby', text: 'hello from the recording' });
    await event('said');
    await socket.timeout(3000).emitWithAck('whoami', { sessionId: welcome.sessionId });
    expect(await event('whoami')).toMatchObject({ match: true });
    socket.emit('multi', 'first', 'second');
    socket.emit('shout', 'hey there');
    expect(await event('shout')).toBe('HEY THERE');
    expect(await socket.timeout(3000).emitWithAck('upload', Buffer.from([1, 2, 3, 4]))).toEqual({ size: 4 });
    // Long enough for an Engine.IO ping/pong or two.
    await sleep(400);
    socket.disconnect();
    await waitFor(() => seen.received.length === 6 && server.io.of('/chat').sockets.size === 0, 3000, () => `server saw ${seen.received.join(', ')}`);
    await sleep(50);
    return rec.flows();
  } finally {
    await rec.stop();
  }
}

function harOf(flow: ObservedFlow): string {
  return JSON.stringify({
    log: {
      version: '1.2',
      creator: { name: 'WebInspector', version: '537.36' },
      entries: [
        {
          _resourceType: 'websocket',
          startedDateTime: new Date(flow.startedAtMs).toISOString(),
          time: 0,
          request: { method: 'GET', url: flow.url, httpVersion: 'HTTP/1.1', headers: Object.entries(flow.requestHeaders).map(([name, value]) => ({ name, value })) },
          response: { status: 101, statusText: 'Switching Protocols', headers: [] },
          _webSocketMessages: flow.frames.map((f) => ({ type: f.direction, time: f.timeMs / 1000, opcode: f.opcode, data: f.data })),
        },
      ],
    },
  });
}

describe('a recorded Socket.IO session, imported and replayed against the same server', () => {
  it('becomes a transport: socket.io scenario that passes, and the server counts the same events', async () => {
    const flows = await recordSession();
    const recorded = seen;
    expect(recorded.refused).toBe(0);
    expect(flows).toHaveLength(1);
    const flow = flows[0]!;
    expect(flow.url).toMatch(/\/socket\.io\/\?.*EIO=4/);
    // The recording holds what raw replay cannot pass: an open packet, CONNECT, pings, acks, binary.
    const texts = flow.frames.map((f) => f.data);
    expect(texts[0]).toMatch(/^0\{"sid":/);
    expect(texts).toContain('2');
    expect(texts.some((t) => t.startsWith('43/chat,'))).toBe(true);
    expect(flow.frames.some((f) => f.opcode === 2)).toBe(true);

    const har = path.join(dir, 'chat.har');
    writeFileSync(har, harOf(flow));
    const g = importHar(har, { timing: 'keep' });
    const yaml = g.yaml;
    // `volley record` writes the same scenario from the same frames.
    const fromRecorder = generateScenario(flows, { timing: 'keep', origin: 'volley record', kind: 'record' });
    // (Comments aside: the HAR's startedDateTime has whole milliseconds, so offsets may differ by one.)
    const uncommented = (text: string): string => text.split('\n').filter((l) => !/^\s*#/.test(l)).join('\n');
    expect(uncommented(fromRecorder.yaml)).toBe(uncommented(yaml));

    const doc = parse(yaml) as Record<string, unknown>;
    expect(doc.target).toBe(server.url);
    expect(doc.transport).toBe('socket.io');
    expect(doc.socketio).toEqual({ namespace: '/chat', auth: { token: '${env.TOKEN}', user: 'alice' }, query: { room: 'lobby', apiKey: '${env.API_KEY}' } });
    for (const secret of [TOKEN, API_KEY]) expect(yaml).not.toContain(secret);
    expect(g.envVars).toEqual(['API_KEY', 'TOKEN']);
    const steps = doc.steps as Record<string, Record<string, unknown>>[];
    const emits = steps.filter((s) => s.emit).map((s) => [s.emit!.event, s.emit!.ack ?? false]);
    expect(emits).toEqual([
      ['join', true],
      ['say', false],
      ['whoami', true],
      ['multi', false],
      ['shout', false],
      ['upload', true],
    ]);
    const expects = steps.filter((s) => s.expect).map((s) => s.expect!.event);
    expect(expects).toEqual(['welcome', 'joined', 'said', 'whoami', 'shout']);
    // The session id the welcome brought is captured and sent back.
    expect(steps.find((s) => s.expect?.event === 'welcome')!.expect!.capture).toEqual({ sessionId: '$.sessionId' });
    expect(steps.find((s) => s.emit?.event === 'whoami')!.emit!.data).toEqual({ sessionId: '${sessionId}' });
    expect(yaml).toMatch(/Engine\.IO ping\/pong \(/);
    expect(g.notes).toHaveLength(1);
    expect(g.warnings).toEqual([]);

    seen = fresh();
    const { report } = await runScenario({ file: '<inline>', source: yaml, env: { TOKEN, API_KEY }, workers: 1 });
    const replayed = seen;
    const why = `${JSON.stringify(report.errors)}\n${yaml}`;
    expect(counter(report, 'errors'), why).toBe(0);
    expect(report.errors, why).toEqual([]);
    expect(counter(report, 'sessions_completed')).toBe(1);
    expect(counter(report, 'sessions_failed')).toBe(0);
    expect(replayed.refused).toBe(0);
    expect(replayed.connections).toBe(1);
    // The same events, in the same order, as while recording.
    expect(replayed.received).toEqual(recorded.received);
    expect(replayed.delivered).toEqual(recorded.delivered);
    expect(replayed.acks).toBe(recorded.acks);
    expect(counter(report, 'frames_sent')).toBe(recorded.received.length);
    expect(counter(report, 'frames_received')).toBe(recorded.delivered.length + recorded.acks);
  }, 40_000);
});
