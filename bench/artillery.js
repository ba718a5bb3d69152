// Artillery's WebSocket engine on the same closed-loop echo workload. Artillery is installed
// on demand into bench/.cache (git-ignored), never as a dependency of volley; if that fails the
// bench says so and goes on without it.
import { execFile, fork } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const cache = path.join(here, '.cache');
const bin = path.join(cache, 'node_modules', 'artillery', 'bin', 'run');

export async function artilleryAvailable(log) {
  if (existsSync(bin)) return true;
  mkdirSync(cache, { recursive: true });
  log('installing Artillery into bench/.cache (once; PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1) ...');
  const ok = await new Promise((resolve) => {
    execFile(
      'npm',
      ['install', '--prefix', cache, '--no-audit', '--no-fund', '--loglevel=error', 'artillery'],
      { env: { ...process.env, PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD: '1' }, timeout: 10 * 60_000 },
      (err, _out, stderr) => {
        if (err) log(`Artillery could not be installed, going on without it: ${String(stderr || err.message).trim().split('\n').pop()}`);
        resolve(!err);
      },
    );
  });
  return ok && existsSync(bin);
}

/**
 * Every virtual user arrives in the first second and loops send -> wait for the echo (a
 * `send` with `match` waits for the next message) until the duration has passed.
 */
export function runArtillery(url, connections, durationMs) {
  const dir = path.join(cache, 'runs');
  mkdirSync(dir, { recursive: true });
  const config = path.join(dir, `echo-${connections}.json`);
  const report = path.join(dir, `report-${connections}.json`);
  writeFileSync(
    config,
    JSON.stringify({
      config: { target: url, phases: [{ duration: 1, arrivalCount: connections }], ws: { perMessageDeflate: false } },
      scenarios: [
        {
          engine: 'ws',
          flow: [
            {
              loop: [{ send: { payload: 'hello {{ $loopCount }}', match: { regexp: '^hello', value: 'hello' } } }],
              whileTrue: 'notDone',
            },
          ],
        },
      ],
    }),
  );
  const processor = path.join(dir, 'processor.cjs');
  writeFileSync(processor, `const end = Date.now() + ${durationMs} + 1000;\nmodule.exports = { notDone(ctx, next) { return next(Date.now() < end); } };\n`);
  const cfg = JSON.parse(readFileSync(config, 'utf8'));
  cfg.config.processor = processor;
  writeFileSync(config, JSON.stringify(cfg));
  const child = fork(bin, ['run', '--output', report, config], {
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    env: { ...process.env, ARTILLERY_DISABLE_TELEMETRY: 'true', DO_NOT_TRACK: '1' },
  });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  const output = new Promise((resolve) => {
    child.once('exit', (code) => {
      try {
        const agg = JSON.parse(readFileSync(report, 'utf8')).aggregate;
        const h = agg.summaries?.['websocket.response_time'] ?? agg.summaries?.['ws.response_time'];
        const errors = Object.entries(agg.counters ?? {}).filter(([k]) => k.startsWith('errors.')).reduce((a, [, v]) => a + v, 0);
        resolve({ exitCode: code, p50Ms: h?.p50 ?? h?.median, p99Ms: h?.p99, errors });
      } catch {
        resolve({ exitCode: code, output: out.slice(-500) });
      }
    });
  });
  return { child, output };
}
