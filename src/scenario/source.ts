// Getting from a file to a YAML document: reading, refusing binary and non-UTF-8 input with the
// offending position, and turning the YAML parser's errors into one-line problems.

import { readFileSync } from 'node:fs';
import { LineCounter, parseDocument } from 'yaml';
import type { Document } from 'yaml';
import type { Problem } from '../errors.js';

export type SourceResult = { ok: true; text: string } | { ok: false; problems: Problem[] };

/** Line and column (1-based) of a byte offset in a buffer, counting UTF-8 sequences as one column. */
function bytePos(bytes: Uint8Array, offset: number): { line: number; col: number } {
  let line = 1;
  let col = 1;
  for (let i = 0; i < offset; i++) {
    if (bytes[i] === 0x0a) {
      line++;
      col = 1;
    } else if ((bytes[i]! & 0xc0) !== 0x80) col++;
  }
  return { line, col };
}

/** Offset of the first byte that is not valid UTF-8, or -1. */
export function firstInvalidUtf8(bytes: Uint8Array): number {
  let i = 0;
  while (i < bytes.length) {
    const b = bytes[i]!;
    let need: number;
    let min: number;
    if (b < 0x80) {
      i++;
      continue;
    } else if (b >= 0xc2 && b <= 0xdf) [need, min] = [1, 0x80];
    else if (b >= 0xe0 && b <= 0xef) [need, min] = [2, 0x800];
    else if (b >= 0xf0 && b <= 0xf4) [need, min] = [3, 0x10000];
    else return i;
    if (i + need >= bytes.length) return i; // truncated sequence at the end
    let cp = b & (need === 1 ? 0x1f : need === 2 ? 0x0f : 0x07);
    for (let k = 1; k <= need; k++) {
      const c = bytes[i + k]!;
      if ((c & 0xc0) !== 0x80) return i;
      cp = (cp << 6) | (c & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return i;
    i += need + 1;
  }
  return -1;
}

/** Decodes scenario bytes, or explains why they are not a YAML text file. */
export function decodeSource(file: string, bytes: Uint8Array): SourceResult {
  const at = (offset: number, message: string): SourceResult => ({
    ok: false,
    problems: [{ file, pos: bytePos(bytes, offset), message }],
  });
  if ((bytes[0] === 0xff && bytes[1] === 0xfe) || (bytes[0] === 0xfe && bytes[1] === 0xff)) {
    return at(0, 'file is UTF-16; save it as UTF-8');
  }
  const nul = bytes.indexOf(0);
  if (nul >= 0) return at(nul, 'file looks binary (it contains a NUL byte); a scenario is a YAML text file');
  const bad = firstInvalidUtf8(bytes);
  if (bad >= 0) return at(bad, `file is not valid UTF-8 (byte 0x${bytes[bad]!.toString(16).padStart(2, '0')}); save it as UTF-8`);
  let text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8');
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  return { ok: true, text };
}

export function readSource(file: string): SourceResult {
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const why = e.code === 'ENOENT' ? 'file not found' : e.code === 'EISDIR' ? 'is a directory, not a scenario file' : e.code === 'EACCES' ? 'permission denied' : e.message;
    return { ok: false, problems: [{ file, message: `cannot read scenario: ${why}` }] };
  }
  return decodeSource(file, bytes);
}

const FRIENDLY: Record<string, (message: string, excerpt: string) => string> = {
  DUPLICATE_KEY: (_m, excerpt) => `duplicate key${excerpt ? ` "${excerpt}"` : ''}: each key may appear once in a map`,
  TAB_AS_INDENT: () => 'tab used for indentation; YAML indents with spaces',
  MULTIPLE_DOCS: () => 'a second YAML document starts here ("---"): a scenario file holds one scenario',
  MISSING_CHAR: (m) => (/quote/i.test(m) ? 'unterminated string: missing closing quote' : lowerFirst(m)),
};

function lowerFirst(s: string): string {
  return s.charAt(0).toLowerCase() + s.slice(1);
}

export interface ParsedSource {
  doc: Document;
  lineCounter: LineCounter;
  /** Syntax problems; when any is fatal, the tree is not worth validating further. */
  problems: Problem[];
  fatal: boolean;
}

export function parseSource(file: string, text: string): ParsedSource {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, keepSourceTokens: true, prettyErrors: false, uniqueKeys: true });
  const lines = text.split(/\r?\n/);
  const problems: Problem[] = [];
  let fatal = false;
  // A tab that indents a line also throws the parser off for the rest of that line (the key is
  // read at another level, e.g. as a duplicate of a top-level key): only the tab is reported.
  const tabLines = new Set(doc.errors.filter((e) => e.code === 'TAB_AS_INDENT').map((e) => lineCounter.linePos(e.pos[0]).line));
  for (const err of doc.errors) {
    if (err.code !== 'TAB_AS_INDENT' && tabLines.has(lineCounter.linePos(err.pos[0]).line)) {
      fatal = true;
      continue;
    }
    let offset = err.pos[0];
    let message: string;
    if (err.code === 'MISSING_CHAR' && /quote/i.test(err.message)) {
      // The parser reports the end of input; the useful place is the opening quote.
      offset = openingQuote(text, offset);
    }
    // The parser's range may cover one character; the key runs up to its colon.
    const keyMatch = /^("[^"\n]*"|'[^'\n]*'|[^:#\n]+?)\s*:/.exec(text.slice(err.pos[0]));
    const excerpt = keyMatch ? keyMatch[1]!.replace(/^["']|["']$/g, '') : '';
    const friendly = FRIENDLY[err.code];
    message = friendly ? friendly(err.message, excerpt) : lowerFirst(err.message);
    if (err.code !== 'DUPLICATE_KEY') fatal = true;
    const { line, col } = lineCounter.linePos(Math.min(offset, text.length));
    const p: Problem = { file, pos: { line, col }, message };
    const sourceLine = lines[line - 1];
    if (sourceLine !== undefined) p.sourceLine = sourceLine;
    problems.push(p);
  }
  for (const w of doc.warnings) {
    const { line, col } = lineCounter.linePos(w.pos[0]);
    problems.push({ file, pos: { line, col }, message: lowerFirst(w.message) });
    fatal = true;
  }
  return { doc, lineCounter, problems, fatal };
}

/** The last quote before `end` that opens a scalar (after ": ", "- ", "[" or "{"), else `end`. */
function openingQuote(text: string, end: number): number {
  const re = /(?:^|[:\-[{,]\s*)(["'])/gm;
  let found = -1;
  for (let m = re.exec(text); m && m.index < end; m = re.exec(text)) found = m.index + m[0].length - 1;
  return found >= 0 ? found : end;
}
