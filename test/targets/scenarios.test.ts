// The shipped scenarios must validate, and must run clean against the embedded targets over
// both transports. The runs here are shortened with --set (a few connections, a few
// iterations) so they take seconds; the files as shipped are what `volley run` uses.

import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runScenario } from '../../src/engine/coordinator.js';
import type { CounterJson } from '../../src/report/types.js';
import { loadScenario } from '../../src/scenario/load.js';
import type { TransportName } from '../../src/scenario/types.js';

const dir = path.resolve(import.meta.dirname, '../../scenarios');

const SHORT: Record<string, string[]> = {
  echo: ['load.duration=1s', 'load.connections=4', 'steps.0.loop.count=4', 'steps.0.loop.every=50ms'],
  chat: ['load.connections=4', 'steps.1.think=0ms..50ms', 'steps.2.loop.count=3', 'steps.2.loop.every=50ms'],
  feed: ['load.connections=4', 'steps.0.loop.count=10', 'connect.query.rate="100"'],
};

describe.each(['echo', 'chat', 'feed'])('scenarios/%s.yaml', (name) => {
  const file = path.join(dir, `${name}.yaml`);

  it('validates, targets its builtin, and names the steps its thresholds refer to', () => {
    const loaded = loadScenario({ file, env: {} });
    if (!loaded.ok) throw new Error(loaded.problems.map((p) => `${p.pos?.line}:${p.pos?.col}: ${p.message}`).join('\n'));
    expect(loaded.warnings).toEqual([]);
    expect(loaded.scenario.name).toBe(name);
    expect(loaded.scenario.target).toBe(`builtin:${name}`);
    expect(loaded.scenario.thresholds.length).toBeGreaterThan(0);
  });

  // Thresholds are not asserted: they are speed limits meant for a real run, and this machine is
  // shared; what must hold is that every step finds its frame.
  it.each(['ws', 'long-poll'] as TransportName[])('runs clean over %s (shortened): every session completes, no errors', async (transport) => {
    const { report } = await runScenario({
      file,
      sets: SHORT[name],
      env: {},
      workers: 1,
      overrides: { transport },
    });
    const count = (key: string): number => (report.metrics[key] as CounterJson | undefined)?.count ?? 0;
    const errorKeys = Object.keys(report.metrics).filter((k) => k.startsWith('errors') && count(k) > 0);
    expect(errorKeys.map((k) => `${k}=${count(k)}: ${JSON.stringify(report.errors)}`)).toEqual([]);
    expect(count('sessions_completed')).toBeGreaterThanOrEqual(4);
    expect(count('sessions_failed')).toBe(0);
    expect(count('frames_received')).toBeGreaterThan(0);
    expect(report.thresholds.length).toBeGreaterThan(0);
  }, 60_000);
});
