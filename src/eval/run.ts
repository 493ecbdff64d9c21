// A whole evaluation run over a manifest, in Node: the run's settings in
// DIR/run.json, the boxes in DIR/boxes.json, one results.jsonl line per
// (image, method, map target, logit target) appended with fsync, so that a
// killed run resumes where it stopped with no lost and no duplicate lines.
// Images are shared by worker threads, and split into shards across machines
// (--shard i/n, or a Slurm job array / Kubernetes Indexed Job).
import { appendFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { writeFileAtomic } from '../io/atomic.js';
import { InputError } from '../io/errors.js';
import { EMBEDDED_MODEL_NAME, EMBEDDED_MODEL_URL } from '../vit/load.js';
import type { Method } from '../methods/registry.js';
import { RUN_FILES, appendDurable, fileError, readResults, readRunFile, readSkipped, type RunFile, type RunSettings, type Shard } from './folder.js';
import { evaluateEntry, loadEvalModel, type EvalConfig, type PartJob, type WorkerInit } from './job.js';
import { parseManifest, type ManifestEntry, type BadLine } from './manifest.js';
import { assembleImage, imageParts, pairings, type EvalRecord, type ImageTiming, type PartResult } from './protocol.js';
import { checkBoxes, makeBoxes, type BoxSet } from './metrics.js';
import { EVAL_DEFAULTS, type EvalSettings } from './defaults.js';
import { runOnWorkers } from './scheduler.js';

/** The run's settings (EVAL_DEFAULTS where not given), and what it runs on and how. */
export interface EvalRunOptions extends Partial<EvalSettings> {
  manifest: string;
  methods: Method[];
  out: string;
  /** model folder (default: the embedded ViT-Ti) */
  modelDir?: string;
  /** a test-time register file (cdam registers): every method runs on the model with the register */
  registerFile?: string;
  /** a box list to reuse (else made from the sizes, count and seed) */
  boxes?: BoxSet;
  boxSizes?: readonly number[];
  boxesPerSize?: number;
  seed?: number;
  shard?: Shard | null;
  /** what to do with a bad manifest line or an image that cannot be read */
  onBadLine?: 'fail' | 'skip';
  /** worker threads sharing the parts of the images (1: this thread, kernels on every core); default `defaultWorkers()` */
  workers?: number;
  /** images done (this run and earlier ones), images in the shard */
  onProgress?: (done: number, total: number) => void;
  /** one-line messages (skipped lines, resume state) */
  log?: (s: string) => void;
}

export interface EvalRunResult {
  dir: string;
  images: number;
  /** images done by earlier runs of the same command */
  resumed: number;
  skipped: BadLine[];
  ms: number;
}

const sha256 = (s: string | Uint8Array) => createHash('sha256').update(s).digest('hex');

/** The shard from --shard "i/n", else a Slurm job array, else a Kubernetes Indexed Job (with `count`), else none. */
export function shardFrom(flag: string | undefined, env: Record<string, string | undefined>, count?: number): Shard | null {
  const check = (index: number, n: number, from: string): Shard => {
    if (!(Number.isInteger(n) && n >= 1 && Number.isInteger(index) && index >= 0 && index < n))
      throw new Error(`${from}: a shard is i/n with 0 <= i < n, got ${index}/${n}`);
    return { index, count: n };
  };
  if (flag !== undefined) {
    const m = /^(\d+)\/(\d+)$/.exec(flag.trim());
    if (!m) throw new Error(`--shard must be i/n (0-based i, e.g. 0/4), got "${flag}"`);
    return check(Number(m[1]), Number(m[2]), '--shard');
  }
  const slurmId = env['SLURM_ARRAY_TASK_ID'];
  if (slurmId !== undefined && slurmId !== '') {
    const n = env['SLURM_ARRAY_TASK_COUNT'];
    if (n === undefined) throw new Error('SLURM_ARRAY_TASK_ID is set but SLURM_ARRAY_TASK_COUNT is not');
    // arrays may start at any index (--array=1-8): shards count from SLURM_ARRAY_TASK_MIN
    const min = Number(env['SLURM_ARRAY_TASK_MIN'] ?? 0);
    return check(Number(slurmId) - min, Number(n), 'SLURM_ARRAY_TASK_ID/COUNT');
  }
  const k8s = env['JOB_COMPLETION_INDEX'];
  if (k8s !== undefined && k8s !== '') {
    if (count === undefined) throw new Error("JOB_COMPLETION_INDEX is set (a Kubernetes Indexed Job): give the job's completions as --shard-count N");
    return check(Number(k8s), count, 'JOB_COMPLETION_INDEX/--shard-count');
  }
  if (count !== undefined) throw new Error('--shard-count is for a Kubernetes Indexed Job (JOB_COMPLETION_INDEX is not set); use --shard i/n');
  return null;
}

/** Results already on disk: a trailing partial line is cut off, and lines of an unfinished image are dropped. */
function loadDone(dir: string, expect: Map<number, number>, log: (s: string) => void): Set<number> {
  const file = join(dir, RUN_FILES.results);
  const { lines, cut } = readResults(dir, 'cut', log);
  const count = new Map<number, number>();
  lines.forEach(({ record: r }, i) => {
    if (!expect.has(r.line)) throw fileError(`line ${i + 1} is for manifest line ${r.line}, which this run does not cover`, file);
    count.set(r.line, (count.get(r.line) ?? 0) + 1);
  });
  const done = new Set<number>();
  const keep: string[] = [];
  let dropped = 0;
  for (const { record: r, text } of lines) {
    const n = count.get(r.line)!;
    if (n === expect.get(r.line)) {
      keep.push(text);
      done.add(r.line);
    } else if (n > expect.get(r.line)!) {
      throw fileError(`manifest line ${r.line} has ${n} result lines, more than the ${expect.get(r.line)} it should have`, file);
    } else dropped++;
  }
  if (dropped > 0 || cut) {
    if (dropped > 0) log(`${file}: dropping ${dropped} lines of unfinished images (they run again)`);
    writeFileAtomic(file, keep.map((l) => l + '\n').join(''));
  }
  return done;
}

/** Most workers `defaultWorkers` gives: each holds its own copy of the model. */
export const MAX_DEFAULT_WORKERS = 8;

/**
 * Workers when none are asked for: one per core (at most MAX_DEFAULT_WORKERS).
 * On 2 cores two single-threaded workers sharing an image's parts beat one
 * process whose kernels use both cores by 15% (docs/PERFORMANCE.md).
 */
export function defaultWorkers(): number {
  return Math.max(1, Math.min(MAX_DEFAULT_WORKERS, availableParallelism()));
}

/** Run (or resume) an evaluation. */
export async function runEval(opts: EvalRunOptions): Promise<EvalRunResult> {
  const t0 = performance.now();
  const log = opts.log ?? (() => {});
  const onBad = opts.onBadLine ?? 'fail';
  const vit = loadEvalModel(opts.modelDir, opts.registerFile);
  if (!vit.params.head) throw fileError('the model has no classifier head: the evaluation records class logits', opts.modelDir ?? EMBEDDED_MODEL_URL.pathname);
  const [H, W] = vit.config.preprocess.size;
  let manifestText: string;
  try {
    manifestText = readFileSync(opts.manifest, 'utf8');
  } catch (e) {
    throw fileError(`cannot read the manifest (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`, opts.manifest);
  }
  const base = dirname(resolve(opts.manifest));
  const { entries, bad } = parseManifest(manifestText, { numClasses: vit.config.numClasses, labels: vit.config.labels }, (p) =>
    isAbsolute(p) ? p : join(base, p),
  );
  const shard = opts.shard ?? null;
  const inShard = (ordinal: number) => !shard || ordinal % shard.count === shard.index;
  const badHere = bad.filter((b) => inShard(b.ordinal));
  if (badHere.length > 0 && onBad === 'fail') {
    const list = badHere
      .slice(0, 10)
      .map((b) => `  line ${b.line}: ${b.why}`)
      .join('\n');
    throw fileError(`${badHere.length} bad line${badHere.length > 1 ? 's' : ''} (--on-bad-line skip to go on without them):\n${list}`, opts.manifest);
  }
  for (const b of badHere) log(`${opts.manifest}: line ${b.line} skipped: ${b.why}`);
  const mine = entries.filter((e) => inShard(e.ordinal));
  const boxes = opts.boxes
    ? checkBoxes(opts.boxes, W, H)
    : makeBoxes(W, H, opts.boxSizes ?? EVAL_DEFAULTS.boxSizes, opts.boxesPerSize ?? EVAL_DEFAULTS.boxesPerSize, opts.seed ?? EVAL_DEFAULTS.seed);
  const boxesText = JSON.stringify(boxes);
  const s: EvalSettings = {
    steps: opts.steps ?? EVAL_DEFAULTS.steps,
    batch: opts.batch ?? EVAL_DEFAULTS.batch,
    resize: opts.resize ?? EVAL_DEFAULTS.resize,
    methodOptions: opts.methodOptions ?? EVAL_DEFAULTS.methodOptions,
  };
  // the fields in run.json's order, as earlier runs wrote it
  const settings: RunSettings = {
    model: opts.modelDir ? resolve(opts.modelDir) : EMBEDDED_MODEL_NAME,
    manifestSha256: sha256(manifestText),
    methods: [...opts.methods],
    steps: s.steps,
    batch: s.batch,
    resize: s.resize,
    testTimeRegister: opts.registerFile ? sha256(readFileSync(opts.registerFile)) : null,
    boxesSha256: sha256(boxesText),
    methodOptions: s.methodOptions,
  };
  const run: RunFile = {
    settings,
    manifest: resolve(opts.manifest),
    shard,
    images: mine.map((e) => ({ line: e.line, expect: opts.methods.length * pairings(e.targets).length })),
  };
  mkdirSync(opts.out, { recursive: true });
  const runPath = join(opts.out, RUN_FILES.run);
  if (existsSync(runPath)) {
    const old = readRunFile(opts.out);
    const diff = differences(old, run);
    if (diff.length > 0) throw fileError(`holds a different run (${diff.join('; ')}): use another --out, or delete it to start again`, runPath);
  } else {
    writeFileAtomic(join(opts.out, RUN_FILES.boxes), boxesText + '\n');
    writeFileAtomic(runPath, JSON.stringify(run, null, 1) + '\n');
  }
  const resultsPath = join(opts.out, RUN_FILES.results);
  const skippedPath = join(opts.out, RUN_FILES.skipped);
  const expect = new Map(run.images.map((i) => [i.line, i.expect]));
  const done = loadDone(opts.out, expect, log);
  const before = readSkipped(opts.out, 'cut', log);
  if (before.cut) writeFileAtomic(skippedPath, before.lines.map((l) => l + '\n').join(''));
  for (const b of before.skipped) done.add(b.line);
  const resumed = done.size;
  if (resumed > 0) log(`${opts.out}: resuming, ${resumed} of ${mine.length} images already done`);
  const todo = mine.filter((e) => !done.has(e.line));
  const skipped: BadLine[] = [...badHere];
  let finished = resumed;
  opts.onProgress?.(finished, mine.length);
  const cfg: EvalConfig = { ...s, boxes };
  const onResult = (entry: ManifestEntry, res: ImageResult) => {
    if ('error' in res) {
      if (onBad === 'fail') throw new InputError(entry.path, `${entry.image} (manifest line ${entry.line}): ${res.error}`);
      const b = { line: entry.line, ordinal: entry.ordinal, why: res.error };
      skipped.push(b);
      log(`${opts.manifest}: line ${entry.line} skipped: ${entry.image}: ${res.error}`);
      appendDurable(skippedPath, JSON.stringify(b) + '\n');
    } else {
      appendDurable(resultsPath, res.records.map((r) => JSON.stringify(r) + '\n').join(''));
      appendFileSync(join(opts.out, RUN_FILES.timing), JSON.stringify({ line: entry.line, image: entry.image, ...res.timing }) + '\n');
    }
    opts.onProgress?.(++finished, mine.length);
  };
  const workers = todo.length === 0 ? 1 : Math.max(1, opts.workers ?? defaultWorkers());
  if (workers <= 1) {
    for (const entry of todo) {
      let res: ImageResult;
      try {
        res = evaluateEntry(vit, entry, settings.methods, cfg);
      } catch (e) {
        if (!(e instanceof InputError)) throw e;
        res = { error: e.message };
      }
      onResult(entry, res);
    }
  } else {
    await inWorkers(workers, todo, { modelDir: opts.modelDir, registerFile: opts.registerFile, methods: settings.methods, cfg }, onResult);
  }
  return { dir: opts.out, images: mine.length, resumed, skipped, ms: performance.now() - t0 };
}

/** What differs between two runs' files (empty when one may resume or join the other). */
export function differences(a: RunFile, b: RunFile, withShard = true): string[] {
  const out: string[] = [];
  const sa = a.settings as unknown as Record<string, unknown>;
  const sb = b.settings as unknown as Record<string, unknown>;
  for (const k of new Set([...Object.keys(sa), ...Object.keys(sb)])) {
    if (JSON.stringify(sa[k]) !== JSON.stringify(sb[k])) out.push(`${k}: ${JSON.stringify(sa[k])} vs ${JSON.stringify(sb[k])}`.slice(0, 200));
  }
  if (withShard && JSON.stringify(a.shard) !== JSON.stringify(b.shard)) out.push(`shard: ${JSON.stringify(a.shard)} vs ${JSON.stringify(b.shard)}`);
  return out;
}

type ImageResult = { records: EvalRecord[]; timing: ImageTiming } | { error: string };

/**
 * Share the work among worker threads (one kernel thread each): the parts of
 * the images (`imageParts`) go, in manifest order, to whichever worker is
 * free, so that even one image keeps every worker busy. When an image's last
 * part is back, this thread puts its records together and hands them on; it
 * alone writes.
 */
async function inWorkers(n: number, todo: ManifestEntry[], init: WorkerInit, onResult: (e: ManifestEntry, r: ImageResult) => void): Promise<void> {
  const parts = imageParts(init.methods, init.cfg);
  const queue: PartJob[] = todo.flatMap((entry) => parts.map((part) => ({ entry, part })));
  const pending = new Map<number, { results: PartResult[]; timing: ImageTiming; failed: boolean }>(
    todo.map((e) => [e.line, { results: [], timing: { mapsMs: 0, forwardsMs: 0, forwards: 0 }, failed: false }]),
  );
  const imageOf = (job: PartJob) => {
    const img = pending.get(job.entry.line);
    if (!img) throw new Error(`internal: no pending image for manifest line ${job.entry.line}`);
    return img;
  };
  type Reply = { result: PartResult; timing: ImageTiming } | { error: string; input: boolean };
  const pool = { script: new URL('./worker.js', import.meta.url), workers: n, workerData: init, env: { ...process.env, CDAM_THREADS: '1' } };
  await runOnWorkers<PartJob, Reply>(
    pool,
    queue,
    (job, m) => {
      if ('error' in m && !m.input) throw new Error(m.error);
      const img = imageOf(job);
      if ('error' in m) {
        // an unreadable image: reported once, its other parts dropped
        if (!img.failed) {
          img.failed = true;
          onResult(job.entry, { error: m.error });
        }
      } else if (!img.failed) {
        img.results.push(m.result);
        img.timing.mapsMs += m.timing.mapsMs;
        img.timing.forwardsMs += m.timing.forwardsMs;
        img.timing.forwards += m.timing.forwards;
        if (img.results.length === parts.length) {
          pending.delete(job.entry.line);
          onResult(job.entry, { records: assembleImage(job.entry, init.methods, init.cfg.boxes, img.results), timing: img.timing });
        }
      }
    },
    (job) => pending.get(job.entry.line)?.failed === true,
  );
}
