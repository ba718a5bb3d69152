import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSocketIoChat, type RunningSocketIoChat } from '../../src/targets/socketio-chat.js';
import { createSocketIoTransport } from '../../src/transport/socketio.js';
import type { Transport } from '../../src/transport/types.js';
import { RecordingSink, transportOptions, TRANSPORT_SETS, waitFor } from './helpers.js';

let chat: RunningSocketIoChat;
beforeAll(async () => {
  chat = await startSocketIoChat({ tickRatePerSecond: 50 });
});
afterAll(() => chat.close());

async function client(transports: ('websocket' | 'polling')[]): Promise<{ sink: RecordingSink; transport: Transport }> {
  const sink = new RecordingSink();
  const transport = createSocketIoTransport(transportOptions(chat.url, transports), sink);
  await transport.connect();
  return { sink, transport };
}

describe('builtin socketio-chat', () => {
  it('listens on an http URL with the port it reports', () => {
    expect(chat.url).toBe(`http://127.0.0.1:${chat.port}`);
  });

  it('answers a browser opening its URL (404 naming the Socket.IO path) instead of holding the request', async () => {
    const res = await fetch(`${chat.url}/`, { signal: AbortSignal.timeout(3000) });
    expect(res.status).toBe(404);
    expect(await res.text()).toMatch(/Socket\.IO at \/socket\.io/);
  });

  for (const { label, transports } of TRANSPORT_SETS) {
    it(`joins a room, broadcasts chat to it (sender included) and acks (${label})`, async () => {
      const room = `room-${label}`;
      const a = await client(transports);
      const b = await client(transports);
      const outsider = await client(transports);
      try {
        const joinA = (await a.transport.emit!('join', [{ room }], 2000))![0] as { room: string; members: number; sessionId: string };
        expect(joinA).toEqual({ room, members: 1, sessionId: expect.any(String) });
        const joinB = (await b.transport.emit!('join', [room], 2000))![0] as { members: number; sessionId: string };
        expect(joinB.members).toBe(2);
        expect(joinB.sessionId).not.toBe(joinA.sessionId);

        const ack = await a.transport.emit!('chat', [{ text: 'hi 1' }], 2000);
        expect(ack).toEqual([{ ok: true, id: expect.any(Number) }]);
        const id = (ack![0] as { id: number }).id;
        for (const member of [a, b]) {
          const got = await member.sink.frame('chat');
          expect(got.value).toEqual({ text: 'hi 1', id, from: joinA.sessionId, room });
        }
        // The outsider stayed in the lobby and sees nothing of that room.
        await outsider.transport.emit!('chat', [{ text: 'lobby only' }], 2000);
        const lobbyChats = outsider.sink.frames.filter((f) => f.event === 'chat').map((f) => (f.value as { room: string }).room);
        expect(lobbyChats).toEqual(['lobby']);
        expect(a.sink.frames.filter((f) => f.event === 'chat')).toHaveLength(1);
      } finally {
        await Promise.all([a, b, outsider].map((c) => c.transport.close(1000, 'done')));
      }
    });
  }

  it('pushes ticks with a sequence and an epoch timestamp to subscribers only', async () => {
    const subscriber = await client(['websocket']);
    const bystander = await client(['websocket']);
    try {
      expect(await subscriber.transport.emit!('subscribe', [], 2000)).toEqual([{ ok: true, rate: 50 }]);
      const first = await subscriber.sink.frame('tick');
      const tick = first.value as { seq: number; sentAt: number };
      expect(Number.isInteger(tick.seq)).toBe(true);
      expect(Math.abs(Date.now() - tick.sentAt)).toBeLessThan(5000);
      const index = subscriber.sink.frames.indexOf(first);
      const second = await subscriber.sink.frame('tick', 2000, index + 1);
      expect((second.value as { seq: number }).seq).toBeGreaterThan(tick.seq);
      expect(bystander.sink.frames.some((f) => f.event === 'tick')).toBe(false);
      await subscriber.transport.emit!('unsubscribe', [], 2000);
    } finally {
      await Promise.all([subscriber, bystander].map((c) => c.transport.close(1000, 'done')));
    }
  });

  it('echoes plain messages, text and binary, and counts what it saw', async () => {
    const before = chat.stats();
    const { sink, transport } = await client(['polling']);
    try {
      transport.send('hello', false);
      expect((await sink.frame('message')).text).toBe('hello');
      transport.send(Uint8Array.from([1, 2, 3]), true);
      await waitFor(() => sink.frames.filter((f) => f.event === 'message').length === 2, 2000, () => 'no binary echo');
      const binary = sink.frames.filter((f) => f.event === 'message')[1]!;
      expect(Array.from(binary.bytes!)).toEqual([1, 2, 3]);
      const after = chat.stats();
      expect(after.connections - before.connections).toBe(1);
      expect(after.openConnections).toBe(before.openConnections + 1);
      expect(after.eventsReceived - before.eventsReceived).toBe(2);
      expect(after.eventsSent - before.eventsSent).toBe(2);
      expect(after.bytesReceived).toBeGreaterThan(before.bytesReceived);
    } finally {
      await transport.close(1000, 'done');
    }
  });
});

describe('builtin socketio-chat close()', () => {
  it('disconnects its clients and stops listening', async () => {
    const own = await startSocketIoChat({ tickRatePerSecond: 0 });
    const sink = new RecordingSink();
    const transport = createSocketIoTransport(transportOptions(own.url, ['websocket']), sink);
    await transport.connect();
    await own.close();
    const info = await sink.closed();
    expect(info.initiatedByClient).toBe(false);
    const again = createSocketIoTransport(transportOptions(own.url, ['websocket']), new RecordingSink());
    await expect(again.connect()).rejects.toMatchObject({ kind: 'connect_refused' });
  });
});
