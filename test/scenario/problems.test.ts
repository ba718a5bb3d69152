// Every mistake is reported like a compiler would: file:line:col and a message that says what
// is wrong and what was expected. Each case lists ALL the problems the loader must report.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { formatProblem } from '../../src/errors.js';
import { formatProblems } from '../../src/scenario/describe.js';
import { loadScenario } from '../../src/scenario/load.js';

function problems(source: string, opts: { sets?: string[]; env?: NodeJS.ProcessEnv; file?: string } = {}): string[] {
  const r = loadScenario({ file: opts.file ?? 's.yaml', source, env: opts.env ?? {}, sets: opts.sets });
  if (r.ok) return [];
  return r.problems.map(formatProblem);
}

const T = 'target: ws://127.0.0.1:9\n';

describe('YAML syntax and file problems', () => {
  it.each([
    ['a duplicate key', `${T}steps:\n  - send: a\ntarget: ws://x\n`, ['s.yaml:4:1: duplicate key "target": each key may appear once in a map']],
    ['a tab used for indentation', `${T}steps:\n  - send: hi\n\t  expect: x\n`, ['s.yaml:4:1: tab used for indentation; YAML indents with spaces']],
    // The tab puts `name` at the top level, beside the scenario's own name: only the tab is said.
    ['a tab that makes a key look duplicated', `name: n\n${T}steps:\n  - send: a\n\tname: x\n`, ['s.yaml:5:1: tab used for indentation; YAML indents with spaces']],
    ['an unterminated string, at its opening quote', `${T}steps:\n  - send: "hi\n  - think: 1s\n`, ['s.yaml:3:11: unterminated string: missing closing quote']],
    ['two YAML documents', `${T}steps:\n  - send: a\n---\n${T}`, ['s.yaml:4:1: a second YAML document starts here ("---"): a scenario file holds one scenario']],
    ['an empty file', '', ['s.yaml:1:1: scenario is empty: it needs at least target and steps']],
    ['a list instead of a map', '- send: x\n', ['s.yaml:1:1: a scenario is a map (target:, steps:, …), got a list']],
  ])('%s', (_name, source, expected) => {
    expect(problems(source)).toEqual(expected);
  });

  const dir = mkdtempSync(join(tmpdir(), 'volley-scenario-'));
  it.each([
    ['binary (NUL byte)', Buffer.from('target: ws://x\n\0\0'), 'file looks binary (it contains a NUL byte); a scenario is a YAML text file', '2:1'],
    ['not UTF-8', Buffer.concat([Buffer.from('target: ws://x\nname: caf'), Buffer.from([0xe9, 0x0a])]), 'file is not valid UTF-8 (byte 0xe9); save it as UTF-8', '2:10'],
    ['UTF-16', Buffer.from('\ufefftarget: x', 'utf16le'), 'file is UTF-16; save it as UTF-8', '1:1'],
  ])('refuses a file that is %s, with the position', (_name, bytes, message, pos) => {
    const file = join(dir, 'bad.yaml');
    writeFileSync(file, bytes);
    const r = loadScenario({ file });
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.problems.map(formatProblem)).toEqual([`${file}:${pos}: ${message}`]);
  });

  it('reports a missing file without a position', () => {
    const r = loadScenario({ file: join(dir, 'nope.yaml') });
    expect(!r.ok && r.problems.map(formatProblem)).toEqual([`${join(dir, 'nope.yaml')}: cannot read scenario: file not found`]);
  });
});

