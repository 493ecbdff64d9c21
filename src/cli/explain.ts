// cdam explain IMAGE [--model DIR] [--method M[,M...]] [--target T[,T...]] ...
import type { RgbImage } from '../io/image.js';
import { checkOutputPaths, writeFilesAtomic } from '../io/atomic.js';
import type { Explanation, HighNormToken } from '../cdam/explainer.js';
import { METHODS, isMethod, methodInfo, type Method } from '../methods/registry.js';
import { describeTarget, type Target } from '../cdam/target.js';
import { ExplainSession } from '../api/session.js';
import { MAX_ROW_PANELS, renderOverlay, renderGrid, renderImagePanel, rowLength, toPng, wrapGroups, displayRange, type DisplayRange } from '../render/index.js';
import { DEFAULT_RESIZE, RESIZE_MODES, resizeRgb, type ResizeMode } from '../vit/preprocess.js';
import { parse, intOpt, choiceOpt, wantsHelp, UsageError } from './args.js';
import { methodFlagSpecs, methodFlagUsage, parseMethodFlags } from './methodFlags.js';
import { resolveConcept } from './concept.js';
import { loadModel, modelUsage, takeRegisterOption, REGISTER_OPTION } from './model.js';
import { maxPixelsOpt, resizeUsage } from './classify.js';
import { progressBar } from './progress.js';
import { noteUpscale, readNotedImage } from './image.js';

const SCALES = ['column', 'cell'] as const;

/** Words joined by " | ", wrapped at `width` with every line indented by `indent`. */
function wrapList(words: readonly string[], indent: number, width: number): string {
  const lines: string[] = [];
  let line = '';
  for (const w of words) {
    const next = line ? `${line} | ${w}` : w;
    if (indent + next.length > width && line) {
      lines.push(`${line} |`);
      line = w;
    } else line = next;
  }
  lines.push(line);
  return lines.map((l) => ' '.repeat(indent) + l).join('\n');
}

export const explainUsage = `usage: cdam explain IMAGE [--model DIR] [--test-time-register [FILE]] [options]
  --method M        (default cdam; a comma list with --compare)
${wrapList(METHODS, 20, 104)}
  --target T        class index, label (or a unique part of one), or A-B (difference of two logits);
                    default: the top-1 class (the top two with --compare); a comma list with --compare
  --concept X       explain a concept: a folder of example images or a file from 'cdam concept'
${methodFlagUsage()}
  --per-head        one map per head (attention, rollout, and each CDAM method: its closed form is a sum over heads)
${resizeUsage}
  --out FILE.png    the photo with the map over it (a grid with --compare)
  --json FILE       {"method","target","logit","map":{"rows","cols","values"}} (raw scores, row-major)
  --compare         several methods and/or targets side by side
  --columns N       pictures per row of a --compare grid; each target starts a row (default:
                    at most ${MAX_ROW_PANELS}, the rows of a target filled evenly)
  --scale S         colour scale of a --compare grid: column (default: one per method, shared by
                    its targets) or cell (one per picture)
  --clip-outliers   leave high-norm artefact tokens out of the colour scale (they saturate;
                    the raw map and --json keep them)
  --engine E        closed-form (default) or autograd: how dF/dT is obtained
  --quiet           no progress bar and no notes on stderr
${modelUsage}`;

interface Row {
  target: Target;
  cells: Explanation[];
}

/** Longest side of the photo in the picture. */
const DISPLAY_SIDE = 448;

/**
 * The picture under the map: with squash, the photo itself at its own aspect
 * ratio (the map's cells stretch with it); with crop, the square the model saw.
 */
function displayImage(photo: RgbImage, modelView: RgbImage, mode: ResizeMode): RgbImage {
  if (mode === 'crop') return modelView;
  const long = Math.max(photo.width, photo.height);
  if (long <= DISPLAY_SIDE) return photo;
  const f = DISPLAY_SIDE / long;
  return resizeRgb(photo, Math.max(1, Math.round(photo.width * f)), Math.max(1, Math.round(photo.height * f)), 'bilinear');
}

/** The method an explanation came from ("cdam-head2" -> cdam). */
const methodOf = (e: Explanation): Method => {
  const m = e.method.replace(/-head\d+$/, '');
  if (!isMethod(m)) throw new Error(`internal: unknown method ${e.method}`);
  return m;
};
const isSigned = (e: Explanation) => methodInfo(methodOf(e)).signed;

/** One display range over several maps, leaving out the patch cells in `skip` (patch-level maps only). */
function sharedRange(es: Explanation[], skip: Set<number>): DisplayRange {
  const vals: number[] = [];
  for (const e of es) {
    const patchLevel = methodInfo(methodOf(e)).level === 'patch';
    e.map.values.forEach((v, i) => {
      if (!patchLevel || !skip.has(i)) vals.push(v);
    });
  }
  return displayRange(vals, isSigned(es[0]!));
}

