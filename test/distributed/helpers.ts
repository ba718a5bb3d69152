// Helpers for the distributed tests: a ws echo server that remembers, per connection, which
// shard it came from (an X-Shard header the scenario sets from ${env.SHARD}) and the first frame
// it sent ("join NAME VU"), and a runner for the real CLI as a child process with its own env.

import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { WebSocketServer } from 'ws';
import type { ReportJson } from '../../src/report/types.js';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const bin = path.join(repoRoot, 'bin/volley.js');

export interface SeenConnection {
  shard: string | undefined;
  /** From the first frame, "join NAME VU". */
  name?: string;
  vu?: number;
  framesReceived: number;
  framesSent: number;
}

export interface CountingServer {
  url: string;
  connections: SeenConnection[];
  framesReceived(): number;
  framesSent(): number;
  close(): Promise<void>;
}

/**
 * Echoes every frame. Connections whose first frame names a user starting with "slow" get every
 * echo delayed by `slowDelayMs`, so one shard's latencies can be made to differ from the rest.
 */
export async function startCountingServer(opts: { slowDelayMs?: number } = {}): Promise<CountingServer> {
  const httpServer = http.createServer();
  const sockets = new Set<Socket>();
  httpServer.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  const wss = new WebSocketServer({ server: httpServer });
  const connections: SeenConnection[] = [];
  wss.on('connection', (ws, req) => {
    const header = req.headers['x-shard'];
    const seen: SeenConnection = { shard: Array.isArray(header) ? header[0] : header, framesReceived: 0, framesSent: 0 };
    connections.push(seen);
    ws.on('error', () => undefined);
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      seen.framesReceived++;
      if (seen.framesReceived === 1) {
        const m = /^join (\S+) (\d+)$/.exec(data.toString('utf8'));
        if (m) {
          seen.name = m[1]!;
          seen.vu = Number(m[2]);
        }
      }
      const echo = (): void => {
        if (ws.readyState !== ws.OPEN) return;
        seen.framesSent++;
        ws.send(data, { binary: isBinary });
      };
      if (opts.slowDelayMs && seen.name?.startsWith('slow')) setTimeout(echo, opts.slowDelayMs);
      else echo();
    });
  });
  await new Promise<void>((resolve, reject) => {
    httpServer.once('error', reject);
    httpServer.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (httpServer.address() as AddressInfo).port;
  return {
    url: `ws://127.0.0.1:${port}/`,
    connections,
    framesReceived: () => connections.reduce((a, c) => a + c.framesReceived, 0),
    framesSent: () => connections.reduce((a, c) => a + c.framesSent, 0),
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => wss.close(() => r()));
      await new Promise<void>((r) => httpServer.close(() => r()));
    },
  };
}

export function tempDir(): string {
  return mkdtempSync(path.join(os.tmpdir(), 'volley-dist-'));
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface CliRun {
  child: ChildProcess;
  done: Promise<CliResult>;
}

/** `node bin/volley.js <args>` with extra env; SIGKILLed after `killAfterMs` so a hang fails. */
export function volley(args: string[], opts: { env?: Record<string, string>; cwd?: string; killAfterMs?: number } = {}): CliRun {
  const child = spawn(process.execPath, [bin, ...args], {
    cwd: opts.cwd ?? repoRoot,
    env: { ...process.env, NO_COLOR: '1', ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const killer = setTimeout(() => child.kill('SIGKILL'), opts.killAfterMs ?? 40_000);
  const done = new Promise<CliResult>((resolve) => {
    child.on('close', (code) => {
      clearTimeout(killer);
      resolve({ code, stdout, stderr });
    });
  });
  return { child, done };
}

export function readJson(file: string): ReportJson {
  return JSON.parse(readFileSync(file, 'utf8')) as ReportJson;
}

export function counter(report: ReportJson, key: string): number {
  const m = report.metrics[key];
  if (m?.type !== 'counter') throw new Error(`${key} is not a counter in the report`);
  return m.count;
}

export async function until(cond: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
