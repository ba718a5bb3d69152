// Server-side counts a test can reconcile with the client's: application frames counted by the
// adapters, bytes read off every TCP socket the server accepted (so the WebSocket handshake,
// HTTP headers, chunked and WebSocket framing, and TLS records are all included).

import type { Socket } from 'node:net';
import type { TargetStats } from './types.js';

export class TargetCounters {
  connections = 0;
  openConnections = 0;
  framesReceived = 0;
  framesSent = 0;
  private readonly liveSockets = new Set<Socket>();
  private closedBytesRead = 0;
  private closedBytesWritten = 0;

  /** Call from the server's 'connection' event: that is the raw TCP socket, before TLS. */
  trackSocket(socket: Socket): void {
    this.liveSockets.add(socket);
    socket.once('close', () => {
      // Node keeps bytesRead/bytesWritten readable after close, so fold them in now.
      this.closedBytesRead += socket.bytesRead;
      this.closedBytesWritten += socket.bytesWritten;
      this.liveSockets.delete(socket);
    });
  }

  connectionOpened(): void {
    this.connections++;
    this.openConnections++;
  }

  connectionClosed(): void {
    this.openConnections--;
  }

  snapshot(): TargetStats {
    let bytesReceived = this.closedBytesRead;
    let bytesSent = this.closedBytesWritten;
    for (const s of this.liveSockets) {
      bytesReceived += s.bytesRead;
      bytesSent += s.bytesWritten;
    }
    return {
      connections: this.connections,
      openConnections: this.openConnections,
      framesReceived: this.framesReceived,
      framesSent: this.framesSent,
      bytesReceived,
      bytesSent,
    };
  }
}

let nextConnectionId = 1;
export function newConnectionId(): number {
  return nextConnectionId++;
}
