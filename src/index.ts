// The library API under the `volley` command (package.json "main"): load and check a scenario,
// run it (whole, or started and stopped by the caller), and work with its reports. The CLI in
// src/cli/ is a thin layer over exactly these.

export { prepareScenario, runScenario, startRun } from './engine/coordinator.js';
export type { ProgressEvent, RunHandle, RunOptions, RunResult, WorkerFailure } from './engine/coordinator.js';
export { loadScenario } from './scenario/load.js';
export type { LoadScenarioOptions, LoadScenarioResult } from './scenario/load.js';
export type { Scenario } from './scenario/types.js';
export { mergeReports } from './report/merge.js';
export { compareReports } from './report/compare.js';
export type { Comparison } from './report/compare.js';
export { parseReport, readReport } from './report/read.js';
export { renderReportHtml } from './report/html.js';
export type { ReportJson } from './report/types.js';
