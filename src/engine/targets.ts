// Resolves `builtin:NAME` targets by starting the embedded server in-process on a free
// loopback port for the length of the run; any other target passes through unchanged.

import { VolleyError } from '../errors.js';

export interface ResolvedTarget {
  url: string;
  close(): Promise<void>;
}

export async function resolveTarget(target: string): Promise<ResolvedTarget> {
  if (!target.startsWith('builtin:')) return { url: target, close: async () => {} };
  const name = target.slice('builtin:'.length);
  if (name === 'socketio-chat') {
    const { startSocketIoChat } = await import('../targets/socketio-chat.js');
    const t = await startSocketIoChat({ host: '127.0.0.1', port: 0 });
    return { url: t.url, close: () => t.close() };
  }
  if (name === 'echo' || name === 'chat' || name === 'feed') {
    const { startTarget } = await import('../targets/index.js');
    const t = await startTarget(name, { host: '127.0.0.1', port: 0 });
    return { url: t.url, close: () => t.close() };
  }
  throw new VolleyError('INVALID_SCENARIO', `unknown builtin target "${name}" (builtin:echo, builtin:chat, builtin:feed, builtin:socketio-chat)`);
}
