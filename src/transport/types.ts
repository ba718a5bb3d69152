// The one small interface every transport (ws, long-poll, Socket.IO) implements. A session
// (engine/session.ts) owns exactly one Transport and is its sink: the transport pushes frames
// and the close into the sink; it never interprets steps.

import type { ErrorKind } from '../metrics/names.js';

export interface InboundFrame {
  /** Text payload (text frames, Socket.IO string arguments); undefined for binary. */
  text: string | undefined;
  /** Binary payload; undefined for text. */
  bytes: Uint8Array | undefined;
  /** performance.now() when the frame was read off the socket (stamped before any queueing). */
  arrivedAtMs: number;
  /** Socket.IO: the event name ("message" for plain send/expect). */
  event?: string;
  /** Socket.IO: the event's first argument, already decoded. */
  value?: unknown;
  /** Lazily parsed JSON of `text`, cached by the first matcher that needs it (0 = not tried,
   *  1 = parsed into `json`, 2 = not JSON). Hot path: parse at most once per frame. */
  jsonState?: 0 | 1 | 2;
  json?: unknown;
  /** A binary frame's bytes read as UTF-8 for text matchers, decoded at most once (0 = not tried,
   *  1 = valid UTF-8 in `utf8`, 2 = not UTF-8). */
  utf8State?: 0 | 1 | 2;
  utf8?: string;
}

export interface CloseInfo {
  code: number;
  reason: string;
  /** True when the client asked for the close (a close step or the end of the session). */
  initiatedByClient: boolean;
  /** Set when the connection ended abnormally (reset, protocol error…). */
  errorKind?: ErrorKind;
  errorMessage?: string;
}

export interface TransportSink {
  onFrame(frame: InboundFrame): void;
  onClose(info: CloseInfo): void;
  /** A frame sent earlier was written to the network (transports with countsSentFrames). */
  onFrameWritten?(): void;
}

export interface ResolvedTls {
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
  rejectUnauthorized: boolean;
  servername?: string;
}

export interface TransportOptions {
  url: string; // fully rendered target URL (query included)
  headers: Record<string, string>;
  subprotocols: string[];
  handshakeTimeoutMs: number;
  perMessageDeflate: boolean;
  maxPayloadBytes: number;
  tls?: ResolvedTls;
  localAddress?: string;
  /** long-poll: base URL of the endpoints (`{lp}`); defaults to the target's http twin + /lp. */
  longPollUrl?: string;
  socketio?: {
    path: string;
    namespace: string;
    transports: ('websocket' | 'polling')[];
    auth?: unknown;
    query: Record<string, string>;
  };
  /** --debug: called with each handshake/frame line of this connection. */
  debug?: (line: string) => void;
}

/** A failure with a classified kind, so it is counted as errors{kind}. */
export class TransportError extends Error {
  readonly kind: ErrorKind;
  constructor(kind: ErrorKind, message: string) {
    super(message);
    this.name = 'TransportError';
    this.kind = kind;
  }
}

export interface Transport {
  /** Opens the connection (handshake included); rejects with a TransportError. */
  connect(): Promise<void>;
  /** Queues one frame; throws TransportError('send_failed') when the connection is gone. */
  send(payload: string | Uint8Array, binary: boolean): void;
  /** Socket.IO only: emits an event; with an ack, resolves with the ack's arguments. */
  emit?(event: string, args: unknown[], ackTimeoutMs: number | undefined): Promise<unknown[]> | undefined;
  /** A timed round trip (WebSocket ping/pong, or the transport's documented equivalent), in ms. */
  ping(timeoutMs: number): Promise<number>;
  /** Closes politely; resolves once closed (or after a short grace period, then destroys). */
  close(code: number, reason: string): Promise<void>;
  /** Ends the connection at once (used at hard stops). */
  destroy(): void;
  /** Bytes on the wire so far, both directions, handshakes and framing included. */
  readonly bytesSent: number;
  readonly bytesReceived: number;
  /** Bytes queued but not yet written (backpressure). */
  readonly bufferedAmount: number;
  readonly isOpen: boolean;
  /**
   * The transport queues sends of its own and reports each frame through
   * sink.onFrameWritten when its request is written (long-poll: one POST at a time), so
   * frames_sent never counts a frame still waiting in that queue. Otherwise send() hands the
   * frame to the socket and the caller counts it then.
   */
  readonly countsSentFrames?: boolean;
}

export type TransportFactory = (options: TransportOptions, sink: TransportSink) => Transport;
