// The common model of observed WebSocket traffic. Both inputs (a DevTools HAR, the recording
// proxy) produce ObservedFlows; generate.ts turns them into a scenario. Keeping one model means
// the generator is tested once and both paths behave the same.

export interface ObservedFrame {
  direction: 'send' | 'receive'; // seen from the browser: send = client -> server
  timeMs: number; // epoch milliseconds (with fraction)
  opcode: 1 | 2; // 1 text, 2 binary
  data: string; // text, or base64 for binary
  /** Position in the source (the HAR's _webSocketMessages index, or the proxy's frame count). */
  index: number;
}

export interface ObservedFlow {
  url: string; // ws:// or wss://
  requestHeaders: Record<string, string>; // handshake request headers as observed (names as written)
  subprotocols: string[]; // offered by the client (Sec-WebSocket-Protocol)
  startedAtMs: number; // epoch ms when the handshake started
  frames: ObservedFrame[];
  source: string; // where it came from, for comments: "log.entries[3] in chat.har"
  /** Things the reader dropped on the way (control frames, error entries), for warnings.
   *  Optional so other producers of flows need not fill it. */
  notes?: string[];
}

/** Looks up a header case-insensitively (HAR and Node spell names differently). */
export function headerValue(headers: Record<string, string>, name: string): string | undefined {
  const wanted = name.toLowerCase();
  for (const key of Object.keys(headers)) {
    if (key.toLowerCase() === wanted) return headers[key];
  }
  return undefined;
}

/** "chat.v1, chat.v2" -> ["chat.v1", "chat.v2"] */
export function splitSubprotocols(value: string | undefined): string[] {
  if (!value) return [];
  return value
    .split(',')
    .map((p) => p.trim())
    .filter((p) => p.length > 0);
}
