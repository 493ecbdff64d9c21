// cdam eval --manifest FILE --methods LIST --out DIR [--model DIR] ...
// cdam merge DIR... --out DIR
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { METHODS, isMethod, type Method } from '../methods/registry.js';
import { RESIZE_MODES } from '../vit/preprocess.js';
import { EVAL_DEFAULTS } from '../eval/defaults.js';
import { runEval, shardFrom, defaultWorkers, MAX_DEFAULT_WORKERS } from '../eval/run.js';
import { fileError } from '../eval/folder.js';
import { mergeRuns } from '../eval/merge.js';
import { parse, intOpt, choiceOpt, wantsHelp, UsageError } from './args.js';
import { progressBar, progressLine } from './progress.js';
import { defaultRegisterFile, takeRegisterOption, REGISTER_OPTION } from './model.js';

const E = EVAL_DEFAULTS;

export const evalUsage = `usage: cdam eval --manifest FILE --out DIR [--methods LIST] [--model DIR] [options]
  The paper's evaluation (docs/EVAL.md): MIF/LIF fidelity, box sensitivity,
  class discrimination and compactness, for every image and method.
  --manifest FILE   JSON lines {"image": PATH, "targets": [c]} or [c, c2] for a two-class image
                    (classes as indices or labels; PATH relative to the manifest or absolute)
  --out DIR         results.jsonl (one line per image, method, map and logit target), run.json,
                    boxes.json, report.md and plots; an existing DIR of the same run is resumed
  --methods LIST    comma list (default: all): ${METHODS.join(', ')}
  --model DIR       model folder (default: the embedded ViT-Ti/16)
  --test-time-register [FILE]
                    every method on the model with a test-time register (as cdam explain)
  --steps N         MIF/LIF steps (default ${E.steps})
  --box-sizes LIST  box sizes in pixels (default ${E.boxSizes.join(',')})
  --boxes-per-size N  random boxes per size (default ${E.boxesPerSize})
  --boxes FILE      reuse a box list (a boxes.json of an earlier run, or another tool's)
  --seed N          seed of the box positions (default ${E.seed})
  --batch N         perturbed images per forward pass (default ${E.batch})
  --resize MODE     squash (default) or crop, as cdam explain
  --workers N       worker threads with one kernel thread each, taking the parts of the images
                    (a method, a range of box forwards) as they come free (default: one per
                    core, at most ${MAX_DEFAULT_WORKERS}, here ${defaultWorkers()}; each holds a copy of the model);
                    1: this process alone, its kernels on every core
  --shard i/n       take every n-th image from the i-th (0-based); without it, a Slurm job array
                    (SLURM_ARRAY_TASK_ID, SLURM_ARRAY_TASK_COUNT) or a Kubernetes Indexed Job
                    (JOB_COMPLETION_INDEX with --shard-count N) sets the shard
  --shard-count N   the Indexed Job's completions
  --on-bad-line A   fail (default: report every bad manifest line, do nothing) or skip
                    (report them, and images that cannot be read, and go on)
  --no-report       do not write the report at the end (cdam report DIR writes it)
  --quiet           no progress on stderr`;

export const mergeUsage = `usage: cdam merge DIR... --out DIR [--no-report]
  Combine the output folders of the shards of one run (refuses different runs, overlapping
  or missing shards, and unfinished ones), then write the report.
  --out DIR         the merged results.jsonl, run.json and boxes.json, and the report
  --no-report       do not write the report (cdam report DIR writes it)`;

function methodList(v: string | undefined): Method[] {
  if (v === undefined || v === 'all') return [...METHODS];
  const list = v
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (list.length === 0) throw new UsageError('--methods needs at least one method');
  for (const m of list) if (!isMethod(m)) throw new UsageError(`--methods: unknown method "${m}" (${METHODS.join(', ')})`);
  if (new Set(list).size !== list.length) throw new UsageError('--methods names a method twice');
  return list as Method[];
}

function sizeList(v: string | undefined): number[] {
  if (v === undefined) return [...E.boxSizes];
  const list = v.split(',').map((s) => Number(s.trim()));
  if (list.length < 2 || list.some((n) => !Number.isInteger(n) || n < 1))
    throw new UsageError(`--box-sizes must list at least two positive integers, got "${v}"`);
  for (let i = 1; i < list.length; i++) if (list[i]! <= list[i - 1]!) throw new UsageError(`--box-sizes must increase, got "${v}"`);
  return list;
}

function readBoxes(p: string): unknown {
  try {
    return JSON.parse(readFileSync(p, 'utf8'));
  } catch (e) {
    throw fileError((e as NodeJS.ErrnoException).code ? `cannot read (${(e as Error).message})` : `not JSON (${(e as Error).message})`, p);
  }
}