describe('unknown keys, wrong types and values', () => {
  it.each([
    ['a misspelled expect, from the alias table', `${T}steps:\n  - send: hi\n    recieve: {text: hi}\n`, ['s.yaml:4:5: unknown key "recieve" in steps.0; did you mean "expect"?']],
    ['sleep instead of think (and no second complaint)', `${T}steps:\n  - sleep: 1s\n`, ['s.yaml:3:5: unknown key "sleep" in steps.0; did you mean "think"?']],
    ['a k6 habit at the top level', `${T}vus: 10\nsteps: [{send: x}]\n`, ['s.yaml:2:1: unknown key "vus" at the top level; did you mean "load.connections"?']],
    ['a typo by edit distance', `${T}steps:\n  - send: x\n    expect: {timout: 1s}\n`, ['s.yaml:4:14: unknown key "timout" in steps.0.expect; did you mean "timeout"?']],
    ['a key with no close match', `${T}steps:\n  - ping: {zzz: 1}\n`, ['s.yaml:3:12: unknown key "zzz" in steps.0.ping; expected one of: timeout']],
    [
      'bad load values',
      `${T}load: {connections: 0, duration: 3x}\nsteps: [{send: x}]\n`,
      ['s.yaml:2:21: load.connections: expected a positive integer, got 0', 's.yaml:2:34: load.duration: expected a duration like 250ms, 2s or 1m, got "3x"'],
    ],
    ['arrival-rate without rate', `${T}load: {model: arrival-rate, connections: 5}\nsteps: [{send: x}]\n`, [
      's.yaml:2:7: load: model arrival-rate needs rate (sessions/s) and duration, or stages',
      's.yaml:2:29: load.connections: does not apply to model arrival-rate; use maxConnections to cap concurrent sessions',
    ]],
    ['duration and stages together', `${T}load: {duration: 5s, stages: [{duration: 1s, target: 2}]}\nsteps: [{send: x}]\n`, [
      's.yaml:2:8: load.duration: use either duration or stages (the stages set the run length)',
    ]],
    ['an unsupported target scheme', 'target: ftp://x\nsteps: [{send: x}]\n', ['s.yaml:1:9: target: unsupported scheme "ftp:" in "ftp://x"; expected ws, wss, http or https']],
    ['an unknown builtin', 'target: builtin:echoo\nsteps: [{send: x}]\n', ['s.yaml:1:9: target: unknown builtin "echoo"; expected builtin:echo|chat|feed|socketio-chat']],
    ['a missing target and steps', 'name: x\n', ['s.yaml:1:1: target: required: a ws://, wss://, http:// or https:// URL, or builtin:echo|chat|feed|socketio-chat', 's.yaml:1:1: steps: a scenario needs steps (send, expect, think, loop, …)']],
    ['an unknown transport', `${T}transport: grpc\nsteps: [{send: x}]\n`, ['s.yaml:2:12: transport: expected one of ws, long-poll, socket.io, socket.io/polling, got "grpc"']],
    ['empty steps and an empty loop', `${T}steps:\n  - loop: {steps: []}\n`, [
      's.yaml:3:11: steps.0.loop: a loop needs count or duration (or both: it stops at whichever comes first)',
      's.yaml:3:19: steps.0.loop.steps: needs at least one step',
    ]],
    ['a loop without steps and a negative count', `${T}steps:\n  - loop: {count: -1}\n`, [
      's.yaml:3:11: steps.0.loop: a loop needs steps',
      's.yaml:3:19: steps.0.loop.count: expected a positive integer, got -1',
    ]],
    ['an inverted think range', `${T}steps:\n  - think: 5ms..1ms\n`, ['s.yaml:3:12: steps.0.think: range 5ms..1ms starts after it ends']],
    ['two actions in one step', `${T}steps:\n  - think: 1s\n    ping: {}\n`, ['s.yaml:4:5: steps.0: a step does one thing, got think and ping (only send or emit may add an expect): split it into separate steps']],
    ['a step that does nothing', `${T}steps:\n  - name: x\n`, ['s.yaml:3:5: steps.0: step does nothing: add one of send, expect, emit, think, loop, ping, close, set']],
    ['two payload kinds', `${T}steps:\n  - send: {json: {a: 1}, text: x}\n`, ['s.yaml:3:11: steps.0.send: expected exactly one of text, json or binary, got json and text']],
    ['two matchers', `${T}steps:\n  - expect: {text: a, json: {}}\n`, ['s.yaml:3:23: steps.0.expect: use one matcher, got text and json']],
    ['an invalid regex', `${T}steps:\n  - expect: {match: "a(b"}\n`, ['s.yaml:3:21: steps.0.expect.match: invalid regex: Invalid regular expression: /a(b/: Unterminated group']],
    ['bad base64', `${T}steps:\n  - send: {binary: "not base64!"}\n`, ['s.yaml:3:20: steps.0.send.binary: expected base64 bytes, got "not base64!"']],
    ['a close code a client may not send', `${T}steps:\n  - close: {code: 1005}\n`, ['s.yaml:3:19: steps.0.close.code: 1005 is not a close code a client may send (use 1000, 1001-1003, 1007-1014 or 3000-4999)']],
    ['a latencyFrom that is not a path', `${T}steps:\n  - expect: {latencyFrom: sentAt}\n`, ['s.yaml:3:27: steps.0.expect.latencyFrom: expected a JSON path like $.sentAt, got "sentAt"']],
    ['a regex capture group that does not exist', `${T}steps:\n  - expect: {capture: {x: {regex: "a(b)", group: 2}}}\n`, ['s.yaml:3:50: steps.0.expect.capture.x.group: /a(b)/ has 1 capture group, cannot take group 2']],
    ['a reserved variable name', `${T}steps:\n  - set: {vu: "1"}\n`, ['s.yaml:3:11: steps.0.set: "vu" is a built-in reference and cannot be captured or set']],
    ['a missing TLS file and a bad address', `${T}connect: {tls: {ca: nope.pem}, localAddresses: [nope]}\nsteps: [{send: x}]\n`, [
      expect.stringMatching(/^s\.yaml:2:21: connect\.tls\.ca: file not found: nope\.pem \(resolved to .*nope\.pem\)$/),
      's.yaml:2:48: connect.localAddresses: "nope" is not an IP address',
    ]],
    ['a bad maxPayload', `${T}connect: {maxPayload: 1TB}\nsteps: [{send: x}]\n`, ['s.yaml:2:23: connect.maxPayload: expected a size in bytes or like 64KiB or 1MiB, got "1TB"']],
  ])('%s', (_name, source, expected) => {
    expect(problems(source)).toEqual(expected);
  });
});

