// `cdam report`: the evaluation's results (results.jsonl, docs/EVAL.md)
// aggregated like the paper's tables (docs/ALGORITHMS.md, "Evaluation protocol"):
// correctness, class discrimination and compactness as mean ± standard error
// per method, the mean MIF/LIF curves and r(s) per box size, written as
// report.md, report.csv, summary.json and three plots (src/eval/plots.ts).
//
// Everything here is a pure function of the records except writeReport,
// which renders the plots (vega, loaded lazily) and writes the files
// atomically, all or none.
import { InputError } from '../io/errors.js';
import { writeFilesAtomic } from '../io/atomic.js';
import { nodePath } from '../io/node.js';
import { renderPlots, plotSpecs, type RenderedPlot } from './plots.js';
import type { EvalRecord } from './protocol.js';
import { checkRecordFields } from './record.js';

/**
 * One line of results.jsonl (docs/EVAL.md: the protocol's EvalRecord), read
 * leniently: the manifest line may be absent, and a `model` name may be
 * present (records without one count as one unnamed model).
 */
export type ResultRecord = Omit<EvalRecord, 'line'> & { line?: number; model?: string };

/** Mean and standard error (sample std with n - 1, over sqrt n); `se` is null for n < 2, `mean` null for n = 0. */
export interface Stat {
  mean: number | null;
  se: number | null;
  n: number;
}

export interface MethodSummary {
  method: string;
  /** over the records with mapTarget == logitTarget */
  correctness: { aMif: Stat; aLif: Stat; aLifMif: Stat; aBox: Stat };
  /** Pearson r per box size (px), over the same records as correctness */
  boxR: { size: number; r: Stat }[];
  /** over (two-class image, direction) pairs: right class c, wrong class c', both with the logit of c */
  discrimination: { dLifMif: Stat; dBox: Stat };
  /** over distinct (image, mapTarget) */
  compactness: Stat;
  /** mean curves over the correctness records; x in percent of pixels perturbed */
  curves: { x: number[]; mif: number[]; lif: number[]; n: number } | null;
}

export interface ModelSummary {
  /** null: the records named no model */
  model: string | null;
  records: number;
  images: number;
  twoClassImages: number;
  methods: MethodSummary[];
}

export interface ReportSummary {
  records: number;
  images: number;
  twoClassImages: number;
  /** every box size met, ascending */
  boxSizes: number[];
  models: ModelSummary[];
}

// ---------------------------------------------------------------- parsing

/** Checks one parsed line against the results.jsonl schema (folder.ts, shared with eval and merge). */
const checkRecord = (o: unknown): ResultRecord => checkRecordFields(o) as unknown as ResultRecord;

/**
 * Parses results.jsonl text. Blank lines are skipped; a line that is not a
 * record, or repeats an earlier record's key (model, image, line, method,
 * mapTarget, logitTarget), throws an InputError naming `file` and the line.
 */
export function parseResults(text: string, file: string): ResultRecord[] {
  const out: ResultRecord[] = [];
  const seen = new Map<string, number>();
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === '') continue;
    let rec: ResultRecord;
    try {
      rec = checkRecord(JSON.parse(line));
    } catch (e) {
      throw new InputError(file, `${file}: line ${i + 1}: ${(e as Error).message}`);
    }
    const key = JSON.stringify([rec.model ?? null, rec.image, rec.line ?? null, rec.method, rec.mapTarget, rec.logitTarget]);
    const before = seen.get(key);
    if (before !== undefined) throw new InputError(file, `${file}: line ${i + 1}: the same image, method and targets as line ${before}`);
    seen.set(key, i + 1);
    out.push(rec);
  }
  return out;
}

// ---------------------------------------------------------------- statistics

/** Mean and standard error of the mean (sample standard deviation, n - 1, over sqrt n). */
export function meanSe(xs: readonly number[]): Stat {
  const n = xs.length;
  if (n === 0) return { mean: null, se: null, n: 0 };
  let s = 0;
  for (const x of xs) s += x;
  const mean = s / n;
  if (n < 2) return { mean, se: null, n };
  let ss = 0;
  for (const x of xs) ss += (x - mean) * (x - mean);
  return { mean, se: Math.sqrt(ss / (n - 1)) / Math.sqrt(n), n };
}

const imageKey = (r: ResultRecord): string => JSON.stringify([r.image, r.line ?? null]);

