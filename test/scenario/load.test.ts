// Valid scenarios become the typed Scenario with DESIGN.md's defaults filled in.
import { describe, expect, it } from 'vitest';
import { formatProblem } from '../../src/errors.js';
import { describeScenario } from '../../src/scenario/describe.js';
import { loadScenario, type LoadScenarioOptions } from '../../src/scenario/load.js';
import type { EmitStep, Scenario, SendStep } from '../../src/scenario/types.js';

function ok(source: string, opts: Partial<LoadScenarioOptions> = {}): { scenario: Scenario; warnings: string[] } {
  const r = loadScenario({ file: 's.yaml', source, env: {}, ...opts });
  if (!r.ok) throw new Error(r.problems.map(formatProblem).join('\n'));
  return { scenario: r.scenario, warnings: r.warnings.map(formatProblem) };
}

const T = 'target: ws://127.0.0.1:9\n';

describe('defaults', () => {
  it('fills in transport, connect, load, timeouts and the name from the file', () => {
    const { scenario: s } = ok(`${T}steps:\n  - send: hi\n    expect: {text: hi}\n  - ping:\n  - close:\n`, { file: 'dir/my-test.yaml' });
    expect(s.name).toBe('my-test');
    expect(s.transport).toBe('ws');
    expect(s.connect).toEqual({ headers: {}, subprotocols: [], timeoutMs: 5000, perMessageDeflate: false, localAddresses: [], query: {}, maxPayloadBytes: 100 * 1024 * 1024 });
    expect(s.load).toEqual({ model: 'connections', connections: 1, iterations: 1, gracefulStopMs: 5000 });
    expect(s.socketio).toEqual({ path: '/socket.io', namespace: '/', transports: ['websocket'], query: {} });
    expect((s.steps[0] as SendStep).expect?.timeoutMs).toBe(10_000);
    expect(s.steps[1]).toMatchObject({ kind: 'ping', timeoutMs: 10_000 });
    expect(s.steps[2]).toMatchObject({ kind: 'close', code: 1000, reason: '' });
    expect(s.file).toBe('dir/my-test.yaml');
    expect(s.source).toContain('send: hi');
  });

  it('runs one session per connection when there is no duration', () => {
    expect(ok(`${T}load: {connections: 5}\nsteps: [{send: x}]\n`).scenario.load).toEqual({ model: 'connections', connections: 5, iterations: 1, gracefulStopMs: 5000 });
    expect(ok(`${T}load: {connections: 5, duration: 1m, iterations: 3}\nsteps: [{send: x}]\n`).scenario.load).toEqual({
      model: 'connections', connections: 5, durationMs: 60_000, iterations: 3, gracefulStopMs: 5000,
    });
  });
});

describe('describeScenario', () => {
  it.each([
    ['load: {connections: 50, duration: 15s}', 'd: ws://127.0.0.1:9, 2 steps, 50 connections for 15s, 1 threshold'],
    ['load: {connections: 3, iterations: 2}', 'd: ws://127.0.0.1:9, 2 steps, 3 connections, 2 sessions each, 1 threshold'],
    ['load: {rate: 20, duration: 1m, maxConnections: 9}', 'd: ws://127.0.0.1:9, 2 steps, 20 sessions/s for 1m, max 9 connections, 1 threshold'],
  ])('summarises %s in one line', (load, line) => {
    const { scenario } = ok(`name: d\n${T}${load}\nsteps:\n  - loop: {count: 2, steps: [{send: x}]}\nthresholds: {errors: [count < 1]}\n`);
    expect(describeScenario(scenario)).toBe(line);
  });
});

