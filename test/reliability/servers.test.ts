// Servers that die, restart, half-open, stop reading or send huge frames, driven through the
// real CLI. Each run must end in bounded time with the right exit code, the report written and
// every failure counted as errors{kind:…}.

import { afterEach, describe, expect, it } from 'vitest';
import { counter, errorKinds, freePort, runCli, startRawServer, startWsServer, tempDir, trendCount, writeScenario } from './helpers.js';
import type { TestServer } from './helpers.js';

const servers: TestServer[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await s.close();
});

async function until(cond: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe('a server that dies', () => {
  it('killed mid-run then restarted: resets are counted, reconnects back off, later sessions reach the new server', async () => {
    const first = await startWsServer();
    servers.push(first);
    const port = first.port;
    const file = writeScenario(
      tempDir(),
      `name: dies
target: ${first.url}
load: {model: connections, connections: 3, duration: 6s, gracefulStop: 1s}
steps:
  - loop:
      duration: 1m
      every: 50ms
      steps:
        - send: "x \${iter}"
          expect: {text: "x \${iter}", timeout: 1s}
`,
    );
    // 6 s leave the slots' backoff (100 ms doubling: retries 0.7, 1.5, 3.1 s after the kill) room
    // to reach the restarted server even when a loaded machine starts the run late.
    const run = runCli(['run', file, '--workers', '1']);
    await until(() => first.framesReceived >= 20, 20_000, 'traffic');
    await first.close(); // every socket destroyed, nothing listens: resets, then refusals
    servers.splice(servers.indexOf(first), 1);
    await new Promise((r) => setTimeout(r, 1200));
    const second = await startWsServer({}, port);
    servers.push(second);
    const res = await run.done;
    expect(res.code, res.stderr).toBe(0);
    const kinds = errorKinds(res.report);
    expect((kinds['reset'] ?? 0) + (kinds['closed_by_server'] ?? 0)).toBeGreaterThanOrEqual(1);
    expect(kinds['connect_refused'] ?? 0).toBeGreaterThanOrEqual(1);
    // Backoff: 3 slots retrying for ~1.2 s start at 100 ms and double, never a spin.
    expect(kinds['connect_refused']).toBeLessThan(40);
    expect(second.connections).toBeGreaterThanOrEqual(1);
    expect(counter(res.report, 'frames_sent')).toBe(first.framesReceived + second.framesReceived);
  });

  it('refused by every connection: exit 3, one line that says why, the report still written', async () => {
    const port = await freePort();
    const file = writeScenario(
      tempDir(),
      `name: refused
target: ws://127.0.0.1:${port}/
load: {model: connections, connections: 2, duration: 1500ms}
steps:
  - send: "x"
`,
    );
    const res = await runCli(['run', file, '--workers', '1', '--quiet']).done;
    expect(res.code, res.stderr).toBe(3);
    const lines = res.stderr.trim().split('\n');
    expect(lines.at(-1)).toMatch(/could not proceed.*refused/);
    expect(res.stderr).not.toMatch(/\n\s+at /);
    expect(res.report).toBeDefined();
    const refused = errorKinds(res.report)['connect_refused'] ?? 0;
    expect(refused).toBeGreaterThanOrEqual(2);
    expect(refused).toBeLessThan(40);
  });
});

describe('a half-open server (accepts TCP, never answers the upgrade)', () => {
  it('times the handshake out, counts connect_timeout, exits 3 in bounded time', async () => {
    const s = await startRawServer(() => undefined);
    servers.push(s);
    const file = writeScenario(
      tempDir(),
      `name: half-open
target: ${s.url}
connect: {timeout: 500ms}
load: {model: connections, connections: 2, duration: 1500ms, gracefulStop: 1s}
steps:
  - send: "x"
`,
    );
    const res = await runCli(['run', file, '--workers', '1', '--quiet']).done;
    expect(res.code, res.stderr).toBe(3);
    expect(res.stderr).toMatch(/timed out/);
    expect(errorKinds(res.report)['connect_timeout'] ?? 0).toBeGreaterThanOrEqual(2);
    expect(res.elapsedMs).toBeLessThan(20_000);
  });
});

describe('a server that stops reading', () => {
  it('send waits on backpressure, counts send_blocked, never buffers without bound', async () => {
    const s = await startWsServer({ onConnection: (_ws, socket) => socket.pause() });
    servers.push(s);
    const frameBytes = 64 * 1024;
    const file = writeScenario(
      tempDir(),
      `name: non-reading
target: ${s.url}
connect: {timeout: 1s}
load: {model: connections, connections: 1, iterations: 1, gracefulStop: 1s}
steps:
  - loop:
      duration: 3s
      every: 1ms
      steps:
        - send: {binary: "${Buffer.alloc(frameBytes, 7).toString('base64')}"}
`,
    );
    const res = await runCli(['run', file, '--workers', '1', '--quiet'], { killAfterMs: 30_000 }).done;
    expect(res.report, res.stderr).toBeDefined();
    expect(errorKinds(res.report)['send_blocked'] ?? 0).toBe(1);
    expect(trendCount(res.report, 'send_blocked')).toBeGreaterThanOrEqual(1);
    // Bounded: what the kernel buffers on loopback plus volley's high-water mark, far below
    // the ~190 MiB an unchecked 1 ms pacing would have queued in 3 s.
    expect(counter(res.report, 'frames_sent') * frameBytes).toBeLessThan(48 * 1024 * 1024);
    expect(counter(res.report, 'sessions_failed')).toBe(1);
    expect(res.code).toBe(0);
  });
});

describe('a server sending a 64 MiB frame', () => {
  const huge = (ws: import('ws').default): void => {
    ws.send(Buffer.alloc(64 * 1024 * 1024, 1), { binary: true });
  };

  it('over connect.maxPayload: a protocol_error, the run goes on and exits normally', async () => {
    const s = await startWsServer({ onConnection: (ws) => huge(ws) });
    servers.push(s);
    const file = writeScenario(
      tempDir(),
      `name: huge
target: ${s.url}
connect: {maxPayload: 1MiB}
load: {model: connections, connections: 1, iterations: 2}
steps:
  - expect: {text: "never", timeout: 5s}
`,
    );
    const res = await runCli(['run', file, '--workers', '1', '--quiet']).done;
    expect(res.code, res.stderr).toBe(0);
    const kinds = errorKinds(res.report);
    expect(kinds['protocol_error'], JSON.stringify(res.report?.errors)).toBe(2);
    expect(res.report!.errors.find((e) => e.kind === 'protocol_error')?.first).toMatch(/payload|length|1009/i);
    expect(kinds['expect_timeout'] ?? 0).toBe(0);
  });

  it('within the default maxPayload: received, counted, and matched as a frame', async () => {
    const s = await startWsServer({ onConnection: (ws) => huge(ws) });
    servers.push(s);
    const file = writeScenario(
      tempDir(),
      `name: huge-ok
target: ${s.url}
load: {model: connections, connections: 1, iterations: 1}
steps:
  - expect: {timeout: 10s}
    name: big
`,
    );
    const res = await runCli(['run', file, '--workers', '1', '--quiet']).done;
    expect(res.code, res.stderr).toBe(0);
    expect(counter(res.report, 'frames_received')).toBe(1);
    expect(counter(res.report, 'bytes_received')).toBeGreaterThan(64 * 1024 * 1024);
    expect(trendCount(res.report, 'wait{name:big}')).toBe(1);
  });
});
