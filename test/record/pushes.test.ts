// Unrelated server pushes that come in another order when the scenario is replayed, through the
// real command line. pushes.har is the audit's recording (after `subscribe` the server pushed
// presence, then heartbeat, then the reply `subscribed`); startPushServer sends those frames in
// any order. A generated scenario must run clean whatever the order of the pushes, and a replay
// that goes wrong must fail (exit 1) thanks to the generated `errors` threshold.

import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { WebSocket, type RawData } from 'ws';
import { parse } from 'yaml';
import type { ReportJson } from '../../src/report/types.js';
import { runCli, startCli, tempDir } from '../helpers/cli.js';
import { startPushServer, type PushFrame, type TestServer } from './servers.js';
import { counter, expectClean, importWithCli, runWithCli, stepTrends } from './volley.js';

const fixtures = fileURLToPath(new URL('../fixtures/har/', import.meta.url));
const dir = tempDir('volley-record-pushes-');
afterAll(() => rmSync(dir, { recursive: true, force: true }));
/** A folder of its own for each test (they run side by side). */
const sub = (name: string): string => {
  const d = path.join(dir, name);
  mkdirSync(d);
  return d;
};
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

// The recording's credentials are placeholders; the server does not check them.
const ENV = { AUTH_TOKEN: 'a', COOKIE: 'sid=c', TOKEN: 't' };
const RECORDED: PushFrame[] = ['presence', 'heartbeat', 'subscribed'];
const SWAPPED: PushFrame[] = ['heartbeat', 'presence', 'subscribed'];

/** A push server for the length of `test` (the tests run side by side, each with its own). */
async function withPushServer(order: () => PushFrame[], test: (server: TestServer) => Promise<void>): Promise<void> {
  const server = await startPushServer(order);
  try {
    await test(server);
  } finally {
    await server.close();
  }
}

function reconcile(report: ReportJson, server: TestServer): void {
  expect(counter(report, 'sessions_completed')).toBe(1);
  expect(counter(report, 'frames_sent')).toBe(server.received.length);
  expect(counter(report, 'frames_received')).toBe(server.framesSent);
}

