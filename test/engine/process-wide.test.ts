// What belongs to the whole run, not to one worker thread: the maxConnections cap of the open
// model, the CSV rows handed out in order, abortOnFail judged on data, and the report's rates.
// Each runs with 2 workers, where a per-worker split would show.

import { mkdtempSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocketServer } from 'ws';
import { runScenario } from '../../src/engine/coordinator.js';
import { counter } from '../helpers/metrics.js';

interface SeenServer {
  url: string;
  frames: string[];
  maxOpen: number;
  close(): Promise<void>;
}

/** Echoes each frame; a frame "hold N …" with an odd N is echoed after holdMs. */
async function startServer(holdMs = 0): Promise<SeenServer> {
  const httpServer = http.createServer();
  const wss = new WebSocketServer({ server: httpServer });
  await new Promise<void>((r) => httpServer.listen(0, '127.0.0.1', r));
  let open = 0;
  const seen: SeenServer = {
    url: `ws://127.0.0.1:${(httpServer.address() as AddressInfo).port}/`,
    frames: [],
    maxOpen: 0,
    close: async () => {
      for (const c of wss.clients) c.terminate();
      await new Promise<void>((r) => wss.close(() => r()));
      await new Promise<void>((r) => httpServer.close(() => r()));
    },
  };
  wss.on('connection', (ws) => {
    seen.maxOpen = Math.max(seen.maxOpen, ++open);
    ws.on('close', () => open--);
    ws.on('message', (data) => {
      const text = data.toString();
      seen.frames.push(text);
      const n = Number(/^hold (\d+)/.exec(text)?.[1] ?? 0);
      setTimeout(() => ws.readyState === ws.OPEN && ws.send(text), n % 2 === 1 ? holdMs : 0);
    });
  });
  return seen;
}

let server: SeenServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

describe('across the workers of one run', () => {
  it('maxConnections caps the whole run: a start is dropped only when that many sessions run', async () => {
    // Arrivals every 250 ms (vu 1..8); odd sessions are held 2 s, even ones answered at once.
    // vu1 and vu3 fill the cap of 2 until after the last arrival: vu2 runs, vu4..vu8 drop,
    // however the arrivals fall between the two workers.
    server = await startServer(2000);
    const source = `
name: cap
target: ${server.url}
load: {model: arrival-rate, rate: 4, duration: 2s, maxConnections: 2, gracefulStop: 4s}
steps:
  - send: "hold \${vu}"
    expect: {text: "hold \${vu}", timeout: 5s}
  - close: {code: 1000}
`;
    const { report } = await runScenario({ file: '<inline>', source, workers: 2 });
    expect(server.maxOpen).toBeLessThanOrEqual(2);
    expect(server.frames.sort()).toEqual(['hold 1', 'hold 2', 'hold 3']);
    expect(counter(report, 'sessions_started')).toBe(3);
    expect(counter(report, 'sessions_dropped')).toBe(5);
  });

  it('a worker that dies gives its places under maxConnections back to the others', async () => {
    // Sessions of 700 ms arriving every 100 ms, cap 2: the cap is always full. Worker 1 dies at
    // 1.1 s holding one or two of the places; worker 0 alone must fill both again afterwards.
    const opened: number[] = [];
    const closed: number[] = [];
    const httpServer = http.createServer();
    const wss = new WebSocketServer({ server: httpServer });
    await new Promise<void>((r) => httpServer.listen(0, '127.0.0.1', r));
    wss.on('connection', (ws) => {
      opened.push(performance.now());
      ws.on('close', () => closed.push(performance.now()));
    });
    server = {
      url: `ws://127.0.0.1:${(httpServer.address() as AddressInfo).port}/`,
      frames: [],
      maxOpen: 0,
      close: async () => {
        for (const c of wss.clients) c.terminate();
        await new Promise<void>((r) => wss.close(() => r()));
        await new Promise<void>((r) => httpServer.close(() => r()));
      },
    };
    const source = `
name: dead-worker-cap
target: ${server.url}
load: {model: arrival-rate, rate: 10, duration: 3500ms, maxConnections: 2, gracefulStop: 2s}
steps:
  - think: 700ms
`;
    const { report } = await runScenario({ file: '<inline>', source, workers: 2, env: { VOLLEY_FAULT: 'worker-throw:1:1100' } });
    expect(counter(report, 'errors{kind:worker_died}')).toBe(1);
    // Open connections at each opening from 1.8 s on (the dead worker's sockets long gone).
    const from = opened[0]! + 1800;
    let most = 0;
    for (const t of opened) {
      if (t < from) continue;
      const open = opened.filter((o) => o <= t).length - closed.filter((c) => c <= t).length;
      most = Math.max(most, open);
    }
    expect(most).toBe(2);
  });

  it('order: sequential hands every CSV row out once before any repeats', async () => {
    server = await startServer();
    const dir = mkdtempSync(path.join(os.tmpdir(), 'volley-rows-'));
    writeFileSync(path.join(dir, 'users.csv'), 'name\n' + Array.from({ length: 6 }, (_, i) => `u${i}`).join('\n') + '\n');
    const file = path.join(dir, 'rows.yaml');
    const source = `
name: rows
target: ${server.url}
data: {file: users.csv, order: sequential}
load: {connections: 3, iterations: 2}
steps:
  - send: "row \${data.name}"
    expect: {text: "row \${data.name}"}
`;
    writeFileSync(file, source);
    await runScenario({ file, source, workers: 2 });
    expect(server.frames.sort()).toEqual(['row u0', 'row u1', 'row u2', 'row u3', 'row u4', 'row u5']);
  });
});

