// Socket.IO end to end through the engine and the CLI, against a real, unmodified socket.io
// Server started here (not the embedded target): the server counts the application events it
// received and sent, and the report must agree with it exactly.

import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Socket } from 'socket.io';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { runScenario } from '../../src/engine/coordinator.js';
import type { ComparisonJson } from '../../src/report/comparison.js';
import type { CounterJson, ReportJson, TrendJson } from '../../src/report/types.js';
import { runCli, tempDir } from '../helpers/cli.js';
import { startSocketIoServer, type TestSocketIoServer } from '../socketio/helpers.js';

const count = (r: ReportJson, k: string): number => (r.metrics[k] as CounterJson | undefined)?.count ?? 0;

let server: TestSocketIoServer;
/** Application events as the server saw them: received from clients, emitted, acks sent. */
const seen = { received: 0, emitted: 0, acks: 0, transports: new Set<string>() };

beforeAll(async () => {
  server = await startSocketIoServer();
  server.io.use((socket, next) => {
    const auth = socket.handshake.auth as { token?: string };
    if (auth.token === 'full') next(new Error('room is full'));
    else next();
  });
  server.io.on('connection', (socket: Socket) => {
    seen.transports.add(socket.conn.transport.name);
    socket.onAny(() => seen.received++);
    socket.onAnyOutgoing(() => seen.emitted++);
    socket.on('join', (data: { room: string }, ack: (v: unknown) => void) => {
      void socket.join(data.room);
      seen.acks++;
      ack({ room: data.room });
    });
    socket.on('chat', (data: { text: string }, ack: (v: unknown) => void) => {
      seen.acks++;
      ack({ ok: true });
      socket.emit('chat', { text: data.text });
      // A server push carrying its send time, read by the scenario's latencyFrom.
      socket.emit('tick', { sentAt: Date.now() });
    });
  });
});
afterAll(() => server.close());
beforeEach(() => {
  seen.received = 0;
  seen.emitted = 0;
  seen.acks = 0;
  seen.transports.clear();
});

const CONNECTIONS = 4;
const CHATS = 5;

function chatScenario(target: string): string {
  return `
name: sio-e2e
target: ${target}
transport: socket.io
load: {connections: ${CONNECTIONS}}
steps:
  - emit: {event: join, data: {room: lobby}, ack: true, timeout: 5s}
    name: join
  - loop:
      count: ${CHATS}
      steps:
        - emit: {event: chat, data: {text: "hi \${iter} from \${vu}"}, ack: true, timeout: 5s}
          expect: {event: chat, json: {text: "hi \${iter} from \${vu}"}, timeout: 5s}
          name: chat
        - expect: {event: tick, latencyFrom: $.sentAt, timeout: 5s}
          name: tick
  - close: {code: 1000}
`;
}

describe.each([
  { transport: 'socket.io' as const, engine: 'websocket' },
  { transport: 'socket.io/polling' as const, engine: 'polling' },
])('a Socket.IO chat scenario over $engine', ({ transport, engine }) => {
  it('accounts for every application event the server counted', async () => {
    const { report } = await runScenario({
      file: '<inline>',
      source: chatScenario(server.url),
      overrides: { transport },
      workers: 1,
    });
    expect(count(report, 'errors'), JSON.stringify(report.errors)).toBe(0);
    expect(report.transport).toBe(transport);
    expect([...seen.transports]).toEqual([engine]);
    // Per session: join + 5 chats sent; the join ack, 5 chat acks, 5 chats and 5 ticks received.
    expect(seen.received).toBe(CONNECTIONS * (1 + CHATS));
    expect(seen.acks + seen.emitted).toBe(CONNECTIONS * (1 + 3 * CHATS));
    expect(count(report, 'frames_sent')).toBe(seen.received);
    expect(count(report, 'frames_received')).toBe(seen.acks + seen.emitted);
    expect(count(report, 'frames_skipped')).toBe(0);
    expect((report.metrics['latency{name:join}'] as TrendJson).count).toBe(CONNECTIONS);
    expect((report.metrics['latency{name:chat}'] as TrendJson).count).toBe(CONNECTIONS * CHATS);
    const tick = report.metrics['latency{name:tick}'] as TrendJson;
    expect(tick.count).toBe(CONNECTIONS * CHATS);
    expect(tick.min).toBeGreaterThanOrEqual(0);
    expect(count(report, 'sessions_completed')).toBe(CONNECTIONS);
    expect(count(report, 'bytes_sent')).toBeGreaterThan(0);
  });
});

describe('a Socket.IO connect_error', () => {
  it('is counted as handshake_rejected with the server reason in errors[].first', async () => {
    const source = `
name: sio-refused
target: ${server.url}
transport: socket.io
socketio: {auth: {token: full}}
load: {connections: 2}
steps:
  - emit: {event: join, data: {room: lobby}, ack: true}
`;
    const result = await runScenario({ file: '<inline>', source, workers: 1 });
    const { report } = result;
    expect(count(report, 'errors{kind:handshake_rejected}')).toBe(2);
    const entry = report.errors.find((e) => e.kind === 'handshake_rejected');
    expect(entry?.first).toMatch(/rejected: room is full/);
    expect(result.noConnection).toBe(true);
    expect(seen.received).toBe(0);
  });
});

describe('volley run --transport socket.io --transport socket.io/polling', () => {
  it('writes comparison.json with bytes per message for each, polling costing more', async () => {
    const dir = tempDir();
    const file = path.join(dir, 's.yaml');
    writeFileSync(file, chatScenario(server.url));
    const out = path.join(dir, 'out');
    const r = await runCli(['run', file, '--transport', 'socket.io', '--transport', 'socket.io/polling', '--out', out, '--quiet', '--workers', '1'], {
      timeoutMs: 40_000,
    });
    expect(r.code, r.stderr).toBe(0);
    const cmp = JSON.parse(readFileSync(path.join(out, 'comparison.json'), 'utf8')) as ComparisonJson;
    expect(cmp.transports.map((t) => t.transport)).toEqual(['socket.io', 'socket.io/polling']);
    const perSession = 1 + CHATS + 1 + 3 * CHATS;
    for (const t of cmp.transports) {
      expect(t.messages).toBe(CONNECTIONS * perSession);
      expect(t.bytesPerMessage).toBeCloseTo((t.bytesSent + t.bytesReceived) / t.messages, 1);
    }
    const [ws, polling] = cmp.transports as [ComparisonJson['transports'][0], ComparisonJson['transports'][0]];
    // Polling pays HTTP request and response headers per batch; websocket only frames.
    expect(polling.bytesPerMessage!).toBeGreaterThan(ws.bytesPerMessage! * 2);
    for (const name of ['socket.io', 'socket.io/polling']) {
      // Each transport's own report sits in a folder named after it, '/' made '-' so
      // socket.io/polling does not nest inside socket.io/.
      const rep = JSON.parse(readFileSync(path.join(out, name.replace('/', '-'), 'report.json'), 'utf8')) as ReportJson;
      expect(rep.transport).toBe(name);
      expect(count(rep, 'errors')).toBe(0);
    }
  }, 45_000);
});

