// Bad input beyond the scenario's YAML: unreadable files, broken CSV feeders, invalid flags and
// an --out that cannot be written. Each is one line on stderr (no stack) and exit 2, decided
// before a single connection is opened.

import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, startWsServer, tempDir, writeScenario } from './helpers.js';
import type { TestServer } from './helpers.js';

let server: TestServer;
beforeAll(async () => {
  server = await startWsServer();
});
afterAll(async () => {
  await server.close();
});

function scenarioWithData(dir: string, csv: string, send: string): string {
  writeFileSync(path.join(dir, 'users.csv'), csv);
  return writeScenario(
    dir,
    `name: data
target: ${server.url}
data: {file: users.csv}
load: {model: connections, connections: 1, iterations: 1}
steps:
  - send: "${send}"
`,
  );
}

describe('bad input: one line, exit 2, nothing connects', () => {
  it('each case fails before the run with a message naming what is wrong', async () => {
    const dir = tempDir();
    const good = writeScenario(dir, `name: ok\ntarget: ${server.url}\nload: {model: connections, connections: 1, iterations: 1}\nsteps:\n  - send: "x"\n`, 'good.yaml');
    const notAFolder = path.join(dir, 'a-file');
    writeFileSync(notAFolder, 'x');
    const ragged = scenarioWithData(mkdir(dir, 'ragged'), 'name,room\nann,lobby\nbob\n', '${data.name}');
    const missingColumn = scenarioWithData(mkdir(dir, 'missing'), 'name,room\nann,lobby\n', '${data.team}');
    const cases: { args: string[]; message: RegExp }[] = [
      { args: ['run', path.join(dir, 'nope.yaml')], message: /nope\.yaml/ },
      { args: ['run', dir], message: new RegExp(escape(path.basename(dir))) },
      { args: ['run', ragged], message: /users\.csv:3.*(column|field)/i },
      { args: ['run', missingColumn], message: /team/ },
      { args: ['run', good, '--connections', '0'], message: /--connections/ },
      { args: ['run', good, '--duration', 'soon'], message: /--duration/ },
      { args: ['run', good, '--bogus'], message: /bogus/ },
      // A bad --target names --target (it enters the scenario as a --set the user never gave).
      { args: ['run', good, '--target', 'notaurl'], message: /^--target: target: "notaurl" is not a valid URL/ },
      { args: ['run', good, '--set'], message: /Not enough arguments following: set/ },
      { args: ['run', good, '--out', path.join(notAFolder, 'out')], message: /--out .*cannot write/ },
    ];
    const results = await Promise.all(cases.map((c) => runCli([...c.args, '--quiet'], { outDir: path.join(tempDir(), 'out') }).done));
    results.forEach((res, i) => {
      const c = cases[i]!;
      const label = `${c.args.slice(1).join(' ')}\n${res.stderr}`;
      expect(res.code, label).toBe(2);
      expect(res.stderr, label).toMatch(c.message);
      expect(res.stderr, label).not.toMatch(/\n\s+at |internal error/);
      expect(res.report, label).toBeUndefined();
    });
    expect(server.connections).toBe(0);
  });
});

describe('flag errors from the argument parser', () => {
  it('are one line too (yargs breaks "Invalid values" over two)', async () => {
    const res = await runCli(['import', path.join(tempDir(), 'x.har'), '--timing', 'bogus']).done;
    expect(res.code).toBe(2);
    expect(res.stderr).toBe('volley: Invalid values: Argument: timing, Given: "bogus", Choices: "keep", "none"\n');
  });
});

function mkdir(parent: string, name: string): string {
  const d = path.join(parent, name);
  mkdirSync(d);
  return d;
}

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
