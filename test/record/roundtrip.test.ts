// What a recording sent must be what the replay sends, byte for byte, and the expect written for
// its echo must match the echo. Property-style over awkward strings (line breaks of every kind,
// YAML specials, `${`, quotes, unicode): generate a scenario, load it with the project's own
// loader, render each send and test each expect against the recorded echo. Then the same through
// the command line against a real echo server, which reports the bytes it received.

import { rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import type { ObservedFlow, ObservedFrame } from '../../src/record/flows.js';
import { generateScenario } from '../../src/record/generate.js';
import { loadScenario } from '../../src/scenario/load.js';
import { matchFrame, prepareMatcher } from '../../src/scenario/match.js';
import type { RenderContext } from '../../src/scenario/template.js';
import type { ExpectSpec, Payload, Scenario } from '../../src/scenario/types.js';
import { tempDir } from '../helpers/cli.js';
import { startEchoServer } from './servers.js';
import { expectClean, importWithCli, runWithCli } from './volley.js';

const T0 = 1_764_050_000_000;
const dir = tempDir('volley-record-roundtrip-');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Each text is sent, then echoed back unchanged, 100 ms apart. */
function echoFlow(texts: readonly string[]): ObservedFlow {
  const frames: ObservedFrame[] = [];
  texts.forEach((data, i) => {
    frames.push({ direction: 'send', timeMs: T0 + i * 100 + 10, opcode: 1, data, index: frames.length });
    frames.push({ direction: 'receive', timeMs: T0 + i * 100 + 12, opcode: 1, data, index: frames.length });
  });
  return { url: 'ws://127.0.0.1:9/echo', requestHeaders: {}, subprotocols: [], startedAtMs: T0, frames, source: 'test flow' };
}

const ctx: RenderContext = { vars: new Map(), vu: 1, iter: 0, nextSeq: () => 1, data: undefined, env: {} };

function render(p: Payload): string {
  if (p.kind === 'binary') throw new Error('unexpected binary payload');
  return p.template.render(ctx);
}

function matches(e: ExpectSpec | undefined, text: string): boolean {
  if (!e) return false;
  return matchFrame(prepareMatcher(e.matcher, ctx), { text, bytes: undefined, arrivedAtMs: 0 });
}

/** Generates, loads (the loader must accept it), and returns each send's text and expect. */
function replayOf(texts: readonly string[]): { sent: string[]; expects: (ExpectSpec | undefined)[]; yaml: string } {
  const g = generateScenario([echoFlow(texts)], { timing: 'none', origin: 'test' });
  const r = loadScenario({ file: 'roundtrip.yaml', source: g.yaml, env: {} });
  if (!r.ok) throw new Error(`${r.problems.map((p) => `${p.pos?.line}:${p.pos?.col}: ${p.message}`).join('\n')}\n${g.yaml}`);
  const sends = (r.scenario as Scenario).steps.filter((s) => s.kind === 'send');
  return { sent: sends.map((s) => render(s.payload)), expects: sends.map((s) => s.expect), yaml: g.yaml };
}

// Line breaks YAML folds or normalises, and the characters YAML or templates give meaning to.
const AWKWARD = ['\n', '\r\n', '\r', '\t', '\u0085', '\u2028', '\u2029', '\n\n', ' \n', '\n ', '${', '$${', '}', '"', "'", '\\', ': ', ' #', '#', '- ', '? ', '[', ']', '{', '}', ',', '&a', '*a', '!x', '|', '>', '%', '@', '`', '~', 'null', 'yes', '007', '0x1F', '1e3', ' ', '', 'é', '😀', '\u0000', '\u001b', '\ufeff'];
const awkwardString = fc
  .array(fc.oneof(fc.constantFrom(...AWKWARD), fc.string({ maxLength: 6 }), fc.string({ unit: 'grapheme', maxLength: 4 })), { maxLength: 8 })
  .map((parts) => parts.join(''));

// A credential-looking text (a JWT, `Bearer x…`) is replaced on purpose; those are tested apart.
const noCredential = (s: string): boolean => !/[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.|(?:bearer|basic)\s/i.test(s);

describe('generated YAML always loads and sends what was recorded', () => {
  it('text frames with line breaks (the case that wrote broken YAML) load and round-trip', () => {
    const texts = ['line1\nline2', 'x\ny', '\n', 'a\r\nb', 'trailing\n', 'SEND\ndestination:/queue/a\n\nhello\u0000'];
    const { sent, expects, yaml } = replayOf(texts);
    expect(sent).toEqual(texts);
    texts.forEach((t, i) => expect(matches(expects[i], t), yaml).toBe(true));
  });

  it('property: any text frame is sent byte for byte and its echo matches the expect', () => {
    fc.assert(
      fc.property(fc.array(awkwardString.filter(noCredential), { minLength: 1, maxLength: 4 }), (texts) => {
        const { sent, expects, yaml } = replayOf(texts);
        expect(sent, yaml).toEqual(texts);
        texts.forEach((t, i) => expect(matches(expects[i], t), yaml).toBe(true));
      }),
      { numRuns: 300 },
    );
  });

  it('property: strings (and keys) inside JSON frames round-trip, in canonical and in reformatted JSON', () => {
    const json = fc.dictionary(awkwardString.filter(noCredential), fc.oneof(awkwardString.filter(noCredential), fc.integer(), fc.array(fc.integer({ min: -9, max: 9 }), { maxLength: 3 })), {
      minKeys: 1,
      maxKeys: 3,
    });
    fc.assert(
      fc.property(json, fc.constantFrom(undefined, 1, '  '), (value, space) => {
        const text = JSON.stringify({ type: 'chat', ...value }, null, space);
        const { sent, expects, yaml } = replayOf([text]);
        expect(sent[0], yaml).toBe(text);
        expect(matches(expects[0], text), yaml).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it('JSON not in JSON.stringify form ([1, 2], Python spacing) is sent as recorded, and its echo expected as recorded', () => {
    const texts = ['[1, 2]', '{"type": "say", "text": "hi"}', '{ "a" : [ 1 ,2 ] }', '{"n":1.50}', '{"b":1,"2":3}', '{"__proto__":{"x":1}}', '-0', '[1e2]'];
    const { sent, expects, yaml } = replayOf(texts);
    expect(sent).toEqual(texts);
    texts.forEach((t, i) => expect(matches(expects[i], t), `${t}\n${yaml}`).toBe(true));
    // Canonical JSON stays readable as {json}.
    expect(replayOf(['{"type":"say","text":"hi"}']).yaml).toContain('send: { json: { type: say, text: hi } }');
  });
});

describe('through volley import and volley run against an echo server', () => {
  it('multi-line and reformatted JSON frames go out byte for byte and every echo matches', async () => {
    const texts = ['{"type":"chat","text":"hi\nthere"}', 'x\ny', 'CONNECT\naccept-version:1.2\n\n\u0000', '[1, 2]', '{"type": "say", "text": "py"}', 'tab\there\r\nend'];
    const t0 = 1_764_050_000;
    const messages = texts.flatMap((data, i) => [
      { type: 'send', time: t0 + i * 0.1 + 0.01, opcode: 1, data },
      { type: 'receive', time: t0 + i * 0.1 + 0.012, opcode: 1, data },
    ]);
    const har = path.join(dir, 'multiline.har');
    writeFileSync(har, JSON.stringify({ log: { entries: [{ _resourceType: 'websocket', startedDateTime: new Date(t0 * 1000).toISOString(), request: { url: 'ws://127.0.0.1:9/echo', headers: [] }, _webSocketMessages: messages }] } }));
    const server = await startEchoServer();
    try {
      const imported = await importWithCli(har, dir, ['--timing', 'none']);
      const run = await runWithCli(imported.file, `${server.url}/echo`, dir);
      expectClean(run);
      expect(server.received.map((f) => f.data.toString('utf8'))).toEqual(texts);
    } finally {
      await server.close();
    }
  }, 60_000);
});