describe('load models', () => {
  it('ramps connections through stages (the pool is the largest target)', () => {
    const { scenario } = ok(`${T}load:\n  stages: [{duration: 10s, target: 100}, {duration: 30s, target: 40}]\n  gracefulStop: 0\nsteps: [{send: x}]\n`);
    expect(scenario.load).toEqual({
      model: 'connections', connections: 100, durationMs: 40_000, gracefulStopMs: 0,
      stages: [{ durationMs: 10_000, target: 100 }, { durationMs: 30_000, target: 40 }],
    });
    expect(describeScenario(scenario)).toBe('s: ws://127.0.0.1:9, 1 step, 2 stages up to 100 connections over 40s, gracefulStop 0ms, 0 thresholds');
  });

  it('reads the open model with a constant rate or stages of rates (inferred from rate)', () => {
    expect(ok(`${T}load: {rate: 200, duration: 30s, maxConnections: 5000}\nsteps: [{send: x}]\n`).scenario.load).toEqual({
      model: 'arrival-rate', rate: 200, durationMs: 30_000, maxConnections: 5000, gracefulStopMs: 5000,
    });
    const staged = ok(`${T}load: {model: arrival-rate, stages: [{duration: 5s, target: 0.5}, {duration: 5s, target: 20}]}\nsteps: [{send: x}]\n`).scenario;
    expect(staged.load).toEqual({
      model: 'arrival-rate', rate: 20, durationMs: 10_000, maxConnections: 10_000, gracefulStopMs: 5000,
      stages: [{ durationMs: 5000, target: 0.5 }, { durationMs: 5000, target: 20 }],
    });
  });
});

