// What a command may touch of the outside world, injectable so tests drive the CLI in-process.

import { takeEarlySignals } from './signals.js';
import { mkdirSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';

export interface CliIO {
  stdout: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  stderr: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  env: NodeJS.ProcessEnv;
  cwd: string;
}

export function processIO(): CliIO {
  return { stdout: process.stdout, stderr: process.stderr, env: process.env, cwd: process.cwd() };
}

/** A user-facing failure of a command: one line on stderr and this exit code. */
export class CliExit extends Error {
  readonly exitCode: number;
  constructor(exitCode: number, message: string) {
    super(message);
    this.exitCode = exitCode;
  }
}

/**
 * Creates a folder and its missing parents. Node's mkdirSync({recursive: true}) loops forever
 * where mkdir answers ENOENT under an existing parent (/proc, some network mounts), so the
 * missing components are created one by one from the nearest existing ancestor.
 */
export function makeDirs(dir: string): void {
  const missing: string[] = [];
  let cur = path.resolve(dir);
  for (;;) {
    try {
      if (!statSync(cur).isDirectory()) throw Object.assign(new Error(`${cur} is not a folder`), { code: 'ENOTDIR' });
      break;
    } catch (err) {
      if ((err as { code?: string }).code !== 'ENOENT') throw err;
      missing.push(cur);
      const parent = path.dirname(cur);
      if (parent === cur) break;
      cur = parent;
    }
  }
  for (let i = missing.length - 1; i >= 0; i--) mkdirSync(missing[i]!);
}

/** Resolves at Ctrl-C / SIGTERM, or after durationMs when given (long-running commands). */
export function waitForStop(durationMs: number | undefined): Promise<void> {
  return new Promise<void>((resolve) => {
    const stop = (): void => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      if (timer) clearTimeout(timer);
      resolve();
    };
    const timer = durationMs ? setTimeout(stop, durationMs) : undefined;
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
    // Ctrl-C pressed while the command was starting: stop as soon as it is up.
    if (takeEarlySignals() > 0) stop();
  });
}

export function colorEnabled(stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv): boolean {
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false;
  if (env.FORCE_COLOR !== undefined && env.FORCE_COLOR !== '0') return true;
  return Boolean(stream.isTTY);
}

/** The system's code of a failed file operation (ENOSPC, EACCES…), for one-line messages. */
export function errorCode(err: unknown, fallback = 'not writable'): string {
  return err && typeof err === 'object' && 'code' in err ? String((err as { code: unknown }).code) : fallback;
}

/**
 * Writes one output file (its folder made first); a failure (a full disk, a folder removed
 * meanwhile) is one line naming the flag and the file, exit 2, never a stack trace.
 */
export function writeOutputFile(flag: string, file: string, text: string, append = false): void {
  try {
    makeDirs(path.dirname(file));
    writeFileSync(file, text, append ? { flag: 'a' } : undefined);
  } catch (err) {
    throw new CliExit(2, `${flag} ${file}: cannot write there (${errorCode(err)})`);
  }
}
