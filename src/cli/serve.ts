// `volley serve`: an embedded target standalone, until Ctrl-C (or --duration).

import { VolleyError } from '../errors.js';
import type { CliIO } from './io.js';
import { waitForStop } from './io.js';

export interface ServeOptions {
  target: string;
  port: number;
  host: string;
  tls: boolean;
  durationMs?: number;
}

export async function serveCommand(opts: ServeOptions, io: CliIO): Promise<number> {
  let tls: { cert: string; key: string } | undefined;
  if (opts.tls) {
    const { generateSelfSignedCertificate } = await import('../targets/tls.js');
    const cert = generateSelfSignedCertificate({});
    tls = { cert: cert.cert, key: cert.key };
    io.stdout.write(`self-signed certificate, SHA-256 fingerprint ${cert.fingerprint256}\n`);
  }
  let close: () => Promise<void>;
  try {
    if (opts.target === 'socketio-chat') {
      const { startSocketIoChat } = await import('../targets/socketio-chat.js');
      const t = await startSocketIoChat({ host: opts.host, port: opts.port, tls });
      io.stdout.write(`socketio-chat: Socket.IO at ${t.url} (path /socket.io)\n`);
      close = () => t.close();
    } else {
      const { startTarget, isTargetName } = await import('../targets/index.js');
      if (!isTargetName(opts.target))
        throw new VolleyError('INVALID_INPUT', `unknown target "${opts.target}" (echo, chat, feed, socketio-chat)`);
      const t = await startTarget(opts.target, { host: opts.host, port: opts.port, tls });
      io.stdout.write(`${opts.target}: WebSocket ${t.url}\n`);
      io.stdout.write(`${opts.target}: long-poll ${t.longPollUrl} (POST /send, GET /poll ?session=ID)\n`);
      io.stdout.write(`${opts.target}: demo page ${t.httpUrl}\n`);
      close = () => t.close();
    }
  } catch (err) {
    if (err instanceof VolleyError) throw err;
    const code = err && typeof err === 'object' && 'code' in err ? String((err as { code: unknown }).code) : '';
    if (code === 'EADDRINUSE') throw new VolleyError('INVALID_INPUT', `--port ${opts.port}: address already in use`);
    if (code === 'EACCES') throw new VolleyError('INVALID_INPUT', `--port ${opts.port}: permission denied`);
    throw err;
  }
  await waitForStop(opts.durationMs);
  await close();
  return 0;
}
