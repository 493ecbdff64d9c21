// Training runs as functions: train (from scratch, from an architecture),
// finetune (the last K blocks and a new head) and the run folder they write.
// A run folder is a model folder (model.safetensors + config.json, which
// loadViT, classify, explain and eval take as they are) plus what the run
// needs to be audited and resumed: run.json (settings), split.json (the
// held-out split's files), metrics.jsonl (one line per epoch) and
// checkpoint.safetensors (trained parameters, optimizer state, position).
// Every file is replaced atomically, once per epoch.

import { nodeFs, nodePath } from '../io/node.js';
import { writeFilesAtomic } from '../io/atomic.js';
import { InputError } from '../io/errors.js';
import { openSafetensors, bufferSource, writeSafetensors, type F32TensorRecord } from '../io/safetensors.js';
import type { ViT } from '../vit/model.js';
import { initViT, parseArchitecture, timmConfigOf, withNewHead, type Architecture } from '../vit/init.js';
import { namedParams } from '../vit/params.js';
import {
  FIT_DEFAULTS,
  fit,
  trainable,
  lastBlocks,
  stratifiedSplit,
  loadBatch,
  augmentFor,
  type AugmentOptions,
  type Dataset,
  type EpochRecord,
  type FitSettings,
  type FitState,
  type StepProgress,
  type Task,
  type TrainableOptions,
  type Net,
  type BatchSource,
  vitNet,
  type OptimizerState,
} from '../train/index.js';
import { Tensor, linear, type TypedArray } from '../tensor/index.js';
import { noGrad } from '../autograd/index.js';

export interface TrainRunOptions extends Partial<FitSettings> {
  /** the run folder */
  out: string;
  /** held-out share, split per class (default 0.15) */
  val?: number;
  /** go on from out/checkpoint.safetensors (the settings must be the run's) */
  resume?: boolean;
  /** augmentation of training images (default: flips and crops for classes, none for regression) */
  augment?: AugmentOptions;
  onStep?: (p: StepProgress) => void;
  onEpoch?: (r: EpochRecord) => void;
  /** train-head: images whose features are computed so far */
  onFeatures?: (done: number, total: number) => void;
  /** the command line, for run.json and the folder's README */
  command?: string;
}

export const TRAIN_RUN_DEFAULTS = { val: 0.15 } as const;

export interface TrainRunResult {
  model: ViT;
  history: EpochRecord[];
  out: string;
}

const CHECKPOINT = 'checkpoint.safetensors';
const FEATURES = 'features.safetensors';

/** The head's output names: the classes, or the regression targets' columns. */
const outputNames = (task: Task): string[] => (task.kind === 'classification' ? [...task.classes] : [...task.targets]);

function taskOf(data: Dataset): Task {
  if (data.kind === 'classification') return { kind: 'classification', classes: data.classes ?? [] };
  return { kind: 'regression', targets: data.targetNames ?? [] };
}

/** What run.json must agree on for a resume to repeat the run exactly. */
interface RunRecord {
  kind: 'train' | 'finetune' | 'train-head';
  settings: FitSettings;
  val: number;
  trained: string[];
  task: Task;
  items: number;
  base: string;
  command?: string;
}

const stable = (v: unknown): string => JSON.stringify(v);

function encodeCheckpoint(s: FitState): Uint8Array {
  const tensors: Record<string, F32TensorRecord> = {};
  const f32 = (a: TypedArray) => (a instanceof Float32Array ? a : Float32Array.from(a));
  for (const [n, d] of s.params) tensors[`param/${n}`] = { dtype: 'F32', shape: [d.length], data: f32(d) };
  const steps: Record<string, number> = {};
  for (const [n, e] of Object.entries(s.optimizer.params)) {
    steps[n] = e.steps;
    for (const [b, a] of Object.entries(e.buffers)) tensors[`opt/${n}/${b}`] = { dtype: 'F32', shape: [a.length], data: f32(a) };
  }
  const meta = { epoch: s.epoch, step: s.step, optimizer: s.optimizer.kind, steps, history: s.history };
  return writeSafetensors(tensors, { cdam_checkpoint: JSON.stringify(meta) });
}

