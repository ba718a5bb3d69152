import { afterEach, describe, expect, it } from 'vitest';
import { startTarget, type RunningTarget } from '../../src/targets/index.js';
import { LpClient, WsClient, waitFor } from './helpers.js';

let target: RunningTarget | undefined;
afterEach(async () => {
  await target?.close();
  target = undefined;
});

const join = (room: string, user: string): string => JSON.stringify({ type: 'join', room, user });
const say = (text: string, sentAt?: number): string => JSON.stringify({ type: 'say', text, sentAt });

/** A chat member over either transport, with the same few verbs. */
interface Member {
  send(frame: string): Promise<void>;
  /** The first n frames received, parsed. */
  received(n: number): Promise<Record<string, unknown>[]>;
  done(): Promise<void>;
}

async function wsMember(t: RunningTarget): Promise<Member> {
  const c = await WsClient.open(t.url);
  return {
    send: async (f) => c.send(f),
    received: async (n) => (await c.next(n)).map((f) => JSON.parse(String(f)) as Record<string, unknown>),
    done: () => c.close(),
  };
}

function lpMember(t: RunningTarget): Member {
  const c = new LpClient(t.longPollUrl);
  return {
    send: async (f) => {
      const status = await c.send(f);
      if (status !== 204) throw new Error(`send answered ${status}`);
    },
    received: async (n) => (await c.pollUntil(n)).map((f) => JSON.parse(String(f)) as Record<string, unknown>),
    done: async () => {
      await c.request('POST', 'close');
      await c.destroy();
    },
  };
}

describe.each([
  ['WebSocket members', ['ws', 'ws', 'ws']],
  ['long-poll members', ['lp', 'lp', 'lp']],
  ['a WebSocket member and long-poll members in one room', ['ws', 'lp', 'lp']],
  ['long-poll and WebSocket members in one room', ['lp', 'ws', 'ws']],
] as const)('chat with %s', (_title, kinds) => {
  it('answers each join with the room size and a session id, and broadcasts a say to everyone, sender included', async () => {
    target = await startTarget('chat', { pollTimeoutMs: 2000 });
    const t = target;
    const members: Member[] = [];
    for (const k of kinds) members.push(k === 'ws' ? await wsMember(t) : lpMember(t));

    // Join one at a time so each joiner's member count is known.
    const sessionIds = new Set<unknown>();
    for (let i = 0; i < members.length; i++) {
      await members[i]!.send(join('lobby', `u${i}`));
      const [joined] = await members[i]!.received(1);
      expect(joined).toMatchObject({ type: 'joined', room: 'lobby', user: `u${i}`, members: i + 1 });
      expect(joined!.sessionId).toMatch(/^[0-9a-f]{16}$/);
      sessionIds.add(joined!.sessionId);
    }
    expect(sessionIds.size).toBe(members.length);

    await members[0]!.send(say('hello', 1234.5));
    for (const m of members) {
      const frames = await m.received(2);
      expect(frames[1]).toEqual({ type: 'message', room: 'lobby', user: 'u0', text: 'hello', sentAt: 1234.5 });
    }
    for (const m of members) await m.done();
  });
});

describe('chat protocol', () => {
  it('stamps a say without sentAt with the server epoch time', async () => {
    target = await startTarget('chat');
    const c = await WsClient.open(target.url);
    c.send(join('r', 'a'));
    await c.next(1);
    const before = Date.now();
    c.send(say('no stamp'));
    await c.next(2);
    const sentAt = c.json(1).sentAt as number;
    expect(sentAt).toBeGreaterThanOrEqual(before - 1);
    expect(sentAt).toBeLessThanOrEqual(Date.now() + 1);
    await c.close();
  });

  it('turns a numeric-string sentAt into a number and stamps a non-numeric one itself', async () => {
    target = await startTarget('chat');
    const c = await WsClient.open(target.url);
    c.send(join('r', 'a'));
    c.send(JSON.stringify({ type: 'say', text: 'x', sentAt: '1767225600123.25' }));
    c.send(JSON.stringify({ type: 'say', text: 'y', sentAt: 'yesterday' }));
    await c.next(3);
    expect(c.json(1).sentAt).toBe(1767225600123.25);
    expect(c.json(2).sentAt).toBeGreaterThan(1767225600123.25);
    await c.close();
  });

  it('keeps rooms apart and stops delivering to a member who left or disconnected', async () => {
    target = await startTarget('chat');
    const a = await WsClient.open(target.url);
    const b = await WsClient.open(target.url);
    const other = await WsClient.open(target.url);
    a.send(join('r1', 'a'));
    b.send(join('r1', 'b'));
    other.send(join('r2', 'o'));
    await Promise.all([a.next(1), b.next(1), other.next(1)]);

    b.send(JSON.stringify({ type: 'leave' }));
    await b.next(2);
    expect(b.json(1)).toEqual({ type: 'left', room: 'r1' });

    a.send(say('only a'));
    await a.next(2);
    expect(a.json(1)).toMatchObject({ type: 'message', text: 'only a' });

    // A fresh joiner of r1 sees one member before it (a), so b really left.
    const c = await WsClient.open(target.url);
    c.send(join('r1', 'c'));
    await c.next(1);
    expect(c.json(0)).toMatchObject({ members: 2 });
    await a.close();
    const d = await WsClient.open(target.url);
    await waitFor(() => target!.stats().openConnections === 4);
    d.send(join('r1', 'd'));
    await d.next(1);
    expect(d.json(0)).toMatchObject({ members: 2 });

    // Nothing from r1 reached r2 or the member who left.
    expect(other.frames).toHaveLength(1);
    expect(b.frames).toHaveLength(2);
    await Promise.all([b.close(), c.close(), d.close(), other.close()]);
  });

  it.each([
    ['not JSON', 'hello', /not JSON/],
    ['not an object', '[1,2]', /not a JSON object/],
    ['an unknown type', '{"type":"shout"}', /unknown type "shout"/],
    ['no type', '{"text":"x"}', /missing "type"/],
    ['a say before joining', say('x'), /join a room/],
    ['a join without a room', '{"type":"join","user":"u"}', /"room"/],
    ['a leave outside any room', '{"type":"leave"}', /not in a room/],
  ])('answers %s with an error frame and stays connected', async (_what, frame, message) => {
    target = await startTarget('chat');
    const c = await WsClient.open(target.url);
    c.send(frame);
    await c.next(1);
    expect(c.json(0)).toMatchObject({ type: 'error', message: expect.stringMatching(message) });
    c.send(join('r', 'u'));
    await c.next(2);
    expect(c.json(1)).toMatchObject({ type: 'joined' });
    await c.close();
  });

  it('answers a binary frame with an error', async () => {
    target = await startTarget('chat');
    const c = await WsClient.open(target.url);
    c.send(Buffer.from([1, 2, 3]));
    await c.next(1);
    expect(c.json(0)).toMatchObject({ type: 'error', message: expect.stringMatching(/binary/) });
    await c.close();
  });

  it('serves a demo page that joins a room', async () => {
    target = await startTarget('chat');
    const html = await (await fetch(target.httpUrl)).text();
    expect(html).toContain('volley target: chat');
    expect(html).toContain("type: 'join'");
  });
});