/** A progress bar on a terminal; a line per image otherwise (long runs are often logged). */
function evalProgress(quiet: boolean, err: (s: string) => void): (done: number, total: number) => void {
  if (quiet) return () => {};
  if (process.stderr.isTTY) return progressBar('images', process.stderr, false);
  const start = performance.now();
  let first = -1;
  return (done, total) => {
    if (first < 0) first = done;
    if (done === first && done < total) return;
    err(progressLine('images', done - first, total - first, performance.now() - start).trim());
  };
}

/** Writes the report quietly, then says where it went (the run's line above says where the results went). */
async function writeReport(dir: string, out: (s: string) => void): Promise<void> {
  const { reportFolder } = await import('./report.js'); // loads vega only when a report is drawn
  await reportFolder(dir);
  out(`report: ${join(dir, 'report.md')} (with report.csv, summary.json and the plots beside it)`);
}

export async function runEvalCommand(argvIn: string[], out: (s: string) => void, err: (s: string) => void): Promise<void> {
  if (wantsHelp(argvIn)) return out(evalUsage);
  const { rest: argv, register } = takeRegisterOption(argvIn);
  const { values, flags, positionals } = parse(
    argv,
    {
      manifest: { type: 'string' },
      out: { type: 'string' },
      methods: { type: 'string' },
      model: { type: 'string' },
      steps: { type: 'string' },
      'box-sizes': { type: 'string' },
      'boxes-per-size': { type: 'string' },
      boxes: { type: 'string' },
      seed: { type: 'string' },
      batch: { type: 'string' },
      resize: { type: 'string' },
      workers: { type: 'string' },
      shard: { type: 'string' },
      'shard-count': { type: 'string' },
      'on-bad-line': { type: 'string' },
      'no-report': { type: 'boolean' },
      quiet: { type: 'boolean' },
    },
    'eval',
    [REGISTER_OPTION],
  );
  if (positionals.length > 0) throw new UsageError(`cdam eval takes no positional arguments (got "${positionals[0]}"); the images come from --manifest`);
  if (!values['manifest']) throw new UsageError(`--manifest FILE is required\n${evalUsage}`);
  if (!values['out']) throw new UsageError('--out DIR is required');
  if (values['boxes'] && (values['box-sizes'] || values['boxes-per-size']))
    throw new UsageError('--boxes gives the boxes: drop --box-sizes and --boxes-per-size');
  let shard;
  try {
    const count = values['shard-count'] === undefined ? undefined : intOpt(values['shard-count'], 'shard-count', 1, 1);
    shard = shardFrom(values['shard'], process.env, count);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const quiet = flags['quiet']!;
  const log = quiet ? () => {} : (s: string) => err(`cdam eval: ${s}`);
  const res = await runEval({
    manifest: values['manifest'],
    out: values['out'],
    methods: methodList(values['methods']),
    modelDir: values['model'],
    registerFile: register === undefined ? undefined : register === true ? defaultRegisterFile(values['model']) : register,
    steps: intOpt(values['steps'], 'steps', E.steps, 2, 10000),
    boxSizes: sizeList(values['box-sizes']),
    boxesPerSize: intOpt(values['boxes-per-size'], 'boxes-per-size', E.boxesPerSize, 2, 100000),
    boxes: values['boxes'] ? (readBoxes(values['boxes']) as never) : undefined,
    seed: intOpt(values['seed'], 'seed', E.seed, 0, 2 ** 32 - 1),
    batch: intOpt(values['batch'], 'batch', E.batch, 1, 256),
    resize: choiceOpt(values['resize'], 'resize', RESIZE_MODES, E.resize),
    workers: intOpt(values['workers'], 'workers', defaultWorkers(), 1, 64),
    shard,
    onBadLine: choiceOpt(values['on-bad-line'], 'on-bad-line', ['fail', 'skip'] as const, 'fail'),
    onProgress: evalProgress(quiet, err),
    log,
  });
  const where = shard ? ` (shard ${shard.index}/${shard.count})` : '';
  out(
    `evaluated ${res.images - res.skipped.length} images${where}${res.resumed ? ` (${res.resumed} from an earlier run)` : ''}${res.skipped.length ? `, skipped ${res.skipped.length}` : ''} in ${(res.ms / 1000).toFixed(1)} s -> ${res.dir}/results.jsonl`,
  );
  if (!flags['no-report'] && !shard) await writeReport(res.dir, out);
}

export async function runMerge(argv: string[], out: (s: string) => void): Promise<void> {
  if (wantsHelp(argv)) return out(mergeUsage);
  const { values, flags, positionals } = parse(argv, { out: { type: 'string' }, 'no-report': { type: 'boolean' } }, 'merge');
  if (!values['out']) throw new UsageError('cdam merge DIR... --out DIR: --out is required');
  if (positionals.length === 0) throw new UsageError('cdam merge DIR... --out DIR: give the shard folders');
  const r = mergeRuns(positionals, values['out']);
  out(`merged ${r.shards} shard${r.shards > 1 ? 's' : ''}: ${r.images} images, ${r.lines} result lines -> ${r.out}/results.jsonl`);
  if (!flags['no-report']) await writeReport(r.out, out);
}