/** Items in the order of their first appearance. */
function firstSeen<T>(items: Iterable<T>): T[] {
  return [...new Set(items)];
}

function summarizeMethod(method: string, recs: ResultRecord[], twoClass: Set<string>): MethodSummary {
  const right = recs.filter((r) => r.mapTarget === r.logitTarget);
  const correctness = {
    aMif: meanSe(right.map((r) => r.aMif)),
    aLif: meanSe(right.map((r) => r.aLif)),
    aLifMif: meanSe(right.map((r) => r.aLifMif)),
    aBox: meanSe(right.map((r) => r.aBox)),
  };
  const bySize = new Map<number, number[]>();
  for (const r of right) r.boxSizes.forEach((s, i) => (bySize.get(s) ?? bySize.set(s, []).get(s)!).push(r.boxR[i]!));
  const boxR = [...bySize.keys()].sort((a, b) => a - b).map((size) => ({ size, r: meanSe(bySize.get(size)!) }));

  // class discrimination: for each two-class image and each ordered pair (c right, c' wrong)
  const byImage = new Map<string, Map<string, ResultRecord>>();
  for (const r of recs) {
    const k = imageKey(r);
    if (!twoClass.has(k)) continue;
    (byImage.get(k) ?? byImage.set(k, new Map()).get(k)!).set(`${r.mapTarget},${r.logitTarget}`, r);
  }
  const dLifMif: number[] = [];
  const dBox: number[] = [];
  for (const pairs of byImage.values()) {
    const targets = firstSeen([...pairs.values()].flatMap((r) => [r.logitTarget, r.mapTarget]));
    for (const c of targets) {
      for (const c2 of targets) {
        if (c2 === c) continue;
        const own = pairs.get(`${c},${c}`);
        const other = pairs.get(`${c2},${c}`);
        if (!own || !other) continue;
        dLifMif.push(own.aLifMif - other.aLifMif);
        dBox.push(own.aBox - other.aBox);
      }
    }
  }

  // compactness: one value per map, i.e. per distinct (image, mapTarget)
  const maps = new Map<string, number>();
  for (const r of recs) {
    const k = `${imageKey(r)}|${r.mapTarget}`;
    if (!maps.has(k)) maps.set(k, r.compactness);
  }

  let curves: MethodSummary['curves'] = null;
  if (right.length > 0) {
    const len = right[0]!.curves.mif.length;
    const odd = right.find((r) => r.curves.mif.length !== len);
    if (odd)
      throw new Error(`method ${method}: curves of ${len} and of ${odd.curves.mif.length} points (image ${odd.image}); a report needs one number of steps`);
    const mif = new Array<number>(len).fill(0);
    const lif = new Array<number>(len).fill(0);
    for (const r of right) {
      for (let k = 0; k < len; k++) {
        mif[k]! += r.curves.mif[k]!;
        lif[k]! += r.curves.lif[k]!;
      }
    }
    curves = {
      x: mif.map((_, k) => (100 * k) / (len - 1)),
      mif: mif.map((v) => v / right.length),
      lif: lif.map((v) => v / right.length),
      n: right.length,
    };
  }
  return { method, correctness, boxR, discrimination: { dLifMif: meanSe(dLifMif), dBox: meanSe(dBox) }, compactness: meanSe([...maps.values()]), curves };
}

/** Images (by image and manifest line) that carry two or more distinct targets. */
function twoClassImages(recs: readonly ResultRecord[]): Set<string> {
  const targets = new Map<string, Set<number>>();
  for (const r of recs) {
    const k = imageKey(r);
    const t = targets.get(k) ?? targets.set(k, new Set()).get(k)!;
    t.add(r.mapTarget).add(r.logitTarget);
  }
  return new Set([...targets].filter(([, t]) => t.size >= 2).map(([k]) => k));
}

/** The aggregates of a results set, per model and per method (methods in order of first appearance). */
export function summarizeResults(records: readonly ResultRecord[]): ReportSummary {
  const models = firstSeen(records.map((r) => r.model ?? null));
  const summaries = models.map((model): ModelSummary => {
    const recs = records.filter((r) => (r.model ?? null) === model);
    const two = twoClassImages(recs);
    const methods = firstSeen(recs.map((r) => r.method)).map((m) =>
      summarizeMethod(
        m,
        recs.filter((r) => r.method === m),
        two,
      ),
    );
    return { model, records: recs.length, images: new Set(recs.map(imageKey)).size, twoClassImages: two.size, methods };
  });
  return {
    records: records.length,
    images: new Set(records.map(imageKey)).size,
    twoClassImages: twoClassImages(records).size,
    boxSizes: [...new Set(records.flatMap((r) => r.boxSizes))].sort((a, b) => a - b),
    models: summaries,
  };
}

