// loadScenario never throws: random text, random YAML documents and mutations of a valid
// scenario either load or come back as problems that each carry a position.
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { loadScenario } from '../../src/scenario/load.js';

const VALID = readFileSync('test/scenario/fixtures/chat.yaml', 'utf8');
const ENV = { TOKEN: 't' };

function check(source: string, sets?: string[]): void {
  const r = loadScenario({ file: 'test/scenario/fixtures/p.yaml', source, env: ENV, sets });
  if (r.ok) {
    expect(r.scenario.steps.length).toBeGreaterThan(0);
    return;
  }
  expect(r.problems.length).toBeGreaterThan(0);
  const lineCount = source.split('\n').length;
  for (const p of r.problems) {
    expect(p.message).not.toMatch(/internal error/);
    expect(p.message).not.toContain('\n');
    expect(p.pos, `${p.file}: ${p.message}`).toBeDefined();
    expect(p.pos!.line).toBeGreaterThanOrEqual(1);
    expect(p.pos!.col).toBeGreaterThanOrEqual(1);
    if (p.file === 'test/scenario/fixtures/p.yaml') expect(p.pos!.line).toBeLessThanOrEqual(lineCount);
  }
}

/** A mutation of the valid scenario: delete, insert or replace a slice, or swap two lines. */
const mutated = fc
  .tuple(
    fc.constantFrom('delete', 'insert', 'replace', 'swap'),
    fc.nat({ max: VALID.length }),
    fc.nat({ max: 40 }),
    fc.string({ maxLength: 12, unit: fc.constantFrom(...' :-{}[]",\'\t\n#&*!|>$.0123456789abcsxyz'.split('')) }),
  )
  .map(([op, at, len, text]) => {
    if (op === 'delete') return VALID.slice(0, at) + VALID.slice(at + len);
    if (op === 'insert') return VALID.slice(0, at) + text + VALID.slice(at);
    if (op === 'replace') return VALID.slice(0, at) + text + VALID.slice(at + text.length);
    const lines = VALID.split('\n');
    const a = at % lines.length;
    const b = len % lines.length;
    [lines[a], lines[b]] = [lines[b]!, lines[a]!];
    return lines.join('\n');
  });

describe('loadScenario on arbitrary input', () => {
  it('handles random text', () => {
    fc.assert(fc.property(fc.string({ maxLength: 200 }), (s) => check(s)), { numRuns: 300 });
  });

  it('handles random YAML documents', () => {
    fc.assert(fc.property(fc.jsonValue({ maxDepth: 4 }), (v) => check(stringify(v))), { numRuns: 300 });
  });

  it('handles mutations of a valid scenario', () => {
    fc.assert(fc.property(mutated, (s) => check(s)), { numRuns: 250 });
  });

  it('handles random scenario-shaped documents and --set arguments', () => {
    const key = fc.constantFrom('target', 'steps', 'load', 'connect', 'thresholds', 'data', 'name', 'transport', 'autoReply', 'setup', 'socketio', 'longPoll');
    const leaf = fc.oneof(fc.constantFrom('ws://127.0.0.1:1', '1s', '${sid}', '$.a', 'p(99) < 1ms', 'builtin:echo', '${data.x}', 'x..y'), fc.integer(), fc.boolean());
    const doc = fc.dictionary(key, fc.oneof(leaf, fc.array(fc.dictionary(fc.constantFrom('send', 'expect', 'think', 'loop', 'name', 'ping', 'close', 'set', 'emit'), leaf), { maxLength: 3 })));
    const setArg = fc.tuple(fc.constantFrom('load.connections', 'steps.0.send', 'target', 'x.y.z', 'steps.9', ''), fc.string({ maxLength: 10 })).map(([k, v]) => `${k}=${v}`);
    fc.assert(fc.property(doc, fc.array(setArg, { maxLength: 3 }), (d, sets) => check(stringify(d), sets)), { numRuns: 300 });
  });
});
