// JUnit XML for CI systems (GitHub, GitLab, Jenkins read it as test results). One <testcase> per
// threshold (classname = metric, name = expression), plus one "run completed" case that fails
// only when the run was interrupted; errors are gated by thresholds (errors: ["count == 0"]),
// not here, so the XML and the exit code always agree.

import { formatSummary } from './console.js';
import { escapeXml, formatActual, verdictOf } from './format.js';
import type { ReportJson } from './types.js';

interface Case {
  classname: string;
  name: string;
  failure?: { message: string; type: string; detail: string };
}

function casesOf(report: ReportJson): Case[] {
  const cases: Case[] = report.thresholds.map((t) => {
    const actual = formatActual(t);
    return {
      classname: t.metric,
      name: t.expression,
      failure: t.ok
        ? undefined
        : {
            type: t.aborted ? 'threshold-aborted' : 'threshold',
            message: `${t.metric}: ${t.expression} failed: actual ${actual}${t.aborted ? ' (aborted the run)' : ''}`,
            detail: `metric ${t.metric}\nexpression ${t.expression}\nactual ${t.actual === null ? 'null (no samples)' : String(t.actual)}\n`,
          },
    };
  });
  cases.push({
    classname: 'volley',
    name: 'run completed',
    failure: report.interrupted
      ? {
          type: 'interrupted',
          message: `interrupted after ${report.durationS}s: results are partial`,
          detail: `the run was stopped by SIGINT/SIGTERM at ${report.endedAt}\n`,
        }
      : undefined,
  });
  return cases;
}

/** The report as a JUnit XML document (one <testsuite> inside <testsuites>). */
export function renderJUnit(report: ReportJson): string {
  const cases = casesOf(report);
  const failures = cases.filter((c) => c.failure).length;
  const time = report.durationS.toFixed(3);
  const suiteName = `volley: ${report.scenario.name}`;
  const props: [string, string][] = [
    ['scenario.file', report.scenario.file],
    ['scenario.sha256', report.scenario.sha256],
    ['target', report.target],
    ['transport', report.transport],
    ['verdict', verdictOf(report)],
    ['volley', report.environment.volley],
    ['node', report.environment.node],
  ];
  const out: string[] = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="volley" tests="${cases.length}" failures="${failures}" errors="0" time="${time}">`,
    `  <testsuite name="${escapeXml(suiteName)}" tests="${cases.length}" failures="${failures}" errors="0" skipped="0" ` +
      `time="${time}" timestamp="${escapeXml(report.startedAt)}">`,
    '    <properties>',
    ...props.map(([name, value]) => `      <property name="${name}" value="${escapeXml(value)}"/>`),
    '    </properties>',
  ];
  for (const c of cases) {
    const open = `    <testcase classname="${escapeXml(c.classname)}" name="${escapeXml(c.name)}" time="0"`;
    if (!c.failure) {
      out.push(`${open}/>`);
      continue;
    }
    out.push(
      `${open}>`,
      `      <failure message="${escapeXml(c.failure.message)}" type="${c.failure.type}">${escapeXml(c.failure.detail)}</failure>`,
      '    </testcase>',
    );
  }
  out.push(`    <system-out>${escapeXml(formatSummary(report, { color: false }))}\n</system-out>`, '  </testsuite>', '</testsuites>', '');
  return out.join('\n');
}
