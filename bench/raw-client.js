// The plainest raw `ws` closed-loop client: worker threads, each holding its share of the
// connections; every connection sends a text frame, waits for its echo, checks it and sends
// the next. No framework: this is the baseline volley is measured against.
//
//   node bench/raw-client.js loop URL CONNECTIONS DURATION_MS WORKERS   -> JSON on stdout
//   node bench/raw-client.js hold URL N1,N2,...                          -> RSS at each plateau
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import hdr from 'hdr-histogram-js';
import WebSocket from 'ws';

function newHistogram() {
  return hdr.build({ bitBucketSize: 64, lowestDiscernibleValue: 1, highestTrackableValue: 3_600_000_000, numberOfSignificantValueDigits: 3, useWebAssembly: false });
}

if (!isMainThread) {
  const { url, connections, durationMs } = workerData;
  const hist = newHistogram();
  let roundTrips = 0;
  let errors = 0;
  let done = 0;
  const endAt = performance.now() + durationMs;
  const finish = () => {
    if (++done === connections) parentPort.postMessage({ roundTrips, errors, hdr: hdr.encodeIntoCompressedBase64(hist) });
  };
  for (let c = 0; c < connections; c++) {
    const ws = new WebSocket(url, { perMessageDeflate: false });
    let i = 0;
    let expected = '';
    let sentAt = 0;
    const sendNext = () => {
      if (performance.now() >= endAt) {
        ws.close();
        return;
      }
      expected = `hello ${i++}`;
      sentAt = performance.now();
      ws.send(expected);
    };
    ws.on('open', sendNext);
    ws.on('message', (data) => {
      const now = performance.now();
      if (data.toString() !== expected) errors++;
      roundTrips++;
      hist.recordValue(Math.max(1, Math.round((now - sentAt) * 1000)));
      sendNext();
    });
    ws.on('error', () => errors++);
    ws.on('close', finish);
  }
} else {
  const [mode, url, ...rest] = process.argv.slice(2);
  if (mode === 'loop') {
    const [connections, durationMs, workers] = rest.map(Number);
    const parts = await Promise.all(
      Array.from({ length: workers }, (_, w) => {
        const share = Math.floor(connections / workers) + (w < connections % workers ? 1 : 0);
        return new Promise((resolve, reject) => {
          const worker = new Worker(fileURLToPath(import.meta.url), { workerData: { url, connections: share, durationMs } });
          worker.once('message', (m) => {
            resolve(m);
            void worker.terminate();
          });
          worker.once('error', reject);
        });
      }),
    );
    const total = newHistogram();
    for (const p of parts) total.add(hdr.decodeFromCompressedBase64(p.hdr, 64, false));
    const roundTrips = parts.reduce((a, p) => a + p.roundTrips, 0);
    const errors = parts.reduce((a, p) => a + p.errors, 0);
    process.stdout.write(JSON.stringify({ roundTrips, errors, p50Ms: total.getValueAtPercentile(50) / 1000, p99Ms: total.getValueAtPercentile(99) / 1000 }) + '\n');
  } else if (mode === 'hold') {
    // One thread holding plain ws clients: RSS at each plateau (memory per connection = slope).
    const steps = rest[0].split(',').map(Number);
    const sockets = [];
    const out = [];
    for (const n of steps) {
      const opening = [];
      while (sockets.length < n) {
        const ws = new WebSocket(url, { perMessageDeflate: false });
        sockets.push(ws);
        opening.push(new Promise((resolve) => { ws.once('open', resolve); ws.once('error', resolve); }));
        if (opening.length >= 500) await Promise.all(opening.splice(0));
      }
      await Promise.all(opening);
      await new Promise((r) => setTimeout(r, 1500));
      const open = sockets.filter((s) => s.readyState === WebSocket.OPEN).length;
      out.push({ connections: open, rssBytes: process.memoryUsage().rss });
    }
    process.stdout.write(JSON.stringify({ plateaus: out }) + '\n');
    for (const s of sockets) s.terminate();
    process.exit(0);
  }
}
