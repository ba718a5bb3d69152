// A worker thread that throws: the coordinator names it and the sessions it owned, keeps the
// metrics it already shipped, and either carries on with the others (default) or stops the run
// (--fail-fast). Either way the exit code is 3 and the report is written. The fault is injected
// through VOLLEY_FAULT (an uncaught throw in a timer, as a bug in a socket callback would be).

import { afterEach, describe, expect, it } from 'vitest';
import { counter, errorKinds, runCli, startWsServer, tempDir, writeScenario } from './helpers.js';
import type { TestServer } from './helpers.js';

let server: TestServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

function scenario(url: string): string {
  return writeScenario(
    tempDir(),
    `name: worker-dies
target: ${url}
load: {model: connections, connections: 4, duration: 3s, gracefulStop: 1s}
steps:
  - loop:
      count: 10
      every: 30ms
      steps:
        - send: "x \${iter}"
          expect: {text: "x \${iter}", timeout: 1s}
`,
  );
}

describe('a worker that dies', () => {
  it('by default the others carry on; the dead one is named with its sessions; exit 3', async () => {
    server = await startWsServer();
    const res = await runCli(['run', scenario(server.url), '--workers', '2', '--quiet'], { env: { VOLLEY_FAULT: 'worker-throw:1:1000' } }).done;
    expect(res.code, res.stderr).toBe(3);
    expect(res.stderr).toMatch(/worker 1 died \(Error: injected fault.*\); its sessions \(vu 2, 4 of 4, [12] running\) were lost, the other workers carried on/);
    expect(res.stderr).not.toMatch(/\n\s+at /);
    const r = res.report!;
    expect(errorKinds(r)).toEqual({ worker_died: 1 });
    expect(r.errors[0]!.first).toMatch(/worker 1 \(vu 2, 4 of 4\) died/);
    // The survivor ran to the end: the run lasted its planned duration.
    expect(r.durationS).toBeGreaterThanOrEqual(3);
    // What the dead worker shipped is kept; only its last unshipped second can be missing.
    expect(counter(r, 'frames_sent')).toBeGreaterThan(0);
    expect(counter(r, 'frames_sent')).toBeLessThanOrEqual(server.framesReceived);
  });

  it('--fail-fast stops the run when a worker dies', async () => {
    server = await startWsServer();
    const res = await runCli(['run', scenario(server.url), '--workers', '2', '--quiet', '--fail-fast'], {
      env: { VOLLEY_FAULT: 'worker-throw:0:800' },
    }).done;
    expect(res.code, res.stderr).toBe(3);
    expect(res.stderr).toMatch(/worker 0 died .* the run was stopped \(--fail-fast\)/);
    expect(res.report!.durationS).toBeLessThan(2.5);
    expect(errorKinds(res.report)).toEqual({ worker_died: 1 });
  });
});
