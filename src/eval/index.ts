// `cdam/eval` (Node): the paper's evaluation as functions: run (resumable,
// sharded), merge shards, and the report; the statistics beside them.
//
//   import { runEval, writeReport, readResults } from 'cdam/eval';

import { chooseFastestOnFirstUse } from '../kernels/default.js';

// as the package entry does: every backend registered, the fastest chosen on first use
chooseFastestOnFirstUse();

export { runEval, shardFrom, defaultWorkers, type EvalRunOptions, type EvalRunResult } from './run.js';
export { mergeRuns, type MergeResult } from './merge.js';
export { RUN_FILES, readRunFile, readResults, readSkipped, type RunFile, type RunSettings, type Shard } from './folder.js';
export {
  writeReport,
  parseResults,
  summarizeResults,
  reportMarkdown,
  reportCsv,
  meanSe,
  PAPER_REFERENCE,
  REPORT_FILES,
  type ResultRecord,
  type ReportSummary,
  type MethodSummary,
  type Stat,
  type WriteReportOptions,
} from './report.js';
export { parseManifest, type ManifestEntry, type BadLine } from './manifest.js';
export { pearson, compactness, trapezoid, makeBoxes, type BoxSet } from './metrics.js';
export type { EvalRecord } from './protocol.js';
