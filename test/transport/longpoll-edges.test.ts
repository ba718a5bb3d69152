// Long-poll edge cases from the outside audit (S4, defects 4-6), through the library API
// (runScenario: workers load dist/, so `npm run build` first) against a long-poll server
// written here from the convention (docs/ws-vs-long-poll.md, docs/targets.md), on 127.0.0.1:
// - longPoll.url takes ${env.X} as target does, and is validated after rendering;
// - an open session whose server dies is a `reset`, not `connect_refused`;
// - a session closed while a poll answer is on its way reads and counts that answer, so the
//   frames and bytes equal the server's.

import http from 'node:http';
import type net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { runScenario } from '../../src/engine/coordinator.js';
import type { CounterJson, ReportJson, TrendJson } from '../../src/report/types.js';
import { loadScenario } from '../../src/scenario/load.js';

interface EdgeServerOptions {
  /** Path of `{lp}`; default /lp. */
  base?: string;
  /** Every poll but the creating one is answered at once with this many frames (a flood). */
  floodFrames?: number;
  /** POST /close answers 204 but leaves a held poll held (until its 5 s timeout). */
  keepPollAtClose?: boolean;
  /** POST /send is read (counted in stats.framesReceived) but never answered. */
  hangSends?: boolean;
}

interface EdgeServer {
  port: number;
  /** `{lp}` */
  url: string;
  stats: { sessions: number; framesSent: number; framesReceived: number; closes: number };
  bytesRead(): number;
  bytesWritten(): number;
  socketsClosed(timeoutMs: number): Promise<void>;
  /** The server dies: it stops listening and drops every connection (as kill -9 would). */
  kill(): Promise<void>;
}

interface EdgeSession {
  queue: string[];
  held: http.ServerResponse | undefined;
  timer: NodeJS.Timeout | undefined;
  ended: boolean;
}

const servers: EdgeServer[] = [];

afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.kill()));
});

/**
 * The convention as the embedded targets implement it: the creating poll answers 204 at once,
 * later polls are held until a frame is queued (200, JSON array) or 5 s pass (204); POST /send
 * echoes its body; POST /close ends the session and answers its held poll 204; requests for an
 * ended session answer 410. Frames are counted as they are written into poll answers.
 */
