// The long-poll client against the embedded echo target: a second, independently written
// implementation of the convention, whose stats count its own TCP sockets.

import { afterEach, describe, expect, it } from 'vitest';
import { createLongPollTransport } from '../../src/transport/longpoll.js';
import type { CloseInfo, InboundFrame, Transport, TransportOptions } from '../../src/transport/types.js';
import { startTarget, type RunningTarget } from '../../src/targets/index.js';

const frames: InboundFrame[] = [];
const closes: CloseInfo[] = [];
const sink = { onFrame: (f: InboundFrame) => void frames.push(f), onClose: (c: CloseInfo) => void closes.push(c) };
let target: RunningTarget | undefined;
let transport: Transport | undefined;

afterEach(async () => {
  transport?.destroy();
  await target?.close();
  target = transport = undefined;
  frames.length = closes.length = 0;
});

async function waitFor(predicate: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe('long-poll transport against the embedded echo target', () => {
  it('derives {lp} from the ws URL, echoes in order, and agrees with the target on bytes', async () => {
    target = await startTarget('echo', { pollTimeoutMs: 2000 });
    const options: TransportOptions = {
      url: target.url, // ws://127.0.0.1:PORT/ -> http://127.0.0.1:PORT/lp
      headers: {},
      subprotocols: [],
      handshakeTimeoutMs: 2000,
      perMessageDeflate: false,
      maxPayloadBytes: 1 << 20,
    };
    transport = createLongPollTransport(options, sink);
    await transport.connect();
    for (let i = 0; i < 50; i++) transport.send(`n${i}`, false);
    transport.send(new Uint8Array([7, 8, 9]), true);
    await waitFor(() => frames.length === 51, 5000, '51 echoes');
    expect(frames.slice(0, 50).map((f) => f.text)).toEqual(Array.from({ length: 50 }, (_, i) => `n${i}`));
    expect([...frames[50]!.bytes!]).toEqual([7, 8, 9]);

    await transport.close(1000, 'bye');
    expect(closes).toEqual([{ code: 1000, reason: 'bye', initiatedByClient: true }]);
    const stats = () => target!.stats();
    await waitFor(() => stats().openConnections === 0 && stats().bytesReceived === transport!.bytesSent, 3000, 'the target to settle');
    expect(stats().framesReceived).toBe(51);
    expect(stats().framesSent).toBe(51);
    // The target answers a still-held poll with 204 when the session closes; the client has
    // already dropped that poll's socket, so those bytes (if the target saw the close before
    // the dropped socket) were written but never read: at most one bare 204 response.
    const unread = stats().bytesSent - transport.bytesReceived;
    expect(unread).toBeGreaterThanOrEqual(0);
    expect(unread).toBeLessThanOrEqual(200);
  });
});
