// Runs the real `volley` command line (bin/volley.js over dist/) as a child process.

import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export const repoRoot = path.resolve(import.meta.dirname, '../..');
const bin = path.join(repoRoot, 'bin', 'volley.js');

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export function tempDir(prefix = 'volley-test-'): string {
  return mkdtempSync(path.join(os.tmpdir(), prefix));
}

export interface CliRun {
  child: ChildProcess;
  /** Settles once the process has exited and its output is read. */
  done: Promise<CliResult>;
}

export interface CliOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** SIGKILL after this long (default 60 s), so a hang fails the test on its exit code. */
  timeoutMs?: number;
  onStdout?: (text: string) => void;
  onStderr?: (text: string) => void;
}

/** Starts volley with args and returns at once: for tests that signal the process mid-run. */
export function startCli(args: string[], opts: CliOptions = {}): CliRun {
  const child = spawn(process.execPath, [bin, ...args], {
    cwd: opts.cwd ?? repoRoot,
    env: { ...process.env, NO_COLOR: '1', ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => {
    stdout += d;
    opts.onStdout?.(d);
  });
  child.stderr.setEncoding('utf8').on('data', (d: string) => {
    stderr += d;
    opts.onStderr?.(d);
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 60_000);
  const done = new Promise<CliResult>((resolve, reject) => {
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
  return { child, done };
}

/** Runs volley with args to the end; kills it after timeoutMs (the test then fails on the exit code). */
export function runCli(args: string[], opts: CliOptions & { onSpawn?: (pid: number) => void } = {}): Promise<CliResult> {
  const run = startCli(args, opts);
  if (run.child.pid !== undefined) opts.onSpawn?.(run.child.pid);
  return run.done;
}
