// `volley merge` and `--processes N`: shards of one scenario -> one report, losslessly where the
// data allows. Trends add their encoded HDR histograms (so merged percentiles are exactly those
// of one histogram holding every sample, never averages), counters add, time series are
// aligned by wall clock and summed. Pure: reports in, report out; the CLI reads the files.

import { VolleyError } from '../errors.js';
import { decodeHistogram, newHistogram, trendJsonFrom } from '../metrics/hdr.js';
import type { Histogram } from '../metrics/hdr.js';
import { gaugeFromSeries, ratePerSecond } from '../metrics/aggregate.js';
import { COUNTER_NAMES, GAUGE } from '../metrics/names.js';
import type {
  ErrorSummaryJson,
  GaugeJson,
  HarnessJson,
  LoadAppliedJson,
  MetricJson,
  ReportJson,
  TimeseriesPoint,
} from './types.js';

/**
 * Merge shard reports (`files[i]` names `reports[i]` in errors and in `mergedFrom`).
 * Refuses, with a VolleyError('INVALID_INPUT') naming the file, reports of another format, of
 * a different scenario (by scenario.sha256) or transport, or whose metrics disagree in type or
 * carry a histogram that does not decode. `thresholds` is left empty: the caller re-parses the
 * scenario's thresholds and evaluates them against the merged metrics.
 */
export function mergeReports(reports: readonly ReportJson[], files: readonly string[]): ReportJson {
  if (files.length !== reports.length) {
    throw new Error(`mergeReports: ${reports.length} reports but ${files.length} file names`);
  }
  if (reports.length === 0) throw new VolleyError('INVALID_INPUT', 'volley merge: no reports to merge');
  const shards = reports.map((report, i) => checkShard(report, files[i]!, reports[0]!, files[0]!));
  refuseRepeats(shards);

  let first = shards[0]!;
  let last = shards[0]!;
  for (const s of shards) {
    if (s.startMs < first.startMs) first = s;
    if (s.endMs > last.endMs) last = s;
  }
  const originMs = first.startMs;
  const durationS = (last.endMs - originMs) / 1000;

  const timeseries = mergeTimeseries(shards, originMs);
  const head = reports[0]!;
  const merged: ReportJson = {
    format: 1,
    scenario: { ...head.scenario },
    target: head.target,
    startedAt: first.report.startedAt,
    endedAt: last.report.endedAt,
    durationS,
    transport: head.transport,
    environment: mergeEnvironment(reports),
    load: mergeLoad(reports.map((r) => r.load)),
    metrics: mergeMetrics(shards, durationS, timeseries),
    timeseries,
    thresholds: [],
    errors: mergeErrors(shards),
    harness: mergeHarness(reports.map((r) => r.harness)),
    mergedFrom: [...files],
  };
  merged.interrupted = reports.some((r) => r.interrupted === true);
  merged.aborted = reports.some((r) => r.aborted === true);
  return merged;
}

interface Shard {
  report: ReportJson;
  file: string;
  startMs: number;
  endMs: number;
}

function checkShard(report: ReportJson, file: string, head: ReportJson, headFile: string): Shard {
  const format: unknown = (report as { format?: unknown }).format;
  if (format !== 1) {
    throw new VolleyError('INVALID_INPUT', `${file}: report format ${JSON.stringify(format)} cannot be merged (expected 1)`);
  }
  if (report.scenario?.sha256 !== head.scenario?.sha256) {
    throw new VolleyError(
      'INVALID_INPUT',
      `${file}: ran a different scenario (sha256 ${short(report.scenario?.sha256)}) than ${headFile} ` +
        `(sha256 ${short(head.scenario?.sha256)}); only shards of one scenario file merge`,
    );
  }
  if (report.transport !== head.transport) {
    throw new VolleyError(
      'INVALID_INPUT',
      `${file}: ran over transport ${report.transport} but ${headFile} over ${head.transport}; shards of different transports do not merge`,
    );
  }
  const startMs = Date.parse(report.startedAt);
  const endMs = Date.parse(report.endedAt);
  if (!Number.isFinite(startMs) || !Number.isFinite(endMs)) {
    throw new VolleyError('INVALID_INPUT', `${file}: startedAt/endedAt are not ISO timestamps`);
  }
  return { report, file, startMs, endMs };
}

