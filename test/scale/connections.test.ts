// Connection capacity: source addresses spread over 127.0.0.0/8, and the open-file budget.
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocketServer } from 'ws';
import { checkConnectionBudget, readOpenFileLimit, RESERVED_FDS } from '../../src/cli/limits.js';
import { prepareScenario, runScenario } from '../../src/engine/coordinator.js';
import { AUTO_SPREAD_ABOVE, sourceAddresses } from '../../src/engine/transport-options.js';
import type { CounterJson } from '../../src/report/types.js';

let wss: WebSocketServer | undefined;
afterEach(async () => {
  if (wss) {
    for (const c of wss.clients) c.terminate();
    await new Promise<void>((r) => wss!.close(() => r()));
  }
  wss = undefined;
});

const scenarioFor = (target: string, load: string, connect = ''): string => `
name: spread
target: ${target}
${connect}
load: ${load}
steps:
  - think: 10ms
`;

describe('source addresses', () => {
  it('spread over 127.0.0.x automatically for a loopback target past the threshold, not below it', () => {
    const big = prepareScenario({ file: '<inline>', source: scenarioFor('ws://127.0.0.1:9/', `{connections: ${AUTO_SPREAD_ABOVE + 8000}, duration: 1s}`) });
    const addrs = sourceAddresses(big);
    expect(addrs.length).toBeGreaterThanOrEqual(3);
    expect(addrs[0]).toBe('127.0.0.1');
    expect(new Set(addrs).size).toBe(addrs.length);
    const small = prepareScenario({ file: '<inline>', source: scenarioFor('ws://127.0.0.1:9/', '{connections: 100, duration: 1s}') });
    expect(sourceAddresses(small)).toEqual([]);
    // Not loopback (or a name that may resolve to ::1): the system picks the source.
    const remote = prepareScenario({ file: '<inline>', source: scenarioFor('ws://localhost:9/', `{connections: ${AUTO_SPREAD_ABOVE + 1}, duration: 1s}`) });
    expect(sourceAddresses(remote)).toEqual([]);
    const open = prepareScenario({ file: '<inline>', source: scenarioFor('ws://127.0.0.1:9/', `{model: arrival-rate, rate: 10, duration: 1s, maxConnections: ${AUTO_SPREAD_ABOVE * 3}}`) });
    expect(sourceAddresses(open).length).toBeGreaterThanOrEqual(4);
  });

  it('connect.localAddresses are used round-robin: the server sees connections from each', async () => {
    wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    const from = new Map<string, number>();
    wss.on('connection', (_ws, req) => {
      const a = req.socket.remoteAddress ?? '?';
      from.set(a, (from.get(a) ?? 0) + 1);
    });
    await new Promise((r) => wss!.once('listening', r));
    const { port } = wss.address() as AddressInfo;
    const source = scenarioFor(
      `ws://127.0.0.1:${port}/`,
      '{model: connections, connections: 30, iterations: 1}',
      'connect: {localAddresses: [127.0.0.2, 127.0.0.3, 127.0.0.4]}',
    );
    const { report } = await runScenario({ file: '<inline>', source, workers: 1 });
    expect((report.metrics['sessions_completed'] as CounterJson).count).toBe(30);
    expect([...from.keys()].sort()).toEqual(['127.0.0.2', '127.0.0.3', '127.0.0.4']);
    for (const n of from.values()) expect(n).toBe(10);
  });
});

describe('open-file budget', () => {
  it('refuses more connections than the limit allows, naming ulimit and the possible count', () => {
    const limit = { soft: 20_000, hard: 20_000 };
    expect(checkConnectionBudget(18_000, 'ws', limit, false)).toBeUndefined();
    const msg = checkConnectionBudget(19_900, 'ws', limit, false);
    expect(msg).toMatch(/19900 connections need about 20100 open files/);
    expect(msg).toMatch(new RegExp(`enough for about ${20_000 - RESERVED_FDS}`));
    expect(msg).toMatch(/--processes N/);
    // Past the hard limit, `ulimit -n` alone cannot work: the message says what can.
    expect(msg).toMatch(/`ulimit -n 20100` \(above the hard limit of 20000: as root/);
    expect(checkConnectionBudget(19_900, 'ws', { soft: 4096, hard: 65_536 }, false)).toMatch(/`ulimit -n 20100`, or split/);
    // long-poll holds two sockets per session; an embedded target doubles that again.
    expect(checkConnectionBudget(9_000, 'long-poll', limit, false)).toBeUndefined();
    expect(checkConnectionBudget(9_000, 'long-poll', limit, true)).toMatch(/enough for about 4950/);
    expect(checkConnectionBudget(1e9, 'ws', { soft: Infinity, hard: Infinity }, false)).toBeUndefined();
  });

  it('reads this process limit from /proc', () => {
    const l = readOpenFileLimit();
    expect(l).toBeDefined();
    expect(l!.soft).toBeGreaterThan(0);
    expect(l!.hard).toBeGreaterThanOrEqual(l!.soft);
  });
});
