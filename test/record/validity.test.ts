// Every scenario the recorder side generates must load with the project's own loadScenario,
// and one recorded through the proxy must run clean through the engine.

import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { importHar } from '../../src/record/import.js';
import { generateScenario } from '../../src/record/generate.js';
import { startRecorder } from '../../src/record/proxy.js';
import { runScenario } from '../../src/engine/coordinator.js';
import { loadScenario } from '../../src/scenario/load.js';
import type { Scenario } from '../../src/scenario/types.js';
import { startSessionServer, type TestServer } from './servers.js';

const dir = fileURLToPath(new URL('../fixtures/har/', import.meta.url));
// The placeholders' variables must be set for the loader to accept `${env.…}` references.
const ENV = { COOKIE: 'c', AUTH_TOKEN: 't', X_API_KEY: 'k', ACCESS_TOKEN: 'a', TOKEN: 't', PASSWORD: 'p' };

function load(yaml: string, file: string): Scenario {
  const r = loadScenario({ file, source: yaml, env: ENV });
  if (!r.ok) throw new Error(r.problems.map((p) => `${p.file}:${p.pos?.line}:${p.pos?.col}: ${p.message}`).join('\n'));
  return r.scenario;
}

/** The commented-out alternatives, uncommented: they must load too once a user moves them. */
function alternatives(yaml: string): string[] {
  const blocks = yaml.split(/^# -{20,}\n/m).slice(1);
  return blocks.map((b) =>
    b
      .split('\n')
      .filter((l) => !/^# (Another connection|To replay it|list of steps)/.test(l))
      .map((l) => (l.startsWith('# ') ? l.slice(2) : l.startsWith('#') ? l.slice(1) : l))
      .join('\n'),
  );
}

const importable = readdirSync(dir).filter((f) => /^(chrome|firefox|binary|correlation|out-of-order|pushes).*\.har$/.test(f));

describe('generated scenarios load with loadScenario', () => {
  it('covers every importable fixture', () => {
    expect(importable.sort()).toEqual(['binary.har', 'chrome-chat.har', 'correlation.har', 'firefox-prices.har', 'out-of-order.har', 'pushes.har']);
  });

  it.each(importable.flatMap((f) => [[f, 'keep'], [f, 'none']] as const))('%s with --timing %s', (file, timing) => {
    const g = importHar(`${dir}${file}`, { timing });
    const s = load(g.yaml, `${file}.yaml`);
    expect(s.load).toMatchObject({ model: 'connections', connections: 1, iterations: 1 });
    expect(s.steps[s.steps.length - 1]).toMatchObject({ kind: 'close', code: 1000 });
    // A replay with any error fails: the loader took the generated threshold.
    expect(s.thresholds.map((t) => [t.metric, t.expression])).toEqual([['errors', 'count == 0']]);
    for (const alt of alternatives(g.yaml)) load(alt, `${file}.alternative.yaml`);
  });

  it('the loader refuses the scenario until the env variables it names are set', () => {
    const g = importHar(`${dir}chrome-chat.har`, { timing: 'keep' });
    const r = loadScenario({ file: 'chat.yaml', source: g.yaml, env: {} });
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.problems.map((p) => p.message).join('\n')).toMatch(/environment variable COOKIE is not set/);
  });
});

// The fixtures' runs through the command line are in cli.test.ts; this one goes through the
// library entry point, as a program embedding volley would.
describe('a recording made through the proxy runs through the engine (runScenario)', () => {
  let session: TestServer;
  beforeAll(async () => {
    session = await startSessionServer();
  });
  afterAll(async () => {
    await session.close();
  });

  it('runs clean against the same server, with its own session id captured and sent back', async () => {
    const rec = await startRecorder({ upstream: session.url, listen: '127.0.0.1:0' });
    let recordedSid = '';
    try {
      const ws = new WebSocket(`${rec.listenUrl}/session`);
      const hello = await new Promise<{ sid: string }>((resolve, reject) => {
        ws.once('message', (d) => resolve(JSON.parse(String(d)) as { sid: string }));
        ws.once('error', reject);
      });
      recordedSid = hello.sid;
      const ok = new Promise((resolve) => ws.once('message', resolve));
      ws.send(JSON.stringify({ type: 'auth', sid: hello.sid }));
      await ok;
      ws.close();
      await new Promise((resolve) => ws.once('close', resolve));
    } finally {
      await rec.stop();
    }
    const g = generateScenario(rec.flows(), { timing: 'keep', origin: 'volley record' });
    expect(load(g.yaml, 'recorded.yaml').target).toBe(`${session.url}/session`);

    const receivedBefore = session.received.length;
    const sentBefore = session.framesSent;
    const r = await runScenario({ file: '<inline>', source: g.yaml, env: ENV, workers: 1 });
    expect(r.noConnection).toBe(false);
    expect(r.report.errors).toEqual([]);
    expect(r.report.metrics['errors']).toMatchObject({ count: 0 });
    expect(r.report.metrics['sessions_completed']).toMatchObject({ count: 1 });
    expect(r.report.metrics['frames_skipped'] ?? { count: 0 }).toMatchObject({ count: 0 });
    expect(r.report.metrics['frames_sent']).toMatchObject({ count: session.received.length - receivedBefore });
    expect(r.report.metrics['frames_received']).toMatchObject({ count: session.framesSent - sentBefore });
    // The server says "ok" only to the id it issued to this connection.
    const auth = JSON.parse(session.received[receivedBefore]!.data.toString()) as { sid: string };
    expect(auth.sid).toMatch(/^sess-[0-9a-f]{20}$/);
    expect(auth.sid).not.toBe(recordedSid);
    expect(Object.keys(r.report.metrics).filter((k) => /^(latency|wait)\{/.test(k)).sort()).toEqual(['latency{name:auth}', 'wait{name:hello}']);
  });
});
