import { describe, expect, test } from 'vitest';
import { renderJUnit } from '../../src/report/junit.js';
import { makeReport } from '../helpers/report-fixtures.js';
import { parseXml, type XmlElement } from './xml-check.js';

function suiteOf(xml: string): XmlElement {
  const root = parseXml(xml);
  expect(root.name).toBe('testsuites');
  expect(root.children[0]!.name).toBe('testsuite');
  return root.children[0]!;
}

const casesOf = (suite: XmlElement) => suite.children.filter((c) => c.name === 'testcase');

describe('renderJUnit', () => {
  test('a passing run: one case per threshold plus "run completed", none failing', () => {
    const report = makeReport();
    const suite = suiteOf(renderJUnit(report));
    const cases = casesOf(suite);
    expect(cases.map((c) => [c.attrs['classname'], c.attrs['name']])).toEqual([
      ['latency{name:say}', 'p(99) < 50ms'],
      ['connect', 'p(95) < 200ms'],
      ['volley', 'run completed'],
    ]);
    expect(cases.every((c) => c.children.length === 0)).toBe(true);
    expect(suite.attrs['tests']).toBe('3');
    expect(suite.attrs['failures']).toBe('0');
    expect(suite.attrs['name']).toBe('volley: chat-room');
    expect(suite.attrs['time']).toBe('30.000');
  });

  test('a failed threshold carries its actual value in the failure', () => {
    const report = makeReport({ failThreshold: true });
    const failing = report.thresholds.find((t) => !t.ok)!;
    const suite = suiteOf(renderJUnit(report));
    expect(suite.attrs['failures']).toBe('1');
    const failed = casesOf(suite).filter((c) => c.children.some((x) => x.name === 'failure'));
    expect(failed.map((c) => c.attrs['classname'])).toEqual(['errors']);
    const failure = failed[0]!.children[0]!;
    expect(failure.attrs['type']).toBe('threshold');
    expect(failure.attrs['message']).toBe(`errors: rate < 0.05 failed: actual ${Number(failing.actual!.toPrecision(3))}`);
    expect(failure.text).toContain(`actual ${failing.actual}`);
  });

  test('an interrupted run fails "run completed" even with no thresholds', () => {
    const suite = suiteOf(renderJUnit(makeReport({ noThresholds: true, interrupted: true })));
    const cases = casesOf(suite);
    expect(cases).toHaveLength(1);
    expect(cases[0]!.attrs['name']).toBe('run completed');
    expect(cases[0]!.children[0]!.attrs['type']).toBe('interrupted');
    expect(suite.attrs['failures']).toBe('1');
  });

  test('a run with no thresholds is still a valid, passing suite', () => {
    const suite = suiteOf(renderJUnit(makeReport({ noThresholds: true })));
    expect(casesOf(suite).map((c) => c.attrs['name'])).toEqual(['run completed']);
    expect(suite.attrs['failures']).toBe('0');
  });

  test('an aborting threshold is marked as such', () => {
    const suite = suiteOf(renderJUnit(makeReport({ failThreshold: true, aborted: true })));
    const failure = casesOf(suite).flatMap((c) => c.children).find((x) => x.name === 'failure')!;
    expect(failure.attrs['type']).toBe('threshold-aborted');
    expect(failure.attrs['message']).toMatch(/aborted the run/);
  });

  test('server data with markup, quotes and control characters stays well-formed and round-trips', () => {
    const nasty = `<x a="1">&amp; ]]> \u0001\u001b[31m' done`;
    const report = makeReport({ errorMessage: nasty, scenarioName: 'a "quoted" <name> & co' });
    const xml = renderJUnit(report);
    const suite = suiteOf(xml);
    expect(suite.attrs['name']).toBe('volley: a "quoted" <name> & co');
    const out = suite.children.find((c) => c.name === 'system-out')!;
    expect(out.text).toContain('<x a="1">&amp; ]]>');
    expect(xml).not.toMatch(/[\u0001\u001b]/);
  });
});