describe('abortOnFail and rates', () => {
  it('abortOnFail waits for data: a step that first runs after 2.5 s does not abort the run at 1 s', async () => {
    server = await startServer();
    const source = `
name: late-step
target: ${server.url}
load: {connections: 2, iterations: 1}
steps:
  - think: 2500ms
  - send: "late"
    expect: {text: "late"}
    name: say
thresholds:
  latency{name:say}: [{threshold: "p(99) < 1s", abortOnFail: true}]
`;
    const { report } = await runScenario({ file: '<inline>', source, workers: 2 });
    expect(report.aborted).toBe(false);
    expect(report.thresholds.map((t) => t.ok)).toEqual([true]);
    expect(counter(report, 'frames_received')).toBe(2);
  });

  it('only the threshold that stopped the run is marked aborted; every rate is count / durationS', async () => {
    server = await startServer();
    const source = `
name: which-aborted
target: ${server.url}
load: {connections: 2, duration: 20s, gracefulStop: 1s}
steps:
  - loop:
      duration: 30s
      every: 50ms
      steps:
        - send: "s \${iter}"
          expect: {text: "s \${iter}", timeout: 1s}
          name: say
thresholds:
  latency{name:say}: [{threshold: "p(99) < 0.001ms", abortOnFail: true, delayAbortEval: 15s}]
  frames_sent: [{threshold: "count < 20", abortOnFail: true, delayAbortEval: 1s}]
`;
    const { report } = await runScenario({ file: '<inline>', source, workers: 2 });
    expect(report.aborted).toBe(true);
    expect(report.durationS).toBeLessThan(10);
    const byMetric = Object.fromEntries(report.thresholds.map((t) => [t.metric, t]));
    expect(byMetric['frames_sent']).toMatchObject({ ok: false, aborted: true });
    // It fails too, but it was still inside its 15 s delay when the run stopped.
    expect(byMetric['latency{name:say}']!.ok).toBe(false);
    expect(byMetric['latency{name:say}']!.aborted).toBeUndefined();
    for (const [key, m] of Object.entries(report.metrics)) {
      if (m.type === 'counter') expect(m.rate, key).toBeCloseTo(m.count / report.durationS, 9);
    }
  });
});