/**
 * One shard given twice (the same file, or a copy) would count its sessions twice: refused. A
 * shard is known by its segment and its start; two plain runs of the scenario that started at
 * the same moment on the same host are the same run.
 */
function refuseRepeats(shards: readonly Shard[]): void {
  // A segment is a share of the load: two inputs holding one (two runs of 1/3, a merged report
  // beside one of its own shards, two whole --processes runs) would count that share twice.
  const holder = new Map<string, string>();
  for (const s of shards) {
    for (const seg of segmentsOf(s.report.load)) {
      const earlier = holder.get(seg);
      if (earlier !== undefined)
        throw new VolleyError('INVALID_INPUT', `${s.file}: holds shard ${seg}, which ${earlier} already holds; each shard merges once`);
      holder.set(seg, s.file);
    }
  }
  const seen = new Map<string, string>();
  for (const s of shards) {
    const r = s.report;
    const key = `${r.load?.segment ?? ''}|${r.startedAt}|${r.environment?.hostname ?? ''}`;
    const earlier = seen.get(key);
    if (earlier !== undefined) {
      const what = r.load?.segment ? `shard ${r.load.segment}` : 'run';
      throw new VolleyError('INVALID_INPUT', `${s.file}: the same ${what} as ${earlier} (started ${r.startedAt}); each shard merges once`);
    }
    seen.set(key, s.file);
  }
}

function short(sha: string | undefined): string {
  return sha === undefined ? 'missing' : `${sha.slice(0, 12)}…`;
}

function mergeMetrics(
  shards: readonly Shard[],
  durationS: number,
  timeseries: readonly TimeseriesPoint[],
): Record<string, MetricJson> {
  const types = new Map<string, { type: MetricJson['type']; file: string }>();
  const trends = new Map<string, Histogram>();
  const counters = new Map<string, number>();
  const gauges = new Map<string, GaugeJson[]>();

  for (const { report, file } of shards) {
    for (const [key, metric] of Object.entries(report.metrics)) {
      const seen = types.get(key);
      if (seen === undefined) types.set(key, { type: metric.type, file });
      else if (seen.type !== metric.type) {
        throw new VolleyError('INVALID_INPUT', `${file}: metric "${key}" is a ${metric.type} but a ${seen.type} in ${seen.file}`);
      }
      switch (metric.type) {
        case 'trend': {
          let decoded: Histogram;
          try {
            decoded = decodeHistogram(metric.hdr);
          } catch (err) {
            const why = err instanceof Error ? err.message : String(err);
            throw new VolleyError('INVALID_INPUT', `${file}: metric "${key}" has an hdr histogram that does not decode (${why})`);
          }
          let total = trends.get(key);
          if (total === undefined) {
            total = newHistogram();
            trends.set(key, total);
          }
          total.add(decoded);
          break;
        }
        case 'counter':
          counters.set(key, (counters.get(key) ?? 0) + metric.count);
          break;
        case 'gauge': {
          const list = gauges.get(key) ?? [];
          list.push(metric);
          gauges.set(key, list);
          break;
        }
      }
    }
  }

  const out: Record<string, MetricJson> = {};
  for (const key of [...trends.keys()].sort()) {
    const h = trends.get(key)!;
    // A trend the shards report with no samples stays, at count 0, as in each shard's report.
    out[key] = trendJsonFrom(h);
  }
  for (const name of COUNTER_NAMES) if (!counters.has(name) && !types.has(name)) counters.set(name, 0);
  for (const key of [...counters.keys()].sort()) {
    const count = counters.get(key)!;
    out[key] = { type: 'counter', count, rate: ratePerSecond(count, durationS) };
  }
  const gaugeKeys = new Set(gauges.keys());
  gaugeKeys.add(GAUGE.activeConnections);
  for (const key of [...gaugeKeys].sort()) {
    if (key === GAUGE.activeConnections && timeseries.length > 0) {
      // The peak of the summed series, not the largest shard's peak; never below a shard's own
      // peak, which also counts sessions that opened and closed between two samples.
      const g = gaugeFromSeries(timeseries.map((p) => p.active));
      if (g.type === 'gauge') for (const shard of gauges.get(key) ?? []) g.max = Math.max(g.max, shard.max ?? shard.value);
      out[key] = g;
    } else {
      // No series to sum: add the shards' own figures (max is then an upper bound).
      const list = gauges.get(key) ?? [];
      out[key] = {
        type: 'gauge',
        value: sum(list.map((g) => g.value)),
        min: sum(list.map((g) => g.min ?? g.value)),
        max: sum(list.map((g) => g.max ?? g.value)),
      };
    }
  }
  return out;
}

