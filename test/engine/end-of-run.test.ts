// The end of a run is where the plan says: gracefulStop, then the cut. A server that never
// answers the close (it stopped reading) and keeps pushing held a run 10 s past its cut
// (durationS 13 for a 2 s + 1 s run, every rate divided by 13).

import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { afterEach, describe, expect, it } from 'vitest';
import { runScenario } from '../../src/engine/coordinator.js';
import { counter } from '../helpers/metrics.js';
import { reply, startCountingServer } from '../helpers/ws-servers.js';
import type { CountingServer } from '../helpers/ws-servers.js';

let server: CountingServer | undefined;
const timers: NodeJS.Timeout[] = [];
afterEach(async () => {
  for (const t of timers) clearInterval(t);
  timers.length = 0;
  await server?.close();
  server = undefined;
});

describe('the end of a run', () => {
  it('a deaf, pushing server cannot hold the run past gracefulStop for long', async () => {
    server = await startCountingServer(() => {}, {
      onConnection: (ws, s) => {
        // Stops reading at once (so it never sees, nor answers, a close) and pushes every 100 ms.
        (ws as unknown as { _socket: Socket })._socket.pause();
        timers.push(setInterval(() => reply(ws, s, 'tick'), 100));
      },
    });
    const source = `
name: deaf
target: ${server.url}
load: {model: connections, connections: 3, duration: 2s, gracefulStop: 1s}
steps:
  - expect: {text: never, timeout: 60s}
`;
    const started = performance.now();
    const { report } = await runScenario({ file: '<inline>', source, workers: 1 });
    const tookS = (performance.now() - started) / 1000;
    expect(counter(report, 'sessions_interrupted')).toBe(3);
    // 2 s + 1 s of gracefulStop + at most 0.5 s for the polite close (10 s before).
    expect(report.durationS).toBeLessThan(4.5);
    expect(tookS).toBeLessThan(6);
  }, 20_000);
});
