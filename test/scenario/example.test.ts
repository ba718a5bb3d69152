// The DESIGN.md example scenario loads into the typed Scenario the engine runs.
import { describe, expect, it } from 'vitest';
import { loadScenario } from '../../src/scenario/load.js';
import type { LoopStep, SendStep } from '../../src/scenario/types.js';

const FILE = 'test/scenario/fixtures/chat.yaml';

describe('the DESIGN.md example', () => {
  it('loads with every default and position filled in', () => {
    const r = loadScenario({ file: FILE, env: { TOKEN: 'secret' } });
    if (!r.ok) throw new Error(r.problems.map((p) => p.message).join('\n'));
    const s = r.scenario;
    expect(s.name).toBe('chat-room');
    expect(s.target).toBe('ws://127.0.0.1:9001/chat');
    expect(s.transport).toBe('ws');
    expect(s.load).toEqual({ model: 'connections', connections: 1000, durationMs: 40_000, gracefulStopMs: 5000 });
    expect(s.connect.subprotocols.map((t) => t.source)).toEqual(['chat.v1']);
    expect(s.connect.timeoutMs).toBe(5000);
    expect(s.data?.columns).toEqual(['name', 'password']);
    expect(s.data?.rows).toEqual([
      ['alice', 'p,1'],
      ['bob', 'p2'],
    ]);
    expect(s.steps.map((st) => st.kind)).toEqual(['send', 'loop', 'expect', 'ping', 'close']);
    const join = s.steps[0] as SendStep;
    expect(join.name).toBe('join');
    expect(join.pos).toEqual({ line: 10, col: 5 });
    expect(join.expect?.timeoutMs).toBe(2000);
    expect(join.expect?.capture.sid).toEqual({ kind: 'jsonPath', path: ['sessionId'], source: '$.sessionId' });
    const loop = s.steps[1] as LoopStep;
    expect(loop.count).toBe(50);
    expect(loop.everyMs).toBe(100);
    expect(loop.steps[1]).toMatchObject({ kind: 'think', minMs: 50, maxMs: 150 });
    expect(s.thresholds.map((t) => [t.metric, t.expression, t.parsed])).toEqual([
      ['latency{name:say}', 'p(99) < 50ms', { method: 'p', percentile: 99, op: '<', value: 50 }],
      ['latency{name:say}', 'p(50) < 5ms', { method: 'p', percentile: 50, op: '<', value: 5 }],
      ['connect', 'p(95) < 200ms', { method: 'p', percentile: 95, op: '<', value: 200 }],
      ['errors', 'rate < 0.001', { method: 'rate', op: '<', value: 0.001 }],
    ]);
    expect(s.variables).toEqual(['sid']);
    expect(s.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(r.warnings).toEqual([]);
  });

  it('reports an unset env variable and a bad --set value with their positions', () => {
    const r = loadScenario({ file: FILE, env: {}, sets: ['load.connections=-5'] });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.problems.map((p) => `${p.file}:${p.pos?.line}:${p.pos?.col}: ${p.message}`)).toEqual([
      `${FILE}:3:45: connect.headers.Authorization: \${env.TOKEN}: environment variable TOKEN is not set`,
      '--set:1:1: load.connections: expected a positive integer, got -5',
    ]);
  });
});
