// Socket.IO recordings: a WebSocket connection that carries Engine.IO v4 (`/socket.io/?EIO=4&
// transport=websocket`, frames `0{"sid":…}`, `40`, `42["event",…]`, `2`/`3`) cannot be replayed as
// raw frames (the server hands out new session ids and pings on its own clock). This module reads
// the Engine.IO and Socket.IO packets out of the frames and turns the connection into the parts of
// a `transport: socket.io` scenario: the target's http(s) twin, the `socketio:` block (path,
// namespace, the CONNECT packet's auth, the handshake query) and one message per application event
// (client events become `emit`s, server events `expect: {event}`). generate.ts keeps its own
// rules for what becomes a step: which received event answers which emit, which pushes are only
// comments, stable JSON matchers and captures; it sees each event as a frame whose content is the
// event's first argument and whose name is the event's.
//
// Left out, with a comment: Engine.IO's own packets (open, ping/pong, noop, upgrade probes, close),
// Socket.IO's CONNECT and its answer (volley's client sends its own), acks (an ack the server sent
// ends the `emit`'s wait, `ack: true`; an ack the client sent is not reproduced), events of other
// namespaces, and binary attachments other than a single Buffer as the first argument.
// Engine.IO v3 (Socket.IO 2) and Socket.IO over HTTP long-polling are not converted.

import type { ObservedFlow, ObservedFrame } from './flows.js';

/** One application event, as generate.ts sees it: a frame whose data is the first argument. */
export interface SioMessage {
  /** Direction, time and index of the packet that carried the event; `data` is the first
   *  argument: a string as is, other JSON as JSON text, a Buffer as base64 (opcode 2). */
  frame: ObservedFrame;
  event: string;
  /** What the first argument is. */
  arg: 'none' | 'string' | 'json' | 'scalar' | 'binary';
  /** The first argument (parsed JSON for `json` and `scalar`). */
  value: unknown;
  argCount: number;
  /** A client emit whose ack the server sent: that ack's frame (it ends the emit's wait). */
  ack?: { index: number; timeMs: number };
  /** A client emit that asked for an ack none of the recorded frames gave. */
  ackMissing?: boolean;
  /** A server event that asked the client for an ack (volley does not answer those). */
  ackRequested?: boolean;
}

export interface SocketIoFlow {
  /** http(s)://HOST:PORT, the twin of the WebSocket URL's origin. */
  target: string;
  /** Engine.IO path as the server's `path` option spells it (`/socket.io`). */
  path: string;
  namespace: string;
  /** The client's CONNECT payload (socket.handshake.auth), as recorded: the writer redacts it. */
  auth: unknown;
  /** Handshake query parameters besides Engine.IO's own, as recorded (the writer redacts them). */
  query: [string, string][];
  messages: SioMessage[];
  /** What was left out, one sentence each (frame indexes, never content), for the YAML. */
  notes: string[];
  /** What could not be converted and may matter for a replay (stderr). */
  warnings: string[];
}

export type SocketIoDetection =
  | { kind: 'convert'; sio: SocketIoFlow }
  /** Socket.IO, but not convertible (Engine.IO v3): generate.ts writes raw frames with a warning. */
  | { kind: 'raw'; why: string };

/** Query parameters Engine.IO adds itself (protocol version, transport, session id, cache buster). */
const ENGINE_IO_PARAMS = new Set(['EIO', 'transport', 'sid', 't', 'b64', 'j']);
const DEFAULT_PATH = '/socket.io';

