// volley on the same workload as raw-client.js, through the library entry point
// (runScenario), so the measured process is exactly what `volley run` runs, minus the report
// files.
//
//   node bench/volley-client.js loop URL CONNECTIONS DURATION_MS WORKERS  -> JSON on stdout
//   node bench/volley-client.js hold URL N1,N2,... [WORKERS]              -> RSS at each plateau
import { runScenario } from '../dist/engine/coordinator.js';

const [mode, url, a, b, c] = process.argv.slice(2);

/** The closed-loop echo scenario: the equivalent of raw-client.js's loop. */
export function loopScenario(target, connections, durationMs) {
  return [
    'name: bench-echo',
    `target: ${target}`,
    `load: {model: connections, connections: ${connections}, duration: ${durationMs}ms, gracefulStop: 2s}`,
    'steps:',
    '  - loop:',
    `      duration: ${durationMs}ms`,
    '      steps:',
    '        - send: "hello ${iter}"',
    '          expect: {text: "hello ${iter}", timeout: 5s}',
    '          name: echo',
    '',
  ].join('\n');
}

if (mode === 'loop') {
  const connections = Number(a);
  const durationMs = Number(b);
  const workers = Number(c);
  const result = await runScenario({ file: '<inline>', source: loopScenario(url, connections, durationMs), workers });
  const r = result.report;
  const lat = r.metrics['latency'];
  const errors = r.metrics['errors']?.count ?? 0;
  process.stdout.write(
    JSON.stringify({ roundTrips: lat?.count ?? 0, errors, p50Ms: lat?.p50, p99Ms: lat?.p99, harness: r.harness }) + '\n',
  );
} else if (mode === 'hold') {
  // Stages that plateau at each N; RSS is sampled at the end of each plateau.
  const steps = a.split(',').map(Number);
  const workers = b ? Number(b) : undefined;
  const stages = [];
  const sampleAt = [];
  let t = 0;
  for (const n of steps) {
    const rampS = Math.max(1, Math.ceil(n / 5000));
    stages.push(`{duration: ${rampS}s, target: ${n}}`, `{duration: 4s, target: ${n}}`);
    t += rampS + 4;
    sampleAt.push({ second: t - 1, connections: n });
  }
  const source = [
    'name: bench-hold',
    `target: ${url}`,
    `load: {model: connections, stages: [${stages.join(', ')}], gracefulStop: 1s}`,
    'steps:',
    `  - think: ${t + 5}s`,
    '',
  ].join('\n');
  const plateaus = [];
  const warnings = [];
  const result = await runScenario({
    file: '<inline>',
    source,
    workers,
    onWarning: (w) => warnings.push(w),
    onProgress: (p) => {
      const s = sampleAt.find((x) => x.second === p.second);
      if (s) plateaus.push({ connections: p.point.active, rssBytes: process.memoryUsage().rss });
    },
  });
  const r = result.report;
  process.stdout.write(
    JSON.stringify({
      plateaus,
      activeMax: r.metrics['active_connections']?.max,
      connectErrors: r.metrics['errors']?.count ?? 0,
      connectP99Ms: r.metrics['connect']?.p99,
      harness: r.harness,
      warnings,
    }) + '\n',
  );
}
