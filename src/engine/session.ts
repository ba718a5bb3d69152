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
import type { MetricsRegistry, ReplyTrendHandle, TrendHandle } from '../metrics/registry.js';
import { applyCaptures, isStaticMatcher, matchFrame, prepareMatcher, readLatencyFrom, renderJsonTemplate } from '../scenario/match.js';
import type { PreparedMatcher } from '../scenario/match.js';
import type { RenderContext } from '../scenario/template.js';
import type { EmitStep, ExpectSpec, LoopStep, Matcher, Payload, Scenario, SendStep, Step } from '../scenario/types.js';
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
  /** The environment ${env.NAME} reads. */
  env: NodeJS.ProcessEnv;
  /** Variables captured by the scenario's setup requests; every session starts with them. */
  setupVars?: Readonly<Record<string, string>>;
}

/** What a step records into, and how it sends, worked out once per step (not per frame). */
interface StepPlan {
  /** service_time and latency of a send's (or emit's) reply. */
  reply: ReplyTrendHandle;
  latency: TrendHandle;
  wait: TrendHandle;
  /**
   * A send whose expect is the very text it sends (an echo): the text is rendered once and
   * serves as both the payload and the matcher. Only for templates that render the same twice
   * (no ${seq}, ${uuid} or ${now}).
   */
  echo: boolean;
}

const stepPlans = new WeakMap<Step, StepPlan>();

/** Template references that give a new value at each render. */
const VOLATILE_REFS = new Set(['seq', 'uuid', 'now']);

function planFor(step: Step, metrics: MetricsRegistry): StepPlan {
  let plan = stepPlans.get(step);
  if (plan === undefined) {
    let echo = false;
    if (step.kind === 'send' && step.expect !== undefined && step.payload.kind === 'text') {
      const m = step.expect.matcher;
      const t = step.payload.template;
      echo = m.kind === 'text' && m.template.source === t.source && !t.refs.some((r) => VOLATILE_REFS.has(r));
    }
    plan = {
      reply: metrics.replyTrends(step.name),
      latency: metrics.trend(TREND.latency, step.name),
      wait: metrics.trend(TREND.wait, step.name),
      echo,
    };
    stepPlans.set(step, plan);
  }
  return plan;
}

/**
 * The variables of a session that has none yet. Shared by every such session and never written:
 * a session takes a Map of its own (writableVars) before its first capture or `set`, so the many
 * sessions of a scenario without variables do not each hold an empty Map (~200 bytes).
 */
const NO_VARS: Map<string, string> = new Map();

/** A session's template context; `nextSeq` is a method, not a closure per session. */
class SessionContext implements RenderContext {
  vars: Map<string, string>;
  readonly vu: number;
  iter = 0;
  readonly data: Record<string, string> | undefined;
  readonly env: NodeJS.ProcessEnv;
  private seqValue = 0;
  constructor(vars: Map<string, string>, vu: number, data: Record<string, string> | undefined, env: NodeJS.ProcessEnv) {
    this.vars = vars;
    this.vu = vu;
    this.data = data;
    this.env = env;
  }
  nextSeq(): number {
    return ++this.seqValue;
  }
}

/** The sleep of a think step or a pacing delay is over: run the steps on (a timer callback
 *  shared by every session; no promise or closure per sleep). */
function sleepOver(session: Session, token: number): void {
  session.sleepOver(token);
}

class SessionEnded extends Error {}

/** A send found the connection already closing: the close that follows says why (counted once,
 *  by onClose), so this is not a second error. */
class ConnectionEnding extends Error {}

/** waitFor's answer when no frame in the inbox matches and the expect has to wait. */
const MUST_WAIT = Symbol('must wait');

/** A loop in progress (see Session.advance). */
interface LoopFrame {
  readonly step: LoopStep;
  /** The lateness its enclosing steps carry; each iteration adds its own pacing lateness. */
  readonly outerLatenessMs: number;
  readonly startMs: number;
  /** ctx.iter of the enclosing loop, restored when this loop ends. */
  readonly savedIter: number;
  /** The iteration running now (-1 before the first). */
  i: number;
  /** The iteration whose pacing sleep or event-loop yield is already done (-1: none). */
  pausedBefore: number;
}

