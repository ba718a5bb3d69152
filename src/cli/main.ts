// The volley command line: yargs maps flags onto typed options and hands them to the library;
// only this layer chooses exit codes (0 passed, 1 threshold failed, 2 invalid input, 3 the run
// could not proceed, 130 interrupted). Errors are one line, never a stack.

import yargs from 'yargs';
import type { Argv } from 'yargs';
import { VolleyError, exitCodeFor } from '../errors.js';
import { parseSegment } from '../load/stripe.js';
import { parseDuration } from '../scenario/duration.js';
import { TRANSPORT_NAMES } from '../scenario/types.js';
import { VOLLEY_VERSION } from '../version.js';
import type { TransportName } from '../scenario/types.js';
import type { CliIO } from './io.js';
import { pendingEarlySignals, takeEarlySignals } from './signals.js';
import { CliExit, processIO } from './io.js';

function positiveInt(flag: string, value: unknown): number | undefined {
  if (value === undefined) return undefined;
  const n = typeof value === 'number' ? value : Number(value);
  if (!Number.isSafeInteger(n) || n < 1) throw new CliExit(2, `${flag}: expected a positive whole number, got ${JSON.stringify(value)}`);
  return n;
}

function positiveNumber(flag: string, value: unknown): number | undefined {
  if (value === undefined) return undefined;
  const n = typeof value === 'number' ? value : Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new CliExit(2, `${flag}: expected a positive number, got ${JSON.stringify(value)}`);
  return n;
}

function durationFlag(flag: string, value: unknown): number | undefined {
  if (value === undefined) return undefined;
  const ms = parseDuration(String(value));
  if (ms === undefined || ms <= 0) throw new CliExit(2, `${flag}: expected a duration like 30s, 250ms or 2m, got ${JSON.stringify(value)}`);
  return ms;
}

function stringList(value: unknown): string[] {
  if (value === undefined) return [];
  return (Array.isArray(value) ? value : [value]).map(String);
}

function transportsFlag(value: unknown): TransportName[] {
  const list = stringList(value).flatMap((v) => v.split(',')).map((v) => v.trim()).filter(Boolean);
  for (const t of list)
    if (!(TRANSPORT_NAMES as readonly string[]).includes(t))
      throw new CliExit(2, `--transport: unknown transport "${t}" (one of ${TRANSPORT_NAMES.join(', ')})`);
  return [...new Set(list)] as TransportName[];
}

// Options that may be given more than once; yargs turns any other repeated flag into an array
// too, which would reach the command as "a,b" (a URL nobody gave) or crash a path join.
const REPEATABLE = new Set(['_', '$0', 'transport', 'set', 'files']);

function rejectRepeatedFlags(argv: Record<string, unknown>): void {
  for (const [key, value] of Object.entries(argv)) {
    // `--out=` (or `--junit ""`) is no path: it wrote report.json into the current folder.
    if (value === '' && key !== '_' && !/[A-Z]/.test(key)) throw new CliExit(2, `${key.length === 1 ? `-${key}` : `--${key}`} needs a value`);
    if (!Array.isArray(value) || REPEATABLE.has(key) || /[A-Z]/.test(key)) continue;
    const flag = key.length === 1 ? `-${key}` : `--${key}`;
    throw new CliExit(2, `${flag} was given ${value.length} times (${value.map((v) => JSON.stringify(String(v))).join(', ')}); give it once`);
  }
}

