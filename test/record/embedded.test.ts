// Values that change per run inside longer strings (the audit's embed-json, embed-mix,
// inner-uuid and idkeys HARs), and credentials under keys of every spelling. Each HAR is built
// here with the values of one recording; each server hands out FRESH values on every connection
// and answers only what a correct replay sends, so a scenario that kept a recorded value
// literally (in a matcher or in a send) times out and exits 1. Through the real command line:
// `volley import`, then `volley run`, with the run's frame counts reconciled with the server's.

import { randomBytes, randomUUID } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import type { RawData } from 'ws';
import { tempDir } from '../helpers/cli.js';
import { startServer, toBuffer, type TestServer } from './servers.js';
import { counter, expectClean, importWithCli, runWithCli, stepTrends } from './volley.js';

const dir = tempDir('volley-record-embedded-');
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const T0 = 1_764_050_000_000;

type Frame = ['send' | 'receive', number, string];
interface Steps {
  steps: Record<string, unknown>[];
}

/** A DevTools-style HAR with one WebSocket entry; `dt` in ms after T0. */
function writeHar(name: string, url: string, frames: Frame[], headers: { name: string; value: string }[] = []): string {
  const file = path.join(dir, `${name}.har`);
  const entry = {
    _resourceType: 'websocket',
    startedDateTime: new Date(T0).toISOString(),
    request: { method: 'GET', url, headers },
    response: { status: 101, headers: [] },
    _webSocketMessages: frames.map(([type, dt, data]) => ({ type, time: (T0 + dt) / 1000, opcode: 1, data })),
  };
  writeFileSync(file, JSON.stringify({ log: { version: '1.2', entries: [entry] } }));
  return file;
}

/** Import, run against `server` at `pathname`, and check the run is clean and counts agree. */
async function importAndRun(har: string, server: TestServer, pathname: string, env: NodeJS.ProcessEnv = {}) {
  const imported = await importWithCli(har, dir);
  const run = await runWithCli(imported.file, `${server.url}${pathname}`, dir, env);
  expectClean(run);
  expect(counter(run.report, 'sessions_completed')).toBe(1);
  expect(counter(run.report, 'frames_sent')).toBe(server.received.length);
  expect(counter(run.report, 'frames_received')).toBe(server.framesSent);
  return { imported, run, steps: (parse(imported.yaml) as Steps).steps };
}

const stepNamed = (steps: Record<string, unknown>[], name: string): Record<string, unknown> => {
  const s = steps.find((x) => x.name === name);
  if (!s) throw new Error(`no step ${name} in ${JSON.stringify(steps)}`);
  return s;
};

/** The audit's server6: `create` makes a room with a fresh id (also inside `channel` and `url`);
 *  `say` must carry that id and is answered on the room's channel; `SUB /rooms/ID/feed` is
 *  answered only for that room. Anything else is refused (and the expect times out). */
function startRoomServer(): Promise<TestServer & { refused: string[] }> {
  const refused: string[] = [];
  return startServer((ws) => {
    let room: number | undefined;
    ws.on('message', (data: RawData) => {
      const t = toBuffer(data).toString('utf8');
      if (t.startsWith('SUB ')) {
        if (t === `SUB /rooms/${room}/feed`) return ws.send(t.replace('SUB', 'SUBSCRIBED'));
        refused.push(t);
        return ws.send(`NOSUCHROOM ${t.slice(4)}`);
      }
      if (t === 'STATUS') return ws.send(`STATUS room ${room} open since ${new Date().toISOString()}`);
      const m = JSON.parse(t) as { type?: string; roomId?: number; text?: string };
      if (m.type === 'create') {
        room = 10_000 + Math.floor(Math.random() * 89_999);
        return ws.send(JSON.stringify({ type: 'created', roomId: room, channel: `room:${room}`, url: `/rooms/${room}` }));
      }
      if (m.type === 'say' && m.roomId === room) return ws.send(JSON.stringify({ type: 'said', channel: `room:${m.roomId}`, text: m.text }));
      refused.push(t);
      ws.send(JSON.stringify({ type: 'error', why: `no room ${m.roomId}` }));
    });
  }).then((s) => Object.assign(s, { refused }));
}