/** Socket.IO over WebSocket, or undefined for any other connection. */
export function detectSocketIo(flow: ObservedFlow): SocketIoDetection | undefined {
  let url: URL | undefined;
  try {
    url = new URL(flow.url);
  } catch {
    url = undefined;
  }
  const eio = url?.searchParams.get('EIO') ?? undefined;
  const firstText = flow.frames.find((f) => f.direction === 'receive' && f.opcode === 1)?.data;
  const openPacket = firstText !== undefined && /^0\{"sid":/.test(firstText);
  if (eio === undefined && !openPacket) return undefined;
  if (eio !== undefined && eio !== '4') {
    return { kind: 'raw', why: `Engine.IO protocol ${eio} (Socket.IO ${eio === '3' ? '2.x' : 'before 3'}); only Engine.IO 4 (Socket.IO 3 and 4) is converted` };
  }
  if (eio === undefined && !(firstText ?? '').includes('"pingInterval"')) return { kind: 'raw', why: 'no Engine.IO version in the URL and no complete open packet' };
  if (url === undefined) return { kind: 'raw', why: 'the URL cannot be read' };
  return { kind: 'convert', sio: readSocketIo(flow, url) };
}

// --- packets --------------------------------------------------------------------------------------

interface SioPacket {
  type: number; // 0 CONNECT, 1 DISCONNECT, 2 EVENT, 3 ACK, 4 CONNECT_ERROR, 5 BINARY_EVENT, 6 BINARY_ACK
  namespace: string;
  id?: number;
  attachments: number;
  data: unknown; // parsed JSON payload; undefined when none
}

/** The Socket.IO packet in an Engine.IO message (`42/chat,7["event",…]`); undefined when it is not one. */
export function parseSioPacket(text: string): SioPacket | undefined {
  const type = Number(text[0]);
  if (!Number.isInteger(type) || type < 0 || type > 6) return undefined;
  let i = 1;
  let attachments = 0;
  if (type === 5 || type === 6) {
    const dash = text.indexOf('-', i);
    if (dash < 0 || !/^\d+$/.test(text.slice(i, dash))) return undefined;
    attachments = Number(text.slice(i, dash));
    i = dash + 1;
  }
  let namespace = '/';
  if (text[i] === '/') {
    const comma = text.indexOf(',', i);
    const end = comma < 0 ? text.length : comma;
    namespace = text.slice(i, end);
    i = comma < 0 ? end : comma + 1;
  }
  let id: number | undefined;
  const digits = /^\d+/.exec(text.slice(i));
  if (digits) {
    id = Number(digits[0]);
    i += digits[0].length;
  }
  const rest = text.slice(i);
  let data: unknown;
  if (rest.length > 0) {
    try {
      data = JSON.parse(rest) as unknown;
    } catch {
      return undefined;
    }
  }
  return { type, namespace, id, attachments, data };
}

function isPlaceholder(v: unknown): v is { _placeholder: true; num: number } {
  return typeof v === 'object' && v !== null && (v as Record<string, unknown>)._placeholder === true && typeof (v as Record<string, unknown>).num === 'number';
}

function hasPlaceholder(v: unknown): boolean {
  if (isPlaceholder(v)) return true;
  if (Array.isArray(v)) return v.some(hasPlaceholder);
  if (typeof v === 'object' && v !== null) return Object.values(v).some(hasPlaceholder);
  return false;
}

/** A list of frame indexes, short: "frames 3, 5 and 9" / "12 frames (3, 5, 9, …)". */
function framesList(indexes: number[]): string {
  if (indexes.length === 1) return `frame ${indexes[0]}`;
  if (indexes.length <= 6) return `frames ${indexes.slice(0, -1).join(', ')} and ${indexes[indexes.length - 1]}`;
  return `${indexes.length} frames (${indexes.slice(0, 4).join(', ')}, …)`;
}

interface Pending {
  packet: SioPacket;
  frame: ObservedFrame;
  need: number;
  attachments: ObservedFrame[];
}

function readSocketIo(flow: ObservedFlow, url: URL): SocketIoFlow {
  const path = url.pathname.replace(/\/+$/, '') || DEFAULT_PATH;
  const query: [string, string][] = [...url.searchParams].filter(([k]) => !ENGINE_IO_PARAMS.has(k));
  const target = `${url.protocol === 'wss:' ? 'https:' : 'http:'}//${url.host}`;

  // Engine.IO packets that are the client library's business, by kind.
  const dropped = new Map<string, number[]>();
  const drop = (kind: string, index: number): void => {
    const l = dropped.get(kind) ?? [];
    l.push(index);
    dropped.set(kind, l);
  };
  const notes: string[] = [];
  const warnings: string[] = [];

  // Pass 1: Socket.IO packets in order, binary attachments joined to their packet.
  const packets: { packet: SioPacket; frame: ObservedFrame; attachments: ObservedFrame[] }[] = [];
  const waiting: Record<ObservedFrame['direction'], Pending | undefined> = { send: undefined, receive: undefined };
  for (const f of flow.frames) {
    if (f.opcode === 2) {
      const p = waiting[f.direction];
      if (!p) {
        drop('binary frames that belong to no packet', f.index);
        continue;
      }
      p.attachments.push(f);
      if (p.attachments.length === p.need) {
        packets.push({ packet: p.packet, frame: p.frame, attachments: p.attachments });
        waiting[f.direction] = undefined;
      }
      continue;
    }
    const t = f.data[0];
    if (t === '0') drop('Engine.IO open', f.index);
    else if (t === '1') drop('Engine.IO close', f.index);
    else if (t === '2' || t === '3') drop(f.data.slice(1) === 'probe' ? 'upgrade probes' : 'Engine.IO ping/pong', f.index);
    else if (t === '5') drop('Engine.IO upgrade', f.index);
    else if (t === '6') drop('Engine.IO noop', f.index);
    else if (t === '4') {
      const packet = parseSioPacket(f.data.slice(1));
      if (!packet) {
        drop('messages that are not Socket.IO packets', f.index);
        continue;
      }
      if (packet.attachments > 0) waiting[f.direction] = { packet, frame: f, need: packet.attachments, attachments: [] };
      else packets.push({ packet, frame: f, attachments: [] });
    } else drop('frames that are not Engine.IO packets', f.index);
  }
  for (const p of Object.values(waiting)) if (p) drop('binary packets whose attachments were not all recorded', p.frame.index);

  // The namespace replayed: the one the client emitted most to, else the first it connected to.
  const connects = packets.filter((p) => p.frame.direction === 'send' && p.packet.type === 0);
  const emitsBy = new Map<string, number>();
  for (const p of packets) {
    if (p.frame.direction === 'send' && (p.packet.type === 2 || p.packet.type === 5)) emitsBy.set(p.packet.namespace, (emitsBy.get(p.packet.namespace) ?? 0) + 1);
  }
  let namespace = connects[0]?.packet.namespace ?? packets[0]?.packet.namespace ?? '/';
  for (const [ns, n] of emitsBy) if (n > (emitsBy.get(namespace) ?? 0)) namespace = ns;
  const connect = connects.find((p) => p.packet.namespace === namespace);
  const auth = connect?.packet.data;
  if (!connect && (url.searchParams.has('sid') || dropped.has('upgrade probes'))) {
    // The browser started with long-polling and upgraded: the handshake, the CONNECT (with its
    // auth) and the first events went over XHR polls, which the HAR holds as ordinary entries.
    const text =
      'this WebSocket was upgraded from HTTP long-polling (a sid in its URL, probe frames), so the CONNECT and its auth, and ' +
      'whatever went before the upgrade, were sent over polling and are not in its frames: add socketio.auth by hand if the server needs it';
    notes.push(`Note: ${text}.`);
    warnings.push(text);
  }

  // Pass 2: events of that namespace, with acks matched to the emits that asked for them.
  const messages: SioMessage[] = [];
  const emitsAwaitingAck = new Map<number, SioMessage>();
  const otherNamespace: number[] = [];
  const skippedBinary: number[] = [];
  const clientAcks: number[] = [];
  const serverAckRequests: number[] = [];
  const extraArgs: number[] = [];
  const strayAcks: number[] = [];
  for (const { packet, frame, attachments } of packets) {
    if (packet.namespace !== namespace) {
      otherNamespace.push(frame.index);
      continue;
    }
    const fromClient = frame.direction === 'send';
    switch (packet.type) {
      case 0:
        drop(fromClient ? 'Socket.IO CONNECT' : 'the answer to CONNECT', frame.index);
        break;
      case 1:
        drop(fromClient ? 'Socket.IO DISCONNECT (the close step sends its own)' : 'Socket.IO DISCONNECT from the server', frame.index);
        if (!fromClient) warnings.push(`the server disconnected the recorded socket (frame ${frame.index}); a replay will likely be disconnected there too (closed_by_server)`);
        break;
      case 4:
        drop('CONNECT_ERROR', frame.index);
        warnings.push(`the server refused the recorded connect to namespace ${namespace} (CONNECT_ERROR, frame ${frame.index}); check socketio.auth and connect.headers`);
        break;
      case 3:
      case 6: {
        if (fromClient) {
          clientAcks.push(frame.index);
          break;
        }
        const emit = packet.id === undefined ? undefined : emitsAwaitingAck.get(packet.id);
        if (!emit) {
          strayAcks.push(frame.index);
          break;
        }
        emitsAwaitingAck.delete(packet.id!);
        emit.ack = { index: frame.index, timeMs: frame.timeMs };
        emit.ackMissing = false;
        break;
      }
      case 2:
      case 5: {
        const m = eventMessage(packet, frame, attachments);
        if (!m) {
          skippedBinary.push(frame.index);
          break;
        }
        if (m.argCount > 1) extraArgs.push(frame.index);
        if (packet.id !== undefined) {
          if (fromClient) {
            m.ackMissing = true;
            emitsAwaitingAck.set(packet.id, m);
          } else {
            m.ackRequested = true;
            serverAckRequests.push(frame.index);
          }
        }
        messages.push(m);
        break;
      }
    }
  }

  const order = ['Engine.IO open', 'Socket.IO CONNECT', 'the answer to CONNECT', 'Engine.IO ping/pong', 'Engine.IO noop', 'upgrade probes', 'Engine.IO upgrade'];
  const kinds = [...dropped.keys()].sort((a, b) => (order.indexOf(a) + 1 || 99) - (order.indexOf(b) + 1 || 99));
  if (kinds.length > 0) {
    notes.push(`Left out, since volley's Socket.IO client speaks them itself: ${kinds.map((k) => `${k} (${framesList(dropped.get(k)!)})`).join('; ')}.`);
  }
  const acked = messages.filter((m) => m.ack);
  if (acked.length > 0) {
    notes.push(
      `Acks the server sent (${framesList(acked.map((m) => m.ack!.index))}) are not expects: each ends the wait of the emit that asked for it (ack: true; its latency{name} runs until the ack).`,
    );
  }
  const missing = messages.filter((m) => m.ackMissing);
  if (missing.length > 0) {
    notes.push(`The client asked for an ack on ${framesList(missing.map((m) => m.frame.index))}, but no ack was recorded: written without ack.`);
  }
  if (clientAcks.length > 0) {
    notes.push(`Acks the client sent to the server (${framesList(clientAcks)}) are not reproduced: volley does not answer a server's ack requests.`);
  }
  if (serverAckRequests.length > 0) {
    warnings.push(`the server asked the client for an ack on ${framesList(serverAckRequests)}; volley does not answer those (a server that waits for them will time out)`);
  }
  if (strayAcks.length > 0) notes.push(`Acks with no emit waiting for them (${framesList(strayAcks)}) are left out.`);
  if (extraArgs.length > 0) {
    notes.push(`Events with more than one argument (${framesList(extraArgs)}): only the first argument is emitted as data, and expects match only the first; the others are lost.`);
  }
  if (skippedBinary.length > 0) {
    const text = `binary events that are not a single Buffer as the first argument (${framesList(skippedBinary)}) are left out: emit: {binary} sends one Buffer; add such events by hand`;
    notes.push(`The ${text}.`);
    warnings.push(`the ${text}`);
  }
  if (otherNamespace.length > 0) {
    const text = `packets of other namespaces than ${namespace} (${framesList(otherNamespace)}) are left out: a scenario speaks one namespace`;
    notes.push(`The ${text}.`);
    warnings.push(`the ${text}`);
  }
  return { target, path, namespace, auth, query, messages, notes, warnings };
}

/** An EVENT (or BINARY_EVENT) packet as a message; undefined for binary it cannot express. */
function eventMessage(packet: SioPacket, frame: ObservedFrame, attachments: ObservedFrame[]): SioMessage | undefined {
  const data = packet.data;
  if (!Array.isArray(data) || typeof data[0] !== 'string') return undefined;
  const event = data[0];
  const args = data.slice(1) as unknown[];
  const first = args[0];
  const base = { event, argCount: args.length };
  const at = (d: string, opcode: 1 | 2 = 1): ObservedFrame => ({ direction: frame.direction, timeMs: frame.timeMs, opcode, data: d, index: frame.index });
  if (args.length === 0) return { ...base, frame: at(''), arg: 'none', value: undefined };
  if (isPlaceholder(first)) {
    const bytes = attachments[first.num];
    return bytes && attachments.length === 1 ? { ...base, frame: at(bytes.data, 2), arg: 'binary', value: undefined } : undefined;
  }
  if (hasPlaceholder(first)) return undefined;
  if (typeof first === 'string') return { ...base, frame: at(first), arg: 'string', value: first };
  if (typeof first === 'object' && first !== null) return { ...base, frame: at(JSON.stringify(first)), arg: 'json', value: first };
  return { ...base, frame: at(JSON.stringify(first)), arg: 'scalar', value: first };
}

// --- writing ----------------------------------------------------------------------------------------

/** The `emit` of a client event, from the payload generate.ts wrote for its frame (`{json}`, a
 *  template string, `{binary}`), with credentials and captures already in place. */
export function emitSpec(m: SioMessage, payload: unknown): { emit: Record<string, unknown>; warning?: string } {
  const emit: Record<string, unknown> = { event: m.event };
  let warning: string | undefined;
  if (m.arg === 'binary' && isObject(payload) && typeof payload.binary === 'string') emit.binary = payload.binary;
  else if (m.arg === 'json') {
    if (isObject(payload) && 'json' in payload) emit.data = payload.json;
    else if (typeof payload === 'string') {
      // JSON text with a captured number in it (`{"roomId":${roomId}}`): emit data is a JSON
      // template, in which a placeholder is a string.
      emit.data = JSON.parse(payload.replace(/(?<!\$)\$\{[^}]+\}/g, (p) => JSON.stringify(p))) as unknown;
      warning = `event "${m.event}" (frame ${m.frame.index}) sends a captured number back; emit data renders it as a string`;
    } else emit.data = m.value;
  } else if (m.arg === 'string') emit.data = payload;
  else if (m.arg === 'scalar') emit.data = m.value;
  if (m.ack) emit.ack = true;
  return warning ? { emit, warning } : { emit };
}

