// One client session: a step interpreter over one transport. It owns the session's variables,
// its inbox of frames that arrived while no expect was waiting, and the single waiter of the
// expect in progress. Every frame is counted: received, matched, skipped (DESIGN.md).
//
// Timing: every latency is measured from the *intended* time of the action. Outside paced
// loops intended == actual. In a paced loop (`every`) an iteration that starts late carries its
// lateness into every latency it records (coordinated omission corrected), while service_time
// counts from the actual send.

import { performance } from 'node:perf_hooks';
import type { ErrorKind } from '../metrics/names.js';
import { TREND } from '../metrics/names.js';
import type { MetricsRegistry, TrendHandle } from '../metrics/registry.js';
import { applyCaptures, matchFrame, prepareMatcher, readLatencyFrom, renderJsonTemplate } from '../scenario/match.js';
import type { PreparedMatcher } from '../scenario/match.js';
import type { RenderContext } from '../scenario/template.js';
import type { ExpectSpec, JsonTemplate, Payload, Scenario, Step } from '../scenario/types.js';
import type { CloseInfo, InboundFrame, Transport, TransportOptions, TransportSink } from '../transport/types.js';
import { TransportError } from '../transport/types.js';
import { unwatchDeadlines, watchDeadlines } from './deadlines.js';
import type { DeadlineHolder } from './deadlines.js';

/** Frames kept for a later expect; past this the oldest is dropped (and counted as skipped). */
const INBOX_LIMIT = 10_000;
/** A send waits while more than this is queued and unsent (a server that stops reading), so a
 *  session never buffers without bound; it resumes once the queue is under the low-water mark. */
const SEND_HIGH_WATER_BYTES = 1024 * 1024;
const SEND_LOW_WATER_BYTES = 256 * 1024;
const DRAIN_POLL_MS = 10;
/** An unpaced loop yields to the event loop this often, so sockets, timers and stop messages
 *  are served even when no step of the loop waits for anything. */
const UNPACED_YIELD_EVERY = 64;

/** What every session of a worker shares. */
export interface SessionEnv {
  scenario: Scenario;
  metrics: MetricsRegistry;
  createTransport: (options: TransportOptions, sink: TransportSink) => Transport;
  /** Builds the transport options for one session (URL, headers and query rendered). */
  transportOptions: (ctx: RenderContext) => TransportOptions;
  /** Called by a session that ends, so the executor can replace it. */
  env: NodeJS.ProcessEnv;
  /** Variables captured by the scenario's setup requests; every session starts with them. */
  setupVars?: Readonly<Record<string, string>>;
}

interface StepMetrics {
  latency: TrendHandle;
  serviceTime: TrendHandle;
  wait: TrendHandle;
}

const stepMetricsCache = new WeakMap<Step, StepMetrics>();

function metricsFor(step: Step, metrics: MetricsRegistry): StepMetrics {
  let m = stepMetricsCache.get(step);
  if (!m) {
    m = {
      latency: metrics.trend(TREND.latency, step.name),
      serviceTime: metrics.trend(TREND.serviceTime, step.name),
      wait: metrics.trend(TREND.wait, step.name),
    };
    stepMetricsCache.set(step, m);
  }
  return m;
}

class SessionEnded extends Error {}

/** A send found the connection already closing: the close that follows says why (counted once,
 *  by onClose), so this is not a second error. */
class ConnectionEnding extends Error {}

/** The expect in progress. Resolves with the frame, or with undefined once a failure (timeout,
 *  strict mismatch) has been counted; rejects only when the session ends. Its timeout is the
 *  session's deadlineAtMs field (deadlines.ts). */
class Waiter {
  constructor(
    readonly spec: ExpectSpec,
    readonly prepared: PreparedMatcher,
    readonly resolve: (frame: InboundFrame | undefined) => void,
    readonly reject: (err: Error) => void,
  ) {}
  get event(): string | undefined {
    return this.spec.event;
  }
  get strict(): boolean {
    return this.spec.strict;
  }
}

function describeMatcher(spec: ExpectSpec, prepared: PreparedMatcher): string {
  const p = prepared as { description?: string };
  if (typeof p.description === 'string') return p.description;
  const m = spec.matcher;
  switch (m.kind) {
    case 'text':
      return JSON.stringify(m.template.source);
    case 'match':
      return `/${m.template.source}/`;
    case 'json':
      return 'a JSON subset';
    case 'binary':
      return `${m.bytes.length} binary bytes`;
    default:
      return 'any frame';
  }
}

