// A deliberately small replayer for generated scenarios: send, expect (skipping frames that do
// not match, as the engine does), capture, close; think steps are skipped to keep tests short.
// It renders and matches through the project's own scenario code (templates, prepareMatcher,
// matchFrame, applyCaptures), so a scenario that replays here uses the same semantics `volley run`
// applies. The lead's end-to-end tests will replace it with real runs.

import { WebSocket, type RawData } from 'ws';
import { applyCaptures, matchFrame, prepareMatcher } from '../../src/scenario/match.js';
import type { RenderContext } from '../../src/scenario/template.js';
import type { ExpectSpec, Payload, Scenario, Step } from '../../src/scenario/types.js';
import type { InboundFrame } from '../../src/transport/types.js';
import { toBuffer } from './servers.js';

export interface ReplayResult {
  vars: Map<string, string>;
  framesSent: number;
  framesSkipped: number;
  /** Names of the expects that matched, in order (unnamed ones as "expect"). */
  matched: string[];
}

const MAX_EXPECT_WAIT_MS = 5_000;

/** Replays `scenario` once against `origin` (ws://HOST:PORT), keeping the target's path and query. */
export async function replay(scenario: Scenario, origin: string, env: NodeJS.ProcessEnv = {}): Promise<ReplayResult> {
  let seq = 0;
  const ctx: RenderContext = { vars: new Map(), vu: 1, iter: 0, nextSeq: () => ++seq, data: undefined, env };
  const url = new URL(scenario.target);
  const o = new URL(origin);
  url.host = o.host;
  for (const [k, t] of Object.entries(scenario.connect.query)) url.searchParams.set(k, t.render(ctx));
  const headers: Record<string, string> = {};
  for (const [k, t] of Object.entries(scenario.connect.headers)) headers[k] = t.render(ctx);

  const ws = new WebSocket(url, scenario.connect.subprotocols, { headers });
  const inbox: InboundFrame[] = [];
  let wake: (() => void) | undefined;
  ws.on('message', (d: RawData, isBinary: boolean) => {
    const b = toBuffer(d);
    inbox.push({ text: isBinary ? undefined : b.toString('utf8'), bytes: isBinary ? new Uint8Array(b) : undefined, arrivedAtMs: performance.now() });
    wake?.();
  });
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  const result: ReplayResult = { vars: ctx.vars, framesSent: 0, framesSkipped: 0, matched: [] };

  const awaitFrame = async (spec: ExpectSpec, label: string): Promise<void> => {
    const m = prepareMatcher(spec.matcher, ctx);
    const deadline = Date.now() + Math.min(spec.timeoutMs, MAX_EXPECT_WAIT_MS);
    for (;;) {
      while (inbox.length > 0) {
        const frame = inbox.shift()!;
        if (!matchFrame(m, frame)) {
          result.framesSkipped++;
          continue;
        }
        const failed = applyCaptures(spec.capture, frame, ctx.vars);
        if (failed) throw new Error(`${label}: ${failed}`);
        result.matched.push(label);
        return;
      }
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`${label}: no frame matched within ${Math.min(spec.timeoutMs, MAX_EXPECT_WAIT_MS)} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  };

  const send = (p: Payload): void => {
    if (p.kind === 'binary') ws.send(p.bytes, { binary: true });
    else ws.send(p.template.render(ctx));
    result.framesSent++;
  };

  const run = async (steps: Step[]): Promise<void> => {
    for (const step of steps) {
      const label = step.name ?? step.kind;
      switch (step.kind) {
        case 'send':
          send(step.payload);
          if (step.expect) await awaitFrame(step.expect, label);
          break;
        case 'expect':
          await awaitFrame(step.expect, step.name ?? 'expect');
          break;
        case 'think':
          break;
        case 'close':
          ws.close(step.code, step.reason);
          return;
        default:
          throw new Error(`replay.ts does not run ${step.kind} steps`);
      }
    }
  };
  try {
    await run(scenario.steps);
  } finally {
    ws.terminate();
  }
  return result;
}
