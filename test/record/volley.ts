// The real command line for recorded scenarios: `volley import` a HAR, then `volley run` the
// scenario it wrote against a live server, and read the report the run wrote. Every recorded
// scenario in test/record runs this way (through the engine and its workers), never through a
// stand-in replayer.

import { readFileSync } from 'node:fs';
import path from 'node:path';
import { expect } from 'vitest';
import type { ReportJson } from '../../src/report/types.js';
import { runCli, type CliResult } from '../helpers/cli.js';
import { counter } from '../helpers/metrics.js';

export interface RunOutcome {
  cli: CliResult;
  report: ReportJson;
}

/** `volley import har -o dir/name.yaml`; the scenario's path (exit 0 asserted). */
export async function importWithCli(har: string, dir: string, extra: string[] = []): Promise<{ file: string; yaml: string; cli: CliResult }> {
  const file = path.join(dir, `${path.basename(har, '.har')}.yaml`);
  const cli = await runCli(['import', har, '-o', file, ...extra], { timeoutMs: 20_000 });
  expect(cli.stderr).toContain(`wrote ${file}`);
  expect(cli.code, cli.stderr).toBe(0);
  return { file, yaml: readFileSync(file, 'utf8'), cli };
}

/** `volley run scenario [--target URL] --quiet --out dir/NAME-report --no-html`, the report it
 *  wrote. Without targetUrl the scenario's own target is used. */
export async function runWithCli(scenario: string, targetUrl: string | undefined, dir: string, env: NodeJS.ProcessEnv = {}): Promise<RunOutcome> {
  const out = path.join(dir, `${path.basename(scenario, '.yaml')}-report`);
  const target = targetUrl === undefined ? [] : ['--target', targetUrl];
  const cli = await runCli(['run', scenario, ...target, '--quiet', '--out', out, '--no-html', '--workers', '1'], { env, timeoutMs: 30_000 });
  let report: ReportJson;
  try {
    report = JSON.parse(readFileSync(path.join(out, 'report.json'), 'utf8')) as ReportJson;
  } catch {
    throw new Error(`volley run wrote no report (exit ${cli.code}): ${cli.stderr}`);
  }
  return { cli, report };
}

export { counter };

/** Exit 0, no errors of any kind, and every step that was meant to run ran. */
export function expectClean(run: RunOutcome): void {
  const why = `stderr: ${run.cli.stderr}\nerrors: ${JSON.stringify(run.report.errors)}`;
  expect(run.cli.code, why).toBe(0);
  expect(run.report.errors, why).toEqual([]);
  expect(counter(run.report, 'errors'), why).toBe(0);
}

/** Names of the request/response (latency{name}) and lone-expect (wait{name}) trends that were recorded. */
export function stepTrends(report: ReportJson): string[] {
  return Object.entries(report.metrics)
    .filter(([k, m]) => m.type === 'trend' && /^(latency|wait)\{/.test(k) && m.count > 0)
    .map(([k]) => k)
    .sort();
}