// ---------------------------------------------------------------- the paper's numbers

/** The paper's DINO ViT-S/8 numbers on ImageNet (docs/ALGORITHMS.md, "The paper's numbers"); null where it gives none. */
export const PAPER_REFERENCE = {
  model: 'DINO ViT-S/8 on ImageNet, multi-object subset',
  methods: [
    { method: 'cdam', name: 'CDAM', aMif: 404, aLif: 1038, aLifMif: 632, aBox: 12.2, dLifMif: 739, dBox: 14.6, compactness: 0.88 },
    { method: 'smooth-cdam', name: 'Smooth CDAM', aMif: null, aLif: null, aLifMif: 827, aBox: null, dLifMif: 823, dBox: 13.4, compactness: 0.75 },
    { method: 'integrated-cdam', name: 'Integrated CDAM', aMif: null, aLif: null, aLifMif: null, aBox: 13.0, dLifMif: 708, dBox: 14.8, compactness: null },
    { method: 'relevance', name: 'relevance propagation', aMif: null, aLif: null, aLifMif: 643, aBox: null, dLifMif: 293, dBox: 6.6, compactness: 0.48 },
    { method: 'attention', name: 'attention map', aMif: null, aLif: null, aLifMif: 393, aBox: null, dLifMif: 0, dBox: -0.2, compactness: 0.56 },
  ],
} as const;

// ---------------------------------------------------------------- markdown

/** Decimals shown per statistic (the CSV and JSON keep full precision). */
const DECIMALS = { aMif: 1, aLif: 1, aLifMif: 1, aBox: 2, dLifMif: 1, dBox: 2, compactness: 3, r: 3 } as const;

const MINUS = '\u2212';
const DASH = '\u2013';

function num(x: number, decimals: number): string {
  const s = x.toFixed(decimals);
  return /^-0(\.0*)?$/.test(s) ? s.slice(1) : s.replace(/^-/, MINUS);
}

/** "404.2 ± 12.3"; "404.2 ± –" for n = 1; "–" for n = 0. */
export function formatStat(s: Stat, decimals: number): string {
  if (s.mean === null) return DASH;
  return `${num(s.mean, decimals)} ± ${s.se === null ? DASH : num(s.se, decimals)}`;
}

function table(head: string[], rows: string[][], align: ('l' | 'r')[]): string {
  const rule = align.map((a) => (a === 'r' ? '---:' : '---'));
  return [head, rule, ...rows].map((r) => `| ${r.join(' | ')} |`).join('\n');
}

const modelName = (m: ModelSummary): string => m.model ?? 'results';

export interface ReportInfo {
  /** the results file(s) read, as the user named them */
  sources: string[];
  /** the files written beside report.md (names only) */
  outputs?: string[];
  /** the plots written beside it (names without extension; their PNGs are shown) */
  plots?: string[];
}