async function startEdgeServer(options: EdgeServerOptions = {}): Promise<EdgeServer> {
  const base = options.base ?? '/lp';
  const sessions = new Map<string, EdgeSession>();
  const sockets: net.Socket[] = [];
  const stats = { sessions: 0, framesSent: 0, framesReceived: 0, closes: 0 };
  const floodBody =
    options.floodFrames === undefined ? '' : JSON.stringify(Array.from({ length: options.floodFrames }, (_, i) => `flood ${i}`));

  const answer = (s: EdgeSession, status: 200 | 204): void => {
    const res = s.held;
    if (res === undefined) return;
    s.held = undefined;
    clearTimeout(s.timer);
    if (status === 200) {
      const body = JSON.stringify(s.queue);
      stats.framesSent += s.queue.length;
      s.queue = [];
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
      res.end(body);
    } else {
      res.writeHead(204);
      res.end();
    }
  };

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://x');
      const id = url.searchParams.get('session') ?? '';
      if (!url.pathname.startsWith(`${base}/`) || id === '') {
        res.writeHead(404);
        res.end();
        return;
      }
      let s = sessions.get(id);
      const created = s === undefined;
      if (s === undefined) {
        s = { queue: [], held: undefined, timer: undefined, ended: false };
        sessions.set(id, s);
        stats.sessions++;
      }
      const session = s;
      if (session.ended) {
        res.writeHead(410);
        res.end();
        return;
      }
      switch (url.pathname.slice(base.length + 1)) {
        case 'poll':
          if (created) {
            res.writeHead(204);
            res.end();
          } else if (floodBody !== '') {
            stats.framesSent += options.floodFrames!;
            res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(floodBody) });
            res.end(floodBody);
          } else {
            if (session.held !== undefined) answer(session, 204);
            session.held = res;
            res.on('close', () => {
              if (session.held === res) session.held = undefined;
            });
            if (session.queue.length > 0) answer(session, 200);
            else session.timer = setTimeout(() => answer(session, 204), 5000);
          }
          return;
        case 'send':
          stats.framesReceived++;
          if (options.hangSends === true) return;
          session.queue.push(Buffer.concat(chunks).toString('utf8'));
          res.writeHead(204);
          res.end();
          if (session.held !== undefined) answer(session, 200);
          return;
        case 'ping':
          res.writeHead(204);
          res.end();
          return;
        case 'close':
          stats.closes++;
          session.ended = true;
          if (options.keepPollAtClose !== true) answer(session, 204);
          res.writeHead(204);
          res.end();
          return;
        default:
          res.writeHead(404);
          res.end();
      }
    });
  });
  server.keepAliveTimeout = 10_000;
  server.on('connection', (socket: net.Socket) => sockets.push(socket));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  let killed: Promise<void> | undefined;
  const edge: EdgeServer = {
    port,
    url: `http://127.0.0.1:${port}${base}`,
    stats,
    bytesRead: () => sockets.reduce((n, s) => n + s.bytesRead, 0),
    bytesWritten: () => sockets.reduce((n, s) => n + s.bytesWritten, 0),
    socketsClosed: async (timeoutMs) => {
      const deadline = Date.now() + timeoutMs;
      while (sockets.some((s) => !s.destroyed)) {
        if (Date.now() > deadline) throw new Error(`server sockets still open after ${timeoutMs}ms`);
        await new Promise((r) => setTimeout(r, 10));
      }
    },
    kill: () => {
      killed ??= new Promise<void>((resolve) => {
        for (const s of sessions.values()) clearTimeout(s.timer);
        server.close(() => resolve());
        for (const socket of sockets) socket.destroy();
      });
      return killed;
    },
  };
  servers.push(edge);
  return edge;
}

function count(report: ReportJson, name: string): number {
  return (report.metrics[name] as CounterJson | undefined)?.count ?? 0;
}

function firstError(report: ReportJson, kind: string): string | undefined {
  return report.errors.find((e) => e.kind === kind)?.first;
}

