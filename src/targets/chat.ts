// chat: rooms over a small JSON protocol.
//   {"type":"join","room":R,"user":U}  -> to the joiner {"type":"joined","room":R,"user":U,"sessionId":S,"members":N}
//   {"type":"say","text":T,"sentAt"?:MS} -> to every member, sender included:
//                                           {"type":"message","room":R,"user":U,"text":T,"sentAt":MS}
//   {"type":"leave"}                     -> to the leaver {"type":"left","room":R}
//   anything else                        -> {"type":"error","message":...}
// sentAt is the sender's own timestamp when it gives one, as a number or a numeric string (so
// every receiver can measure fan-out latency from the sender's clock); otherwise the server's
// epoch ms at the broadcast. It always goes out as a JSON number.

import { randomBytes } from 'node:crypto';
import { epochNowMs } from './clock.js';
import type { ClientConnection, ConnectionHandler, TargetApp } from './types.js';

/** Room and user names longer than this are refused: they are echoed into every message. */
const MAX_NAME_CHARS = 200;

interface Member {
  conn: ClientConnection;
  user: string;
  room: string;
}

/** The sender's sentAt as a number: a JSON number, or a numeric string (a `${now}` rendered
 *  inside a JSON string by a scenario). Anything else means the server stamps the message. */
function senderStamp(sentAt: unknown): number | undefined {
  if (typeof sentAt === 'number') return Number.isFinite(sentAt) ? sentAt : undefined;
  if (typeof sentAt === 'string' && /^\d+(\.\d+)?$/.test(sentAt)) return Number(sentAt);
  return undefined;
}

class ChatApp implements TargetApp {
  readonly name = 'chat' as const;
  private readonly rooms = new Map<string, Set<Member>>();

  open(conn: ClientConnection): ConnectionHandler {
    return new ChatHandler(this, conn);
  }

  close(): void {
    this.rooms.clear();
  }

  join(member: Member): number {
    let room = this.rooms.get(member.room);
    if (!room) {
      room = new Set();
      this.rooms.set(member.room, room);
    }
    room.add(member);
    return room.size;
  }

  leave(member: Member): void {
    const room = this.rooms.get(member.room);
    if (!room) return;
    room.delete(member);
    if (room.size === 0) this.rooms.delete(member.room);
  }

  broadcast(roomName: string, frame: string): void {
    const room = this.rooms.get(roomName);
    if (!room) return;
    for (const m of room) m.conn.send(frame);
  }
}

class ChatHandler implements ConnectionHandler {
  private member: Member | undefined;

  constructor(
    private readonly app: ChatApp,
    private readonly conn: ClientConnection,
  ) {}

  onFrame(frame: string | Buffer): void {
    if (typeof frame !== 'string') return this.error('binary frames are not part of the chat protocol; send JSON text');
    let msg: unknown;
    try {
      msg = JSON.parse(frame);
    } catch {
      return this.error('frame is not JSON');
    }
    if (typeof msg !== 'object' || msg === null || Array.isArray(msg)) return this.error('frame is not a JSON object');
    const m = msg as Record<string, unknown>;
    switch (m.type) {
      case 'join':
        return this.join(m.room, m.user);
      case 'say':
        return this.say(m.text, m.sentAt);
      case 'leave':
        return this.leave();
      default:
        return this.error(
          typeof m.type === 'string'
            ? `unknown type ${JSON.stringify(m.type)}; expected join, say or leave`
            : 'missing "type"; expected join, say or leave',
        );
    }
  }

  onClose(): void {
    if (this.member) this.app.leave(this.member);
    this.member = undefined;
  }

  private join(room: unknown, user: unknown): void {
    if (typeof room !== 'string' || room.length === 0 || room.length > MAX_NAME_CHARS) {
      return this.error(`join needs "room": a string of 1-${MAX_NAME_CHARS} characters`);
    }
    if (typeof user !== 'string' || user.length === 0 || user.length > MAX_NAME_CHARS) {
      return this.error(`join needs "user": a string of 1-${MAX_NAME_CHARS} characters`);
    }
    if (this.member) this.app.leave(this.member);
    this.member = { conn: this.conn, user, room };
    const members = this.app.join(this.member);
    const sessionId = randomBytes(8).toString('hex');
    this.conn.send(JSON.stringify({ type: 'joined', room, user, sessionId, members }));
  }

  private say(text: unknown, sentAt: unknown): void {
    const member = this.member;
    if (!member) return this.error('join a room before saying anything');
    if (typeof text !== 'string') return this.error('say needs "text": a string');
    const stamp = senderStamp(sentAt) ?? epochNowMs();
    // Serialised once for the whole room.
    const frame = JSON.stringify({ type: 'message', room: member.room, user: member.user, text, sentAt: stamp });
    this.app.broadcast(member.room, frame);
  }

  private leave(): void {
    const member = this.member;
    if (!member) return this.error('not in a room');
    this.app.leave(member);
    this.member = undefined;
    this.conn.send(JSON.stringify({ type: 'left', room: member.room }));
  }

  private error(message: string): void {
    this.conn.send(JSON.stringify({ type: 'error', message }));
  }
}

export function createChatApp(): TargetApp {
  return new ChatApp();
}
