import { afterEach, describe, expect, it } from 'vitest';
import { startTarget, type RunningTarget } from '../../src/targets/index.js';
import { feedRateFor } from '../../src/targets/feed.js';
import { LpClient, WsClient, waitFor } from './helpers.js';

let target: RunningTarget | undefined;
afterEach(async () => {
  await target?.close();
  target = undefined;
});

interface Tick {
  type: string;
  seq: number;
  sentAt: number;
}

function ticksOf(frames: (string | Buffer)[]): Tick[] {
  return frames
    .map((f) => JSON.parse(String(f)) as Tick)
    .filter((f) => f.type === 'tick');
}

describe('feed target', () => {
  it('pushes numbered ticks at roughly the configured rate over WebSocket, stamped with epoch ms', async () => {
    target = await startTarget('feed', { feedRatePerSecond: 50 });
    const c = await WsClient.open(target.url);
    const openedAt = Date.now();
    await new Promise((r) => setTimeout(r, 1000));
    const elapsedS = (Date.now() - openedAt) / 1000;
    const ticks = ticksOf(c.frames);
    await c.close();
    // Loose bounds: the shared machine may stall, but 50/s must not look like 10/s or 200/s.
    expect(ticks.length).toBeGreaterThanOrEqual(25);
    expect(ticks.length).toBeLessThanOrEqual(Math.ceil(50 * elapsedS) + 5);
    expect(ticks.map((t) => t.seq)).toEqual(Array.from({ length: ticks.length }, (_, i) => i + 1));
    for (const t of ticks) {
      expect(t.sentAt).toBeGreaterThan(openedAt - 1000);
      expect(t.sentAt).toBeLessThanOrEqual(Date.now() + 1);
    }
    expect(ticks.some((t) => !Number.isInteger(t.sentAt))).toBe(true); // a fraction of a ms
  });

  it('lets a connection pick its own rate with ?rate=', async () => {
    target = await startTarget('feed', { feedRatePerSecond: 2 });
    const fast = await WsClient.open(`${target.url}?rate=100`);
    const slow = await WsClient.open(target.url);
    await new Promise((r) => setTimeout(r, 600));
    const fastCount = ticksOf(fast.frames).length;
    const slowCount = ticksOf(slow.frames).length;
    await Promise.all([fast.close(), slow.close()]);
    expect(fastCount).toBeGreaterThanOrEqual(20);
    expect(slowCount).toBeLessThanOrEqual(2);
  });

  it('echoes text frames between ticks', async () => {
    target = await startTarget('feed', { feedRatePerSecond: 20 });
    const c = await WsClient.open(target.url);
    c.send('ping-me');
    expect(await waitFor(() => c.frames.includes('ping-me'))).toBe(true);
    await c.close();
  });

  it('delivers ticks over long-poll, batching what queued between polls', async () => {
    target = await startTarget('feed', { feedRatePerSecond: 100, pollTimeoutMs: 2000 });
    const c = new LpClient(target.longPollUrl);
    await c.pollUntil(20);
    const ticks = ticksOf(c.frames);
    expect(ticks.length).toBeGreaterThanOrEqual(20);
    expect(ticks.map((t) => t.seq)).toEqual(Array.from({ length: ticks.length }, (_, i) => i + 1));
    await c.request('POST', 'close');
    await c.destroy();
  });

  it('stops ticking to a long-poll session once it is closed', async () => {
    target = await startTarget('feed', { feedRatePerSecond: 100, pollTimeoutMs: 2000 });
    const c = new LpClient(target.longPollUrl);
    await c.pollUntil(3);
    await c.request('POST', 'close');
    const sentAtClose = target.stats().framesSent;
    await new Promise((r) => setTimeout(r, 100));
    expect(target.stats().framesSent).toBe(sentAtClose);
    await c.destroy();
  });

  it.each([
    ['no rate', '', 10],
    ['a valid rate', 'rate=25', 25],
    ['a fractional rate', 'rate=0.5', 0.5],
    ['a rate over the cap', 'rate=5000', 1000],
    ['zero', 'rate=0', 10],
    ['a negative rate', 'rate=-3', 10],
    ['garbage', 'rate=fast', 10],
  ])('reads %s from the query as %d ticks/s', (_what, query, rate) => {
    expect(feedRateFor(new URLSearchParams(query), 10)).toBe(rate);
  });
});