function decodeCheckpoint(bytes: Uint8Array, name: string): FitState {
  const f = openSafetensors(bufferSource(bytes, name));
  try {
    const raw = f.metadata['cdam_checkpoint'];
    if (!raw) throw new InputError(name, `${name}: not a cdam training checkpoint (no cdam_checkpoint metadata)`);
    const meta = JSON.parse(raw) as { epoch: number; step: number; optimizer: OptimizerState['kind']; steps: Record<string, number>; history: EpochRecord[] };
    const params = new Map<string, TypedArray>();
    const opt: OptimizerState = { kind: meta.optimizer, params: {} };
    for (const n of f.names()) {
      const data = f.readF32(n);
      if (n.startsWith('param/')) params.set(n.slice(6), data);
      else if (n.startsWith('opt/')) {
        const cut = n.lastIndexOf('/');
        const p = n.slice(4, cut);
        const e = (opt.params[p] ??= { steps: meta.steps[p] ?? 0, buffers: {} });
        e.buffers[n.slice(cut + 1)] = data;
      }
    }
    for (const [p, steps] of Object.entries(meta.steps)) opt.params[p] ??= { steps, buffers: {} };
    return { epoch: meta.epoch, step: meta.step, params, optimizer: opt, history: meta.history };
  } finally {
    f.close();
  }
}

/** The folder's README: what the model is and how it was made. */
function readme(r: RunRecord, history: EpochRecord[]): string {
  const last = history[history.length - 1];
  const score = !last
    ? 'no epoch finished yet'
    : last.accuracy !== undefined
      ? `held-out accuracy ${(last.accuracy * 100).toFixed(2)}% after epoch ${last.epoch}`
      : `held-out R^2 ${(last.r2 ?? []).map((v, i) => `${r.task.kind === 'regression' ? r.task.targets[i] : i} ${v.toFixed(3)}`).join(', ')} after epoch ${last.epoch}`;
  const outputs =
    r.task.kind === 'classification' ? `classes: ${r.task.classes.join(', ')}` : `regression targets (the outputs themselves): ${r.task.targets.join(', ')}`;
  return [
    `# A model trained with cdam (${r.kind})`,
    '',
    `- ${outputs}`,
    `- from: ${r.base}`,
    `- trained parameters: ${r.trained.length} tensors; everything is in model.safetensors (timm names), so the folder stands alone`,
    `- ${score}`,
    r.command ? `- command: \`${r.command}\`` : '',
    '',
    'Load it with `cdam classify IMAGE --model DIR`, `cdam explain IMAGE --model DIR`, or `loadViT(DIR)`.',
    'metrics.jsonl has one line per epoch; run.json the settings; split.json the held-out files; checkpoint.safetensors resumes the run (`--resume`).',
    '',
  ]
    .filter((l, i, a) => l !== '' || a[i - 1] !== '')
    .join('\n');
}

/** A batch's labels or targets, as loadBatch gives them. */
function labelsOf(data: Dataset, ix: readonly number[]): { labels?: number[]; targets?: Tensor } {
  if (data.kind === 'classification') return { labels: ix.map((i) => data.items[i]!.label!) };
  const T = data.targetNames?.length ?? 0;
  const y = new Float32Array(ix.length * T);
  ix.forEach((i, r) => y.set(data.items[i]!.targets!, r * T));
  return { targets: new Tensor(y, [ix.length, T]) };
}

/** FNV-1a over a string: what the feature cache is keyed by (the base model and every image path, in order). */
function fingerprint(text: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193) >>> 0;
  return h.toString(16).padStart(8, '0');
}

/**
 * The head's input (the normed [CLS] token) for every item, computed once in
 * batches and kept in `file`; reused when the base model and the item list
 * are the same (a resumed run), recomputed otherwise.
 */
