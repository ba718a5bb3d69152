// Shards without a cluster: three `volley run --segment i/3` processes side by side against one
// counting ws server, merged with `volley merge`; then `--processes 2` end to end, and Ctrl-C
// to its parent. The server's own counts are the reference for what the shards did.

import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { decodeHistogram, newHistogram, trendJsonFrom } from '../../src/metrics/hdr.js';
import type { ReportJson } from '../../src/report/types.js';
import type { CountingServer } from './helpers.js';
import { counter, readJson, startCountingServer, tempDir, until, volley } from './helpers.js';
import { trend } from '../helpers/metrics.js';

let server: CountingServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

const SHARDS = 3;
const CONNECTIONS = 6;
const SAY_COUNT = 15;
// Far from the threshold on both sides, so a busy machine cannot flip a verdict.
const SLOW_DELAY_MS = 200;

// Sessions (15 x 100 ms) outlast the 1 s duration, so every connection slot runs exactly one
// session and the frame counts are known in advance: 6 sessions x (1 join + 15 say).
const FRAMES_PER_SESSION = 1 + SAY_COUNT;

function shardScenario(target: string): string {
  return `name: shards
target: ${target}
load: {model: connections, connections: ${CONNECTIONS}, duration: 1s, gracefulStop: 10s}
data: {file: users.csv, order: sequential}
connect: {headers: {X-Shard: "\${env.SHARD}"}}
steps:
  - send: "join \${data.name} \${vu}"
    expect: {match: "^join ", timeout: 5s}
    name: join
  - loop:
      count: ${SAY_COUNT}
      every: 100ms
      steps:
        - send: "m \${iter} \${vu}"
          expect: {text: "m \${iter} \${vu}", timeout: 5s}
          name: say
  - close: {code: 1000}
thresholds:
  # Each shard sends 32 frames (passes); the whole sends 96 (fails).
  frames_sent: ["count < 60"]
  # Shard 3's users are all slow (fails there); two thirds of the whole are fast (passes).
  latency{name:say}: ["p(50) < 80ms"]
`;
}

// Rows are striped like connections: row k belongs to segment (k mod 3) + 1, so every row that
// segment 3 owns names a "slow" user.
const ROWS = Array.from({ length: 9 }, (_, k) => `${k % SHARDS === 2 ? 'slow' : 'user'}-${k}`);


