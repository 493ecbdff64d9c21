// Optimizers over named parameters, as torch.optim defines them: SGD (momentum,
// dampening, Nesterov, L2 weight decay) and AdamW (decoupled weight decay, bias
// correction). The state has the parameter's dtype (float32 for float32
// parameters, as torch keeps it); each element's update is computed in float64
// and stored once. Also: global-norm gradient clipping and a warm-up + cosine
// learning-rate schedule.

import { grad } from '../autograd/index.js';
import { Tensor, allocate, fromData, isFrozen, type TypedArray } from '../tensor/index.js';

/** Parameters by name. Each is updated in place: its data array must be its own (not a view into another's) and not frozen. */
export type Params = ReadonlyMap<string, Tensor> | Readonly<Record<string, Tensor>>;
/** Gradients by parameter name; a parameter without one is skipped by a step (as torch skips `p.grad is None`). */
export type Grads = Map<string, Tensor>;

/** One group of parameters that share a weight decay (and optionally scale the learning rate). */
export interface ParamGroup {
  names: readonly string[];
  weightDecay: number;
  /** multiplies the step's learning rate for this group (1 when omitted) */
  lrScale?: number;
}

const isMap = (p: Params): p is ReadonlyMap<string, Tensor> => p instanceof Map;

function entries(params: Params): [string, Tensor][] {
  return isMap(params) ? [...params.entries()] : Object.entries(params);
}

/**
 * The parameters weight decay should not touch, by name: biases (`bias`,
 * `*.bias`), normalisation weights (any name with `norm` in a part, such as
 * `norm1.weight`, `fc_norm.weight`, `layernorm_before.weight`), LayerScale
 * gammas (`*.gamma`, `*.lambda1`), position embeddings (`pos_embed`,
 * `position_embeddings`, `pos_embedding`) and prefix tokens (`cls_token`,
 * `class_token`, `dist_token`, `reg_token`, `register_tokens`, `mask_token`).
 */
export function isNoDecay(name: string): boolean {
  const parts = name.split('.');
  const last = parts[parts.length - 1]!;
  if (last === 'bias' || last === 'gamma' || last === 'lambda1' || last === 'lambda2') return true;
  if (parts.some((p) => /norm/i.test(p))) return true;
  return parts.some((p) => /^(pos_embed|position_embeddings|pos_embedding|cls_token|class_token|dist_token|reg_token|register_tokens|mask_token)$/.test(p));
}

/** Two groups: every parameter `noDecay` rejects gets `weightDecay`, the rest 0 (empty groups are dropped). */
export function paramGroups(params: Params, weightDecay: number, noDecay: (name: string, t: Tensor) => boolean = isNoDecay): ParamGroup[] {
  const decay: string[] = [];
  const plain: string[] = [];
  for (const [n, t] of entries(params)) (noDecay(n, t) ? plain : decay).push(n);
  return [
    { names: decay, weightDecay },
    { names: plain, weightDecay: 0 },
  ].filter((g) => g.names.length > 0);
}

/** The gradients of a scalar loss with respect to every parameter, by name. */
export function gradients(loss: Tensor, params: Params): Grads {
  const es = entries(params);
  const gs = grad(
    loss,
    es.map(([, t]) => t),
  );
  return new Map(es.map(([n], i) => [n, gs[i]!]));
}

/**
 * Scale every gradient by min(1, maxNorm / (norm + 1e-6)), where norm is the
 * L2 norm of all gradients together (torch.nn.utils.clip_grad_norm_). When that
 * clips, the map's entries are replaced by scaled dense copies (gradients may
 * share storage); the norm before clipping is returned.
 */
export function clipGradNorm(grads: Grads, maxNorm: number): number {
  let sq = 0;
  for (const g of grads.values()) for (const v of g.contiguousData()) sq += v * v;
  const norm = Math.sqrt(sq);
  const coef = Math.min(1, maxNorm / (norm + 1e-6));
  // torch multiplies by the clamped coefficient; at 1 that changes nothing, so no copies
  if (coef === 1) return norm;
  for (const [n, g] of grads) {
    const src = g.contiguousData();
    const out = allocate(g.dtype, g.size);
    for (let i = 0; i < out.length; i++) out[i] = src[i]! * coef;
    grads.set(n, fromData(out, g.shape));
  }
  return norm;
}

export interface WarmupCosine {
  /** steps of linear warm-up from 0 to `base` */
  warmup: number;
  /** the step at which the cosine reaches `min` (and stays) */
  total: number;
  base: number;
  min: number;
}