/** One list of steps being run: the scenario's steps, or a loop's body (reused per iteration). */
interface Cursor {
  readonly steps: readonly Step[];
  /** The next step to run. */
  index: number;
  /** How late the actions of this list are against their intended time (coordinated omission). */
  latenessMs: number;
  readonly loop: LoopFrame | undefined;
}

/** What an expect waited for, as this session rendered it ("hello 7", not "hello ${iter}"). */
function describeMatcher(prepared: PreparedMatcher): string {
  switch (prepared.kind) {
    case 'text':
      return clip(JSON.stringify(prepared.text));
    case 'match':
      return clip(String(prepared.regex));
    case 'json':
      return `JSON ${clip(JSON.stringify(prepared.subset) ?? 'null')}`;
    case 'binary':
      return `${prepared.bytes.length} binary bytes`;
    default:
      return 'any frame';
  }
}

function clip(text: string): string {
  return text.length > 120 ? `${text.slice(0, 120)}…` : text;
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

/** What the expect in progress was for, so its frame is recorded in the right place. */
const FOR_REPLY = 0; // a send's expect: service_time and latency from the send
const FOR_PUSH = 1; // a lone expect: wait (or latency via latencyFrom)
const FOR_PROMISE = 2; // an emit's expect: handed to the emit's own code

/** What nextIteration() decided. */
const ITERATION_RUNS = 0;
const ITERATION_WAITS = 1;
const LOOP_ENDS = 2;

export class Session implements TransportSink, DeadlineHolder {
  /** When the expect in progress times out (Infinity: nothing waits); see deadlines.ts. */
  deadlineAtMs = Infinity;
  private readonly env: SessionEnv;
  private readonly metrics: MetricsRegistry;
  readonly ctx: SessionContext;
  private transport: Transport | undefined;
  private inbox: InboundFrame[] = [];
  /** autoReply rules; `prepared` is undefined for a matcher whose templates read variables
   *  (captures, set): it is rendered at each frame, so a rule sees the values of that moment. */
  private autoReplies: { matcher: Matcher; prepared: PreparedMatcher | undefined; payload: Payload }[] = [];
  private closed = false;
  private aborted = false;
  /** The abort was a hard stop: the connection is cut, not closed. */
  private cutByAbort = false;
  private failed = false;
  /** Every step has run (or the scenario's close step has begun): a close from the server now
   *  ends a session that did its work, and is no error. */
  private stepsDone = false;
  /** A send met a closing connection; counted as send_failed only if the close gives no reason. */
  private endingUncounted = false;
  private closeErrorCounted = false;
  private sleepTimer: NodeJS.Timeout | undefined;
  private sleepResolve: (() => void) | undefined;
  private bytesSentCounted = 0;
  private bytesReceivedCounted = 0;
  private readonly start: SessionStart;
  private readonly debug: ((line: string) => void) | undefined;
  private readonly debugOriginMs = performance.now();

  // --- the step interpreter (advance) --------------------------------------------------------
  // Steps run synchronously until one has to wait. A wait for a frame is a few fields on the
  // session, resumed straight from onFrame (no promise, no closure per expect: this is the hot
  // path of every request/response scenario); rarer waits (think, pacing, ping, close, emit,
  // drain) are promises resumed through suspendOn().
  /** The step lists being run, innermost last. */
  private readonly stack: Cursor[] = [];
  /** True while advance() is running steps. */
  private advancing = false;
  /** True before the steps start and once they have ended; nothing resumes them then. */
  private programEnded = true;
  private programResolve: (() => void) | undefined;
  private programReject: ((err: unknown) => void) | undefined;
  /** Bumped at every promise wait and when the steps end, so a stale promise resumes nothing. */
  private suspension = 0;
  /** The expect waiting for a frame (undefined: none), and its prepared matcher. */
  private waitSpec: ExpectSpec | undefined;
  private waitPrepared: PreparedMatcher | undefined;
  /** What the current expect records once it has its frame (or has failed). */
  private pendingFor = FOR_REPLY;
  private pendingSpec: ExpectSpec | undefined;
  private pendingPlan: StepPlan | undefined;
  private pendingStartMs = 0;
  private pendingLatenessMs = 0;
  private pendingResolve: ((frame: InboundFrame | undefined) => void) | undefined;

  constructor(env: SessionEnv, start: SessionStart) {
    this.env = env;
    this.metrics = env.metrics;
    this.start = start;
    this.ctx = new SessionContext(env.setupVars ? new Map(Object.entries(env.setupVars)) : NO_VARS, start.vu, start.data, env.env);
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
      // Rules first: a server may send its first heartbeat with the handshake's answer, and
      // onFrame runs before the code after `await connect()` does.
      for (const rule of scenario.autoReply) {
        const prepared = prepareMatcher(rule.matcher, this.ctx);
        this.autoReplies.push({ matcher: rule.matcher, prepared: isStaticMatcher(rule.matcher) ? prepared : undefined, payload: rule.payload });
      }
      const transport = this.env.createTransport(options, this);
      this.transport = transport;
      const connectStart = performance.now();
      await transport.connect();
      m.trend(TREND.connect).recordMs(performance.now() - connectStart + this.start.startLatenessMs);
      opened = true;
      m.connectionOpened();
      watchDeadlines(this);
      if (this.aborted) throw new SessionEnded();
      // A late start (open model) is in `connect`; without pacing a send's intended time is
      // when it is sent, so the steps start with no lateness (paced loops add their own).
      await this.runProgram(scenario.steps, 0);
      this.stepsDone = true;
    } catch (err) {
      this.handleError(err);
    } finally {
      this.cancelSleep();
      const t = this.transport;
      if (t) {
        if (this.cutByAbort) t.destroy();
        else if (t.isOpen || (opened && !this.closed)) {
          try {
            // A session cut at the end of the run says so (1001, going away).
            await (this.aborted ? t.close(1001, 'run ended') : t.close(1000, ''));
          } catch {
            t.destroy();
          }
        } else if (this.aborted) t.destroy();
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

  /**
   * Ends the session at once (the run is over); counted as interrupted, not as a failure.
   * `politely` (gracefulStop has run out): its steps stop, but an open connection is closed with
   * a close handshake (1001), so frames the server already sent still arrive and are counted
   * (as skipped: nothing waits for them). Otherwise (a hard stop) the connection is cut.
   */
  abort(politely = false): void {
    const t = this.transport;
    // A connection still opening is cut either way: its handshake may take its whole timeout.
    if (t && (!politely || !t.isOpen)) t.destroy();
    if (!politely) this.cutByAbort = true;
    if (this.aborted) return;
    this.aborted = true;
    this.cancelSleep();
    this.connectionGone();
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
    this.metrics.frameReceived();
    if (this.autoReplies.length > 0 && this.tryAutoReply(frame)) return;
    const spec = this.waitSpec;
    if (spec !== undefined) {
      if ((spec.event === undefined || frame.event === spec.event) && matchFrame(this.waitPrepared!, frame)) {
        this.clearWait();
        this.expectResumed(frame);
        return;
      }
      this.metrics.add('frames_skipped');
      if (spec.strict) {
        this.clearWait();
        this.expectFailed('unexpected_frame', `strict expect got a frame that did not match: ${preview(frame)}`);
        this.expectResumed(undefined);
      }
      return;
    }
    if (this.inbox.length >= INBOX_LIMIT) {
      this.inbox.shift();
      this.metrics.add('frames_skipped');
    }
    this.inbox.push(frame);
  }

  /** The transport wrote a frame it had queued (countsSentFrames): it is sent now. */
  onFrameWritten(): void {
    this.metrics.frameSent();
  }

  onClose(info: CloseInfo): void {
    this.closed = true;
    // A server that closes once the steps are done (it answered `quit` and hung up, or its close
    // crossed the scenario's own close step) ended a session that completed.
    if (info.errorKind !== undefined && !this.aborted && !this.stepsDone) {
      this.failed = true;
      this.closeErrorCounted = true;
      this.metrics.error(info.errorKind, info.errorMessage ?? `connection closed (${info.code})`);
    }
    this.cancelSleep();
    this.connectionGone();
  }

  /** Called by the deadline timer when the expect in progress runs out of time. */
  deadlineExpired(): void {
    const spec = this.waitSpec;
    if (spec === undefined) return;
    const prepared = this.waitPrepared!;
    this.clearWait();
    this.expectFailed('expect_timeout', `no frame matched ${describeMatcher(prepared)} in ${formatMs(spec.timeoutMs)}`);
    this.expectResumed(undefined);
  }

  // --- running the steps ---------------------------------------------------------------------

  /** Runs the steps; settles when they end (rejects with what ended them early). */
  private runProgram(steps: readonly Step[], latenessMs: number): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.programResolve = resolve;
      this.programReject = reject;
      this.programEnded = false;
      this.stack.push({ steps, index: 0, latenessMs, loop: undefined });
      this.advance();
    });
  }

  /** Ends the steps: with no error they completed; nothing that was waiting resumes them. */
  private endProgram(failure: boolean, err?: unknown): void {
    if (this.programEnded) return;
    this.programEnded = true;
    this.suspension++;
    this.clearWait();
    this.stack.length = 0;
    const resolve = this.programResolve;
    const reject = this.programReject;
    this.programResolve = undefined;
    this.programReject = undefined;
    if (failure) reject?.(err);
    else resolve?.();
  }

  /** The connection closed or the session was aborted: steps that wait end now. Steps being run
   *  right now (a transport that reports a close from inside send) see it at their next step. */
  private connectionGone(): void {
    if (!this.advancing) this.endProgram(true, new SessionEnded());
  }

  /** Runs steps until one has to wait (whatever it waits for calls advance again) or none is left. */
  private advance(): void {
    if (this.programEnded) return;
    this.advancing = true;
    let failure: unknown;
    let failed = false;
    try {
      const stack = this.stack;
      for (;;) {
        const cur = stack[stack.length - 1];
        if (cur === undefined) break;
        if (cur.index < cur.steps.length) {
          this.ensureOpen();
          const step = cur.steps[cur.index++]!;
          if (this.runStep(step, cur)) return;
          continue;
        }
        const loop = cur.loop;
        if (loop === undefined) {
          stack.pop();
          continue;
        }
        const next = this.nextIteration(cur, loop);
        if (next === ITERATION_WAITS) return;
        if (next === LOOP_ENDS) {
          stack.pop();
          this.ctx.iter = loop.savedIter;
        }
      }
    } catch (err) {
      failed = true;
      failure = err;
    } finally {
      this.advancing = false;
    }
    if (failed) this.endProgram(true, failure);
    else this.endProgram(false);
  }

  /** Starts the next iteration of a loop, or says it must wait first (pacing) or is over. */
  private nextIteration(cur: Cursor, loop: LoopFrame): number {
    const step = loop.step;
    const i = loop.i + 1;
    if (step.count !== undefined && i >= step.count) return LOOP_ENDS;
    let lateness = loop.outerLatenessMs;
    const every = step.everyMs;
    if (every !== undefined && every > 0) {
      const intended = loop.startMs + i * every;
      // i * every, not intended - startMs: the subtraction of fractional times reads 999.99… for a
      // 1 s loop at 100 ms and ran an 11th iteration.
      if (step.durationMs !== undefined && i * every >= step.durationMs) return LOOP_ENDS;
      if (loop.pausedBefore !== i) {
        const delay = intended - performance.now();
        if (delay > 0) {
          loop.pausedBefore = i;
          this.sleepThenAdvance(delay);
          return ITERATION_WAITS;
        }
      }
      // An iteration that starts late carries its lateness into every latency it records.
      lateness += Math.max(0, performance.now() - intended);
    } else if (step.durationMs !== undefined && performance.now() - loop.startMs >= step.durationMs) return LOOP_ENDS;
    else if (i % UNPACED_YIELD_EVERY === UNPACED_YIELD_EVERY - 1 && loop.pausedBefore !== i) {
      loop.pausedBefore = i;
      this.suspendOn(yieldToEventLoop());
      return ITERATION_WAITS;
    }
    this.ensureOpen();
    loop.i = i;
    this.ctx.iter = i;
    cur.index = 0;
    cur.latenessMs = lateness;
    return ITERATION_RUNS;
  }

  /** Runs one step; true when it has to wait (and has arranged to resume the steps). */
  private runStep(step: Step, cur: Cursor): boolean {
    switch (step.kind) {
      case 'send':
        return this.runSend(step, cur);
      case 'expect': {
        const prepared = prepareMatcher(step.expect.matcher, this.ctx);
        this.pendingFor = FOR_PUSH;
        this.pendingSpec = step.expect;
        this.pendingPlan = planFor(step, this.metrics);
        const startMs = performance.now();
        this.pendingStartMs = startMs;
        return this.expectFrame(step.expect, prepared, startMs);
      }
      case 'emit':
        this.suspendOn(this.runEmit(step, cur.latenessMs));
        return true;
      case 'think': {
        const ms = step.minMs === step.maxMs ? step.minMs : step.minMs + Math.random() * (step.maxMs - step.minMs);
        if (ms <= 0) return false;
        this.sleepThenAdvance(ms);
        return true;
      }
      case 'loop':
        // The body's cursor starts at its end, so advance() begins with the first iteration's checks.
        this.stack.push({
          steps: step.steps,
          index: step.steps.length,
          latenessMs: cur.latenessMs,
          loop: { step, outerLatenessMs: cur.latenessMs, startMs: performance.now(), savedIter: this.ctx.iter, i: -1, pausedBefore: -1 },
        });
        return false;
      case 'ping':
        this.suspendOn(this.runPing(step.timeoutMs, step.name));
        return true;
      case 'close':
        this.suspendOn(this.runClose(step.code, step.reason));
        return true;
      case 'set': {
        // Every value renders before any is assigned (docs/scenario.md): `{a: new, b: "${a}"}`
        // gives b the old a.
        const entries = Object.entries(step.vars);
        const values = entries.map(([, tpl]) => tpl.render(this.ctx));
        const vars = this.writableVars();
        for (let i = 0; i < entries.length; i++) vars.set(entries[i]![0], values[i]!);
        return false;
      }
    }
  }

  private runSend(step: SendStep, cur: Cursor): boolean {
    const t = this.transport!;
    if (t.bufferedAmount > SEND_HIGH_WATER_BYTES) {
      // The server reads slower than we send: run this send again once the queue has drained.
      cur.index--;
      this.suspendOn(this.waitForDrain());
      return true;
    }
    const expect = step.expect;
    if (expect === undefined) {
      this.sendPayload(step.payload);
      return false;
    }
    const plan = planFor(step, this.metrics);
    let prepared: PreparedMatcher;
    let sentAt: number;
    if (plan.echo) {
      const text = (step.payload as Extract<Payload, { kind: 'text' }>).template.render(this.ctx);
      prepared = { kind: 'text', text };
      if (!t.isOpen) throw new ConnectionEnding();
      sentAt = performance.now();
      t.send(text, false);
      if (t.countsSentFrames !== true) this.metrics.frameSent();
    } else {
      prepared = prepareMatcher(expect.matcher, this.ctx);
      sentAt = performance.now();
      this.sendPayload(step.payload);
    }
    this.pendingFor = FOR_REPLY;
    this.pendingSpec = expect;
    this.pendingPlan = plan;
    this.pendingStartMs = sentAt;
    this.pendingLatenessMs = cur.latenessMs;
    return this.expectFrame(expect, prepared, sentAt);
  }

  /**
   * Looks for the current expect's frame (pending* say what it is for): one already in the
   * inbox is taken now (false); otherwise the session waits for it (true) and onFrame or the
   * deadline timer resumes the steps.
   */
  private expectFrame(spec: ExpectSpec, prepared: PreparedMatcher, startMs: number, requestSentAtMs = startMs): boolean {
    // A reply (a send's or an emit's expect) is a frame that came after the request: one that
    // was already in the inbox (another member's broadcast, a duplicate of an earlier answer)
    // is skipped, or it would be taken as the answer with a latency below zero. A lone expect
    // waits for a push, which may have come before it.
    const found = this.waitFor(spec, prepared, this.pendingFor === FOR_PUSH ? -Infinity : requestSentAtMs);
    if (found === MUST_WAIT) {
      this.waitSpec = spec;
      this.waitPrepared = prepared;
      // The timeout counts from the send (or from the start of a lone expect).
      this.deadlineAtMs = startMs + spec.timeoutMs;
      return true;
    }
    this.expectDone(found);
    return false;
  }

  /** Records what the current expect got: its frame, or undefined when it failed (counted). */
  private expectDone(matched: InboundFrame | undefined): void {
    const spec = this.pendingSpec!;
    const frame = this.captured(spec, matched);
    switch (this.pendingFor) {
      case FOR_REPLY:
        if (frame) {
          this.pendingPlan!.reply.record(frame.arrivedAtMs - this.pendingStartMs, this.pendingLatenessMs);
        }
        break;
      case FOR_PUSH:
        if (frame) {
          const plan = this.pendingPlan!;
          // wait: how long this session waited for the push; with latencyFrom, also the push's
          // delivery latency from the sender's timestamp in the frame.
          plan.wait.recordMs(frame.arrivedAtMs - this.pendingStartMs);
          if (spec.latencyFrom) {
            const sentAtEpochMs = readLatencyFrom(spec.latencyFrom.path, frame);
            if (sentAtEpochMs !== undefined) plan.latency.recordMs(performance.timeOrigin + frame.arrivedAtMs - sentAtEpochMs);
            else this.expectFailed('capture_failed', `latencyFrom ${spec.latencyFrom.source} found no timestamp in ${preview(frame)}`);
          }
        }
        break;
      case FOR_PROMISE: {
        const resolve = this.pendingResolve;
        this.pendingResolve = undefined;
        resolve?.(frame);
        break;
      }
    }
  }

  /** The expect that waited got its frame (or failed): record it and run the next steps. */
  private expectResumed(frame: InboundFrame | undefined): void {
    const resumesSteps = this.pendingFor !== FOR_PROMISE;
    try {
      this.expectDone(frame);
    } catch (err) {
      this.endProgram(true, err);
      return;
    }
    if (resumesSteps) this.advance();
  }

  private clearWait(): void {
    this.waitSpec = undefined;
    this.waitPrepared = undefined;
    this.deadlineAtMs = Infinity;
  }

  /** Resumes the steps when the promise settles (unless they ended meanwhile). */
  private suspendOn(p: Promise<unknown>): void {
    const token = ++this.suspension;
    p.then(
      () => {
        if (token === this.suspension) this.advance();
      },
      (err: unknown) => {
        if (token === this.suspension) this.endProgram(true, err);
      },
    );
  }

  private async runEmit(step: EmitStep, latenessMs: number): Promise<void> {
    const sm = planFor(step, this.metrics);
    const t = this.transport!;
    if (!t.emit) throw new TransportError('send_failed', `emit needs the socket.io transport (this run uses ${this.env.scenario.transport})`);
    const args: unknown[] = [];
    if (step.binary) args.push(Buffer.from(step.binary));
    else if (step.data !== undefined) args.push(renderJsonTemplate(step.data, this.ctx));
    const prepared = step.expect ? prepareMatcher(step.expect.matcher, this.ctx) : undefined;
    const sentAt = performance.now();
    const ack = t.emit(step.event, args, step.ack ? step.ackTimeoutMs : undefined);
    this.metrics.frameSent();
    if (ack) {
      try {
        await ack;
        this.metrics.frameReceived();
        sm.reply.record(performance.now() - sentAt, latenessMs);
      } catch (err) {
        if (err instanceof TransportError && err.kind === 'ack_timeout') {
          this.failed = true;
          this.metrics.error(err.kind, err.message);
        } else throw err;
      }
    }
    if (step.expect && prepared) {
      this.ensureOpen();
      const frame = await this.expectForPromise(step.expect, prepared, sentAt);
      if (frame && !ack) {
        sm.reply.record(frame.arrivedAtMs - sentAt, latenessMs);
      }
    }
  }

  /** An expect for code that awaits (emit): resolves with the frame, or undefined on failure. */
  private expectForPromise(spec: ExpectSpec, prepared: PreparedMatcher, emittedAtMs: number): Promise<InboundFrame | undefined> {
    return new Promise<InboundFrame | undefined>((resolve) => {
      this.pendingFor = FOR_PROMISE;
      this.pendingSpec = spec;
      this.pendingResolve = resolve;
      this.expectFrame(spec, prepared, performance.now(), emittedAtMs);
    });
  }

  private async runPing(timeoutMs: number, name: string | undefined): Promise<void> {
    try {
      const rtt = await this.transport!.ping(timeoutMs);
      this.metrics.trend(TREND.ping, name).recordMs(rtt);
    } catch (err) {
      if (err instanceof TransportError && err.kind === 'ping_timeout') {
        this.failed = true;
        this.metrics.error(err.kind, err.message);
      } else throw err;
    }
  }

  /** A close step ends the session's steps: nothing after it runs. */
  private async runClose(code: number, reason: string): Promise<void> {
    this.stepsDone = true;
    await this.transport!.close(code, reason);
    this.closed = true;
    this.stack.length = 0;
  }

  private tryAutoReply(frame: InboundFrame): boolean {
    for (const rule of this.autoReplies) {
      if (matchFrame(rule.prepared ?? prepareMatcher(rule.matcher, this.ctx), frame)) {
        // A heartbeat that arrives while the connection closes gets no answer, and that is no
        // failure: nothing in the scenario waited on it.
        if (!this.transport!.isOpen) return true;
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
    if (t.countsSentFrames !== true) this.metrics.frameSent();
  }

  /** The session's own variables, made on the first write (see NO_VARS). */
  private writableVars(): Map<string, string> {
    if (this.ctx.vars === NO_VARS) this.ctx.vars = new Map();
    return this.ctx.vars;
  }

  private ensureOpen(): void {
    if (this.aborted || this.closed) throw new SessionEnded();
  }

  /** Counts a failed expect (the session goes on with its next step, and is marked failed). */
  private expectFailed(kind: ErrorKind, message: string): undefined {
    this.failed = true;
    this.metrics.error(kind, message);
    return undefined;
  }

  /** Applies the expect's captures to a matched frame (a capture that finds nothing is counted). */
  private captured(spec: ExpectSpec, frame: InboundFrame | undefined): InboundFrame | undefined {
    if (frame !== undefined && hasKeys(spec.capture)) {
      const problem = applyCaptures(spec.capture, frame, this.writableVars());
      if (problem !== undefined) this.expectFailed('capture_failed', problem);
    }
    return frame;
  }

  /**
   * Looks through the frames that arrived while nothing waited, in order, from those that came
   * at notBeforeMs or later (older ones are skipped): the matching frame, undefined when the
   * expect failed (counted), or MUST_WAIT when none matched.
   */
  private waitFor(spec: ExpectSpec, prepared: PreparedMatcher, notBeforeMs: number): InboundFrame | undefined | typeof MUST_WAIT {
    const inbox = this.inbox;
    for (let i = 0; i < inbox.length; i++) {
      const frame = inbox[i]!;
      if (frame.arrivedAtMs < notBeforeMs) continue; // older than the request: skipped below
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
    if (this.closed || this.aborted) throw new SessionEnded();
    return MUST_WAIT;
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

  /**
   * A think or pacing sleep: one timer, then the steps run on. The commonest wait of a held
   * session, so it takes no promise (suspendOn would add a promise, two resolving functions and
   * two callbacks per sleep). A stale timer (the steps ended meanwhile) resumes nothing.
   */
  private sleepThenAdvance(ms: number): void {
    const token = ++this.suspension;
    this.sleepTimer = setTimeout(sleepOver, ms, this, token);
  }

  /** @internal the timer of sleepThenAdvance fired. */
  sleepOver(token: number): void {
    this.sleepTimer = undefined;
    if (token === this.suspension) this.advance();
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
