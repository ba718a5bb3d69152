// Every metric name volley reports, in one place (names are part of the contract: DESIGN.md).

export const TREND = {
  connect: 'connect',
  latency: 'latency',
  serviceTime: 'service_time',
  wait: 'wait',
  ping: 'ping',
  sessionDuration: 'session_duration',
  /** Time a send waited for the server to read (backpressure: bufferedAmount over the high-water mark). */
  sendBlocked: 'send_blocked',
} as const;

export const COUNTER = {
  framesSent: 'frames_sent',
  framesReceived: 'frames_received',
  framesSkipped: 'frames_skipped',
  bytesSent: 'bytes_sent',
  bytesReceived: 'bytes_received',
  sessionsStarted: 'sessions_started',
  sessionsCompleted: 'sessions_completed',
  sessionsFailed: 'sessions_failed',
  sessionsDropped: 'sessions_dropped',
  /** Sessions cut by the end of the run (gracefulStop ran out, a hard stop): neither completed nor failed. */
  sessionsInterrupted: 'sessions_interrupted',
  errors: 'errors',
} as const;

export const GAUGE = {
  activeConnections: 'active_connections',
} as const;

export type TrendName = (typeof TREND)[keyof typeof TREND];
export type CounterName = (typeof COUNTER)[keyof typeof COUNTER];
export type GaugeName = (typeof GAUGE)[keyof typeof GAUGE];
export type MetricName = TrendName | CounterName | GaugeName;

export const TREND_NAMES: readonly TrendName[] = Object.values(TREND);
export const COUNTER_NAMES: readonly CounterName[] = Object.values(COUNTER);
export const GAUGE_NAMES: readonly GaugeName[] = Object.values(GAUGE);

export type MetricType = 'trend' | 'counter' | 'gauge';

export function metricTypeOf(name: string): MetricType | undefined {
  if ((TREND_NAMES as readonly string[]).includes(name)) return 'trend';
  if ((COUNTER_NAMES as readonly string[]).includes(name)) return 'counter';
  if ((GAUGE_NAMES as readonly string[]).includes(name)) return 'gauge';
  return undefined;
}

/** Error kinds (errors{kind:…}). */
export const ERROR_KINDS = [
  'connect_refused',
  'connect_timeout',
  'handshake_rejected',
  'closed_by_server',
  'reset',
  'expect_timeout',
  'unexpected_frame',
  'protocol_error',
  'send_failed',
  'send_blocked',
  'ack_timeout',
  'ping_timeout',
  'tls',
  'capture_failed',
  'worker_died',
  'setup_failed',
  'other',
] as const;
export type ErrorKind = (typeof ERROR_KINDS)[number];

/** "latency" + {name: "say"} -> "latency{name:say}" (tags sorted, so keys are canonical). */
export function metricKey(name: string, tags?: Record<string, string>): string {
  if (!tags) return name;
  const keys = Object.keys(tags);
  if (keys.length === 0) return name;
  keys.sort();
  return `${name}{${keys.map((k) => `${k}:${tags[k]}`).join(',')}}`;
}

/** "latency{name:say}" -> {name: "latency", tags: {name: "say"}}; undefined when malformed. */
export function parseMetricKey(key: string): { name: string; tags: Record<string, string> } | undefined {
  const m = /^([a-z_]+)(?:\{([^{}]*)\})?$/.exec(key.trim());
  if (!m) return undefined;
  const tags: Record<string, string> = {};
  if (m[2] !== undefined) {
    for (const part of m[2].split(',')) {
      const idx = part.indexOf(':');
      if (idx <= 0) return undefined;
      tags[part.slice(0, idx).trim()] = part.slice(idx + 1).trim();
    }
  }
  return { name: m[1]!, tags };
}

/**
 * The harness verdict's limits (DESIGN.md "Harness health"): here, beside the metric names, so
 * the engine that decides and the renderers that explain the verdict share one value.
 */
export const HARNESS_LAG_LIMIT_MS = 10;
/** A worker counts as pegged when its CPU is at or above this in at least a tenth of its seconds. */
export const HARNESS_CPU_PEGGED_PERCENT = 98;