describe('variables', () => {
  it('reports a capture used before it is captured, unknown names with a suggestion, env and data', () => {
    const source = `${T}steps:
  - send: "hi \${sid}"
  - expect: {json: {a: 1}, capture: {sid: $.id}}
  - send: "\${nope} \${data.x} \${sdi} \${env.HOME_X}"
`;
    expect(problems(source)).toEqual([
      's.yaml:3:15: steps.0.send: ${sid} is used before any step captures or sets it (it is defined at line 4)',
      's.yaml:5:12: steps.2.send: unknown variable ${nope}: no step captures or sets it',
      's.yaml:5:20: steps.2.send: ${data.x}: no data file is configured (add data: {file: rows.csv})',
      's.yaml:5:30: steps.2.send: unknown variable ${sdi}: no step captures or sets it; did you mean "sid"?',
      's.yaml:5:37: steps.2.send: ${env.HOME_X}: environment variable HOME_X is not set',
    ]);
  });

  it('lets connect use setup captures only, and autoReply any variable', () => {
    const source = `${T}setup:
  - request: {url: "http://127.0.0.1:9/login"}
    capture: {tok: $.token}
connect: {headers: {A: "\${tok}", B: "\${sid}"}}
autoReply:
  - text: ping
    send: "pong \${sid}"
steps:
  - expect: {capture: {sid: $.id}}
`;
    expect(problems(source)).toEqual([
      's.yaml:5:38: connect.headers.B: ${sid} is not available when connecting: only setup captures are (it is defined at line 10)',
    ]);
  });

  it('checks data columns against the CSV and reports ragged rows at the CSV line', () => {
    const dir = mkdtempSync(join(tmpdir(), 'volley-data-'));
    writeFileSync(join(dir, 'users.csv'), 'name,pass\nalice,1\nbob\n"carol",2,3\n');
    const file = join(dir, 's.yaml');
    writeFileSync(file, `${T}data: {file: users.csv}\nsteps:\n  - send: "\${data.nmae}"\n`);
    const r = loadScenario({ file, env: {} });
    const csv = join(dir, 'users.csv'); // outside the working directory: shown absolute
    expect(!r.ok && r.problems.map(formatProblem)).toEqual([
      `${file}:4:12: steps.0.send: \${data.nmae}: users.csv has no column "nmae" (columns: name, pass); did you mean "name"?`,
      `${csv}:3:1: row has 1 field, the header has 2`,
      `${csv}:4:1: row has 3 fields, the header has 2`,
    ]);
  });
});

describe('thresholds', () => {
  it('rejects unparsable expressions, wrong methods and metrics no step can produce', () => {
    const source = `${T}steps:
  - send: x
    expect: {text: x}
    name: say
thresholds:
  latency{name:x}: ["p(99) < 5ms"]
  ping: ["p(99) < 5ms"]
  errors{kind:oops}: ["rate < 1"]
  latency: ["p(99) << 5ms", "rate < 1"]
  latnecy: ["avg < 1"]
  wait: ["avg < 1"]
  frames_sent: ["count < 10ms"]
`;
    expect(problems(source)).toEqual([
      's.yaml:7:3: thresholds: no step named "x" records latency (that needs a send+expect, an emit with ack or expect, or an expect with latencyFrom with name: x)',
      's.yaml:8:3: thresholds: no step records ping (that needs a ping step)',
      expect.stringMatching(/^s\.yaml:9:3: thresholds: unknown error kind "oops"; kinds are connect_refused, /),
      's.yaml:10:21: thresholds.latency.0: expected a number after "<" in "p(99) << 5ms"',
      's.yaml:10:29: thresholds.latency.1: "rate < 1": rate does not apply to a trend metric; use one of: p(N), avg, min, max, med, count',
      's.yaml:11:3: thresholds: unknown metric "latnecy"; did you mean "latency"?',
      's.yaml:12:3: thresholds: no step records wait (that needs a lone expect)',
      's.yaml:13:17: thresholds.frames_sent.0: "count < 10ms": frames_sent count is a plain number; drop the unit "ms"',
    ]);
  });
});

