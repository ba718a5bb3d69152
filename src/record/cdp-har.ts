// Builds a HAR from Chrome DevTools Protocol Network events the way DevTools' own HAR writer does
// for WebSockets (one entry per socket, `_resourceType: "websocket"`, frames under
// `_webSocketMessages` with wall-clock seconds). It lets a test, or a script driving a browser,
// produce exactly what "Save all as HAR" would, without clicking through DevTools.
//
// Times: CDP stamps events with a monotonic clock (seconds); only webSocketWillSendHandshakeRequest
// also carries wallTime. As DevTools does (NetworkRequest.pseudoWallTime), a frame's wall time is
// wallTime + (frame.timestamp - handshake.timestamp).

export interface CdpEvent {
  method: string;
  params: unknown;
}

export interface HarWebSocketMessage {
  type: 'send' | 'receive' | 'error';
  time: number; // epoch seconds
  opcode: number; // -1 for errors, as DevTools writes
  data: string;
}

export interface HarHeader {
  name: string;
  value: string;
}

export interface HarWebSocketEntry {
  startedDateTime: string;
  time: number;
  request: {
    method: 'GET';
    url: string;
    httpVersion: string;
    headers: HarHeader[];
    queryString: HarHeader[];
    cookies: never[];
    headersSize: number;
    bodySize: number;
  };
  response: {
    status: number;
    statusText: string;
    httpVersion: string;
    headers: HarHeader[];
    cookies: never[];
    content: { size: number; mimeType: string };
    redirectURL: string;
    headersSize: number;
    bodySize: number;
  };
  cache: Record<string, never>;
  timings: { blocked: number; dns: number; ssl: number; connect: number; send: number; wait: number; receive: number };
  _initiator?: unknown;
  _resourceType: 'websocket';
  _webSocketMessages: HarWebSocketMessage[];
}

export interface HarDocument {
  log: {
    version: '1.2';
    creator: { name: string; version: string };
    pages: never[];
    entries: HarWebSocketEntry[];
  };
}

interface Socket {
  url: string;
  initiator?: unknown;
  handshakeTimestamp?: number; // monotonic s
  wallTime?: number; // epoch s
  requestHeaders: Record<string, string>;
  response?: { status: number; statusText: string; headers: Record<string, string> };
  closedTimestamp?: number;
  frames: { type: HarWebSocketMessage['type']; timestamp: number; opcode: number; data: string }[];
}