/** How a session ended; connect_failed lets the executor back off instead of spinning. */
export type SessionOutcome = 'completed' | 'failed' | 'connect_failed' | 'aborted';

export interface SessionStart {
  vu: number;
  data: Record<string, string> | undefined;
  /** How late the session itself started against its intended time (open model), ms. */
  startLatenessMs: number;
  debug?: (line: string) => void;
}

export class Session implements TransportSink, DeadlineHolder {
  /** When the expect in progress times out (Infinity: nothing waits); see deadlines.ts. */
  deadlineAtMs = Infinity;
  private readonly env: SessionEnv;
  private readonly metrics: MetricsRegistry;
  readonly ctx: RenderContext;
  private transport: Transport | undefined;
  private inbox: InboundFrame[] = [];
  private waiter: Waiter | undefined;
  private autoReplies: { prepared: PreparedMatcher; payload: Payload }[] = [];
  private closed = false;
  private aborted = false;
  private failed = false;
  /** A send met a closing connection; counted as send_failed only if the close gives no reason. */
  private endingUncounted = false;
  private closeErrorCounted = false;
  private sleepTimer: NodeJS.Timeout | undefined;
  private sleepResolve: (() => void) | undefined;
  private bytesSentCounted = 0;
  private bytesReceivedCounted = 0;
  private seq = 0;
  private readonly start: SessionStart;
  private readonly debug: ((line: string) => void) | undefined;
  private readonly debugOriginMs = performance.now();

  constructor(env: SessionEnv, start: SessionStart) {
    this.env = env;
    this.metrics = env.metrics;
    this.start = start;
    this.ctx = {
      vars: env.setupVars ? new Map(Object.entries(env.setupVars)) : new Map(),
      vu: start.vu,
      iter: 0,
      nextSeq: () => ++this.seq,
      data: start.data,
      env: env.env,
    };
    if (start.debug) {
      const origin = this.debugOriginMs;
      const out = start.debug;
      this.debug = (line) => out(`+${(performance.now() - origin).toFixed(1).padStart(8)}ms ${line}`);
    }
  }

  /** Runs the whole session; never rejects. */
  async run(): Promise<SessionOutcome> {
    const { scenario } = this.env;
    const m = this.metrics;
    const startedAt = performance.now();
    m.add('sessions_started');
    let opened = false;
    try {
      const options = this.env.transportOptions(this.ctx);
      if (this.debug) options.debug = this.debug;
      const transport = this.env.createTransport(options, this);
      this.transport = transport;
      const connectStart = performance.now();
      await transport.connect();
      m.trend(TREND.connect).recordMs(performance.now() - connectStart + this.start.startLatenessMs);
      opened = true;
      m.connectionOpened();
      watchDeadlines(this);
      if (this.aborted) throw new SessionEnded();
      for (const rule of scenario.autoReply) this.autoReplies.push({ prepared: prepareMatcher(rule.matcher, this.ctx), payload: rule.payload });
      await this.runSteps(scenario.steps, this.start.startLatenessMs);
    } catch (err) {
      this.handleError(err);
    } finally {
      this.cancelSleep();
      if (this.transport) {
        if ((this.transport.isOpen || (opened && !this.closed)) && !this.aborted) {
          try {
            await this.transport.close(1000, '');
          } catch {
            this.transport.destroy();
          }
        } else if (this.aborted) this.transport.destroy();
      }
      unwatchDeadlines(this);
      if (opened) m.connectionClosed();
      if (this.endingUncounted && !this.closeErrorCounted && !this.aborted)
        m.error('send_failed', 'send on a connection that was closing');
      this.flushBytes();
      if (this.inbox.length > 0) {
        // Frames no expect ever looked at were skipped by the scenario: still counted.
        m.add('frames_skipped', this.inbox.length);
        this.inbox.length = 0;
      }
    }
    if (this.aborted) {
      m.add('sessions_interrupted');
      return 'aborted';
    }
    m.trend(TREND.sessionDuration).recordMs(performance.now() - startedAt);
    m.add(this.failed ? 'sessions_failed' : 'sessions_completed');
    if (!opened) return 'connect_failed';
    return this.failed ? 'failed' : 'completed';
  }

