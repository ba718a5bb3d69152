// Ctrl-C / SIGTERM on the real CLI, as a child process against a counting ws server: the run
// stops starting sessions, lets running ones finish within gracefulStop, writes the partial
// report (interrupted: true) whose frame counts equal the server's, and exits 130.

import { afterEach, describe, expect, it } from 'vitest';
import { counter, runCli, startWsServer, tempDir, writeScenario } from './helpers.js';
import type { TestServer } from './helpers.js';

let server: TestServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function until(cond: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe('interrupts', () => {
  it('SIGINT mid-run: exit 130, partial report marked interrupted whose frame counts equal the server', async () => {
    server = await startWsServer();
    // Short sessions (10 x 40 ms) in a long run: on SIGINT every running session can finish
    // inside gracefulStop and close politely, so nothing is in flight when the report is made.
    const file = writeScenario(
      tempDir(),
      `name: sigint
target: ${server.url}
load: {model: connections, connections: 3, duration: 60s, gracefulStop: 3s}
steps:
  - loop:
      count: 10
      every: 40ms
      steps:
        - send: "n \${iter} vu \${vu}"
          expect: {text: "n \${iter} vu \${vu}", timeout: 2s}
          name: say
  - close: {code: 1000}
`,
    );
    const run = runCli(['run', file, '--workers', '2']);
    const s = server;
    await until(() => s.framesReceived >= 40, 20_000, 'the server to see traffic');
    const signalledAt = Date.now();
    run.child.kill('SIGINT');
    const res = await run.done;
    const afterSignalMs = Date.now() - signalledAt;
    expect(res.code, res.stderr).toBe(130);
    expect(afterSignalMs).toBeLessThan(10_000);
    expect(res.report?.interrupted).toBe(true);
    expect(res.stdout).toContain('INTERRUPTED');
    expect(res.stderr).toContain('stopping');
    const r = res.report!;
    expect(counter(r, 'frames_sent')).toBeGreaterThanOrEqual(40);
    expect(counter(r, 'frames_sent')).toBe(s.framesReceived);
    expect(counter(r, 'frames_received')).toBe(s.framesSent);
    expect(counter(r, 'errors')).toBe(0);
    expect(counter(r, 'sessions_started')).toBe(counter(r, 'sessions_completed'));
  });

  it('SIGINT while volley is still starting: exit 130 and a report marked interrupted, no connection made', async () => {
    server = await startWsServer();
    const file = writeScenario(
      tempDir(),
      `name: early
target: ${server.url}
load: {model: connections, connections: 3, duration: 60s}
steps:
  - send: x
    expect: {text: x}
`,
    );
    // The fault holds the command before it parses its flags, after saying so: the signal
    // surely lands while volley is starting (before, it killed the process with no report).
    const run = runCli(['run', file, '--quiet'], { env: { VOLLEY_FAULT: 'startup-delay:1500' } });
    await run.waitFor('starting (VOLLEY_FAULT', 10_000);
    run.child.kill('SIGINT');
    const res = await run.done;
    expect(res.signal, res.stderr).toBeNull();
    expect(res.code, res.stderr).toBe(130);
    expect(res.report?.interrupted).toBe(true);
    expect(res.stdout).toContain('INTERRUPTED');
    expect(counter(res.report!, 'sessions_started')).toBe(0);
    expect(server.connections).toBe(0);
  });

  it('a second SIGINT cuts sessions at once and still writes the report; SIGTERM behaves as SIGINT', async () => {
    server = await startWsServer();
    // Endless sessions and a long gracefulStop: only the second signal can end this quickly.
    const file = writeScenario(
      tempDir(),
      `name: twice
target: ${server.url}
load: {model: connections, connections: 2, duration: 60s, gracefulStop: 60s}
steps:
  - loop:
      duration: 10m
      every: 40ms
      steps:
        - send: "x"
          expect: {text: "x", timeout: 2s}
`,
    );
    const run = runCli(['run', file, '--workers', '1']);
    const s = server;
    await until(() => s.framesReceived >= 10, 20_000, 'the server to see traffic');
    run.child.kill('SIGTERM');
    await run.waitFor('stopping', 5000);
    const secondAt = Date.now();
    run.child.kill('SIGINT');
    const res = await run.done;
    expect(res.code, res.stderr).toBe(130);
    expect(Date.now() - secondAt).toBeLessThan(5000);
    expect(res.report?.interrupted).toBe(true);
    expect(counter(res.report, 'frames_sent')).toBeGreaterThanOrEqual(10);
    // A hard stop is not a failure of the server: no error is charged to it.
    expect(counter(res.report, 'errors')).toBe(0);
  });
});