export function harFromCdpEvents(events: readonly CdpEvent[]): HarDocument {
  const sockets = new Map<string, Socket>();
  // ExtraInfo events carry the headers as sent (Cookie included) and may precede webSocketCreated.
  const extraHeaders = new Map<string, Record<string, string>>();
  const socketFor = (p: Record<string, unknown>): Socket | undefined => {
    const id = typeof p.requestId === 'string' ? p.requestId : undefined;
    return id === undefined ? undefined : sockets.get(id);
  };
  for (const { method, params } of events) {
    if (!isRecord(params)) continue;
    switch (method) {
      case 'Network.webSocketCreated':
        if (typeof params.requestId === 'string' && typeof params.url === 'string') {
          sockets.set(params.requestId, { url: params.url, initiator: params.initiator, requestHeaders: {}, frames: [] });
        }
        break;
      case 'Network.webSocketWillSendHandshakeRequest': {
        const s = socketFor(params);
        if (!s) break;
        s.handshakeTimestamp = num(params.timestamp);
        s.wallTime = num(params.wallTime);
        if (isRecord(params.request)) s.requestHeaders = stringRecord(params.request.headers);
        break;
      }
      case 'Network.requestWillBeSentExtraInfo':
        if (typeof params.requestId === 'string') extraHeaders.set(params.requestId, stringRecord(params.headers));
        break;
      case 'Network.webSocketHandshakeResponseReceived': {
        const s = socketFor(params);
        if (!s || !isRecord(params.response)) break;
        const r = params.response;
        s.response = { status: num(r.status) ?? 101, statusText: typeof r.statusText === 'string' ? r.statusText : '', headers: stringRecord(r.headers) };
        // The headers actually sent (cookies included) arrive with the response; DevTools prefers them.
        const sent = stringRecord(r.requestHeaders);
        if (Object.keys(sent).length > 0) s.requestHeaders = sent;
        break;
      }
      case 'Network.webSocketFrameSent':
      case 'Network.webSocketFrameReceived': {
        const s = socketFor(params);
        if (!s || !isRecord(params.response)) break;
        s.frames.push({
          type: method === 'Network.webSocketFrameSent' ? 'send' : 'receive',
          timestamp: num(params.timestamp) ?? 0,
          opcode: num(params.response.opcode) ?? 1,
          data: typeof params.response.payloadData === 'string' ? params.response.payloadData : '',
        });
        break;
      }
      case 'Network.webSocketFrameError': {
        const s = socketFor(params);
        if (!s) break;
        s.frames.push({ type: 'error', timestamp: num(params.timestamp) ?? 0, opcode: -1, data: typeof params.errorMessage === 'string' ? params.errorMessage : '' });
        break;
      }
      case 'Network.webSocketClosed': {
        const s = socketFor(params);
        if (s) s.closedTimestamp = num(params.timestamp);
        break;
      }
      default:
        break;
    }
  }
  for (const [id, s] of sockets) {
    const extra = extraHeaders.get(id);
    if (extra && Object.keys(extra).length > 0) s.requestHeaders = { ...s.requestHeaders, ...extra };
  }
  return {
    log: { version: '1.2', creator: { name: 'volley cdp-har', version: '1' }, pages: [], entries: [...sockets.values()].map(entryOf) },
  };
}

function entryOf(s: Socket): HarWebSocketEntry {
  const t0 = s.handshakeTimestamp ?? s.frames[0]?.timestamp ?? 0;
  const wall0 = s.wallTime ?? t0;
  const wall = (monotonic: number): number => wall0 + (monotonic - t0);
  const end = s.closedTimestamp ?? s.frames[s.frames.length - 1]?.timestamp ?? t0;
  const url = new URL(s.url);
  return {
    startedDateTime: new Date(wall0 * 1000).toISOString(),
    time: Math.max(0, (end - t0) * 1000),
    request: {
      method: 'GET',
      url: s.url,
      httpVersion: 'HTTP/1.1',
      headers: toHeaders(s.requestHeaders),
      queryString: [...url.searchParams].map(([name, value]) => ({ name, value })),
      cookies: [],
      headersSize: -1,
      bodySize: 0,
    },
    response: {
      status: s.response?.status ?? 0,
      statusText: s.response?.statusText ?? '',
      httpVersion: 'HTTP/1.1',
      headers: toHeaders(s.response?.headers ?? {}),
      cookies: [],
      content: { size: 0, mimeType: 'x-unknown' },
      redirectURL: '',
      headersSize: -1,
      bodySize: 0,
    },
    cache: {},
    timings: { blocked: -1, dns: -1, ssl: -1, connect: -1, send: 0, wait: 0, receive: 0 },
    _initiator: s.initiator,
    _resourceType: 'websocket',
    _webSocketMessages: s.frames.map((f) => ({ type: f.type, time: wall(f.timestamp), opcode: f.opcode, data: f.data })),
  };
}

function toHeaders(record: Record<string, string>): HarHeader[] {
  const out: HarHeader[] = [];
  // CDP joins repeated headers with "\n"; HAR lists them one by one.
  for (const [name, value] of Object.entries(record)) for (const v of value.split('\n')) out.push({ name, value: v });
  return out;
}

function stringRecord(v: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (!isRecord(v)) return out;
  for (const [k, val] of Object.entries(v)) if (typeof val === 'string') out[k] = val;
  return out;
}

function num(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
