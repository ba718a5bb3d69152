// The WebSocket handshake when the server does not complete it: a server that drips its 101
// answer is timed out after connect.timeout (ws's own handshakeTimeout is an idle timeout that
// every dripped byte resets), and the bytes of failed handshakes (rejected with a status, a
// half-open server, a TLS failure) are counted, equal to what the server's own sockets read
// and wrote. Real servers on 127.0.0.1 (node's net/https), driven through runScenario.

import { once } from 'node:events';
import https from 'node:https';
import net from 'node:net';
import type { AddressInfo, Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocketServer } from 'ws';
import { runScenario } from '../../src/engine/coordinator.js';
import { generateSelfSignedCertificate } from '../../src/targets/tls.js';
import { counter } from '../helpers/metrics.js';

interface SocketLife {
  openedAtMs: number;
  closedAtMs: number | undefined;
  bytesRead: number;
  bytesWritten: number;
}

interface RawServer {
  url: string;
  sockets: SocketLife[];
  /** Waits until every accepted socket has closed, then sums their counters (read at close). */
  settled(): Promise<{ bytesRead: number; bytesWritten: number }>;
  close(): Promise<void>;
}

let servers: { close(): Promise<void> }[] = [];
afterEach(async () => {
  for (const s of servers) await s.close();
  servers = [];
});

/** Counts every accepted TCP socket of `server` (for https: the raw TCP socket, TLS records included). */
function track(server: net.Server, url: string): RawServer {
  const sockets: SocketLife[] = [];
  const live = new Set<Socket>();
  server.on('connection', (s: Socket) => {
    const life: SocketLife = { openedAtMs: performance.now(), closedAtMs: undefined, bytesRead: 0, bytesWritten: 0 };
    sockets.push(life);
    live.add(s);
    s.on('error', () => undefined);
    s.on('close', () => {
      life.closedAtMs = performance.now();
      life.bytesRead = s.bytesRead;
      life.bytesWritten = s.bytesWritten;
      live.delete(s);
    });
  });
  const rs: RawServer = {
    url,
    sockets,
    async settled() {
      const deadline = Date.now() + 5000;
      while (live.size > 0) {
        if (Date.now() > deadline) throw new Error(`${live.size} server sockets still open`);
        await new Promise((r) => setTimeout(r, 20));
      }
      let bytesRead = 0;
      let bytesWritten = 0;
      for (const l of sockets) {
        bytesRead += l.bytesRead;
        bytesWritten += l.bytesWritten;
      }
      return { bytesRead, bytesWritten };
    },
    async close() {
      for (const s of live) s.destroy();
      server.close();
      await once(server, 'close').catch(() => undefined);
    },
  };
  servers.push(rs);
  return rs;
}

