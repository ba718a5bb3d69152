import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import type { ObservedFlow, ObservedFrame } from '../../src/record/flows.js';
import { generateScenario } from '../../src/record/generate.js';
import { importHar } from '../../src/record/import.js';

const fixture = (name: string): string => fileURLToPath(new URL(`../fixtures/har/${name}`, import.meta.url));

interface Doc {
  name: string;
  target: string;
  connect?: { headers?: Record<string, string>; subprotocols?: string[]; query?: Record<string, string> };
  load: Record<string, unknown>;
  steps: Record<string, unknown>[];
  thresholds?: Record<string, string[]>;
}
const doc = (yaml: string): Doc => parse(yaml) as Doc;
/** The YAML with wrapped comments joined into one line each, for matching their sentences. */
const flat = (yaml: string): string => yaml.replace(/\n *# (?!  - expect:)/g, ' ');

const SECRETS = [
  'cookie-secret-value-123',
  'eyJhbGciOiJIUzI1NiJ9',
  'c2lnbmF0dXJlLXNlY3JldC1kb250LWxlYWs',
  'apikey-secret-value-456',
  'query-secret-value-789',
  'hmr-secret-token-value',
];

describe('generateScenario from the Chrome chat export', () => {
  const generated = importHar(fixture('chrome-chat.har'), { timing: 'keep' });
  const d = doc(generated.yaml);

  it('never writes a credential, not even in comments or the commented-out alternative', () => {
    for (const secret of SECRETS) expect(generated.yaml).not.toContain(secret);
  });

  it('turns Authorization, Cookie, secret-looking headers and query parameters into env placeholders', () => {
    expect(generated.envVars).toEqual(['ACCESS_TOKEN', 'AUTH_TOKEN', 'COOKIE', 'X_API_KEY']);
    expect(d.target).toBe('ws://127.0.0.1:9001/chat?room=lobby');
    expect(d.connect?.query).toEqual({ access_token: '${env.ACCESS_TOKEN}' });
    expect(d.connect?.headers).toEqual({
      Origin: 'http://127.0.0.1:9001',
      Cookie: '${env.COOKIE}',
      Authorization: 'Bearer ${env.AUTH_TOKEN}',
      'X-Api-Key': '${env.X_API_KEY}',
      'X-Client-Version': '4.2.0',
    });
    expect(d.connect?.subprotocols).toEqual(['chat.v1', 'chat.v2']);
    expect(generated.yaml).toContain('#   export ACCESS_TOKEN=… AUTH_TOKEN=… COOKIE=… X_API_KEY=…');
  });

  it('replays one session once and says how to scale it', () => {
    expect(d.load).toEqual({ model: 'connections', connections: 1, iterations: 1 });
    expect(generated.yaml).toMatch(/--connections N --duration 60s/);
  });

  it('captures the session id from the welcome frame and reuses it where the client sent it back', () => {
    expect(d.steps[0]).toEqual({ expect: { json: { type: 'welcome', motd: 'be nice' }, capture: { sessionId: '$.sessionId' } }, name: 'welcome' });
    expect(d.steps[1]).toEqual({
      send: { json: { type: 'join', room: 'lobby', user: 'alice', sessionId: '${sessionId}' } },
      // users (a count), at (a date) and member.since (epoch seconds) vary between runs
      expect: { json: { type: 'joined', room: 'lobby', member: { name: 'alice', role: 'guest' } } },
      name: 'join',
    });
  });

  it('keeps recorded pauses of 50 ms or more as think steps, and text frames as text', () => {
    expect(d.steps[2]).toEqual({ think: '1219ms' });
    expect(d.steps[3]).toEqual({ send: 'hello everyone', expect: { text: 'hello everyone' }, name: 'send-2' });
    const none = doc(importHar(fixture('chrome-chat.har'), { timing: 'none' }).yaml);
    expect(none.steps.some((s) => 'think' in s)).toBe(false);
    expect(none.steps).toHaveLength(d.steps.length - 1);
  });

  it('escapes a literal ${ in recorded data so it is not read as a placeholder', () => {
    expect(d.steps[4]).toMatchObject({
      send: { json: { type: 'say', text: 'price is $${5}', sessionId: '${sessionId}' } },
      expect: { json: { type: 'said', text: 'price is $${5}', sessionId: '${sessionId}' } },
    });
  });

  it('leaves a push after the reply that shares nothing with the send as a comment, and ends with a close', () => {
    // presence (frame 7) follows said but carries nothing of the say: awaiting it would break a
    // replay in which it comes before the reply. It is listed, ready to paste.
    expect(flat(generated.yaml)).toMatch(/frame 7 at \+1\.290s: received JSON, 44 B\. Not awaited: a push that does not follow from the send/);
    expect(generated.yaml).toContain('#   - expect: { json: { type: presence, online: [ alice, bob ] } }');
    expect(d.steps[5]).toEqual({ send: { json: { type: 'leave' } }, name: 'leave' });
    expect(d.steps[6]).toEqual({ close: { code: 1000 } });
    expect(d.steps).toHaveLength(7);
  });

  it('ends with an errors threshold, so a replay in which an expect timed out fails', () => {
    expect(d.thresholds).toEqual({ errors: ['count == 0'] });
    expect(generated.yaml).toMatch(/# Pass or fail: an expect that times out .*\n.*\n.*\nthresholds:\n  errors: \["count == 0"\]\n/);
  });

  it('says where every step came from', () => {
    expect(generated.yaml).toContain('# Generated by `volley import chrome-chat.har` from log.entries[1] in chrome-chat.har');
    expect(generated.yaml).toContain('  # frame 1 at +0.020s: sent JSON, 96 B; answered by frame 2 (0.011s later)');
    expect(generated.yaml).toContain('  # frame 7 at +1.290s: received JSON, 44 B');
  });

  it('replays the first connection and appends the other as a commented-out scenario', () => {
    expect(generated.warnings.join('\n')).toMatch(/2 WebSocket connections recorded; the scenario replays log\.entries\[1\]/);
    expect(generated.yaml).toContain('# Another connection in this recording: log.entries[2] in chrome-chat.har.');
    expect(generated.yaml).toContain('# target: ws://127.0.0.1:5173/');
    // Only one scenario is live: the alternative is entirely comments.
    expect(Object.keys(d)).toEqual(['name', 'target', 'connect', 'load', 'steps', 'thresholds']);
    const filtered = doc(importHar(fixture('chrome-chat.har'), { timing: 'keep', urlFilter: ':5173/' }).yaml);
    expect(filtered.target).toBe('ws://127.0.0.1:5173/');
    expect(filtered.connect?.query).toEqual({ token: '${env.TOKEN}' });
  });
});

describe('generateScenario, one behaviour at a time', () => {
  it('Firefox: keeps the echoed requestId so the expect waits for its own reply; drops prices and timestamps', () => {
    const g = importHar(fixture('firefox-prices.har'), { timing: 'keep' });
    const d = doc(g.yaml);
    expect(d.target).toBe('wss://chat.example.test/socket');
    expect(d.connect).toEqual({ headers: { Origin: 'https://chat.example.test' }, subprotocols: ['json'] });
    expect(d.steps[1]).toMatchObject({ expect: { json: { op: 'subscribed', channel: 'prices', requestId: 'req-0001' } } });
    expect(d.steps[2]).toEqual({ expect: { json: { op: 'price', channel: 'prices', symbol: 'ACME' } }, name: 'price' });
    expect(g.warnings.join()).toMatch(/skipped 1 control frame/);
  });

  it('out-of-order reply: the awaited frame is the third one, matched by its id; the two before it are listed, not awaited', () => {
    const g = importHar(fixture('out-of-order.har'), { timing: 'none' });
    const d = doc(g.yaml);
    expect(d.steps[0]).toEqual({
      send: { json: { jsonrpc: '2.0', id: 42, method: 'getBalance', params: { account: 'main' } } },
      expect: { json: { jsonrpc: '2.0', id: 42, result: { currency: 'EUR' } } },
      name: 'getBalance',
    });
    expect(g.yaml).toContain('# frame 0 at +0.010s: sent JSON, 75 B; answered by frame 3 (0.005s later)');
    expect(flat(g.yaml)).toMatch(/frame 1 at \+0\.012s: received JSON, 50 B\. Not awaited: it came before the reply/);
    expect(g.yaml).toContain('#   - expect: { json: { jsonrpc: "2.0", method: presence } }');
    // The tick after the reply shares only `jsonrpc: "2.0"` with the request: a version says
    // nothing about this request, so it is a push, listed and not awaited.
    expect(flat(g.yaml)).toMatch(/frame 4 at \+0\.016s: received JSON, 50 B\. Not awaited: a push that does not follow from the send/);
    expect(d.steps[1]).toEqual({ close: { code: 1000 } });
    expect(d.steps).toHaveLength(2);
  });

  it('binary frames become base64 sends and exact binary expects', () => {
    const d = doc(importHar(fixture('binary.har'), { timing: 'keep' }).yaml);
    expect(d.steps[0]).toEqual({ send: { binary: 'AQID+g==' }, expect: { binary: 'AQID+gA=' }, name: 'send-1' });
  });

  it('correlation inside text frames: the captured id is spliced into the text sent and the regex expected', () => {
    const d = doc(importHar(fixture('correlation.har'), { timing: 'none' }).yaml);
    expect(d.steps[0]).toEqual({ expect: { json: { type: 'hello' }, capture: { sid: '$.sid' } }, name: 'hello' });
    expect(d.steps[1]).toMatchObject({ send: { json: { type: 'auth', sid: '${sid}' } }, expect: { json: { type: 'ok', sid: '${sid}' } } });
    expect(d.steps[2]).toMatchObject({ send: 'echo:${sid}:hi', expect: { match: '^${sid}:hi$' } });
  });

  const T0 = 1_764_050_000_000;
  const flow = (frames: [ObservedFrame['direction'], number, string][]): ObservedFlow => ({
    url: 'ws://127.0.0.1:1/x',
    requestHeaders: {},
    subprotocols: [],
    startedAtMs: T0,
    frames: frames.map(([direction, dt, data], index) => ({ direction, timeMs: T0 + dt, opcode: 1, data, index })),
    source: 'a test flow',
  });

  it('credentials inside sent JSON become env placeholders; volatile text becomes an anchored regex', () => {
    const g = generateScenario(
      [flow([
        ['send', 5, JSON.stringify({ type: 'login', password: 'hunter2-secret', user: 'bob' })],
        ['receive', 6, 'welcome bob at 2025-11-25T06:00:00.000Z (req 0a1b2c3d4e5f60718293a4b5) $5 off'],
      ])],
      { timing: 'none', origin: 'test' },
    );
    expect(g.yaml).not.toContain('hunter2');
    expect(g.envVars).toEqual(['PASSWORD']);
    const d = doc(g.yaml);
    expect(d.steps[0]).toMatchObject({ send: { json: { type: 'login', password: '${env.PASSWORD}', user: 'bob' } } });
    const pattern = (d.steps[0]!.expect as { match: string }).match;
    expect(pattern).not.toContain('${');
    const re = new RegExp(pattern);
    expect(re.test('welcome bob at 2026-01-02T03:04:05.678Z (req ffffeeeeddddccccbbbbaaaa) $5 off')).toBe(true);
    expect(re.test('welcome eve at 2026-01-02T03:04:05.678Z (req ffffeeeeddddccccbbbbaaaa) $5 off')).toBe(false);
  });

  it('awaits frames in recorded order when a value a later send needs came before the reply', () => {
    const token = '9c1f7e2a-3b4d-4e5f-8a9b-0c1d2e3f4a5b';
    const g = generateScenario(
      [flow([
        ['send', 0, JSON.stringify({ type: 'start', id: 1 })],
        ['receive', 1, JSON.stringify({ type: 'grant', grantId: token })],
        ['receive', 2, JSON.stringify({ type: 'started', id: 1 })],
        ['send', 3, JSON.stringify({ type: 'use', grantId: token })],
      ])],
      { timing: 'none', origin: 'test' },
    );
    const d = doc(g.yaml);
    expect(d.steps[0]).toMatchObject({ expect: { json: { type: 'grant' }, capture: { grantId: '$.grantId' } } });
    expect(d.steps[1]).toMatchObject({ expect: { json: { type: 'started', id: 1 } } });
    expect(d.steps[2]).toMatchObject({ send: { json: { type: 'use', grantId: '${grantId}' } } });
    expect(g.warnings.join()).toMatch(/frame 1 carries a value used later but came before the reply to frame 0; it is awaited first, then the reply \(frame 2\)/);
    expect(g.yaml).toContain('# frame 0 at +0.000s: sent JSON, 23 B; awaits frame 1 first (it carries a value used later), then the reply, frame 2');
  });

  const steps = (frames: Parameters<typeof flow>[0]): Record<string, unknown>[] =>
    doc(generateScenario([flow(frames)], { timing: 'none', origin: 't' }).yaml).steps;
  const j = (o: unknown): string => JSON.stringify(o);

  it('the reply is the frame whose type answers the send (subscribed, ack, pong), not the first one', () => {
    expect(
      steps([
        ['send', 0, j({ type: 'subscribe', channel: 'news' })],
        ['receive', 1, j({ type: 'presence', count: 3 })],
        ['receive', 2, j({ type: 'heartbeat', at: T0 })],
        ['receive', 3, j({ type: 'subscribed', channel: 'news' })],
        ['send', 10, j({ op: 'join', room: 'r1' })],
        ['receive', 11, j({ op: 'presence' })],
        ['receive', 12, j({ op: 'ack' })],
        ['send', 20, 'ping'],
        ['receive', 21, 'tick'],
        ['receive', 22, 'pong'],
      ]),
    ).toEqual([
      { send: { json: { type: 'subscribe', channel: 'news' } }, expect: { json: { type: 'subscribed', channel: 'news' } }, name: 'subscribe' },
      { send: { json: { op: 'join', room: 'r1' } }, expect: { json: { op: 'ack' } }, name: 'join' },
      { send: 'ping', expect: { text: 'pong' }, name: 'send-3' },
      { close: { code: 1000 } },
    ]);
  });

  it('after the reply, a frame that carries a value of the send is awaited; unrelated pushes and shared session ids are not', () => {
    const sid = '9c1f7e2a-3b4d-4e5f-8a9b-0c1d2e3f4a5b';
    const g = generateScenario(
      [flow([
        ['send', 0, j({ op: 'subscribe', channel: 'prices', session: sid })],
        ['receive', 1, j({ op: 'subscribed', channel: 'prices' })],
        ['receive', 2, j({ op: 'news', headline: 'x' })],
        ['receive', 3, j({ op: 'price', channel: 'prices', symbol: 'ACME' })],
        ['receive', 4, j({ op: 'presence', session: sid })],
      ])],
      { timing: 'none', origin: 't' },
    );
    expect(doc(g.yaml).steps).toEqual([
      { send: { json: { op: 'subscribe', channel: 'prices', session: sid } }, expect: { json: { op: 'subscribed', channel: 'prices' } }, name: 'subscribe' },
      { expect: { json: { op: 'price', channel: 'prices', symbol: 'ACME' } }, name: 'price' },
      { close: { code: 1000 } },
    ]);
    expect(flat(g.yaml)).toMatch(/frame 2 at \+0\.002s: received JSON, \d+ B\. Not awaited: a push that does not follow from the send/);
    expect(g.yaml).toContain('#   - expect: { json: { op: news, headline: x } }');
    expect(flat(g.yaml)).toMatch(/frame 4 at \+0\.004s: received JSON, \d+ B\. Not awaited: a push/);
  });

  it('a periodic push (one kind of frame at regular intervals) is never awaited, not even as the first frame after a send', () => {
    const g = generateScenario(
      [flow([
        ['receive', 10, j({ type: 'welcome' })],
        ['receive', 100, j({ type: 'heartbeat', n: 1 })],
        ['send', 1050, j({ type: 'get', what: 'x' })],
        ['receive', 1100, j({ type: 'heartbeat', n: 2 })],
        ['receive', 1105, j({ type: 'data', value: 'x' })],
        ['receive', 2100, j({ type: 'heartbeat', n: 3 })],
        ['receive', 3100, j({ type: 'heartbeat', n: 4 })],
      ])],
      { timing: 'none', origin: 't' },
    );
    expect(doc(g.yaml).steps).toEqual([
      { expect: { json: { type: 'welcome' } }, name: 'welcome' },
      { send: { json: { type: 'get', what: 'x' } }, expect: { json: { type: 'data', value: 'x' } }, name: 'get' },
      { close: { code: 1000 } },
    ]);
    expect(flat(g.yaml).match(/Not awaited: a periodic push \(4 frames of this kind, about every 1\.000s\); expects skip it\./g)).toHaveLength(4);
  });

  it('frames that answer a periodic send are replies, not periodic pushes; later frames before the first send are comments', () => {
    const frames: Parameters<typeof flow>[0] = [
      ['receive', 1, j({ type: 'hello' })],
      ['receive', 2, j({ type: 'motd', text: 'hi' })],
    ];
    for (const t of [0, 1000, 2000, 3000]) frames.push(['send', 10 + t, j({ type: 'hb' })], ['receive', 12 + t, j({ type: 'beat' })]);
    const g = generateScenario([flow(frames)], { timing: 'none', origin: 't' });
    const d = doc(g.yaml);
    expect(d.steps[0]).toEqual({ expect: { json: { type: 'hello' } }, name: 'hello' });
    expect(d.steps.filter((x) => 'send' in x)).toEqual(Array(4).fill({ send: { json: { type: 'hb' } }, expect: { json: { type: 'beat' } }, name: 'hb' }));
    expect(flat(g.yaml)).toMatch(/frame 1 at \+0\.002s: received JSON, \d+ B\. Not awaited: pushed after the first frame of the connection/);
    expect(g.yaml).not.toContain('Not awaited: a periodic push');
  });

  it('a long recorded wait gets a timeout that covers it', () => {
    const d = doc(generateScenario([flow([['send', 0, 'go'], ['receive', 8000, 'done']])], { timing: 'none', origin: 't' }).yaml);
    expect(d.steps[0]).toEqual({ send: 'go', expect: { text: 'done', timeout: '16s' }, name: 'send-1' });
  });

  it('keeps credentials in the origin text (a recorder upstream URL) out of the header comment', () => {
    const g = generateScenario([flow([['send', 0, 'x']])], {
      timing: 'none',
      origin: 'volley record --upstream wss://u:pw-secret@h.test/ws?room=1&token=origin-secret-1',
      kind: 'record',
    });
    expect(g.yaml).not.toContain('origin-secret-1');
    expect(g.yaml).not.toContain('pw-secret');
    expect(g.yaml.split('\n')[0]).toBe('# Recorded by `volley record --upstream wss://h.test/ws?room=1&token=REDACTED` on 2025-11-25: a test flow');
    // A URL without credentials is written as given (no trailing slash added).
    const plain = generateScenario([flow([['send', 0, 'x']])], { timing: 'none', origin: 'volley record --upstream ws://127.0.0.1:9001', kind: 'record' });
    expect(plain.yaml.split('\n')[0]).toBe('# Recorded by `volley record --upstream ws://127.0.0.1:9001` on 2025-11-25: a test flow');
  });

  it('refuses to generate from nothing', () => {
    expect(() => generateScenario([], { timing: 'keep', origin: 't' })).toThrow(/no WebSocket connection was recorded/);
  });
});
