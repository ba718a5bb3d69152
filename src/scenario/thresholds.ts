// `thresholds:` — metric keys checked against the metrics this scenario can produce, and each
// expression parsed (syntax) and validated against the metric's type.

import { isMap, isScalar, isSeq } from 'yaml';
import { COUNTER_NAMES, ERROR_KINDS, GAUGE_NAMES, TREND_NAMES, metricTypeOf, parseMetricKey } from '../metrics/names.js';
import { parseThresholdExpression, validateThresholdMethod } from '../thresholds/parse.js';
import type { BuildContext } from './context.js';
import { join } from './reader.js';
import { didYouMean } from './suggest.js';
import type { ThresholdSpec } from './types.js';

const ALL_METRICS: readonly string[] = [...TREND_NAMES, ...COUNTER_NAMES, ...GAUGE_NAMES];
/** Trends recorded by steps, so both the untagged and the {name:…} form need such a step. */
const STEP_TRENDS: Record<string, string> = {
  latency: 'a send+expect, an emit with ack or expect, or an expect with latencyFrom',
  service_time: 'a send+expect or an emit with ack or expect',
  wait: 'a lone expect',
  ping: 'a ping step',
};

export function buildThresholds(c: BuildContext, node: unknown): ThresholdSpec[] | undefined {
  const view = c.r.map(node, 'thresholds', undefined);
  if (!view) return undefined;
  const out: ThresholdSpec[] = [];
  let ok = true;
  for (const [metric, e] of view.entries) {
    const p = join('thresholds', metric);
    // A bad key does not stop its expressions from being checked: every problem is listed.
    const key = parseMetricKey(metric);
    const type = key ? metricTypeOf(key.name) : undefined;
    if (!key) {
      c.r.problem(e.keyNode, `thresholds: "${metric}" is not a metric key like latency or latency{name:say}`);
      ok = false;
    } else if (!type) {
      const hint = didYouMean(key.name, ALL_METRICS);
      c.r.problem(e.keyNode, `thresholds: unknown metric "${key.name}"${hint ? `; did you mean "${hint}"?` : `; metrics are ${ALL_METRICS.join(', ')}`}`);
      ok = false;
    } else if (!checkMetricExists(c, e.keyNode, key.name, key.tags)) ok = false;
    const list = expressionNodes(c, e.value, p);
    if (!list) {
      ok = false;
      continue;
    }
    list.forEach((item, i) => {
      const ip = list.length > 1 || isSeq(c.r.deref(e.value)) ? join(p, i) : p;
      const spec = buildOne(c, item, ip, metric, key?.name, key?.tags ?? {});
      if (spec && type) {
        const exprErr = validateThresholdMethod(type, spec.parsed.method);
        if (exprErr) {
          c.r.problem(item, `${ip}: "${spec.expression}": ${exprErr}`);
          ok = false;
          return;
        }
        out.push(spec);
      } else ok = false;
    });
  }
  return ok ? out : undefined;
}

function expressionNodes(c: BuildContext, node: unknown, path: string): unknown[] | undefined {
  const n = c.r.deref(node);
  if (isSeq(n)) {
    if (n.items.length === 0) return c.r.problem(node, `${path}: needs at least one expression like "p(95) < 200ms"`);
    return n.items;
  }
  if ((isScalar(n) && typeof n.value === 'string') || isMap(n)) return [n];
  return c.r.problem(node, `${path}: expected a list of expressions like ["p(95) < 200ms"], got ${c.r.describe(n)}`);
}

/** One expression; `metricName` is undefined when the key is not a metric (syntax still checked). */
function buildOne(
  c: BuildContext,
  node: unknown,
  path: string,
  metric: string,
  metricName: string | undefined,
  tags: Record<string, string>,
): ThresholdSpec | undefined {
  const n = c.r.deref(node);
  let exprNode: unknown = n;
  let abortOnFail = false;
  let delayAbortEvalMs = 0;
  if (isMap(n)) {
    const v = c.r.map(n, path, 'threshold');
    if (!v) return undefined;
    const t = v.entries.get('threshold');
    if (!t) return c.r.problem(n, `${path}: needs threshold: "<expression>"`);
    exprNode = t.value;
    const a = v.entries.get('abortOnFail');
    if (a) {
      const b = c.r.boolean(a.value, join(path, 'abortOnFail'));
      if (b === undefined) return undefined;
      abortOnFail = b;
    }
    const d = v.entries.get('delayAbortEval');
    if (d) {
      const ms = c.r.duration(d.value, join(path, 'delayAbortEval'), { allowZero: true });
      if (ms === undefined) return undefined;
      delayAbortEvalMs = ms;
    }
  }
  const expression = c.r.string(exprNode, path, { nonEmpty: true });
  if (expression === undefined) return undefined;
  const parsed = parseThresholdExpression(expression);
  if (!parsed.ok) {
    c.r.problemInside(exprNode, parsed.col - 1, `${path}: ${parsed.message}`);
    return undefined;
  }
  if (metricName === undefined) return undefined;
  const type = metricTypeOf(metricName);
  if (parsed.unit && type !== undefined && (type !== 'trend' || parsed.value.method === 'count')) {
    c.r.problem(exprNode, `${path}: "${expression}": ${metricName} ${parsed.value.method} is a plain number; drop the unit "${parsed.unit}"`);
    return undefined;
  }
  return { metric, metricName, tags, expression, parsed: parsed.value, abortOnFail, delayAbortEvalMs, pos: c.r.pos(exprNode) };
}

/** A threshold on a metric no step can produce would pass vacuously: report it instead. */
function checkMetricExists(c: BuildContext, keyNode: unknown, name: string, tags: Record<string, string>): boolean {
  const tagKeys = Object.keys(tags);
  const stepTrend = STEP_TRENDS[name];
  if (stepTrend !== undefined) {
    const extra = tagKeys.filter((k) => k !== 'name');
    if (extra.length > 0) return !!c.r.problem(keyNode, `thresholds: ${name} has only the tag name, not ${extra.join(', ')}`);
    if (tags.name === '') return !!c.r.problem(keyNode, `thresholds: ${name}{name:} needs a step name after name: (like ${name}{name:say})`);
    if (tags.name !== undefined) {
      const names = c.metrics.named.get(name);
      if (!names?.has(tags.name)) {
        const hint = names ? didYouMean(tags.name, [...names]) : undefined;
        return !!c.r.problem(
          keyNode,
          `thresholds: no step named "${tags.name}" records ${name} (that needs ${stepTrend} with name: ${tags.name})` +
            (hint ? `; did you mean "${hint}"?` : ''),
        );
      }
      return true;
    }
    if (!c.metrics.any.has(name)) return !!c.r.problem(keyNode, `thresholds: no step records ${name} (that needs ${stepTrend})`);
    return true;
  }
  if (name === 'errors') {
    const extra = tagKeys.filter((k) => k !== 'kind');
    if (extra.length > 0) return !!c.r.problem(keyNode, `thresholds: errors has only the tag kind, not ${extra.join(', ')}`);
    if (tags.kind !== undefined && !(ERROR_KINDS as readonly string[]).includes(tags.kind)) {
      const hint = didYouMean(tags.kind, ERROR_KINDS);
      return !!c.r.problem(keyNode, `thresholds: unknown error kind "${tags.kind}"${hint ? `; did you mean "${hint}"?` : `; kinds are ${ERROR_KINDS.join(', ')}`}`);
    }
    return true;
  }
  if (tagKeys.length > 0) return !!c.r.problem(keyNode, `thresholds: ${name} has no tags`);
  return true;
}