/** report.md: the three tables of the paper (and r(s)), each beside the paper's numbers, with the plots. */
export function reportMarkdown(summary: ReportSummary, info: ReportInfo): string {
  const many = summary.models.length > 1;
  const named = summary.models.filter((m) => m.model !== null).map((m) => `\`${m.model}\``);
  const methods = firstSeen(summary.models.flatMap((m) => m.methods.map((x) => `\`${x.method}\``)));
  const out: string[] = [];
  out.push('# Evaluation report', '');
  out.push(
    `From ${info.sources.map((s) => `\`${s}\``).join(', ')}: ${summary.records} records, ${summary.images} images ` +
      `(${summary.twoClassImages} with two classes), ${methods.length} methods (${methods.join(', ')})` +
      (named.length
        ? `, ${summary.models.length} model${many ? 's' : ''} (${named.join(', ')}${named.length < summary.models.length ? ', and records naming none' : ''})`
        : '') +
      '. The protocol and the file format: docs/EVAL.md.' +
      (info.outputs?.length ? ` Written with this file: ${info.outputs.map((o) => `\`${o}\``).join(', ')}.` : ''),
    '',
    `- Every cell is mean ± standard error (sample standard deviation over the square root of n; ${DASH} where n = 1) over the n shown; areas in raw logits.`,
    '- Correctness and r(s): the records whose map target is the logit target (a two-class image counts once per class).',
    "- Class discrimination: each two-class image in both directions (right class c, wrong class c'): dA = A(map c, logit c) - A(map c', logit c).",
    '- Compactness: one value per map (image, map target): the fraction of map entries with |s| <= 0.05 max|s|.',
    `- Under each of our tables, the paper's numbers (${PAPER_REFERENCE.model}) in a table of their own; ${DASH} where the paper gives none.`,
    '',
  );
  const perModel = (body: (m: ModelSummary) => string): void => {
    for (const m of summary.models) {
      if (many) out.push(`**${modelName(m)}**`, '');
      out.push(body(m), '');
    }
  };
  const plots = new Set(info.plots ?? []);
  const picture = (name: string, alt: string): void => {
    if (plots.has(name)) out.push(`![${alt}](${name}.png)`, '');
  };
  const paper = (cols: { head: string; key: 'aMif' | 'aLif' | 'aLifMif' | 'aBox' | 'dLifMif' | 'dBox' | 'compactness'; d: number }[]): string => {
    const rows = PAPER_REFERENCE.methods
      .filter((p) => cols.some((c) => p[c.key] !== null))
      .map((p) => [`${p.name} (\`${p.method}\`)`, ...cols.map((c) => (p[c.key] === null ? DASH : num(p[c.key] as number, c.d)))]);
    return `Paper, ${PAPER_REFERENCE.model}:\n\n` + table(['method', ...cols.map((c) => c.head)], rows, ['l', ...cols.map(() => 'r' as const)]);
  };

  out.push('## Correctness', '');
  perModel((m) =>
    table(
      ['method', 'n', 'A_MIF ↓', 'A_LIF ↑', 'A_LIF-MIF ↑', 'A_box ↑'],
      m.methods.map((x) => [
        `\`${x.method}\``,
        String(x.correctness.aMif.n),
        formatStat(x.correctness.aMif, DECIMALS.aMif),
        formatStat(x.correctness.aLif, DECIMALS.aLif),
        formatStat(x.correctness.aLifMif, DECIMALS.aLifMif),
        formatStat(x.correctness.aBox, DECIMALS.aBox),
      ]),
      ['l', 'r', 'r', 'r', 'r', 'r'],
    ),
  );
  out.push(
    paper([
      { head: 'A_MIF', key: 'aMif', d: 0 },
      { head: 'A_LIF', key: 'aLif', d: 0 },
      { head: 'A_LIF-MIF', key: 'aLifMif', d: 0 },
      { head: 'A_box', key: 'aBox', d: 1 },
    ]),
    '',
  );

  out.push('## Class discrimination', '');
  perModel((m) =>
    m.twoClassImages === 0
      ? '(no two-class images)'
      : table(
          ['method', 'n', 'dA_LIF-MIF ↑', 'dA_box ↑'],
          m.methods.map((x) => [
            `\`${x.method}\``,
            String(x.discrimination.dLifMif.n),
            formatStat(x.discrimination.dLifMif, DECIMALS.dLifMif),
            formatStat(x.discrimination.dBox, DECIMALS.dBox),
          ]),
          ['l', 'r', 'r', 'r'],
        ),
  );
  out.push(
    paper([
      { head: 'dA_LIF-MIF', key: 'dLifMif', d: 0 },
      { head: 'dA_box', key: 'dBox', d: 1 },
    ]),
    '',
  );
  picture('discrimination', 'class discrimination per method');

  out.push('## Compactness', '');
  perModel((m) =>
    table(
      ['method', 'n', 'compactness'],
      m.methods.map((x) => [`\`${x.method}\``, String(x.compactness.n), formatStat(x.compactness, DECIMALS.compactness)]),
      ['l', 'r', 'r'],
    ),
  );
  out.push(paper([{ head: 'compactness', key: 'compactness', d: 2 }]), '');

  out.push('## Box sensitivity r(s)', '');
  out.push("Pearson r between the map's sum inside a blurred box and the logit drop, per box side s, over the correctness records.", '');
  perModel((m) => {
    const sizes = [...new Set(m.methods.flatMap((x) => x.boxR.map((b) => b.size)))].sort((a, b) => a - b);
    return table(
      ['method', 'n', ...sizes.map((s) => `r(${s} px)`)],
      m.methods.map((x) => [
        `\`${x.method}\``,
        String(x.correctness.aBox.n),
        ...sizes.map((s) => {
          const b = x.boxR.find((e) => e.size === s);
          return b ? formatStat(b.r, DECIMALS.r) : DASH;
        }),
      ]),
      ['l', 'r', ...sizes.map(() => 'r' as const)],
    );
  });
  picture('boxes', 'box sensitivity r(s) per method');

  out.push('## Curves', '');
  out.push(
    'Mean logit of the target class as pixels are blurred, most important first (MIF) and least important first (LIF), over the correctness records.',
    '',
  );
  picture('curves', 'mean MIF and LIF curves per method');
  return out.join('\n');
}

