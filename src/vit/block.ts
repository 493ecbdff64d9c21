// One pre-norm transformer block, timm semantics:
//   T = LN1(X);  Y = X + ls1 * Attn(T);  X' = Y + ls2 * MLP(LN2(Y))
// Split so that callers (CDAM) can get hold of T, the normed tokens that enter
// attention, and differentiate with respect to it.

import {
  Tensor,
  add,
  mul,
  max,
  linear,
  linearGelu,
  linearGeluLinear,
  layerNormAffine,
  reshape,
  permute,
  select,
  slice,
  gather,
  matmul,
  transpose,
  softmax,
  attentionForward,
  attentionOutput,
  allocate,
} from '../tensor/index.js';

export interface LinearParams {
  weight: Tensor; // [out, in]
  bias: Tensor | null;
}

export interface NormParams {
  weight: Tensor;
  bias: Tensor | null;
  eps: number;
}

export interface BlockParams {
  norm1: NormParams;
  /** fused q|k|v projection, weight [3D, D] (rows q, then k, then v) */
  qkv: LinearParams;
  proj: LinearParams;
  norm2: NormParams;
  fc1: LinearParams;
  fc2: LinearParams;
  /** LayerScale gammas [D], when the model has them */
  ls1: Tensor | null;
  ls2: Tensor | null;
  heads: number;
  /** test-time register: the register neurons of this block's MLP (ViT.withTestTimeRegister) */
  registerNeurons?: RegisterNeurons;
  /** training: dropout after the attention's output projection and in the MLP (ViT.withDropout) */
  dropout?: Dropout;
}

/**
 * Dropout as timm places it with drop_rate (proj_drop, mlp.drop1, mlp.drop2):
 * each kept entry scaled by 1 / (1 - rate). The masks come from `next`, a
 * seeded uniform stream, entry by entry in row-major order.
 */
export interface Dropout {
  rate: number;
  next: () => number;
}

/** x times a fresh constant mask (0, or 1 / (1 - rate)): the gradient is the mul rule's. */
export function dropout(x: Tensor, d: Dropout | undefined): Tensor {
  if (!d || d.rate === 0) return x;
  const keep = 1 / (1 - d.rate);
  const m = allocate(x.dtype, x.size);
  for (let i = 0; i < m.length; i++) m[i] = d.next() < d.rate ? 0 : keep;
  return mul(x, new Tensor(m, x.shape));
}

/**
 * The intervention of Jiang et al. ("Vision Transformers Don't Need Trained
 * Registers", NeurIPS 2025; their hook_fn.activate_on_registers with its
 * defaults scale = 1, normal_values = "zero"), on the MLP's hidden
 * activations after GELU: the register token gets, at every register neuron,
 * the signed max (the entry of largest magnitude) over every token and every
 * register neuron of the block; every other token but [CLS] (row 0) gets 0 at
 * those neurons.
 */
export interface RegisterNeurons {
  /** hidden units of fc1 (indices into the MLP's hidden layer) */
  neurons: readonly number[];
  /** the register token's row */
  token: number;
  /** multiplier of the max at the register token (theirs: 1) */
  scale: number;
}

export const norm = (x: Tensor, p: NormParams): Tensor => layerNormAffine(x, p.weight, p.bias, p.eps);
export const dense = (x: Tensor, p: LinearParams): Tensor => linear(x, p.weight, p.bias);

export interface AttentionResult {
  out: Tensor; // [B, N, D] after the output projection (plus the residual, when given)
  attn: Tensor; // [B, H, N, N] softmax probabilities
}

/**
 * Multi-head self-attention on normed tokens t [B, N, D]: the attention
 * primitive (one fused kernel call forward, one backward). A
 * `residual` is added in the output projection's own call. The returned
 * probabilities carry no gradient; use attentionComposite to differentiate
 * with respect to them.
 */
export function attention(t: Tensor, p: BlockParams, residual?: Tensor): AttentionResult {
  const { out: o, attn } = attentionForward(dense(t, p.qkv), p.heads);
  return { out: linear(o, p.proj.weight, p.proj.bias, residual), attn };
}

/** The same attention from primitives (matmul, softmax, permute): slower, but the probabilities are differentiable. */
export function attentionComposite(t: Tensor, p: BlockParams, residual?: Tensor): AttentionResult {
  const [b, n, d] = t.shape as [number, number, number];
  const h = p.heads;
  const hd = d / h;
  const qkv = permute(reshape(dense(t, p.qkv), [b, n, 3, h, hd]), [2, 0, 3, 1, 4]); // [3, B, H, N, hd]
  const q = select(qkv, 0, 0);
  const k = select(qkv, 0, 1);
  const v = select(qkv, 0, 2);
  // scaling q (N x hd) is cheaper than scaling the N x N scores
  const attn = softmax(matmul(mul(q, 1 / Math.sqrt(hd)), transpose(k)));
  const o = reshape(permute(matmul(attn, v), [0, 2, 1, 3]), [b, n, d]);
  return { out: linear(o, p.proj.weight, p.proj.bias, residual), attn };
}