/** Polls `predicate` every 10 ms; fails after `timeoutMs` (a bound, not a speed assertion). */
async function waitFor(predicate: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('longPoll.url templates (audit S4 defect 4)', () => {
  const scenario = (url: string): string => `
name: lp-env
target: ws://127.0.0.1:\${env.LP_EDGE_PORT}/
transport: long-poll
longPoll: {url: "${url}"}
steps:
  - send: "hello"
    expect: {text: "hello", timeout: 2s}
`;

  it('renders ${env.X} in longPoll.url as in target', () => {
    const loaded = loadScenario({
      file: 'lp.yaml',
      source: scenario('http://127.0.0.1:${env.LP_EDGE_PORT}/custom/${env.LP_EDGE_PATH}'),
      env: { LP_EDGE_PORT: '4242', LP_EDGE_PATH: 'lp' },
    });
    expect(loaded.ok, JSON.stringify(loaded)).toBe(true);
    if (!loaded.ok) return;
    expect(loaded.scenario.target).toBe('ws://127.0.0.1:4242/');
    expect(loaded.scenario.longPoll.url).toBe('http://127.0.0.1:4242/custom/lp');
  });

  it('checks the reference and the rendered URL, with file:line:col', () => {
    const problems = (url: string, env: NodeJS.ProcessEnv): string[] => {
      const loaded = loadScenario({ file: 'lp.yaml', source: scenario(url), env: { LP_EDGE_PORT: '4242', ...env } });
      expect(loaded.ok).toBe(false);
      return loaded.ok ? [] : loaded.problems.map((p) => `${p.file}:${p.pos?.line}:${p.pos?.col}: ${p.message}`);
    };
    // An unset variable: pointed at inside the string, as for target.
    expect(problems('http://127.0.0.1:${env.LP_EDGE_UNSET}/lp', {})).toEqual([
      'lp.yaml:5:35: longPoll.url: ${env.LP_EDGE_UNSET}: environment variable LP_EDGE_UNSET is not set',
    ]);
    // Only env references: the URL is resolved once, before any session.
    expect(problems('http://127.0.0.1:4242/lp?vu=${vu}', {})).toEqual([
      'lp.yaml:5:46: longPoll.url: only ${env.NAME} references may be used in longPoll.url, got "${vu}"',
    ]);
    // Validated after rendering: the rendered value is what is wrong.
    expect(problems('${env.LP_EDGE_URL}', { LP_EDGE_URL: 'not a url' })).toEqual([
      'lp.yaml:5:17: longPoll.url: "not a url" is not a valid URL',
    ]);
    expect(problems('${env.LP_EDGE_URL}', { LP_EDGE_URL: 'ws://127.0.0.1:4242/lp' })).toEqual([
      'lp.yaml:5:17: longPoll.url: expected an http:// or https:// URL, got "ws://127.0.0.1:4242/lp"',
    ]);
  });

  it('runs against the rendered URL', async () => {
    const srv = await startEdgeServer({ base: '/custom/lp' });
    const { report } = await runScenario({
      file: '<inline>',
      source: scenario('http://127.0.0.1:${env.LP_EDGE_PORT}/custom/lp'),
      env: { LP_EDGE_PORT: String(srv.port) },
      workers: 1,
    });
    expect(report.errors).toEqual([]);
    expect(count(report, 'sessions_completed')).toBe(1);
    expect(srv.stats.sessions).toBe(1);
    expect(count(report, 'frames_sent')).toBe(srv.stats.framesReceived);
    expect(count(report, 'frames_received')).toBe(srv.stats.framesSent);
    expect(srv.stats.framesReceived).toBe(1);
    // The poll held at the close is answered by the server as the session ends, and read.
    await srv.socketsClosed(5000);
    expect(count(report, 'bytes_sent')).toBe(srv.bytesRead());
    expect(count(report, 'bytes_received')).toBe(srv.bytesWritten());
  });
});

describe('a long-poll server that dies mid-run (audit S4 defect 5)', () => {
  it('counts the open sessions as reset, and only new sessions as connect_refused', async () => {
    const srv = await startEdgeServer();
    const run = runScenario({
      file: '<inline>',
      source: `
name: lp-dies
target: ${srv.url.replace('http:', 'ws:').replace('/lp', '/')}
transport: long-poll
connect: {timeout: 2s}
load: {model: connections, connections: 3, duration: 2500ms, gracefulStop: 1s}
steps:
  - loop:
      count: 1000
      every: 50ms
      steps:
        - send: "hello \${iter} from \${vu}"
          expect: {text: "hello \${iter} from \${vu}", timeout: 2s}
`,
      workers: 1,
    });
    // All three sessions open and talking, then the server goes away.
    await waitFor(() => srv.stats.sessions === 3 && srv.stats.framesReceived >= 15, 10_000, 'three sessions exchanging frames');
    await srv.kill();
    const { report } = await run;

    const kinds = Object.fromEntries(report.errors.map((e) => [e.kind, e.count]));
    // One error per session that was open, as ws counts a dropped connection; replacement
    // sessions are refused at their first request (backed off, so a handful).
    expect(kinds['reset'], JSON.stringify(report.errors)).toBe(3);
    expect(Object.keys(kinds).sort(), JSON.stringify(report.errors)).toEqual(
      kinds['connect_refused'] === undefined ? ['reset'] : ['connect_refused', 'reset'],
    );
    expect(firstError(report, 'reset')).toMatch(
      /^long-poll connection lost \((poll|send): connection (reset|refused) by http:\/\/127\.0\.0\.1:\d+\/lp\)$/,
    );
    if (kinds['connect_refused'] !== undefined) {
      expect(firstError(report, 'connect_refused')).toMatch(/^long-poll connection refused by http:\/\/127\.0\.0\.1:\d+\/lp$/);
    }
    expect(count(report, 'sessions_failed')).toBe(3 + (kinds['connect_refused'] ?? 0));
  });
});

describe('counts at a polite close (audit S4 defect 6a)', () => {
  it('reads the poll answer on its way when sessions close, so frames and bytes equal the server', async () => {
    // Every poll is answered at once with 5000 frames, so a poll answer is always on its way
    // when the run ends and the sessions close (1001). Before, the close aborted that poll:
    // the server had sent frames the client never counted.
    const srv = await startEdgeServer({ floodFrames: 5000 });
    const { report } = await runScenario({
      file: '<inline>',
      source: `
name: lp-flood
target: ${srv.url.replace('http:', 'ws:').replace('/lp', '/')}
transport: long-poll
connect: {timeout: 3s}
load: {model: connections, connections: 3, duration: 1500ms, gracefulStop: 200ms}
steps:
  - expect: {text: "never", timeout: 30s}
  - close: {}
`,
      workers: 1,
    });
    expect(report.errors).toEqual([]);
    expect(count(report, 'sessions_interrupted')).toBe(3);
    expect(srv.stats.closes).toBe(3);
    expect(srv.stats.framesSent).toBeGreaterThan(3 * 5000);
    expect(count(report, 'frames_received')).toBe(srv.stats.framesSent);
    expect(count(report, 'frames_skipped')).toBe(srv.stats.framesSent);
    await srv.socketsClosed(5000);
    expect(count(report, 'bytes_sent')).toBe(srv.bytesRead());
    expect(count(report, 'bytes_received')).toBe(srv.bytesWritten());
  });

  it('does not wait the close grace for a server that keeps holding the poll after the close', async () => {
    const srv = await startEdgeServer({ keepPollAtClose: true });
    const { report } = await runScenario({
      file: '<inline>',
      source: `
name: lp-keep
target: ${srv.url.replace('http:', 'ws:').replace('/lp', '/')}
transport: long-poll
connect: {timeout: 5s}
load: {model: connections, connections: 2, iterations: 4}
steps:
  - send: "hi"
    expect: {text: "hi", timeout: 2s}
  - close: {}
`,
      workers: 1,
    });
    expect(report.errors).toEqual([]);
    expect(count(report, 'sessions_completed')).toBe(8); // 4 iterations of each connection
    expect(srv.stats.closes).toBe(8);
    // The held poll is given about the close's round trip, then dropped: a session lasts a few
    // ms, where waiting for the 5 s close grace (or the server's 5 s poll timeout) took 5 s.
    expect((report.metrics['session_duration'] as TrendJson).max).toBeLessThan(2500);
  });
});

describe('frames_sent counts a frame when its request is written (audit S4 defect 6b)', () => {
  it('against a server that never answers POST /send, frames_sent equals the sends that reached it', async () => {
    // One POST at a time: the first send is written and never answered, every later frame waits
    // in the session's queue. Before, each of those queued frames was counted as sent.
    const srv = await startEdgeServer({ hangSends: true });
    const { report } = await runScenario({
      file: '<inline>',
      source: `
name: lp-hang
target: ${srv.url.replace('http:', 'ws:').replace('/lp', '/')}
transport: long-poll
connect: {timeout: 1s}
load: {model: connections, connections: 2, iterations: 1, gracefulStop: 1s}
steps:
  - loop:
      count: 20
      steps:
        - send: "frame \${iter}"
`,
      workers: 1,
    });
    expect(srv.stats.framesReceived).toBeGreaterThanOrEqual(2);
    expect(count(report, 'frames_sent')).toBe(srv.stats.framesReceived);
  });
});