describe.concurrent('values that change per run inside longer strings', () => {
  it('embed-json: a captured id inside another string is left out where it is captured and templated after', async () => {
    const har = writeHar('embed-json', 'ws://127.0.0.1:9/embed', [
      ['send', 100, '{"type":"create"}'],
      ['receive', 102, '{"type":"created","roomId":48213,"channel":"room:48213","url":"/rooms/48213"}'],
      ['send', 200, '{"type":"say","roomId":48213,"text":"hi"}'],
      ['receive', 202, '{"type":"said","channel":"room:48213","text":"hi"}'],
    ]);
    const server = await startRoomServer();
    try {
      const { imported, steps } = await importAndRun(har, server, '/embed');
      expect(imported.yaml).not.toContain('48213');
      expect(stepNamed(steps, 'create').expect).toEqual({ json: { type: 'created' }, capture: { roomId: '$.roomId' } });
      expect(stepNamed(steps, 'say').expect).toEqual({ json: { type: 'said', channel: 'room:${roomId}', text: 'hi' } });
      expect(server.refused).toEqual([]);
    } finally {
      await server.close();
    }
  }, 60_000);

  it('embed-mix: a text send and its expect substitute the same captured id inside a path', async () => {
    const har = writeHar('embed-mix', 'ws://127.0.0.1:9/embed', [
      ['send', 100, '{"type":"create"}'],
      ['receive', 102, '{"type":"created","roomId":48213}'],
      ['send', 200, '{"type":"say","roomId":48213,"text":"hi"}'],
      ['receive', 202, '{"type":"said","text":"hi"}'],
      ['send', 300, 'SUB /rooms/48213/feed'],
      ['receive', 302, 'SUBSCRIBED /rooms/48213/feed'],
    ]);
    const server = await startRoomServer();
    try {
      const { imported, steps, run } = await importAndRun(har, server, '/embed');
      expect(imported.yaml).not.toContain('48213');
      const sub = stepNamed(steps, 'send-3');
      expect(sub.send).toBe('SUB /rooms/${roomId}/feed');
      expect(sub.expect).toEqual({ match: '^SUBSCRIBED \\/rooms\\/${roomId}\\/feed$' });
      expect(server.refused).toEqual([]);
      expect(stepTrends(run.report)).toEqual(['latency{name:create}', 'latency{name:say}', 'latency{name:send-3}']);
    } finally {
      await server.close();
    }
  }, 60_000);

  it('an id never sent back, seen in one frame, is a pattern in a text frame and left out of a JSON string', async () => {
    const har = writeHar('embed-seen', 'ws://127.0.0.1:9/embed', [
      ['send', 100, '{"type":"create"}'],
      ['receive', 102, '{"type":"created","roomId":48213,"channel":"room:48213"}'],
      ['send', 200, 'STATUS'],
      ['receive', 202, 'STATUS room 48213 open since 2025-11-25T05:53:21.123Z'],
    ]);
    const server = await startRoomServer();
    try {
      const { imported, steps } = await importAndRun(har, server, '/embed');
      expect(imported.yaml).not.toContain('48213');
      expect(stepNamed(steps, 'create').expect).toEqual({ json: { type: 'created' } });
      expect((stepNamed(steps, 'send-2').expect as { match: string }).match).toMatch(/^\^STATUS room -\?\\d\+ open since /);
    } finally {
      await server.close();
    }
  }, 60_000);

  it('inner-uuid: a UUID, long hex or ISO date inside a JSON string value is never required literally', async () => {
    const har = writeHar('inner-uuid', 'ws://127.0.0.1:9/u', [
      ['send', 100, '{"type":"join","room":"lobby"}'],
      [
        'receive',
        101,
        '{"type":"joined","room":"lobby","topic":"room:6f1c2b3a-1d2e-4f50-8a9b-0c1d2e3f4a5b","inbox":"user.a3f9c2e1b4d5f6a7","url":"/s/2025-11-25T05:53:21Z/x","tags":["t-6f1c2b3a-1d2e-4f50-8a9b-0c1d2e3f4a5b"]}',
      ],
    ]);
    const server = await startServer((ws) =>
      ws.on('message', (d: RawData) => {
        const m = JSON.parse(toBuffer(d).toString('utf8')) as { room: string };
        ws.send(
          JSON.stringify({
            type: 'joined',
            room: m.room,
            topic: `room:${randomUUID()}`,
            inbox: `user.${randomBytes(8).toString('hex')}`,
            url: `/s/${new Date().toISOString()}/x`,
            tags: [`t-${randomUUID()}`],
          }),
        );
      }),
    );
    try {
      const { steps } = await importAndRun(har, server, '/u');
      expect(stepNamed(steps, 'join').expect).toEqual({ json: { type: 'joined', room: 'lobby' } });
    } finally {
      await server.close();
    }
  }, 60_000);

  it('idkeys: USER_ID, messageid, SESSION_ID, userid, msgid, requestid and uid are left out of the matcher', async () => {
    const fields = ['USER_ID', 'messageid', 'SESSION_ID', 'userid', 'msgid', 'requestid', 'uid'];
    const recorded = Object.fromEntries(fields.map((k, i) => [k, `rec${i}x7q`]));
    const har = writeHar('idkeys', 'ws://127.0.0.1:9/ids', [
      ['send', 100, '{"type":"hello"}'],
      ['receive', 110, JSON.stringify({ type: 'hello_ok', user: 'alice', ...recorded })],
    ]);
    const fresh = (): string => Math.random().toString(36).slice(2, 9);
    const server = await startServer((ws) =>
      ws.on('message', () => ws.send(JSON.stringify({ type: 'hello_ok', user: 'alice', ...Object.fromEntries(fields.map((k) => [k, fresh()])) }))),
    );
    try {
      const { steps } = await importAndRun(har, server, '/ids');
      expect(stepNamed(steps, 'hello').expect).toEqual({ json: { type: 'hello_ok', user: 'alice' } });
    } finally {
      await server.close();
    }
  }, 60_000);
});

