#!/usr/bin/env node
// `npm run shards:local`: what a Kubernetes Indexed Job does, on one machine and by hand.
// Starts SHARDS `volley run --segment i/SHARDS` processes side by side (each against its own
// in-process builtin:echo), then merges their reports with `volley merge`.
//
//   npm run shards:local                      # 3 shards of scenarios/echo.yaml for 5s
//   SHARDS=2 DURATION=10s SCENARIO=my.yaml npm run shards:local

import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const bin = path.join(root, 'bin/volley.js');
const shards = Number(process.env.SHARDS ?? 3);
const duration = process.env.DURATION ?? '5s';
const scenario = process.env.SCENARIO ?? path.join(root, 'scenarios/echo.yaml');
if (!Number.isInteger(shards) || shards < 1) {
  console.error(`shards:local: SHARDS must be a positive integer, not ${process.env.SHARDS}`);
  process.exit(2);
}
const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
const runDir = path.join(root, 'reports', `shards-local-${stamp}`);

function volley(args, label) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [bin, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d) => (out += d));
    child.on('close', (code) => {
      if (label) console.error(`${label}: exit ${code}`);
      resolve({ code: code ?? 1, out });
    });
  });
}

console.error(`running ${shards} shards of ${path.relative(root, scenario)} for ${duration} side by side…`);
const files = [];
const runs = [];
for (let i = 1; i <= shards; i++) {
  const out = path.join(runDir, `shard-${i}-of-${shards}`);
  files.push(path.join(out, 'report.json'));
  runs.push(volley(['run', scenario, '--segment', `${i}/${shards}`, '--duration', duration, '--workers', '1', '--out', out, '--quiet', '--no-html'], `shard ${i}/${shards}`));
}
const results = await Promise.all(runs);
if (results.some((r) => r.code >= 2)) {
  console.error('a shard could not run: nothing to merge');
  process.exit(Math.max(...results.map((r) => r.code)));
}
const merged = path.join(runDir, 'report.json');
const { code, out } = await volley(['merge', ...files, '-o', merged, '--html', path.join(runDir, 'report.html')]);
process.stdout.write(out);
console.error(`shard reports: ${path.relative(root, runDir)}/shard-*; merged: ${path.relative(root, merged)}`);
process.exit(code);
