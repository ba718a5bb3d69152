import { afterEach, describe, expect, it } from 'vitest';
import { startTarget, type RunningTarget } from '../../src/targets/index.js';
import { LpClient, WsClient } from './helpers.js';

let target: RunningTarget | undefined;
afterEach(async () => {
  await target?.close();
  target = undefined;
});

describe('echo target over WebSocket', () => {
  it('sends a text frame back as text and a binary frame back as the same bytes', async () => {
    target = await startTarget('echo');
    const c = await WsClient.open(target.url);
    const bytes = Buffer.from([0, 1, 2, 254, 255]);
    c.send('hello');
    c.send(bytes);
    c.send('');
    const frames = await c.next(3);
    expect(frames[0]).toBe('hello');
    expect(Buffer.isBuffer(frames[1])).toBe(true);
    expect(frames[1]).toEqual(bytes);
    expect(frames[2]).toBe('');
    await c.close();
  });

  it('accepts the upgrade on any path', async () => {
    target = await startTarget('echo');
    const c = await WsClient.open(`${target.url}some/deep/path?x=1`);
    c.send('x');
    expect(await c.next(1)).toEqual(['x']);
    await c.close();
  });

  it('keeps the order of many quick frames', async () => {
    target = await startTarget('echo');
    const c = await WsClient.open(target.url);
    for (let i = 0; i < 200; i++) c.send(`m${i}`);
    const frames = await c.next(200);
    expect(frames).toEqual(Array.from({ length: 200 }, (_, i) => `m${i}`));
    await c.close();
  });
});

describe('echo target over long-poll', () => {
  it('answers the poll that opens a session at once, then returns sent frames in order (text and binary)', async () => {
    target = await startTarget('echo', { pollTimeoutMs: 5000 });
    const c = new LpClient(target.longPollUrl);
    expect((await c.poll()).status).toBe(204);
    expect(await c.send('hello')).toBe(204);
    expect(await c.send(Buffer.from([9, 8, 7]))).toBe(204);
    expect(await c.send('{"a":1}')).toBe(204);
    const res = await c.poll();
    expect(res.status).toBe(200);
    expect(res.frames).toEqual(['hello', Buffer.from([9, 8, 7]), '{"a":1}']);
    await c.destroy();
  });

  it('holds a poll until a frame is queued, sent on the other connection', async () => {
    target = await startTarget('echo', { pollTimeoutMs: 10_000 });
    const c = new LpClient(target.longPollUrl);
    await c.poll();
    const held = c.poll();
    let settled = false;
    void held.then(() => (settled = true));
    await new Promise((r) => setTimeout(r, 50));
    expect(settled).toBe(false);
    await c.send('late');
    expect(await held).toEqual({ status: 200, frames: ['late'] });
    await c.destroy();
  });

  it('answers a held poll with 204 after the poll timeout', async () => {
    target = await startTarget('echo', { pollTimeoutMs: 200 });
    const c = new LpClient(target.longPollUrl);
    await c.poll(); // opens the session
    const res = await c.poll();
    expect(res.status).toBe(204);
    expect(c.frames).toEqual([]);
    await c.destroy();
  });

  it('answers 204 to ping, and 410 to every request once the session is closed', async () => {
    target = await startTarget('echo', { pollTimeoutMs: 5000 });
    const c = new LpClient(target.longPollUrl);
    await c.send('x');
    expect((await c.request('GET', 'ping')).status).toBe(204);
    expect((await c.request('POST', 'close')).status).toBe(204);
    expect((await c.request('GET', 'poll')).status).toBe(410);
    expect(await c.send('y')).toBe(410);
    expect(target.stats().openConnections).toBe(0);
    await c.destroy();
  });

  it('ends a held poll with 204 when the client closes its session', async () => {
    target = await startTarget('echo', { pollTimeoutMs: 10_000 });
    const c = new LpClient(target.longPollUrl);
    await c.poll();
    const held = c.poll();
    await new Promise((r) => setTimeout(r, 20));
    expect((await c.request('POST', 'close')).status).toBe(204);
    expect((await held).status).toBe(204);
    await c.destroy();
  });

  it('expires a session left idle for twice the poll timeout', async () => {
    target = await startTarget('echo', { pollTimeoutMs: 100 });
    const c = new LpClient(target.longPollUrl);
    await c.send('x');
    expect(target.stats().openConnections).toBe(1);
    await new Promise((r) => setTimeout(r, 500));
    expect(target.stats().openConnections).toBe(0);
    expect((await c.request('GET', 'poll')).status).toBe(410);
    await c.destroy();
  });

  it.each([
    ['a missing session', 'GET', '/lp/poll', 400],
    ['an invalid session id', 'GET', '/lp/poll?session=a%20b', 400],
    ['an unknown endpoint', 'GET', '/lp/nope?session=a', 404],
    ['the wrong method', 'GET', '/lp/send?session=a', 405],
    ['an unknown path outside /lp', 'GET', '/nothing-here', 404],
  ])('refuses %s with %s %s -> %i', async (_what, method, path, status) => {
    target = await startTarget('echo');
    const res = await fetch(new URL(path, target.httpUrl), { method });
    expect(res.status).toBe(status);
    await res.arrayBuffer();
  });

  it('refuses a frame over 1 MiB with 413 and keeps serving', async () => {
    target = await startTarget('echo');
    const c = new LpClient(target.longPollUrl);
    expect(await c.send(Buffer.alloc(1024 * 1024 + 1))).toBe(413);
    const d = new LpClient(target.longPollUrl);
    expect(await d.send('still here')).toBe(204);
    await c.destroy();
    await d.destroy();
  });
});

describe('echo target misc', () => {
  it('serves the demo page at GET /', async () => {
    target = await startTarget('echo');
    const res = await fetch(target.httpUrl);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/text\/html/);
    const html = await res.text();
    expect(html).toContain('volley target: echo');
    expect(html).toContain('new WebSocket(');
    expect(html).not.toMatch(/<script[^>]+src=|<link[^>]+href=/);
  });

  it('survives a client that sends garbage instead of a handshake or a frame', async () => {
    target = await startTarget('echo');
    const { connect } = await import('node:net');
    const raw = connect(target.port, '127.0.0.1');
    await new Promise<void>((r) => raw.once('connect', () => r()));
    raw.write('GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n\xff\xff\xff garbage');
    await new Promise<void>((r) => raw.once('close', () => r()).resume());
    const c = await WsClient.open(target.url);
    c.send('ok');
    expect(await c.next(1)).toEqual(['ok']);
    await c.close();
  });

  it('reports the bound port and URLs, and fails to bind a port in use with a one-line error', async () => {
    target = await startTarget('echo');
    expect(target.url).toBe(`ws://127.0.0.1:${target.port}/`);
    expect(target.httpUrl).toBe(`http://127.0.0.1:${target.port}/`);
    expect(target.longPollUrl).toBe(`http://127.0.0.1:${target.port}/lp`);
    await expect(startTarget('echo', { port: target.port })).rejects.toMatchObject({
      name: 'VolleyError',
      code: 'INVALID_INPUT',
      message: `cannot listen on 127.0.0.1:${target.port} for the echo target: address already in use`,
    });
  });

  it('refuses an unknown target name', async () => {
    await expect(startTarget('nope' as 'echo')).rejects.toMatchObject({ code: 'INVALID_INPUT' });
  });
});
