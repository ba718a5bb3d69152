// A Socket.IO connection in a HAR becomes a `transport: socket.io` scenario: a hand-written
// Chrome HAR with a custom Engine.IO path, a namespace, an auth token and a query secret, emits
// with and without ack ids, server events, acks, ping/pong and a binary event. The scenario must
// load with the project's own loader, speak events, and hold no secret.

import { rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import type { ObservedFlow, ObservedFrame } from '../../src/record/flows.js';
import { generateScenario } from '../../src/record/generate.js';
import { importHar } from '../../src/record/import.js';
import { parseSioPacket } from '../../src/record/socketio-flow.js';
import { loadScenario } from '../../src/scenario/load.js';
import type { EmitStep, ExpectStep, Scenario, Step } from '../../src/scenario/types.js';
import { tempDir } from '../helpers/cli.js';

const dir = tempDir('volley-record-socketio-');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const T0 = 1_764_050_000; // epoch seconds, as Chrome writes frame times
const AUTH_SECRET = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJlLWJ5dGVz';
const QUERY_SECRET = 'qs-7f3a9c2e1b8d4f60';
const COOKIE_SECRET = 'sess=9a8b7c6d5e4f3a2b1c0d';
const PASSWORD = 'hunter2-very-secret';

type Msg = [type: 'send' | 'receive', dt: number, data: string, opcode?: 1 | 2];

function harOf(url: string, messages: Msg[], headers: Record<string, string> = {}): string {
  return JSON.stringify({
    log: {
      version: '1.2',
      entries: [
        {
          _resourceType: 'websocket',
          startedDateTime: new Date(T0 * 1000).toISOString(),
          request: { method: 'GET', url, headers: Object.entries(headers).map(([name, value]) => ({ name, value })) },
          response: { status: 101, headers: [] },
          _webSocketMessages: messages.map(([type, dt, data, opcode]) => ({ type, time: T0 + dt, opcode: opcode ?? 1, data })),
        },
      ],
    },
  });
}

const ADMIN: Msg[] = [
  ['receive', 0.01, '0{"sid":"Qm9ndXNFbmdpbmVJZDEyMzQ1","upgrades":[],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}'],
  ['send', 0.02, `40/admin,{"token":"${AUTH_SECRET}","client":"dashboard"}`],
  ['receive', 0.03, '40/admin,{"sid":"c29ja2V0SWRCb2d1czEyMzQ"}'],
  ['receive', 0.04, '42/admin,["welcome",{"motd":"hello admins","sessionId":"c29ja2V0SWRCb2d1czEyMzQ","serverTime":1764050000040}]'],
  // emit with an ack id: the server acks it (43), and also broadcasts `joined`.
  ['send', 0.5, '42/admin,1["join",{"room":"ops","password":"' + PASSWORD + '"}]'],
  ['receive', 0.51, '42/admin,["joined",{"room":"ops","members":3,"id":"f81d4fae-7dec-11d0-a765-00a0c91e6bf6"}]'],
  ['receive', 0.52, '43/admin,1[{"ok":true,"room":"ops"}]'],
  ['receive', 1.0, '2'],
  ['send', 1.001, '3'],
  // plain emit with two arguments, answered by an event of the same name
  ['send', 1.2, '42/admin,["say",{"room":"ops","text":"deploy at 5"},"extra"]'],
  ['receive', 1.21, '42/admin,["say",{"room":"ops","text":"deploy at 5","from":"alice","at":1764050001210}]'],
  // a string argument and a text answer
  ['send', 1.4, '42/admin,2["echo","ping me"]'],
  ['receive', 1.41, '43/admin,2["ping me"]'],
  ['receive', 1.42, '42/admin,["echoed","ping me"]'],
  // a binary event with a single Buffer
  ['send', 1.6, '451-/admin,3["upload",{"_placeholder":true,"num":0}]'],
  ['send', 1.6, 'AQIDBA==', 2],
  ['receive', 1.61, '43/admin,3[{"size":4}]'],
  // a server event that asks for an ack, which the client answers: neither is reproduced as such
  ['receive', 1.7, '42/admin,9["confirm",{"q":"sure?"}]'],
  ['send', 1.71, '43/admin,9[true]'],
  // an event without arguments
  ['receive', 1.8, '42/admin,["bye"]'],
  ['send', 1.9, '41/admin,'],
];

describe('parseSioPacket', () => {
  it('reads type, attachments, namespace, ack id and payload', () => {
    expect(parseSioPacket('2["a",1]')).toEqual({ type: 2, namespace: '/', id: undefined, attachments: 0, data: ['a', 1] });
    expect(parseSioPacket('2/chat,12["a"]')).toEqual({ type: 2, namespace: '/chat', id: 12, attachments: 0, data: ['a'] });
    expect(parseSioPacket('51-/x,3["u",{"_placeholder":true,"num":0}]')).toMatchObject({ type: 5, namespace: '/x', id: 3, attachments: 1 });
    expect(parseSioPacket('0/admin,')).toEqual({ type: 0, namespace: '/admin', id: undefined, attachments: 0, data: undefined });
    expect(parseSioPacket('0{"token":"t"}')).toMatchObject({ type: 0, namespace: '/', data: { token: 't' } });
    expect(parseSioPacket('2["unterminated')).toBeUndefined();
  });
});

describe('volley import of a Socket.IO connection', () => {
  const file = path.join(dir, 'admin.har');
  writeFileSync(
    file,
    harOf(`wss://app.example.com/rt/?room=ops&apiKey=${QUERY_SECRET}&EIO=4&transport=websocket`, ADMIN, {
      Origin: 'https://app.example.com',
      Cookie: COOKIE_SECRET,
      'User-Agent': 'Mozilla/5.0',
    }),
  );
  const g = importHar(file, { timing: 'keep' });
  const loaded = loadScenario({ file: 'admin.yaml', source: g.yaml, env: Object.fromEntries(g.envVars.map((v) => [v, 'x'])) });
  const scenario = (loaded.ok ? loaded.scenario : undefined) as Scenario | undefined;
  const steps = (scenario?.steps ?? []).filter((s: Step) => s.kind !== 'think');
  const doc = parse(g.yaml) as Record<string, unknown>;

  it('loads, with the http(s) twin as target, transport socket.io and the socketio block', () => {
    expect(loaded.ok, loaded.ok ? '' : `${JSON.stringify(loaded.problems)}\n${g.yaml}`).toBe(true);
    expect(doc.target).toBe('https://app.example.com');
    expect(doc.transport).toBe('socket.io');
    const sio = doc.socketio as Record<string, unknown>;
    expect(sio.path).toBe('/rt');
    expect(sio.namespace).toBe('/admin');
    expect(sio.auth).toEqual({ token: '${env.TOKEN}', client: 'dashboard' });
    expect(sio.query).toEqual({ room: 'ops', apiKey: '${env.API_KEY}' });
    expect((doc.connect as { headers: Record<string, string> }).headers).toEqual({ Origin: 'https://app.example.com', Cookie: '${env.COOKIE}' });
    expect(scenario!.socketio).toMatchObject({ path: '/rt', namespace: '/admin' });
  });

  it('never writes a secret, and lists the env variables to set', () => {
    for (const secret of [AUTH_SECRET, QUERY_SECRET, COOKIE_SECRET, PASSWORD, 'c29ja2V0SWRCb2d1czEyMzQ']) expect(g.yaml).not.toContain(secret);
    expect(g.envVars).toEqual(['API_KEY', 'COOKIE', 'PASSWORD', 'TOKEN']);
    expect(g.yaml).toContain('export API_KEY=… COOKIE=… PASSWORD=… TOKEN=…');
  });

  it('emits the client events, with ack: true where the server acked', () => {
    const emits = steps.filter((s): s is EmitStep => s.kind === 'emit');
    expect(emits.map((e) => [e.event, e.ack])).toEqual([
      ['join', true],
      ['say', false],
      ['echo', true],
      ['upload', true],
    ]);
    expect([...emits[3]!.binary!]).toEqual([1, 2, 3, 4]);
    const steps0 = (doc.steps as Record<string, unknown>[]).filter((s) => !('think' in s));
    const emitYaml = steps0.filter((s) => 'emit' in s).map((s) => s.emit);
    expect(emitYaml[0]).toEqual({ event: 'join', data: { room: 'ops', password: '${env.PASSWORD}' }, ack: true });
    expect(emitYaml[1]).toEqual({ event: 'say', data: { room: 'ops', text: 'deploy at 5' } });
    expect(emitYaml[2]).toEqual({ event: 'echo', data: 'ping me', ack: true });
    expect(emitYaml[3]).toEqual({ event: 'upload', binary: 'AQIDBA==', ack: true });
  });

  it('server events are expects by event with a stable JSON subset; acks are not expects', () => {
    const docSteps = (doc.steps as Record<string, unknown>[]).filter((s) => !('think' in s));
    const expects = docSteps.filter((s) => 'expect' in s).map((s) => s.expect as Record<string, unknown>);
    // welcome (first before any emit), joined (answers join), say (answers say), echoed (answers echo)
    expect(expects.map((e) => e.event)).toEqual(['welcome', 'joined', 'say', 'echoed']);
    expect(expects[0]).toEqual({ event: 'welcome', json: { motd: 'hello admins' } });
    expect(expects[1]).toEqual({ event: 'joined', json: { room: 'ops' } });
    expect(expects[2]).toEqual({ event: 'say', json: { room: 'ops', text: 'deploy at 5', from: 'alice' } });
    expect(expects[3]).toEqual({ event: 'echoed', text: 'ping me' });
    // No expect waits for an ack's content or an Engine.IO packet.
    expect(g.yaml).not.toMatch(/^\s*(?:- )?(?:send|expect): .*(?:"2"|"3"|\bok: true|size)/m);
    const lone = steps.filter((s): s is ExpectStep => s.kind === 'expect');
    expect(lone.map((s) => s.expect.event)).toEqual(['welcome']);
  });

  it('says what was left out and what is lost, in comments, and converts with a note instead of a warning', () => {
    const text = g.yaml.replace(/\n\s*# /g, ' ');
    expect(text).toMatch(/Left out, since volley's Socket\.IO client speaks them itself: Engine\.IO open \(frame 0\); Socket\.IO CONNECT \(frame 1\); the answer to CONNECT \(frame 2\); Engine\.IO ping\/pong \(frames 7 and 8\)/);
    expect(text).toMatch(/only the first argument is emitted as data/);
    expect(text).toMatch(/\+1 more argument, not replayed/);
    expect(text).toMatch(/Acks the client sent to the server \(frame 18\) are not reproduced/);
    expect(text).toMatch(/frame 19 at \+1\.800s: received event "bye", no arguments\. Not awaited/);
    expect(g.notes).toEqual([`log.entries[0] in admin.har is a Socket.IO connection: converted to a transport: socket.io scenario (emit / expect {event} steps)`]);
    expect(g.warnings.join('\n')).not.toMatch(/cannot pass/);
    expect(g.warnings.join('\n')).toMatch(/the server asked the client for an ack on frame 17; volley does not answer those/);
    expect(g.yaml).not.toMatch(/WARNING/);
  });

  it('--timing keep writes the recorded pauses before emits; none drops them', () => {
    const thinks = (doc.steps as Record<string, unknown>[]).filter((s) => 'think' in s).map((s) => s.think);
    expect(thinks).toEqual(['460ms', '680ms', '190ms', '180ms']);
    const none = importHar(file, { timing: 'none' });
    expect(none.yaml).not.toMatch(/think:/);
  });
});

describe('Socket.IO recordings that are not converted', () => {
  const flowOf = (url: string, frames: [ObservedFrame['direction'], number, string][]): ObservedFlow => ({
    url,
    requestHeaders: {},
    subprotocols: [],
    startedAtMs: T0 * 1000,
    frames: frames.map(([direction, dt, data], index) => ({ direction, timeMs: T0 * 1000 + dt, opcode: 1, data, index })),
    source: 'test flow',
  });

  it('Engine.IO 3 (Socket.IO 2) keeps the raw frames and the warning', () => {
    const g = generateScenario([flowOf('ws://127.0.0.1:9/socket.io/?EIO=3&transport=websocket', [['receive', 5, '0{"sid":"abc","upgrades":[],"pingInterval":25000}'], ['receive', 6, '40'], ['send', 20, '42["chat",{"text":"hi"}]']])], {
      timing: 'none',
      origin: 'test',
    });
    expect(g.warnings.join('\n')).toMatch(/is a Socket\.IO connection .* not converted \(Engine\.IO protocol 3/);
    expect(g.yaml).toMatch(/WARNING: this is a Socket\.IO connection/);
    expect(g.yaml).not.toMatch(/^transport: socket\.io/m);
    expect(g.notes).toEqual([]);
  });

  it('a plain WebSocket whose frames start with digits is not taken for Socket.IO', () => {
    const g = generateScenario([flowOf('ws://127.0.0.1:9/chat', [['send', 6, '42'], ['receive', 9, '0{"a":1}']])], { timing: 'none', origin: 'test' });
    expect(g.yaml).not.toMatch(/socket\.io/i);
    expect(g.notes).toEqual([]);
  });

  it('a WebSocket upgraded from polling is converted, with a warning that its CONNECT and auth went over polling', () => {
    const g = generateScenario(
      [flowOf('ws://127.0.0.1:9/socket.io/?EIO=4&transport=websocket&sid=Qm9ndXNFbmdpbmVJZA12', [['send', 1, '2probe'], ['receive', 2, '3probe'], ['send', 3, '5'], ['send', 20, '42/chat,["chat",{"text":"hi"}]'], ['receive', 21, '42/chat,["chat",{"text":"hi"}]']])],
      { timing: 'none', origin: 'test' },
    );
    const doc = parse(g.yaml) as Record<string, unknown>;
    expect(doc.socketio).toEqual({ namespace: '/chat' });
    expect(g.warnings.join('\n')).toMatch(/upgraded from HTTP long-polling .* add socketio\.auth by hand/);
    expect(g.yaml.replace(/\n\s*# /g, ' ')).toMatch(/upgrade probes \(frames 0 and 1\); Engine\.IO upgrade \(frame 2\)/);
  });

  it('without EIO in the URL, an Engine.IO open packet is enough (the root namespace, default path)', () => {
    const g = generateScenario(
      [flowOf('ws://127.0.0.1:9/socket.io/', [['receive', 5, '0{"sid":"Qm9ndXNFbmdpbmVJZA12","upgrades":[],"pingInterval":25000,"pingTimeout":20000}'], ['send', 6, '40'], ['receive', 9, '40{"sid":"c29ja2V0SWRCb2d1czEy"}'], ['send', 20, '42["chat",{"text":"hi"}]'], ['receive', 21, '42["chat",{"text":"hi"}]']])],
      { timing: 'none', origin: 'test' },
    );
    const doc = parse(g.yaml) as Record<string, unknown>;
    expect(doc.target).toBe('http://127.0.0.1:9');
    expect(doc.socketio).toBeUndefined();
    expect(doc.steps).toEqual([{ emit: { event: 'chat', data: { text: 'hi' } }, expect: { event: 'chat', json: { text: 'hi' } }, name: 'chat' }, { close: { code: 1000 } }]);
  });
});
