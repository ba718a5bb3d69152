// `volley merge` exits as `volley run` (and --processes) would for the same outcome, so a merge
// Job can gate on it: 3 when no shard opened a connection, 1 when a shard was stopped by an
// abortOnFail threshold (it printed FAILED and exited 0 for both).

import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { CountingServer } from './helpers.js';
import { readJson, startCountingServer, tempDir, volley } from './helpers.js';

let server: CountingServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

const shards = (dir: string, file: string, n: number) =>
  Promise.all(
    Array.from({ length: n }, (_, k) =>
      volley(['run', file, '--segment', `${k + 1}/${n}`, '--out', `s${k + 1}`, '--workers', '1', '--quiet', '--no-html'], { cwd: dir }).done,
    ),
  );

describe('volley merge exit codes', () => {
  it('no shard opened a connection: exit 3, as each shard did', async () => {
    const dir = tempDir();
    writeFileSync(
      path.join(dir, 'refused.yaml'),
      `name: refused
target: ws://127.0.0.1:1/
load: {model: connections, connections: 2, duration: 1s}
steps:
  - send: hi
`,
    );
    for (const r of await shards(dir, 'refused.yaml', 2)) expect(r.code, r.stderr).toBe(3);
    const m = await volley(['merge', 's1/report.json', 's2/report.json', '-o', 'm.json'], { cwd: dir }).done;
    expect(m.code, m.stderr).toBe(3);
    expect(m.stderr).toMatch(/no shard opened a connection to ws:\/\/127\.0\.0\.1:1\//);
  }, 30_000);

  it('a shard stopped by abortOnFail: the merged run failed (exit 1) even though every threshold holds on the whole', async () => {
    server = await startCountingServer({ slowDelayMs: 400 });
    const dir = tempDir();
    // vu 1 (shard 1/2) is "slow": its latency trips the per-shard abort; vu 2 is fast.
    writeFileSync(
      path.join(dir, 'abort.yaml'),
      `name: abort
target: ${server.url}
load: {model: connections, connections: 2, duration: 6s, gracefulStop: 1s}
steps:
  - send: "join \${data.user} \${vu}"
    expect: {match: "^join ", timeout: 5s}
    name: join
  - think: 100ms
data: {file: users.csv}
thresholds:
  latency{name:join}: [{threshold: "p(50) < 300ms", abortOnFail: true}]
`,
    );
    writeFileSync(path.join(dir, 'users.csv'), 'user\nslow-1\nfast-2\n');
    const runs = await shards(dir, 'abort.yaml', 2);
    const reports = [readJson(path.join(dir, 's1', 'report.json')), readJson(path.join(dir, 's2', 'report.json'))];
    expect(reports.some((r) => r.aborted), runs.map((r) => r.stderr).join('\n')).toBe(true);
    const m = await volley(['merge', 's1/report.json', 's2/report.json', '-o', 'm.json'], { cwd: dir }).done;
    const merged = readJson(path.join(dir, 'm.json'));
    expect(merged.aborted).toBe(true);
    // The fast shard's many samples carry the whole: only the abort says the run failed.
    expect(merged.thresholds.every((t) => t.ok)).toBe(true);
    expect(m.code, m.stdout + m.stderr).toBe(1);
  }, 40_000);
});
