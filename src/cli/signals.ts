// Ctrl-C / SIGTERM that arrive while volley is still starting (loading its modules, reading the
// scenario) would otherwise kill the process with no word and no report. The launcher installs
// this catcher first; a command that handles signals itself takes the ones it missed over with
// takeEarlySignals(), and main() answers 130 for the others.

let caught = 0;
let installed = false;

function onEarlySignal(): void {
  caught++;
}

/** Called by bin/volley.js before anything slow is loaded. */
export function installEarlySignalCatcher(): void {
  if (installed) return;
  installed = true;
  process.on('SIGINT', onEarlySignal);
  process.on('SIGTERM', onEarlySignal);
}

/**
 * Signals caught since start that nobody has handled yet; the caller handles them from now on
 * (its own listeners are installed, so the catcher steps aside).
 */
export function takeEarlySignals(): number {
  const n = caught;
  caught = 0;
  if (installed) {
    installed = false;
    process.off('SIGINT', onEarlySignal);
    process.off('SIGTERM', onEarlySignal);
  }
  return n;
}

/** Signals caught and not taken over by any command (main() then exits 130). */
export function pendingEarlySignals(): number {
  return caught;
}
