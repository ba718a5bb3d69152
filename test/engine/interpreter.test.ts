// The session step interpreter (src/engine/session.ts), checked from the outside: real scenarios
// run through runScenario against real ws servers on loopback, and every count volley reports is
// reconciled with what the server itself saw. The recording server below keeps, per connection,
// the exact sequence of frame texts it received, so the order of steps (loops, nesting, ${iter},
// captures, set) is checked frame by frame, not only in totals.

import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { WebSocketServer } from 'ws';
import type WebSocket from 'ws';
import { runScenario } from '../../src/engine/coordinator.js';
import type { RunResult } from '../../src/engine/coordinator.js';
import { counter, trendCount } from '../helpers/metrics.js';

// --- a ws server that records every frame per connection -------------------------------------

interface Conn {
  /** Order in which the connection was accepted (0-based). */
  index: number;
  ws: WebSocket;
  /** Every frame received on this connection, as text, in order. */
  frames: string[];
  /** Frames this server sent on this connection. */
  sent: number;
  closeCode?: number;
  closeReason?: string;
}

interface RecordingServer {
  url: string;
  conns: Conn[];
  framesReceived: number;
  framesSent: number;
  close(): Promise<void>;
}

type OnFrame = (conn: Conn, text: string, send: (text: string) => void) => void;

async function startRecordingServer(opts: { onFrame?: OnFrame; onConnection?: (conn: Conn, send: (text: string) => void) => void } = {}): Promise<RecordingServer> {
  const httpServer = http.createServer();
  const sockets = new Set<Socket>();
  httpServer.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  const wss = new WebSocketServer({ server: httpServer });
  await new Promise<void>((r) => httpServer.listen(0, '127.0.0.1', r));
  const port = (httpServer.address() as AddressInfo).port;
  const state: RecordingServer = {
    url: `ws://127.0.0.1:${port}/`,
    conns: [],
    framesReceived: 0,
    framesSent: 0,
    close: async () => {
      for (const c of wss.clients) c.terminate();
      await new Promise<void>((r) => wss.close(() => r()));
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => httpServer.close(() => r()));
    },
  };
  wss.on('connection', (ws) => {
    const conn: Conn = { index: state.conns.length, ws, frames: [], sent: 0 };
    state.conns.push(conn);
    const send = (text: string): void => {
      state.framesSent++;
      conn.sent++;
      ws.send(text);
    };
    ws.on('message', (data: Buffer) => {
      state.framesReceived++;
      const text = data.toString();
      conn.frames.push(text);
      opts.onFrame?.(conn, text, send);
    });
    ws.on('close', (code: number, reason: Buffer) => {
      conn.closeCode = code;
      conn.closeReason = reason.toString();
    });
    opts.onConnection?.(conn, send);
  });
  return state;
}

let server: RecordingServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function run(source: string): Promise<{ result: RunResult; m: Record<string, unknown>; elapsedMs: number }> {
  const t0 = performance.now();
  const result = await runScenario({ file: '<inline>', source, workers: 1 });
  return { result, m: result.report.metrics as Record<string, unknown>, elapsedMs: performance.now() - t0 };
}

/** volley's frame counters equal what the server counted, in both directions. */
function reconcile(m: Record<string, unknown>, s: RecordingServer): void {
  expect(counter(m, 'frames_sent')).toBe(s.framesReceived);
  expect(counter(m, 'frames_received')).toBe(s.framesSent);
}

type Metrics = Record<string, unknown>;

/**
 * Counter counts (`counter`) and trend sample counts (`trendCount`) by key, read into one object
 * and compared with a single toEqual, so a failure shows every mismatch at once.
 */
function expectCounts(m: Metrics, counters: Record<string, number>, trends: Record<string, number> = {}): void {
  const read = (want: Record<string, number>, get: (m: Metrics, key: string) => number): Record<string, number> =>
    Object.fromEntries(Object.keys(want).map((key) => [key, get(m, key)]));
  expect({ counters: read(counters, counter), trends: read(trends, trendCount) }).toEqual({ counters, trends });
}

/**
 * The server accepted exactly n connections and each received exactly these frames, in order
 * (given as a function: that connection's frames), checked in one toEqual; then reconcile.
 */
