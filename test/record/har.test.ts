import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { VolleyError } from '../../src/errors.js';
import { parseHar } from '../../src/record/har.js';
import { importHar } from '../../src/record/import.js';

const fixture = (name: string): string => fileURLToPath(new URL(`../fixtures/har/${name}`, import.meta.url));
const read = (name: string): string => readFileSync(fixture(name), 'utf8');

function errorOf(fn: () => unknown): VolleyError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(VolleyError);
    return err as VolleyError;
  }
  throw new Error('expected a VolleyError');
}

describe('parseHar', () => {
  it('reads a Chrome export: only websocket entries, frames in order with epoch-ms times', () => {
    const flows = parseHar(read('chrome-chat.har'), 'chrome-chat.har', {});
    expect(flows.map((f) => f.url)).toEqual([
      'ws://127.0.0.1:9001/chat?room=lobby&access_token=query-secret-value-789',
      'ws://127.0.0.1:5173/?token=hmr-secret-token-value',
    ]);
    const chat = flows[0]!;
    expect(chat.source).toBe('log.entries[1] in chrome-chat.har');
    expect(chat.subprotocols).toEqual(['chat.v1', 'chat.v2']);
    expect(chat.frames).toHaveLength(9);
    expect(chat.frames.map((f) => f.direction).join(',')).toBe('receive,send,receive,send,receive,send,receive,receive,send');
    expect(chat.frames[0]!.timeMs).toBeCloseTo(1764050000010, 0);
    expect(chat.frames[3]).toMatchObject({ opcode: 1, data: 'hello everyone', index: 3 });
    expect(chat.startedAtMs).toBe(Date.parse('2025-11-25T05:53:20.000Z'));
  });

  it('reads a Firefox export: no _resourceType, https upgrade URL becomes wss, ping frames skipped with a note', () => {
    const flows = parseHar(read('firefox-prices.har'), 'firefox-prices.har', {});
    expect(flows).toHaveLength(1);
    expect(flows[0]!.url).toBe('wss://chat.example.test/socket');
    expect(flows[0]!.subprotocols).toEqual(['json']);
    expect(flows[0]!.frames.map((f) => f.index)).toEqual([0, 1, 2, 4]);
    expect(flows[0]!.notes?.join()).toMatch(/skipped 1 control frame/);
  });

  it('keeps binary frames as base64 with opcode 2', () => {
    const [flow] = parseHar(read('binary.har'), 'binary.har', {});
    expect(flow!.frames[0]).toMatchObject({ direction: 'send', opcode: 2, data: 'AQID+g==' });
  });

  it('applies the URL filter, and says which URLs it found when nothing matches', () => {
    const flows = parseHar(read('chrome-chat.har'), 'chrome-chat.har', { urlFilter: /5173/ });
    expect(flows.map((f) => f.source)).toEqual(['log.entries[2] in chrome-chat.har']);
    const err = errorOf(() => parseHar(read('chrome-chat.har'), 'chrome-chat.har', { urlFilter: /nomatch/ }));
    expect(err.message).toMatch(/^chrome-chat\.har: no WebSocket entries match --url-filter \/nomatch\/ \(found ws:\/\/127\.0\.0\.1:9001\/chat/);
  });

  it('accepts times in epoch milliseconds and the opCode spelling', () => {
    const har = { log: { entries: [{ _resourceType: 'websocket', request: { url: 'ws://h/x', headers: [] }, _webSocketMessages: [{ type: 'send', time: 1764050000123.5, opCode: 1, data: 'a' }] }] } };
    const [flow] = parseHar(JSON.stringify(har), 'ms.har', {});
    expect(flow!.frames[0]!.timeMs).toBe(1764050000123.5);
  });

  // Every error is one line, names the file, and says what is wrong.
  const failures: [string, string, RegExp][] = [
    ['a HAR without WebSocket entries', 'no-websocket.har', /^.*no-websocket\.har: no WebSocket entries in no-websocket\.har$/],
    ['an HTML page saved as .har', 'not-json.har', /^.*not-json\.har: not JSON, so not a HAR file \(Unexpected token '<'/],
    ['JSON that is not a HAR', 'not-a-har.har', /^.*not-a-har\.har: not a HAR file \(expected \{"log": \{"entries"/],
    ['a truncated export', 'truncated.har', /^.*truncated\.har:\d+:\d+: truncated HAR: the JSON ends before it is complete/],
    ['a frame with an unknown opcode', 'unknown-opcode.har', /^.*unknown-opcode\.har: log\.entries\[1\]\._webSocketMessages\[1\]: unknown opcode 5 \(expected 1 text or 2 binary\)$/],
  ];
  it.each(failures)('rejects %s with a one-line INVALID_INPUT', (_what, file, message) => {
    const err = errorOf(() => importHar(fixture(file), { timing: 'keep' }));
    expect(err.code).toBe('INVALID_INPUT');
    expect(err.message).toMatch(message);
    expect(err.message).not.toContain('\n');
  });

  it('reports where a truncated file ends (its last line)', () => {
    const text = read('truncated.har');
    const err = errorOf(() => parseHar(text, 't.har', {}));
    const lines = text.trimEnd().split('\n');
    expect(err.message.startsWith(`t.har:${lines.length}:${lines[lines.length - 1]!.length + 1}:`)).toBe(true);
  });

  it('reports the line and column of a syntax error when JSON.parse gives a position', () => {
    const err = errorOf(() => parseHar('{"log":\n  {"entries": [1 2]}}', 'bad.har', {}));
    expect(err.message).toMatch(/^bad\.har:2:18: not JSON/);
  });

  it('rejects a missing file and a bad --url-filter without a stack', () => {
    expect(errorOf(() => importHar('/nonexistent/x.har', { timing: 'keep' })).message).toBe('/nonexistent/x.har: cannot read the HAR file (no such file)');
    expect(errorOf(() => importHar(fixture('binary.har'), { timing: 'keep', urlFilter: '(' })).message).toMatch(/^--url-filter: not a valid regular expression/);
  });
});
