// Relevance propagation (Chefer et al. 2021, generic attention-model explainability).

import { Tensor, full, fromData, matmul, permute, reshape, slice, transpose } from '../tensor/index.js';
import { grad, noGrad, enableGrad, rules, type RuleTable } from '../autograd/index.js';
import { targetScore, describeTarget, type Target } from '../cdam/target.js';
import type { Explanation } from '../cdam/explainer.js';
import { label, type BaselineInput } from './gradients.js';
import { attentionsOf, patchRow, sweepRow0 } from './attentionSweep.js';

/** dA = dO V^T per head [B, H, N, N], from the gradient dO [B, N, D] at a fused attention's output and its q|k|v [B, N, 3D]. */
function attentionGradient(e: { g: Tensor; qkv: Tensor; heads: number } | undefined): Tensor {
  if (!e) throw new Error('internal: the backward sweep did not reach a block attention');
  const [bs, n, d3] = e.qkv.shape as [number, number, number];
  const hd = d3 / 3 / e.heads;
  const v = permute(reshape(slice(e.qkv, [0, 0, (2 * d3) / 3], [bs, n, d3]), [bs, n, e.heads, hd]), [0, 2, 1, 3]);
  const dO = permute(reshape(e.g, [bs, n, e.heads, hd]), [0, 2, 1, 3]);
  return noGrad(() => matmul(dO, transpose(v)));
}

/**
 * Relevance propagation (Chefer et al. 2021, generic attention-model
 * explainability): R = I; per block R <- R + mean_h(ReLU(dA * A)) R, with dA
 * the target's gradient at the block's attention probabilities; the map is
 * R[0] over the patch tokens.
 */
export function relevance(b: BaselineInput, target: Target): Explanation {
  const { vit } = b;
  const input = fromData(Float32Array.from(b.input.contiguousData()), b.input.shape).requireGrad();
  const tr = enableGrad(() => vit.forward(input, { attentions: 'fused' }));
  const s = enableGrad(() => targetScore(target, tr.head));
  // the fused blocks: their attention rule keeps the gradient at the attention output (dO) and q|k|v
  const seen = new Map<Tensor, { g: Tensor; qkv: Tensor; heads: number }>();
  const table: RuleTable = {
    ...rules,
    attention: (g, n, needs) => {
      seen.set(n.saved[0]!, { g, qkv: n.inputs[0]!, heads: n.params.heads });
      return rules.attention(g, n, needs);
    },
  };
  const last = tr.attns.length - 1;
  // asking for the input's gradient runs the sweep through every block (its value is not used)
  const [gLast] = grad(s, [tr.attns[last]!, input], full(s.shape, 1, s.dtype), table);
  const gs = tr.attns.map((a, i) => (i === last ? gLast! : attentionGradient(seen.get(a))));
  const attns = attentionsOf(tr.attns);
  const n = attns[0]!.n;
  const weighted = (i: number, rows: number) => {
    const a = attns[i]!;
    const g = gs[i]!.contiguousData() as Float32Array;
    const A = a.data;
    const m = new Float64Array(rows * n);
    const inv = 1 / a.heads;
    for (let h = 0; h < a.heads; h++) {
      const base = h * a.rows * n; // (h, q, k) at base + q n + k, q < rows <= a.rows
      for (let idx = 0; idx < rows * n; idx++) {
        const v = g[base + idx]! * A[base + idx]!;
        if (v > 0) m[idx]! += v * inv;
      }
    }
    return m;
  };
  // R <- R + Abar R = (I + Abar) R per block
  const top = sweepRow0(attns.length, n, (i, rows) => {
    const m = weighted(i, rows);
    for (let q = 0; q < rows; q++) m[q * n + q]! += 1;
    return m;
  });
  return { method: 'relevance', target: describeTarget(target, label(b)), score: s.item(), map: patchRow(b, top) };
}
