// Writes YAML line by line so the generated scenario can carry comments exactly where a reader
// needs them. Every value goes through the yaml library's stringify, so quoting is always right;
// only the layout (flow when short, block when long) is decided here.

import { stringify } from 'yaml';

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
    const block = stringify(value, { lineWidth: 0, indent: 2 }).replace(/\n$/, '');
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
  return stringify(value, { collectionStyle: 'flow', lineWidth: 0 }).replace(/\n$/, '');
}

function isCollection(value: unknown): boolean {
  return typeof value === 'object' && value !== null;
}
