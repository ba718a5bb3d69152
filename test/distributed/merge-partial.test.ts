// Shards' reports say which segment they ran: `volley merge` warns when some are missing and
// records the segments it holds; loads print as people write them (25 sessions/s, not
// 24.999999999999996), and a segment of a connection ramp states the whole slots it holds.

import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runScenario } from '../../src/engine/coordinator.js';
import type { CountingServer } from './helpers.js';
import { readJson, startCountingServer, tempDir, volley } from './helpers.js';

let server: CountingServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

function rateScenario(target: string): string {
  return `name: rate
target: ${target}
load: {model: arrival-rate, rate: 25, duration: 1s, maxConnections: 30, gracefulStop: 5s}
steps:
  - send: "join r-\${vu} \${vu}"
    expect: {match: "^join ", timeout: 5s}
`;
}

describe('volley merge of arrival-rate shards', () => {
  it('2 of 3 shards: merged (exit 0) with a warning naming 3/3 and load.segments; all 3: no warning, 25 sessions/s', async () => {
    server = await startCountingServer();
    const dir = tempDir();
    writeFileSync(path.join(dir, 'rate.yaml'), rateScenario(server.url));
    const shards = await Promise.all(
      [1, 2, 3].map((i) => volley(['run', 'rate.yaml', '--segment', `${i}/3`, '--out', `s${i}`, '--workers', '1', '--quiet', '--no-html'], { cwd: dir }).done),
    );
    for (const r of shards) expect(r.code, r.stderr).toBe(0);
    // A segment's rate is its exact share; the console prints it readably.
    const s1 = readJson(path.join(dir, 's1', 'report.json'));
    expect(s1.load.rate).toBeCloseTo(25 / 3, 9);

    const partial = await volley(['merge', 's1/report.json', 's2/report.json', '-o', 'partial.json'], { cwd: dir }).done;
    expect(partial.code, partial.stderr).toBe(0);
    expect(partial.stderr).toContain('volley merge: warning: shard 3/3 missing: the merged report holds 1/3, 2/3, not the whole load');
    const p = readJson(path.join(dir, 'partial.json'));
    expect(p.load.segments).toEqual(['1/3', '2/3']);
    expect(partial.stdout).toContain('16.67 sessions/s');
    expect(partial.stdout).toContain('only shards 1/3, 2/3');

    const whole = await volley(['merge', 's3/report.json', 's1/report.json', 's2/report.json', '-o', 'whole.json'], { cwd: dir }).done;
    expect(whole.code, whole.stderr).toBe(0);
    expect(whole.stderr).not.toContain('missing');
    const w = readJson(path.join(dir, 'whole.json'));
    expect(w.load.segments).toEqual(['1/3', '2/3', '3/3']);
    expect(w.load.rate).toBe(25);
    expect(w.load.plannedSessions).toBe(25);
    expect(whole.stdout).toContain(' 25 sessions/s for 1s');
    expect(whole.stdout).not.toMatch(/\d\.\d{3,} sessions\/s/);
  }, 60_000);
});

describe('a segment of a connection ramp', () => {
  it('states each stage target as the whole slots it holds: 5 over 2 segments is 3 and 2', async () => {
    server = await startCountingServer();
    const source = `name: ramp
target: ${server.url}
load: {stages: [{duration: 500ms, target: 5}, {duration: 500ms, target: 5}], gracefulStop: 2s}
steps:
  - send: "join x-\${vu} \${vu}"
    expect: {match: "^join ", timeout: 5s}
  - think: 100ms
`;
    const targets: number[][] = [];
    for (const index of [0, 1]) {
      const { report } = await runScenario({ file: '<inline>', source, workers: 1, segment: { index, count: 2 } });
      expect(report.load.connections).toBe(index === 0 ? 3 : 2);
      // The harness keeps, per worker, the CPU figure its verdict compares with the limit.
      expect(report.harness.workers![0]!.cpuBusyPercent).toEqual(expect.any(Number));
      targets.push(report.load.stages!.map((s) => s.target));
    }
    expect(targets).toEqual([
      [3, 3],
      [2, 2],
    ]);
  }, 60_000);
});
