import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ReportJson } from '../../src/report/types.js';
import { readdirSync } from 'node:fs';
import { runCli, startCli, tempDir } from '../helpers/cli.js';

function writeScenario(dir: string, name: string, body: string): string {
  const file = path.join(dir, name);
  writeFileSync(file, body);
  return file;
}

function readJson(file: string): ReportJson {
  return JSON.parse(readFileSync(file, 'utf8')) as ReportJson;
}

const echoSteps = `
steps:
  - loop:
      count: 5
      every: 50ms
      steps:
        - send: "hi \${iter}"
          expect: {text: "hi \${iter}", timeout: 2s}
          name: say
`;

describe('volley run through the command line', () => {
  it('two runs in the same second get two report folders (reports/<name>-<time>, then -2)', async () => {
    const dir = tempDir();
    const file = writeScenario(dir, 'twice.yaml', 'name: twice\ntarget: builtin:echo\nload: {connections: 1}\nsteps:\n  - send: x\n    expect: {text: x}\n');
    const [a, b] = await Promise.all([runCli(['run', file, '--quiet', '--no-html'], { cwd: dir }), runCli(['run', file, '--quiet', '--no-html'], { cwd: dir })]);
    expect([a.code, b.code]).toEqual([0, 0]);
    const folders = readdirSync(path.join(dir, 'reports'));
    expect(folders).toHaveLength(2);
    for (const f of folders) {
      expect(f).toMatch(/^twice-\d{8}T\d{6}Z(-2)?$/);
      expect(existsSync(path.join(dir, 'reports', f, 'report.json'))).toBe(true);
    }
  });

  it('a reader that goes away (| head) does not end the run: exit 0 and the report written', async () => {
    const dir = tempDir();
    const file = writeScenario(dir, 'piped.yaml', `name: piped\ntarget: builtin:echo\nload: {connections: 2, duration: 1500ms}\n${echoSteps}`);
    const out = path.join(dir, 'out');
    const run = startCli(['run', file, '--out', out, '--debug'], { cwd: dir });
    // Close both pipes after the first line, as `2>&1 | head -1` would.
    let closed = false;
    const closeAll = (): void => {
      if (closed) return;
      closed = true;
      run.child.stdout!.destroy();
      run.child.stderr!.destroy();
    };
    run.child.stdout!.once('data', closeAll);
    run.child.stderr!.once('data', closeAll);
    const r = await run.done;
    expect(r.code).toBe(0);
    expect(readJson(path.join(out, 'report.json')).metrics['frames_sent']).toBeDefined();
  });

  it('a passing run exits 0 and writes report.json, report.html, JUnit and a Markdown summary', async () => {
    const dir = tempDir();
    const file = writeScenario(dir, 'pass.yaml', `name: pass\ntarget: builtin:echo\nload: {connections: 4}\n${echoSteps}\nthresholds:\n  latency{name:say}: ["p(99) < 5s"]\n  errors: ["count == 0"]\n`);
    const out = path.join(dir, 'out');
    const r = await runCli(['run', file, '--out', out, '--quiet', '--junit', path.join(dir, 'junit.xml'), '--summary-md', path.join(dir, 'summary.md')]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const report = readJson(path.join(out, 'report.json'));
    expect(report.format).toBe(1);
    expect(report.thresholds.every((t) => t.ok)).toBe(true);
    expect(existsSync(path.join(out, 'report.html'))).toBe(true);
    expect(readFileSync(path.join(dir, 'junit.xml'), 'utf8')).toContain('<testsuite');
    expect(readFileSync(path.join(dir, 'summary.md'), 'utf8')).toContain('pass');
    expect(r.stdout).toContain('latency{name:say}');
  });

  it('a failing threshold exits 1 and the JUnit file carries the failure with the actual value', async () => {
    const dir = tempDir();
    const file = writeScenario(dir, 'fail.yaml', `name: fail\ntarget: builtin:echo\nload: {connections: 2}\n${echoSteps}\nthresholds:\n  latency{name:say}: ["p(50) < 0.001ms"]\n`);
    const r = await runCli(['run', file, '--out', path.join(dir, 'out'), '--quiet', '--junit', path.join(dir, 'junit.xml')]);
    expect(r.code).toBe(1);
    const junit = readFileSync(path.join(dir, 'junit.xml'), 'utf8');
    expect(junit).toContain('<failure');
    expect(junit).toContain('p(50) &lt; 0.001ms');
  });

  it('abortOnFail ends a long run within seconds of its delay and still writes the report', async () => {
    const dir = tempDir();
    const file = writeScenario(
      dir,
      'abort.yaml',
      `name: abort\ntarget: builtin:echo\nload: {connections: 2, duration: 60s, gracefulStop: 1s}\n${echoSteps}\nthresholds:\n  latency{name:say}:\n    - {threshold: "max < 0.001ms", abortOnFail: true, delayAbortEval: 1s}\n`,
    );
    const started = Date.now();
    const r = await runCli(['run', file, '--out', path.join(dir, 'out'), '--quiet'], { timeoutMs: 40_000 });
    expect(r.code).toBe(1);
    expect(Date.now() - started).toBeLessThan(30_000);
    const report = readJson(path.join(dir, 'out', 'report.json'));
    expect(report.aborted).toBe(true);
    expect(report.durationS).toBeLessThan(20);
    expect(report.thresholds[0]!.ok).toBe(false);
  });

  it('--json prints the summary as JSON on stdout', async () => {
    const dir = tempDir();
    const file = writeScenario(dir, 'json.yaml', `name: json\ntarget: builtin:echo\nload: {connections: 1}\n${echoSteps}`);
    const r = await runCli(['run', file, '--out', path.join(dir, 'out'), '--json', '--no-html']);
    expect(r.code).toBe(0);
    const summary = JSON.parse(r.stdout) as { passed: boolean; metrics: Record<string, { count: number }> };
    expect(summary.passed).toBe(true);
    expect(summary.metrics['frames_sent']!.count).toBe(5);
    expect(existsSync(path.join(dir, 'out', 'report.html'))).toBe(false);
  });

  it('an invalid scenario exits 2 with file:line:col and no stack', async () => {
    const dir = tempDir();
    const file = writeScenario(dir, 'bad.yaml', 'name: bad\ntarget: builtin:echo\nsteps:\n  - send: "x"\n    expect: {text: "x", timeout: soon}\n');
    const r = await runCli(['run', file, '--quiet']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/bad\.yaml:5:\d+: .*timeout/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('bad flags and an unwritable --out exit 2 with one line before anything runs', async () => {
    const r1 = await runCli(['run', 'scenarios/echo.yaml', '--duration', 'forever']);
    expect(r1.code).toBe(2);
    expect(r1.stderr.trim().split('\n')).toHaveLength(1);
    const notADir = path.join(tempDir(), 'a-file');
    writeFileSync(notADir, 'x');
    const r2 = await runCli(['run', 'scenarios/echo.yaml', '--out', path.join(notADir, 'reports')]);
    expect(r2.code).toBe(2);
    expect(r2.stderr).toContain('--out');
    // Node's recursive mkdir loops forever under /proc: the check must still answer at once.
    const r3 = await runCli(['run', 'scenarios/echo.yaml', '--out', '/proc/volley-cannot-write/x'], { timeoutMs: 20_000 });
    expect(r3.code).toBe(2);
    expect(r3.stderr).toContain('--out /proc/volley-cannot-write/x: cannot write there');
  });

  it('a single-value flag given twice exits 2 in one line naming both values (not a comma-joined URL, not a crash)', async () => {
    const dir = tempDir();
    const cases: [string[], string][] = [
      [['--target', 'ws://127.0.0.1:9/a', '--target', 'ws://127.0.0.1:9/b'], '--target was given 2 times ("ws://127.0.0.1:9/a", "ws://127.0.0.1:9/b")'],
      [['--out', path.join(dir, 'a'), '--out', path.join(dir, 'b')], '--out was given 2 times'],
      [['--junit', 'a.xml', '--junit', 'b.xml'], '--junit was given 2 times'],
    ];
    for (const [flags, message] of cases) {
      const r = await runCli(['run', 'scenarios/echo.yaml', '--quiet', ...flags]);
      expect(r.code, r.stderr).toBe(2);
      const lines = r.stderr.trim().split('\n');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toContain(`volley: ${message}`);
      expect(lines[0]).toMatch(/; give it once$/);
    }
    expect(existsSync(path.join(dir, 'a'))).toBe(false);
    // Repeatable flags still repeat.
    const file = writeScenario(dir, 'repeat.yaml', `name: repeat\ntarget: builtin:echo\nload: {connections: 1, iterations: 1}\n${echoSteps}`);
    const ok = await runCli(['run', file, '--quiet', '--no-html', '--out', path.join(dir, 'ok'), '--set', 'name=one', '--set', 'load.connections=2']);
    expect(ok.code, ok.stderr).toBe(0);
    expect(readJson(path.join(dir, 'ok', 'report.json')).scenario.name).toBe('one');
  });

  it('a target that refuses every connection exits 3 with one line that says why, and writes the report', async () => {
    const dir = tempDir();
    const file = writeScenario(dir, 'dead.yaml', `name: dead\ntarget: ws://127.0.0.1:9/\nload: {connections: 2}\nsteps:\n  - send: "x"\n`);
    const r = await runCli(['run', file, '--out', path.join(dir, 'out'), '--quiet']);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/could not proceed.*refused/);
    expect(existsSync(path.join(dir, 'out', 'report.json'))).toBe(true);
  });

  it('validate prints a one-line summary for every shipped scenario', async () => {
    for (const s of ['echo', 'chat', 'feed', 'socketio-chat']) {
      const r = await runCli(['validate', `scenarios/${s}.yaml`]);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout.trim().split('\n')).toHaveLength(1);
    }
  });

  it('--target supplies the target of a scenario that leaves it to the command line', async () => {
    const dir = tempDir();
    const file = writeScenario(dir, 'no-target.yaml', `name: no-target\nload: {connections: 2}\n${echoSteps}`);
    const missing = await runCli(['run', file, '--quiet', '--out', path.join(dir, 'a')]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/no-target\.yaml:1:1: target: required/);
    const serve = await import('../../src/targets/index.js');
    const t = await serve.startTarget('echo', { port: 0 });
    try {
      const r = await runCli(['run', file, '--target', t.url, '--quiet', '--out', path.join(dir, 'b')]);
      expect(r.code, r.stderr).toBe(0);
      expect(readJson(path.join(dir, 'b', 'report.json')).target).toBe(t.url);
      expect(t.stats().framesReceived).toBe(10);
    } finally {
      await t.close();
    }
  });
});