function buildParser(args: string[], io: CliIO, setResult: (p: Promise<number>) => void): Argv {
  return yargs(args)
    .scriptName('volley')
    .usage('$0 <command> [options]')
    .strict()
    .exitProcess(false)
    .help()
    .version(VOLLEY_VERSION)
    .middleware((argv) => rejectRepeatedFlags(argv), true)
    .wrap(Math.min(110, io.stdout.columns ?? 100))
    .fail((msg, err) => {
      if (err instanceof CliExit || err instanceof VolleyError) throw err;
      // yargs may break its message over lines ("Invalid values:\n  Argument: …"): one line.
      const text = msg ?? (err ? err.message : 'invalid arguments');
      throw new CliExit(2, text.replace(/:?\s*\n\s*/g, ': ').trim());
    })
    .command(
      'run <scenario>',
      'run a scenario and write its reports',
      (y) =>
        y
          .positional('scenario', { type: 'string', describe: 'scenario YAML file', demandOption: true })
          .option('out', { type: 'string', requiresArg: true, describe: 'report folder (default reports/<name>-<UTC timestamp>)' })
          .option('duration', { type: 'string', requiresArg: true, describe: 'run length, e.g. 30s (overrides load.duration)' })
          .option('connections', { type: 'string', requiresArg: true, describe: 'connections (closed model) or maxConnections (arrival-rate)' })
          .option('rate', { type: 'string', requiresArg: true, describe: 'sessions per second: switches to the arrival-rate model' })
          .option('workers', { type: 'string', requiresArg: true, describe: 'worker threads (default: one per CPU)' })
          .option('target', { type: 'string', requiresArg: true, describe: 'target URL (overrides the scenario)' })
          .option('transport', { type: 'string', requiresArg: true, array: true, describe: `${TRANSPORT_NAMES.join(' | ')}; repeat to compare` })
          .option('set', { type: 'string', array: true, requiresArg: true, describe: 'override a scenario value: key.path=value' })
          .option('segment', { type: 'string', requiresArg: true, describe: 'run the i-th of n equal slices of the load (i/n)' })
          .option('quiet', { type: 'boolean', default: false, describe: 'no progress, only the final summary' })
          .option('json', { type: 'boolean', default: false, describe: 'print the summary as JSON on stdout' })
          .option('html', { type: 'boolean', default: true, describe: 'write report.html (--no-html to skip)' })
          .option('junit', { type: 'string', requiresArg: true, describe: 'write JUnit XML (one test case per threshold)' })
          .option('summary-md', { type: 'string', requiresArg: true, describe: 'append a Markdown summary (e.g. $GITHUB_STEP_SUMMARY)' })
          .option('debug', { type: 'boolean', default: false, describe: "print the first session's handshake and frames" })
          .option('fail-fast', { type: 'boolean', default: false, describe: 'stop the run when a worker dies (default: the others carry on)' })
          .option('processes', { type: 'string', requiresArg: true, describe: 'run the load as N child processes (segments) and merge their reports' })
          .option('progress-json', { type: 'boolean', default: false, hidden: true, describe: 'progress as JSON lines on stderr' })
          .option('start-gate', { type: 'boolean', default: false, hidden: true, describe: 'wait for {"go": epochMs} on stdin before starting (--processes)' }),
      (argv) => {
        let segment: ReturnType<typeof parseSegment>;
        if (argv.segment !== undefined) {
          segment = parseSegment(String(argv.segment));
          if (!segment) throw new CliExit(2, `--segment: expected i/n with 1 <= i <= n, got ${JSON.stringify(argv.segment)}`);
        }
        const target = argv.target === undefined ? undefined : String(argv.target);
        // What each child of --processes gets: the scenario and the flags that shape the load.
        const childArgs: string[] = [String(argv.scenario)];
        for (const flag of ['duration', 'connections', 'rate', 'workers', 'target'] as const)
          if (argv[flag] !== undefined) childArgs.push(`--${flag}`, String(argv[flag]));
        for (const t of stringList(argv.transport)) childArgs.push('--transport', t);
        for (const s of stringList(argv.set)) childArgs.push('--set', s);
        setResult(
          import('./run.js').then(({ runCommand }) =>
            runCommand(
              {
                scenario: String(argv.scenario),
                out: argv.out,
                sets: stringList(argv.set),
                overrides: {
                  target,
                  durationMs: durationFlag('--duration', argv.duration),
                  connections: positiveInt('--connections', argv.connections),
                  rate: positiveNumber('--rate', argv.rate),
                },
                transports: transportsFlag(argv.transport),
                workers: positiveInt('--workers', argv.workers),
                segment,
                quiet: Boolean(argv.quiet),
                json: Boolean(argv.json),
                html: argv.html !== false,
                junit: argv.junit,
                summaryMd: argv['summary-md'] as string | undefined,
                debug: Boolean(argv.debug),
                failFast: Boolean(argv['fail-fast']),
                processes: positiveInt('--processes', argv.processes),
                childArgs,
                progressJson: Boolean(argv['progress-json']),
                startGate: Boolean(argv['start-gate']),
              },
              io,
            ),
          ),
        );
      },
    )
    .command(
      'validate <scenario>',
      'check a scenario without running it (exit 0, or 2 with every problem)',
      (y) =>
        y
          .positional('scenario', { type: 'string', demandOption: true })
          .option('set', { type: 'string', array: true, requiresArg: true, describe: 'override a scenario value: key.path=value' }),
      (argv) => {
        setResult(import('./validate.js').then(({ validateCommand }) => validateCommand(String(argv.scenario), stringList(argv.set), io)));
      },
    )
    .command(
      'serve <target>',
      'run an embedded target standalone (echo, chat, feed, socketio-chat)',
      (y) =>
        y
          .positional('target', { type: 'string', demandOption: true })
          .option('port', { type: 'string', requiresArg: true, describe: 'port (default 9001; 0 = any free port)' })
          .option('host', { type: 'string', requiresArg: true, default: '127.0.0.1', describe: 'address to listen on' })
          .option('tls', { type: 'boolean', default: false, describe: 'serve wss/https with a self-signed certificate' })
          .option('duration', { type: 'string', requiresArg: true, describe: 'stop by itself after this long' }),
      (argv) => {
        const port = argv.port === undefined ? 9001 : Number(argv.port);
        if (!Number.isInteger(port) || port < 0 || port > 65535) throw new CliExit(2, `--port: expected 0..65535, got ${JSON.stringify(argv.port)}`);
        setResult(
          import('./serve.js').then(({ serveCommand }) =>
            serveCommand({ target: String(argv.target), port, host: String(argv.host), tls: Boolean(argv.tls), durationMs: durationFlag('--duration', argv.duration) }, io),
          ),
        );
      },
    )
    .command(
      'report <file>',
      're-render the HTML report from a report.json',
      (y) => y.positional('file', { type: 'string', demandOption: true }).option('html', { type: 'string', requiresArg: true, describe: 'output file (default: report.html beside the JSON)' }),
      (argv) => {
        setResult(import('./tools.js').then(({ reportCommand }) => reportCommand(String(argv.file), argv.html, io)));
      },
    )
    .command(
      'compare <a> <b>',
      'compare two reports per metric; exit 1 when a latency percentile regressed beyond the limit',
      (y) =>
        y
          .positional('a', { type: 'string', demandOption: true, describe: 'baseline report.json' })
          .positional('b', { type: 'string', demandOption: true, describe: 'candidate report.json' })
          .option('fail-on-regression', { type: 'string', requiresArg: true, describe: 'e.g. 10%' })
          .option('html', { type: 'string', requiresArg: true, describe: 'also write the comparison as HTML' }),
      (argv) => {
        setResult(
          import('./tools.js').then(({ compareCommand }) =>
            compareCommand(String(argv.a), String(argv.b), argv['fail-on-regression'] as string | undefined, argv.html, io),
          ),
        );
      },
    )
    .command(
      'merge <files..>',
      "merge shards' reports losslessly (histograms add) and re-evaluate thresholds",
      (y) =>
        y
          .positional('files', { type: 'string', array: true, demandOption: true })
          .option('o', { alias: 'out', type: 'string', requiresArg: true, demandOption: true, describe: 'merged report.json' })
          .option('html', { type: 'string', requiresArg: true, describe: 'also write the merged HTML report' }),
      (argv) => {
        setResult(import('./tools.js').then(({ mergeCommand }) => mergeCommand(stringList(argv.files), String(argv.o), argv.html, io)));
      },
    )
    .command(
      'import <har>',
      'turn the WebSocket traffic of a DevTools HAR into a scenario',
      (y) =>
        y
          .positional('har', { type: 'string', demandOption: true })
          .option('o', { alias: 'out', type: 'string', requiresArg: true, describe: 'scenario file (default: stdout)' })
          .option('url-filter', { type: 'string', requiresArg: true, describe: 'only WebSocket entries whose URL matches this regex' })
          .option('timing', { choices: ['keep', 'none'] as const, default: 'keep' as const, describe: 'recorded gaps as think steps, or none' }),
      (argv) => {
        setResult(
          import('./tools.js').then(({ importCommand }) =>
            importCommand(String(argv.har), { out: argv.o, urlFilter: argv['url-filter'] as string | undefined, timing: argv.timing }, io),
          ),
        );
      },
    )
    .command(
      'record',
      'record a scenario through a WebSocket proxy on loopback (Ctrl-C writes it)',
      (y) =>
        y
          .option('upstream', { type: 'string', requiresArg: true, demandOption: true, describe: 'ws://HOST:PORT/PATH of the real server' })
          .option('listen', { type: 'string', requiresArg: true, default: '127.0.0.1:8089', describe: 'HOST:PORT to listen on' })
          .option('o', { alias: 'out', type: 'string', requiresArg: true, describe: 'scenario file (default: stdout)' })
          .option('quiet', { type: 'boolean', default: false, describe: 'do not print frames as they pass' })
          .option('duration', { type: 'string', requiresArg: true, describe: 'stop by itself after this long' })
          .option('timing', { choices: ['keep', 'none'] as const, default: 'keep' as const }),
      (argv) => {
        setResult(
          import('./tools.js').then(({ recordCommand }) =>
            recordCommand(
              {
                upstream: String(argv.upstream),
                listen: argv.listen,
                out: argv.o,
                quiet: Boolean(argv.quiet),
                durationMs: durationFlag('--duration', argv.duration),
                timing: argv.timing,
              },
              io,
            ),
          ),
        );
      },
    )
    .demandCommand(1, 'name a command: run, validate, serve, report, compare, merge, import, record');
}

