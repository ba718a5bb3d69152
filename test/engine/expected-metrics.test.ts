// A report holds every trend its scenario records into and every metric a threshold names, at
// count 0 when nothing was measured: a server that never answers still gives
// metrics["latency{name:say}"] (count 0), so pipelines that read it, or join a threshold result
// to its metric, find the key.

import { afterEach, describe, expect, it } from 'vitest';
import { runScenario } from '../../src/engine/coordinator.js';
import { loadScenario } from '../../src/scenario/load.js';
import { counter, trend } from '../helpers/metrics.js';
import { startCountingServer } from '../helpers/ws-servers.js';
import type { CountingServer } from '../helpers/ws-servers.js';

let server: CountingServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

describe('metrics with nothing measured are reported at count 0', () => {
  it('a silent server: the steps\' trends and the thresholds\' metrics are all there', async () => {
    server = await startCountingServer(() => {}); // accepts, never answers
    const source = `
name: silent
target: ${server.url}
load: {model: connections, connections: 2, iterations: 1}
steps:
  - send: hi
    expect: {text: hi, timeout: 200ms}
    name: say
  - expect: {text: pushed, timeout: 200ms}
    name: push
thresholds:
  "latency{name: say}": ["p(99) < 100ms"]
  errors{kind:reset}: ["count == 0"]
`;
    const { report } = await runScenario({ file: '<inline>', source, workers: 1 });
    for (const key of ['latency', 'latency{name:say}', 'service_time', 'service_time{name:say}', 'wait', 'wait{name:push}'])
      expect(trend(report, key).count, key).toBe(0);
    expect(trend(report, 'connect').count).toBe(2);
    expect(counter(report, 'errors{kind:reset}')).toBe(0);
    expect(counter(report, 'errors{kind:expect_timeout}')).toBe(4);
    // Each threshold result names a key of report.metrics, whatever spacing the scenario used.
    for (const t of report.thresholds) expect(Object.keys(report.metrics), t.metric).toContain(t.metric);
    expect(report.thresholds[0]).toMatchObject({ metric: 'latency{name:say}', actual: null, ok: false });
  });

  it('the loader lists the trend keys the steps record into, loops included', () => {
    const loaded = loadScenario({
      file: '<inline>',
      source: `
target: builtin:echo
steps:
  - loop:
      count: 2
      steps:
        - send: a
          expect: {text: a}
          name: pair
        - send: fire-and-forget
        - ping: {timeout: 1s}
          name: hb
  - expect: {json: {t: 1}, latencyFrom: $.at}
    name: feed
`,
    });
    expect(loaded.ok).toBe(true);
    if (!loaded.ok) return;
    expect([...loaded.scenario.recordedTrendKeys].sort()).toEqual(
      [
        'latency',
        'latency{name:pair}',
        'service_time',
        'service_time{name:pair}',
        'ping',
        'ping{name:hb}',
        'wait',
        'wait{name:feed}',
        'latency{name:feed}',
      ].sort(),
    );
  });
});