function expectEveryConnectionSaw(m: Metrics, s: RecordingServer, n: number, frames: string[] | ((c: Conn) => string[])): void {
  const want = typeof frames === 'function' ? frames : (): string[] => frames;
  expect({ connections: s.conns.length, frames: s.conns.map((c) => c.frames) }).toEqual({ connections: n, frames: s.conns.map(want) });
  reconcile(m, s);
}

describe('session interpreter: loops', () => {
  it('a paced loop with a duration runs exactly duration / every iterations, whatever its start time', async () => {
    // 500ms / 50ms = 10. Start times with fractions of a millisecond made (start + 500) - start
    // read 499.99…, and about one session in five ran an 11th iteration.
    server = await startRecordingServer();
    const { m } = await run(`
name: paced-duration
target: ${server.url}
load: {connections: 30}
steps:
  - think: 0ms..40ms
  - loop:
      duration: 500ms
      every: 50ms
      steps:
        - send: "i\${iter}"
`);
    expectEveryConnectionSaw(m, server, 30, Array.from({ length: 10 }, (_, i) => `i${i}`));
  });

  it('nested loops: ${iter} is the inner value inside the inner loop and the outer value again after it', async () => {
    server = await startRecordingServer();
    const { m, result } = await run(`
name: nested
target: ${server.url}
load: {connections: 2}
steps:
  - loop:
      count: 3
      steps:
        - send: "o\${iter}"
        - loop:
            count: 2
            steps:
              - send: "i\${iter}"
        - send: "o\${iter}"
`);
    const expected = ['o0', 'i0', 'i1', 'o0', 'o1', 'i0', 'i1', 'o1', 'o2', 'i0', 'i1', 'o2'];
    expectEveryConnectionSaw(m, server, 2, expected);
    expectCounts(m, { frames_sent: 2 * 12, sessions_started: 2, sessions_completed: 2, sessions_failed: 0, errors: 0 });
    expect(result.interrupted).toBe(false);
  });

  it('three nested loops whose steps wait (replies, think): order, ${iter} restore and top-level ${iter} = 0 after them', async () => {
    // The server answers only frames starting with "c" (the innermost loop's request/response
    // pairs), so every resume of the steps from onFrame happens two loops deep.
    server = await startRecordingServer({
      onFrame: (_c, text, send) => {
        if (text.startsWith('c')) send(`r:${text}`);
      },
    });
    const { m } = await run(`
name: nested-waits
target: ${server.url}
load: {connections: 3}
steps:
  - loop:
      count: 2
      steps:
        - send: "a\${iter}"
        - loop:
            count: 3
            steps:
              - think: 1ms
              - loop:
                  count: 2
                  steps:
                    - send: "c\${iter}"
                      expect: {text: "r:c\${iter}", timeout: 5s}
                      name: inner
              - send: "b\${iter}"
        - send: "a\${iter}"
  - send: "end\${iter}"
`);
    const expected: string[] = [];
    for (let a = 0; a < 2; a++) {
      expected.push(`a${a}`);
      for (let b = 0; b < 3; b++) {
        for (let c = 0; c < 2; c++) expected.push(`c${c}`);
        expected.push(`b${b}`);
      }
      expected.push(`a${a}`);
    }
    expected.push('end0');
    expectEveryConnectionSaw(m, server, 3, expected);
    expectCounts(m, { frames_received: 3 * 12, frames_skipped: 0, sessions_completed: 3, errors: 0 }, { 'latency{name:inner}': 3 * 2 * 3 * 2 });
  });

  it('a loop with count: 0 is refused before any connection opens (count must be a positive integer)', async () => {
    // The interpreter would run such a loop zero times (nextIteration ends it at i = 0), but the
    // validator rejects count: 0 (and duration: 0), so no valid scenario reaches that path:
    // runScenario throws INVALID_SCENARIO naming the key, and the server sees no connection.
    server = await startRecordingServer();
    const source = `
name: zero
target: ${server.url}
load: {connections: 2}
steps:
  - send: before
  - loop:
      count: 0
      steps:
        - send: "never\${iter}"
  - send: "after\${iter}"
`;
    await expect(runScenario({ file: '<inline>', source, workers: 1 })).rejects.toMatchObject({
      code: 'INVALID_SCENARIO',
      message: expect.stringContaining('steps.1.loop.count: expected a positive integer, got 0'),
    });
    expect(server.conns).toHaveLength(0);
    expect(server.framesReceived).toBe(0);
  });

  it('a loop that ends after its first iteration (count: 1) runs the steps after it, with ${iter} restored', async () => {
    server = await startRecordingServer();
    const { m } = await run(`
name: one
target: ${server.url}
load: {connections: 2}
steps:
  - send: before
  - loop:
      count: 2
      steps:
        - send: "x\${iter}"
        - loop:
            count: 1
            every: 10ms
            steps:
              - send: "once\${iter}"
        - send: "y\${iter}"
  - send: "after\${iter}"
`);
    expectEveryConnectionSaw(m, server, 2, ['before', 'x0', 'once0', 'y0', 'x1', 'once0', 'y1', 'after0']);
    expectCounts(m, { frames_sent: 2 * 8, sessions_completed: 2, errors: 0 });
  });

  it('a loop of sends with no expect, bounded by duration, stops by itself; frames_sent equals what the server received', async () => {
    server = await startRecordingServer();
    const { m, elapsedMs } = await run(`
name: duration-sends
target: ${server.url}
load: {connections: 2}
steps:
  - loop:
      duration: 300ms
      steps:
        - send: "f\${iter}"
  - send: done
`);
    // It ended on its own (no load duration, no gracefulStop cut), well before a test timeout.
    expect(elapsedMs).toBeLessThan(15_000);
    expect(server.conns).toHaveLength(2);
    let total = 0;
    for (const c of server.conns) {
      const n = c.frames.length - 1;
      expect(n).toBeGreaterThan(0);
      expect(c.frames[n]).toBe('done');
      // Iterations numbered 0..n-1, in order, none lost or repeated.
      for (let i = 0; i < n; i++) if (c.frames[i] !== `f${i}`) expect(c.frames[i]).toBe(`f${i}`);
      total += c.frames.length;
    }
    reconcile(m, server);
    expectCounts(m, { frames_sent: total, frames_received: 0, sessions_completed: 2, sessions_interrupted: 0, errors: 0 });
  });

  it('a paced loop (every) with a count runs exactly count iterations; with every + duration, duration/every of them', async () => {
    server = await startRecordingServer({
      onFrame: (_c, text, send) => {
        if (text.startsWith('e')) send(text);
      },
    });
    const { m, elapsedMs } = await run(`
name: paced
target: ${server.url}
load: {connections: 2}
steps:
  - loop:
      count: 5
      every: 30ms
      duration: 60s
      steps:
        - send: "p\${iter}"
  - loop:
      count: 4
      every: 20ms
      steps:
        - send: "e\${iter}"
          expect: {text: "e\${iter}", timeout: 5s}
          name: paced-echo
  - loop:
      duration: 250ms
      every: 100ms
      steps:
        - send: "d\${iter}"
  - send: done
`);
    expect(elapsedMs).toBeLessThan(60_000);
    const expected = ['p0', 'p1', 'p2', 'p3', 'p4', 'e0', 'e1', 'e2', 'e3', 'd0', 'd1', 'd2', 'done'];
    expectEveryConnectionSaw(m, server, 2, expected);
    expectCounts(m, { sessions_completed: 2, errors: 0 }, { 'latency{name:paced-echo}': 2 * 4 });
  });
});

