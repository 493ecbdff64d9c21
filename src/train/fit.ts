// The training loop: epochs of seeded mini-batches, AdamW or SGD with warm-up
// + cosine and global-norm clipping, dropout in training only, and the
// held-out metrics after each epoch. Every random draw (data order,
// augmentation, dropout) comes from a stream seeded by (seed, epoch), so a run
// resumed from an epoch's checkpoint repeats exactly what an unbroken run does.

import { noGrad, enableGrad } from '../autograd/index.js';
import { Tensor, rng, type TypedArray } from '../tensor/index.js';
import type { ViT } from '../vit/model.js';
import type { Dropout } from '../vit/block.js';
import { AdamW, SGD, clipGradNorm, gradients, paramGroups, warmupCosine, type Optimizer, type OptimizerState } from './optim.js';
import { crossEntropy, huber, mse } from './losses.js';
import { epochOrder } from './split.js';
import type { Batch } from './batch.js';

/** What the model's outputs mean: classes (logits) or named regression targets (the outputs themselves). */
export type Task = { kind: 'classification'; classes: readonly string[] } | { kind: 'regression'; targets: readonly string[] };

/** The data a run trains on: item indices of each split, and a loader of batches. */
export interface BatchSource {
  train: readonly number[];
  val: readonly number[];
  /** Items `indices` as one batch; in training, augmented with draws from `next`. */
  load(indices: readonly number[], training: { next: () => number } | null): Batch;
}

export interface FitSettings {
  epochs: number;
  batch: number;
  optimizer: 'adamw' | 'sgd';
  /** peak learning rate, reached after the warm-up */
  lr: number;
  /** the cosine's floor */
  minLr: number;
  /** warm-up length in epochs (fractions allowed; counted in steps) */
  warmupEpochs: number;
  weightDecay: number;
  /** SGD momentum (Nesterov) */
  momentum: number;
  /** global-norm clipping bound; 0 for none */
  clip: number;
  /** dropout rate in the MLPs and after the attention projections */
  dropout: number;
  /** cross-entropy label smoothing (classification) */
  labelSmoothing: number;
  /** regression loss */
  regressionLoss: 'mse' | 'huber';
  seed: number;
}

/** Defaults, named once (`cdam train --help` prints them). */
export const FIT_DEFAULTS = {
  epochs: 10,
  batch: 64,
  optimizer: 'adamw',
  lr: 1e-3,
  minLr: 1e-5,
  warmupEpochs: 1,
  weightDecay: 0.05,
  momentum: 0.9,
  clip: 1,
  dropout: 0,
  labelSmoothing: 0,
  regressionLoss: 'mse',
  seed: 0,
} as const satisfies FitSettings;

/** Held-out metrics of one pass over some items. */
export interface Evaluation {
  loss: number;
  /** classification: share of items whose top class is the label */
  accuracy?: number;
  /** classification: counts[label][predicted] */
  confusion?: number[][];
  /** regression, per target: mean squared error and the coefficient of determination */
  mse?: number[];
  r2?: number[];
}

export interface EpochRecord extends Evaluation {
  epoch: number;
  /** optimizer steps taken so far */
  step: number;
  /** the mean training loss of the epoch */
  trainLoss: number;
  /** the last step's learning rate */
  lr: number;
  seconds: number;
  imagesPerSecond: number;
}

/** What a resumed run needs: the trained parameters, the optimizer's state, and where the run was. */
export interface FitState {
  /** epochs completed */
  epoch: number;
  step: number;
  params: Map<string, TypedArray>;
  optimizer: OptimizerState;
  history: EpochRecord[];
}

export interface StepProgress {
  epoch: number;
  epochs: number;
  /** step within the epoch (1-based) and the epoch's step count */
  step: number;
  steps: number;
  loss: number;
  imagesPerSecond: number;
}

