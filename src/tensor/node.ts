// The primitive ops and the record each leaves on the tape. The tensor layer
// only records; the gradient rules for each primitive live in src/autograd.

import type { Tensor } from './tensor.js';

/** Every primitive and its parameters. Adding a key here without a gradient rule fails to compile. */
export interface PrimParams {
  add: Record<string, never>;
  sub: Record<string, never>;
  mul: Record<string, never>;
  div: Record<string, never>;
  neg: Record<string, never>;
  exp: Record<string, never>;
  log: Record<string, never>;
  sqrt: Record<string, never>;
  tanh: Record<string, never>;
  erf: Record<string, never>;
  relu: Record<string, never>;
  /** exact-erf GELU, fused for speed */
  gelu: Record<string, never>;
  clamp: { min: number; max: number };
  /** inputs: cond (not differentiable), a, b */
  where: Record<string, never>;
  sum: { axes: number[]; keepdim: boolean };
  max: { axes: number[]; keepdim: boolean };
  /** batched, broadcasting over leading dims like torch.matmul */
  matmul: Record<string, never>;
  /** x W^T [+ b] [+ r] with W stored [out, in]; inputs x, weight[, bias][, residual r]; one kernel call */
  linear: { bias: boolean; residual: boolean };
  /** over the last axis */
  softmax: Record<string, never>;
  /**
   * multi-head self-attention from a fused projection: input qkv [B, N, 3D],
   * output the merged heads [B, N, D]; saved: the probabilities [B, H, N, N]
   * (a side output with no gradient of its own)
   */
  attention: { heads: number };
  /** (x - mean) / sqrt(var + eps) over the last axis [* weight + bias]; inputs x[, weight[, bias]]; saved rstd[, xhat] */
  layerNorm: { eps: number };
  reshape: { shape: number[] };
  permute: { perm: number[] };
  expand: { shape: number[] };
  slice: { starts: number[]; ends: number[] };
  concat: { axis: number };
  gather: { axis: number; indices: number[] };
  /** a dense copy (contiguous); identity for gradients */
  copy: Record<string, never>;
}

export type Prim = keyof PrimParams;

export interface GradNode<P extends Prim = Prim> {
  /** creation order: a valid topological order for the backward sweep */
  readonly id: number;
  readonly prim: P;
  readonly inputs: readonly Tensor[];
  readonly params: PrimParams[P];
  /** extra tensors a rule needs (e.g. layer norm's rstd) */
  readonly saved: readonly Tensor[];
  readonly output: Tensor;
}

let gradEnabled = true;
let nextId = 0;

/** Run `fn` with recording switched on or off, restoring the previous state. */
export function withGradMode<T>(enabled: boolean, fn: () => T): T {
  const prev = gradEnabled;
  gradEnabled = enabled;
  try {
    return fn();
  } finally {
    gradEnabled = prev;
  }
}

/** Whether an op on these inputs would be recorded (fused forward-only paths check this first). */
export function wouldRecord(inputs: readonly (Tensor | null | undefined)[]): boolean {
  if (!gradEnabled) return false;
  for (const t of inputs) if (t?.requiresGrad) return true;
  return false;
}

/** Attach a tape record to `out` when grad mode is on and some input requires grad. */
export function record<P extends Prim>(prim: P, inputs: readonly Tensor[], params: PrimParams[P], out: Tensor, saved: readonly Tensor[] = []): Tensor {
  if (!gradEnabled) return out;
  let any = false;
  for (const t of inputs) if (t.requiresGrad) any = true;
  if (!any) return out;
  out.requiresGrad = true;
  out.node = { id: nextId++, prim, inputs, params, saved, output: out };
  return out;
}
