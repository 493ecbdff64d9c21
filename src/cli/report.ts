// `cdam report DIR`: DIR/results.jsonl (written by cdam eval) aggregated like
// the paper's tables, with plots (src/eval/report.ts, src/eval/plots.ts).
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { readRegularFile } from '../io/node.js';
import { checkOutputPaths } from '../io/atomic.js';
import { parseResults, writeReport, REPORT_FILES, type ReportSummary } from '../eval/report.js';
import { PLOT_FILES } from '../eval/plots.js';
import { RUN_FILES } from '../eval/folder.js';
import { parse, wantsHelp, UsageError } from './args.js';

/** The largest results.jsonl read (V8's longest string is about 512 Mi characters). */
export const RESULTS_LIMIT = 512 << 20;

export const reportUsage = `usage: cdam report DIR [--out DIR2] [--quiet]
  Aggregates DIR/results.jsonl (written by cdam eval; docs/EVAL.md) like the
  paper's tables: correctness, class discrimination, compactness and r(s) per
  method as mean ± standard error over images, beside the paper's DINO ViT-S/8
  numbers. Writes report.md, report.csv, summary.json and the plots
  curves, boxes and discrimination (.svg and .png) into DIR, or DIR2 with
  --out; all files together, atomically, or none.
  --quiet  print nothing but errors`;

export async function runReport(argv: string[], out: (s: string) => void): Promise<void> {
  if (wantsHelp(argv)) return out(reportUsage);
  const { values, flags, positionals } = parse(argv, { out: { type: 'string' }, quiet: { type: 'boolean' } }, 'report');
  if (positionals.length !== 1) throw new UsageError(`report takes one DIR, the folder of results.jsonl\n${reportUsage}`);
  const r = await reportFolder(positionals[0]!, values['out']);
  if (flags['quiet']) return;
  out(
    `report: ${r.summary.records} records, ${r.summary.images} images (${r.summary.twoClassImages} with two classes), ${r.methods} methods, ${r.summary.models.length} model${r.summary.models.length > 1 ? 's' : ''}`,
  );
  for (const f of r.files) out(`wrote ${f}`);
}

/** The report of DIR/results.jsonl, written into outDir (default DIR): every output path checked first, then all files or none. */
export async function reportFolder(dir: string, outDirGiven?: string): Promise<{ summary: ReportSummary; files: string[]; methods: number }> {
  if (!existsSync(dir)) throw new Error(`${dir}: no such folder`);
  if (!statSync(dir).isDirectory()) throw new Error(`${dir}: not a folder (cdam report DIR reads DIR/${RUN_FILES.results})`);
  const file = join(dir, RUN_FILES.results);
  if (!existsSync(file)) throw new Error(`${file}: no such file (cdam report DIR reads DIR/${RUN_FILES.results}, which cdam eval writes)`);
  const outDir = outDirGiven ?? dir;
  if (outDirGiven !== undefined) {
    if (!existsSync(outDir)) throw new Error(`--out ${outDir}: no such folder`);
    if (!statSync(outDir).isDirectory()) throw new Error(`--out ${outDir}: not a folder`);
  }
  checkOutputPaths([...REPORT_FILES, ...PLOT_FILES].map((f) => ({ option: outDirGiven ? '--out' : 'DIR', path: join(outDir, f) })));
  const text = new TextDecoder().decode(readRegularFile(file, 'a results file', RESULTS_LIMIT));
  const records = parseResults(text, file);
  if (records.length === 0) throw new Error(`${file}: no records (the file is empty)`);
  const { summary, files } = await writeReport(outDir, records, { sources: [file] });
  return { summary, files, methods: new Set(records.map((r) => r.method)).size };
}