/**
 * The learning rate at `step` (0-based): base * step / warmup during the
 * warm-up, then min + (base - min) (1 + cos(pi p)) / 2 with p = (step - warmup)
 * / (total - warmup), and min from `total` on.
 */
export function warmupCosine(step: number, s: WarmupCosine): number {
  if (step < s.warmup) return (s.base * step) / s.warmup;
  if (step >= s.total) return s.min;
  const p = (step - s.warmup) / (s.total - s.warmup);
  return s.min + ((s.base - s.min) * (1 + Math.cos(Math.PI * p))) / 2;
}

export abstract class Optimizer {
  readonly params: Map<string, Tensor>;
  readonly groups: readonly ParamGroup[];
  private readonly decayOf = new Map<string, { weightDecay: number; lrScale: number }>();

  constructor(params: Params, groups: readonly ParamGroup[] | undefined, weightDecay: number) {
    this.params = new Map(entries(params));
    this.groups = groups ?? [{ names: [...this.params.keys()], weightDecay }];
    for (const g of this.groups) {
      for (const n of g.names) {
        const t = this.params.get(n);
        if (!t) throw new Error(`param group names ${n}, which is not a parameter`);
        if (this.decayOf.has(n)) throw new Error(`parameter ${n} is in two param groups`);
        if (isFrozen(t)) throw new Error(`parameter ${n} is frozen: optimizers write to it; give it a fresh copy`);
        if (!t.isContiguous()) throw new Error(`parameter ${n} is not contiguous`);
        this.decayOf.set(n, { weightDecay: g.weightDecay, lrScale: g.lrScale ?? 1 });
      }
    }
    for (const n of this.params.keys()) if (!this.decayOf.has(n)) throw new Error(`parameter ${n} is in no param group`);
  }

  /** One update with learning rate `lr` from `grads` (names absent from it are skipped). */
  step(grads: Grads, lr: number): void {
    for (const [n, t] of this.params) {
      const g = grads.get(n);
      if (!g) continue;
      if (g.size !== t.size) throw new Error(`gradient of ${n} has shape [${g.shape}], the parameter [${t.shape}]`);
      const { weightDecay, lrScale } = this.decayOf.get(n)!;
      const p = t.data.subarray(t.offset, t.offset + t.size);
      this.update(n, p, g.contiguousData(), lr * lrScale, weightDecay);
    }
  }

  protected abstract update(name: string, p: TypedArray, g: TypedArray, lr: number, weightDecay: number): void;

  /** The state to checkpoint: per parameter, its step count and buffers (the live arrays: copy or write them out before the next step). */
  abstract exportState(): OptimizerState;
  /** Restore exportState()'s output (buffers are copied); every named parameter must exist with the same size. */
  abstract importState(s: OptimizerState): void;

  protected checkState(s: OptimizerState, kind: OptimizerState['kind'], buffers: readonly string[]): void {
    if (s.kind !== kind) throw new Error(`optimizer state is ${s.kind}'s, this optimizer is ${kind}`);
    for (const [n, e] of Object.entries(s.params)) {
      const t = this.params.get(n);
      if (!t) throw new Error(`optimizer state names parameter ${n}, which this optimizer does not have`);
      for (const b of buffers) {
        const a = e.buffers[b];
        if (!a || a.length !== t.size) throw new Error(`optimizer state of ${n}: buffer "${b}" is missing or has the wrong size`);
      }
    }
  }
}

/** An optimizer's checkpointable state: per parameter name, steps taken and named buffers. */
export interface OptimizerState {
  kind: 'sgd' | 'adamw';
  params: Record<string, { steps: number; buffers: Record<string, TypedArray> }>;
}

const copyOf = (a: TypedArray): TypedArray => {
  const c = allocate(a instanceof Float64Array ? 'float64' : 'float32', a.length);
  c.set(a);
  return c;
};

export interface SGDOptions {
  momentum?: number;
  dampening?: number;
  nesterov?: boolean;
  /** L2 penalty added to the gradient (torch's SGD weight_decay); per group when `groups` is given */
  weightDecay?: number;
  groups?: readonly ParamGroup[];
}

/**
 * torch.optim.SGD: d = g + wd p; with momentum, b = d on the first step, then
 * b = momentum b + (1 - dampening) d; d = nesterov ? d + momentum b : b; p -= lr d.
 */
export class SGD extends Optimizer {
  private readonly momentum: number;
  private readonly dampening: number;
  private readonly nesterov: boolean;
  private readonly buffers = new Map<string, TypedArray>();
  private readonly steps = new Map<string, number>();