/**
 * fc2(gelu(fc1(x))), plus `residual` in the same fc2 call when given. A block
 * with register neurons or dropout never takes the fused one-call kernel: its
 * hidden layer is made (fc1 + GELU in one call), changed by the intervention
 * and the dropout, then fed to fc2, with or without a tape.
 */
export function mlp(x: Tensor, p: BlockParams, residual?: Tensor): Tensor {
  if (!p.registerNeurons && !p.dropout) return linearGeluLinear(x, p.fc1.weight, p.fc1.bias, p.fc2.weight, p.fc2.bias, residual);
  const hidden = dropout(interveneHidden(linearGelu(x, p.fc1.weight, p.fc1.bias), p), p.dropout);
  return linear(hidden, p.fc2.weight, p.fc2.bias, residual);
}

/** The hidden activations h [B, R, hidden] after the block's intervention (h itself when it has none). */
export function interveneHidden(h: Tensor, p: BlockParams): Tensor {
  return p.registerNeurons ? registerIntervention(h, p.registerNeurons) : h;
}

const maskCache = new Map<string, { keep: Tensor; place: Tensor }>();

/** The constant masks of an intervention on `rows` rows: keep (0 at the zeroed entries) and place (1 at the register token's neurons). */
function interventionMasks(s: RegisterNeurons, rows: number, hidden: number, dtype: Tensor['dtype']) {
  const key = `${rows}|${hidden}|${dtype}|${s.token}|${s.neurons.join(',')}`;
  let m = maskCache.get(key);
  if (!m) {
    const keep = allocate(dtype, rows * hidden).fill(1);
    const place = allocate(dtype, rows * hidden);
    for (let t = 1; t < rows; t++) for (const j of s.neurons) keep[t * hidden + j] = 0;
    if (s.token < rows) for (const j of s.neurons) place[s.token * hidden + j] = 1;
    m = { keep: new Tensor(keep, [rows, hidden]), place: new Tensor(place, [rows, hidden]) };
    if (maskCache.size > 64) maskCache.clear();
    maskCache.set(key, m);
  }
  return m;
}

/**
 * The register-neuron intervention on hidden activations h [B, R, hidden],
 * from primitives, so that it is differentiable exactly as PyTorch's autograd
 * treats their in-place hook: the overwritten entries pass no gradient, the
 * register token's entries pass theirs to the entry that attained the signed
 * max (shared equally among ties, as torch.max / torch.min do). Each image of
 * the batch takes its own max (their hook handles batch element 0 only). The
 * rows are the first R tokens; in read-out mode (R smaller than the register
 * token's row) only the zeroing applies, as the register row is not computed.
 */
export function registerIntervention(h: Tensor, s: RegisterNeurons): Tensor {
  if (h.rank !== 3) throw new Error(`register neurons: expected hidden activations [B, N, hidden], got [${h.shape}]`);
  const [b, rows, hidden] = h.shape as [number, number, number];
  for (const j of s.neurons)
    if (!Number.isInteger(j) || j < 0 || j >= hidden) throw new Error(`register neuron ${j} is out of range for an MLP of ${hidden} hidden units`);
  const { keep, place } = interventionMasks(s, rows, hidden, h.dtype);
  const kept = mul(h, keep);
  if (s.token >= rows) return kept;
  // signed max per image: the sign of the entry of largest magnitude (ties go to the minimum, as in their sign_max)
  const g = gather(h, 2, s.neurons); // [B, R, |J|]
  const G = g.contiguousData();
  const per = rows * s.neurons.length;
  const unit = allocate(h.dtype, b);
  for (let i = 0; i < b; i++) {
    let hi = -Infinity;
    let lo = Infinity;
    for (let k = i * per; k < (i + 1) * per; k++) {
      const v = G[k]!;
      if (v > hi) hi = v;
      if (v < lo) lo = v;
    }
    unit[i] = Math.abs(hi) > Math.abs(lo) ? 1 : -1;
  }
  // sign_max = u max(u g) with u = +1 (the max) or -1 (the min)
  const u = new Tensor(unit, [b, 1, 1]);
  const m = mul(mul(max(mul(g, u), [1, 2], true), u), s.scale); // [B, 1, 1]
  return add(kept, mul(m, place));
}

export interface BlockResult {
  out: Tensor;
  attn: Tensor;
}

/** The rest of the block once T = LN1(X) is known: the attention branch reads T, the residual reads X. */
export function blockFromNormed(x: Tensor, t: Tensor, p: BlockParams, attend: typeof attention = attention): BlockResult {
  const a = attend(t, p, residualFused(p, p.ls1) ? x : undefined);
  return { out: afterAttention(x, a.out, p), attn: a.attn };
}