function cachedFeatures(vit: ViT, data: Dataset, file: string, batch: number, base: string, progress?: (done: number, total: number) => void): Float32Array {
  const fs = nodeFs('train');
  const N = data.items.length;
  const D = vit.config.dim;
  const key = fingerprint(`${base}\n${vit.config.name}\n${data.items.map((it) => it.path).join('\n')}`);
  if (fs.existsSync(file)) {
    const f = openSafetensors(bufferSource(fs.readFileSync(file), file));
    try {
      if (f.metadata['cdam_features'] === key && f.has('features') && f.info('features').shape.join() === `${N},${D}`) return f.readF32('features');
    } finally {
      f.close();
    }
  }
  const out = new Float32Array(N * D);
  const cfg = vit.config.preprocess;
  for (let i = 0; i < N; i += batch) {
    const ix = Array.from({ length: Math.min(batch, N - i) }, (_, k) => i + k);
    const { images } = loadBatch(data, ix, cfg);
    out.set(noGrad(() => vit.forward(images).latent).contiguousData(), i * D);
    progress?.(Math.min(N, i + batch), N);
  }
  writeFilesAtomic([{ path: file, data: writeSafetensors({ features: { dtype: 'F32', shape: [N, D], data: out } }, { cdam_features: key }) }]);
  return out;
}

function readJsonFile(path: string): unknown {
  try {
    return JSON.parse(nodeFs('train').readFileSync(path, 'utf8'));
  } catch (e) {
    throw new InputError(path, `${path}: ${(e as Error).message}`);
  }
}

/** Train `trainOpts`'s parameters of `model` on `data`, writing the run folder `opts.out`. */
function runFolder(kind: RunRecord['kind'], model: ViT, base: string, trainOpts: TrainableOptions, data: Dataset, opts: TrainRunOptions): TrainRunResult {
  const fs = nodeFs('train');
  const path = nodePath('train');
  const settings: FitSettings = { ...FIT_DEFAULTS };
  for (const k of Object.keys(FIT_DEFAULTS) as (keyof FitSettings)[]) if (opts[k] !== undefined) (settings as unknown as Record<string, unknown>)[k] = opts[k];
  const val = opts.val ?? TRAIN_RUN_DEFAULTS.val;
  const out = opts.out;
  const task = taskOf(data);
  const { model: trainModel, params } = trainable(model, trainOpts);
  const record: RunRecord = {
    kind,
    settings,
    val,
    trained: [...params.keys()],
    task,
    items: data.items.length,
    base,
    ...(opts.command ? { command: opts.command } : {}),
  };
  const runPath = path.join(out, 'run.json');
  const ckptPath = path.join(out, CHECKPOINT);
  let resume: FitState | undefined;
  if (opts.resume) {
    if (!fs.existsSync(runPath)) throw new InputError(out, `${out}: nothing to resume (no run.json)`);
    const was = readJsonFile(runPath) as RunRecord;
    const same = (k: keyof RunRecord) => stable(was[k]) === stable(record[k]);
    const differs = (['kind', 'settings', 'val', 'trained', 'task', 'items', 'base'] as const).filter((k) => !same(k));
    if (differs.length > 0)
      throw new InputError(
        runPath,
        `${runPath}: the run was made with other ${differs.join(', ')}; resume with the same data and options, or train into a new folder`,
      );
    if (fs.existsSync(ckptPath)) resume = decodeCheckpoint(fs.readFileSync(ckptPath), ckptPath);
  } else if (fs.existsSync(out) && fs.readdirSync(out).length > 0) {
    throw new InputError(out, `${out}: the folder is not empty (add --resume to go on with its run, or give a new folder)`);
  }
  fs.mkdirSync(out, { recursive: true });
  const split = stratifiedSplit(data, val, settings.seed);
  const files = (ix: readonly number[]) => ix.map((i) => path.relative(out, data.items[i]!.path));
  writeFilesAtomic([
    { path: runPath, data: JSON.stringify(record, null, 2) + '\n' },
    { path: path.join(out, 'split.json'), data: JSON.stringify({ seed: settings.seed, val, train: files(split.train), val_files: files(split.val) }) + '\n' },
  ]);
  const augment = opts.augment ?? augmentFor(data.kind);
  const cfg = model.config.preprocess;
  let net: Net;
  let source: BatchSource;
  if (kind === 'train-head') {
    // the backbone is frozen and the images are not augmented: each image's features once, then only the head trains
    const D = trainModel.config.dim;
    const feats = cachedFeatures(trainModel, data, path.join(out, FEATURES), settings.batch, base, opts.onFeatures);
    const head = trainModel.params.head!;
    net = { outputs: (x) => linear(x, head.weight, head.bias) };
    source = {
      train: split.train,
      val: split.val,
      load: (ix) => {
        const x = new Float32Array(ix.length * D);
        ix.forEach((i, r) => x.set(feats.subarray(i * D, (i + 1) * D), r * D));
        return { images: new Tensor(x, [ix.length, D]), ...labelsOf(data, ix) };
      },
    };
  } else {
    net = vitNet(trainModel);
    source = {
      train: split.train,
      val: split.val,
      load: (ix, training) => loadBatch(data, ix, cfg, training ? { augment, next: training.next } : {}),
    };
  }
  const save = (history: EpochRecord[], state: FitState) => {
    const tensors: Record<string, F32TensorRecord> = {};
    for (const [n, t] of namedParams(trainModel)) tensors[n] = { dtype: 'F32', shape: [...t.shape], data: Float32Array.from(t.contiguousData()) };
    const config = timmConfigOf(trainModel);
    writeFilesAtomic([
      { path: path.join(out, 'model.safetensors'), data: writeSafetensors(tensors) },
      { path: path.join(out, 'config.json'), data: JSON.stringify(config, null, 2) + '\n' },
      { path: path.join(out, 'metrics.jsonl'), data: history.map((h) => JSON.stringify(h)).join('\n') + '\n' },
      { path: ckptPath, data: encodeCheckpoint(state) },
      { path: path.join(out, 'README.md'), data: readme(record, history) },
    ]);
  };
  const history = fit(net, params, task, source, settings, {
    ...(resume ? { resume } : {}),
    ...(opts.onStep ? { onStep: opts.onStep } : {}),
    onEpoch: (r, state) => {
      const s = state();
      save(s.history, s);
      opts.onEpoch?.(r);
    },
  });
  return { model: trainModel, history, out };
}

