// Steps: what one session does, in order. Each step does one thing (send and emit may carry an
// expect). Building also tracks variable definitions in execution order and which metrics each
// step records, for the variable and threshold checks.

import { isMap, isScalar } from 'yaml';
import type { BuildContext } from './context.js';
import { parseDuration } from './duration.js';
import { STEP_ACTIONS } from './keys.js';
import { join, label, type MapView } from './reader.js';
import { buildExpect, buildJsonTemplate, buildPayload, decodeBase64, defineVariable, DEFAULT_EXPECT_TIMEOUT_MS } from './values.js';
import type { Template } from './template.js';
import type { CloseStep, ExpectSpec, SourcePos, Step } from './types.js';

const DEFAULT_PING_TIMEOUT_MS = 10_000;

/** Close codes a client may send (the rules `ws` enforces). */
function isValidCloseCode(code: number): boolean {
  return (code >= 1000 && code <= 1014 && code !== 1004 && code !== 1005 && code !== 1006) || (code >= 3000 && code <= 4999);
}

export function buildSteps(c: BuildContext, node: unknown, path: string): Step[] | undefined {
  const items = c.r.seq(node, path);
  if (!items) return undefined;
  if (items.length === 0) return c.r.problem(node, `${label(path)}needs at least one step`);
  const steps: Step[] = [];
  let ok = true;
  let closedAt: number | undefined;
  items.forEach((item, i) => {
    if (closedAt !== undefined && i === closedAt + 1) c.r.warn(item, `${join(path, i)}: steps after a close step never run`);
    const step = buildStep(c, item, join(path, i));
    if (!step) ok = false;
    else {
      steps.push(step);
      if (step.kind === 'close') closedAt = i;
    }
  });
  return ok ? steps : undefined;
}

function buildStep(c: BuildContext, node: unknown, path: string): Step | undefined {
  const view = c.r.map(node, path, 'step');
  if (!view) return undefined;
  const pos = c.r.pos(node);
  const actions = STEP_ACTIONS.filter((a) => view.entries.has(a));
  let name: string | undefined;
  const nameEntry = view.entries.get('name');
  if (nameEntry) name = c.r.string(nameEntry.value, join(path, 'name'), { nonEmpty: true });
  if (actions.length === 0) {
    // An unknown key was already reported (with "did you mean think?"); saying more is noise.
    if (view.rejected > 0) return undefined;
    return c.r.problem(node, `${label(path)}step does nothing: add one of ${STEP_ACTIONS.join(', ')}`);
  }
  const pairable = actions.length === 2 && actions.includes('expect') && (actions.includes('send') || actions.includes('emit'));
  if (actions.length > 1 && !pairable) {
    const second = [...view.entries.values()].filter((e) => (actions as string[]).includes(e.key))[1]!;
    return c.r.problem(second.keyNode, `${label(path)}a step does one thing, got ${actions.join(' and ')} (only send or emit may add an expect): split it into separate steps`);
  }
  if (nameEntry && name === undefined) return undefined;
  const base = name === undefined ? { pos } : { name, pos };
  const primary = pairable ? actions.find((a) => a !== 'expect')! : actions[0]!;
  switch (primary) {
    case 'send':
      return buildSend(c, view, path, base);
    case 'emit':
      return buildEmit(c, view, path, base);
    case 'expect': {
      const expectNode = view.entries.get('expect')!.value;
      // Recorded before building: a step with an error still records its metric, so a threshold
      // on it is not reported as missing as well (the step's own problem is the real one).
      // The wait is always recorded; latencyFrom adds the push's delivery latency (the engine
      // records both).
      c.record('wait', name);
      if (keyNodeOf(c, expectNode, 'latencyFrom') !== undefined) c.record('latency', name);
      const expect = buildExpect(c, expectNode, join(path, 'expect'));
      if (!expect) return undefined;
      warnEventOutsideSocketIo(c, view, expect, path);
      return { kind: 'expect', ...base, expect };
    }
    case 'think':
      return buildThink(c, view, path, base);
    case 'loop':
      return buildLoop(c, view, path, base);
    case 'ping': {
      const e = view.entries.get('ping')!;
      let timeoutMs = DEFAULT_PING_TIMEOUT_MS;
      c.record('ping', name);
      if (!c.r.isNull(e.value)) {
        const pv = c.r.map(e.value, join(path, 'ping'), 'ping');
        if (!pv) return undefined;
        const t = pv.entries.get('timeout');
        if (t) {
          const ms = c.r.duration(t.value, join(path, 'ping.timeout'));
          if (ms === undefined) return undefined;
          timeoutMs = ms;
        }
      }
      return { kind: 'ping', ...base, timeoutMs };
    }
    case 'close':
      return buildClose(c, view, path, base);
    case 'set':
      return buildSet(c, view, path, base);
  }
}

type Base = { name?: string; pos: SourcePos };

