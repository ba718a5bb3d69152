// schema/scenario.schema.json and the loader describe the same format: each object context the
// loader checks keys for is a schema definition with exactly those properties, and the enums
// agree with the shared types.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { OBJECT_KEYS, STEP_ACTIONS } from '../../src/scenario/keys.js';
import { BUILTIN_TARGETS, TRANSPORT_NAMES } from '../../src/scenario/types.js';

interface SchemaNode {
  type?: string | string[];
  properties?: Record<string, SchemaNode>;
  additionalProperties?: boolean | SchemaNode;
  oneOf?: SchemaNode[];
  enum?: unknown[];
  pattern?: string;
  $ref?: string;
  definitions?: Record<string, SchemaNode>;
  $schema?: string;
}

const schema = JSON.parse(readFileSync('schema/scenario.schema.json', 'utf8')) as SchemaNode;
const defs = schema.definitions!;

/** The object form of a definition (some are "a string, or this object"). */
function objectForm(node: SchemaNode): SchemaNode | undefined {
  if (node.properties) return node;
  return node.oneOf?.map(objectForm).find((n) => n !== undefined);
}

describe('schema/scenario.schema.json', () => {
  it('is draft-07 and resolves every $ref', () => {
    expect(schema.$schema).toBe('http://json-schema.org/draft-07/schema#');
    const refs = JSON.stringify(schema).match(/"\$ref":"#\/definitions\/[^"]+"/g) ?? [];
    for (const r of refs) expect(Object.keys(defs)).toContain(r.slice('"$ref":"#/definitions/'.length, -1));
  });

  it.each(Object.entries(OBJECT_KEYS))('defines %s with exactly the keys the loader accepts, and no others', (context, keys) => {
    const node = context === 'scenario' ? schema : objectForm(defs[context] ?? {});
    expect(node, `definition ${context}`).toBeDefined();
    expect(Object.keys(node!.properties!).sort()).toEqual([...keys].sort());
    expect(node!.additionalProperties).toBe(false);
  });

  it('lists the same transports, builtins and step actions as the code', () => {
    expect(schema.properties!.transport!.enum).toEqual([...TRANSPORT_NAMES]);
    for (const b of BUILTIN_TARGETS) expect(schema.properties!.target!.pattern).toContain(b);
    expect(Object.keys(defs.step!.properties!).filter((k) => k !== 'name').sort()).toEqual([...STEP_ACTIONS].sort());
  });
});