  /** Hard stop: ends the session at once (the run is over). Not counted as a failure. */
  abort(): void {
    if (this.aborted) return;
    this.aborted = true;
    this.transport?.destroy();
    this.cancelSleep();
    const w = this.waiter;
    if (w) {
      this.waiter = undefined;
      this.deadlineAtMs = Infinity;
      w.reject(new SessionEnded());
    }
  }

  /** Adds the bytes this session moved since the last flush (called once a second and at end). */
  flushBytes(): void {
    const t = this.transport;
    if (!t) return;
    const sent = t.bytesSent;
    const received = t.bytesReceived;
    if (sent > this.bytesSentCounted) {
      this.metrics.add('bytes_sent', sent - this.bytesSentCounted);
      this.bytesSentCounted = sent;
    }
    if (received > this.bytesReceivedCounted) {
      this.metrics.add('bytes_received', received - this.bytesReceivedCounted);
      this.bytesReceivedCounted = received;
    }
  }

  private handleError(err: unknown): void {
    if (err instanceof SessionEnded) return;
    if (this.aborted) return;
    this.failed = true;
    if (err instanceof ConnectionEnding) {
      this.endingUncounted = true;
      return;
    }
    if (err instanceof TransportError) this.metrics.error(err.kind, err.message);
    else this.metrics.error('other', err instanceof Error ? err.message : String(err));
  }

  // --- TransportSink -------------------------------------------------------------------------

  onFrame(frame: InboundFrame): void {
    this.metrics.add('frames_received');
    if (this.autoReplies.length > 0 && this.tryAutoReply(frame)) return;
    const w = this.waiter;
    if (w !== undefined) {
      if ((w.event === undefined || frame.event === w.event) && matchFrame(w.prepared, frame)) {
        this.waiter = undefined;
        this.deadlineAtMs = Infinity;
        w.resolve(frame);
        return;
      }
      this.metrics.add('frames_skipped');
      if (w.strict) {
        this.waiter = undefined;
        this.deadlineAtMs = Infinity;
        this.expectFailed('unexpected_frame', `strict expect got a frame that did not match: ${preview(frame)}`);
        w.resolve(undefined);
      }
      return;
    }
    if (this.inbox.length >= INBOX_LIMIT) {
      this.inbox.shift();
      this.metrics.add('frames_skipped');
    }
    this.inbox.push(frame);
  }

  onClose(info: CloseInfo): void {
    this.closed = true;
    if (info.errorKind !== undefined && !this.aborted) {
      this.failed = true;
      this.closeErrorCounted = true;
      this.metrics.error(info.errorKind, info.errorMessage ?? `connection closed (${info.code})`);
    }
    const w = this.waiter;
    if (w) {
      this.waiter = undefined;
      this.deadlineAtMs = Infinity;
      w.reject(new SessionEnded());
    }
    this.cancelSleep();
  }

  // --- steps ---------------------------------------------------------------------------------

  private tryAutoReply(frame: InboundFrame): boolean {
    for (const rule of this.autoReplies) {
      if (matchFrame(rule.prepared, frame)) {
        try {
          this.sendPayload(rule.payload);
        } catch (err) {
          this.handleError(err);
        }
        return true;
      }
    }
    return false;
  }

  private sendPayload(payload: Payload): void {
    const t = this.transport!;
    if (!t.isOpen) throw new ConnectionEnding();
    if (payload.kind === 'binary') t.send(payload.bytes, true);
    else t.send(payload.template.render(this.ctx), false);
    this.metrics.add('frames_sent');
  }

  private ensureOpen(): void {
    if (this.aborted || this.closed) throw new SessionEnded();
  }