/** The node of `key` when `node` is a map holding it (read without recording problems: the builder does that). */
function keyNodeOf(c: BuildContext, node: unknown, key: string): unknown {
  const n = c.r.deref(node);
  return isMap(n) ? n.items.find((pair) => isScalar(pair.key) && pair.key.value === key)?.key : undefined;
}

/**
 * latencyFrom measures a pushed frame's delivery from a timestamp inside it, so it belongs to a
 * lone expect. On a request's expect the latency is the round trip from the send (pacing-aware),
 * and the timestamp would be silently ignored: refused instead. True when refused.
 */
function refuseLatencyFrom(c: BuildContext, expectNode: unknown, path: string, action: 'send' | 'emit'): boolean {
  const keyNode = keyNodeOf(c, expectNode, 'latencyFrom');
  if (keyNode === undefined) return false;
  c.r.problem(
    keyNode,
    `${join(path, 'latencyFrom')}: applies only to a lone expect (a pushed frame); a ${action}'s expect already records ` +
      `latency as the round trip from the ${action}: remove latencyFrom, or move the expect to a step of its own`,
  );
  return true;
}

function warnEventOutsideSocketIo(c: BuildContext, view: MapView, expect: ExpectSpec, path: string): void {
  if (expect.event !== undefined && !c.socketIo) {
    c.transportMismatch(view.entries.get('expect')!.value, `${join(path, 'expect.event')}: event only applies with transport socket.io (or --transport socket.io)`);
  }
}

function buildSend(c: BuildContext, view: MapView, path: string, base: Base): Step | undefined {
  const payload = buildPayload(c, view.entries.get('send')!.value, join(path, 'send'), 'session');
  const ex = view.entries.get('expect');
  if (ex) {
    // Recorded whether or not the step builds (see the lone expect).
    c.record('latency', base.name);
    c.record('service_time', base.name);
  }
  const refused = ex ? refuseLatencyFrom(c, ex.value, join(path, 'expect'), 'send') : false;
  const expect = ex ? buildExpect(c, ex.value, join(path, 'expect')) : undefined;
  if (!payload || (ex && !expect) || refused) return undefined;
  if (expect) {
    warnEventOutsideSocketIo(c, view, expect, path);
    return { kind: 'send', ...base, payload, expect };
  }
  return { kind: 'send', ...base, payload };
}

function buildEmit(c: BuildContext, view: MapView, path: string, base: Base): Step | undefined {
  const p = join(path, 'emit');
  const ev = c.r.map(view.entries.get('emit')!.value, p, 'emit');
  if (!ev) return undefined;
  if (!c.socketIo) c.transportMismatch(view.entries.get('emit')!.keyNode, `${p}: emit needs transport socket.io (or --transport socket.io)`);
  let ok = true;
  const eventEntry = ev.entries.get('event');
  const event = eventEntry ? c.r.string(eventEntry.value, join(p, 'event'), { nonEmpty: true }) : c.r.problem(ev.node, `${p}: emit needs an event name`);
  if (event === undefined) ok = false;
  const d = ev.entries.get('data');
  const data = d ? buildJsonTemplate(c, d.value, join(p, 'data'), 'session') : undefined;
  if (d && data === undefined) ok = false;
  const b = ev.entries.get('binary');
  const binary = b ? decodeBase64(c, b.value, join(p, 'binary')) : undefined;
  if (b && !binary) ok = false;
  const a = ev.entries.get('ack');
  const ack = a ? c.r.boolean(a.value, join(p, 'ack')) : false;
  if (ack === undefined) ok = false;
  const t = ev.entries.get('timeout');
  const ackTimeoutMs = t ? c.r.duration(t.value, join(p, 'timeout')) : DEFAULT_EXPECT_TIMEOUT_MS;
  if (ackTimeoutMs === undefined) ok = false;
  if (t && ack === false) c.r.warn(t.keyNode, `${join(p, 'timeout')}: applies only with ack: true`);
  const ex = view.entries.get('expect');
  // Recorded whether or not the step builds (see the lone expect); an unreadable ack counts as
  // asked for, as the user meant one.
  if (ex || (a && ack !== false)) {
    c.record('latency', base.name);
    c.record('service_time', base.name);
  }
  if (ex && refuseLatencyFrom(c, ex.value, join(path, 'expect'), 'emit')) ok = false;
  const expect = ex ? buildExpect(c, ex.value, join(path, 'expect')) : undefined;
  if (ex && !expect) ok = false;
  if (!ok) return undefined;
  const step: Step = { kind: 'emit', ...base, event: event!, data, ack: ack!, ackTimeoutMs: ackTimeoutMs! };
  if (binary) step.binary = binary;
  if (expect) step.expect = expect;
  return step;
}