/** A raw TCP server; `onHead` gets each socket once the upgrade request's head has arrived. */
async function startRawServer(onHead: (s: Socket) => void): Promise<RawServer> {
  const server = net.createServer((s) => {
    let buf = '';
    let seen = false;
    s.on('data', (d: Buffer) => {
      // Keeps reading whatever comes, so a socket the client drops is seen closing.
      if (seen) return;
      buf += d.toString('latin1');
      if (buf.includes('\r\n\r\n')) {
        seen = true;
        onHead(s);
      }
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return track(server, `ws://127.0.0.1:${(server.address() as AddressInfo).port}/`);
}

const RESPONSE_101 =
  'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: never-completed=\r\n\r\n';

/** Writes the 101 answer one byte every `everyMs`: each byte resets an idle timeout. */
function drip(everyMs: number): (s: Socket) => void {
  return (s) => {
    let k = 0;
    const t = setInterval(() => {
      if (s.destroyed || k >= RESPONSE_101.length) {
        clearInterval(t);
        return;
      }
      s.write(RESPONSE_101[k++]!);
    }, everyMs);
    s.on('close', () => clearInterval(t));
  };
}

function reject(status: string, body: string): (s: Socket) => void {
  return (s) => {
    s.end(`HTTP/1.1 ${status}\r\nContent-Type: text/plain\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`);
  };
}

const scenario = (url: string, load: string, connect = 'timeout: 1s'): string => `
name: ws-handshake
target: ${url}
connect: {${connect}}
load: ${load}
steps:
  - send: "hello"
    expect: {text: "hello", timeout: 1s}
  - close: {code: 1000}
`;

describe('a server that drips its handshake answer (one byte every 400 ms)', () => {
  it('is timed out after connect.timeout: connect_timeout counted, sessions retried, none left hanging', async () => {
    const srv = await startRawServer(drip(400));
    const startedAt = performance.now();
    const { report, failureReason, noConnection } = await runScenario({
      file: '<inline>',
      source: scenario(srv.url, '{connections: 2, duration: 4s, gracefulStop: 1s}'),
      workers: 1,
    });
    const elapsedMs = performance.now() - startedAt;
    const m = report.metrics;
    const timeouts = counter(m, 'errors{kind:connect_timeout}');
    // 2 slots, 4 s, 1 s timeouts and a 100 ms, 200 ms… backoff: about 3 attempts each.
    expect(timeouts, JSON.stringify(report.errors)).toBeGreaterThanOrEqual(4);
    expect(counter(m, 'errors')).toBe(timeouts);
    expect(report.errors[0]?.first).toMatch(/^handshake with ws:\/\/127\.0\.0\.1:\d+\/ timed out after 1000ms/);
    expect(counter(m, 'sessions_failed')).toBe(timeouts);
    // At most the attempt each slot had in flight when the run ended is cut.
    expect(counter(m, 'sessions_interrupted')).toBeLessThanOrEqual(2);
    expect(counter(m, 'sessions_started')).toBe(counter(m, 'sessions_failed') + counter(m, 'sessions_interrupted'));
    // No attempt outlived connect.timeout by much (before the fix each lasted the whole run).
    await srv.settled();
    expect(srv.sockets.length).toBe(counter(m, 'sessions_started'));
    for (const life of srv.sockets) expect(life.closedAtMs! - life.openedAtMs).toBeLessThan(1000 + 3000);
    const first = srv.sockets[0]!;
    expect(first.closedAtMs! - first.openedAtMs).toBeGreaterThan(800);
    expect(elapsedMs).toBeLessThan(4000 + 1000 + 8000);
    // The exit-3 line names the cause.
    expect(noConnection).toBe(true);
    expect(failureReason).toMatch(/timed out after 1000ms: the answer was still incomplete/);
  });

  it('counts the bytes of the timed-out attempts', async () => {
    const srv = await startRawServer(drip(400));
    const { report } = await runScenario({
      file: '<inline>',
      source: scenario(srv.url, '{connections: 2, iterations: 1}'),
      workers: 1,
    });
    const m = report.metrics;
    expect(counter(m, 'errors{kind:connect_timeout}')).toBe(2);
    const server = await srv.settled();
    expect(counter(m, 'bytes_sent')).toBe(server.bytesRead);
    // Dripped bytes arrive at 400 and 800 ms, the attempt ends at 1000 ms: both counted.
    expect(counter(m, 'bytes_received')).toBeGreaterThan(0);
    expect(counter(m, 'bytes_received')).toBeLessThanOrEqual(server.bytesWritten);
  });
});

describe('bytes of handshakes that fail equal the server socket counts', () => {
  for (const [status, body] of [
    ['401 Unauthorized', 'no token, go away'],
    ['500 Internal Server Error', 'boom'],
  ] as const) {
    it(`an upgrade rejected with HTTP ${status}`, async () => {
      const srv = await startRawServer(reject(status, body));
      const { report } = await runScenario({
        file: '<inline>',
        source: scenario(srv.url, '{connections: 3, iterations: 1}'),
        workers: 1,
      });
      const m = report.metrics;
      expect(counter(m, 'errors{kind:handshake_rejected}')).toBe(3);
      expect(report.errors[0]?.first).toContain(`HTTP ${status.slice(0, 3)}`);
      const server = await srv.settled();
      expect(srv.sockets.length).toBe(3);
      expect(server.bytesRead).toBeGreaterThan(3 * 150);
      expect(counter(m, 'bytes_sent')).toBe(server.bytesRead);
      expect(counter(m, 'bytes_received')).toBe(server.bytesWritten);
    });
  }

  it('a half-open server (reads the upgrade, never answers): connect_timeout, request bytes counted', async () => {
    const srv = await startRawServer(() => undefined);
    const { report } = await runScenario({
      file: '<inline>',
      source: scenario(srv.url, '{connections: 2, iterations: 1}'),
      workers: 1,
    });
    const m = report.metrics;
    expect(counter(m, 'errors{kind:connect_timeout}')).toBe(2);
    expect(report.errors[0]?.first).toMatch(/timed out after 1000ms: no answer to the upgrade request/);
    const server = await srv.settled();
    expect(server.bytesRead).toBeGreaterThan(2 * 150);
    expect(counter(m, 'bytes_sent')).toBe(server.bytesRead);
    expect(counter(m, 'bytes_received')).toBe(0);
  });

  it('a refused connection moves no byte', async () => {
    // A port that was just free: the queued upgrade request never reached the wire.
    const probe = net.createServer();
    probe.listen(0, '127.0.0.1');
    await once(probe, 'listening');
    const port = (probe.address() as AddressInfo).port;
    probe.close();
    await once(probe, 'close');
    const { report } = await runScenario({
      file: '<inline>',
      source: scenario(`ws://127.0.0.1:${port}/`, '{connections: 2, iterations: 1}'),
      workers: 1,
    });
    expect(counter(report, 'errors{kind:connect_refused}')).toBe(2);
    expect(counter(report, 'bytes_sent')).toBe(0);
    expect(counter(report, 'bytes_received')).toBe(0);
  });
});

describe('wss: bytes are the TLS records on the TCP socket', () => {
  const cert = generateSelfSignedCertificate();

  async function startWssEcho(): Promise<RawServer> {
    const server = https.createServer({ cert: cert.cert, key: cert.key });
    const wss = new WebSocketServer({ server });
    wss.on('connection', (ws) => {
      ws.on('error', () => undefined);
      ws.on('message', (d, isBinary) => ws.send(d, { binary: isBinary }));
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const rs = track(server, `wss://127.0.0.1:${(server.address() as AddressInfo).port}/`);
    const close = rs.close;
    rs.close = async () => {
      wss.close();
      await close();
    };
    return rs;
  }

  it('a certificate refused by the client: kind tls, the handshake bytes counted', async () => {
    const srv = await startWssEcho();
    const { report } = await runScenario({
      file: '<inline>',
      source: scenario(srv.url, '{connections: 2, iterations: 1}'),
      workers: 1,
    });
    expect(counter(report, 'errors{kind:tls}'), JSON.stringify(report.errors)).toBe(2);
    const server = await srv.settled();
    expect(server.bytesRead).toBeGreaterThan(0);
    expect(counter(report, 'bytes_sent')).toBe(server.bytesRead);
    expect(counter(report, 'bytes_received')).toBe(server.bytesWritten);
  });

  it('an echo session: counts equal the server TCP sockets (ciphertext, not the decrypted stream)', async () => {
    const srv = await startWssEcho();
    const { report } = await runScenario({
      file: '<inline>',
      source: scenario(srv.url, '{connections: 2, iterations: 1}', 'timeout: 3s, tls: {insecure: true}'),
      workers: 1,
    });
    expect(counter(report, 'errors'), JSON.stringify(report.errors)).toBe(0);
    expect(counter(report, 'sessions_completed')).toBe(2);
    const server = await srv.settled();
    expect(counter(report, 'bytes_sent')).toBe(server.bytesRead);
    expect(counter(report, 'bytes_received')).toBe(server.bytesWritten);
  });
});

describe('the exit-3 reason when no attempt failed', () => {
  it('says the sessions were still connecting when the run ended, not "no connection could be opened"', async () => {
    const srv = await startRawServer(() => undefined);
    const { failureReason, noConnection } = await runScenario({
      file: '<inline>',
      source: scenario(srv.url, '{connections: 2, duration: 1s, gracefulStop: 500ms}', 'timeout: 30s'),
      workers: 1,
    });
    expect(noConnection).toBe(true);
    expect(failureReason).toBe('all 2 sessions were still connecting when the run ended, before connect.timeout 30s ran out');
  });
});
