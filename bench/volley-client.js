// volley on the same workload as raw-client.js, through the library entry point
// (runScenario), so the measured process is exactly what `volley run` runs, minus the report
// files.
//
//   node bench/volley-client.js loop URL CONNECTIONS DURATION_MS WORKERS  -> JSON on stdout
//   node bench/volley-client.js hold URL N1,N2,... [WORKERS]              -> RSS at each plateau
import { pathToFileURL } from 'node:url';

// bench/run.js points VOLLEY_DIST at its snapshot of the build; run alone, use dist/.
const dist = process.env.VOLLEY_DIST ? pathToFileURL(process.env.VOLLEY_DIST + '/').href : new URL('../dist/', import.meta.url).href;
const { runScenario, startRun } = await import(new URL('engine/coordinator.js', dist).href);

const [mode, url, a, b, c] = process.argv.slice(2);

/** The closed-loop echo scenario: the equivalent of raw-client.js's loop. */
export function loopScenario(target, connections, durationMs) {
  return [
    'name: bench-echo',
    `target: ${target}`,
    // The raw loop has no handshake timeout; with a 30 s one volley waits as long as it does
    // while a saturated server answers the last handshakes of a 1,000-connection start.
    'connect: {timeout: 30s}',
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
    JSON.stringify({ roundTrips: lat?.count ?? 0, errors, errorKinds: r.errors, p50Ms: lat?.p50, p99Ms: lat?.p99, harness: r.harness }) + '\n',
  );
} else if (mode === 'hold') {
  // Stages that plateau at each N (long enough for a loaded machine to get there); RSS is
  // sampled two seconds after the active count reaches N (or at the plateau's end), and the
  // run is stopped once the last plateau is sampled.
  const steps = a.split(',').map(Number);
  const workers = b ? Number(b) : undefined;
  const plateauS = 90;
  const stages = [];
  const plateauEnds = [];
  let t = 0;
  for (const n of steps) {
    const rampS = Math.max(1, Math.ceil(n / 5000));
    stages.push(`{duration: ${rampS}s, target: ${n}}`, `{duration: ${plateauS}s, target: ${n}}`);
    t += rampS + plateauS;
    plateauEnds.push(t - 1);
  }
  const source = [
    'name: bench-hold',
    `target: ${url}`,
    'connect: {timeout: 30s}',
    `load: {model: connections, stages: [${stages.join(', ')}], gracefulStop: 1s}`,
    'steps:',
    `  - think: ${t + 5}s`,
    '',
  ].join('\n');
  const plateaus = [];
  const warnings = [];
  let reachedAt;
  let maxLagMs = 0;
  const handle = startRun({
    file: '<inline>',
    source,
    workers,
    onWarning: (w) => warnings.push(w),
    onProgress: (p) => {
      maxLagMs = Math.max(maxLagMs, p.health.eventLoopLagP99Ms);
      const i = plateaus.length;
      if (i >= steps.length) return;
      if (reachedAt === undefined && p.point.active >= steps[i]) reachedAt = p.second;
      if ((reachedAt !== undefined && p.second >= reachedAt + 2) || p.second >= plateauEnds[i]) {
        plateaus.push({ connections: p.point.active, rssBytes: process.memoryUsage().rss, second: p.second });
        reachedAt = undefined;
        if (plateaus.length === steps.length) handle.stop();
        else {
          // Skip to the next stage boundary is not possible mid-run; the next plateau waits.
        }
      }
    },
  });
  const result = await handle.done;
  const r = result.report;
  process.stdout.write(
    JSON.stringify({
      plateaus,
      activeMax: r.metrics['active_connections']?.max,
      connectErrors: r.metrics['errors']?.count ?? 0,
      connectP99Ms: r.metrics['connect']?.p99,
      maxLagP99Ms: maxLagMs,
      harness: r.harness,
      warnings,
    }) + '\n',
  );
}
