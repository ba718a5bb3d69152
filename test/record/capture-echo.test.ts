// Values the server chose for this run and the client sent back (a login token in a text frame,
// a numeric room id, a grant) are captured and reused, judged by the echo, whatever they look
// like; and pipelined requests keep their own replies. Both against real servers.

import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import type { RawData } from 'ws';
import type { ObservedFlow, ObservedFrame } from '../../src/record/flows.js';
import { generateScenario } from '../../src/record/generate.js';
import { tempDir } from '../helpers/cli.js';
import { startServer, toBuffer, type TestServer } from './servers.js';
import { counter, expectClean, importWithCli, runWithCli, stepTrends } from './volley.js';

const fixtures = fileURLToPath(new URL('../fixtures/har/', import.meta.url));
const dir = tempDir('volley-record-echo-');
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const T0 = 1_764_050_000_000;

/** Like echo-capture.har: a fresh login token (text), room id (number) and grant per connection;
 *  answers only when they come back. */
function startGameServer(): Promise<TestServer & { rejected: string[] }> {
  const rejected: string[] = [];
  return startServer((ws) => {
    const token = randomBytes(8).toString('base64url').slice(0, 10);
    const rooms = new Map<number, string>();
    ws.send(`HELLO ${token}`);
    ws.on('message', (data: RawData) => {
      const s = toBuffer(data).toString('utf8');
      if (s.startsWith('LOGIN ')) {
        const [, t, user] = s.split(' ');
        if (t !== token) return void rejected.push(s);
        return void ws.send(`OK ${user}`);
      }
      const m = JSON.parse(s) as { type: string; roomId?: number; grant?: string };
      if (m.type === 'create_room') {
        const roomId = 10000 + Math.floor(Math.random() * 90000);
        const grant = `G-${randomBytes(6).toString('hex')}`;
        rooms.set(roomId, grant);
        ws.send(JSON.stringify({ type: 'room_created', roomId, grant }));
      } else if (m.type === 'join') {
        if (m.roomId === undefined || rooms.get(m.roomId) !== m.grant) return void rejected.push(s);
        ws.send(JSON.stringify({ type: 'joined', roomId: m.roomId }));
      }
    });
  }).then((s) => Object.assign(s, { rejected }));
}

function flowOf(frames: [ObservedFrame['direction'], number, string][]): ObservedFlow {
  return {
    url: 'ws://127.0.0.1:9/rpc',
    requestHeaders: {},
    subprotocols: [],
    startedAtMs: T0,
    frames: frames.map(([direction, dt, data], index) => ({ direction, timeMs: T0 + dt, opcode: 1, data, index })),
    source: 'test flow',
  };
}