function cellName(t: HighNormToken): string {
  return `r${t.row}c${t.col}`;
}

export function runExplain(argv: string[], out: (s: string) => void, err: (s: string) => void): void {
  if (wantsHelp(argv)) return out(explainUsage);
  const { rest, register } = takeRegisterOption(argv);
  const { values, flags, positionals } = parse(
    rest,
    {
      model: { type: 'string' },
      method: { type: 'string' },
      target: { type: 'string' },
      concept: { type: 'string' },
      ...methodFlagSpecs(),
      resize: { type: 'string' },
      out: { type: 'string' },
      json: { type: 'string' },
      compare: { type: 'boolean' },
      'per-head': { type: 'boolean' },
      engine: { type: 'string' },
      head: { type: 'string' },
      scale: { type: 'string' },
      columns: { type: 'string' },
      'clip-outliers': { type: 'boolean' },
      quiet: { type: 'boolean' },
      'max-pixels': { type: 'string' },
    },
    'explain',
    [REGISTER_OPTION],
  );
  const maxPixels = maxPixelsOpt(values['max-pixels']);
  if (positionals.length !== 1) throw new UsageError(`explain takes one IMAGE, got ${positionals.length}\n${explainUsage}`);
  const methods = (values['method'] ?? 'cdam').split(',').map((m) => m.trim());
  for (const m of methods) if (!isMethod(m)) throw new UsageError(`--method must be one of ${METHODS.join(', ')}, got "${m}"`);
  if (values['target'] !== undefined && values['target'].trim() === '') throw new UsageError('--target is empty: give a class index, a label or A-B');
  const targetSpecs = values['target'] ? values['target'].split(',').map((t) => t.trim()) : [];
  if (targetSpecs.some((t) => t === '')) throw new UsageError(`--target "${values['target']}" has an empty entry`);
  const compare = flags['compare']!;
  if (!compare && (methods.length > 1 || targetSpecs.length > 1)) {
    throw new UsageError('several methods or targets need --compare (they are drawn side by side)');
  }
  if (values['concept'] && targetSpecs.length) throw new UsageError('give either --target or --concept, not both');
  const params = parseMethodFlags(values); // those not given: each method's own default
  const resize = choiceOpt<ResizeMode>(values['resize'], 'resize', RESIZE_MODES, DEFAULT_RESIZE);
  const engine = choiceOpt(values['engine'], 'engine', ['closed-form', 'autograd'] as const, 'closed-form');
  const scale = choiceOpt(values['scale'], 'scale', SCALES, 'column');
  const gridColumns = values['columns'] === undefined ? undefined : intOpt(values['columns'], 'columns', MAX_ROW_PANELS, 1, 1000);
  if (gridColumns !== undefined && !compare) throw new UsageError('--columns lays out a --compare grid: add --compare');
  const perHead = flags['per-head']!;
  const noHeads = methods.filter((m) => isMethod(m) && !methodInfo(m).perHead);
  if (perHead && noHeads.length) throw new UsageError(`--per-head: ${noHeads.join(', ')} has no per-head maps`);
  if (perHead && engine === 'autograd' && methods.some((m) => m !== 'attention' && m !== 'rollout')) {
    throw new UsageError('--per-head CDAM comes from the closed form: drop --engine autograd');
  }
  const quiet = flags['quiet']!;
  const note = (s: string) => {
    if (!quiet) err(s);
  };
  if (values['out'] && !/\.png$/i.test(values['out'])) throw new UsageError(`--out must name a .png file, got "${values['out']}"`);
  const outputs = [
    ...(values['json'] ? [{ option: '--json', path: values['json'] }] : []),
    ...(values['out'] ? [{ option: '--out', path: values['out'] }] : []),
  ];
  checkOutputPaths(outputs); // before any work: a bad path fails now, not minutes later

  const { vit, name } = loadModel(values['model'], values['head'], register);
  const photo = readNotedImage(positionals[0]!, maxPixels, note);
  noteUpscale(positionals[0]!, photo, vit.config.preprocess, resize, note);
  const session = new ExplainSession(vit, photo, { resize, engine, maxPixels });
  out(`model: ${name}`);
  out(`preprocessing: ${session.preprocessing}`);

  const top = session.top(5);
  if (top.length) out(`top: ${top.map((c) => `${c.index} ${c.label} (${c.prob.toFixed(3)})`).join(', ')}`);
  let targets: Target[];
  if (values['concept']) {
    const c = resolveConcept(values['concept'], vit, resize, progressBar('concept examples', process.stderr, quiet));
    targets = [{ kind: 'concept', vector: c.vector, name: c.name }];
  } else if (targetSpecs.length) {
    targets = targetSpecs.map((t) => session.target(t));
  } else {
    if (!top.length) throw new Error('the model has no classifier head: give --concept (or --head FILE)');
    targets = top.slice(0, compare ? 2 : 1).map((c) => ({ kind: 'class', index: c.index }));
  }
  out(`backend: ${session.backend}`);

  const highNorm = session.highNormTokens();
  if (highNorm.length) {
    const norms = highNorm.map((t) => t.norm);
    note(
      `note: ${highNorm.length} patch token${highNorm.length > 1 ? 's' : ''} with an artefact-high norm (${highNorm.map(cellName).join(', ')}; ` +
        `${Math.min(...norms).toFixed(0)}-${Math.max(...norms).toFixed(0)}, over 5x the median): they often carry the largest scores ` +
        `(README: "Bright corners")${flags['clip-outliers'] ? '; left out of the colour scale' : '; --clip-outliers leaves them out of the colour scale'}`,
    );
  }

  const rows: Row[] = targets.map((target) => ({ target, cells: [] }));
  const reported = new Set<string>(); // a target-free map is reported once (the session computes it once)
  for (const method of methods as Method[]) {
    for (const row of rows) {
      const t0 = performance.now();
      const r = session.explain(method, row.target, { ...params, perHead, onProgress: progressBar(method, process.stderr, quiet) });
      row.cells.push(...r);
      if (reported.has(method)) continue;
      if (!methodInfo(method).usesTarget) reported.add(method);
      const ms = performance.now() - t0;
      for (const e of r) {
        let lo = Infinity;
        let hi = -Infinity;
        for (const v of e.map.values) {
          lo = Math.min(lo, v);
          hi = Math.max(hi, v);
        }
        out(
          `${e.method}${e.target ? ` | target ${e.target}` : ''}${e.score !== null ? ` | score ${e.score.toFixed(3)}` : ''} | map ${e.map.rows}x${e.map.cols} in [${lo.toPrecision(3)}, ${hi.toPrecision(3)}] | ${ms.toFixed(0)} ms`,
        );
      }
    }
  }
  const results = rows.flatMap((r) => r.cells);

  const files: { path: string; data: Uint8Array | string }[] = [];
  if (values['json']) {
    const asJson = (e: Explanation) => ({
      method: e.method,
      target: e.target,
      logit: e.score,
      map: { rows: e.map.rows, cols: e.map.cols, values: Array.from(e.map.values) },
    });
    const body = results.length === 1 ? asJson(results[0]!) : { explanations: results.map(asJson) };
    files.push({ path: values['json'], data: JSON.stringify(body) + '\n' });
  }
  if (values['out']) {
    const shown = displayImage(photo, session.prepared.rgb, resize);
    const skip = new Set(flags['clip-outliers'] ? highNorm.map((t) => t.index) : []);
    const cellRange = (e: Explanation) => sharedRange([e], skip);
    let png: Uint8Array;
    if (results.length === 1) {
      const e = results[0]!;
      const title = `${e.method}${e.target ? ` | ${e.target}` : ''}${e.score !== null ? ` | score ${e.score.toFixed(2)}` : ''}`;
      png = toPng(renderOverlay(shown, e.map, { title, signed: isSigned(e), range: cellRange(e) }));
    } else {
      // per target: the input (named by the target), then each method, wrapped into rows of
      // the same length; one colour scale per method unless --scale cell
      const maps = rows[0]!.cells.length;
      const methodRange = Array.from({ length: maps }, (_, c) =>
        sharedRange(
          rows.map((r) => r.cells[c]!),
          skip,
        ),
      );
      const groups = rows.map((row) => [
        { image: renderImagePanel(shown), label: `input | ${describeTarget(row.target, (i) => vit.label(i))}` },
        ...row.cells.map((e, c) => ({
          image: renderOverlay(shown, e.map, { signed: isSigned(e), range: scale === 'cell' ? cellRange(e) : methodRange[c]! }),
          label: e.method,
        })),
      ]);
      const columns = rowLength(1 + maps, gridColumns);
      png = toPng(renderGrid(wrapGroups(groups, columns), { columns }));
    }
    files.push({ path: values['out'], data: png });
  }
  // everything is computed before anything is written; all files or none
  writeFilesAtomic(files);
  for (const f of files) out(`wrote ${f.path}`);
  if (!files.length) note('note: nothing was written; add --out FILE.png for a picture, --json FILE for the raw map');
}