describe.concurrent('credentials under keys of every spelling', () => {
  const SECRETS: Record<string, string> = {
    auth_token: 'S3cr3t-auth-token-01',
    api_token: 'S3cr3t-api-token-02',
    secret_key: 'S3cr3t-secret-key-03',
    x_api_key: 'S3cr3t-x-api-key-04',
    user_password: 'S3cr3t-user-pw-05',
    api_secret: 'S3cr3t-api-secret-06',
    access_key: 'S3cr3t-access-key-07',
    csrf_token: 'S3cr3t-csrf-08',
    accessKey: 'S3cr3t-accessKey-09',
    secretKey: 'S3cr3t-secretKey-10',
    passcode: 'S3cr3t-passcode-11',
  };
  const ENV: Record<string, string> = {
    AUTH_TOKEN: 'auth_token',
    API_TOKEN: 'api_token',
    SECRET_KEY: 'secret_key',
    X_API_KEY: 'x_api_key',
    USER_PASSWORD: 'user_password',
    API_SECRET: 'api_secret',
    ACCESS_KEY: 'access_key',
    CSRF_TOKEN: 'csrf_token',
    ACCESS_KEY_2: 'accessKey',
    SECRET_KEY_2: 'secretKey',
    PASSCODE: 'passcode',
  };

  it('become ${env.…} (never written), ordinary keys stay, and the replay with the variables set passes', async () => {
    const login = { type: 'login', user: 'alice', ...SECRETS, key: 'ArrowUp', keyboard: 'qwerty', tokens_left: 'plenty', token_type: 'Bearer' };
    const har = writeHar('secret-keys', 'ws://127.0.0.1:9/auth', [
      ['send', 100, JSON.stringify(login)],
      ['receive', 102, '{"type":"login_ok","user":"alice"}'],
      ['send', 200, 'CONNECT\naccept-version:1.2\nlogin:alice\npasscode:S3cr3t-stomp-12\n\n\u0000'],
      ['receive', 202, 'CONNECTED\nversion:1.2\n\n\u0000'],
    ]);
    // Fresh secrets for this run, handed to volley through the environment only.
    const fresh = Object.fromEntries(Object.keys(SECRETS).map((k) => [k, `run-${k}-${randomBytes(4).toString('hex')}`]));
    const stompPasscode = `run-stomp-${randomBytes(4).toString('hex')}`;
    const server = await startServer((ws) =>
      ws.on('message', (d: RawData) => {
        const t = toBuffer(d).toString('utf8');
        if (t.startsWith('CONNECT\n')) return ws.send(t.includes(`\npasscode:${stompPasscode}\n`) ? 'CONNECTED\nversion:1.2\n\n\u0000' : 'ERROR\n\n\u0000');
        const m = JSON.parse(t) as Record<string, unknown>;
        const ok =
          Object.entries(fresh).every(([k, v]) => m[k] === v) &&
          m.key === 'ArrowUp' &&
          m.keyboard === 'qwerty' &&
          m.tokens_left === 'plenty' &&
          m.token_type === 'Bearer';
        ws.send(JSON.stringify(ok ? { type: 'login_ok', user: 'alice' } : { type: 'login_failed' }));
      }),
    );
    try {
      const imported = await importWithCli(har, dir);
      for (const s of [...Object.values(SECRETS), 'S3cr3t-stomp-12']) expect(imported.yaml).not.toContain(s);
      const send = (parse(imported.yaml) as Steps).steps.find((s) => s.name === 'login')!.send as { json: Record<string, string> };
      expect(send.json).toMatchObject({ key: 'ArrowUp', keyboard: 'qwerty', tokens_left: 'plenty', token_type: 'Bearer' });
      const env: NodeJS.ProcessEnv = Object.fromEntries(Object.entries(ENV).map(([name, key]) => [name, fresh[key]]));
      for (const [name, key] of Object.entries(ENV)) expect(send.json[key]).toBe(`\${env.${name}}`);
      env.PASSCODE_2 = stompPasscode;
      expect(imported.yaml).toContain('passcode:${env.PASSCODE_2}');
      const run = await runWithCli(imported.file, `${server.url}/auth`, dir, env);
      expectClean(run);
      expect(counter(run.report, 'frames_received')).toBe(server.framesSent);
      expect(counter(run.report, 'frames_sent')).toBe(server.received.length);
    } finally {
      await server.close();
    }
  }, 60_000);
});

