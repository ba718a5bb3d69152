// Matchers over Socket.IO read an event's first argument the way they read a frame over ws: a
// string that holds JSON is parsed for `json` (the shipped echo scenario sends {json: …}, which
// Socket.IO carries as a string), `text` sees a number's or an object's JSON text, and `match`
// reads a binary argument's bytes as UTF-8 (not the JSON of a Buffer object). Against a real,
// unmodified socket.io server.

import type { Socket } from 'socket.io';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runScenario } from '../../src/engine/coordinator.js';
import { counter, trend } from '../helpers/metrics.js';
import { startSocketIoServer, type TestSocketIoServer } from '../socketio/helpers.js';

let server: TestSocketIoServer;
beforeAll(async () => {
  server = await startSocketIoServer();
  server.io.on('connection', (socket: Socket) => {
    socket.on('message', (data: unknown) => socket.emit('message', data));
    socket.on('num', () => socket.emit('num', 42));
    socket.on('obj', () => socket.emit('obj', { x: 3 }));
    socket.on('bin', (data: Buffer) => socket.emit('bin', data));
  });
});
afterAll(() => server.close());

describe('Socket.IO matchers read the first argument as ws matchers read a frame', () => {
  it('json parses a string argument, text sees JSON text, match reads binary bytes', async () => {
    const source = `
name: sio-matchers
target: ${server.url}
transport: socket.io
load: {model: connections, connections: 2, iterations: 1}
steps:
  - send: {json: {type: echo, n: "\${vu}"}}
    expect: {event: message, json: {type: echo}, capture: {n: $.n}, timeout: 2s}
    name: json_string
  - emit: {event: num}
    expect: {event: num, text: "42", timeout: 2s}
    name: number_text
  - emit: {event: obj}
    expect: {event: obj, text: '{"x":3}', timeout: 2s}
    name: object_text
  - emit: {event: bin, binary: aGVsbG8=}
    expect: {event: bin, match: "^hello$", timeout: 2s}
    name: binary_match
  - emit: {event: bin, binary: aGVsbG8=}
    expect: {event: bin, match: "Buffer", timeout: 300ms}
    name: no_buffer_json
`;
    const { report } = await runScenario({ file: '<inline>', source, workers: 1 });
    for (const name of ['json_string', 'number_text', 'object_text', 'binary_match'])
      expect(trend(report, `latency{name:${name}}`).count, name).toBe(2);
    // A binary argument is bytes, not '{"type":"Buffer","data":[…]}': "Buffer" matches nothing.
    expect(counter(report, 'errors{kind:expect_timeout}')).toBe(2);
    expect(counter(report, 'errors')).toBe(2);
  });
});