/** The `expect` of a server event: the matcher generate.ts made for its first argument, with the
 *  event's name (an event without arguments matches by name only). */
export function eventExpectSpec(m: SioMessage, spec: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { event: m.event };
  for (const [k, v] of Object.entries(spec)) {
    if (m.arg === 'none' && (k === 'text' || k === 'match')) continue;
    out[k] = v;
  }
  return out;
}

/** A comment line for an event: index, time, direction, name and size (never its content). */
export function describeMessage(m: SioMessage, startedAtMs: number): string {
  const f = m.frame;
  const at = `+${(Math.max(0, f.timeMs - startedAtMs) / 1000).toFixed(3)}s`;
  const what = m.arg === 'none' ? 'no arguments' : m.arg === 'binary' ? `binary, ${Buffer.from(f.data, 'base64').length} B` : `${m.arg === 'string' ? 'text' : 'JSON'}, ${Buffer.byteLength(f.data)} B`;
  const more = m.argCount > 1 ? ` (+${m.argCount - 1} more argument${m.argCount > 2 ? 's' : ''}, not replayed)` : '';
  const ack = m.ack
    ? `; acked by frame ${m.ack.index} (${((m.ack.timeMs - f.timeMs) / 1000).toFixed(3)}s later)`
    : m.ackRequested
      ? '; the server asked for an ack (not answered)'
      : '';
  return `frame ${f.index} at ${at}: ${f.direction === 'send' ? 'emitted' : 'received'} event "${safeName(m.event)}", ${what}${more}${ack}`;
}

