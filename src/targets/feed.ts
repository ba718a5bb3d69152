// feed: pushes {"type":"tick","seq":N,"sentAt":<epoch ms with fraction>} to every connection at
// a fixed rate from the moment it connects, and echoes text frames (so request/response works
// too). Each connection's ticks are timed from its own origin (tick n is due at n/rate s), so
// timer drift never accumulates and the rate holds on average.

import { epochNowMs } from './clock.js';
import type { ClientConnection, ConnectionHandler, TargetApp } from './types.js';

export const MAX_FEED_RATE_PER_SECOND = 1000;
/** After a stall (a blocked event loop) at most this many overdue ticks go out at once. */
const MAX_CATCH_UP_TICKS = 100;

export interface FeedOptions {
  ratePerSecond: number;
}

/** The `?rate=R` query of a connection, if valid, capped at MAX_FEED_RATE_PER_SECOND. */
export function feedRateFor(query: URLSearchParams, defaultRatePerSecond: number): number {
  const raw = query.get('rate');
  const asked = raw === null || raw === '' ? NaN : Number(raw);
  const rate = Number.isFinite(asked) && asked > 0 ? asked : defaultRatePerSecond;
  return Math.min(rate, MAX_FEED_RATE_PER_SECOND);
}

class FeedHandler implements ConnectionHandler {
  private readonly intervalMs: number;
  private readonly originMs = performance.now();
  private seq = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly conn: ClientConnection,
    private readonly app: FeedApp,
    ratePerSecond: number,
  ) {
    this.intervalMs = 1000 / ratePerSecond;
    this.schedule();
  }

  onFrame(frame: string | Buffer): void {
    if (typeof frame === 'string') this.conn.send(frame);
  }

  onClose(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.app.handlers.delete(this);
  }

  stop(): void {
    this.onClose();
  }

  private schedule(): void {
    const dueMs = this.originMs + (this.seq + 1) * this.intervalMs;
    this.timer = setTimeout(this.fire, Math.max(0, dueMs - performance.now()));
  }

  private readonly fire = (): void => {
    this.timer = undefined;
    if (!this.conn.isOpen) return;
    const now = performance.now();
    let due = Math.floor((now - this.originMs) / this.intervalMs) - this.seq;
    if (due > MAX_CATCH_UP_TICKS) {
      // Skip what a stall made us miss rather than flood the client.
      this.seq += due - MAX_CATCH_UP_TICKS;
      due = MAX_CATCH_UP_TICKS;
    }
    for (let i = 0; i < Math.max(1, due); i++) {
      this.seq++;
      this.conn.send(`{"type":"tick","seq":${this.seq},"sentAt":${epochNowMs()}}`);
      if (!this.conn.isOpen) return;
    }
    this.schedule();
  };
}

class FeedApp implements TargetApp {
  readonly name = 'feed' as const;
  readonly handlers = new Set<FeedHandler>();
  constructor(private readonly options: FeedOptions) {}

  open(conn: ClientConnection): ConnectionHandler {
    const h = new FeedHandler(conn, this, feedRateFor(conn.query, this.options.ratePerSecond));
    this.handlers.add(h);
    return h;
  }

  close(): void {
    for (const h of [...this.handlers]) h.stop();
  }
}

export function createFeedApp(options: FeedOptions): TargetApp {
  return new FeedApp(options);
}
