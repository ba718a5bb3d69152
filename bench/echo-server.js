// A plain `ws` echo server for the benchmarks, in its own process (so its CPU is never the
// client's). It echoes every frame as it came and counts them; the parent reads the count over
// the IPC channel, which gives one throughput measure for every contender (raw, volley,
// Artillery) taken at the same place.
import { WebSocketServer } from 'ws';

const server = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false, clientTracking: false, backlog: 4096 });
let echoed = 0;
let open = 0;
server.on('connection', (ws) => {
  open++;
  ws.on('message', (data, isBinary) => {
    echoed++;
    ws.send(data, { binary: isBinary });
  });
  ws.on('close', () => open--);
  ws.on('error', () => {});
});
server.on('listening', () => {
  process.send?.({ type: 'listening', port: server.address().port });
});
process.on('message', (msg) => {
  if (msg && msg.type === 'count') process.send?.({ type: 'count', id: msg.id, echoed, open });
  else if (msg && msg.type === 'exit') process.exit(0);
});
process.on('disconnect', () => process.exit(0));