/** One shard's points folded into merged seconds (t = 1 is the second after the earliest start). */
interface AlignedPoint {
  framesSent: number;
  framesReceived: number;
  errors: number;
  bytesSent: number;
  bytesReceived: number;
  active: number;
  activeAtMs: number;
  p50: number | null;
  p99: number | null;
}

/**
 * Aligns shards by wall clock on whole epoch seconds: a point ending at `at` lands in epoch
 * second round(at / 1000), the second it overlaps most, and merged points end exactly on those
 * seconds (`t` counts from the one nearest the earliest start). Snapping to the absolute grid,
 * not to an offset from the earliest start, is what makes merging associative: a merged
 * report's points stay where they are when it is merged again. Counters add; `active` adds
 * each shard's latest value, carried forward through seconds the shard did not report.
 *
 * p50/p99 per second are NOT exact: a report keeps only the run's histograms, not one per
 * second, so a merged second takes the max of the shards' values (an upper bound). The run's
 * percentiles in `metrics` are exact.
 */
function mergeTimeseries(shards: readonly Shard[], originMs: number): TimeseriesPoint[] {
  const perShard: Map<number, AlignedPoint>[] = [];
  const originSecond = Math.round(originMs / 1000);
  let lastT = 0;
  let hasBytes = false;
  for (const { report, startMs } of shards) {
    const aligned = new Map<number, AlignedPoint>();
    for (const p of report.timeseries) {
      const atMs = p.at ?? startMs + p.t * 1000;
      const t = Math.max(1, Math.round(atMs / 1000) - originSecond);
      if (t > lastT) lastT = t;
      if (p.bytesSent !== undefined || p.bytesReceived !== undefined) hasBytes = true;
      const a = aligned.get(t);
      if (a === undefined) {
        aligned.set(t, {
          framesSent: p.framesSent,
          framesReceived: p.framesReceived,
          errors: p.errors,
          bytesSent: p.bytesSent ?? 0,
          bytesReceived: p.bytesReceived ?? 0,
          active: p.active,
          activeAtMs: atMs,
          p50: p.p50,
          p99: p.p99,
        });
      } else {
        // Two points of one shard in one merged second (a shard with an irregular clock).
        a.framesSent += p.framesSent;
        a.framesReceived += p.framesReceived;
        a.errors += p.errors;
        a.bytesSent += p.bytesSent ?? 0;
        a.bytesReceived += p.bytesReceived ?? 0;
        if (atMs >= a.activeAtMs) {
          a.active = p.active;
          a.activeAtMs = atMs;
        }
        a.p50 = maxOrNull(a.p50, p.p50);
        a.p99 = maxOrNull(a.p99, p.p99);
      }
    }
    perShard.push(aligned);
  }

  const carried = shards.map(() => 0);
  const out: TimeseriesPoint[] = [];
  for (let t = 1; t <= lastT; t++) {
    const point: TimeseriesPoint = {
      t,
      at: (originSecond + t) * 1000,
      framesSent: 0,
      framesReceived: 0,
      active: 0,
      errors: 0,
      p50: null,
      p99: null,
    };
    let bytesSent = 0;
    let bytesReceived = 0;
    perShard.forEach((aligned, i) => {
      const a = aligned.get(t);
      if (a !== undefined) {
        point.framesSent += a.framesSent;
        point.framesReceived += a.framesReceived;
        point.errors += a.errors;
        bytesSent += a.bytesSent;
        bytesReceived += a.bytesReceived;
        point.p50 = maxOrNull(point.p50, a.p50);
        point.p99 = maxOrNull(point.p99, a.p99);
        carried[i] = a.active;
      }
      point.active += carried[i]!;
    });
    if (hasBytes) {
      point.bytesSent = bytesSent;
      point.bytesReceived = bytesReceived;
    }
    out.push(point);
  }
  return out;
}