describe.concurrent('volley import pushes.har: the expects do not depend on the order of unrelated pushes', () => {
  it('pairs subscribe with subscribed (its type answers the send) and leaves presence and heartbeat as comments', async () => {
    const { yaml, cli } = await importWithCli(path.join(fixtures, 'pushes.har'), sub('import'));
    expect(cli.stdout).toBe('');
    expect(yaml).not.toContain('SECRET'); // the recording's token and cookie
    const steps = (parse(yaml) as { steps: Record<string, unknown>[] }).steps;
    expect(steps.filter((s) => 'send' in s || 'expect' in s)).toEqual([
      { send: { json: { type: 'auth', token: '${env.TOKEN}' } }, expect: { json: { type: 'welcome' }, capture: { sessionId: '$.sessionId' } }, name: 'auth' },
      { send: { json: { type: 'subscribe', channel: 'news', sessionId: '${sessionId}' } }, expect: { json: { type: 'subscribed', channel: 'news' } }, name: 'subscribe' },
      { send: 'ping', expect: { text: 'pong' }, name: 'send-3' },
      { send: { binary: 'AAECAw==' }, expect: { binary: 'AAECAw==' }, name: 'send-4' },
    ]);
    expect(yaml).toContain('# frame 2 at +0.700s: sent JSON, 62 B; answered by frame 5 (0.004s later)');
    expect(yaml).toMatch(/# frame 3 at \+0\.702s: received JSON, 29 B\. Not awaited: it came before the reply/);
    expect(yaml).toContain('#   - expect: { json: { type: presence } }');
    expect(yaml).toContain('#   - expect: { json: { type: heartbeat } }');
  });

  it.each([
    ['in the recorded order', RECORDED],
    ['with presence and heartbeat swapped', SWAPPED],
    ['with the reply first', ['subscribed', 'heartbeat', 'presence'] as PushFrame[]],
  ])('runs clean against a server that pushes %s', async (_label, order) => withPushServer(() => order, async (server) => {
    const work = sub(`run-${order.join('-')}`);
    const { file } = await importWithCli(path.join(fixtures, 'pushes.har'), work, ['--timing', 'none']);
    const run = await runWithCli(file, `${server.url}/chat?room=lobby`, work, ENV);
    expectClean(run);
    reconcile(run.report, server);
    expect(run.report.thresholds).toEqual([{ metric: 'errors', expression: 'count == 0', actual: 0, ok: true }]);
    expect(stepTrends(run.report)).toEqual(['latency{name:auth}', 'latency{name:send-3}', 'latency{name:send-4}', 'latency{name:subscribe}']);
    expect(counter(run.report, 'frames_skipped')).toBe(2); // presence and heartbeat, whatever their order
  }));

  it('the scenario the generator used to write (presence as the reply, then heartbeat, subscribed) fails against the swapped server', async () => withPushServer(() => SWAPPED, async (server) => {
    // Proves the swapped server reproduces the audit: the old shape's presence expect skips the
    // heartbeat, whose expect then times out (and skips subscribed, whose expect times out too).
    // The old file has no threshold (it exited 0 like this): one is added to see the failure.
    const work = sub('old');
    const out = path.join(work, 'old-report');
    const cli = await runCli(
      [
        'run', path.join(fixtures, 'pushes-recorded-order.yaml'), '--target', `${server.url}/chat?room=lobby`, '--quiet', '--out', out, '--no-html',
        '--workers', '1', '--set', 'steps.4.expect.timeout=1s', '--set', 'steps.5.expect.timeout=1s', '--set', 'thresholds={errors: ["count == 0"]}',
      ],
      { env: ENV, timeoutMs: 30_000 },
    );
    const report = JSON.parse(readFileSync(path.join(out, 'report.json'), 'utf8')) as ReportJson;
    expect(report.errors.map((e) => [e.kind, e.count])).toEqual([['expect_timeout', 2]]);
    expect(report.errors[0]!.first).toContain('{"type":"heartbeat"}');
    expect(cli.code, cli.stderr).toBe(1);
  }));

  it('a broken replay fails: exit 1, the errors threshold failed, the expect timeout reported', async () => withPushServer(() => ['presence', 'heartbeat'], async (server) => {
    // The server never answers subscribe with `subscribed`: the send's expect times out.
    const work = sub('broken');
    const { file } = await importWithCli(path.join(fixtures, 'pushes.har'), work, ['--timing', 'none']);
    const out = path.join(work, 'broken-report');
    const cli = await runCli(
      ['run', file, '--target', `${server.url}/chat?room=lobby`, '--quiet', '--out', out, '--no-html', '--workers', '1', '--set', 'steps.1.expect.timeout=1s'],
      { env: ENV, timeoutMs: 30_000 },
    );
    expect(cli.code, cli.stderr).toBe(1);
    const report = JSON.parse(readFileSync(path.join(out, 'report.json'), 'utf8')) as ReportJson;
    expect(report.errors.map((e) => e.kind)).toEqual(['expect_timeout']);
    expect(report.thresholds).toEqual([{ metric: 'errors', expression: 'count == 0', actual: 1, ok: false }]);
  }));
});

/** `volley record -o -` in `cwd`; resolves with the proxy's URL once it listens. */
function startRecording(upstream: string, cwd: string) {
  let stderr = '';
  const run = startCli(['record', '--upstream', upstream, '--listen', '127.0.0.1:0', '--quiet', '-o', '-'], {
    cwd,
    timeoutMs: 30_000,
    onStderr: (t) => (stderr += t),
  });
  cleanups.push(async () => {
    if (run.child.exitCode === null) run.child.kill('SIGKILL');
  });
  const listening = (async () => {
    await expect.poll(() => /point the client at (ws:\/\/\S+)/.exec(stderr)?.[1], { timeout: 10_000 }).toBeDefined();
    return /point the client at (ws:\/\/\S+)/.exec(stderr)![1]!;
  })();
  return { run, listening };
}

/** The audit's session, through the proxy: auth, subscribe (and its three frames), ping, bytes. */
async function clientSession(url: string): Promise<void> {
  const ws = new WebSocket(url, ['chat.v1']);
  const inbox: RawData[] = [];
  let wake: (() => void) | undefined;
  ws.on('message', (d) => {
    inbox.push(d);
    wake?.();
  });
  const next = async (): Promise<string> => {
    while (inbox.length === 0) await new Promise<void>((r) => (wake = r));
    return String(inbox.shift());
  };
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  ws.send(JSON.stringify({ type: 'auth', token: 'not-a-secret-in-this-test' }));
  const welcome = JSON.parse(await next()) as { sessionId: string };
  ws.send(JSON.stringify({ type: 'subscribe', channel: 'news', sessionId: welcome.sessionId }));
  for (let i = 0; i < 3; i++) await next();
  ws.send('ping');
  expect(await next()).toBe('pong');
  ws.close(1000);
  await new Promise((resolve) => ws.once('close', resolve));
}

describe('volley record -o -: the scenario on stdout, robust to the order of pushes', () => {
  it('records reply-first, prints the scenario (not a file named "-"), and the scenario runs clean with the pushes swapped', async () => {
    let order: PushFrame[] = ['subscribed', 'presence', 'heartbeat'];
    const server = await startPushServer(() => order);
    cleanups.push(() => server.close());
    const cwd = sub('record');
    const { run, listening } = startRecording(server.url, cwd);
    await clientSession(`${await listening}/chat?room=lobby`);
    run.child.kill('SIGINT');
    const rec = await run.done;
    expect(rec.code, rec.stderr).toBe(0);
    expect(existsSync(path.join(cwd, '-'))).toBe(false);
    expect(rec.stderr).not.toContain('wrote');
    expect(rec.stdout).not.toContain('point the client at'); // notes stay on stderr
    const today = new Date().toISOString().slice(0, 10);
    const yesterday = new Date(Date.now() - 86_400_000).toISOString().slice(0, 10);
    expect(rec.stdout.split('\n')[0]).toMatch(
      new RegExp(`^# Recorded by \`volley record --upstream ${server.url.replace(/[.]/g, '\\.')}\` on (${today}|${yesterday}): client connection #1$`),
    );

    const steps = (parse(rec.stdout) as { steps: Record<string, unknown>[]; thresholds: unknown }).steps;
    // After the reply, presence and heartbeat share nothing with the send: comments, not expects.
    expect(steps.filter((s) => 'expect' in s).map((s) => (s.expect as { json?: { type?: string } }).json?.type ?? s.expect)).toEqual([
      'welcome',
      'subscribed',
      { text: 'pong' },
    ]);
    expect(rec.stdout).toMatch(/Not awaited: a push that does not follow from the send/);
    const file = path.join(cwd, 'recorded.yaml');
    writeFileSync(file, rec.stdout);

    order = ['subscribed', 'heartbeat', 'presence'];
    const receivedBefore = server.received.length;
    const sentBefore = server.framesSent;
    const replay = await runWithCli(file, undefined, cwd, ENV);
    expectClean(replay);
    expect(counter(replay.report, 'frames_sent')).toBe(server.received.length - receivedBefore);
    expect(counter(replay.report, 'frames_received')).toBe(server.framesSent - sentBefore);
    expect(stepTrends(replay.report)).toEqual(['latency{name:auth}', 'latency{name:send-3}', 'latency{name:subscribe}']);
  });
});
