// Wall-clock epoch milliseconds with a sub-millisecond fraction, the same clock a client's
// `${now}` uses, so a timestamp stamped here can be subtracted on the client (delivery latency).
export function epochNowMs(): number {
  return performance.timeOrigin + performance.now();
}