/** By kind; the first message is the one from the earliest-starting shard that saw the kind. */
function mergeErrors(shards: readonly Shard[]): ErrorSummaryJson[] {
  const byKind = new Map<string, { count: number; first: string; firstAtMs: number }>();
  for (const { report, startMs } of shards) {
    for (const e of report.errors) {
      const prev = byKind.get(e.kind);
      if (prev === undefined) {
        byKind.set(e.kind, { count: e.count, first: e.first, firstAtMs: e.first ? startMs : Infinity });
        continue;
      }
      prev.count += e.count;
      if (e.first && startMs < prev.firstAtMs) {
        prev.first = e.first;
        prev.firstAtMs = startMs;
      }
    }
  }
  const out = [...byKind].map(([kind, e]) => ({ kind, count: e.count, first: e.first }));
  out.sort((a, b) => b.count - a.count || (a.kind < b.kind ? -1 : a.kind > b.kind ? 1 : 0));
  return out;
}

/** Worst lag, mean CPU, limited if any shard was; workers renumbered in shard order. */
function mergeHarness(list: readonly HarnessJson[]): HarnessJson {
  const harness: HarnessJson = {
    eventLoopLagP99Ms: Math.max(...list.map((h) => h.eventLoopLagP99Ms)),
    cpuPercent: Math.round((sum(list.map((h) => h.cpuPercent)) / list.length) * 10) / 10,
    limited: list.some((h) => h.limited),
  };
  if (list.some((h) => h.workers !== undefined)) {
    let worker = 0;
    harness.workers = list.flatMap((h) => (h.workers ?? []).map((w) => ({ ...w, worker: worker++ })));
  }
  const warnings = [...new Set(list.flatMap((h) => h.warnings ?? []))];
  if (warnings.length > 0) harness.warnings = warnings;
  return harness;
}

/**
 * Versions from the first shard; workers add; `processes` counts the shards (a shard that was
 * itself a merge counts its own processes); cpus add over distinct hosts (shards from one
 * `--processes` run share one machine's cores).
 */
function mergeEnvironment(reports: readonly ReportJson[]): ReportJson['environment'] {
  const head = reports[0]!.environment;
  const cpusByHost = new Map<string, number>();
  reports.forEach((r, i) => {
    const host = r.environment.hostname ?? `\u0000shard${i}`;
    cpusByHost.set(host, Math.max(cpusByHost.get(host) ?? 0, r.environment.cpus));
  });
  const env: ReportJson['environment'] = {
    volley: head.volley,
    node: head.node,
    cpus: sum([...cpusByHost.values()]),
    workers: sum(reports.map((r) => r.environment.workers)),
    processes: sum(reports.map((r) => r.environment.processes ?? 1)),
  };
  if (head.platform !== undefined) env.platform = head.platform;
  const hosts = new Set(reports.map((r) => r.environment.hostname));
  if (hosts.size === 1 && head.hostname !== undefined) env.hostname = head.hostname;
  return env;
}