describe('a step with a problem still counts for the metrics it records', () => {
  it('a bad regex in a send+expect: the regex is reported, the threshold\'s own syntax error too, and no false "no step records"', () => {
    const source = `${T}steps:
  - send: hi
    expect: {match: "a(b"}
    name: say
thresholds:
  latency{name:say}: ["p(99) <<< 5"]
  service_time{name:say}: ["p(99) < 5ms"]
`;
    expect(problems(source)).toEqual([
      's.yaml:4:21: steps.0.expect.match: invalid regex: Invalid regular expression: /a(b/: Unterminated group',
      's.yaml:7:31: thresholds.latency{name:say}.0: expected a number after "<" in "p(99) <<< 5"',
    ]);
  });

  it('lone expects, pings and emits with errors still record wait, latency, ping', () => {
    const source = `${T}steps:
  - expect: {text: x, capture: {"bad name": $.x}}
    name: w
  - expect: {json: {type: tick}, latencyFrom: $.sentAt, timeout: 0}
    name: lf
  - ping: {timeout: abc}
    name: p
thresholds:
  wait{name:w}: ["p(99) < 5ms"]
  wait{name:lf}: ["p(99) < 5ms"]
  latency{name:lf}: ["p(99) < 5ms"]
  ping{name:p}: ["p(99) < 5ms"]
  latency{name:w}: ["p(99) < 5ms"]
`;
    expect(problems(source)).toEqual([
      's.yaml:3:33: steps.0.expect.capture: "bad name" is not a valid variable name (letters, digits, _ and -; not starting with a digit)',
      's.yaml:5:66: steps.1.expect.timeout: duration must be greater than 0',
      's.yaml:7:21: steps.2.ping.timeout: expected a duration like 250ms, 2s or 1m, got "abc"',
      // The one real threshold problem: w is a lone expect without latencyFrom.
      expect.stringMatching(/^s\.yaml:14:3: thresholds: no step named "w" records latency /),
    ]);
  });

  it('expressions are checked under a key that is itself wrong, and an empty name tag is named as such', () => {
    const source = `${T}steps:
  - send: x
thresholds:
  "latency{name:}": ["p(99) <<< 1"]
  latnecy: ["avg <"]
`;
    expect(problems(source)).toEqual([
      's.yaml:5:3: thresholds: latency{name:} needs a step name after name: (like latency{name:say})',
      's.yaml:5:30: thresholds.latency{name:}.0: expected a number after "<" in "p(99) <<< 1"',
      's.yaml:6:3: thresholds: unknown metric "latnecy"; did you mean "latency"?',
      expect.stringMatching(/^s\.yaml:6:\d+: thresholds\.latnecy\.0: /),
    ]);
  });
});

describe('latencyFrom belongs to a lone expect', () => {
  it('on a send+expect it is a problem at the latencyFrom key, not silently ignored', () => {
    const source = `${T}steps:
  - send: {json: {t: "\${now}"}}
    expect: {json: {}, latencyFrom: $.t}
    name: c3
`;
    expect(problems(source)).toEqual([
      "s.yaml:4:24: steps.0.expect.latencyFrom: applies only to a lone expect (a pushed frame); a send's expect already records latency as the round trip from the send: remove latencyFrom, or move the expect to a step of its own",
    ]);
  });

  it('on a lone expect it is accepted', () => {
    expect(problems(`${T}steps:\n  - expect: {json: {type: tick}, latencyFrom: $.sentAt}\n`)).toEqual([]);
  });
});

describe('--set', () => {
  it('reports problems against --set:N:1 and the set key', () => {
    const source = `${T}steps:\n  - send: x\n`;
    expect(problems(source, { sets: ['load.connections=abc', 'bad', 'steps.5.x=1', 'name={a: 1}', 'steps.0.send.x=1'] })).toEqual([
      '--set:1:1: load.connections: expected a positive integer, got "abc"',
      '--set:2:1: expected key=value with a dotted key (load.connections=50, steps.0.name=x), got "bad"',
      '--set:3:1: steps.5.x: steps has 1 item(s); index 5 is past the end',
      '--set:4:1: name: expected a string, got a map',
      '--set:5:1: steps.0.send.x: steps.0.send is not a map or list',
    ]);
  });
});

describe('formatProblems', () => {
  it('prints one line per problem, and on a TTY the source line with a caret under the column', () => {
    const r = loadScenario({ file: 's.yaml', source: `${T}steps:\n  - send: x\n    recieve: y\n`, env: {} });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(formatProblems(r.problems, { tty: false })).toBe('s.yaml:4:5: unknown key "recieve" in steps.0; did you mean "expect"?');
    expect(formatProblems(r.problems, { tty: true })).toBe(
      's.yaml:4:5: unknown key "recieve" in steps.0; did you mean "expect"?\n      recieve: y\n      ^',
    );
  });
});
