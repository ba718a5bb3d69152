// Errors as values with stable codes. A VolleyError is user-facing: the CLI prints its message
// on one line (no stack) and maps the code to an exit code.

import type { SourcePos } from './scenario/types.js';

export type ErrorCode =
  | 'INVALID_SCENARIO' // scenario YAML or semantics; exit 2
  | 'INVALID_INPUT' // flags, files, HARs, reports; exit 2
  | 'RUN_FAILED' // the run could not proceed (e.g. every connection failed); exit 3
  | 'INTERRUPTED'; // SIGINT/SIGTERM; exit 130

export interface Problem {
  file: string;
  pos?: SourcePos;
  message: string;
  /** The offending source line, for a caret display on a TTY. */
  sourceLine?: string;
}

export function formatProblem(p: Problem): string {
  return p.pos ? `${p.file}:${p.pos.line}:${p.pos.col}: ${p.message}` : `${p.file}: ${p.message}`;
}

export class VolleyError extends Error {
  readonly code: ErrorCode;
  readonly problems: Problem[];
  constructor(code: ErrorCode, message: string, problems: Problem[] = []) {
    super(message);
    this.name = 'VolleyError';
    this.code = code;
    this.problems = problems;
  }
}

export function exitCodeFor(code: ErrorCode): number {
  switch (code) {
    case 'INVALID_SCENARIO':
    case 'INVALID_INPUT':
      return 2;
    case 'RUN_FAILED':
      return 3;
    case 'INTERRUPTED':
      return 130;
  }
}
