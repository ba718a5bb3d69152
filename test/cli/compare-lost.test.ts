// `volley compare --fail-on-regression`: a run whose requests all timed out has no latency
// samples at all; that is the worst regression, not "nothing to compare".

import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runCli, tempDir } from '../helpers/cli.js';
import { makeReport } from '../helpers/report-fixtures.js';
import { reply, startCountingServer } from '../helpers/ws-servers.js';
import type { CountingServer } from '../helpers/ws-servers.js';

const servers: CountingServer[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await s.close();
});

function scenario(target: string): string {
  return `name: cmp
target: ${target}
load: {connections: 2, iterations: 1}
steps:
  - loop:
      count: 5
      steps:
        - send: "hi \${iter}"
          expect: {text: "hi \${iter}", timeout: 300ms}
          name: say
`;
}

describe('volley compare when b has no samples of a metric a measured', () => {
  it('exits 1 with --fail-on-regression and names the metric; without the limit, says so and exits 0', async () => {
    const echo = await startCountingServer((ws, data, isBinary, s) => reply(ws, s, data, isBinary));
    const silent = await startCountingServer(() => undefined);
    servers.push(echo, silent);
    const dir = tempDir();
    writeFileSync(path.join(dir, 'a.yaml'), scenario(echo.url));
    writeFileSync(path.join(dir, 'b.yaml'), scenario(silent.url));
    const a = await runCli(['run', 'a.yaml', '--out', 'a', '--quiet', '--no-html', '--workers', '1'], { cwd: dir });
    const b = await runCli(['run', 'b.yaml', '--out', 'b', '--quiet', '--no-html', '--workers', '1'], { cwd: dir });
    expect(a.code, a.stderr).toBe(0);
    expect(b.code, b.stderr).toBe(0); // no thresholds: the timeouts are errors, not a verdict

    const gated = await runCli(['compare', 'a/report.json', 'b/report.json', '--fail-on-regression', '10%'], { cwd: dir });
    expect(gated.code, gated.stdout + gated.stderr).toBe(1);
    expect(gated.stdout).toContain('REGRESSED');
    expect(gated.stdout).toMatch(/✗ latency: 10 samples in a, none in b/);
    expect(gated.stdout).toMatch(/✗ latency\{name:say\}: 10 samples in a, none in b/);
    expect(gated.stdout).not.toContain('OK: no latency percentile');
    // b measured nothing: its percentiles are "–", not 0 ms (b's report holds the trend at count 0).
    const latencyRow = gated.stdout.split('\n').find((l) => /^\s*latency\s/.test(l));
    expect(latencyRow, gated.stdout).toBeDefined();
    expect(latencyRow!.trim().split(/\s+/).slice(1, 3)[1]).toBe('–');

    const html = path.join(dir, 'cmp.html');
    const withHtml = await runCli(['compare', 'a/report.json', 'b/report.json', '--fail-on-regression', '10%', '--html', html], { cwd: dir });
    expect(withHtml.code).toBe(1);

    const informational = await runCli(['compare', 'a/report.json', 'b/report.json'], { cwd: dir });
    expect(informational.code).toBe(0);
    expect(informational.stdout).toMatch(/! latency: 10 samples in a, none in b/);

    // The other way round, b gained the metric: nothing was lost (connect times may still differ).
    const reversed = await runCli(['compare', 'b/report.json', 'a/report.json', '--fail-on-regression', '10%'], { cwd: dir });
    expect(reversed.stdout).not.toContain('none in b');
    expect(reversed.stdout).not.toMatch(/✗ latency/);
  }, 60_000);
});

describe('volley compare of two different scenarios', () => {
  it('warns in one line on stderr that they ran different scenarios; the same scenario gives no warning', async () => {
    const dir = tempDir();
    const base = makeReport();
    writeFileSync(path.join(dir, 'a.json'), JSON.stringify(base));
    writeFileSync(path.join(dir, 'same.json'), JSON.stringify(base));
    writeFileSync(path.join(dir, 'other.json'), JSON.stringify({ ...base, scenario: { ...base.scenario, name: 'chat' } }));
    const other = await runCli(['compare', 'a.json', 'other.json'], { cwd: dir });
    expect(other.code, other.stderr).toBe(0);
    expect(other.stderr.trim().split('\n')).toEqual([
      `volley: warning: a.json and other.json ran different scenarios ("${base.scenario.name}" and "chat"): their metrics may not measure the same thing`,
    ]);
    const same = await runCli(['compare', 'a.json', 'same.json'], { cwd: dir });
    expect(same.code, same.stderr).toBe(0);
    expect(same.stderr).toBe('');
  });
});
