// The scenario's `setup` block: HTTP requests run once before the load (k6's setup()), e.g. to
// fetch a token; their captures become variables every session starts with. A failed setup
// stops the run before any connection opens (exit 3), with one line that says which request.

import http from 'node:http';
import https from 'node:https';
import { performance } from 'node:perf_hooks';
import { VolleyError } from '../errors.js';
import { applyCaptures } from '../scenario/match.js';
import type { RenderContext } from '../scenario/template.js';
import type { Scenario } from '../scenario/types.js';
import type { ResolvedTls } from '../transport/types.js';

interface HttpAnswer {
  status: number;
  body: string;
}

function request(method: string, url: URL, headers: Record<string, string>, body: string | undefined, timeoutMs: number, tls: ResolvedTls | undefined): Promise<HttpAnswer> {
  const lib = url.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const req = lib.request(
      url,
      {
        method,
        headers: body !== undefined ? { 'content-length': String(Buffer.byteLength(body)), ...headers } : headers,
        timeout: timeoutMs,
        ...(url.protocol === 'https:' && tls ? { ca: tls.ca, cert: tls.cert, key: tls.key, rejectUnauthorized: tls.rejectUnauthorized, servername: tls.servername } : {}),
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs}ms`)));
    req.on('error', reject);
    if (body !== undefined) req.write(body);
    req.end();
  });
}

/** Runs every setup request in order; returns the captured variables. */
export async function runSetup(scenario: Scenario, env: NodeJS.ProcessEnv, tls: ResolvedTls | undefined): Promise<Record<string, string>> {
  const vars = new Map<string, string>();
  if (scenario.setup.length === 0) return {};
  let seq = 0;
  const ctx: RenderContext = { vars, vu: 0, iter: 0, nextSeq: () => ++seq, data: undefined, env };
  for (let i = 0; i < scenario.setup.length; i++) {
    const r = scenario.setup[i]!;
    const urlText = r.url.render(ctx);
    const what = `setup request ${i + 1} (${r.method} ${urlText})`;
    let url: URL;
    try {
      url = new URL(urlText);
    } catch {
      throw new VolleyError('RUN_FAILED', `${what}: not a URL`);
    }
    const headers: Record<string, string> = {};
    for (const [k, t] of Object.entries(r.headers)) headers[k] = t.render(ctx);
    let answer: HttpAnswer;
    try {
      answer = await request(r.method, url, headers, r.body?.render(ctx), r.timeoutMs, tls);
    } catch (err) {
      throw new VolleyError('RUN_FAILED', `${what} failed: ${err instanceof Error ? err.message : String(err)}`);
    }
    if (answer.status < 200 || answer.status >= 300) throw new VolleyError('RUN_FAILED', `${what} answered HTTP ${answer.status}`);
    if (Object.keys(r.capture).length > 0) {
      const problem = applyCaptures(r.capture, { text: answer.body, bytes: undefined, arrivedAtMs: performance.now() }, vars);
      if (problem !== undefined) throw new VolleyError('RUN_FAILED', `${what}: ${problem}`);
    }
  }
  return Object.fromEntries(vars);
}