/** The segments ("i/n") a report holds: its own, or those a merged report lists. */
function segmentsOf(load: LoadAppliedJson | undefined): string[] {
  if (load?.segments) return load.segments;
  return load?.segment ? [load.segment] : [];
}

/**
 * The segments missing from a set of shard reports, by their recorded `load.segment` (or a
 * merged report's `load.segments`): ["3/3"] when 1/3 and 2/3 are merged alone. Reports of
 * different splits (i/3 with i/2) never make a whole: every segment of each split that is not
 * there is named. Plain runs (no segment) have nothing to miss.
 */
export function missingSegments(reports: readonly ReportJson[]): string[] {
  const held = new Set(reports.flatMap((r) => segmentsOf(r.load)));
  const counts = new Set<number>();
  for (const s of held) {
    const n = Number(s.split('/')[1]);
    if (Number.isSafeInteger(n) && n > 0) counts.add(n);
  }
  const missing: string[] = [];
  for (const n of [...counts].sort((a, b) => a - b)) {
    for (let i = 1; i <= n; i++) if (!held.has(`${i}/${n}`)) missing.push(`${i}/${n}`);
  }
  return missing;
}

/** Sums of fractional shares (8.333… × 3) without float noise: 25, not 24.999999999999996. */
function sumShares(values: readonly number[]): number {
  return Number(sum(values).toPrecision(12));
}

/** The whole load the shards applied together: connections and rates add; no segment. */
function mergeLoad(list: readonly LoadAppliedJson[]): LoadAppliedJson {
  const head = list[0]!;
  const load: LoadAppliedJson = {
    model: head.model,
    durationS: Math.max(...list.map((l) => l.durationS)),
    gracefulStopS: Math.max(...list.map((l) => l.gracefulStopS)),
  };
  if (list.some((l) => l.connections !== undefined)) load.connections = sum(list.map((l) => l.connections ?? 0));
  // Sessions per connection slot: the same in every shard of one scenario (not added).
  if (list.some((l) => l.iterations !== undefined)) load.iterations = Math.max(...list.map((l) => l.iterations ?? 0));
  if (list.some((l) => l.rate !== undefined)) load.rate = sumShares(list.map((l) => l.rate ?? 0));
  if (list.some((l) => l.maxConnections !== undefined)) {
    load.maxConnections = sum(list.map((l) => l.maxConnections ?? 0));
  }
  if (list.some((l) => l.plannedSessions !== undefined)) load.plannedSessions = sum(list.map((l) => l.plannedSessions ?? 0));
  // Stages add target by target when every shard ran the same stage durations.
  const stages = head.stages;
  if (
    stages !== undefined &&
    list.every(
      (l) => l.stages?.length === stages.length && l.stages.every((s, i) => s.durationS === stages[i]!.durationS),
    )
  ) {
    load.stages = stages.map((s, i) => ({ durationS: s.durationS, target: sumShares(list.map((l) => l.stages![i]!.target)) }));
  }
  const segments = list.flatMap((l) => segmentsOf(l));
  if (segments.length > 0) load.segments = sortSegments(segments);
  return load;
}

/** "1/3" before "2/3"; splits by their n. */
function sortSegments(list: readonly string[]): string[] {
  const key = (s: string): [number, number] => {
    const [i, n] = s.split('/').map(Number) as [number, number];
    return [n, i];
  };
  return [...new Set(list)].sort((a, b) => {
    const [na, ia] = key(a);
    const [nb, ib] = key(b);
    return na - nb || ia - ib || (a < b ? -1 : a > b ? 1 : 0);
  });
}

function maxOrNull(a: number | null, b: number | null): number | null {
  if (a === null) return b;
  if (b === null) return a;
  return a > b ? a : b;
}

function sum(values: readonly number[]): number {
  let total = 0;
  for (const v of values) total += v;
  return total;
}
