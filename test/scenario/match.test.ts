import { describe, expect, it } from 'vitest';
import { applyCaptures, frameJson, jsonSubset, matchFrame, prepareMatcher, readLatencyFrom } from '../../src/scenario/match.js';
import { loadScenario } from '../../src/scenario/load.js';
import type { RenderContext } from '../../src/scenario/template.js';
import type { ExpectSpec, Step } from '../../src/scenario/types.js';
import type { InboundFrame } from '../../src/transport/types.js';

function text(t: string): InboundFrame {
  return { text: t, bytes: undefined, arrivedAtMs: 0 };
}
function bin(bytes: number[]): InboundFrame {
  return { text: undefined, bytes: new Uint8Array(bytes), arrivedAtMs: 0 };
}
function sio(event: string, value: unknown): InboundFrame {
  return { text: typeof value === 'string' ? value : undefined, bytes: undefined, arrivedAtMs: 0, event, value };
}

const ctx: RenderContext = { vars: new Map([['sid', 'S1'], ['dot', 'a.b']]), vu: 4, iter: 2, nextSeq: () => 1, data: undefined, env: {} };

/** The expects of a scenario's steps, built by the real loader. */
function expects(stepsYaml: string): ExpectSpec[] {
  const r = loadScenario({ file: '<inline>', source: `target: ws://127.0.0.1:1\nsteps:\n${stepsYaml}`, env: {} });
  if (!r.ok) throw new Error(r.problems.map((p) => p.message).join('\n'));
  return r.scenario.steps.flatMap((s: Step) => ('expect' in s && s.expect ? [s.expect] : []));
}

describe('matchers', () => {
  it('text is exact equality on text frames', () => {
    const [e] = expects('  - expect: {text: "hello ${vu}"}');
    const p = prepareMatcher(e!.matcher, ctx);
    expect(matchFrame(p, text('hello 4'))).toBe(true);
    expect(matchFrame(p, text('hello 4 '))).toBe(false);
    expect(matchFrame(p, bin([104]))).toBe(false);
  });

  it('match is a regex whose substituted values are literal', () => {
    const [e] = expects('  - set: {dot: "1"}\n  - expect: {match: "^id ${dot} #\\\\d+$", flags: i}');
    const p = prepareMatcher(e!.matcher, ctx);
    expect(matchFrame(p, text('ID a.b #42'))).toBe(true);
    expect(matchFrame(p, text('id aXb #42'))).toBe(false);
  });

  it('json is a deep subset with string templates matching numbers by their text', () => {
    const [e] = expects('  - expect: {json: {type: joined, user: "${vu}", tags: [a, b], meta: {ok: true, n: null}}}');
    const p = prepareMatcher(e!.matcher, ctx);
    expect(matchFrame(p, text('{"type":"joined","user":4,"tags":["a","b"],"meta":{"ok":true,"n":null,"extra":1},"more":2}'))).toBe(true);
    expect(matchFrame(p, text('{"type":"joined","user":"4","tags":["a","b"],"meta":{"ok":true,"n":null}}'))).toBe(true);
    expect(matchFrame(p, text('{"type":"joined","user":5,"tags":["a","b"],"meta":{"ok":true,"n":null}}'))).toBe(false);
    expect(matchFrame(p, text('{"type":"joined","user":4,"tags":["a","b","c"],"meta":{"ok":true,"n":null}}'))).toBe(false);
    expect(matchFrame(p, text('{"type":"joined","user":4,"tags":["a","b"],"meta":{"ok":"true","n":null}}'))).toBe(false);
    expect(matchFrame(p, text('not json'))).toBe(false);
  });

  it('subset rules hold for the corner cases', () => {
    expect(jsonSubset({}, { a: 1 })).toBe(true);
    expect(jsonSubset({}, [1])).toBe(false);
    expect(jsonSubset([], [])).toBe(true);
    expect(jsonSubset({ a: null }, {})).toBe(false);
    expect(jsonSubset(1, '1')).toBe(false);
    expect(jsonSubset('true', true)).toBe(true);
  });

  it('binary compares bytes exactly and any matches everything', () => {
    const [b, a] = expects('  - expect: {binary: AQID}\n  - expect: {}');
    const pb = prepareMatcher(b!.matcher, ctx);
    expect(matchFrame(pb, bin([1, 2, 3]))).toBe(true);
    expect(matchFrame(pb, bin([1, 2]))).toBe(false);
    expect(matchFrame(pb, text('\x01\x02\x03'))).toBe(false);
    expect(matchFrame(prepareMatcher(a!.matcher, ctx), bin([]))).toBe(true);
  });

  it('applies json and text matchers to the first argument of Socket.IO frames', () => {
    const [j, t] = expects('  - expect: {json: {text: hi}}\n  - expect: {text: plain}');
    expect(matchFrame(prepareMatcher(j!.matcher, ctx), sio('chat', { text: 'hi', from: 'x' }))).toBe(true);
    expect(matchFrame(prepareMatcher(j!.matcher, ctx), sio('chat', 'hi'))).toBe(false);
    expect(matchFrame(prepareMatcher(t!.matcher, ctx), sio('chat', 'plain'))).toBe(true);
    expect(matchFrame(prepareMatcher(t!.matcher, ctx), sio('chat', { text: 'plain' }))).toBe(false);
  });

  it('prepares static matchers once and re-renders dynamic ones', () => {
    const [s, d] = expects('  - expect: {json: {a: b}}\n  - expect: {text: "${iter}"}');
    expect(prepareMatcher(s!.matcher, ctx)).toBe(prepareMatcher(s!.matcher, { ...ctx, iter: 9 }));
    expect(prepareMatcher(d!.matcher, { ...ctx, iter: 9 })).toEqual({ kind: 'text', text: '9' });
  });
});

