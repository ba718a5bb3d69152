// The embedded targets' public API: `startTarget` serves echo, chat or feed over WebSocket and
// long-poll on one port (used by `volley serve` and by `builtin:` scenario targets).

export { startTarget } from './server.js';
export { TARGET_NAMES, isTargetName } from './types.js';
export type { RunningTarget, TargetName, TargetOptions, TargetStats } from './types.js';
