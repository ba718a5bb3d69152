import { describe, expect, test } from 'vitest';
import { formatProgressLine, formatSummary, useColor } from '../../src/report/console.js';
import { describeLoad, formatActual } from '../../src/report/format.js';
import type { TrendJson } from '../../src/report/types.js';
import { makeReport } from '../helpers/report-fixtures.js';

// eslint-disable-next-line no-control-regex
const ANSI = /\x1b\[[0-9;]*m/;

function lineStarting(text: string, start: string): string {
  const line = text.split('\n').find((l) => l.trimStart().startsWith(start));
  expect(line, `a line starting with ${start}`).toBeDefined();
  return line!;
}

describe('formatSummary', () => {
  test('lists every trend with the JSON count and percentiles', () => {
    const report = makeReport();
    const text = formatSummary(report, { color: false });
    const latency = report.metrics['latency'] as TrendJson;
    const cells = lineStarting(text, 'latency ').trim().split(/\s+/);
    expect(cells).toEqual(['latency', latency.count.toLocaleString('en-US'), ...[latency.p50, latency.p90, latency.p99, latency.max].map(String)]);
    expect(lineStarting(text, 'latency{name:say}')).toBeTruthy();
    expect(lineStarting(text, 'connect')).toBeTruthy();
  });

  test('lists counters with count and rate, and the gauge', () => {
    const report = makeReport();
    const text = formatSummary(report, { color: false });
    expect(lineStarting(text, 'frames_sent').trim().split(/\s+/)).toEqual(['frames_sent', '11,120', '371']);
    expect(lineStarting(text, 'active_connections')).toMatch(/max 100$/);
  });

  test('thresholds carry ✓/✗ and the actual value; the verdict heads the summary', () => {
    const report = makeReport({ failThreshold: true });
    const text = formatSummary(report, { color: false });
    expect(text.split('\n')[0]).toBe('chat-room  FAILED');
    const say = report.metrics['latency{name:say}'] as TrendJson;
    expect(lineStarting(text, '✓  latency{name:say}')).toContain(`actual ${say.p99} ms`);
    expect(lineStarting(text, '✗  errors')).toMatch(/rate < 0\.05\s+actual 0\.1$/);
  });

  test('errors by kind and the harness warning show', () => {
    const text = formatSummary(makeReport({ limited: true, errorMessage: 'boom\nsecond line' }), { color: false });
    expect(lineStarting(text, 'expect_timeout')).toMatch(/^\s+expect_timeout\s+3\s+boom second line$/);
    expect(text).toMatch(/! results are limited by the load generator, not the server: event-loop lag p99 38\.4 ms/);
    expect(formatSummary(makeReport(), { color: false })).not.toContain('limited by the load generator');
  });

  test('a CPU-limited run quotes the CPU that crossed the limit, not a lag and mean CPU under it', () => {
    // A 2 s shard: lag p99 5.47 ms and a mean CPU of 34%, but worker 1 at 99% in its first second
    // (with 2 samples, that is a tenth of them).
    const report = makeReport();
    report.harness = {
      eventLoopLagP99Ms: 5.47,
      cpuPercent: 34,
      limited: true,
      workers: [
        { worker: 0, eventLoopLagP99Ms: 5.47, cpuPercent: 20, cpuBusyPercent: 40 },
        { worker: 1, eventLoopLagP99Ms: 2.1, cpuPercent: 48, cpuBusyPercent: 99 },
      ],
    };
    const text = formatSummary(report, { color: false });
    expect(text).toContain(
      '! results are limited by the load generator, not the server: CPU at 98% or more in at least a tenth of the seconds (worker 1 at 99%)',
    );
    expect(text).not.toContain('5.47 ms');
    expect(text).not.toContain('CPU 34%');
    // A report without the per-worker figure still names the cause, without a wrong number.
    for (const w of report.harness.workers!) delete w.cpuBusyPercent;
    expect(formatSummary(report, { color: false })).toContain(
      "not the server: a worker's CPU at 98% or more in at least a tenth of its seconds (use more",
    );
  });

  test('loads print rates and targets without float noise', () => {
    const report = makeReport();
    report.load = { model: 'arrival-rate', rate: 8.333333333333332 * 3, durationS: 2, gracefulStopS: 5, maxConnections: 3 };
    expect(describeLoad(report)).toBe('25 sessions/s for 2s, max 3 connections');
    report.load = { model: 'arrival-rate', rate: 25 / 3, durationS: 2, gracefulStopS: 5, stages: [{ durationS: 2, target: 25 / 3 }], segment: '1/3' };
    expect(describeLoad(report)).toBe('arrival-rate, stages 2s→8.33/s, segment 1/3');
    report.load = { model: 'connections', connections: 7, iterations: 2, durationS: 0, gracefulStopS: 5, segments: ['1/2', '2/2'] };
    expect(describeLoad(report)).toBe('7 connections × 2 sessions');
  });

  test('interrupted and passed runs', () => {
    expect(formatSummary(makeReport({ interrupted: true }), { color: false })).toMatch(/^chat-room {2}INTERRUPTED\n.*\n! interrupted: partial results/);
    expect(formatSummary(makeReport(), { color: false }).split('\n')[0]).toBe('chat-room  PASSED');
  });

  test('a run that opened no connection is FAILED, with the reason, even with no threshold failing', () => {
    const report = makeReport({ errorMessage: 'connection refused by ws://127.0.0.1:9/' });
    delete report.metrics['connect'];
    report.thresholds = [];
    const text = formatSummary(report, { color: false });
    expect(text.split('\n')[0]).toBe('chat-room  FAILED');
    expect(text).toMatch(/^! no connection could be opened: connection refused by ws:\/\/127\.0\.0\.1:9\/$/m);
    expect(formatSummary(makeReport(), { color: false })).not.toContain('no connection');
  });

  test('colour only when asked: green ✓, red ✗', () => {
    const report = makeReport({ failThreshold: true });
    expect(formatSummary(report, { color: false })).not.toMatch(ANSI);
    const colored = formatSummary(report, { color: true });
    expect(colored).toContain('\x1b[32m✓\x1b[39m');
    expect(colored).toContain('\x1b[31m✗\x1b[39m');
    // Colour does not shift columns: stripped, it equals the plain text.
    // eslint-disable-next-line no-control-regex
    expect(colored.replace(/\x1b\[[0-9;]*m/g, '')).toBe(formatSummary(report, { color: false }));
  });
});

describe('formatProgressLine', () => {
  test('shows every field, with a dash for seconds without samples', () => {
    const line = formatProgressLine({ elapsedS: 12.4, active: 1500, framesSentPerS: 1200, framesReceivedPerS: 1198.5, p50: 0.7, p99: null, errors: 3 });
    expect(line).toBe('  12s  active 1,500  sent 1,200/s  recv 1,199/s  p50 0.7ms  p99 –  errors 3');
    expect(line).not.toContain('\n');
  });
});

describe('useColor', () => {
  const tty = { isTTY: true } as NodeJS.WriteStream;
  const pipe = { isTTY: false } as NodeJS.WriteStream;
  const cases: [string, NodeJS.WriteStream, NodeJS.ProcessEnv, boolean][] = [
    ['a TTY colours', tty, {}, true],
    ['a pipe does not', pipe, {}, false],
    ['NO_COLOR turns it off on a TTY', tty, { NO_COLOR: '1' }, false],
    ['an empty NO_COLOR is ignored', tty, { NO_COLOR: '' }, true],
    ['TERM=dumb turns it off', tty, { TERM: 'dumb' }, false],
    ['FORCE_COLOR turns it on in a pipe', pipe, { FORCE_COLOR: '1' }, true],
    ['FORCE_COLOR wins over NO_COLOR', pipe, { FORCE_COLOR: '1', NO_COLOR: '1' }, true],
    ['FORCE_COLOR=0 turns it off on a TTY', tty, { FORCE_COLOR: '0' }, false],
    ['FORCE_COLOR=false turns it off', tty, { FORCE_COLOR: 'false' }, false],
  ];
  for (const [name, stream, env, expected] of cases) {
    test(name, () => expect(useColor(stream, env)).toBe(expected));
  }
});

describe('load and threshold wording', () => {
  test('an iteration-bounded load says so instead of "for 0s"; a timed one keeps its duration', () => {
    const report = makeReport({ connections: 3 });
    report.load = { model: 'connections', connections: 3, durationS: 0, gracefulStopS: 30, iterations: 1 };
    expect(describeLoad(report)).toBe('3 connections × 1 session');
    report.load = { model: 'connections', connections: 1, durationS: 0, gracefulStopS: 30, iterations: 5 };
    expect(describeLoad(report)).toBe('1 connection × 5 sessions');
    report.load = { model: 'connections', connections: 100, durationS: 30, gracefulStopS: 30 };
    expect(describeLoad(report)).toBe('100 connections for 30s');
  });

  test('a gauge threshold shows a count, not milliseconds', () => {
    expect(formatActual({ metric: 'active_connections', expression: 'max <= 2', actual: 2 })).toBe('2');
    expect(formatActual({ metric: 'latency{name:say}', expression: 'p(99) < 50ms', actual: 3.2 })).toBe('3.2 ms');
  });
});
