// An HTTP(S) keep-alive Agent whose sockets are counted at the TCP level, so a transport can
// report bytes on the wire: request and status lines, headers, chunked framing, bodies, and for
// https the TLS records too (we open the TCP socket ourselves and run TLS over it, so the counts
// are ciphertext, what actually crossed the network, not the decrypted stream).

import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import tls from 'node:tls';
import type { Duplex } from 'node:stream';
import type { ResolvedTls } from './types.js';

/**
 * Sums bytesWritten/bytesRead over every socket it tracks. Live sockets are read at the moment
 * of the call (so the totals are current at any time); a socket's final counts are folded into
 * the closed totals when it closes, and the socket is forgotten.
 */
export class SocketByteCounter {
  private closedSentBytes = 0;
  private closedReceivedBytes = 0;
  private readonly live = new Set<net.Socket>();

  track(socket: net.Socket): void {
    this.live.add(socket);
    socket.once('close', onTrackedSocketClose);
    (socket as CountedSocket)[kCounter] = this;
  }

  get bytesSent(): number {
    let total = this.closedSentBytes;
    for (const socket of this.live) total += socket.bytesWritten;
    return total;
  }

  get bytesReceived(): number {
    let total = this.closedReceivedBytes;
    for (const socket of this.live) total += socket.bytesRead;
    return total;
  }

  /** Sockets opened and not yet closed (tests and debug output). */
  get liveSockets(): number {
    return this.live.size;
  }

  /** @internal called once per tracked socket on 'close'. */
  settle(socket: net.Socket): void {
    if (!this.live.delete(socket)) return;
    // net.Socket keeps its counters after close (they are copied off the handle on destroy).
    this.closedSentBytes += socket.bytesWritten;
    this.closedReceivedBytes += socket.bytesRead;
  }
}

const kCounter = Symbol('volley.byteCounter');
type CountedSocket = net.Socket & { [kCounter]?: SocketByteCounter };

// Module-level listener with a back-link (ws style) instead of one closure per socket.
function onTrackedSocketClose(this: CountedSocket): void {
  this[kCounter]?.settle(this);
}

export interface CountingAgentOptions extends CountedConnectionOptions {
  /** Concurrent sockets per origin: 2 for long-poll (one held by the poll, one for sends). */
  maxSockets: number;
}

/**
 * A keep-alive Agent (http.Agent, or https.Agent when `secure`) whose connections are all
 * counted by `counter`. Pass it as `agent` to http.request/https.request.
 */
export function createCountingAgent(options: CountingAgentOptions, counter: SocketByteCounter): http.Agent {
  const agentOptions: http.AgentOptions = {
    keepAlive: true,
    maxSockets: options.maxSockets,
    maxFreeSockets: options.maxSockets,
    scheduling: 'fifo',
  };
  const agent = options.secure ? new https.Agent(agentOptions) : new http.Agent(agentOptions);
  agent.createConnection = (requestOptions: http.ClientRequestArgs): Duplex => {
    const { raw, outer } = openCountedConnection(requestOptions, options);
    counter.track(raw);
    return outer;
  };
  return agent;
}

export interface CountedConnectionOptions {
  secure: boolean;
  tls?: ResolvedTls;
  localAddress?: string;
}

/**
 * Opens the TCP socket an Agent asks for (its createConnection), with TLS run over it when
 * `secure`: `raw` is the TCP socket, whose counters then see what crossed the network (TLS
 * records included), `outer` the socket to hand to http (raw itself, or the TLS socket).
 * Errors on the raw socket (ECONNREFUSED…) surface on the TLS socket and thus the request.
 */
export function openCountedConnection(
  requestOptions: http.ClientRequestArgs,
  options: CountedConnectionOptions,
): { raw: net.Socket; outer: Duplex } {
  const secure = options.secure;
  const host = stripBrackets(requestOptions.hostname ?? requestOptions.host ?? 'localhost');
  const port = Number(requestOptions.port ?? (secure ? 443 : 80));
  const raw = net.connect({ host, port, localAddress: options.localAddress });
  raw.setNoDelay(true);
  if (!secure) return { raw, outer: raw };
  const tlsOptions = options.tls;
  const outer = tls.connect({
    socket: raw,
    host, // the name the certificate is checked against when no servername is given
    ca: tlsOptions?.ca,
    cert: tlsOptions?.cert,
    key: tlsOptions?.key,
    rejectUnauthorized: tlsOptions?.rejectUnauthorized ?? true,
    // SNI only for names; node warns when an IP address is sent as a servername.
    servername: tlsOptions?.servername ?? (net.isIP(host) === 0 ? host : undefined),
    ALPNProtocols: ['http/1.1'],
  });
  return { raw, outer };
}

function stripBrackets(host: string): string {
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}
