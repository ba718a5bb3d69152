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

export interface CountingAgentOptions {
  secure: boolean;
  tls?: ResolvedTls;
  localAddress?: string;
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
  const tlsOptions = options.tls;
  const localAddress = options.localAddress;
  const secure = options.secure;
  agent.createConnection = (requestOptions: http.ClientRequestArgs): Duplex => {
    const host = stripBrackets(requestOptions.hostname ?? requestOptions.host ?? 'localhost');
    const port = Number(requestOptions.port ?? (secure ? 443 : 80));
    const raw = net.connect({ host, port, localAddress });
    raw.setNoDelay(true);
    counter.track(raw);
    if (!secure) return raw;
    // TLS over our own TCP socket: the raw socket's counters then see the encrypted bytes.
    // Errors on the raw socket (ECONNREFUSED…) surface on the TLS socket and thus the request.
    return tls.connect({
      socket: raw,
      host, // the name the certificate is checked against when no servername is given
      ca: tlsOptions?.ca,
      cert: tlsOptions?.cert,
      key: tlsOptions?.key,
      rejectUnauthorized: tlsOptions?.rejectUnauthorized ?? true,
      servername: tlsOptions?.servername ?? (net.isIP(host) === 0 ? host : undefined),
      ALPNProtocols: ['http/1.1'],
    });
  };
  return agent;
}

function stripBrackets(host: string): string {
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}
