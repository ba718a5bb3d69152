// The report.json shape (format 1): the contract of DESIGN.md "Reports". Readers and writers,
// the HTML renderer, compare and merge all work from these types.

export interface TrendJson {
  type: 'trend';
  unit: 'ms';
  count: number;
  min: number;
  mean: number;
  p50: number;
  p90: number;
  p95: number;
  p99: number;
  p999: number;
  max: number;
  /** HdrHistogram (microsecond values) encoded as compressed base64: merge and re-render. */
  hdr: string;
}

export interface CounterJson {
  type: 'counter';
  count: number;
  rate: number; // per second over durationS
}

export interface GaugeJson {
  type: 'gauge';
  value: number;
  min: number;
  max: number;
}

export type MetricJson = TrendJson | CounterJson | GaugeJson;

export interface TimeseriesPoint {
  t: number; // seconds since start (1 = the first second)
  framesSent: number;
  framesReceived: number;
  active: number;
  errors: number;
  p50: number | null;
  p99: number | null;
  /** Wall-clock end of this second (epoch ms), so shards' series can be aligned when merged. */
  at?: number;
  bytesSent?: number;
  bytesReceived?: number;
}

export interface ThresholdResultJson {
  metric: string;
  expression: string;
  actual: number | null;
  ok: boolean;
  abortOnFail?: boolean;
  aborted?: boolean;
}

export interface ErrorSummaryJson {
  kind: string;
  count: number;
  first: string;
}

export interface HarnessJson {
  eventLoopLagP99Ms: number;
  cpuPercent: number;
  limited: boolean;
  /** cpuBusyPercent: the CPU a tenth of the worker's seconds reached (what `limited` compares with 98). */
  workers?: { worker: number; eventLoopLagP99Ms: number; cpuPercent: number; cpuBusyPercent?: number }[];
  warnings?: string[];
}

export interface LoadAppliedJson {
  model: 'connections' | 'arrival-rate';
  connections?: number;
  rate?: number;
  durationS: number;
  stages?: { durationS: number; target: number }[];
  maxConnections?: number;
  gracefulStopS: number;
  /** Sessions per connection slot, for iteration-bounded closed loads. */
  iterations?: number;
  /** Arrivals the open model schedules over the whole run (this shard's share). */
  plannedSessions?: number;
  segment?: string; // "i/n" when this report is one shard
  /** On a merged report: the shards' segments it holds, in order ("1/3", "2/3"). */
  segments?: string[];
}

export interface ReportJson {
  format: 1;
  scenario: { name: string; file: string; sha256: string };
  target: string;
  startedAt: string;
  endedAt: string;
  durationS: number;
  transport: string;
  interrupted?: boolean;
  aborted?: boolean; // a threshold with abortOnFail stopped the run
  environment: {
    volley: string;
    node: string;
    platform?: string;
    cpus: number;
    workers: number;
    processes?: number;
    hostname?: string;
  };
  load: LoadAppliedJson;
  metrics: Record<string, MetricJson>;
  timeseries: TimeseriesPoint[];
  thresholds: ThresholdResultJson[];
  errors: ErrorSummaryJson[];
  harness: HarnessJson;
  /** Set on merged reports: the shard files merged into this one. */
  mergedFrom?: string[];
}