describe('shards run side by side and merge losslessly', () => {
  it('three --segment processes: counts add up to the server, percentiles equal one histogram of every sample, thresholds judge the whole', async () => {
    server = await startCountingServer({ slowDelayMs: SLOW_DELAY_MS });
    const dir = tempDir();
    writeFileSync(path.join(dir, 'users.csv'), ['name', ...ROWS].join('\n') + '\n');
    writeFileSync(path.join(dir, 'shards.yaml'), shardScenario(server.url));

    const runs = Array.from({ length: SHARDS }, (_, i) =>
      volley(['run', 'shards.yaml', '--segment', `${i + 1}/${SHARDS}`, '--workers', '1', '--out', `shard-${i + 1}`, '--quiet', '--no-html'], {
        cwd: dir,
        env: { SHARD: String(i + 1) },
      }),
    );
    const results = await Promise.all(runs.map((r) => r.done));
    // Shards 1 and 2 pass both thresholds; shard 3 fails its latency threshold.
    expect(results.map((r) => r.code), results.map((r) => r.stderr).join('\n')).toEqual([0, 0, 1]);
    const files = results.map((_, i) => path.join(dir, `shard-${i + 1}`, 'report.json'));
    const shards = files.map(readJson);

    // Each shard ran its own third of the load.
    expect(shards.map((s) => s.load.connections)).toEqual([2, 2, 2]);
    expect(shards.map((s) => s.load.segment)).toEqual(['1/3', '2/3', '3/3']);

    const merge = await volley(['merge', ...files, '-o', 'merged.json'], { cwd: dir }).done;
    // The merged whole fails frames_sent (96 >= 60) although no shard did.
    expect(merge.code, merge.stderr).toBe(1);
    const merged = readJson(path.join(dir, 'merged.json'));
    expect(merged.mergedFrom).toEqual(files);
    expect(merged.load.connections).toBe(CONNECTIONS);

    // Counters: the sum of the shards, and what the server saw on its sockets.
    for (const key of ['frames_sent', 'frames_received', 'sessions_started', 'sessions_completed', 'bytes_sent', 'bytes_received']) {
      expect(counter(merged, key), key).toBe(shards.reduce((a, s) => a + counter(s, key), 0));
    }
    expect(counter(merged, 'frames_sent')).toBe(CONNECTIONS * FRAMES_PER_SESSION);
    expect(counter(merged, 'frames_sent')).toBe(server.framesReceived());
    expect(counter(merged, 'frames_received')).toBe(server.framesSent());
    expect(counter(merged, 'sessions_started')).toBe(server.connections.length);
    expect(counter(merged, 'errors')).toBe(0);

    // Trends: exactly what one histogram holding every shard's samples reports.
    const keys = Object.keys(merged.metrics).filter((k) => merged.metrics[k]!.type === 'trend');
    expect(keys).toContain('latency{name:say}');
    for (const key of keys) {
      const whole = newHistogram();
      for (const s of shards) whole.add(decodeHistogram(trend(s, key).hdr));
      const { hdr: _wholeHdr, ...expected } = trendJsonFrom(whole);
      const { hdr: mergedHdr, ...actual } = trend(merged, key);
      expect(actual, key).toEqual(expected);
      expect(decodeHistogram(mergedHdr).totalCount, key).toBe(shards.reduce((a, s) => a + trend(s, key).count, 0));
      expect(actual.max, key).toBe(Math.max(...shards.map((s) => trend(s, key).max)));
    }
    expect(trend(merged, 'latency{name:say}').count).toBe(CONNECTIONS * SAY_COUNT);

    // The shards' own verdicts, and the merged verdicts computed from the merged metrics.
    const verdict = (r: ReportJson, metric: string): boolean | undefined => r.thresholds.find((t) => t.metric === metric)?.ok;
    expect(shards.map((s) => verdict(s, 'frames_sent'))).toEqual([true, true, true]);
    expect(shards.map((s) => verdict(s, 'latency{name:say}'))).toEqual([true, true, false]);
    expect(verdict(merged, 'frames_sent')).toBe(false);
    expect(verdict(merged, 'latency{name:say}')).toBe(true);
    expect(merged.thresholds.find((t) => t.metric === 'frames_sent')?.actual).toBe(CONNECTIONS * FRAMES_PER_SESSION);

    // The gauge: the peak of the summed series lies between the largest shard's peak and the sum.
    const peak = (r: ReportJson): number => {
      const g = r.metrics['active_connections'];
      return g?.type === 'gauge' ? (g.max ?? g.value) : -1;
    };
    expect(peak(merged)).toBeGreaterThanOrEqual(Math.max(...shards.map(peak)));
    expect(peak(merged)).toBeLessThanOrEqual(shards.reduce((a, s) => a + peak(s), 0));

    // Data rows and ${vu}: each shard used its own stripe of rows, and no vu repeats across shards.
    expect(server.connections).toHaveLength(CONNECTIONS);
    const byShard = new Map<string, { names: string[]; vus: number[] }>();
    for (const c of server.connections) {
      expect(c.name, 'every connection sent its join first').toBeDefined();
      const entry = byShard.get(c.shard ?? '?') ?? { names: [], vus: [] };
      entry.names.push(c.name!);
      entry.vus.push(c.vu!);
      byShard.set(c.shard ?? '?', entry);
    }
    expect([...byShard.keys()].sort()).toEqual(['1', '2', '3']);
    for (const [shard, { names }] of byShard) {
      expect(names.length, `shard ${shard}`).toBe(CONNECTIONS / SHARDS);
      for (const name of names) expect(Number(name.split('-')[1]) % SHARDS, `${name} in shard ${shard}`).toBe(Number(shard) - 1);
    }
    const allNames = server.connections.map((c) => c.name);
    expect(new Set(allNames).size).toBe(allNames.length);
    const allVus = server.connections.map((c) => c.vu!).sort((a, b) => a - b);
    expect(allVus).toEqual([1, 2, 3, 4, 5, 6]);
  }, 90_000);
});

// Short finite sessions for the --processes runs (no per-shard env needed).
function processesScenario(target: string, durationS: number, connections: number): string {
  return `name: processes
target: ${target}
load: {model: connections, connections: ${connections}, duration: ${durationS}s, gracefulStop: 5s}
steps:
  - send: "join p-\${vu} \${vu}"
    expect: {match: "^join ", timeout: 5s}
  - loop:
      count: 10
      every: 50ms
      steps:
        - send: "n \${iter} vu \${vu}"
          expect: {text: "n \${iter} vu \${vu}", timeout: 5s}
          name: say
  - close: {code: 1000}
thresholds:
  errors: ["count == 0"]
`;
}