export interface FitHooks {
  onStep?: (p: StepProgress) => void;
  /** after each epoch's evaluation; `state()` is the checkpoint to write */
  onEpoch?: (r: EpochRecord, state: () => FitState) => void;
  /** a checkpoint to go on from */
  resume?: FitState;
}

/** A seed for stream `stream` of epoch `epoch`: distinct streams never share a sequence start. */
export function streamSeed(seed: number, epoch: number, stream: number): number {
  let h = (seed ^ 0x9e3779b9) >>> 0;
  for (const v of [epoch, stream]) {
    h = Math.imul(h ^ (v + 0x7f4a7c15), 0x85ebca6b) >>> 0;
    h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35) >>> 0;
    h = (h ^ (h >>> 16)) >>> 0;
  }
  return h;
}

/** The loss of a batch's outputs. */
export function lossOf(out: Tensor, b: Batch, task: Task, s: Pick<FitSettings, 'labelSmoothing' | 'regressionLoss'>): Tensor {
  if (task.kind === 'classification') {
    if (!b.labels) throw new Error('a classification batch has no labels');
    return crossEntropy(out, b.labels, { labelSmoothing: s.labelSmoothing });
  }
  if (!b.targets) throw new Error('a regression batch has no targets');
  return s.regressionLoss === 'huber' ? huber(out, b.targets) : mse(out, b.targets);
}

/**
 * What fit trains: inputs to outputs, with dropout in training. A ViT (images
 * to logits or regression outputs), or a head alone over cached features
 * (train-head).
 */
export interface Net {
  outputs(input: Tensor, dropout: Dropout | null): Tensor;
}

/** A ViT as a Net: its head's outputs, with dropout in its blocks when training. */
export function vitNet(vit: ViT): Net {
  if (!vit.params.head) throw new Error('the model has no head to train');
  return {
    outputs: (images, d) => (d ? vit.withDropout(d.rate, d.next) : vit).forward(images).logits!,
  };
}

/** Loss and metrics of the model (no dropout, no gradients) over `items`, in batches. */
export function evaluate(
  net: Net,
  task: Task,
  source: BatchSource,
  items: readonly number[],
  batch: number,
  s: Pick<FitSettings, 'labelSmoothing' | 'regressionLoss'>,
): Evaluation {
  const classes = task.kind === 'classification' ? task.classes.length : 0;
  const T = task.kind === 'regression' ? task.targets.length : 0;
  const confusion = Array.from({ length: classes }, () => new Array<number>(classes).fill(0));
  let lossSum = 0;
  let correct = 0;
  const sq = new Float64Array(T);
  const sum = new Float64Array(T);
  const sum2 = new Float64Array(T);
  for (let i = 0; i < items.length; i += batch) {
    const b = source.load(items.slice(i, i + batch), null);
    const out = noGrad(() => net.outputs(b.images, null));
    const n = out.shape[0]!;
    lossSum += noGrad(() => lossOf(out, b, task, s)).item() * n;
    const o = out.contiguousData();
    if (task.kind === 'classification') {
      for (let r = 0; r < n; r++) {
        let best = 0;
        for (let c = 1; c < classes; c++) if (o[r * classes + c]! > o[r * classes + best]!) best = c;
        const y = b.labels![r]!;
        confusion[y]![best]!++;
        if (best === y) correct++;
      }
    } else {
      const y = b.targets!.contiguousData();
      for (let k = 0; k < n * T; k++) {
        const j = k % T;
        const d = o[k]! - y[k]!;
        sq[j] = sq[j]! + d * d;
        sum[j] = sum[j]! + y[k]!;
        sum2[j] = sum2[j]! + y[k]! * y[k]!;
      }
    }
  }
  const n = items.length;
  const loss = n > 0 ? lossSum / n : NaN;
  if (task.kind === 'classification') return { loss, accuracy: n > 0 ? correct / n : NaN, confusion };
  const mseOut = [...sq].map((v) => v / n);
  // R^2 = 1 - SSE / SST over the items (SST from the items' own mean)
  const r2 = [...sq].map((v, j) => 1 - v / (sum2[j]! - (sum[j]! * sum[j]!) / n));
  return { loss, mse: mseOut, r2 };
}

