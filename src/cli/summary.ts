// The `--json` summary on stdout: one shape for every run, single-process or merged from
// --processes shards, so a pipeline reading `.passed` or `.metrics` does not break when someone
// adds --processes.

import type { ReportJson } from '../report/types.js';

export interface JsonSummaryInput {
  report: ReportJson;
  transport: string;
  /** The run's verdict, as its exit code says (0 = passed). */
  passed: boolean;
  interrupted: boolean;
  aborted: boolean;
  /** Paths of the report files written. */
  reportFile: string;
  htmlFile?: string;
}

export interface JsonSummary {
  scenario: string;
  transport: string;
  passed: boolean;
  interrupted: boolean;
  aborted: boolean;
  durationS: number;
  thresholds: ReportJson['thresholds'];
  metrics: Record<string, unknown>;
  errors: ReportJson['errors'];
  harness: ReportJson['harness'];
  report: string;
  html?: string;
}

export function jsonSummary(i: JsonSummaryInput): JsonSummary {
  const rep = i.report;
  return {
    scenario: rep.scenario.name,
    transport: i.transport,
    passed: i.passed,
    interrupted: i.interrupted,
    aborted: i.aborted,
    durationS: rep.durationS,
    thresholds: rep.thresholds,
    // Without the encoded histograms: the summary is for reading, report.json for merging.
    metrics: Object.fromEntries(Object.entries(rep.metrics).map(([k, m]) => [k, m.type === 'trend' ? { ...m, hdr: undefined } : m])),
    errors: rep.errors,
    harness: rep.harness,
    report: i.reportFile,
    html: i.htmlFile,
  };
}