describe('volley run --processes', () => {
  it('--processes 2: exit 0, a merged report whose counts equal the server and the shards, shard reports beside it', async () => {
    server = await startCountingServer();
    const dir = tempDir();
    writeFileSync(path.join(dir, 'p.yaml'), processesScenario(server.url, 2, 4));
    const res = await volley(['run', 'p.yaml', '--processes', '2', '--workers', '1', '--out', 'out', '--quiet', '--no-html'], { cwd: dir }).done;
    expect(res.code, res.stderr).toBe(0);
    const out = path.join(dir, 'out');
    const shardFiles = [1, 2].map((i) => path.join(out, `shard-${i}-of-2`, 'report.json'));
    for (const f of shardFiles) expect(existsSync(f), f).toBe(true);
    const shards = shardFiles.map(readJson);
    const merged = readJson(path.join(out, 'report.json'));

    expect(shards.map((s) => s.load.segment)).toEqual(['1/2', '2/2']);
    expect(merged.load.connections).toBe(4);
    expect(merged.environment.processes).toBe(2);
    expect(merged.mergedFrom).toHaveLength(2);
    expect(merged.interrupted).toBeFalsy();
    expect(merged.thresholds).toEqual([expect.objectContaining({ metric: 'errors', ok: true })]);
    for (const key of ['frames_sent', 'frames_received', 'sessions_started']) {
      expect(counter(merged, key), key).toBe(counter(shards[0]!, key) + counter(shards[1]!, key));
    }
    expect(counter(merged, 'frames_sent')).toBeGreaterThan(0);
    expect(counter(merged, 'frames_sent')).toBe(server.framesReceived());
    expect(counter(merged, 'frames_received')).toBe(server.framesSent());
    expect(counter(merged, 'sessions_started')).toBe(server.connections.length);
    // The two processes' vus never collide.
    const vus = server.connections.map((c) => c.vu);
    const perProcess = [1, 2].map((i) => new Set(vus.filter((v) => v !== undefined && (v - 1) % 2 === i - 1)));
    expect(perProcess[0]!.size + perProcess[1]!.size).toBe(4);
    expect(trend(merged, 'latency{name:say}').count).toBe(trend(shards[0]!, 'latency{name:say}').count + trend(shards[1]!, 'latency{name:say}').count);
    // The children wait for each other before they start (a start barrier): one start instant,
    // not two start-ups hundreds of ms apart whose first seconds under-state the load.
    const starts = shards.map((s) => Date.parse(s.startedAt));
    // (Both take the parent's start time unless one reads it 200 ms late; 270-440 ms apart before.)
    expect(Math.abs(starts[0]! - starts[1]!)).toBeLessThanOrEqual(100);
  }, 60_000);

  it('SIGINT to the parent: children stop, the parent merges what they wrote and exits 130', async () => {
    server = await startCountingServer();
    const dir = tempDir();
    writeFileSync(path.join(dir, 'p.yaml'), processesScenario(server.url, 60, 4));
    const run = volley(['run', 'p.yaml', '--processes', '2', '--workers', '1', '--out', 'out', '--quiet', '--no-html'], { cwd: dir });
    const s = server;
    // Traffic from both processes (vus 1..4 stripe across them) before the interrupt.
    await until(() => s.framesReceived() >= 60 && new Set(s.connections.map((c) => (c.vu ?? 0) % 2)).size === 2, 30_000, 'traffic from both processes');
    const signalledAt = Date.now();
    run.child.kill('SIGINT');
    const res = await run.done;
    expect(res.code, res.stderr).toBe(130);
    expect(Date.now() - signalledAt).toBeLessThan(20_000);
    const out = path.join(dir, 'out');
    for (const i of [1, 2]) expect(existsSync(path.join(out, `shard-${i}-of-2`, 'report.json'))).toBe(true);
    const merged = readJson(path.join(out, 'report.json'));
    expect(merged.interrupted).toBe(true);
    expect(merged.mergedFrom).toHaveLength(2);
    // Sessions finish within gracefulStop after the signal, so nothing is in flight: the merged
    // counts are exactly the server's.
    expect(counter(merged, 'frames_sent')).toBeGreaterThanOrEqual(60);
    expect(counter(merged, 'frames_sent')).toBe(s.framesReceived());
    expect(counter(merged, 'frames_received')).toBe(s.framesSent());
  }, 60_000);
});
