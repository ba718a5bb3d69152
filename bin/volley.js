#!/usr/bin/env node
// Thin launcher: the CLI lives in dist/ (built by `npm ci` through the `prepare` script).
// Ctrl-C before the CLI has loaded is caught first (and handled once it has): see signals.ts.
import { installEarlySignalCatcher } from '../dist/cli/signals.js';

installEarlySignalCatcher();
const { main } = await import('../dist/cli/main.js');

// A reader that goes away (`volley run … | head`) must not end the run: what was measured is
// still written to the report. Later writes to that stream are dropped.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (err) => {
    if (err && err.code === 'EPIPE') return;
    throw err;
  });
}

main(process.argv.slice(2)).then(
  (code) => { process.exitCode = code; },
  (err) => {
    process.stderr.write(`volley: internal error: ${err && err.stack ? err.stack : String(err)}\n`);
    process.exitCode = 70;
  },
);
