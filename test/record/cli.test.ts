// HAR fixtures through the real command line: `volley import f.har -o s.yaml`, then
// `volley run s.yaml --target ws://… --quiet` against a server that behaves like the recording.
// Each run must exit 0 with no errors, and its frame counters must equal the server's own counts.
// Bad input must fail in one line naming the file, exit 2, before anything is written.

import { existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { runCli, tempDir } from '../helpers/cli.js';
import { startEchoServer, startPricesServer, startRpcServer, startSessionServer, type TestServer } from './servers.js';
import { counter, expectClean, importWithCli, runWithCli, stepTrends } from './volley.js';

const fixtures = fileURLToPath(new URL('../fixtures/har/', import.meta.url));
const dir = tempDir('volley-record-cli-');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Imports `har`, runs the scenario against `server` (at `pathAndQuery`), reconciles the counts. */
async function importAndRun(har: string, server: TestServer, pathAndQuery: string) {
  const imported = await importWithCli(path.join(fixtures, har), dir);
  const run = await runWithCli(imported.file, `${server.url}${pathAndQuery}`, dir);
  expectClean(run);
  expect(counter(run.report, 'sessions_completed')).toBe(1);
  // The engine's view and the server's agree on every frame, both ways.
  expect(counter(run.report, 'frames_sent')).toBe(server.received.length);
  expect(counter(run.report, 'frames_received')).toBe(server.framesSent);
  expect(server.handshakes).toHaveLength(1);
  return { imported, run };
}

// Each test has its own server, so the four spawn their CLIs side by side.
describe.concurrent('volley import, then volley run against a live server', () => {
  it('a hand-written Firefox HAR (an https upgrade entry, a ping frame) runs clean against a prices server', async () => {
    const server = await startPricesServer();
    try {
      const { imported, run } = await importAndRun('firefox-prices.har', server, '/socket');
      expect(imported.cli.stderr).toContain('skipped 1 control frame');
      expect(server.handshakes[0]!.headers['sec-websocket-protocol']).toBe('json');
      expect(server.handshakes[0]!.headers.origin).toBe('https://chat.example.test');
      expect(server.received.map((r) => JSON.parse(r.data.toString()).op)).toEqual(['subscribe', 'unsubscribe']);
      expect(stepTrends(run.report)).toEqual(['latency{name:subscribe}', 'wait{name:price}']);
    } finally {
      await server.close();
    }
  });

  it('binary frames go out byte for byte and the binary reply matches', async () => {
    const server = await startEchoServer();
    try {
      const { run } = await importAndRun('binary.har', server, '/bin');
      expect(server.received.map((r) => [r.isBinary, r.data.toString('hex')])).toEqual([
        [true, '010203fa'],
        [false, Buffer.from('text too').toString('hex')],
      ]);
      expect(stepTrends(run.report)).toEqual(['latency{name:send-1}', 'latency{name:send-2}']);
    } finally {
      await server.close();
    }
  });

  it('correlation: the session id this server issues (not the recorded one) is captured and sent back', async () => {
    const server = await startSessionServer();
    try {
      const { imported, run } = await importAndRun('correlation.har', server, '/session');
      expect(imported.yaml).toContain('capture: { sid: $.sid }');
      const sent = server.received.map((r) => r.data.toString());
      const issued = /"sid":"(sess-[0-9a-f]{20})"/.exec(sent[0]!)?.[1];
      expect(issued).toBeDefined();
      expect(issued).not.toBe('sess-a6f0c7d2e91b4c3f8d5e');
      expect(sent).toEqual([JSON.stringify({ type: 'auth', sid: issued }), `echo:${issued}:hi`]);
      // The server answers "ok" and the echo only for its own id; the expects waited for both.
      expect(stepTrends(run.report)).toEqual(['latency{name:auth}', 'latency{name:send-2}', 'wait{name:hello}']);
    } finally {
      await server.close();
    }
  });

  it('out-of-order: the awaited reply comes third; the expect skips the two notifications before it', async () => {
    const server = await startRpcServer();
    try {
      const { run } = await importAndRun('out-of-order.har', server, '/rpc');
      expect(server.framesSent).toBe(4);
      // The two notifications before the reply are skipped, and the tick after it (a push that
      // does not follow from the request) is not awaited: it is left unread when the session ends.
      expect(counter(run.report, 'frames_skipped')).toBe(3);
      expect(stepTrends(run.report)).toEqual(['latency{name:getBalance}']);
    } finally {
      await server.close();
    }
  });
});

describe('volley import -o -', () => {
  it('prints the scenario on stdout (no file named "-"); warnings stay on stderr', async () => {
    const cwd = path.join(dir, 'stdout');
    mkdirSync(cwd);
    const r = await runCli(['import', path.join(fixtures, 'firefox-prices.har'), '-o', '-'], { cwd, timeoutMs: 20_000 });
    expect(r.code, r.stderr).toBe(0);
    expect(existsSync(path.join(cwd, '-'))).toBe(false);
    expect(readdirSync(cwd)).toEqual([]);
    expect(r.stdout).toMatch(/^# Generated by `volley import firefox-prices\.har` from log\.entries\[1\] in firefox-prices\.har\n/);
    expect(parse(r.stdout)).toMatchObject({ target: 'wss://chat.example.test/socket', thresholds: { errors: ['count == 0'] } });
    expect(r.stdout).not.toContain('warning');
    expect(r.stderr).toBe('warning: log.entries[1]: skipped 1 control frame(s) (close/ping/pong)\n');
  });
});

describe('bad input to volley import: one line naming the file, exit 2, nothing written', () => {
  const cases: [string, RegExp][] = [
    ['no-websocket.har', /no WebSocket entries/],
    ['not-json.har', /not JSON, so not a HAR file/],
    ['not-a-har.har', /not a HAR file/],
    ['truncated.har', /truncated\.har:\d+:\d+: truncated HAR/],
    ['unknown-opcode.har', /unknown opcode 5/],
  ];
  it.concurrent.each(cases)('%s', async (har, message) => {
    const file = path.join(fixtures, har);
    const out = path.join(dir, `bad-${har}.yaml`);
    const r = await runCli(['import', file, '-o', out], { timeoutMs: 20_000 });
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    const lines = r.stderr.trimEnd().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(file);
    expect(lines[0]).toMatch(message);
    expect(lines[0]).not.toMatch(/\bat \S+:\d+:\d+\)?$/); // no stack frame
    expect(existsSync(out)).toBe(false);
  });

  it.concurrent('a missing file', async () => {
    const file = path.join(dir, 'absent.har');
    const r = await runCli(['import', file], { timeoutMs: 20_000 });
    expect(r.code).toBe(2);
    expect(r.stderr.trimEnd().split('\n')).toEqual([expect.stringContaining(`${file}: no such file`)]);
  });
});
