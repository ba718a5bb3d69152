// docs/scenario.md is executable: every ```yaml block is a complete scenario that must load
// without problems or warnings (```yaml fragment blocks are excerpts and skipped).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { formatProblem } from '../../src/errors.js';
import { OBJECT_KEYS } from '../../src/scenario/keys.js';
import { loadScenario } from '../../src/scenario/load.js';

const DOC = 'docs/scenario.md';
const text = readFileSync(DOC, 'utf8');

interface Block {
  line: number;
  info: string;
  source: string;
}

function yamlBlocks(): Block[] {
  const blocks: Block[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(yaml.*)$/.exec(lines[i]!);
    if (!open) continue;
    const start = i + 1;
    let end = start;
    while (end < lines.length && lines[end] !== '```') end++;
    blocks.push({ line: start + 1, info: open[1]!.trim(), source: lines.slice(start, end).join('\n') + '\n' });
    i = end;
  }
  return blocks;
}

const blocks = yamlBlocks();
const complete = blocks.filter((b) => b.info === 'yaml');

describe('docs/scenario.md', () => {
  it('has complete examples, and marks the rest as fragments', () => {
    expect(complete.length).toBeGreaterThanOrEqual(15);
    for (const b of blocks) expect(['yaml', 'yaml fragment'], `block at line ${b.line}`).toContain(b.info);
  });

  it.each(complete.map((b) => [b.line, b.source] as const))('the example at line %i loads cleanly', (line, source) => {
    const r = loadScenario({ file: `${DOC}@${line}`, source, env: { TOKEN: 't', API_KEY: 'k' } });
    expect(r.ok ? [] : r.problems.map(formatProblem)).toEqual([]);
    expect(r.ok && r.warnings.map(formatProblem)).toEqual([]);
  });

  it('documents every key the loader accepts', () => {
    const missing = [...new Set(Object.values(OBJECT_KEYS).flat())].filter((k) => !text.includes(`\`${k}\``) && !new RegExp(`\\b${k}:`).test(text));
    expect(missing).toEqual([]);
  });
});
