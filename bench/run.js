// `npm run bench`: volley against the plainest raw `ws` client loop (and Artillery's WebSocket
// engine), closed-loop echo at 100 and 1,000 connections, then memory per held connection and
// the 18,000-connection hold. The machine is shared and noisy, so contenders alternate in the
// same run and we report the median ratio and its spread, never a lone absolute number.
//
//   npm run bench                      # full: 3+ pairs of 8 s runs per level, memory, 18k hold
//   npm run bench -- --quick           # short runs (3 pairs of 3 s, smaller memory/hold steps)
//   npm run bench -- --only throughput|memory|hold   [--pairs N] [--no-artillery] [--levels 100,1000]
import { fork, spawn } from 'node:child_process';
import { cpSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { median, treeCpuSeconds } from './proc.js';
import { artilleryAvailable, runArtillery } from './artillery.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const flag = (name) => args.includes(name);
const option = (name, dflt) => {
  const i = args.indexOf(name);
  return i >= 0 && i + 1 < args.length ? args[i + 1] : dflt;
};
const quick = flag('--quick');
const only = option('--only', undefined);
const pairs = Math.max(3, Number(option('--pairs', 3)));
const runMs = quick ? 3000 : 8000;
const warmMs = quick ? 700 : 1500;
const workers = Math.max(1, Math.min(os.cpus().length, 4));
const levels = option('--levels', '100,1000').split(',').map(Number);
const results = { startedAt: new Date().toISOString(), node: process.version, cpus: os.cpus().length, quick, pairs, runMs, workers };

// A private snapshot of the build for this run: other people rebuild dist/ while the bench
// runs, and a half-written module must not fail a contender. It sits under bench/results/
// (git-ignored), so `ws`, `yaml` and the rest resolve from the project's node_modules.
const snapshot = path.join(here, 'results', '.volley-dist');
rmSync(snapshot, { recursive: true, force: true });
cpSync(path.join(here, '..', 'dist'), snapshot, { recursive: true });
process.env.VOLLEY_DIST = snapshot;

function log(line) {
  process.stdout.write(line + '\n');
}

// --- the echo server, in its own process with a raised open-file limit ------------------------

async function startServer() {
  // Raise the server's soft open-file limit to its hard limit (20,000 here) for the 18k hold.
  const child = spawn('sh', ['-c', 'ulimit -n "$(ulimit -Hn)" 2>/dev/null; exec "$0" "$@"', process.execPath, path.join(here, 'echo-server.js')], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const port = await new Promise((resolve, reject) => {
    child.once('message', (m) => resolve(m.port));
    child.once('exit', (code) => reject(new Error(`echo server exited (${code})`)));
  });
  let nextId = 0;
  const pending = new Map();
  child.on('message', (m) => {
    if (m.type === 'count') {
      pending.get(m.id)?.(m);
      pending.delete(m.id);
    }
  });
  return {
    url: `ws://127.0.0.1:${port}/`,
    count: () =>
      new Promise((resolve) => {
        const id = nextId++;
        pending.set(id, resolve);
        child.send({ type: 'count', id });
      }),
    close: () => new Promise((resolve) => { child.once('exit', resolve); child.send({ type: 'exit' }); }),
  };
}

// --- one contender run: server-side throughput and /proc CPU over the same steady window -------

// The window starts once every connection is open (the server's own count), so each contender
// is measured in its steady closed loop, not in its ramp-up, whose speed depends on how it
// opens connections (all at once, or batched so the loop never stalls).
async function measure(server, spawnClient, connections) {
  const { child, output } = spawnClient();
  const samples = [];
  let exited = false;
  child.once('exit', () => (exited = true));
  while (!exited) {
    const t = performance.now();
    const cpu = treeCpuSeconds(child.pid);
    const { echoed, open } = await server.count();
    samples.push({ t, cpu, echoed, open });
    await new Promise((r) => setTimeout(r, 200));
  }
  const client = await output;
  const base = samples[0].echoed;
  const first = samples.find((s) => s.echoed > base);
  let lastIncrease = samples.length - 1;
  while (lastIncrease > 0 && samples[lastIncrease - 1].echoed === samples[lastIncrease].echoed) lastIncrease--;
  const allOpen = connections ? samples.find((s) => s.open >= connections) : undefined;
  const from = Math.max(first ? first.t + warmMs : Infinity, allOpen ? allOpen.t + 300 : -Infinity);
  let window = first ? samples.filter((s) => s.t >= from && s.t <= samples[lastIncrease].t - 400) : [];
  // A starved run (connections slow to open on a loaded machine): fall back to the whole span.
  if (window.length < 2 && first) window = samples.filter((s) => s.t >= first.t && s.t <= samples[lastIncrease].t);
  if (window.length < 2) return { ...client, roundTripsPerS: NaN, cpuPercent: NaN };
  const a = window[0];
  const b = window[window.length - 1];
  const dt = (b.t - a.t) / 1000;
  return { ...client, roundTripsPerS: (b.echoed - a.echoed) / dt, cpuPercent: ((b.cpu - a.cpu) / dt) * 100, windowS: dt };
}

function spawnNode(script, scriptArgs, execArgv = []) {
  return () => {
    const child = fork(path.join(here, script), scriptArgs, { stdio: ['ignore', 'pipe', 'inherit', 'ipc'], execArgv });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    const output = new Promise((resolve) => {
      child.once('exit', (code) => {
        const line = out.trim().split('\n').pop() ?? '';
        try {
          resolve({ ...JSON.parse(line), exitCode: code });
        } catch {
          resolve({ exitCode: code, output: out.slice(-500) });
        }
      });
    });
    return { child, output };
  };
}

const fmt = (x, d = 0) => (Number.isFinite(x) ? x.toFixed(d) : 'n/a');
const spread = (xs) => (xs.length ? `${fmt(Math.min(...xs), 2)}..${fmt(Math.max(...xs), 2)}` : 'n/a');

async function throughput() {
  const useArtillery = !flag('--no-artillery') && (await artilleryAvailable(log));
  results.throughput = {};
  for (const connections of levels) {
    const server = await startServer();
    const runs = { raw: [], volley: [], artillery: [] };
    log(`\n== closed-loop echo, ${connections} connections, ${workers} workers, ${pairs} alternating pairs of ${runMs / 1000} s ==`);
    for (let p = 0; p < pairs; p++) {
      const order = p % 2 === 0 ? ['raw', 'volley'] : ['volley', 'raw'];
      if (useArtillery) order.push('artillery');
      for (const who of order) {
        let r;
        if (who === 'raw') r = await measure(server, spawnNode('raw-client.js', ['loop', server.url, String(connections), String(runMs), String(workers)]), connections);
        else if (who === 'volley') r = await measure(server, spawnNode('volley-client.js', ['loop', server.url, String(connections), String(runMs), String(workers)]), connections);
        else r = await measure(server, () => runArtillery(server.url, connections, runMs), connections);
        runs[who].push(r);
        log(`  pair ${p + 1} ${who.padEnd(9)} ${fmt(r.roundTripsPerS).padStart(7)} rt/s  p50 ${fmt(r.p50Ms, 2)} ms  p99 ${fmt(r.p99Ms, 2)} ms  client CPU ${fmt(r.cpuPercent)}%${r.errors ? `  errors ${r.errors}` : ''}`);
      }
    }
    await server.close();
    const ratios = runs.raw.map((raw, i) => runs.volley[i].roundTripsPerS / raw.roundTripsPerS);
    const cpuPerRt = (r) => r.cpuPercent / r.roundTripsPerS;
    const cpuRatios = runs.raw.map((raw, i) => cpuPerRt(runs.volley[i]) / cpuPerRt(raw));
    const level = { runs, volleyOverRaw: { median: median(ratios), min: Math.min(...ratios), max: Math.max(...ratios), all: ratios }, cpuPerRoundTripVolleyOverRaw: median(cpuRatios) };
    log(`  volley/raw round trips/s: median ${fmt(level.volleyOverRaw.median, 3)} (spread ${spread(ratios)}); CPU per round trip volley/raw ${fmt(level.cpuPerRoundTripVolleyOverRaw, 2)}`);
    if (useArtillery) {
      log('  (Artillery\'s ws engine records no per-message latency: its p50/p99 are n/a)');
      const art = runs.volley.map((v, i) => v.roundTripsPerS / runs.artillery[i].roundTripsPerS);
      level.volleyOverArtillery = { median: median(art), min: Math.min(...art), max: Math.max(...art), all: art };
      log(`  volley/Artillery round trips/s: median ${fmt(level.volleyOverArtillery.median, 2)} (spread ${spread(art)})`);
    }
    results.throughput[connections] = level;
  }
}

async function memory() {
  const steps = quick ? [500, 2500] : [1000, 5000];
  const server = await startServer();
  log(`\n== memory per held connection (RSS slope between ${steps.join(' and ')} connections) ==`);
  const per = { raw: [], volley: [] };
  // One process per plateau (and per contender): the RSS difference over the connection
  // difference is the cost of one held connection, the fixed cost of the process cancels out.
  // RSS moves with garbage-collection timing (the same contender read 9.0 and 11.5 KiB in two
  // runs), so three alternated pairs and their medians, as for throughput.
  for (let p = 0; p < (quick ? 1 : 3); p++) {
    for (const who of p % 2 === 0 ? ['raw', 'volley'] : ['volley', 'raw']) {
      const script = who === 'raw' ? 'raw-client.js' : 'volley-client.js';
      const pl = [];
      for (const n of steps) {
        // A small young generation for both contenders, so handshake garbage is collected
        // before RSS is read instead of counting as memory held per connection.
        const r = await spawnNode(script, ['hold', server.url, String(n)], ['--max-semi-space-size=1'])().output;
        if (r.plateaus?.[0]) pl.push(r.plateaus[0]);
        else log(`  ${who}: no plateau at ${n} (${JSON.stringify(r).slice(0, 200)})`);
      }
      if (pl.length < 2) continue;
      const kib = (pl[1].rssBytes - pl[0].rssBytes) / (pl[1].connections - pl[0].connections) / 1024;
      per[who].push(kib);
      log(`  ${who.padEnd(7)} ${fmt(kib, 1)} KiB per connection (${pl.map((x) => `${x.connections} conns ${fmt(x.rssBytes / 2 ** 20)} MiB`).join(', ')})`);
    }
  }
  await server.close();
  const pairRatios = per.volley.map((v, i) => v / per.raw[i]).filter(Number.isFinite);
  results.memory = { steps, kibPerConnection: { raw: per.raw, volley: per.volley }, volleyOverRaw: median(per.volley) / median(per.raw), pairRatios };
  log(`  volley/raw memory per connection: ${fmt(results.memory.volleyOverRaw, 2)} (median ${fmt(median(per.volley), 1)} / ${fmt(median(per.raw), 1)} KiB; pairs ${spread(pairRatios)})`);
}

async function hold() {
  const n = Number(option('--hold', quick ? 5000 : 18000));
  const server = await startServer();
  log(`\n== one volley process holding ${n} connections (loopback, source addresses spread over 127.0.0.0/8) ==`);
  const { child, output } = spawnNode('volley-client.js', ['hold', server.url, String(n)])();
  // The server's own count of open connections, sampled while the client holds them.
  let serverPeak = 0;
  let exited = false;
  child.once('exit', () => (exited = true));
  while (!exited) {
    const { open } = await server.count();
    serverPeak = Math.max(serverPeak, open);
    await new Promise((r) => setTimeout(r, 500));
  }
  const r = await output;
  const held = r.plateaus?.[0]?.connections ?? 0;
  await server.close();
  results.hold = { wanted: n, held, serverPeakOpen: serverPeak, activeMax: r.activeMax, errors: r.connectErrors, connectP99Ms: r.connectP99Ms, rssBytes: r.plateaus?.[0]?.rssBytes, harness: r.harness, warnings: r.warnings };
  log(`  held ${held} (client peak ${r.activeMax}; server counted ${serverPeak} open at once), errors ${r.connectErrors}, connect p99 ${fmt(r.connectP99Ms, 1)} ms, RSS ${fmt((r.plateaus?.[0]?.rssBytes ?? NaN) / 2 ** 20)} MiB, event-loop lag p99 ${fmt(r.harness?.eventLoopLagP99Ms, 1)} ms`);
}

if (!only || only === 'throughput') await throughput();
if (!only || only === 'memory') await memory();
if (!only || only === 'hold') await hold();

mkdirSync(path.join(here, 'results'), { recursive: true });
const file = path.join(here, 'results', `bench-${results.startedAt.replace(/[:.]/g, '-')}.json`);
writeFileSync(file, JSON.stringify(results, null, 2) + '\n');
log(`\nwrote ${path.relative(process.cwd(), file)}`);
