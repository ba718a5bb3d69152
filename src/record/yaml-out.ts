// Writes YAML line by line so the generated scenario can carry comments exactly where a reader
// needs them. Every value goes through the yaml library's stringify, so quoting is always right;
// only the layout (flow when short, block when long) is decided here.

import { Document, Scalar, visit, type ToStringOptions } from 'yaml';

const FLOW_MAX_CHARS = 110;

export class YamlLines {
  private readonly out: string[] = [];

  comment(indent: number, text: string): void {
    for (const line of text.split('\n')) this.out.push(`${' '.repeat(indent)}#${line ? ` ${line}` : ''}`);
  }

  /** A comment wrapped at `width` columns (words are never split). */
  paragraph(indent: number, text: string, width = 100): void {
    const room = Math.max(20, width - indent - 2);
    let line = '';
    for (const word of text.split(/\s+/).filter(Boolean)) {
      if (line && line.length + 1 + word.length > room) {
        this.comment(indent, line);
        line = word;
      } else line = line ? `${line} ${word}` : word;
    }
    if (line) this.comment(indent, line);
  }

  blank(): void {
    this.out.push('');
  }

  raw(line: string): void {
    this.out.push(line);
  }

  /** `key: value` at `indent`; `prefix` replaces the indent's last two spaces ("- " for list items). */
  keyValue(indent: number, key: string, value: unknown, prefix = ''): void {
    const lead = prefix ? ' '.repeat(indent - prefix.length) + prefix : ' '.repeat(indent);
    const k = flowText(key);
    const inline = flowText(value);
    if (!isCollection(value) || lead.length + k.length + inline.length + 2 <= FLOW_MAX_CHARS) {
      this.out.push(`${lead}${k}: ${inline}`);
      return;
    }
    this.out.push(`${lead}${k}:`);
    const block = yamlText(value, { lineWidth: 0, indent: 2 });
    for (const line of block.split('\n')) this.out.push(`${' '.repeat(indent + 2)}${line}`);
  }

  text(): string {
    return `${this.out.join('\n')}\n`;
  }

  lines(): readonly string[] {
    return this.out;
  }
}

/** One-line YAML for any value: flow collections, quoted scalars where needed. */
export function flowText(value: unknown): string {
  return yamlText(value, { collectionStyle: 'flow', lineWidth: 0 });
}

// Any line break a YAML parser folds or normalises: \n, \r, NEL, LS, PS.
const LINE_BREAK_RE = /[\n\r\u0085\u2028\u2029]/;

/**
 * The yaml library writes a string holding a line break as a multi-line scalar (plain in flow
 * style, `|-` in block style). Such a scalar is only valid at the indentation the library chose,
 * and this writer re-indents and prefixes lines ("- send: …"), which broke the file. Every such
 * string is therefore forced to one double-quoted line with `\n` escapes, which is valid at any
 * indentation and reads back byte for byte.
 */
function yamlText(value: unknown, options: ToStringOptions): string {
  const doc = new Document(value);
  visit(doc, {
    Scalar(_key, node: Scalar) {
      if (typeof node.value === 'string' && LINE_BREAK_RE.test(node.value)) node.type = Scalar.QUOTE_DOUBLE;
    },
  });
  // Past this length the library folds a double-quoted string over several lines; never here.
  return doc.toString({ ...options, doubleQuotedMinMultiLineLength: Number.MAX_SAFE_INTEGER }).replace(/\n$/, '');
}

function isCollection(value: unknown): boolean {
  return typeof value === 'object' && value !== null;
}