/** Event names go into comments: printable, short. */
function safeName(event: string): string {
  const s = event.replace(/[^\x20-\x7e]/g, '?');
  return s.length > 60 ? `${s.slice(0, 59)}…` : s;
}

/** The `socketio:` block, its options only where they differ from the defaults. `secretQuery`
 *  and `redactAuth` are the importer's credential rules (env placeholders). */
export function socketIoBlock(
  sio: SocketIoFlow,
  redactAuth: (auth: unknown) => unknown,
  queryValue: (key: string, value: string) => string,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (sio.path !== DEFAULT_PATH) out.path = sio.path;
  if (sio.namespace !== '/') out.namespace = sio.namespace;
  if (sio.auth !== undefined && sio.auth !== null) out.auth = redactAuth(sio.auth);
  if (sio.query.length > 0) {
    const q: Record<string, string> = {};
    for (const [k, v] of sio.query) q[k] = queryValue(k, v);
    out.query = q;
  }
  return out;
}

/** The header paragraph of a converted scenario. */
export function conversionComment(sio: SocketIoFlow): string {
  return (
    'Converted from Socket.IO (Engine.IO 4 over WebSocket): each event the client emitted is an `emit` ' +
    '(its first argument as data; ack: true where the server acked it, latency{name} until the ack), and ' +
    'each event the server sent that answers or follows from an emit is an `expect: {event}` on its first ' +
    `argument, by the rules above. ${sio.messages.length} events were recorded in namespace ${sio.namespace}.`
  );
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
