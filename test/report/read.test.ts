import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { VolleyError } from '../../src/errors.js';
import { readReport } from '../../src/report/read.js';
import { makeReport } from '../helpers/report-fixtures.js';

const dir = mkdtempSync(path.join(tmpdir(), 'volley-read-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function write(name: string, content: string): string {
  const file = path.join(dir, name);
  writeFileSync(file, content);
  return file;
}

function readError(file: string): VolleyError {
  try {
    readReport(file);
  } catch (err) {
    expect(err).toBeInstanceOf(VolleyError);
    return err as VolleyError;
  }
  throw new Error(`readReport(${file}) did not throw`);
}

describe('readReport', () => {
  test('reads back a report it was given, unchanged', () => {
    const report = makeReport();
    const file = write('ok.json', JSON.stringify(report));
    expect(readReport(file)).toEqual(report);
  });

  const cases: [string, string | null, RegExp][] = [
    ['a missing file is named as such', null, /missing\.json: cannot read report \(no such file\)/],
    ['a file that is not JSON', '{"format": 1,', /bad\.json(:1:14)?: not JSON \(/],
    ['broken JSON, at its line and column', '{\n  "format": 1,,\n}', /bad\.json:2:15: not JSON \(/],
    ['JSON that is not an object', '[1,2]', /bad\.json: not a volley report \(expected a JSON object\)/],
    ['a report without a format', '{"scenario": {}}', /bad\.json: .*no "format" key; expected format 1/],
    ['a report of a newer format', '{"format": 2}', /bad\.json: .*format 2; expected format 1/],
    ['a report missing keys lists them all', '{"format": 1, "scenario": {"name": "x"}}', /bad\.json: report is missing "target", "startedAt", .*"harness"/],
  ];
  for (const [name, content, message] of cases) {
    test(`rejects ${name}`, () => {
      const file = content === null ? path.join(dir, 'missing.json') : write('bad.json', content);
      const err = readError(file);
      expect(err.code).toBe('INVALID_INPUT');
      expect(err.message).toMatch(message);
      expect(err.message).not.toContain('\n');
      expect(err.message.startsWith(file)).toBe(true);
    });
  }

  test('rejects a key of the wrong type', () => {
    const report = { ...makeReport(), metrics: [] };
    const err = readError(write('wrong.json', JSON.stringify(report)));
    expect(err.message).toMatch(/malformed report: "metrics" should be an object/);
  });

  test('rejects a trend without its histogram', () => {
    const report = makeReport();
    const { hdr: _drop, ...latency } = report.metrics['latency'] as { hdr: string };
    report.metrics['latency'] = latency as never;
    const err = readError(write('nohdr.json', JSON.stringify(report)));
    expect(err.message).toMatch(/metric "latency" has no hdr histogram/);
  });

  test('rejects a trend whose histogram does not decode (report, compare and merge would chart or add it)', () => {
    const report = makeReport();
    (report.metrics['latency'] as { hdr: string }).hdr = 'HISTFAAAAB54nJNpmSzMwMDAx';
    const err = readError(write('badhdr.json', JSON.stringify(report)));
    expect(err.message).toMatch(/metric "latency" has an hdr histogram that does not decode \(/);
    expect(err.message).not.toContain('\n');
  });

  test('rejects a directory', () => {
    const sub = path.join(dir, 'sub.json');
    mkdirSync(sub);
    expect(readError(sub).message).toMatch(/cannot read report \(is a directory\)/);
  });
});
