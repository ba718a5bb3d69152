// `volley run --processes N --json` prints the document a single-process run prints (passed,
// metrics, thresholds…), judged on the merged report, not on each shard's slice; and the merged
// report keeps the load's iterations, so the console says "4 connections × 1 session".

import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { CountingServer } from './helpers.js';
import { counter, readJson, startCountingServer, tempDir, volley } from './helpers.js';

let server: CountingServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

// 4 slots x 1 session: each of 2 processes starts 2 sessions, so the threshold fails on either
// slice alone and passes on the whole.
function scenario(target: string): string {
  return `name: pj
target: ${target}
load: {model: connections, connections: 4, iterations: 1}
steps:
  - send: "join p-\${vu} \${vu}"
    expect: {match: "^join ", timeout: 5s}
    name: join
thresholds:
  sessions_started: ["count >= 4"]
`;
}

describe('--json with --processes', () => {
  it('prints the single-process shape for the merged run: passed true although each shard failed alone', async () => {
    server = await startCountingServer();
    const dir = tempDir();
    writeFileSync(path.join(dir, 'pj.yaml'), scenario(server.url));

    const single = await volley(['run', 'pj.yaml', '--workers', '1', '--out', 'one', '--json', '--no-html', '--quiet'], { cwd: dir }).done;
    expect(single.code, single.stderr).toBe(0);
    const one = JSON.parse(single.stdout) as Record<string, unknown>;

    const multi = await volley(['run', 'pj.yaml', '--processes', '2', '--workers', '1', '--out', 'two', '--json', '--no-html', '--quiet'], { cwd: dir }).done;
    expect(multi.code, multi.stderr).toBe(0);
    const two = JSON.parse(multi.stdout) as Record<string, unknown> & {
      passed: boolean;
      metrics: Record<string, { type: string; count?: number; hdr?: string }>;
      thresholds: { ok: boolean; actual: number }[];
      processes: { segment: string; report: string | null; ownExitCode: number }[];
    };

    // Every key of the single-process document, with the same meaning.
    for (const key of Object.keys(one)) expect(two, key).toHaveProperty(key);
    expect(two.passed).toBe(true);
    expect(two.interrupted).toBe(false);
    expect(two.aborted).toBe(false);
    expect(two.report).toBe(path.join(dir, 'two', 'report.json'));
    expect(two.thresholds).toEqual([expect.objectContaining({ ok: true, actual: 4 })]);
    expect(two.metrics['sessions_started']!.count).toBe(4);
    expect(two.metrics['latency{name:join}']!.type).toBe('trend');
    expect(two.metrics['latency{name:join}']!.hdr).toBeUndefined();
    // Extra: per process, its segment, its report and its own exit code (its slice failed alone).
    expect(two.processes).toEqual([
      { segment: '1/2', report: path.join(dir, 'two', 'shard-1-of-2', 'report.json'), ownExitCode: 1 },
      { segment: '2/2', report: path.join(dir, 'two', 'shard-2-of-2', 'report.json'), ownExitCode: 1 },
    ]);

    const merged = readJson(path.join(dir, 'two', 'report.json'));
    expect(counter(merged, 'sessions_started')).toBe(server.connections.length - 4);
    expect(merged.load).toMatchObject({ connections: 4, iterations: 1, segments: ['1/2', '2/2'] });
  }, 60_000);

  it('the console header of a merged iteration-bounded run says "× 1 session", not "for 0s"', async () => {
    server = await startCountingServer();
    const dir = tempDir();
    writeFileSync(path.join(dir, 'pj.yaml'), scenario(server.url));
    const res = await volley(['run', 'pj.yaml', '--processes', '2', '--workers', '1', '--out', 'out', '--no-html', '--quiet'], { cwd: dir }).done;
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout).toContain('4 connections × 1 session;');
    expect(res.stdout).not.toContain('for 0s');
  }, 60_000);
});