describe.concurrent('values the server chose and the client sent back', () => {
  it('echo-capture.har: the text token, the numeric room id and the grant are captured; the replay passes', async () => {
    const imported = await importWithCli(path.join(fixtures, 'echo-capture.har'), dir);
    const steps = (parse(imported.yaml) as { steps: Record<string, unknown>[] }).steps;
    // The frame that brought a value does not match it literally.
    expect(imported.yaml).not.toContain('k7Qz91aXbT');
    expect(imported.yaml).not.toContain('G-77aa88bb99cc');
    expect(imported.yaml).not.toContain('48213');
    expect(steps[0]).toEqual({ expect: { match: '^HELLO ([A-Za-z0-9_.~+/=-]+)$', capture: { hello: { regex: '^HELLO ([A-Za-z0-9_.~+/=-]+)$', group: 1 } } } });
    expect(steps.find((s) => s.name === 'send-1')!.send).toBe('LOGIN ${hello} alice');
    // A number goes back as a number: the send keeps the JSON text with ${roomId} unquoted.
    expect(steps.find((s) => s.name === 'join')!.send).toBe('{"type":"join","roomId":${roomId},"grant":"${grant}"}');
    const server = await startGameServer();
    try {
      const run = await runWithCli(imported.file, `${server.url}/game`, dir);
      expectClean(run);
      expect(server.rejected).toEqual([]);
      expect(counter(run.report, 'frames_received')).toBe(server.framesSent);
      expect(stepTrends(run.report)).toEqual(expect.arrayContaining(['latency{name:create_room}', 'latency{name:join}', 'latency{name:send-1}']));
    } finally {
      await server.close();
    }
  }, 60_000);

  it('no false captures: small or common values, and values the client sent first, stay literal', () => {
    const g = generateScenario(
      [
        flowOf([
          ['receive', 5, '{"type":"welcome","count":1,"ok":true,"room":"lobby","port":8080}'],
          ['send', 10, '{"type":"join","room":"lobby","count":1,"ok":true,"port":8080,"nick":"bob2024x"}'],
          ['receive', 12, '{"type":"joined","room":"lobby","nick":"bob2024x","n":123456}'],
          ['send', 20, '{"type":"say","nick":"bob2024x","n":1234567}'],
          ['receive', 22, '{"type":"said","nick":"bob2024x"}'],
        ]),
      ],
      { timing: 'none', origin: 'test' },
    );
    expect(g.yaml).not.toMatch(/capture:|\$\{/);
    expect(g.yaml).toContain('send: { json: { type: join, room: lobby, count: 1, ok: true, port: 8080, nick: bob2024x } }');
    expect(g.yaml).toContain('send: { json: { type: say, nick: bob2024x, n: 1234567 } }');
  });
});

describe('pipelined requests keep their own replies', () => {
  // ff.har's shape: subscribe (id 2) and getBalance (id 3) sent 10 ms apart, replies id 3 then id 2.
  const recorded = flowOf([
    ['send', 100, '{"jsonrpc":"2.0","id":2,"method":"subscribe","params":{"channel":"prices"}}'],
    ['send', 110, '{"jsonrpc":"2.0","id":3,"method":"getBalance","params":{}}'],
    ['receive', 120, '{"jsonrpc":"2.0","id":3,"result":{"balance":12}}'],
    ['receive', 130, '{"jsonrpc":"2.0","id":2,"result":{"subscribed":"prices"}}'],
  ]);
  const g = generateScenario([recorded], { timing: 'none', origin: 'test' });
  const steps = (parse(g.yaml) as { steps: Record<string, unknown>[] }).steps;

  it('each send gets the reply that carries its id; no comment calls that reply unrelated', () => {
    expect(steps.map((s) => [s.name, s.expect])).toEqual([
      ['subscribe', { json: { jsonrpc: '2.0', id: 2, result: { subscribed: 'prices' } } }],
      ['getBalance', { json: { jsonrpc: '2.0', id: 3 } }],
      [undefined, undefined], // close
    ]);
    expect(g.yaml).not.toMatch(/no id, type or value in common/);
  });

  it('a second answer carrying an earlier request\'s id is described as that, not as sharing nothing', () => {
    const again = generateScenario(
      [
        flowOf([
          ['send', 100, '{"jsonrpc":"2.0","id":2,"method":"subscribe"}'],
          ['receive', 105, '{"jsonrpc":"2.0","id":2,"result":"ok"}'],
          ['send', 200, '{"jsonrpc":"2.0","id":3,"method":"getBalance"}'],
          ['receive', 205, '{"jsonrpc":"2.0","id":3,"result":1}'],
          ['receive', 206, '{"jsonrpc":"2.0","id":2,"result":"update"}'],
        ]),
      ],
      { timing: 'none', origin: 'test' },
    );
    const flat = again.yaml.replace(/\n *# /g, ' ');
    expect(flat).toMatch(/frame 4 .* Not awaited: it carries the id of an earlier request/);
    expect(flat).not.toMatch(/no id, type or value in common/);
  });

  it('runs clean against a server that answers subscribe late and getBalance at once, each latency recorded', async () => {
    const file = path.join(dir, 'pipelined.yaml');
    writeFileSync(file, g.yaml);
    const server = await startServer((ws) => {
      ws.on('message', (data: RawData) => {
        const req = JSON.parse(toBuffer(data).toString('utf8')) as { id: number; method: string };
        const reply = JSON.stringify({ jsonrpc: '2.0', id: req.id, result: req.method === 'subscribe' ? { subscribed: 'prices' } : { balance: 7 } });
        if (req.method === 'subscribe') setTimeout(() => ws.send(reply), 30);
        else ws.send(reply);
      });
    });
    try {
      const run = await runWithCli(file, `${server.url}/rpc`, dir);
      expectClean(run);
      expect(stepTrends(run.report)).toEqual(['latency{name:getBalance}', 'latency{name:subscribe}']);
      expect(readFileSync(file, 'utf8')).toBe(g.yaml);
    } finally {
      await server.close();
    }
  }, 60_000);
});
