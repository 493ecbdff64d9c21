// What rollout and relevance propagation share: every block's attention as
// plain arrays, and the sweep that gives row 0 of a product of per-block
// matrices. The attention baselines read every block's attention
// (vit.forward(image, { attentions: 'fused' })) and give patch-level maps over
// the patch tokens.

import type { Tensor } from '../tensor/index.js';
import type { PatchMap } from '../cdam/explainer.js';
import type { BaselineInput } from './gradients.js';

/** Every block's attention [H, rows, N] as plain arrays (the last block: its read-out rows only). */
export function attentionsOf(attns: readonly Tensor[]): { data: Float32Array; heads: number; rows: number; n: number }[] {
  return attns.map((a) => {
    const [, heads, rows, n] = a.shape as [number, number, number, number];
    return { data: a.contiguousData() as Float32Array, heads, rows, n };
  });
}

/**
 * Row 0 of M_L ... M_2 M_1, as a row vector swept from the last block down
 * (v <- v M_b): N^2 work per block instead of N^3, since the maps read only
 * the [CLS] row. `rowsOf(b)` gives block b's matrix rows (the last block
 * needs only its row 0).
 */
export function sweepRow0(blocks: number, n: number, rowsOf: (b: number, rows: number) => Float64Array): Float64Array {
  let v: Float64Array = rowsOf(blocks - 1, 1);
  for (let b = blocks - 2; b >= 0; b--) {
    const m = rowsOf(b, n);
    const next = new Float64Array(n);
    for (let k = 0; k < n; k++) {
      const vk = v[k]!;
      if (vk !== 0) for (let j = 0; j < n; j++) next[j]! += vk * m[k * n + j]!;
    }
    v = next;
  }
  return v;
}

/** Row 0 over the patch tokens, as a patch map. */
export function patchRow(b: BaselineInput, row: Float64Array): PatchMap {
  const pre = b.vit.numPrefix;
  return { rows: b.grid[0], cols: b.grid[1], values: Float32Array.from(row.subarray(pre)) };
}
