// The demo pages in a real Chromium: the page connects by WebSocket to the server that served it,
// sends what is typed, and lists frames marked sent/received.

import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startTarget, type RunningTarget } from '../../src/targets/index.js';
import { WsClient } from './helpers.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

let browser: Browser | undefined;
let target: RunningTarget | undefined;

describe.runIf(existsSync(CHROMIUM))('demo pages in Chromium', () => {
  beforeAll(async () => {
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
  });
  afterEach(async () => {
    await target?.close();
    target = undefined;
  });

  it('echo: typing a line and pressing Send lists it as sent, then as received', async () => {
    target = await startTarget('echo');
    const page = await browser!.newPage();
    await page.goto(target.httpUrl);
    await page.locator('#status', { hasText: 'open' }).waitFor();
    await page.fill('#text', 'hello from the page');
    await page.click('#send');
    await page.locator('#frames li.received', { hasText: 'hello from the page' }).waitFor();
    await expect(page.locator('#frames li.sent').allTextContents()).resolves.toEqual(['senthello from the page']);
    expect(target.stats()).toMatchObject({ framesReceived: 1, framesSent: 1 });

    await page.click('#close');
    await page.locator('#status', { hasText: 'closed' }).waitFor();
    await page.close();
  });

  it('chat: the page joins a room and a WebSocket client in that room sees what the page says', async () => {
    target = await startTarget('chat');
    const page = await browser!.newPage();
    await page.goto(target.httpUrl);
    await page.locator('#frames li.received', { hasText: '"type":"joined"' }).waitFor();

    const other = await WsClient.open(target.url);
    other.send(JSON.stringify({ type: 'join', room: 'lobby', user: 'test' }));
    await other.next(1);
    expect(other.json(0)).toMatchObject({ members: 2 });

    await page.fill('#text', 'hi there');
    await page.click('#send');
    await other.next(2);
    expect(other.json(1)).toMatchObject({ type: 'message', room: 'lobby', user: 'guest', text: 'hi there' });
    await page.locator('#frames li.received', { hasText: '"text":"hi there"' }).waitFor();
    await other.close();
    await page.close();
  });

  it('feed: ticks show up as received rows', async () => {
    target = await startTarget('feed', { feedRatePerSecond: 50 });
    const page = await browser!.newPage();
    await page.goto(target.httpUrl);
    // Exactly tick 3: on a slow machine ticks 30-39 are listed too before the locator resolves.
    await page.locator('#frames li.received', { hasText: /"seq":3,/ }).waitFor();
    await page.close();
  });
});
