import { describe, expect, it } from 'vitest';
import { loadScenario } from '../../src/scenario/load.js';

// Found by the random-YAML property test: a key named like an Object.prototype member once
// reached the alias table through the prototype and crashed the loader.
describe('keys named like Object.prototype members are plain unknown keys', () => {
  it.each(['toString', 'constructor', '__proto__', 'hasOwnProperty', 'valueOf'])('%s at the top level and in a step', (key) => {
    for (const source of [`${key}: null\n`, `name: x\ntarget: builtin:echo\nsteps:\n  - ${key}: 1\n`]) {
      const r = loadScenario({ file: 'k.yaml', source });
      expect(r.ok).toBe(false);
      if (!r.ok) {
        expect(r.problems.some((p) => p.message.includes(`unknown key "${key}"`))).toBe(true);
        expect(r.problems.every((p) => !p.message.includes('internal error'))).toBe(true);
      }
    }
  });
});
