import { readFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../helpers/cli.js';

// package.json "main" is the library the CLI is built on: it must load and run a scenario.
describe('the library entry point (package.json main)', () => {
  it('loads, validates a scenario and runs it against an embedded target', async () => {
    const pkg = JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as { main: string; types: string };
    const api = (await import(pathToFileURL(path.join(repoRoot, pkg.main)).href)) as typeof import('../../src/index.js');
    const bad = api.loadScenario({ file: 'x.yaml', source: 'name: x\nsteps: 3\n' });
    expect(bad.ok).toBe(false);
    const { report } = await api.runScenario({
      file: '<inline>',
      source: 'name: lib\ntarget: builtin:echo\nload: {connections: 2}\nsteps:\n  - send: hi\n    expect: {text: hi}\n',
      workers: 1,
    });
    expect(report.metrics['frames_received']).toMatchObject({ type: 'counter', count: 2 });
    expect(api.parseReport(JSON.parse(JSON.stringify(report)), 'r.json').scenario.name).toBe('lib');
  });

  it("resolves as the package itself, `import … from 'volley'` (package.json exports), in plain Node", async () => {
    // In a child Node process, not through vitest's resolver: what a user's script sees.
    const { execFileSync } = await import('node:child_process');
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', "const m = await import('volley'); console.log(typeof m.runScenario, typeof m.loadScenario)"], {
      cwd: repoRoot,
      encoding: 'utf8',
    });
    expect(out.trim()).toBe('function function');
  });
});
