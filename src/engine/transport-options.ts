// Per-session transport options (URL with rendered query, rendered headers, TLS, source
// address) and the choice of transport implementation. Transports are imported on demand so a
// ws run never loads the Socket.IO client.

import { renderJsonTemplate } from '../scenario/match.js';
import type { RenderContext } from '../scenario/template.js';
import type { Scenario, TransportName } from '../scenario/types.js';
import type { ResolvedTls, TransportFactory, TransportOptions } from '../transport/types.js';
import { resolveTls } from '../transport/tls-options.js';
import { peakConnections } from '../load/plan.js';

/**
 * Past this many connections to a loopback target, sources spread over 127.0.0.0/8: one
 * source address has only ~28k ephemeral ports (32768-60999), and connections in TIME_WAIT from
 * an earlier run still hold theirs.
 */
export const AUTO_SPREAD_ABOVE = 10_000;
/** Connections per source address when spreading automatically (well under the port range). */
const PER_SOURCE_ADDRESS = 8_000;

/**
 * The source addresses a run uses: the scenario's `connect.localAddresses`, or, for a literal
 * 127.x.y.z target and a peak over AUTO_SPREAD_ABOVE, 127.0.0.1, 127.0.0.2, ... (Linux answers
 * for the whole 127.0.0.0/8 on lo). Other targets keep the system's choice: we cannot know which
 * local addresses route to them.
 */
export function sourceAddresses(scenario: Scenario): string[] {
  if (scenario.connect.localAddresses.length > 0) return scenario.connect.localAddresses;
  const load = scenario.load;
  const peak = load.model === 'connections' ? peakConnections(load) : load.maxConnections;
  if (!(peak > AUTO_SPREAD_ABOVE)) return [];
  let host: string;
  try {
    host = new URL(scenario.target).hostname;
  } catch {
    return [];
  }
  if (!/^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host)) return [];
  const count = Math.min(250, Math.ceil(peak / PER_SOURCE_ADDRESS));
  return Array.from({ length: count }, (_, i) => `127.0.0.${i + 1}`);
}

export async function loadTransportFactory(name: TransportName): Promise<TransportFactory> {
  switch (name) {
    case 'ws':
      return (await import('../transport/ws.js')).createWsTransport;
    case 'long-poll':
      return (await import('../transport/longpoll.js')).createLongPollTransport;
    case 'socket.io':
    case 'socket.io/polling':
      return (await import('../transport/socketio.js')).createSocketIoTransport;
  }
}

export function buildTransportOptions(scenario: Scenario, baseDir: string): (ctx: RenderContext) => TransportOptions {
  const c = scenario.connect;
  const tls: ResolvedTls | undefined = resolveTls(c.tls, baseDir);
  const headerEntries = Object.entries(c.headers);
  const queryEntries = Object.entries(c.query);
  const sio = scenario.socketio;
  const sioQueryEntries = Object.entries(sio.query);
  const localAddresses = sourceAddresses(scenario);
  let nextAddress = 0;
  const transports: ('websocket' | 'polling')[] =
    scenario.transport === 'socket.io/polling' ? ['polling'] : scenario.transport === 'socket.io' && sio.transports.length === 0 ? ['websocket'] : sio.transports;
  return (ctx) => {
    // Rendered once: the WebSocket URL and a longPoll.url of its own carry the same values.
    const query = queryEntries.map(([k, t]) => [k, t.render(ctx)] as const);
    const withQuery = (base: string): string => {
      if (query.length === 0) return base;
      const u = new URL(base);
      for (const [k, v] of query) u.searchParams.set(k, v);
      return u.toString();
    };
    const url = withQuery(scenario.target);
    const headers: Record<string, string> = {};
    for (const [k, t] of headerEntries) headers[k] = t.render(ctx);
    const options: TransportOptions = {
      url,
      headers,
      subprotocols: c.subprotocols.map((t) => t.render(ctx)),
      handshakeTimeoutMs: c.timeoutMs,
      perMessageDeflate: c.perMessageDeflate,
      maxPayloadBytes: c.maxPayloadBytes,
    };
    if (tls) options.tls = tls;
    if (localAddresses.length > 0) options.localAddress = localAddresses[nextAddress++ % localAddresses.length];
    // connect.query goes with every request of the session, to a longPoll.url of its own too.
    if (scenario.longPoll.url) options.longPollUrl = withQuery(scenario.longPoll.url);
    if (scenario.transport === 'socket.io' || scenario.transport === 'socket.io/polling') {
      const query: Record<string, string> = {};
      for (const [k, t] of sioQueryEntries) query[k] = t.render(ctx);
      options.socketio = { path: sio.path, namespace: sio.namespace, transports, query };
      if (sio.auth !== undefined) options.socketio.auth = renderJsonTemplate(sio.auth, ctx);
    }
    return options;
  };
}