describe('frames, captures and latencyFrom', () => {
  it('parses JSON at most once per frame and remembers non-JSON', () => {
    const f = text('{"a":1}');
    const first = frameJson(f);
    expect(first).toEqual({ a: 1 });
    f.text = '{"a":2}'; // a second parse would see this
    expect(frameJson(f)).toBe(first);
    const g = text('nope');
    expect(frameJson(g)).toBeUndefined();
    expect(g.jsonState).toBe(2);
  });

  it('captures by JSON path (strings as is, numbers by text, objects as JSON) and by regex group', () => {
    const [e] = expects('  - expect: {capture: {sid: $.sessionId, n: $.n, obj: $.o, id: {regex: "id=(\\\\d+)"}, whole: {regex: "id=\\\\d+", group: 0}}}');
    const vars = new Map<string, string>();
    const frame = text('{"sessionId":"abc","n":12.5,"o":{"x":[1]},"note":"id=77"}');
    expect(applyCaptures(e!.capture, frame, vars)).toBeUndefined();
    expect(Object.fromEntries(vars)).toEqual({ sid: 'abc', n: '12.5', obj: '{"x":[1]}', id: '77', whole: 'id=77' });
  });

  it('says which capture found nothing', () => {
    const [e] = expects('  - expect: {capture: {sid: $.sessionId}}');
    expect(applyCaptures(e!.capture, text('{"other":1}'), new Map())).toBe('capture sid: nothing at $.sessionId');
    expect(applyCaptures(e!.capture, text('plain'), new Map())).toBe('capture sid: frame is not JSON, cannot read $.sessionId');
    const [r] = expects('  - expect: {capture: {n: {regex: "id=(\\\\d+)"}}}');
    expect(applyCaptures(r!.capture, text('no id'), new Map())).toBe('capture n: /id=(\\d+)/ found no group 1');
  });

  it('reads delivery timestamps from numbers and numeric strings only', () => {
    const [e] = expects('  - expect: {latencyFrom: $.meta.sentAt}');
    const path = e!.latencyFrom!.path;
    expect(readLatencyFrom(path, text('{"meta":{"sentAt":1712.5}}'))).toBe(1712.5);
    expect(readLatencyFrom(path, text('{"meta":{"sentAt":"1712.5"}}'))).toBe(1712.5);
    expect(readLatencyFrom(path, text('{"meta":{"sentAt":"soon"}}'))).toBeUndefined();
    expect(readLatencyFrom(path, text('{"meta":{}}'))).toBeUndefined();
    expect(readLatencyFrom(path, sio('tick', { meta: { sentAt: 5 } }))).toBe(5);
  });
});