/** LayerScale (ls1, ls2) and dropout sit between a branch and its residual: then the add cannot ride in the branch's last linear call. */
const residualFused = (p: BlockParams, ls: Tensor | null): boolean => !ls && !p.dropout;

/** A branch's output on its way to the residual: dropout, then LayerScale. */
const branch = (a: Tensor, p: BlockParams, ls: Tensor | null): Tensor => {
  const d = dropout(a, p.dropout);
  return ls ? mul(d, ls) : d;
};

/** Attention output (with the residual already in when residualFused) -> the block's output. */
function afterAttention(x: Tensor, a: Tensor, p: BlockParams): Tensor {
  const y = residualFused(p, p.ls1) ? a : add(x, branch(a, p, p.ls1));
  return residualFused(p, p.ls2) ? mlp(norm(y, p.norm2), p, y) : add(y, branch(mlp(norm(y, p.norm2), p), p, p.ls2));
}

/**
 * The block after its attention heads: output projection, residual, MLP.
 * x: the residual rows [B, R, D]; merged: the attention output of the same rows [B, R, D].
 */
export function blockTail(x: Tensor, merged: Tensor, p: BlockParams): Tensor {
  return afterAttention(x, linear(merged, p.proj.weight, p.proj.bias, residualFused(p, p.ls1) ? x : undefined), p);
}

export function block(x: Tensor, p: BlockParams): BlockResult {
  return blockFromNormed(x, norm(x, p.norm1), p);
}

/** The block with its attention probabilities on the tape (composite attention), for methods that differentiate them. */
export function blockTraced(x: Tensor, p: BlockParams): BlockResult {
  return blockFromNormed(x, norm(x, p.norm1), p, attentionComposite);
}

/** The block's output alone: its attention maps are not kept (nor copied out of the kernel when nothing is recorded). */
export function blockOutput(x: Tensor, p: BlockParams): Tensor {
  return blockTail(x, attentionOutput(dense(norm(x, p.norm1), p.qkv), p.heads), p);
}

// ---------------------------------------------------------------------------
// Read-out mode: when only the first `rows` output rows are read (the head
// reads [CLS], and the distillation token for DeiT-distilled), the block needs
// queries, residual and MLP for those rows only, and keys and values for every
// token. Gradients with respect to T are exactly those of the full block.

/** The read-out attention, from primitives (so its maps are differentiable). */
export interface ReadoutParts {
  /** queries of the read-out rows [B, H, R, hd] */
  q: Tensor;
  /** keys and values of every token [B, H, N, hd] */
  k: Tensor;
  v: Tensor;
  /** attention of the read-out rows [B, H, R, N] */
  attn: Tensor;
  /** attention output of the read-out rows, per head [B, H, R, hd] */
  o: Tensor;
}

/**
 * Attention of the first `rows` query rows over every token, from the normed
 * tokens t [B, N, D]. `scoreBias` [N] is added to the scaled scores (an
 * attention mask: -Infinity removes a key), e.g. for the appendix's
 * zero-attention check.
 */
export function readoutAttention(t: Tensor, p: BlockParams, rows: number, scoreBias?: Tensor): ReadoutParts {
  const [b, n, d] = t.shape as [number, number, number];
  const h = p.heads;
  const hd = d / h;
  const w = p.qkv.weight;
  const bias = p.qkv.bias;
  // q for the read-out rows only; k and v for all tokens (row blocks of the fused weight)
  const qLin = linear(slice(t, [0, 0], [b, rows]), slice(w, [0], [d]), bias ? slice(bias, [0], [d]) : null);
  const kvLin = linear(t, slice(w, [d], [3 * d]), bias ? slice(bias, [d], [3 * d]) : null);
  const q = permute(reshape(qLin, [b, rows, h, hd]), [0, 2, 1, 3]);
  const kv = permute(reshape(kvLin, [b, n, 2, h, hd]), [2, 0, 3, 1, 4]);
  const k = select(kv, 0, 0);
  const v = select(kv, 0, 1);
  const scores = matmul(mul(q, 1 / Math.sqrt(hd)), transpose(k));
  const attn = softmax(scoreBias ? add(scores, scoreBias) : scores);
  return { q, k, v, attn, o: matmul(attn, v) };
}

/** Per-head outputs [B, H, R, hd] -> merged [B, R, H * hd]. */
export function mergeHeads(o: Tensor): Tensor {
  const [b, h, rows, hd] = o.shape as [number, number, number, number];
  return reshape(permute(o, [0, 2, 1, 3]), [b, rows, h * hd]);
}

/** The block's read-out rows [B, R, D] from its input x and the per-head attention output o [B, H, R, hd] of those rows. */
export function readoutTail(x: Tensor, o: Tensor, p: BlockParams): Tensor {
  return blockTail(slice(x, [0, 0], [x.shape[0]!, o.shape[2]!]), mergeHeads(o), p);
}
