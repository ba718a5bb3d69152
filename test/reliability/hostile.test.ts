// Hostile and broken servers at the byte level: a raw TCP server speaks just enough of RFC 6455
// to upgrade, then misbehaves differently on each connection. One session at a time meets each
// misbehaviour in turn; none may crash the worker or the run, and each is counted by kind.

import { createHash } from 'node:crypto';
import type { Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { runScenario } from '../../src/engine/coordinator.js';
import type { ReportJson } from '../../src/report/types.js';
import { counter, errorKinds, startRawServer } from './helpers.js';
import type { TestServer } from './helpers.js';

let server: TestServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

/** An unmasked server frame (payloads under 126 bytes). */
function frame(opcode: number, payload: Buffer | number[], opts: { masked?: boolean } = {}): Buffer {
  const body = Buffer.from(payload);
  if (!opts.masked) return Buffer.concat([Buffer.from([0x80 | opcode, body.length]), body]);
  return Buffer.concat([Buffer.from([0x80 | opcode, 0x80 | body.length, 0, 0, 0, 0]), body]);
}

function closeFrame(code: number, reason = ''): Buffer {
  const b = Buffer.alloc(2 + Buffer.byteLength(reason));
  b.writeUInt16BE(code, 0);
  b.write(reason, 2);
  return frame(0x8, b);
}

/** Reads the upgrade request, answers 101, then hands the socket to `then`. */
function upgrade(socket: Socket, then: (socket: Socket) => void, onClientClose: 'answer' | 'end' | ((socket: Socket) => void) = 'answer'): void {
  let head = '';
  const onData = (d: Buffer): void => {
    head += d.toString('latin1');
    const end = head.indexOf('\r\n\r\n');
    if (end < 0) return;
    socket.off('data', onData);
    const key = /sec-websocket-key:\s*(\S+)/i.exec(head)?.[1] ?? '';
    const accept = createHash('sha1').update(key + GUID).digest('base64');
    socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`);
    // Answer the client's close frame (masked, opcode 8) so polite closes end promptly.
    socket.on('data', (c: Buffer) => {
      for (let i = 0; i + 1 < c.length; ) {
        const opcode = c[i]! & 0x0f;
        const len = c[i + 1]! & 0x7f;
        if (opcode === 0x8) {
          // A server in the middle of writing a frame cannot interleave a close frame.
          if (typeof onClientClose === 'function') onClientClose(socket);
          else if (onClientClose === 'answer') socket.end(frame(0x8, [0x03, 0xe8]));
          else socket.end();
          return;
        }
        i += 2 + 4 + (len < 126 ? len : 0);
        if (len >= 126) break;
      }
    });
    then(socket);
  };
  socket.on('data', onData);
}

type Behaviour = (socket: Socket) => void;

export const behaviours: { name: string; run: Behaviour }[] = [
  // An answer to the client's frame (after it: frames from before a send cannot answer it).
  {
    name: 'binary first, then the awaited text',
    run: (s) => upgrade(s, (u) => u.once('data', () => u.write(Buffer.concat([frame(0x2, [1, 2, 3]), frame(0x1, Buffer.from('hi'))])))),
  },
  { name: 'invalid UTF-8 in a text frame', run: (s) => upgrade(s, (u) => u.write(frame(0x1, [0xc3, 0x28]))) },
  { name: 'close with an application code', run: (s) => upgrade(s, (u) => u.end(closeFrame(4321, 'bye'))) },
  { name: 'close with an invalid code', run: (s) => upgrade(s, (u) => u.write(closeFrame(999))) },
  { name: 'a masked frame from the server', run: (s) => upgrade(s, (u) => u.write(frame(0x1, Buffer.from('hi'), { masked: true }))) },
  {
    name: 'slow drip: the answer one byte every 300 ms',
    run: (s) =>
      upgrade(
        s,
        (u) => {
          const bytes = frame(0x1, Buffer.from('hi'));
          let i = 0;
          const t = setInterval(() => {
            if (i >= bytes.length || u.writableEnded) return clearInterval(t);
            u.write(bytes.subarray(i, ++i));
          }, 300);
          u.on('close', () => clearInterval(t));
        },
        'end',
      ),
  },
  { name: 'HTTP 503 instead of the upgrade', run: (s) => s.once('data', () => s.end('HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n')) },
  { name: 'reset at accept', run: (s) => s.resetAndDestroy() },
  { name: 'dropped after the upgrade without a close frame', run: (s) => upgrade(s, (u) => setTimeout(() => u.resetAndDestroy(), 50)) },
];

describe('hostile and broken frames', () => {
  it('each misbehaviour is counted by kind and none crashes the worker or the run', async () => {
    let n = 0;
    server = await startRawServer((s) => behaviours[n++ % behaviours.length]!.run(s));
    const source = `
name: hostile
target: ${server.url}
connect: {timeout: 1s}
load: {model: connections, connections: 1, iterations: ${behaviours.length}, gracefulStop: 1s}
steps:
  - send: "hi"
    expect: {text: "hi", timeout: 700ms}
    name: hi
`;
    const { report } = await runScenario({ file: '<inline>', source, workers: 1 });
    const kinds = errorKinds(report);
    expect(server.connections).toBe(behaviours.length);
    expect(kinds, JSON.stringify(report.errors)).toEqual({
      protocol_error: 3, // invalid UTF-8, invalid close code, masked server frame
      closed_by_server: 1,
      expect_timeout: 1, // the slow drip
      handshake_rejected: 1,
      reset: 2,
    });
    expect(firstOf(report, 'closed_by_server')).toMatch(/4321.*bye/);
    expect(firstOf(report, 'handshake_rejected')).toMatch(/503/);
    expect(counter(report, 'sessions_started')).toBe(behaviours.length);
    expect(counter(report, 'sessions_completed')).toBe(1);
    expect(counter(report, 'sessions_failed')).toBe(behaviours.length - 1);
    expect(counter(report, 'frames_skipped')).toBeGreaterThanOrEqual(1); // the unexpected binary
    expect(counter(report, 'errors{kind:worker_died}')).toBe(0);
  });
});

describe('a scenario that never waits', () => {
  it('a close answered slowly, after frames the server still had queued: every one of them is counted', async () => {
    // Frames keep coming for 3 s after the client's close frame (longer than the 2 s a silent
    // server gets), then the close answer: the client waits while frames arrive.
    server = await startRawServer((socket) =>
      upgrade(
        socket,
        () => undefined,
        (s) => {
          let n = 0;
          const timer = setInterval(() => {
            if (n < 6) s.write(frame(0x1, Buffer.from(`late ${n++}`)));
            else {
              clearInterval(timer);
              s.end(frame(0x8, [0x03, 0xe8]));
            }
          }, 500);
          s.on('close', () => clearInterval(timer));
        },
      ),
    );
    const source = `
name: slow-close
target: ${server.url}
load: {connections: 1, iterations: 1}
steps:
  - send: "bye"
`;
    const { report } = await runScenario({ file: '<inline>', source, workers: 1 });
    expect(counter(report, 'frames_received')).toBe(6);
    expect(counter(report, 'frames_skipped')).toBe(6);
    expect(counter(report, 'errors')).toBe(0);
  }, 20_000);

  it('an unpaced loop with no expect still yields: the run stops on time and counts what it sent', async () => {
    let received = 0;
    server = await startRawServer((s) =>
      upgrade(s, (u) => u.on('data', (d: Buffer) => (received += d.length))),
    );
    const source = `
name: tight-loop
target: ${server.url}
load: {model: connections, connections: 1, duration: 1s, gracefulStop: 500ms}
steps:
  - loop:
      count: 100000000
      steps:
        - send: "x"
`;
    const started = Date.now();
    const { report } = await runScenario({ file: '<inline>', source, workers: 1 });
    expect(Date.now() - started).toBeLessThan(15_000);
    const sent = counter(report, 'frames_sent');
    expect(sent).toBeGreaterThan(0);
    expect(sent).toBeLessThan(100_000_000);
    expect(received).toBeGreaterThan(0);
    // The metrics ticks kept coming while the loop ran: a series point for the first second.
    expect(report.timeseries.length).toBeGreaterThanOrEqual(1);
    expect(counter(report, 'errors{kind:worker_died}')).toBe(0);
  });
});

function firstOf(report: ReportJson, kind: string): string {
  return report.errors.find((e) => e.kind === kind)?.first ?? '';
}
