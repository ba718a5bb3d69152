import { afterEach, describe, expect, it } from 'vitest';
import { runScenario } from '../../src/engine/coordinator.js';
import { MetricsAggregator } from '../../src/metrics/aggregate.js';
import { MetricsRegistry } from '../../src/metrics/registry.js';
import type { GaugeJson } from '../../src/report/types.js';
import { counter } from '../helpers/metrics.js';
import { WebSocketServer } from 'ws';
import type { AddressInfo } from 'node:net';

describe('active_connections keeps peaks that open and close between two snapshots', () => {
  it('three sessions shorter than a second show as a peak of 3 although every sample reads 0', () => {
    const reg = new MetricsRegistry();
    const agg = new MetricsAggregator({ startedAtEpochMs: 0 });
    for (let i = 0; i < 3; i++) reg.connectionOpened();
    for (let i = 0; i < 3; i++) reg.connectionClosed();
    agg.add(0, 1, reg.takeSnapshot());
    agg.add(0, 2, reg.takeSnapshot());
    const gauge = agg.metrics(2)['active_connections'] as GaugeJson;
    expect(agg.timeseries().map((p) => p.active)).toEqual([0, 0]);
    expect(gauge.value).toBe(0);
    expect(gauge.max).toBe(3);
  });

  it('two workers: one worker’s peak plus what the other held throughout, not the sum of both peaks', () => {
    const a = new MetricsRegistry();
    const b = new MetricsRegistry();
    const agg = new MetricsAggregator({ startedAtEpochMs: 0 });
    a.connectionOpened();
    a.connectionOpened();
    b.connectionOpened();
    b.connectionClosed();
    agg.add(0, 1, a.takeSnapshot());
    agg.add(1, 1, b.takeSnapshot());
    // b's one connection may have come and gone before a opened its second: only 2 is certain.
    expect((agg.metrics(1)['active_connections'] as GaugeJson).max).toBe(2);
  });

  it('two workers that each peak at 2 while the other is down to 1 never report 4', () => {
    const a = new MetricsRegistry();
    const b = new MetricsRegistry();
    const agg = new MetricsAggregator({ startedAtEpochMs: 0 });
    a.connectionOpened();
    b.connectionOpened();
    agg.add(0, 1, a.takeSnapshot());
    agg.add(1, 1, b.takeSnapshot());
    // Second 2: a goes 1 -> 2 -> 1 while b is at 1, then b goes 1 -> 2 -> 1 while a is at 1.
    a.connectionOpened();
    a.connectionClosed();
    b.connectionOpened();
    b.connectionClosed();
    agg.add(0, 2, a.takeSnapshot());
    agg.add(1, 2, b.takeSnapshot());
    expect((agg.metrics(2)['active_connections'] as GaugeJson).max).toBe(3);
  });
});

describe('active_connections against a real server under maxConnections', () => {
  let server: { close(): Promise<void> } | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  /** An echo server that counts its own open sockets: up on connection, down on close. */
  async function startPeakCountingEcho(): Promise<{ url: string; readonly peak: number }> {
    let open = 0;
    let peak = 0;
    const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await new Promise<void>((r) => wss.once('listening', () => r()));
    server = { close: () => new Promise<void>((r) => wss.close(() => r())) };
    wss.on('connection', (ws) => {
      open++;
      peak = Math.max(peak, open);
      ws.on('close', () => open--);
      ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
    });
    return {
      url: `ws://127.0.0.1:${(wss.address() as AddressInfo).port}/`,
      get peak() {
        return peak;
      },
    };
  }

  it('2 workers, arrival-rate, maxConnections 3: the reported max is the server’s peak, never above 3', async () => {
    const echo = await startPeakCountingEcho();
    const url = echo.url;
    const source = `
name: capped
target: ${url}
load: {model: arrival-rate, rate: 20, duration: 3s, maxConnections: 3, gracefulStop: 3s}
steps:
  - send: x
    expect: {text: x, timeout: 2s}
    name: s
  - think: 800ms
`;
    const { report } = await runScenario({ file: '<inline>', source, workers: 2 });
    const gauge = report.metrics['active_connections'] as GaugeJson;
    expect(counter(report, 'sessions_dropped')).toBeGreaterThan(0);
    expect(echo.peak).toBe(3);
    expect(gauge.max).toBeLessThanOrEqual(3);
    expect(gauge.max).toBe(echo.peak);
  });

  it('2 workers, 6 sessions of 1 s opened together: the reported max is the peak both workers reached together (6)', async () => {
    // Each worker's snapshot reads 3 at most while the other's may have read 0 in the same
    // second, so only the process-wide count (shared between the workers) can tell 6.
    const echo = await startPeakCountingEcho();
    const url = echo.url;
    const source = `
name: together
target: ${url}
load: {connections: 6, iterations: 1}
steps:
  - send: x
    expect: {text: x, timeout: 2s}
  - think: 1s
`;
    const { report } = await runScenario({ file: '<inline>', source, workers: 2 });
    const gauge = report.metrics['active_connections'] as GaugeJson;
    expect(counter(report, 'sessions_completed')).toBe(6);
    // All six overlap (each worker runs three: per-second snapshots could tell 3 at most).
    expect(echo.peak).toBe(6);
    expect(gauge.max).toBe(echo.peak);
    expect(gauge.value).toBe(0);
  });
});
