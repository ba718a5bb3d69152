// Property tests (fast-check): whatever frames a server sends, in whatever order, the matcher
// (src/scenario/match.ts) answers true or false and never throws, the JSON cache on a frame is
// consistent, and the answers agree with simple models of each matcher kind (text matchers read
// a binary frame whose bytes are UTF-8 as that text).

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { frameJson, jsonSubset, matchFrame } from '../../src/scenario/match.js';
import type { PreparedMatcher } from '../../src/scenario/match.js';
import type { InboundFrame } from '../../src/transport/types.js';

const jsonValue = fc.jsonValue({ maxDepth: 3 });

/** Text that is JSON, almost JSON, or anything at all (lone surrogates included). */
const frameText = fc.oneof(
  jsonValue.map((v) => JSON.stringify(v)),
  jsonValue.map((v) => JSON.stringify(v).slice(0, -1)),
  fc.string({ unit: 'binary', maxLength: 64 }),
  fc.constantFrom('', '{', '[', 'null', '{"__proto__": {"x": 1}}', '{"constructor": {"prototype": 1}}', '\ud800', '1e400'),
);

const frameArb: fc.Arbitrary<InboundFrame> = fc.oneof(
  frameText.map((text) => ({ text, bytes: undefined, arrivedAtMs: 0 })),
  fc.uint8Array({ maxLength: 64 }).map((bytes) => ({ text: undefined, bytes, arrivedAtMs: 0 })),
  // Binary frames holding UTF-8 text (a ws server echoing the Buffer it got): text matchers read them.
  frameText.map((text) => ({ text: undefined, bytes: new Uint8Array(Buffer.from(text, 'utf8')), arrivedAtMs: 0 })),
);

/** The model of a frame's text: a text frame's text, or a binary frame's bytes when they are
 *  UTF-8 (decoding and re-encoding gives the same bytes back), else none. */
function textOf(f: InboundFrame): string | undefined {
  if (f.text !== undefined) return f.text;
  if (f.bytes === undefined) return undefined;
  const decoded = Buffer.from(f.bytes).toString('utf8');
  return Buffer.from(decoded, 'utf8').equals(Buffer.from(f.bytes)) ? decoded : undefined;
}

const matcherArb: fc.Arbitrary<PreparedMatcher> = fc.oneof(
  fc.constant<PreparedMatcher>({ kind: 'any' }),
  frameText.map<PreparedMatcher>((text) => ({ kind: 'text', text })),
  fc.constantFrom('^a', 'b$', '\\d+', '(x|y)*z', '.', '^$', '\\u{1F600}').map<PreparedMatcher>((src) => ({ kind: 'match', regex: new RegExp(src, 'u') })),
  jsonValue.map<PreparedMatcher>((subset) => ({ kind: 'json', subset })),
  fc.uint8Array({ maxLength: 16 }).map<PreparedMatcher>((bytes) => ({ kind: 'binary', bytes })),
);

describe('matcher properties', () => {
  it('never throws on any sequence of frames, and answers the same for a frame seen twice', () => {
    fc.assert(
      fc.property(fc.array(matcherArb, { minLength: 1, maxLength: 4 }), fc.array(frameArb, { maxLength: 30 }), (matchers, frames) => {
        for (const f of frames) {
          for (const m of matchers) {
            const first = matchFrame(m, f);
            expect(typeof first).toBe('boolean');
            // The lazily parsed JSON is cached on the frame: a second look must agree.
            expect(matchFrame(m, f)).toBe(first);
          }
        }
      }),
      { numRuns: 300 },
    );
  });

  it('agrees with a model of each kind', () => {
    fc.assert(
      fc.property(matcherArb, frameArb, (m, f) => {
        const got = matchFrame(m, f);
        switch (m.kind) {
          case 'any':
            expect(got).toBe(true);
            break;
          case 'text':
            expect(got).toBe(textOf(f) === m.text);
            break;
          case 'match': {
            const text = textOf(f);
            expect(got).toBe(text !== undefined && m.regex.test(text));
            break;
          }
          case 'binary':
            expect(got).toBe(f.bytes !== undefined && Buffer.from(f.bytes).equals(Buffer.from(m.bytes)));
            break;
          case 'json': {
            const text = textOf(f);
            const parsed = text === undefined ? { ok: false as const } : tryParse(text);
            expect(got).toBe(parsed.ok === true && jsonSubset(m.subset, parsed.value));
            break;
          }
        }
      }),
      { numRuns: 500 },
    );
  });

  it('a JSON frame always matches itself and every subset of its objects', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string({ maxLength: 6 }), jsonValue, { maxKeys: 6 }), fc.context(), (obj, ctx) => {
        const frame: InboundFrame = { text: JSON.stringify(obj), bytes: undefined, arrivedAtMs: 0 };
        expect(matchFrame({ kind: 'json', subset: obj }, frame)).toBe(true);
        const keys = Object.keys(obj).filter((_, i) => i % 2 === 0);
        const subset = Object.fromEntries(keys.map((k) => [k, obj[k]]));
        ctx.log(JSON.stringify(subset));
        expect(matchFrame({ kind: 'json', subset }, frame)).toBe(true);
        expect(frameJson(frame)).toEqual(JSON.parse(frame.text!));
      }),
      { numRuns: 300 },
    );
  });
});

function tryParse(text: string): { ok: true; value: unknown } | { ok: false; value?: undefined } {
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch {
    return { ok: false };
  }
}