describe('session interpreter: close', () => {
  it('a heartbeat that arrives while the session closes is left unanswered, and that is no error', async () => {
    // The server pings right after "last"; the client is already in its close step when the ping
    // arrives, so the auto reply meets a closing connection (counted as send_failed before).
    server = await startRecordingServer({ onFrame: (_c, text, send) => text === 'last' && send('PING') });
    const { m } = await run(`
name: ping-at-close
target: ${server.url}
load: {connections: 4, iterations: 3}
autoReply:
  - text: PING
    send: PONG
steps:
  - send: last
  - close: {code: 1000}
`);
    expectCounts(m, { sessions_completed: 12, sessions_failed: 0, errors: 0, frames_sent: 12 });
  });

  it('a close step inside a loop ends the session: nothing after it is sent, the session completed, no errors', async () => {
    server = await startRecordingServer();
    const { m } = await run(`
name: close-in-loop
target: ${server.url}
load: {connections: 2}
steps:
  - send: start
  - loop:
      count: 5
      steps:
        - send: "a\${iter}"
        - close: {code: 4000, reason: done}
        - send: "b\${iter}"
  - send: after
`);
    expectEveryConnectionSaw(m, server, 2, ['start', 'a0']);
    await vi.waitFor(() => {
      for (const c of server!.conns) expect(c.closeCode).toBe(4000);
    });
    for (const c of server.conns) expect(c.closeReason).toBe('done');
    expectCounts(m, { frames_sent: 4, sessions_completed: 2, sessions_failed: 0, errors: 0 });
  });

  it('a close step two loops deep, after a request/response, ends everything (inner, outer and top-level steps)', async () => {
    server = await startRecordingServer({ onFrame: (_c, text, send) => send(`r:${text}`) });
    const { m } = await run(`
name: close-deep
target: ${server.url}
load: {connections: 2}
steps:
  - loop:
      count: 3
      steps:
        - send: "o\${iter}"
          expect: {text: "r:o\${iter}", timeout: 5s}
        - loop:
            count: 3
            steps:
              - send: "i\${iter}"
                expect: {text: "r:i\${iter}", timeout: 5s}
                name: deep
              - close: {code: 1000}
              - send: "never-inner"
        - send: "never-outer"
  - send: "never-top"
`);
    expectEveryConnectionSaw(m, server, 2, ['o0', 'i0']);
    await vi.waitFor(() => {
      for (const c of server!.conns) expect(c.closeCode).toBe(1000);
    });
    expectCounts(m, { frames_skipped: 0, sessions_completed: 2, sessions_failed: 0, errors: 0 }, { 'latency{name:deep}': 2 });
  });
});

