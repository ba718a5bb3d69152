// The typed Scenario: what scenario/load.ts produces from YAML and every later stage consumes.
// All durations are milliseconds (names end in Ms). Positions are 1-based line/column in the
// scenario file so runtime errors can point back at the step that caused them.

import type { Template } from './template.js';

export interface SourcePos {
  line: number;
  col: number;
}

export type TransportName = 'ws' | 'long-poll' | 'socket.io' | 'socket.io/polling';
export const TRANSPORT_NAMES: readonly TransportName[] = ['ws', 'long-poll', 'socket.io', 'socket.io/polling'];

export type BuiltinTargetName = 'echo' | 'chat' | 'feed' | 'socketio-chat';
export const BUILTIN_TARGETS: readonly BuiltinTargetName[] = ['echo', 'chat', 'feed', 'socketio-chat'];

export interface TlsOptions {
  ca?: string; // file path (resolved relative to the scenario file)
  cert?: string;
  key?: string;
  insecure: boolean;
  servername?: string;
}

export interface ConnectOptions {
  headers: Record<string, Template>;
  subprotocols: Template[];
  timeoutMs: number; // handshake timeout, default 5000
  perMessageDeflate: boolean; // default false
  tls?: TlsOptions;
  /** Source addresses to spread connections over (e.g. 127.0.0.2..127.0.0.9); empty = automatic. */
  localAddresses: string[];
  /** Extra query string parameters appended to the target URL, rendered per session. */
  query: Record<string, Template>;
  maxPayloadBytes: number; // default 100 MiB
}

export interface Stage {
  durationMs: number;
  target: number; // connections (closed model) or sessions/s (arrival-rate)
}

export interface ConnectionsLoad {
  model: 'connections';
  /** Constant form: connections held for durationMs. Stage form: stages (k6 ramping-vus). */
  connections: number;
  /** Run length; with stages, the sum of their durations. Undefined: each slot runs `iterations`
   *  sessions (default 1) and the run ends when they are done. */
  durationMs?: number;
  stages?: Stage[];
  /** Sessions per connection slot; undefined with a duration = replace finished sessions until it ends. */
  iterations?: number;
  gracefulStopMs: number; // default 5000
}

export interface ArrivalRateLoad {
  model: 'arrival-rate';
  rate: number; // sessions per second (constant form)
  durationMs: number;
  stages?: Stage[]; // targets are rates (k6 ramping-arrival-rate)
  maxConnections: number; // default 10000
  gracefulStopMs: number;
}

export type LoadSpec = ConnectionsLoad | ArrivalRateLoad;

export interface DataSpec {
  file: string; // as written
  path: string; // resolved absolute path
  order: 'sequential' | 'random';
  columns: string[];
  rows: string[][];
}

/** What a send puts on the wire. json is rendered as JSON text with template values escaped. */
export type Payload =
  | { kind: 'text'; template: Template }
  | { kind: 'json'; template: Template }
  | { kind: 'binary'; bytes: Uint8Array };

export type Matcher =
  | { kind: 'any' }
  | { kind: 'text'; template: Template }
  | { kind: 'match'; template: Template; flags: string } // regex source is a template
  | { kind: 'json'; subset: JsonTemplate }
  | { kind: 'binary'; bytes: Uint8Array };

/** A JSON value whose strings may hold ${…} templates (rendered before matching). */
export type JsonTemplate =
  | null
  | boolean
  | number
  | { kind: 'tstring'; template: Template }
  | JsonTemplate[]
  | { kind: 'tobject'; entries: [string, JsonTemplate][] };

export type Capture =
  | { kind: 'jsonPath'; path: JsonPathSegment[]; source: string }
  | { kind: 'regex'; regex: RegExp; group: number; source: string };

export type JsonPathSegment = string | number;

export interface ExpectSpec {
  matcher: Matcher;
  /** Socket.IO: the event name the frame must carry (undefined = any event / plain message). */
  event?: string;
  timeoutMs: number; // default 10000
  strict: boolean;
  capture: Record<string, Capture>;
  /** Record delivery latency from a timestamp (epoch ms) found at this JSON path in the frame. */
  latencyFrom?: { path: JsonPathSegment[]; source: string };
}