// ---------------------------------------------------------------- CSV

function csvField(s: string): string {
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** report.csv: one row per (model, method); for every statistic its mean, se and n (empty where undefined). */
export function reportCsv(summary: ReportSummary): string {
  const stats = (x: MethodSummary): [string, Stat][] => [
    ['aMif', x.correctness.aMif],
    ['aLif', x.correctness.aLif],
    ['aLifMif', x.correctness.aLifMif],
    ['aBox', x.correctness.aBox],
    ['dLifMif', x.discrimination.dLifMif],
    ['dBox', x.discrimination.dBox],
    ['compactness', x.compactness],
    ...summary.boxSizes.map((s): [string, Stat] => [`r${s}`, x.boxR.find((b) => b.size === s)?.r ?? { mean: null, se: null, n: 0 }]),
  ];
  const empty: MethodSummary = summarizeMethod('', [], new Set());
  const head = ['model', 'method', ...stats(empty).flatMap(([k]) => [`${k}_mean`, `${k}_se`, `${k}_n`])];
  const rows = summary.models.flatMap((m) =>
    m.methods.map((x) => [
      m.model ?? '',
      x.method,
      ...stats(x).flatMap(([, s]) => [s.mean === null ? '' : String(s.mean), s.se === null ? '' : String(s.se), String(s.n)]),
    ]),
  );
  return [head, ...rows].map((r) => r.map(csvField).join(',')).join('\n') + '\n';
}

// ---------------------------------------------------------------- files

export interface WriteReportOptions {
  /** the results file(s), as named in report.md (default "results.jsonl") */
  sources?: string[];
  /** false: only report.md, report.csv and summary.json */
  plots?: boolean;
}

export interface WrittenReport {
  summary: ReportSummary;
  /** the paths written, in order */
  files: string[];
}

/** The names of the files writeReport writes. */
export const REPORT_FILES = ['report.md', 'report.csv', 'summary.json'] as const;

/**
 * Aggregates `records` and writes report.md, report.csv, summary.json and
 * the plots (curves, boxes, discrimination; SVG and PNG) into `dir`, all
 * atomically and all or none (Node only; the plots load vega, vega-lite and
 * resvg-wasm on first use).
 */
export async function writeReport(dir: string, records: readonly ResultRecord[], opts: WriteReportOptions = {}): Promise<WrittenReport> {
  if (records.length === 0) throw new Error('no records to report');
  const path = nodePath('writeReport');
  const summary = summarizeResults(records);
  const plots: RenderedPlot[] = opts.plots === false ? [] : await renderPlots(plotSpecs(summary));
  const plotFiles = plots.flatMap((p) => [
    { name: `${p.name}.svg`, data: p.svg },
    { name: `${p.name}.png`, data: p.png },
  ]);
  const names = [...REPORT_FILES, ...plotFiles.map((f) => f.name)];
  const md = reportMarkdown(summary, {
    sources: opts.sources ?? ['results.jsonl'],
    outputs: names.filter((n) => n !== 'report.md'),
    plots: plots.map((p) => p.name),
  });
  const json = JSON.stringify({ sources: opts.sources ?? ['results.jsonl'], ...summary, paper: PAPER_REFERENCE }, null, 2) + '\n';
  const files = [{ name: 'report.md', data: md }, { name: 'report.csv', data: reportCsv(summary) }, { name: 'summary.json', data: json }, ...plotFiles].map(
    (f) => ({ path: path.join(dir, f.name), data: f.data }),
  );
  writeFilesAtomic(files);
  return { summary, files: files.map((f) => f.path) };
}
