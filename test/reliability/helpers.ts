// Misbehaving servers written for the reliability tests, and a runner that drives the real CLI
// (`node bin/volley.js run …`) as a child process. Every server counts what it saw on its own
// sockets, so tests reconcile volley's report with the server's view.

import type { ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo, Socket } from 'node:net';
import path from 'node:path';
import { WebSocketServer } from 'ws';
import type WebSocket from 'ws';
import type { ReportJson } from '../../src/report/types.js';
import { startCli, tempDir as makeTempDir } from '../helpers/cli.js';

export interface TestServer {
  url: string;
  port: number;
  /** TCP connections accepted. */
  connections: number;
  /** WebSocket frames the server read / wrote (ws servers only). */
  framesReceived: number;
  framesSent: number;
  close(): Promise<void>;
}

function trackSockets(server: net.Server): Set<Socket> {
  const sockets = new Set<Socket>();
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  return sockets;
}

async function listen(server: net.Server, port = 0): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  return (server.address() as AddressInfo).port;
}

export interface WsServerHooks {
  onConnection?: (ws: WebSocket, socket: Socket, server: TestServer) => void;
  /** Default: echo the frame back (counted). */
  onFrame?: (ws: WebSocket, data: Buffer, isBinary: boolean, server: TestServer) => void;
}

/** A `ws` server on 127.0.0.1 (port 0 unless given) that echoes unless told otherwise. */
export async function startWsServer(hooks: WsServerHooks = {}, port = 0): Promise<TestServer> {
  const httpServer = http.createServer();
  const sockets = trackSockets(httpServer);
  const wss = new WebSocketServer({ server: httpServer, maxPayload: 256 * 1024 * 1024 });
  const realPort = await listen(httpServer, port);
  const state: TestServer = {
    url: `ws://127.0.0.1:${realPort}/`,
    port: realPort,
    connections: 0,
    framesReceived: 0,
    framesSent: 0,
    // Stop listening first, then cut every socket: a client reconnecting in between would
    // otherwise land on a server whose upgrade handler is gone and hang until its own timeout.
    close: async () => {
      const closed = new Promise<void>((r) => httpServer.close(() => r()));
      for (const s of sockets) s.destroy();
      wss.close();
      await closed;
    },
  };
  wss.on('connection', (ws, req) => {
    state.connections++;
    hooks.onConnection?.(ws, req.socket, state);
    ws.on('error', () => undefined);
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      state.framesReceived++;
      if (hooks.onFrame) hooks.onFrame(ws, data, isBinary, state);
      else {
        state.framesSent++;
        ws.send(data, { binary: isBinary });
      }
    });
  });
  return state;
}

/** A raw TCP server: `onSocket` decides what (if anything) the peer ever sees. */
export async function startRawServer(onSocket: (socket: Socket) => void): Promise<TestServer> {
  const server = net.createServer();
  const sockets = trackSockets(server);
  const port = await listen(server);
  const state: TestServer = {
    url: `ws://127.0.0.1:${port}/`,
    port,
    connections: 0,
    framesReceived: 0,
    framesSent: 0,
    close: async () => {
      const closed = new Promise<void>((r) => server.close(() => r()));
      for (const s of sockets) s.destroy();
      await closed;
    },
  };
  server.on('connection', (s) => {
    state.connections++;
    s.on('error', () => undefined);
    onSocket(s);
  });
  return state;
}

/** A port with nothing listening on it (bound, then closed). */
export async function freePort(): Promise<number> {
  const s = net.createServer();
  const port = await listen(s);
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** Milliseconds from spawn to exit. */
  elapsedMs: number;
  outDir: string;
  report: ReportJson | undefined;
}

export interface CliRun {
  child: ChildProcess;
  /** Resolves once the child wrote this on stdout or stderr (or rejects at the timeout). */
  waitFor(text: string | RegExp, timeoutMs: number): Promise<void>;
  done: Promise<CliResult>;
}

export function tempDir(prefix = 'volley-rel-'): string {
  return makeTempDir(prefix);
}

export function writeScenario(dir: string, yaml: string, name = 'scenario.yaml'): string {
  const file = path.join(dir, name);
  writeFileSync(file, yaml);
  return file;
}

/**
 * Spawns `node bin/volley.js <args>`. The child is killed (SIGKILL) after `killAfterMs`, so a
 * hang fails the test instead of the suite. `--out` defaults to a fresh temp folder.
 */
export function runCli(
  args: string[],
  opts: { killAfterMs?: number; outDir?: string; cwd?: string; env?: Record<string, string> } = {},
): CliRun {
  const outDir = opts.outDir ?? path.join(tempDir(), 'out');
  const fullArgs = args[0] === 'run' && !args.includes('--out') ? [...args, '--out', outDir] : args;
  const started = Date.now();
  let printed = '';
  const watchers: { text: string | RegExp; resolve: () => void }[] = [];
  const check = (): void => {
    for (let i = watchers.length - 1; i >= 0; i--) {
      const w = watchers[i]!;
      if (typeof w.text === 'string' ? printed.includes(w.text) : w.text.test(printed)) {
        watchers.splice(i, 1);
        w.resolve();
      }
    }
  };
  const watch = (d: string): void => {
    printed += d;
    check();
  };
  const run = startCli(fullArgs, { cwd: opts.cwd, env: opts.env, timeoutMs: opts.killAfterMs ?? 30_000, onStdout: watch, onStderr: watch });
  const child = run.child;
  const done = run.done.then((r): CliResult => {
    const reportFile = path.join(outDir, 'report.json');
    const report = existsSync(reportFile) ? (JSON.parse(readFileSync(reportFile, 'utf8')) as ReportJson) : undefined;
    return { ...r, elapsedMs: Date.now() - started, outDir, report };
  });
  return {
    child,
    done,
    waitFor: (text, timeoutMs) =>
      new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no ${String(text)} within ${timeoutMs}ms; output: ${printed}`)), timeoutMs);
        watchers.push({
          text,
          resolve: () => {
            clearTimeout(timer);
            resolve();
          },
        });
        check();
      }),
  };
}

export { counter, trendCount } from '../helpers/metrics.js';

/** Every errors{kind:…} counter in a report, as {kind: count}. */
export function errorKinds(report: ReportJson | undefined): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, m] of Object.entries(report?.metrics ?? {})) {
    const match = /^errors\{kind:([a-z_]+)\}$/.exec(k);
    if (match && m.type === 'counter') out[match[1]!] = m.count;
  }
  return out;
}