describe.concurrent('sends and matchers name the same substrings', () => {
  const flowOf = (frames: Frame[]) => ({
    url: 'ws://127.0.0.1:9/x',
    requestHeaders: {},
    subprotocols: [],
    startedAtMs: T0,
    frames: frames.map(([direction, dt, data], index) => ({ direction, timeMs: T0 + dt, opcode: 1 as const, data, index })),
    source: 'test flow',
  });
  const generate = async (frames: Frame[]) => {
    const { generateScenario } = await import('../../src/record/generate.js');
    const g = generateScenario([flowOf(frames)], { timing: 'none', origin: 'test' });
    return { yaml: g.yaml, steps: (parse(g.yaml) as Steps).steps };
  };

  it('48213 is not found inside 1482130 or abc48213, in a send or a matcher', async () => {
    const { yaml, steps } = await generate([
      ['send', 10, '{"type":"create"}'],
      ['receive', 12, '{"type":"created","roomId":48213}'],
      ['send', 20, '{"type":"say","roomId":48213,"text":"n1482130 abc48213"}'],
      ['receive', 22, '{"type":"said","text":"n1482130 abc48213","note":"room 48213"}'],
    ]);
    expect(steps.find((s) => s.name === 'say')!.send).toBe('{"type":"say","roomId":${roomId},"text":"n1482130 abc48213"}');
    expect(steps.find((s) => s.name === 'say')!.expect).toEqual({ json: { type: 'said', text: 'n1482130 abc48213', note: 'room ${roomId}' } });
    expect(yaml).toContain('capture: { roomId: $.roomId }');
  });

  it('a session id chosen by its look is found inside a word, in the send and in the matcher alike', async () => {
    const { steps } = await generate([
      ['receive', 5, '{"type":"hello","sessionId":"a3f9c2e1b4d5f6a7c8"}'],
      ['send', 10, 'JOIN rooma3f9c2e1b4d5f6a7c8'],
      ['receive', 12, 'JOINED rooma3f9c2e1b4d5f6a7c8'],
      ['send', 20, '{"type":"sub","topic":"t-a3f9c2e1b4d5f6a7c8"}'],
      ['receive', 22, '{"type":"subbed","topic":"t-a3f9c2e1b4d5f6a7c8","x":"ua3f9c2e1b4d5f6a7c8"}'],
    ]);
    expect(steps[0]!.expect).toEqual({ json: { type: 'hello' }, capture: { sessionId: '$.sessionId' } });
    expect(steps[1]!.send).toBe('JOIN room${sessionId}');
    expect(steps[1]!.expect).toEqual({ match: '^JOINED room${sessionId}$' });
    expect(steps[2]!.send).toEqual({ json: { type: 'sub', topic: 't-${sessionId}' } });
    expect(steps[2]!.expect).toEqual({ json: { type: 'subbed', topic: 't-${sessionId}', x: 'u${sessionId}' } });
  });

  it('arrays holding an embedded UUID are left out; stable arrays stay', async () => {
    const { steps } = await generate([
      ['send', 10, '{"type":"list"}'],
      ['receive', 12, '{"type":"listed","tags":["a","b"],"refs":["doc:6f1c2b3a-1d2e-4f50-8a9b-0c1d2e3f4a5b"]}'],
    ]);
    expect(steps[0]!.expect).toEqual({ json: { type: 'listed', tags: ['a', 'b'] } });
    const later = await generate([
      ['send', 10, '{"type":"create"}'],
      ['receive', 12, '{"type":"created","roomId":48213}'],
      ['send', 20, '{"type":"join","roomId":48213}'],
      ['receive', 22, '{"type":"joined","rooms":["room:48213","lobby"],"ids":["48213"]}'],
    ]);
    expect(later.steps.find((s) => s.name === 'join')!.expect).toEqual({ json: { type: 'joined', rooms: ['room:${roomId}', 'lobby'], ids: ['${roomId}'] } });
  });

  it('a value inside a path in a text frame is captured by a regex group and sent back (replay passes)', async () => {
    const har = writeHar('text-piece', 'ws://127.0.0.1:9/t', [
      ['receive', 5, 'WELCOME /rooms/48213/lobby'],
      ['send', 10, 'JOIN 48213'],
      ['receive', 12, 'JOINED 48213'],
    ]);
    const server = await startServer((ws) => {
      const room = 10_000 + Math.floor(Math.random() * 89_999);
      ws.send(`WELCOME /rooms/${room}/lobby`);
      ws.on('message', (d: RawData) => ws.send(toBuffer(d).toString('utf8') === `JOIN ${room}` ? `JOINED ${room}` : 'DENIED'));
    });
    try {
      const { imported, steps } = await importAndRun(har, server, '/t');
      expect(imported.yaml).not.toContain('48213');
      expect(steps[0]!.expect).toEqual({
        match: '^WELCOME \\/rooms\\/(-?\\d+)\\/lobby$',
        capture: { rooms: { regex: '^WELCOME \\/rooms\\/(-?\\d+)\\/lobby$', group: 1 } },
      });
      expect(steps[1]!.send).toBe('JOIN ${rooms}');
      expect(steps[1]!.expect).toEqual({ match: '^JOINED ${rooms}$' });
    } finally {
      await server.close();
    }
  }, 60_000);
});