describe('the whole format', () => {
  it('reads Socket.IO, setup, connect, autoReply, emit, set and object thresholds', () => {
    const { scenario: s, warnings } = ok(
      `name: sio
target: http://127.0.0.1:3000
transport: socket.io
socketio: {path: /sio, namespace: /chat, transports: [polling, websocket], auth: {token: "\${tok}"}, query: {room: "r\${vu}"}}
setup:
  - request: {method: post, url: "http://127.0.0.1:3000/login", headers: {X-Key: k}, body: {user: "\${env.USER_X}"}, timeout: 2s}
    capture: {tok: $.token}
connect:
  headers: {Authorization: "Bearer \${tok}"}
  subprotocols: chat.v1
  perMessageDeflate: true
  tls: {insecure: true, servername: example.test}
  localAddresses: [127.0.0.2, 127.0.0.3]
  query: {v: 2}
  maxPayload: 64KiB
longPoll: {url: "http://127.0.0.1:3000/lp"}
autoReply:
  - json: {type: ping}
    send: {json: {type: pong, sid: "\${sid}"}}
load: {model: arrival-rate, rate: 20, duration: 10s, maxConnections: 50}
steps:
  - emit: {event: chat, data: {text: "hi \${iter}"}, ack: true, timeout: 3s}
    expect: {event: chat, json: {text: "hi \${iter}"}, timeout: 2s, strict: true, capture: {sid: $.id}}
    name: chat
  - emit: {event: bin, binary: AAEC}
  - set: {a: "\${sid}-x", b: 1}
  - send: {text: "\${a}\${b}"}
thresholds:
  latency{name:chat}: ["p(99) < 50ms", {threshold: "p(50) < 5ms", abortOnFail: true, delayAbortEval: 10s}]
  service_time: "avg < 0.1s"
  active_connections: ["max <= 50"]
  errors{kind:ack_timeout}: ["count == 0"]
`,
      { env: { USER_X: 'u' } },
    );
    expect(warnings).toEqual([]);
    expect(s.transport).toBe('socket.io');
    expect(s.socketio.path).toBe('/sio');
    expect(s.socketio.transports).toEqual(['polling', 'websocket']);
    expect(s.setup).toHaveLength(1);
    expect(s.setup[0]!.method).toBe('POST');
    expect(s.setup[0]!.timeoutMs).toBe(2000);
    expect(s.setup[0]!.body?.source).toBe('{"user":"${env.USER_X}"}');
    expect(s.connect.subprotocols.map((t) => t.source)).toEqual(['chat.v1']);
    expect(s.connect.maxPayloadBytes).toBe(65_536);
    expect(s.connect.tls).toEqual({ insecure: true, servername: 'example.test' });
    expect(s.connect.query.v!.staticValue).toBe('2');
    expect(s.longPoll).toEqual({ url: 'http://127.0.0.1:3000/lp' });
    expect(s.autoReply[0]!.payload.kind).toBe('json');
    const emit = s.steps[0] as EmitStep;
    expect(emit).toMatchObject({ kind: 'emit', event: 'chat', ack: true, ackTimeoutMs: 3000, name: 'chat' });
    expect(emit.expect).toMatchObject({ event: 'chat', timeoutMs: 2000, strict: true });
    expect((s.steps[1] as EmitStep).binary).toEqual(new Uint8Array([0, 1, 2]));
    expect(s.variables.sort()).toEqual(['a', 'b', 'sid', 'tok']);
    expect(s.thresholds.map((t) => [t.metric, t.parsed.value, t.abortOnFail, t.delayAbortEvalMs])).toEqual([
      ['latency{name:chat}', 50, false, 0],
      ['latency{name:chat}', 5, true, 10_000],
      ['service_time', 100, false, 0],
      ['active_connections', 50, false, 0],
      ['errors{kind:ack_timeout}', 0, false, 0],
    ]);
    expect(s.thresholds[0]!.tags).toEqual({ name: 'chat' });
  });

  it('renders JSON payloads with values escaped inside JSON strings', () => {
    const { scenario } = ok(`${T}steps:\n  - set: {q: 'a"b'}\n  - send: {json: {msg: "say \${q}", n: 1, list: [true, null]}}\n`);
    const send = scenario.steps[1] as SendStep;
    if (send.payload.kind !== 'json') throw new Error('expected json');
    const text = send.payload.template.render({ vars: new Map([['q', 'a"b']]), vu: 1, iter: 0, nextSeq: () => 1, data: undefined, env: {} });
    expect(JSON.parse(text)).toEqual({ msg: 'say a"b', n: 1, list: [true, null] });
  });

  it('resolves ${env.X} in target once, at load', () => {
    expect(ok('target: "ws://${env.HOST_X}:9/x"\nsteps: [{send: x}]\n', { env: { HOST_X: '127.0.0.1' } }).scenario.target).toBe('ws://127.0.0.1:9/x');
  });

  it('warns (without failing) about things that only matter for another transport', () => {
    const { warnings } = ok(`${T}steps:\n  - emit: {event: x}\n  - close:\n  - send: late\n`);
    expect(warnings).toEqual([
      's.yaml:3:5: steps.0.emit: emit needs transport socket.io (or --transport socket.io)',
      's.yaml:5:5: steps.2: steps after a close step never run',
    ]);
  });

  it('for a run (transport decided), a step that needs Socket.IO on another transport is a problem, not a warning', () => {
    const source = `target: builtin:socketio-chat\nsteps:\n  - emit: {event: x}\n  - expect: {event: y}\n`;
    const asValidated = loadScenario({ file: 's.yaml', source, env: {} });
    expect(asValidated.ok).toBe(true);
    const asRun = loadScenario({ file: 's.yaml', source, env: {}, transportDecided: true });
    expect(asRun.ok).toBe(false);
    if (asRun.ok) return;
    expect(asRun.problems.map(formatProblem)).toEqual([
      's.yaml:1:9: target: builtin:socketio-chat speaks Socket.IO; set transport: socket.io',
      's.yaml:3:5: steps.0.emit: emit needs transport socket.io (or --transport socket.io)',
      's.yaml:4:13: steps.1.expect.event: event only applies with transport socket.io (or --transport socket.io)',
    ]);
    // With the transport that suits the steps, the run's load is clean.
    expect(loadScenario({ file: 's.yaml', source: `transport: socket.io\n${source}`, env: {}, transportDecided: true }).ok).toBe(true);
  });

  it('accepts anchors and aliases', () => {
    const { scenario } = ok(`${T}steps:\n  - &hello {send: hi, expect: {text: hi}}\n  - *hello\n`);
    expect(scenario.steps.map((s) => s.kind)).toEqual(['send', 'send']);
  });
});

describe('--set', () => {
  it('overrides and adds values before validation, values parsed as YAML', () => {
    const { scenario } = ok(`${T}load: {connections: 1}\nsteps:\n  - send: x\n`, {
      sets: ['load.connections=50', 'load.duration=10s', 'steps.0.name=first', 'steps.1={send: y}', 'target=builtin:echo', 'connect.headers.X=1', 'thresholds.latency{name:first}=[p(99) < 1ms]', 'steps.0.expect.text=x'],
    });
    expect(scenario.load).toMatchObject({ connections: 50, durationMs: 10_000 });
    expect(scenario.steps).toHaveLength(2);
    expect(scenario.steps[0]).toMatchObject({ name: 'first', kind: 'send' });
    expect(scenario.target).toBe('builtin:echo');
    expect(scenario.connect.headers.X!.staticValue).toBe('1');
    expect(scenario.thresholds[0]!.metric).toBe('latency{name:first}');
  });
});
