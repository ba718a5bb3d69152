import { describe, expect, it } from 'vitest';
import { compileTemplate, parseTemplate, type RenderContext } from '../../src/scenario/template.js';
import { VolleyError } from '../../src/errors.js';

function ctx(over: Partial<RenderContext> = {}): RenderContext {
  let seq = 0;
  return {
    vars: new Map([['sid', 'S-1'], ['q', 'a"b\\c'], ['re', 'a.b*']]),
    vu: 7,
    iter: 3,
    nextSeq: () => ++seq,
    data: { name: 'alice' },
    env: { TOKEN: 'tok' },
    ...over,
  };
}

describe('compileTemplate', () => {
  it('renders every kind of reference', () => {
    const t = compileTemplate('vu=${vu} iter=${iter} seq=${seq},${seq} env=${env.TOKEN} data=${data.name} var=${sid}');
    expect(t.isStatic).toBe(false);
    expect(t.refs).toEqual(['vu', 'iter', 'seq', 'seq', 'env.TOKEN', 'data.name', 'sid']);
    expect(t.render(ctx())).toBe('vu=7 iter=3 seq=1,2 env=tok data=alice var=S-1');
  });

  it('renders uuid as a fresh v4 UUID each time and now as epoch milliseconds', () => {
    const t = compileTemplate('${uuid}');
    const a = t.render(ctx());
    expect(a).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(t.render(ctx())).not.toBe(a);
    const before = Date.now();
    const now = Number(compileTemplate('${now}').render(ctx()));
    expect(now).toBeGreaterThanOrEqual(before - 1000);
    expect(now).toBeLessThanOrEqual(Date.now() + 1000);
  });

  it('keeps static text static and treats $${ as a literal ${', () => {
    const t = compileTemplate('cost: $5, literal $${vu}');
    expect(t.isStatic).toBe(true);
    expect(t.staticValue).toBe('cost: $5, literal ${vu}');
    expect(t.render(ctx())).toBe('cost: $5, literal ${vu}');
  });

  it('renders unknown variables, env and data as empty strings', () => {
    const t = compileTemplate('[${missing}][${env.NOPE}][${data.nope}]');
    expect(t.render(ctx({ data: undefined }))).toBe('[][][]');
  });

  it('escapes substituted values for JSON strings and regexes, not the literal text', () => {
    expect(compileTemplate('{"q":"${q}"}', 'json').render(ctx())).toBe('{"q":"a\\"b\\\\c"}');
    const re = compileTemplate('^x.${re}$', 'regex').render(ctx());
    expect(re).toBe('^x.a\\.b\\*$');
    expect(new RegExp(re).test('x!a.b*')).toBe(true);
    expect(new RegExp(re).test('x!aXbb')).toBe(false);
  });

  it.each([
    ['unterminated ${vu', 'unterminated "${": missing "}"', 13],
    ['a ${} b', 'empty reference "${}"', 2],
    ['${env.}', 'invalid environment variable name in "${env.}"', 0],
    ['x${a b}', 'invalid reference "${a b}": expected vu, iter, seq, uuid, now, env.NAME, data.COLUMN or a variable name', 1],
  ])('rejects %j', (source, message, index) => {
    expect(parseTemplate(source)).toEqual({ ok: false, message, index });
    expect(() => compileTemplate(source)).toThrow(VolleyError);
  });
});
