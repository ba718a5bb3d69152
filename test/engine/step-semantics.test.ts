// Step semantics an outside audit found wrong, each against a real ws server that counts what
// it saw: a reply is a frame that came after its request; a server that hangs up once the steps
// are done ended a completed session; autoReply answers from the first frame and reads the
// variables of the moment; a pong answers only its own ping.

import { afterEach, describe, expect, it } from 'vitest';
import { runScenario } from '../../src/engine/coordinator.js';
import { counter, trend } from '../helpers/metrics.js';
import { reply, startCountingServer } from '../helpers/ws-servers.js';
import type { CountingServer } from '../helpers/ws-servers.js';

let server: CountingServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

describe('step semantics against an outside ws server', () => {
  it("a send's expect never takes a frame that arrived before the send (it is skipped and counted)", async () => {
    // Every request is answered after 100 ms, and again 5 ms later: the duplicate sits in the
    // inbox during the think and used to be taken as the next request's answer at 0.001 ms.
    server = await startCountingServer((ws, _data, _b, s) => {
      setTimeout(() => reply(ws, s, '{"type":"pong"}'), 100);
      setTimeout(() => reply(ws, s, '{"type":"pong"}'), 105);
    });
    const source = `
name: stale-replies
target: ${server.url}
load: {model: connections, connections: 3, iterations: 1}
steps:
  - loop:
      count: 5
      steps:
        - send: ping
          expect: {json: {type: pong}, timeout: 2s}
          name: rr
        - think: 20ms
  - think: 50ms
`;
    const { report } = await runScenario({ file: '<inline>', source, workers: 1 });
    const rr = trend(report, 'latency{name:rr}');
    expect(rr.count).toBe(15);
    // Each answer took the server's 100 ms; none is an inbox leftover.
    expect(rr.min).toBeGreaterThanOrEqual(95);
    expect(counter(report, 'frames_received')).toBe(server.framesSent);
    // One duplicate per request, all skipped: 15 answers matched, 15 duplicates skipped.
    expect(counter(report, 'frames_skipped')).toBe(15);
    expect(counter(report, 'errors')).toBe(0);
  });

  it('a server that answers and hangs up after the last step leaves the sessions completed', async () => {
    server = await startCountingServer((ws, data, _b, s) => {
      if (data.toString() === 'quit') {
        reply(ws, s, 'bye');
        ws.close(1000, 'done');
      }
    });
    const source = `
name: hang-up
target: ${server.url}
load: {model: connections, connections: 10, iterations: 1}
steps:
  - send: quit
    expect: {text: bye, timeout: 2s}
    name: quit
`;
    const { report } = await runScenario({ file: '<inline>', source, workers: 2 });
    expect(trend(report, 'latency{name:quit}').count).toBe(10);
    expect(counter(report, 'sessions_completed')).toBe(10);
    expect(counter(report, 'sessions_failed')).toBe(0);
    expect(counter(report, 'errors')).toBe(0);
  });

  it("the same with the scenario's own close step crossing the server's close", async () => {
    server = await startCountingServer((ws, data, _b, s) => {
      if (data.toString() === 'quit') {
        reply(ws, s, 'bye');
        ws.close(4000, 'done');
      }
    });
    const source = `
name: hang-up-close
target: ${server.url}
load: {model: connections, connections: 10, iterations: 1}
steps:
  - send: quit
    expect: {text: bye, timeout: 2s}
  - close: {code: 1000}
`;
    const { report } = await runScenario({ file: '<inline>', source, workers: 2 });
    expect(counter(report, 'sessions_completed')).toBe(10);
    expect(counter(report, 'errors')).toBe(0);
  });

  it('a server that hangs up before the steps are done still fails the session (closed_by_server)', async () => {
    server = await startCountingServer((ws, data, _b, s) => {
      reply(ws, s, 'bye');
      ws.close(1000, 'done');
    });
    const source = `
name: hang-up-early
target: ${server.url}
load: {model: connections, connections: 4, iterations: 1}
steps:
  - send: quit
    expect: {text: bye, timeout: 2s}
  - think: 300ms
  - send: more
    expect: {text: never, timeout: 1s}
`;
    const { report } = await runScenario({ file: '<inline>', source, workers: 1 });
    expect(counter(report, 'sessions_failed')).toBe(4);
    expect(counter(report, 'errors{kind:closed_by_server}')).toBe(4);
  });

  it('autoReply answers a heartbeat the server sends with the handshake (before any step runs)', async () => {
    let pongs = 0;
    server = await startCountingServer(
      (ws, data, _b, s) => {
        const text = data.toString();
        if (text === 'PONG') pongs++;
        else if (text === 'hello') reply(ws, s, 'world');
      },
      // The heartbeat leaves with the handshake's answer, before volley has run a step.
      { onConnection: (ws, s) => reply(ws, s, 'PING') },
    );
    const source = `
name: early-heartbeat
target: ${server.url}
load: {model: connections, connections: 12, iterations: 1}
autoReply:
  - {match: "^PING$", send: PONG}
steps:
  - think: 100ms
  - send: hello
    expect: {text: world, strict: true, timeout: 2s}
`;
    const { report } = await runScenario({ file: '<inline>', source, workers: 2 });
    expect(pongs).toBe(12);
    expect(counter(report, 'frames_sent')).toBe(server.framesReceived);
    expect(counter(report, 'errors')).toBe(0);
    expect(counter(report, 'sessions_completed')).toBe(12);
  });

  it('an autoReply rule that reads a captured variable matches with its value of the moment', async () => {
    let pongs = 0;
    let wrong = 0;
    server = await startCountingServer((ws, data, _b, s) => {
      const text = data.toString();
      if (text === 'join') {
        const sid = `s${Math.floor(Math.random() * 1e9)}`;
        (ws as unknown as { sid: string }).sid = sid;
        reply(ws, s, JSON.stringify({ type: 'joined', sid }));
        // Heartbeats that name the session, then an answer after them.
        for (let i = 0; i < 3; i++) setTimeout(() => reply(ws, s, `hb ${sid}`), 20 + i * 20);
        setTimeout(() => reply(ws, s, 'ready'), 120);
      } else if (text.startsWith('pong ')) {
        if (text === `pong ${(ws as unknown as { sid: string }).sid}`) pongs++;
        else wrong++;
      }
    });
    const source = `
name: captured-heartbeat
target: ${server.url}
load: {model: connections, connections: 4, iterations: 1}
autoReply:
  - {match: "^hb \${sid}$", send: "pong \${sid}"}
steps:
  - send: join
    expect: {json: {type: joined}, capture: {sid: $.sid}, timeout: 2s}
  - expect: {text: ready, strict: true, timeout: 2s}
  - think: 50ms
`;
    const { report } = await runScenario({ file: '<inline>', source, workers: 1 });
    expect(pongs).toBe(12);
    expect(wrong).toBe(0);
    expect(counter(report, 'frames_skipped')).toBe(0);
    expect(counter(report, 'errors')).toBe(0);
  });

  it("a pong that comes after its ping timed out is not timed as the next ping's", async () => {
    server = await startCountingServer(() => {}, {
      autoPong: false,
      // Every ping is answered 500 ms late, with its own payload.
      onConnection: (ws) => ws.on('ping', (data: Buffer) => setTimeout(() => ws.readyState === ws.OPEN && ws.pong(data), 500)),
    });
    const source = `
name: late-pong
target: ${server.url}
load: {model: connections, connections: 1, iterations: 1}
steps:
  - ping: {timeout: 300ms}
    name: first
  - ping: {timeout: 2s}
    name: second
`;
    const { report } = await runScenario({ file: '<inline>', source, workers: 1 });
    expect(counter(report, 'errors{kind:ping_timeout}')).toBe(1);
    // The second ping waited for its own (late) pong: about 500 ms, not the 200 ms left of the first's.
    expect(trend(report, 'ping{name:second}').min).toBeGreaterThanOrEqual(450);
  });
});
