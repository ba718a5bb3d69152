// echo: every frame goes back as it came, text as text and binary as binary.

import type { ClientConnection, ConnectionHandler, TargetApp } from './types.js';

class EchoHandler implements ConnectionHandler {
  constructor(private readonly conn: ClientConnection) {}
  onFrame(frame: string | Buffer): void {
    this.conn.send(frame);
  }
  onClose(): void {}
}

export function createEchoApp(): TargetApp {
  return {
    name: 'echo',
    open: (conn) => new EchoHandler(conn),
    close: () => {},
  };
}
