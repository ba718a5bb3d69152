// The public shape of the embedded targets (startTarget) and the small internal contract that
// lets each target's app logic be written once and run unchanged over WebSocket and long-poll.

export type TargetName = 'echo' | 'chat' | 'feed';
export const TARGET_NAMES: readonly TargetName[] = ['echo', 'chat', 'feed'];

export function isTargetName(value: string): value is TargetName {
  return (TARGET_NAMES as readonly string[]).includes(value);
}

export interface TargetOptions {
  /** Interface to listen on; default 127.0.0.1. */
  host?: string;
  /** 0 (default) = a free port chosen by the OS. */
  port?: number;
  /** Serve https/wss with this certificate instead of http/ws. */
  tls?: { cert: string | Buffer; key: string | Buffer };
  /** How long a long-poll GET is held before it answers 204; default 25000. */
  pollTimeoutMs?: number;
  /** feed only: ticks per second per connection; default 10 (a `?rate=R` query overrides, max 1000). */
  feedRatePerSecond?: number;
}

export interface TargetStats {
  /** Client connections opened so far: WebSocket connections plus long-poll sessions. */
  connections: number;
  /** Client connections open right now (an addition to the brief's shape; same units). */
  openConnections: number;
  /** Application frames received from clients (WebSocket messages, long-poll sends). */
  framesReceived: number;
  /** Application frames sent to clients (WebSocket messages, frames in long-poll responses). */
  framesSent: number;
  /** Bytes read from the server's TCP sockets (handshakes, HTTP headers, framing included). */
  bytesReceived: number;
  /** Bytes written to the server's TCP sockets (handshakes, HTTP headers, framing included). */
  bytesSent: number;
}

export interface RunningTarget {
  name: TargetName;
  /** ws://HOST:PORT/ (wss:// with tls); WebSocket upgrades are accepted on any path. */
  url: string;
  /** http://HOST:PORT/ (https:// with tls): the demo page. */
  httpUrl: string;
  /** http://HOST:PORT/lp: the base of the long-poll endpoints. */
  longPollUrl: string;
  port: number;
  stats(): TargetStats;
  /** Ends every connection and session and stops listening. */
  close(): Promise<void>;
}

// ---- Internal: app <-> transport adapters -------------------------------------------------

export type ClientTransportName = 'ws' | 'long-poll';

/** One client as a target's app sees it, whatever carries it. */
export interface ClientConnection {
  /** Process-unique number, for logs and maps. */
  readonly id: number;
  readonly transport: ClientTransportName;
  /** Query of the URL the client connected with (the upgrade URL, or the long-poll session's
   *  first request without its `session` parameter). */
  readonly query: URLSearchParams;
  readonly isOpen: boolean;
  /** Queues one frame: a string goes as text, bytes as binary. Ignored once closed. */
  send(frame: string | Uint8Array): void;
  /** Ends the connection from the server side. */
  close(code: number, reason: string): void;
}

/** What an app does with one connection's inbound frames and its end. */
export interface ConnectionHandler {
  /** A text frame arrives as a string, a binary frame as a Buffer. */
  onFrame(frame: string | Buffer): void;
  /** Called once when the connection ends, whoever ended it. */
  onClose(): void;
}

export interface TargetApp {
  readonly name: TargetName;
  open(conn: ClientConnection): ConnectionHandler;
  /** Stops the app's timers; connections are ended by the adapters. */
  close(): void;
}