  constructor(params: Params, opts: SGDOptions = {}) {
    super(params, opts.groups, opts.weightDecay ?? 0);
    this.momentum = opts.momentum ?? 0;
    this.dampening = opts.dampening ?? 0;
    this.nesterov = opts.nesterov ?? false;
    if (this.nesterov && (this.momentum <= 0 || this.dampening !== 0)) throw new Error('Nesterov momentum requires a momentum and zero dampening');
  }

  exportState(): OptimizerState {
    const params: OptimizerState['params'] = {};
    for (const [n, steps] of this.steps) {
      const b = this.buffers.get(n);
      params[n] = { steps, buffers: b ? { momentum: b } : {} };
    }
    return { kind: 'sgd', params };
  }

  importState(s: OptimizerState): void {
    this.checkState(s, 'sgd', this.momentum !== 0 ? ['momentum'] : []);
    this.buffers.clear();
    this.steps.clear();
    for (const [n, e] of Object.entries(s.params)) {
      this.steps.set(n, e.steps);
      const b = e.buffers['momentum'];
      if (b && this.momentum !== 0) this.buffers.set(n, copyOf(b));
    }
  }

  protected update(name: string, p: TypedArray, g: TypedArray, lr: number, wd: number): void {
    this.steps.set(name, (this.steps.get(name) ?? 0) + 1);
    const mu = this.momentum;
    let buf = this.buffers.get(name);
    const first = !buf;
    if (mu !== 0 && !buf) {
      buf = allocate(p instanceof Float64Array ? 'float64' : 'float32', p.length);
      this.buffers.set(name, buf);
    }
    for (let i = 0; i < p.length; i++) {
      let d = wd !== 0 ? g[i]! + wd * p[i]! : g[i]!;
      if (buf) {
        buf[i] = first ? d : mu * buf[i]! + (1 - this.dampening) * d;
        d = this.nesterov ? d + mu * buf[i]! : buf[i]!;
      }
      p[i] = p[i]! - lr * d;
    }
  }
}

export interface AdamWOptions {
  betas?: readonly [number, number];
  eps?: number;
  /** decoupled weight decay (torch's AdamW default 0.01); per group when `groups` is given */
  weightDecay?: number;
  groups?: readonly ParamGroup[];
}

/**
 * torch.optim.AdamW: p *= 1 - lr wd; m = b1 m + (1 - b1) g; v = b2 v + (1 - b2) g^2;
 * p -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps), t counted per parameter.
 */
export class AdamW extends Optimizer {
  private readonly b1: number;
  private readonly b2: number;
  private readonly eps: number;
  private readonly state = new Map<string, { t: number; m: TypedArray; v: TypedArray }>();

  constructor(params: Params, opts: AdamWOptions = {}) {
    super(params, opts.groups, opts.weightDecay ?? 0.01);
    [this.b1, this.b2] = opts.betas ?? [0.9, 0.999];
    this.eps = opts.eps ?? 1e-8;
  }

  /** The number of steps parameter `name` has taken. */
  stepsOf(name: string): number {
    return this.state.get(name)?.t ?? 0;
  }

  exportState(): OptimizerState {
    const params: OptimizerState['params'] = {};
    for (const [n, e] of this.state) params[n] = { steps: e.t, buffers: { exp_avg: e.m, exp_avg_sq: e.v } };
    return { kind: 'adamw', params };
  }

  importState(s: OptimizerState): void {
    this.checkState(s, 'adamw', ['exp_avg', 'exp_avg_sq']);
    this.state.clear();
    for (const [n, e] of Object.entries(s.params)) this.state.set(n, { t: e.steps, m: copyOf(e.buffers['exp_avg']!), v: copyOf(e.buffers['exp_avg_sq']!) });
  }

  protected update(name: string, p: TypedArray, g: TypedArray, lr: number, wd: number): void {
    let s = this.state.get(name);
    if (!s) {
      const dtype = p instanceof Float64Array ? 'float64' : 'float32';
      s = { t: 0, m: allocate(dtype, p.length), v: allocate(dtype, p.length) };
      this.state.set(name, s);
    }
    s.t++;
    const { b1, b2, eps } = this;
    const stepSize = lr / (1 - b1 ** s.t);
    const bc2Sqrt = Math.sqrt(1 - b2 ** s.t);
    const decay = 1 - lr * wd;
    const { m, v } = s;
    for (let i = 0; i < p.length; i++) {
      const gi = g[i]!;
      m[i] = b1 * m[i]! + (1 - b1) * gi;
      v[i] = b2 * v[i]! + (1 - b2) * gi * gi;
      p[i] = p[i]! * decay - (stepSize * m[i]!) / (Math.sqrt(v[i]!) / bc2Sqrt + eps);
    }
  }
}
