// Helpers for the distributed tests: a ws echo server that remembers, per connection, which
// shard it came from (an X-Shard header the scenario sets from ${env.SHARD}) and the first frame
// it sent ("join NAME VU"), and the real CLI as a child process (test/helpers/cli.ts) with its own env.

import { readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { WebSocketServer } from 'ws';
import type { ReportJson } from '../../src/report/types.js';
import { repoRoot, startCli, tempDir as makeTempDir } from '../helpers/cli.js';
import type { CliRun } from '../helpers/cli.js';

export { repoRoot };

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

/** `node bin/volley.js <args>` with extra env; SIGKILLed after `killAfterMs` so a hang fails. */
export function volley(args: string[], opts: { env?: Record<string, string>; cwd?: string; killAfterMs?: number } = {}): CliRun {
  return startCli(args, { env: opts.env, cwd: opts.cwd, timeoutMs: opts.killAfterMs ?? 40_000 });
}

export function tempDir(): string {
  return makeTempDir('volley-dist-');
}

export function readJson(file: string): ReportJson {
  return JSON.parse(readFileSync(file, 'utf8')) as ReportJson;
}

export { counter } from '../helpers/metrics.js';

export async function until(cond: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