  private async runSteps(steps: readonly Step[], latenessMs: number): Promise<void> {
    for (const step of steps) {
      this.ensureOpen();
      switch (step.kind) {
        case 'send': {
          const sm = metricsFor(step, this.metrics);
          const expect = step.expect;
          const prepared = expect ? prepareMatcher(expect.matcher, this.ctx) : undefined;
          if (this.transport!.bufferedAmount > SEND_HIGH_WATER_BYTES) await this.waitForDrain();
          const sentAt = performance.now();
          this.sendPayload(step.payload);
          if (expect && prepared) {
            const frame = this.captured(expect, await this.waitFor(expect, prepared));
            if (frame) {
              const serviceMs = frame.arrivedAtMs - sentAt;
              sm.serviceTime.recordMs(serviceMs);
              sm.latency.recordMs(serviceMs + latenessMs);
            }
          }
          break;
        }
        case 'expect': {
          const sm = metricsFor(step, this.metrics);
          const prepared = prepareMatcher(step.expect.matcher, this.ctx);
          const waitStart = performance.now();
          const frame = this.captured(step.expect, await this.waitFor(step.expect, prepared));
          if (frame) {
            if (step.expect.latencyFrom) {
              const sentAtEpochMs = readLatencyFrom(step.expect.latencyFrom.path, frame);
              if (sentAtEpochMs !== undefined) sm.latency.recordMs(performance.timeOrigin + frame.arrivedAtMs - sentAtEpochMs);
              else this.metrics.error('capture_failed', `latencyFrom ${step.expect.latencyFrom.source} found no timestamp in ${preview(frame)}`);
            } else sm.wait.recordMs(frame.arrivedAtMs - waitStart);
          }
          break;
        }
        case 'emit': {
          const sm = metricsFor(step, this.metrics);
          const t = this.transport!;
          if (!t.emit) throw new TransportError('send_failed', `emit needs the socket.io transport (this run uses ${this.env.scenario.transport})`);
          const args: unknown[] = [];
          if (step.binary) args.push(Buffer.from(step.binary));
          else if (step.data !== undefined) args.push(renderJsonTemplate(step.data, this.ctx));
          const prepared = step.expect ? prepareMatcher(step.expect.matcher, this.ctx) : undefined;
          const sentAt = performance.now();
          const ack = t.emit(step.event, args, step.ack ? step.ackTimeoutMs : undefined);
          this.metrics.add('frames_sent');
          if (ack) {
            try {
              await ack;
              this.metrics.add('frames_received');
              const serviceMs = performance.now() - sentAt;
              sm.serviceTime.recordMs(serviceMs);
              sm.latency.recordMs(serviceMs + latenessMs);
            } catch (err) {
              if (err instanceof TransportError && err.kind === 'ack_timeout') {
                this.failed = true;
                this.metrics.error(err.kind, err.message);
              } else throw err;
            }
          }
          if (step.expect && prepared) {
            const frame = this.captured(step.expect, await this.waitFor(step.expect, prepared));
            if (frame && !ack) {
              const serviceMs = frame.arrivedAtMs - sentAt;
              sm.serviceTime.recordMs(serviceMs);
              sm.latency.recordMs(serviceMs + latenessMs);
            }
          }
          break;
        }
        case 'think': {
          const ms = step.minMs === step.maxMs ? step.minMs : step.minMs + Math.random() * (step.maxMs - step.minMs);
          await this.sleep(ms);
          break;
        }
        case 'loop':
          await this.runLoop(step, latenessMs);
          break;
        case 'ping': {
          try {
            const rtt = await this.transport!.ping(step.timeoutMs);
            this.metrics.trend(TREND.ping, step.name).recordMs(rtt);
          } catch (err) {
            if (err instanceof TransportError && err.kind === 'ping_timeout') {
              this.failed = true;
              this.metrics.error(err.kind, err.message);
            } else throw err;
          }
          break;
        }
        case 'close':
          await this.transport!.close(step.code, step.reason);
          this.closed = true;
          return;
        case 'set':
          for (const [k, tpl] of Object.entries(step.vars)) this.ctx.vars.set(k, tpl.render(this.ctx));
          break;
      }
    }
  }

  private async runLoop(step: Extract<Step, { kind: 'loop' }>, outerLatenessMs: number): Promise<void> {
    const savedIter = this.ctx.iter;
    const loopStart = performance.now();
    const every = step.everyMs;
    try {
      for (let i = 0; ; i++) {
        if (step.count !== undefined && i >= step.count) break;
        let lateness = outerLatenessMs;
        if (every !== undefined && every > 0) {
          const intended = loopStart + i * every;
          if (step.durationMs !== undefined && intended - loopStart >= step.durationMs) break;
          const delay = intended - performance.now();
          if (delay > 0) await this.sleep(delay);
          lateness += Math.max(0, performance.now() - intended);
        } else if (step.durationMs !== undefined && performance.now() - loopStart >= step.durationMs) break;
        else if (i % UNPACED_YIELD_EVERY === UNPACED_YIELD_EVERY - 1) await yieldToEventLoop();
        this.ensureOpen();
        this.ctx.iter = i;
        await this.runSteps(step.steps, lateness);
      }
    } finally {
      this.ctx.iter = savedIter;
    }
  }

  /** Counts a failed expect (the session goes on with its next step, and is marked failed). */
  private expectFailed(kind: ErrorKind, message: string): undefined {
    this.failed = true;
    this.metrics.error(kind, message);
    return undefined;
  }

