// Flags that take a value, given without one, and outputs that cannot be written: one line on
// stderr, exit 2, nothing written where the user did not ask (an outside audit: `--out` alone
// wrote report.json into the current folder and `--junit` alone silently wrote no JUnit).

import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, tempDir } from '../helpers/cli.js';
import { reply, startCountingServer } from '../helpers/ws-servers.js';
import type { CountingServer } from '../helpers/ws-servers.js';

let server: CountingServer;
let dir: string;
let scenario: string;
beforeAll(async () => {
  server = await startCountingServer((ws, data, isBinary, s) => reply(ws, s, data, isBinary));
  dir = tempDir();
  scenario = path.join(dir, 'one.yaml');
  writeFileSync(
    scenario,
    `name: one\ntarget: ${server.url}\nload: {model: connections, connections: 1, iterations: 1}\nsteps:\n  - send: hi\n    expect: {text: hi, timeout: 2s}\n`,
  );
});
afterAll(() => server.close());

const oneLine = (stderr: string): string[] => stderr.trim().split('\n');

describe('flags without a value and outputs that cannot be written', () => {
  it.each([
    ['--out at the end', ['--out'], /out/],
    ['--out=', ['--out='], /--out needs a value/],
    ['--junit at the end', ['--out', 'o', '--junit'], /junit/],
    ['--summary-md=', ['--out', 'o', '--summary-md='], /--summary-md needs a value/],
  ])('%s: exit 2, one line, no report written', async (_title, flags, message) => {
    const cwd = tempDir();
    const r = await runCli(['run', scenario, '--quiet', '--no-html', ...flags], { cwd });
    expect(r.code).toBe(2);
    expect(oneLine(r.stderr)).toHaveLength(1);
    expect(r.stderr).toMatch(message);
    expect(readdirSync(cwd)).toEqual([]);
  });

  it('a --junit file that cannot be written after the run: one line, exit 2, the report still written', async () => {
    const out = path.join(tempDir(), 'run');
    const r = await runCli(['run', scenario, '--quiet', '--no-html', '--out', out, '--junit', '/dev/full']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^volley: --junit \/dev\/full: cannot write there \(ENOSPC\)$/m);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(existsSync(path.join(out, 'report.json'))).toBe(true);
  });

  it('a report that is not JSON is named on one line', async () => {
    const bad = path.join(dir, 'garbage.json');
    writeFileSync(bad, 'garbage\n');
    const r = await runCli(['report', bad]);
    expect(r.code).toBe(2);
    expect(oneLine(r.stderr)).toHaveLength(1);
    expect(r.stderr).toMatch(/garbage\.json/);
  });

  it('--version prints the package version', async () => {
    const r = await runCli(['--version']);
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
  });
});