export interface TrainOptions extends TrainRunOptions {
  /** the architecture (an object, or the path of a JSON file) */
  arch: Architecture | string;
}

/** A ViT trained from scratch on `data` (cdam train). */
export function train(data: Dataset, opts: TrainOptions): TrainRunResult {
  const file = typeof opts.arch === 'string' ? opts.arch : 'architecture';
  const arch = parseArchitecture(typeof opts.arch === 'string' ? readJsonFile(opts.arch) : opts.arch, file);
  const task = taskOf(data);
  const labels = outputNames(task);
  const outputs = labels.length;
  const model = initViT(arch, outputs, { seed: opts.seed ?? FIT_DEFAULTS.seed, labels, task: task.kind });
  return runFolder('train', model, `a new ${model.config.name} (${file}), seed ${opts.seed ?? FIT_DEFAULTS.seed}`, {}, data, opts);
}

/** `model` with a new head of one output per class or target of `data` (finetune and train-head). */
function withHeadFor(data: Dataset, model: ViT, seed: number): ViT {
  const task = taskOf(data);
  const labels = outputNames(task);
  return withNewHead(model, labels.length, labels, seed, task.kind);
}

export interface FinetuneOptions extends TrainRunOptions {
  /** blocks to train, counted from the last (all: every parameter); the final norm and the new head always train */
  trainBlocks: number | 'all';
  /** what the base model is, for run.json and the README (a path or a name) */
  base?: string;
}

/** `model` with a new head for `data`'s classes or targets, its last blocks trained (cdam finetune). */
export function finetune(data: Dataset, model: ViT, opts: FinetuneOptions): TrainRunResult {
  const fresh = withHeadFor(data, model, opts.seed ?? FIT_DEFAULTS.seed);
  const patterns = opts.trainBlocks === 'all' ? undefined : lastBlocks(model.config.depth, opts.trainBlocks);
  return runFolder('finetune', fresh, opts.base ?? model.config.name, patterns ? { train: patterns } : {}, data, opts);
}

export interface TrainHeadOptions extends TrainRunOptions {
  /** what the base model is, for run.json and the README (a path or a name) */
  base?: string;
}

/**
 * A new linear head on `model`'s frozen backbone (cdam train-head), as the
 * paper did on DINO: every image's features are computed once (one batched
 * forward, cached in out/features.safetensors), then only the head trains.
 */
export function trainHead(data: Dataset, model: ViT, opts: TrainHeadOptions): TrainRunResult {
  const fresh = withHeadFor(data, model, opts.seed ?? FIT_DEFAULTS.seed);
  return runFolder('train-head', fresh, opts.base ?? model.config.name, { train: ['head.*'] }, data, opts);
}