describe('session interpreter: failed expects go on with the next step', () => {
  it('a strict expect that gets a non-matching frame fails at once (unexpected_frame) and the next step runs', async () => {
    server = await startRecordingServer({
      onFrame: (_c, text, send) => {
        if (text === 'q') send('wrong');
      },
    });
    const { m, elapsedMs } = await run(`
name: strict
target: ${server.url}
load: {connections: 2}
steps:
  - send: q
    expect: {text: right, strict: true, timeout: 60s}
    name: strict
  - send: next
`);
    // Failed on the frame, not on the 60 s timeout.
    expect(elapsedMs).toBeLessThan(30_000);
    expectEveryConnectionSaw(m, server, 2, ['q', 'next']);
    expectCounts(
      m,
      { 'errors{kind:unexpected_frame}': 2, 'errors{kind:expect_timeout}': 0, errors: 2, frames_skipped: 2, sessions_failed: 2, sessions_completed: 0 },
      { 'latency{name:strict}': 0 },
    );
  });

  it('a strict expect whose non-matching frame is already in the inbox fails at once too', async () => {
    server = await startRecordingServer({
      onFrame: (_c, text, send) => {
        if (text === 'hello') send('wrong');
      },
    });
    const { m, elapsedMs } = await run(`
name: strict-inbox
target: ${server.url}
load: {connections: 1}
steps:
  - send: hello
  - think: 200ms
  - expect: {text: right, strict: true, timeout: 60s}
    name: pushed
  - send: next
`);
    expect(elapsedMs).toBeLessThan(30_000);
    expectEveryConnectionSaw(m, server, 1, ['hello', 'next']);
    expectCounts(m, { 'errors{kind:unexpected_frame}': 1, errors: 1, frames_skipped: 1, sessions_failed: 1 }, { 'wait{name:pushed}': 0 });
  });

  it('a strict failure inside a loop: the loop goes on with the right ${iter}', async () => {
    server = await startRecordingServer({
      onFrame: (_c, text, send) => {
        if (text === 'q1') send('nope');
        else if (text.startsWith('q')) send(`ok ${text}`);
      },
    });
    const { m } = await run(`
name: strict-loop
target: ${server.url}
load: {connections: 2}
steps:
  - loop:
      count: 3
      steps:
        - send: "q\${iter}"
          expect: {text: "ok q\${iter}", strict: true, timeout: 60s}
          name: ask
        - send: "after\${iter}"
`);
    expectEveryConnectionSaw(m, server, 2, ['q0', 'after0', 'q1', 'after1', 'q2', 'after2']);
    expectCounts(m, { 'errors{kind:unexpected_frame}': 2, frames_skipped: 2, sessions_failed: 2 }, { 'latency{name:ask}': 2 * 2 });
  });

  it('an expect timeout (send+expect and lone expect) counts expect_timeout and the next step still runs', async () => {
    server = await startRecordingServer();
    const { m } = await run(`
name: timeouts
target: ${server.url}
load: {connections: 2}
steps:
  - send: hello
    expect: {text: never, timeout: 300ms}
    name: unanswered
  - send: middle
  - expect: {text: never, timeout: 200ms}
    name: nopush
  - loop:
      count: 2
      steps:
        - send: "l\${iter}"
          expect: {text: never, timeout: 150ms}
  - send: after
`);
    expectEveryConnectionSaw(m, server, 2, ['hello', 'middle', 'l0', 'l1', 'after']);
    expectCounts(
      m,
      { 'errors{kind:expect_timeout}': 2 * 4, errors: 2 * 4, sessions_failed: 2, sessions_completed: 0 },
      { 'latency{name:unanswered}': 0, 'wait{name:nopush}': 0 },
    );
  });
});