export async function main(args: string[], io: CliIO = processIO()): Promise<number> {
  let result: Promise<number> | undefined;
  await injectedStartupDelay(io);
  try {
    const parser = buildParser(args, io, (p) => {
      result = p;
    });
    let helpText = '';
    await parser.parseAsync(args, {}, (err, _argv, output) => {
      if (!err && output) helpText = output;
    });
    if (helpText) io.stdout.write(helpText + '\n');
    const code = result ? await result : 0;
    // Ctrl-C during a command that does not handle it (validate, import…): it finished, but the
    // user asked to stop, which is what the exit code says.
    if (pendingEarlySignals() > 0 && process.listenerCount('SIGINT') > 0) {
      takeEarlySignals();
      return 130;
    }
    return code;
  } catch (err) {
    // One line each: a message that quotes a parser's or the system's words ("Unexpected token
    // 'g', "garbage\n" is not valid JSON") must not spill onto a second line.
    if (err instanceof CliExit) {
      io.stderr.write(`volley: ${oneLine(err.message)}\n`);
      return err.exitCode;
    }
    if (err instanceof VolleyError) {
      io.stderr.write(`volley: ${oneLine(err.message)}\n`);
      return exitCodeFor(err.code);
    }
    throw err;
  }
}

/**
 * Fault injection for tests and drills (docs/reliability.md): VOLLEY_FAULT=startup-delay:MS
 * holds the command this long before it starts, after saying so on stderr, so that a test can
 * send Ctrl-C while volley is still starting.
 */
async function injectedStartupDelay(io: CliIO): Promise<void> {
  const m = /^startup-delay:(\d+)$/.exec(io.env.VOLLEY_FAULT ?? '');
  if (!m) return;
  io.stderr.write(`volley: starting (VOLLEY_FAULT=${m[0]})\n`);
  await new Promise((r) => setTimeout(r, Number(m[1])));
}

function oneLine(message: string): string {
  return message.replace(/\s*\n\s*/g, ' ').trim();
}
