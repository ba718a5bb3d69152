// --connections / --duration on a scenario with stages replace the ramp by a constant load:
// `volley run` says so on stderr (one line), and the report shows the load that ran.

import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ReportJson } from '../../src/report/types.js';
import { runCli, tempDir } from '../helpers/cli.js';

const scenario = `name: ramp
target: builtin:echo
load: {stages: [{duration: 500ms, target: 3}, {duration: 500ms, target: 3}]}
steps:
  - send: x
    expect: {text: x}
  - think: 100ms
`;

describe('load flags over stages', () => {
  it('--duration warns in one line that the stages became a constant load; without flags, no warning', async () => {
    const dir = tempDir();
    writeFileSync(path.join(dir, 'ramp.yaml'), scenario);
    const flagged = await runCli(['run', 'ramp.yaml', '--duration', '1s', '--out', 'a', '--no-html', '--workers', '1'], { cwd: dir });
    expect(flagged.code, flagged.stderr).toBe(0);
    const warnings = flagged.stderr.split('\n').filter((l) => l.startsWith('warning:'));
    expect(warnings).toEqual([
      "warning: --duration 1s replaces the scenario's 2 stages with a constant 3 connections (their peak) for 1s, without a ramp",
    ]);
    const report = JSON.parse(readFileSync(path.join(dir, 'a', 'report.json'), 'utf8')) as ReportJson;
    expect(report.load.stages).toBeUndefined();
    expect(report.load.connections).toBe(3);

    const plain = await runCli(['run', 'ramp.yaml', '--out', 'b', '--no-html', '--workers', '1'], { cwd: dir });
    expect(plain.code, plain.stderr).toBe(0);
    expect(plain.stderr).not.toContain('warning:');

    // --quiet keeps stderr empty, as it promises.
    const quiet = await runCli(['run', 'ramp.yaml', '--connections', '2', '--out', 'c', '--no-html', '--workers', '1', '--quiet'], { cwd: dir });
    expect(quiet.code, quiet.stderr).toBe(0);
    expect(quiet.stderr).toBe('');
  }, 60_000);
});