describe('session interpreter: frames, captures and variables', () => {
  it('two frames already in the inbox are found by two expects in order, without waiting for a timeout', async () => {
    server = await startRecordingServer({
      onFrame: (_c, text, send) => {
        if (text === 'go') {
          send('first');
          send('second');
        }
      },
    });
    const { m, elapsedMs } = await run(`
name: inbox
target: ${server.url}
load: {connections: 2}
steps:
  - send: go
  - think: 300ms
  - expect: {text: first, timeout: 60s}
    name: one
  - expect: {text: second, timeout: 60s}
    name: two
  - send: done
`);
    expect(elapsedMs).toBeLessThan(30_000);
    expectEveryConnectionSaw(m, server, 2, ['go', 'done']);
    expectCounts(m, { frames_received: 4, frames_skipped: 0, errors: 0, sessions_completed: 2 }, { 'wait{name:one}': 2, 'wait{name:two}': 2 });
  });

  it('a reply of two frames at once: the send+expect takes the first, the next expect the second, no timeout', async () => {
    server = await startRecordingServer({
      onFrame: (_c, text, send) => {
        if (text.startsWith('go')) {
          send(`first ${text}`);
          send(`second ${text}`);
        }
      },
    });
    const { m, elapsedMs } = await run(`
name: two-at-once
target: ${server.url}
load: {connections: 2}
steps:
  - loop:
      count: 5
      steps:
        - send: "go\${iter}"
          expect: {text: "first go\${iter}", timeout: 60s}
          name: req
        - expect: {text: "second go\${iter}", timeout: 60s}
          name: rest
  - send: done
`);
    expect(elapsedMs).toBeLessThan(30_000);
    expectEveryConnectionSaw(m, server, 2, ['go0', 'go1', 'go2', 'go3', 'go4', 'done']);
    expectCounts(m, { frames_skipped: 0, errors: 0 }, { 'latency{name:req}': 10, 'wait{name:rest}': 10 });
  });

  it('a lone expect with latencyFrom records the wait for the push and its delivery latency', async () => {
    // The push leaves 200 ms after "go", stamped when it leaves: the session waited about 200 ms
    // for it (wait{name}), and it was delivered in much less than that (latency{name}).
    // The wait starts when the expect step starts, just after "go" is written; on a busy
    // machine the worker thread can be descheduled in between while this thread already counts
    // down (CI saw a 40 ms push waited for 34 ms), hence the long delay and the wide margin.
    server = await startRecordingServer({
      onFrame: (_c, text, send) => {
        if (text === 'go') setTimeout(() => send(JSON.stringify({ type: 'tick', sentAt: performance.timeOrigin + performance.now() })), 200);
      },
    });
    const { m } = await run(`
name: push-latency
target: ${server.url}
load: {connections: 3}
steps:
  - send: go
  - expect: {json: {type: tick}, latencyFrom: $.sentAt, timeout: 5s}
    name: fanout
`);
    expectCounts(m, { errors: 0 }, { 'latency{name:fanout}': 3, 'wait{name:fanout}': 3 });
    // Each session's latency is less than its own wait by about 200 ms, so the minima compare so.
    const trendOf = (key: string): { min: number } => m[key] as { min: number };
    expect(trendOf('wait{name:fanout}').min).toBeGreaterThanOrEqual(150);
    expect(trendOf('latency{name:fanout}').min).toBeLessThan(trendOf('wait{name:fanout}').min);
  });

  it('a latencyFrom that finds no timestamp fails the session as a failed capture does', async () => {
    server = await startRecordingServer({ onFrame: (_c, text, send) => send(text) });
    const { m } = await run(`
name: no-stamp
target: ${server.url}
load: {connections: 2}
steps:
  - send: {json: {type: t}}
  - expect: {json: {type: t}, latencyFrom: $.missing, timeout: 5s}
    name: push
`);
    expectCounts(m, { 'errors{kind:capture_failed}': 2, sessions_failed: 2, sessions_completed: 0 }, { 'wait{name:push}': 2 });
  });

  it('captures (JSON path and regex) from a reply are sent back in the next iteration, per session', async () => {
    // Each reply carries a token unique to the connection and to the reply's position in it.
    server = await startRecordingServer({
      onFrame: (c, _text, send) => {
        const k = c.sent + 1;
        send(JSON.stringify({ type: 'tok', token: `c${c.index}-t${k}`, n: k, deep: { list: [{ v: `v${k}` }] } }));
      },
    });
    const { m } = await run(`
name: captures
target: ${server.url}
load: {connections: 3}
steps:
  - send: hello
    expect: {json: {type: tok}, capture: {tok: $.token, n: $.n}, timeout: 5s}
  - loop:
      count: 3
      steps:
        - send: "use \${tok} \${n} \${iter}"
          expect:
            json: {type: tok}
            timeout: 5s
            capture:
              tok: $.token
              n: $.n
              v: $.deep.list[0].v
              rx: {regex: 'token":"([^"]+)"'}
  - send: "last \${tok} \${rx} \${v}"
`);
    expectEveryConnectionSaw(m, server, 3, ({ index: i }) => [
      'hello',
      `use c${i}-t1 1 0`,
      `use c${i}-t2 2 1`,
      `use c${i}-t3 3 2`,
      `last c${i}-t4 c${i}-t4 v4`,
    ]);
    expectCounts(m, { errors: 0, sessions_completed: 3 });
  });

  it('set defines a variable used by later sends, in and out of loops', async () => {
    server = await startRecordingServer();
    const { m } = await run(`
name: set
target: ${server.url}
load: {connections: 2}
steps:
  - set: {user: "user-\${vu}", greeting: hello}
  - send: "\${greeting} \${user}"
  - loop:
      count: 3
      steps:
        - set: {label: "n\${iter}"}
        - send: "\${label}"
  - send: "last \${label} \${user}"
`);
    expect(server.conns).toHaveLength(2);
    const vus = new Set<string>();
    for (const c of server.conns) {
      const first = c.frames[0]!;
      expect(first).toMatch(/^hello user-\d+$/);
      const user = first.slice('hello '.length);
      vus.add(user);
      expect(c.frames).toEqual([first, 'n0', 'n1', 'n2', `last n2 ${user}`]);
    }
    expect(vus.size).toBe(2);
    reconcile(m, server);
    expectCounts(m, { errors: 0, sessions_completed: 2 });
  });

  it('set renders all its values before assigning any (docs/scenario.md "set")', async () => {
    server = await startRecordingServer();
    const { m } = await run(`
name: set-order
target: ${server.url}
load: {connections: 1}
steps:
  - set: {a: old}
  - set: {a: new, b: "\${a}"}
  - send: "a=\${a} b=\${b}"
`);
    expectEveryConnectionSaw(m, server, 1, ['a=new b=old']);
  });
});
