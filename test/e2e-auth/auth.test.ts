// Credentials end to end: headers from ${env.X}, cookies and query tokens from a per-session CSV
// row, and a token fetched by a `setup` request; each checked by the server that received it.
// Then autoReply against a server that interleaves application pings, and `volley run --debug`.

import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocketServer, type WebSocket } from 'ws';
import { runScenario } from '../../src/engine/coordinator.js';
import type { CounterJson, ReportJson, TrendJson } from '../../src/report/types.js';
import { runCli, tempDir } from '../helpers/cli.js';

const count = (r: ReportJson, k: string): number => (r.metrics[k] as CounterJson | undefined)?.count ?? 0;

interface Upgrade {
  authorization?: string;
  cookie?: string;
  query: Record<string, string>;
}

interface AuthServer {
  http: string;
  ws: string;
  upgrades: Upgrade[];
  logins: string[]; // request bodies of POST /login
  pongs: number;
  sent: number;
}

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (closers.length) await closers.pop()!();
});

/**
 * A ws server that admits an upgrade only when `admit` says so (else HTTP 401), greets each
 * connection with who it thinks the client is, and echoes. POST /login issues "tok-<user>".
 * With `pings`, every reply is preceded by an application ping, and pongs are counted.
 */
async function startServer(admit: (u: Upgrade) => string | undefined, opts: { pings?: boolean } = {}): Promise<AuthServer> {
  const state: AuthServer = { http: '', ws: '', upgrades: [], logins: [], pongs: 0, sent: 0 };
  const server = http.createServer((req, res) => {
    if (req.method === 'POST' && req.url === '/login') {
      let body = '';
      req.setEncoding('utf8').on('data', (d: string) => (body += d));
      req.on('end', () => {
        state.logins.push(body);
        const { user, password } = JSON.parse(body) as { user: string; password: string };
        if (password !== 'hunter2') return void res.writeHead(403).end();
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ token: `tok-${user}` }));
      });
      return;
    }
    res.writeHead(404).end();
  });
  const wss = new WebSocketServer({ noServer: true });
  server.on('upgrade', (req: http.IncomingMessage, socket, head) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const u: Upgrade = { query: Object.fromEntries(url.searchParams) };
    if (req.headers.authorization !== undefined) u.authorization = req.headers.authorization;
    if (req.headers.cookie !== undefined) u.cookie = req.headers.cookie;
    state.upgrades.push(u);
    const who = admit(u);
    if (who === undefined) {
      socket.end('HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws: WebSocket) => {
      const send = (text: string): void => {
        state.sent++;
        ws.send(text);
      };
      send(JSON.stringify({ type: 'hello', user: who }));
      ws.on('message', (data) => {
        const text = String(data);
        if (text === '{"type":"pong"}') return void state.pongs++;
        if (opts.pings) send('{"type":"ping"}');
        send(text);
      });
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  state.http = `http://127.0.0.1:${port}`;
  state.ws = `ws://127.0.0.1:${port}/chat`;
  closers.push(async () => {
    for (const c of wss.clients) c.terminate();
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
  });
  return state;
}

const cookieOf = (cookie: string | undefined, name: string): string | undefined =>
  cookie
    ?.split(/;\s*/)
    .map((kv) => kv.split('='))
    .find(([k]) => k === name)?.[1];

/** A session that must be greeted as `user` and get its echo back. */
const greetAndEcho = (user: string): string => `
steps:
  - expect: {json: {type: hello, user: "${user}"}, timeout: 3s}
    name: hello
  - send: "hi from \${vu}"
    expect: {text: "hi from \${vu}", timeout: 3s}
    name: echo
  - close: {code: 1000}
`;

describe('credentials reach the server', () => {
  it('an Authorization header from ${env.API_TOKEN}', async () => {
    const s = await startServer((u) => (u.authorization === 'Bearer s3cret-env' ? 'env-user' : undefined));
    const source = `
name: auth-env-header
target: ${s.ws}
connect: {headers: {Authorization: "Bearer \${env.API_TOKEN}"}}
load: {connections: 3}
${greetAndEcho('env-user')}`;
    const { report } = await runScenario({ file: '<inline>', source, env: { API_TOKEN: 's3cret-env' }, workers: 1 });
    expect(s.upgrades.map((u) => u.authorization)).toEqual(['Bearer s3cret-env', 'Bearer s3cret-env', 'Bearer s3cret-env']);
    expect(count(report, 'errors'), JSON.stringify(report.errors)).toBe(0);
    expect(count(report, 'sessions_completed')).toBe(3);

    // The same scenario with another token: the server refuses every upgrade, and says so.
    const refused = await runScenario({ file: '<inline>', source, env: { API_TOKEN: 'wrong' }, workers: 1 });
    expect(count(refused.report, 'errors{kind:handshake_rejected}')).toBe(3);
    expect(refused.report.errors[0]?.first).toMatch(/401/);
    expect(refused.noConnection).toBe(true);
  });

  it('a Cookie from each session’s own CSV row', async () => {
    const dir = tempDir('volley-auth-');
    writeFileSync(path.join(dir, 'users.csv'), 'user,sid\nann,c-111\nbob,c-222\ncid,c-333\n');
    const sids: Record<string, string> = { 'c-111': 'ann', 'c-222': 'bob', 'c-333': 'cid' };
    const s = await startServer((u) => sids[cookieOf(u.cookie, 'sid') ?? '']);
    const file = path.join(dir, 'cookies.yaml');
    writeFileSync(
      file,
      `name: auth-cookie
target: ${s.ws}
data: {file: users.csv, order: sequential}
connect: {headers: {Cookie: "sid=\${data.sid}; theme=dark"}}
load: {connections: 3}
${greetAndEcho('${data.user}')}`,
    );
    const { report } = await runScenario({ file, workers: 2 });
    expect(count(report, 'errors'), JSON.stringify(report.errors)).toBe(0);
    // Each row once: every session carried its own cookie, and was greeted as its own user.
    expect(s.upgrades.map((u) => cookieOf(u.cookie, 'sid')).sort()).toEqual(['c-111', 'c-222', 'c-333']);
    expect(s.upgrades.every((u) => cookieOf(u.cookie, 'theme') === 'dark')).toBe(true);
    expect((report.metrics['wait{name:hello}'] as TrendJson).count).toBe(3);
  });

  it('a query token from the CSV row, beside an API key from ${env.X}', async () => {
    const dir = tempDir('volley-auth-');
    writeFileSync(path.join(dir, 'tokens.csv'), 'user,token\nann,qt-a&b=c\nbob,qt-2\n');
    const tokens: Record<string, string> = { 'qt-a&b=c': 'ann', 'qt-2': 'bob' };
    const s = await startServer((u) => (u.query['key'] === 'k-env' ? tokens[u.query['token'] ?? ''] : undefined));
    const file = path.join(dir, 'query.yaml');
    writeFileSync(
      file,
      `name: auth-query
target: ${s.ws}?v=1
data: {file: tokens.csv}
connect: {query: {token: "\${data.token}", key: "\${env.API_KEY}"}}
load: {connections: 2}
${greetAndEcho('${data.user}')}`,
    );
    const { report } = await runScenario({ file, env: { API_KEY: 'k-env' }, workers: 1 });
    expect(count(report, 'errors'), JSON.stringify(report.errors)).toBe(0);
    // Rendered values are URL-encoded (the & and = survive) and the target's own query is kept.
    expect(s.upgrades.map((u) => u.query).sort((a, b) => (a['token']! < b['token']! ? -1 : 1))).toEqual([
      { v: '1', token: 'qt-2', key: 'k-env' },
      { v: '1', token: 'qt-a&b=c', key: 'k-env' },
    ]);
  });

  it('a token fetched once by a setup request, sent as a header and a query parameter', async () => {
    const s = await startServer((u) =>
      u.authorization === 'Bearer tok-loadtest' && u.query['token'] === 'tok-loadtest' ? 'loadtest' : undefined,
    );
    const source = `
name: auth-setup
target: ${s.ws}
setup:
  - request:
      method: POST
      url: "${s.http}/login"
      headers: {Content-Type: application/json}
      body: '{"user":"loadtest","password":"\${env.PASSWORD}"}'
    capture: {token: $.token}
connect:
  headers: {Authorization: "Bearer \${token}"}
  query: {token: "\${token}"}
load: {connections: 3}
${greetAndEcho('loadtest')}`;
    const { report } = await runScenario({ file: '<inline>', source, env: { PASSWORD: 'hunter2' }, workers: 2 });
    expect(s.logins).toEqual(['{"user":"loadtest","password":"hunter2"}']);
    expect(s.upgrades).toHaveLength(3);
    expect(count(report, 'errors'), JSON.stringify(report.errors)).toBe(0);
    expect(count(report, 'sessions_completed')).toBe(3);
  });
});

describe('autoReply', () => {
  it('answers the server’s application pings; expects never see them; the server counts the pongs', async () => {
    const s = await startServer(() => 'pinged', { pings: true });
    const ROUNDS = 6;
    const CONNECTIONS = 3;
    const source = `
name: auto-reply
target: ${s.ws}
autoReply:
  - json: {type: ping}
    send: {json: {type: pong}}
load: {connections: ${CONNECTIONS}}
steps:
  - expect: {json: {type: hello}, timeout: 3s}
  - loop:
      count: ${ROUNDS}
      steps:
        # strict: a ping reaching this expect would fail it as unexpected_frame.
        - send: {json: {type: req, n: "\${iter}"}}
          expect: {json: {type: req, n: "\${iter}"}, strict: true, timeout: 3s}
          name: req
  - think: 100ms
  - close: {code: 1000}
`;
    const { report } = await runScenario({ file: '<inline>', source, workers: 1 });
    expect(count(report, 'errors'), JSON.stringify(report.errors)).toBe(0);
    expect(s.pongs).toBe(CONNECTIONS * ROUNDS);
    expect(count(report, 'frames_skipped')).toBe(0);
    expect((report.metrics['latency{name:req}'] as TrendJson).count).toBe(CONNECTIONS * ROUNDS);
    // Every frame is counted, pings included: hello, and a ping and a reply per round.
    expect(count(report, 'frames_received')).toBe(s.sent);
    expect(s.sent).toBe(CONNECTIONS * (1 + 2 * ROUNDS));
    expect(count(report, 'frames_sent')).toBe(CONNECTIONS * 2 * ROUNDS);
  });
});

describe('volley run --debug', () => {
  it('prints the first session’s handshake and every frame, with relative times and directions', async () => {
    const s = await startServer((u) => (u.authorization === 'Bearer dbg' ? 'dbg' : undefined));
    const dir = tempDir('volley-debug-');
    const file = path.join(dir, 'debug.yaml');
    writeFileSync(
      file,
      `name: debug
target: ${s.ws}
connect: {headers: {Authorization: "Bearer dbg"}}
load: {connections: 2}
${greetAndEcho('dbg')}`,
    );
    const r = await runCli(['run', file, '--debug', '--workers', '1', '--out', path.join(dir, 'out'), '--no-html'], { timeoutMs: 30_000 });
    expect(r.code, r.stderr).toBe(0);
    const lines = (r.stdout + r.stderr).split('\n').filter((l) => /^\+\s*\d+\.\dms /.test(l));
    const body = lines.map((l) => l.replace(/^\+\s*\d+\.\dms /, ''));
    // Only the first session: one handshake, its own frames.
    expect(body.filter((l) => l.startsWith('handshake: GET'))).toEqual([`handshake: GET ${s.ws}`]);
    expect(body).toContain('  Authorization: Bearer dbg');
    expect(body).toContain('handshake: HTTP/1.1 101 Switching Protocols');
    expect(body.some((l) => /^ {2}Sec-WebSocket-Accept: \S+$/.test(l))).toBe(true);
    expect(body).toContain('← {"type":"hello","user":"dbg"}');
    const vu = body.find((l) => l.startsWith('→ hi from '))!.slice('→ hi from '.length);
    expect(body).toContain(`← hi from ${vu}`);
    expect(body.filter((l) => l.startsWith('→ ') || l.startsWith('← '))).toHaveLength(3);
    // In order: request, response, greeting, send, echo; times never go backwards.
    const at = (prefix: string): number => body.findIndex((l) => l.startsWith(prefix));
    expect(at('handshake: GET')).toBeLessThan(at('handshake: HTTP/1.1 101'));
    expect(at('handshake: HTTP/1.1 101')).toBeLessThan(at('← {"type":"hello"'));
    expect(at('→ hi from')).toBeLessThan(at('← hi from'));
    const times = lines.map((l) => Number(/^\+\s*(\d+\.\d)ms/.exec(l)![1]));
    expect(times).toEqual([...times].sort((a, b) => a - b));
  });

  it('prints a Socket.IO session’s HTTP handshake and its events', async () => {
    const { startSocketIoServer } = await import('../socketio/helpers.js');
    const sio = await startSocketIoServer();
    closers.push(() => sio.close());
    sio.io.on('connection', (socket) => socket.on('echo', (d: unknown, ack: (v: unknown) => void) => ack(d)));
    const dir = tempDir('volley-debug-');
    const file = path.join(dir, 'sio.yaml');
    writeFileSync(
      file,
      `name: sio-debug
target: ${sio.url}
transport: socket.io
connect: {headers: {X-Trace: abc}}
load: {connections: 1}
steps:
  - emit: {event: echo, data: {n: 1}, ack: true, timeout: 3s}
  - close: {code: 1000}
`,
    );
    const r = await runCli(['run', file, '--debug', '--workers', '1', '--out', path.join(dir, 'out'), '--no-html'], { timeoutMs: 30_000 });
    expect(r.code, r.stderr).toBe(0);
    const body = debugLines(r);
    expect(body[0]).toBe('> GET /socket.io/?EIO=4&transport=websocket HTTP/1.1');
    expect(body).toContain('    X-Trace: abc');
    expect(body).toContain('< HTTP/1.1 101 Switching Protocols');
    expect(body).toContain('> echo {"n":1}');
    expect(body).toContain('< ack echo {"n":1}');
  });

  it('--debug over long-poll prints the frames both ways, as over ws', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'lp.yaml');
    writeFileSync(file, 'name: lp-debug\ntarget: builtin:echo\ntransport: long-poll\nload: {connections: 1}\nsteps:\n  - send: "hello lp"\n    expect: {text: "hello lp"}\n  - send: {binary: "AAEC"}\n    expect: {binary: "AAEC"}\n');
    const r = await runCli(['run', file, '--debug', '--workers', '1', '--out', path.join(dir, 'out'), '--no-html'], { timeoutMs: 30_000 });
    expect(r.code, r.stderr).toBe(0);
    const body = debugLines(r);
    expect(body).toContain('→ hello lp');
    expect(body).toContain('← hello lp');
    expect(body).toContain('→ binary 3 bytes');
    expect(body).toContain('← binary 3 bytes');
  });
});

/** The lines --debug printed, without their "+  12.3ms " time stamps. */
function debugLines(r: { stdout: string; stderr: string }): string[] {
  return (r.stdout + r.stderr)
    .split('\n')
    .filter((l) => /^\+\s*\d+\.\dms /.test(l))
    .map((l) => l.replace(/^\+\s*\d+\.\dms /, ''));
}