interface StepBase {
  name?: string;
  pos: SourcePos;
}

/** A send with an optional expect: with both, a request/response pair measured as latency{name}. */
export interface SendStep extends StepBase {
  kind: 'send';
  payload: Payload;
  expect?: ExpectSpec;
}

/** A lone expect: waits for a pushed frame and records wait{name} (or latency via latencyFrom). */
export interface ExpectStep extends StepBase {
  kind: 'expect';
  expect: ExpectSpec;
}

/** Socket.IO emit; with ack: true the latency until the ack is recorded as latency{name}. */
export interface EmitStep extends StepBase {
  kind: 'emit';
  event: string;
  data: JsonTemplate | undefined;
  binary?: Uint8Array;
  ack: boolean;
  ackTimeoutMs: number;
  expect?: ExpectSpec;
}

export interface ThinkStep extends StepBase {
  kind: 'think';
  minMs: number;
  maxMs: number; // equal to minMs for a fixed think
}

export interface LoopStep extends StepBase {
  kind: 'loop';
  count?: number;
  durationMs?: number;
  /** Pacing: iteration i is intended to start at loopStart + i * everyMs. */
  everyMs?: number;
  steps: Step[];
}

export interface PingStep extends StepBase {
  kind: 'ping';
  timeoutMs: number;
}

export interface CloseStep extends StepBase {
  kind: 'close';
  code: number;
  reason: string;
}

export interface SetStep extends StepBase {
  kind: 'set';
  vars: Record<string, Template>;
}

export type Step = SendStep | ExpectStep | EmitStep | ThinkStep | LoopStep | PingStep | CloseStep | SetStep;

export interface AutoReplyRule {
  matcher: Matcher;
  payload: Payload;
}

export interface SocketIoOptions {
  path: string; // default /socket.io
  namespace: string; // default /
  transports: ('websocket' | 'polling')[]; // default [websocket]
  auth?: JsonTemplate;
  query: Record<string, Template>;
}

export interface SetupRequest {
  method: string;
  url: Template;
  headers: Record<string, Template>;
  body?: Template;
  capture: Record<string, Capture>;
  timeoutMs: number;
}

export type ThresholdMethod = 'p' | 'avg' | 'min' | 'max' | 'med' | 'count' | 'rate' | 'value';
export type ThresholdOp = '<' | '<=' | '>' | '>=' | '==' | '!=';

export interface ThresholdExpression {
  method: ThresholdMethod;
  percentile?: number; // for p(N)
  op: ThresholdOp;
  value: number; // in the metric's unit: ms for trends (units converted at parse), plain for others
}

export interface ThresholdSpec {
  metric: string; // as written: "latency{name:say}"
  metricName: string; // "latency"
  tags: Record<string, string>; // {name: "say"}
  expression: string; // verbatim source, kept for the report
  parsed: ThresholdExpression;
  abortOnFail: boolean;
  delayAbortEvalMs: number;
  pos: SourcePos;
}

export interface Scenario {
  name: string;
  file: string; // path as given ("<inline>" when not from a file)
  sha256: string; // of the source text
  source: string; // the YAML text, so workers can re-load the same scenario
  target: string; // ws(s)://, http(s):// or builtin:NAME
  transport: TransportName;
  connect: ConnectOptions;
  longPoll: { url?: string };
  socketio: SocketIoOptions;
  load: LoadSpec;
  data?: DataSpec;
  autoReply: AutoReplyRule[];
  setup: SetupRequest[];
  steps: Step[];
  thresholds: ThresholdSpec[];
  /** Names of variables captured or set anywhere (validated before use). */
  variables: string[];
  /** Trend keys the steps record into (`latency`, `latency{name:say}`, `wait`, …), as the loader
   *  saw them: the report lists each, at count 0 when nothing was measured. */
  recordedTrendKeys: string[];
}
