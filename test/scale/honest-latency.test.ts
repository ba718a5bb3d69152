// Honest numbers under load: coordinated omission corrected, dropped arrivals counted, and the
// load generator saying when it is the bottleneck. Real servers on loopback; no timed
// assertion on speed (the bounds below are about what is measured, with wide margins).
import { afterEach, describe, expect, it } from 'vitest';
import { runScenario } from '../../src/engine/coordinator.js';
import type { GaugeJson } from '../../src/report/types.js';
import { counter, trend } from '../helpers/metrics.js';
import { startEchoServer, startEchoThenBulkServer, startJsonFloodServer, startStallingEchoServer } from './servers.js';
import type { TestServer } from './servers.js';

let server: TestServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

describe('honest latency', () => {
  it('a server that stalls 1 s every 4 s shows in latency p90 while service_time stays low (paced loop)', async () => {
    server = await startStallingEchoServer({ periodMs: 4000, stallMs: 1000, firstStallAtMs: 1500 });
    // 8 s of 100 ms pacing: two stalls cover about a quarter of the intended sends. Each stall
    // delays one in-flight send per session (service_time) but makes every send intended
    // during it late (latency, counted from the intended time).
    const source = `
name: stall
target: ${server.url}
load: {model: connections, connections: 10, iterations: 1}
steps:
  - loop:
      count: 80
      every: 100ms
      steps:
        - send: "s \${iter}"
          expect: {text: "s \${iter}", timeout: 5s}
          name: echo
`;
    const { report } = await runScenario({ file: '<inline>', source, workers: 1 });
    const m = report.metrics;
    const latency = trend(m, 'latency{name:echo}');
    const service = trend(m, 'service_time{name:echo}');
    expect(latency.count).toBe(800);
    expect(service.count).toBe(800);
    expect(counter(m, 'errors')).toBe(0);
    // About 20 of every 80 intended sends fall in a stall and wait 0.1-1 s for its end.
    expect(latency.p90).toBeGreaterThan(400);
    expect(latency.max).toBeGreaterThan(800);
    // Only the sends in flight when a stall began (about 2 of 80) took long to be answered.
    expect(service.p90).toBeLessThan(250);
    expect(service.max).toBeGreaterThan(800);
    expect(latency.p90).toBeGreaterThan(service.p90 * 2);
  }, 30_000);

  it('arrival-rate past maxConnections counts sessions_dropped and never queues a start', async () => {
    server = await startEchoServer();
    // 100 arrivals in 2 s, each session lives about 1 s: about 50 would be live at once, so
    // with a cap of 5 most arrivals find no room and must be dropped, not started later.
    const source = `
name: dropped
target: ${server.url}
load: {model: arrival-rate, rate: 50, duration: 2s, maxConnections: 5, gracefulStop: 3s}
steps:
  - send: "hi \${vu}"
    expect: {text: "hi \${vu}", timeout: 2s}
  - think: 1s
`;
    const { report } = await runScenario({ file: '<inline>', source, workers: 1 });
    const m = report.metrics;
    const started = counter(m, 'sessions_started');
    const dropped = counter(m, 'sessions_dropped');
    expect(started + dropped).toBe(100);
    expect(dropped).toBeGreaterThan(50);
    expect(started).toBeGreaterThanOrEqual(5);
    expect((m['active_connections'] as GaugeJson).max).toBeLessThanOrEqual(5);
    // Every started session finished: a start was never postponed past the schedule.
    expect(counter(m, 'sessions_completed')).toBe(started);
    // One session runs ~1 s, so a cap of 5 over 2 s admits at most about 5 x 3 of them.
    expect(started).toBeLessThanOrEqual(20);
  }, 30_000);

  it('arrival-rate: a session that starts late carries the lateness in connect, not in the latency of its sends', async () => {
    // Each session's echo is followed by a 4 MB JSON frame the worker parses (to test the next
    // matcher): its event loop is busy tens of ms at a time, so arrivals start late. Without
    // pacing a send's intended time is when it is sent: latency equals service_time.
    server = await startEchoThenBulkServer({ frameBytes: 4_000_000 });
    const source = `
name: late-starts
target: ${server.url}
load: {model: arrival-rate, rate: 25, duration: 2s, maxConnections: 100, gracefulStop: 3s}
steps:
  - send: "hi \${vu}"
    expect: {text: "hi \${vu}", timeout: 5s}
    name: echo
  - expect: {json: {type: never}, timeout: 100ms}
`;
    const { report } = await runScenario({ file: '<inline>', source, workers: 1 });
    const m = report.metrics;
    // Every planned arrival started (none lost to a late timer at the end), none dropped.
    expect(counter(m, 'sessions_started')).toBe(50);
    // The lateness happened (connect includes it; a loopback connect alone takes ~1 ms)...
    expect(trend(m, 'connect').max).toBeGreaterThan(5);
    // ...and is not in the sends' latency.
    const latency = trend(m, 'latency{name:echo}');
    const service = trend(m, 'service_time{name:echo}');
    expect(latency.count).toBe(50);
    expect(latency.max).toBe(service.max);
    expect(latency.p99).toBe(service.p99);
    expect(latency.p50).toBe(service.p50);
  }, 30_000);

  it('says the load generator is the limit when its worker is too busy to keep up', async () => {
    // Honest overload: the scenario waits for a frame that never comes while the server pushes
    // 4 MB JSON frames back to back; the single worker parses every one to test the matcher,
    // so its event loop lags by tens of ms per frame.
    server = await startJsonFloodServer({ frameBytes: 4_000_000, sendForMs: 6000 });
    const source = `
name: busy-client
target: ${server.url}
load: {model: connections, connections: 4, iterations: 1}
steps:
  - expect: {json: {type: never}, timeout: 5s}
    name: scan
`;
    const warnings: string[] = [];
    const { report } = await runScenario({ file: '<inline>', source, workers: 1, onWarning: (w) => warnings.push(w) });
    expect(counter(report.metrics, 'frames_skipped')).toBeGreaterThan(0);
    expect(counter(report.metrics, 'errors{kind:expect_timeout}')).toBe(4);
    expect(report.harness.limited).toBe(true);
    expect(report.harness.warnings?.join(' ')).toMatch(/limited by the load generator/);
    expect(warnings.join('\n')).toMatch(/load generator is saturated/);
  }, 30_000);
});