function buildThink(c: BuildContext, view: MapView, path: string, base: Base): Step | undefined {
  const e = view.entries.get('think')!;
  const p = join(path, 'think');
  const v = c.r.scalar(e.value);
  if (typeof v === 'string' && v.includes('..')) {
    const [a, b] = v.split('..', 2) as [string, string];
    const minMs = parseDuration(a);
    const maxMs = parseDuration(b);
    if (minMs === undefined || maxMs === undefined) {
      return c.r.problem(e.value, `${p}: expected a duration range like 50ms..150ms, got "${v}"`);
    }
    if (minMs > maxMs) return c.r.problem(e.value, `${p}: range ${v} starts after it ends`);
    return { kind: 'think', ...base, minMs, maxMs };
  }
  const ms = c.r.duration(e.value, p, { allowZero: true });
  return ms === undefined ? undefined : { kind: 'think', ...base, minMs: ms, maxMs: ms };
}

function buildLoop(c: BuildContext, view: MapView, path: string, base: Base): Step | undefined {
  const p = join(path, 'loop');
  const lv = c.r.map(view.entries.get('loop')!.value, p, 'loop');
  if (!lv) return undefined;
  let ok = true;
  const count = lv.entries.get('count');
  const duration = lv.entries.get('duration');
  const every = lv.entries.get('every');
  const step: Step = { kind: 'loop', ...base, steps: [] };
  if (count) {
    const n = c.r.integer(count.value, join(p, 'count'), 1);
    if (n === undefined) ok = false;
    else step.count = n;
  }
  if (duration) {
    const ms = c.r.duration(duration.value, join(p, 'duration'));
    if (ms === undefined) ok = false;
    else step.durationMs = ms;
  }
  if (!count && !duration) {
    c.r.problem(lv.node, `${p}: a loop needs count or duration (or both: it stops at whichever comes first)`);
    ok = false;
  }
  if (every) {
    const ms = c.r.duration(every.value, join(p, 'every'));
    if (ms === undefined) ok = false;
    else step.everyMs = ms;
  }
  const stepsEntry = lv.entries.get('steps');
  if (!stepsEntry) {
    c.r.problem(lv.node, `${p}: a loop needs steps`);
    return undefined;
  }
  c.loopDepth++;
  const steps = buildSteps(c, stepsEntry.value, join(p, 'steps'));
  c.loopDepth--;
  if (!steps || !ok) return undefined;
  step.steps = steps;
  return step;
}

function buildClose(c: BuildContext, view: MapView, path: string, base: Base): Step | undefined {
  const e = view.entries.get('close')!;
  const p = join(path, 'close');
  const step: CloseStep = { kind: 'close', ...base, code: 1000, reason: '' };
  if (c.r.isNull(e.value)) return step;
  const cv = c.r.map(e.value, p, 'close');
  if (!cv) return undefined;
  let ok = true;
  const code = cv.entries.get('code');
  if (code) {
    const n = c.r.integer(code.value, join(p, 'code'), 0);
    if (n === undefined) ok = false;
    else if (!isValidCloseCode(n)) {
      c.r.problem(code.value, `${join(p, 'code')}: ${n} is not a close code a client may send (use 1000, 1001-1003, 1007-1014 or 3000-4999)`);
      ok = false;
    } else step.code = n;
  }
  const reason = cv.entries.get('reason');
  if (reason) {
    const s = c.r.text(reason.value, join(p, 'reason'));
    if (s === undefined) ok = false;
    else if (Buffer.byteLength(s) > 123) {
      c.r.problem(reason.value, `${join(p, 'reason')}: a close reason is at most 123 bytes`);
      ok = false;
    } else {
      step.reason = s;
      if (s.includes('${')) c.r.warn(reason.value, `${join(p, 'reason')}: sent as written; a close reason is not a template`);
    }
  }
  return ok ? step : undefined;
}

function buildSet(c: BuildContext, view: MapView, path: string, base: Base): Step | undefined {
  const e = view.entries.get('set')!;
  const p = join(path, 'set');
  const sv = c.r.map(e.value, p, undefined);
  if (!sv) return undefined;
  if (sv.entries.size === 0) return c.r.problem(e.value, `${p}: set needs at least one variable`);
  const vars: Record<string, Template> = {};
  const defined: [string, unknown][] = [];
  let ok = true;
  for (const [name, entry] of sv.entries) {
    if (!defineVariable(c, entry.keyNode, name, p)) {
      ok = false;
      continue;
    }
    const v = c.r.deref(entry.value);
    if (isMap(v) || !isScalar(v) || v.value === null) {
      c.r.problem(entry.value, `${join(p, name)}: expected a string, got ${c.r.describe(v)}`);
      ok = false;
      continue;
    }
    const t = c.template(v, join(p, name), 'session');
    if (!t) ok = false;
    else {
      vars[name] = t;
      defined.push([name, entry.keyNode]);
    }
  }
  // All values render before any is assigned, so a set cannot see its own variables.
  for (const [name, keyNode] of defined) c.define(name, keyNode);
  return ok ? { kind: 'set', ...base, vars } : undefined;
}
