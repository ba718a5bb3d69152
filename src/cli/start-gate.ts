// The start barrier of `--processes`: each child loads its workers, says `{"ready":true}` on
// stderr and waits for the parent's `{"go": epochMs}` on stdin, so that every child starts its
// load at the same wall-clock instant (they come up hundreds of ms apart on a busy machine,
// and a merged report of skewed shards under-states the load of the first seconds).

import type { Readable } from 'node:stream';

/** How long a child waits for the parent's go before it starts on its own. */
const GATE_TIMEOUT_MS = 60_000;

export const READY_LINE = '{"ready":true}';

export function goLine(atEpochMs: number): string {
  return `${JSON.stringify({ go: atEpochMs })}\n`;
}

/** The child's side: a RunOptions.startGate reading the parent's go line from `input`. */
export function stdinStartGate(out: { write(s: string): unknown }, input: Readable): () => Promise<number | undefined> {
  return () =>
    new Promise<number | undefined>((resolve) => {
      let buffered = '';
      let settled = false;
      const done = (at: number | undefined): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        input.off('data', onData);
        input.off('end', onEnd);
        // An open stdin would keep the process alive after the run.
        input.destroy();
        resolve(at);
      };
      const onData = (chunk: Buffer | string): void => {
        buffered += chunk.toString();
        const nl = buffered.indexOf('\n');
        if (nl < 0) return;
        try {
          const go = (JSON.parse(buffered.slice(0, nl)) as { go?: unknown }).go;
          done(typeof go === 'number' && Number.isFinite(go) ? go : undefined);
        } catch {
          done(undefined);
        }
      };
      const onEnd = (): void => done(undefined);
      const timer = setTimeout(() => done(undefined), GATE_TIMEOUT_MS);
      input.on('data', onData);
      input.on('end', onEnd);
      out.write(`${READY_LINE}\n`);
    });
}