  /** Called by the deadline timer when the expect in progress runs out of time. */
  deadlineExpired(): void {
    const w = this.waiter;
    if (w === undefined) return;
    this.waiter = undefined;
    this.expectFailed('expect_timeout', `no frame matched ${describeMatcher(w.spec, w.prepared)} in ${formatMs(w.spec.timeoutMs)}`);
    w.resolve(undefined);
  }

  /** Applies the expect's captures to a matched frame (a capture that finds nothing is counted). */
  private captured(spec: ExpectSpec, frame: InboundFrame | undefined): InboundFrame | undefined {
    if (frame !== undefined && hasKeys(spec.capture)) {
      const problem = applyCaptures(spec.capture, frame, this.ctx.vars);
      if (problem !== undefined) this.expectFailed('capture_failed', problem);
    }
    return frame;
  }

  /**
   * Waits for a matching frame: the frame, or undefined when the expect failed (counted).
   * A frame already in the inbox is returned as it is, with no promise at all.
   */
  private waitFor(spec: ExpectSpec, prepared: PreparedMatcher): InboundFrame | undefined | Promise<InboundFrame | undefined> {
    // Frames that arrived while nothing waited are looked at first, in order.
    const inbox = this.inbox;
    for (let i = 0; i < inbox.length; i++) {
      const frame = inbox[i]!;
      if ((spec.event === undefined || frame.event === spec.event) && matchFrame(prepared, frame)) {
        if (i > 0) this.metrics.add('frames_skipped', i);
        inbox.splice(0, i + 1);
        return frame;
      }
      if (spec.strict) {
        inbox.splice(0, i + 1);
        this.metrics.add('frames_skipped', i + 1);
        return this.expectFailed('unexpected_frame', `strict expect got a frame that did not match: ${preview(frame)}`);
      }
    }
    if (inbox.length > 0) {
      this.metrics.add('frames_skipped', inbox.length);
      inbox.length = 0;
    }
    if (this.closed || this.aborted) return Promise.reject(new SessionEnded());
    return new Promise<InboundFrame | undefined>((resolve, reject) => {
      const w = new Waiter(spec, prepared, resolve, reject);
      this.waiter = w;
      this.deadlineAtMs = performance.now() + spec.timeoutMs;
    });
  }

  /**
   * Backpressure: the server reads slower than we send. Waits (counted as send_blocked time)
   * until the queue drains under the low-water mark; past connect.timeout the session fails
   * with send_blocked instead of queueing more.
   */
  private async waitForDrain(): Promise<void> {
    const t = this.transport!;
    const blockedAt = performance.now();
    const limitMs = this.env.scenario.connect.timeoutMs;
    try {
      while (t.bufferedAmount > SEND_LOW_WATER_BYTES) {
        this.ensureOpen();
        if (performance.now() - blockedAt >= limitMs)
          throw new TransportError(
            'send_blocked',
            `the server stopped reading: ${t.bufferedAmount} bytes still unsent after ${formatMs(limitMs)}`,
          );
        await this.sleep(DRAIN_POLL_MS);
      }
    } finally {
      this.metrics.trend(TREND.sendBlocked).recordMs(performance.now() - blockedAt);
    }
    this.ensureOpen();
  }

  private sleep(ms: number): Promise<void> {
    if (ms <= 0) return Promise.resolve();
    return new Promise<void>((resolve) => {
      this.sleepResolve = resolve;
      this.sleepTimer = setTimeout(() => {
        this.sleepTimer = undefined;
        this.sleepResolve = undefined;
        resolve();
      }, ms);
    });
  }

  private cancelSleep(): void {
    if (this.sleepTimer) {
      clearTimeout(this.sleepTimer);
      this.sleepTimer = undefined;
    }
    const r = this.sleepResolve;
    this.sleepResolve = undefined;
    r?.();
  }
}

function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Whether an object has an own key, without allocating a key array per expect. */
function hasKeys(o: object): boolean {
  for (const k in o) if (Object.prototype.hasOwnProperty.call(o, k)) return true;
  return false;
}

function formatMs(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`;
}

function preview(frame: InboundFrame): string {
  if (frame.text !== undefined) return frame.text.length > 80 ? `${JSON.stringify(frame.text.slice(0, 80))}…` : JSON.stringify(frame.text);
  return `binary ${frame.bytes?.length ?? 0} bytes`;
}
