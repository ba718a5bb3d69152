// What import and record say: the Socket.IO note (or warning), errors for bad HAR input (one line, exit 2,
// no raw bytes, no false "truncated"), record's own hints, and comments in YAML flow style.

import { rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { VolleyError } from '../../src/errors.js';
import type { ObservedFlow, ObservedFrame } from '../../src/record/flows.js';
import { generateScenario } from '../../src/record/generate.js';
import { parseHar } from '../../src/record/har.js';
import { nothingRecordedMessage, startRecorder } from '../../src/record/proxy.js';
import { runCli, tempDir } from '../helpers/cli.js';
import { startEchoServer } from './servers.js';

const dir = tempDir('volley-record-messages-');
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const T0 = 1_764_050_000_000;

function flowOf(url: string, frames: [ObservedFrame['direction'], number, string][]): ObservedFlow {
  return { url, requestHeaders: {}, subprotocols: [], startedAtMs: T0, frames: frames.map(([direction, dt, data], index) => ({ direction, timeMs: T0 + dt, opcode: 1, data, index })), source: 'test flow' };
}

function errorOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(VolleyError);
    return (err as Error).message;
  }
  throw new Error('expected a VolleyError');
}

describe('Socket.IO recordings', () => {
  const sioFrames: [ObservedFrame['direction'], number, string][] = [['receive', 5, '0{"sid":"Qm9ndXNFbmdpbmVJZA12","upgrades":[],"pingInterval":25000}'], ['send', 6, '40'], ['receive', 9, '40{"sid":"c29ja2V0SWRCb2d1czEy"}'], ['send', 20, '42["chat",{"text":"hi"}]']];

  it('Engine.IO 4 is converted: a one-line note on stderr instead of the warning, and no WARNING in the YAML', async () => {
    const g = generateScenario([flowOf('ws://127.0.0.1:9/socket.io/?EIO=4&transport=websocket', sioFrames)], { timing: 'none', origin: 'test' });
    expect(g.warnings).toEqual([]);
    expect(g.notes).toEqual(['test flow is a Socket.IO connection: converted to a transport: socket.io scenario (emit / expect {event} steps)']);
    expect(g.yaml).toMatch(/^transport: socket\.io$/m);
    expect(g.yaml).not.toMatch(/WARNING/);
    const har = JSON.stringify({ log: { entries: [{ _resourceType: 'websocket', request: { url: 'ws://127.0.0.1:9/socket.io/?EIO=4&transport=websocket', headers: [] }, _webSocketMessages: sioFrames.map(([type, dt, data]) => ({ type, time: (T0 + dt) / 1000, opcode: 1, data })) }] } });
    const file = path.join(dir, 'sio.har');
    writeFileSync(file, har);
    const cli = await runCli(['import', file, '-o', path.join(dir, 'sio.yaml')], { timeoutMs: 20_000 });
    expect(cli.code, cli.stderr).toBe(0);
    expect(cli.stderr).toContain('note: log.entries[0] in sio.har is a Socket.IO connection: converted to a transport: socket.io scenario');
    expect(cli.stderr).not.toContain('warning:');
  }, 30_000);

  it('Engine.IO 3 (not converted) warns on stderr and in the YAML to write a transport: socket.io scenario', () => {
    const g = generateScenario([flowOf('ws://127.0.0.1:9/socket.io/?EIO=3&transport=websocket', sioFrames)], { timing: 'none', origin: 'test' });
    expect(g.warnings.join('\n')).toMatch(/is a Socket\.IO connection.*not converted \(Engine\.IO protocol 3.*transport: socket\.io.*docs\/socketio\.md/);
    expect(g.yaml.replace(/\n# /g, ' ')).toMatch(/WARNING: this is a Socket\.IO connection.*`transport: socket\.io`.*docs\/socketio\.md/);
    const plain = generateScenario([flowOf('ws://127.0.0.1:9/chat', [['send', 6, '42'], ['receive', 9, '0{"a":1}']])], { timing: 'none', origin: 'test' });
    expect(plain.warnings.join('\n')).not.toMatch(/Socket\.IO/);
    expect(plain.notes).toEqual([]);
  });
});

describe('HAR input errors', () => {
  const har = (messages: unknown[]): string => JSON.stringify({ log: { entries: [{ _resourceType: 'websocket', request: { url: 'ws://h/x', headers: [] }, _webSocketMessages: messages }] } });

  it('a binary frame whose data is not base64 names the frame (and the CLI exits 2)', async () => {
    const text = har([{ type: 'send', time: 1, opcode: 1, data: 'ok' }, { type: 'send', time: 2, opcode: 2, data: 'not base64 !!' }]);
    expect(errorOf(() => parseHar(text, 'b64.har'))).toBe('b64.har: log.entries[0]._webSocketMessages[1]: binary frame data is not base64');
    const file = path.join(dir, 'b64.har');
    writeFileSync(file, text);
    const cli = await runCli(['import', file, '-o', path.join(dir, 'b64.yaml')], { timeoutMs: 20_000 });
    expect(cli.code).toBe(2);
    expect(cli.stderr.trim().split('\n')).toHaveLength(1);
    expect(cli.stderr).toContain('_webSocketMessages[1]: binary frame data is not base64');
  }, 30_000);

  it('a syntax error inside the file is not called truncated; a cut-off file still is', () => {
    const bad = errorOf(() => parseHar('{"log": {"entries": [}', 'bad.har'));
    expect(bad).not.toMatch(/truncated/);
    expect(bad).toMatch(/^bad\.har:1:\d+: not JSON, so not a HAR file/);
    expect(errorOf(() => parseHar('{"log": {"entries": [{"a": 1}', 'cut.har'))).toMatch(/^cut\.har:1:\d+: truncated HAR/);
  });

  it('a binary file gets a message without its raw bytes', () => {
    const m = errorOf(() => parseHar('\u0089PNG\r\n\u001a\n\u0000\u0000\uFFFD\uFFFD binary', 'bin.har'));
    expect(m).toBe('bin.har: binary data, not JSON, so not a HAR file');
  });
});

describe('volley record messages', () => {
  it('several connections: the hint does not name --url-filter, which record does not have', () => {
    const flows = [flowOf('ws://h/a', [['send', 1, 'a']]), flowOf('ws://h/b', [['send', 1, 'b']])];
    const rec = generateScenario(flows, { timing: 'none', origin: 'volley record --upstream ws://h', kind: 'record' });
    expect(rec.warnings.join('\n')).not.toContain('--url-filter');
    expect(rec.warnings.join('\n')).toMatch(/2 WebSocket connections recorded/);
    const imp = generateScenario(flows, { timing: 'none', origin: 'volley import x.har' });
    expect(imp.warnings.join('\n')).toContain('--url-filter');
  });

  it('clients refused by the upstream: the recorder says so, not "no client connected"', async () => {
    const upstream = await startEchoServer({ refuseWith: 401 });
    const rec = await startRecorder({ upstream: upstream.url, listen: '127.0.0.1:0' });
    try {
      for (let i = 0; i < 2; i++) {
        const ws = new WebSocket(`${rec.listenUrl}/x`);
        await new Promise<void>((resolve) => ws.once('error', () => resolve()));
      }
      expect(rec.flows()).toEqual([]);
      expect(rec.refused()).toEqual(['401 Unauthorized', '401 Unauthorized']);
      expect(nothingRecordedMessage(rec.refused())).toBe('nothing was recorded: 2 client connections came through the proxy, but the upstream refused all of them (401 Unauthorized)');
      expect(nothingRecordedMessage([])).toBe('nothing was recorded: no client connected through the proxy');
    } finally {
      await rec.stop();
      await upstream.close();
    }
  });
});

describe('comments', () => {
  it('the ready-to-paste expect of an array-shaped frame is YAML flow style like the others', () => {
    const g = generateScenario(
      [flowOf('ws://h/socket/websocket', [['send', 1, '["3","3","room:lobby","phx_join",{}]'], ['receive', 2, '[null,"4","phoenix","phx_reply",{"status":"ok","response":{}}]'], ['receive', 3, '["3",null,"room:lobby","presence_state",{"al":{"metas":[{"online_at":1764057800011,"phx_ref":"F_x1"}]}}]']])],
      { timing: 'none', origin: 'test' },
    );
    const pasted = g.yaml.split('\n').filter((l) => l.startsWith('  #   - expect: '));
    expect(pasted.length).toBeGreaterThan(0);
    for (const l of pasted) expect(l).toMatch(/^ {2}# {3}- expect: \{ (match|text): /);
    expect(g.yaml).not.toContain('{"match"');
  });
});