/** Train `params` (the trained parameters of `net`, by name) on `source`. Returns the history of every epoch. */
export function fit(net: Net, params: Map<string, Tensor>, task: Task, source: BatchSource, s: FitSettings, hooks: FitHooks = {}): EpochRecord[] {
  if (source.train.length === 0) throw new Error('the training split is empty');
  if (!(Number.isInteger(s.batch) && s.batch > 0)) throw new Error(`batch must be a positive integer, got ${s.batch}`);
  const groups = paramGroups(params, s.weightDecay);
  const opt: Optimizer = s.optimizer === 'sgd' ? new SGD(params, { momentum: s.momentum, nesterov: s.momentum > 0, groups }) : new AdamW(params, { groups });
  const steps = Math.ceil(source.train.length / s.batch);
  const total = s.epochs * steps;
  const schedule = { warmup: Math.round(s.warmupEpochs * steps), total, base: s.lr, min: s.minLr };
  let step = 0;
  let first = 0;
  const history: EpochRecord[] = [];
  if (hooks.resume) {
    const r = hooks.resume;
    for (const [n, t] of params) {
      const d = r.params.get(n);
      if (!d || d.length !== t.size) throw new Error(`the checkpoint has no parameter ${n} of ${t.size} values: it is from another model`);
      t.data.set(d, t.offset);
    }
    opt.importState(r.optimizer);
    step = r.step;
    first = r.epoch;
    history.push(...r.history);
  }
  for (let epoch = first; epoch < s.epochs; epoch++) {
    const t0 = performance.now();
    const perm = epochOrder(source.train.length, s.seed, epoch);
    const augment = rng(streamSeed(s.seed, epoch, 1));
    const drop = s.dropout > 0 ? { rate: s.dropout, next: rng(streamSeed(s.seed, epoch, 2)) } : null;
    let lossSum = 0;
    let seen = 0;
    let lr = 0;
    for (let k = 0; k < steps; k++) {
      const items = perm.slice(k * s.batch, (k + 1) * s.batch).map((i) => source.train[i]!);
      const b = source.load(items, { next: augment });
      const loss = enableGrad(() => lossOf(net.outputs(b.images, drop), b, task, s));
      const value = loss.item();
      if (!Number.isFinite(value))
        throw new Error(`the training loss is ${value} at epoch ${epoch + 1}, step ${k + 1} (learning rate ${lr}): lower --lr or raise --clip`);
      const grads = gradients(loss, params);
      if (s.clip > 0) clipGradNorm(grads, s.clip);
      lr = warmupCosine(step, schedule);
      opt.step(grads, lr);
      step++;
      lossSum += value * items.length;
      seen += items.length;
      hooks.onStep?.({ epoch: epoch + 1, epochs: s.epochs, step: k + 1, steps, loss: value, imagesPerSecond: seen / ((performance.now() - t0) / 1000) });
    }
    const trainSeconds = (performance.now() - t0) / 1000;
    const val = source.val.length > 0 ? evaluate(net, task, source, source.val, s.batch, s) : { loss: NaN };
    const record: EpochRecord = {
      epoch: epoch + 1,
      step,
      trainLoss: lossSum / seen,
      lr,
      ...val,
      seconds: (performance.now() - t0) / 1000,
      imagesPerSecond: seen / trainSeconds,
    };
    history.push(record);
    const done = epoch + 1;
    hooks.onEpoch?.(record, () => ({
      epoch: done,
      step,
      params: new Map([...params].map(([n, t]) => [n, t.contiguousData()])),
      optimizer: opt.exportState(),
      history: [...history],
    }));
  }
  return history;
}
