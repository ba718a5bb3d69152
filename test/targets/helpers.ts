// Real clients for the target tests: a WebSocket client that collects frames, and a long-poll
// client on node:http with its own keep-alive agent that remembers its sockets, so a test can
// compare the bytes its sockets wrote and read with what the target counted.

import { randomUUID } from 'node:crypto';
import { Agent, request } from 'node:http';
import type { Socket } from 'node:net';
import WebSocket from 'ws';

export type Frame = string | Buffer;

/** Waits until cond() holds, checking every few ms, for at most timeoutMs; never throws. */
export async function waitFor(cond: () => boolean, timeoutMs = 3000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 5));
  }
  return true;
}

export class WsClient {
  readonly frames: Frame[] = [];
  socket: Socket | undefined;
  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      this.frames.push(isBinary ? data : data.toString('utf8'));
    });
    ws.on('upgrade', (res) => {
      this.socket = res.socket as Socket;
    });
  }

  static async open(url: string): Promise<WsClient> {
    const c = new WsClient(new WebSocket(url));
    await new Promise<void>((resolve, reject) => {
      c.ws.once('open', () => resolve());
      c.ws.once('error', reject);
    });
    return c;
  }

  send(frame: Frame): void {
    this.ws.send(frame, { binary: typeof frame !== 'string' });
  }

  /** Resolves with the first n frames once they arrived (throws after timeoutMs). */
  async next(n: number, timeoutMs = 3000): Promise<Frame[]> {
    if (!(await waitFor(() => this.frames.length >= n, timeoutMs))) {
      throw new Error(`expected ${n} frames, got ${this.frames.length}: ${JSON.stringify(this.frames.map(String))}`);
    }
    return this.frames.slice(0, n);
  }

  json(i: number): Record<string, unknown> {
    return JSON.parse(String(this.frames[i])) as Record<string, unknown>;
  }

  async close(): Promise<void> {
    if (this.ws.readyState === WebSocket.CLOSED) return;
    await new Promise<void>((resolve) => {
      this.ws.once('close', () => resolve());
      this.ws.close(1000, 'done');
    });
    const s = this.socket;
    if (s && !s.closed) await new Promise<void>((resolve) => s.once('close', () => resolve()));
  }
}

export interface LpResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

export class LpClient {
  readonly sessionId: string;
  readonly sockets = new Set<Socket>();
  /** Frames received by poll(), in order. */
  readonly frames: Frame[] = [];
  private readonly agent = new Agent({ keepAlive: true, maxSockets: 2 });

  constructor(
    readonly baseUrl: string,
    sessionId?: string,
    private readonly extraQuery = '',
  ) {
    this.sessionId = sessionId ?? randomUUID();
  }

  request(method: 'GET' | 'POST', op: string, body?: Frame, contentType?: string): Promise<LpResponse> {
    const url = new URL(`${this.baseUrl}/${op}?session=${encodeURIComponent(this.sessionId)}${this.extraQuery}`);
    return new Promise((resolve, reject) => {
      const headers: Record<string, string | number> = {};
      if (body !== undefined) {
        headers['content-type'] = contentType ?? (typeof body === 'string' ? 'text/plain; charset=utf-8' : 'application/octet-stream');
        headers['content-length'] = Buffer.byteLength(body);
      }
      const req = request(url, { method, agent: this.agent, headers }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
        res.on('error', reject);
      });
      req.on('socket', (s: Socket) => this.sockets.add(s));
      req.on('error', reject);
      req.end(body);
    });
  }

  async send(frame: Frame): Promise<number> {
    return (await this.request('POST', 'send', frame)).status;
  }

  /** One poll; a 200's frames are decoded and appended to `frames`. */
  async poll(): Promise<{ status: number; frames: Frame[] }> {
    const res = await this.request('GET', 'poll');
    if (res.status !== 200) return { status: res.status, frames: [] };
    const raw = JSON.parse(res.body.toString('utf8')) as (string | { base64: string })[];
    const frames = raw.map((f) => (typeof f === 'string' ? f : Buffer.from(f.base64, 'base64')));
    this.frames.push(...frames);
    return { status: res.status, frames };
  }

  /** Polls until n frames in total arrived, for at most timeoutMs (a poll in flight finishes). */
  async pollUntil(n: number, timeoutMs = 3000): Promise<Frame[]> {
    const deadline = Date.now() + timeoutMs;
    while (this.frames.length < n && Date.now() < deadline) {
      const { status } = await this.poll();
      if (status !== 200 && status !== 204) throw new Error(`poll answered ${status}`);
    }
    if (this.frames.length < n) throw new Error(`expected ${n} frames, got ${this.frames.length}`);
    return this.frames.slice(0, n);
  }

  json(i: number): Record<string, unknown> {
    return JSON.parse(String(this.frames[i])) as Record<string, unknown>;
  }

  get bytesWritten(): number {
    let n = 0;
    for (const s of this.sockets) n += s.bytesWritten;
    return n;
  }

  get bytesRead(): number {
    let n = 0;
    for (const s of this.sockets) n += s.bytesRead;
    return n;
  }

  /** Closes the agent's sockets and waits until they are closed. */
  async destroy(): Promise<void> {
    this.agent.destroy();
    await Promise.all(
      [...this.sockets].map((s) => (s.closed ? undefined : new Promise<void>((r) => s.once('close', () => r())))),
    );
  }
}
