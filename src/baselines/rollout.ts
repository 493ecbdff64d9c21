// Attention rollout (Abnar & Zuidema 2020).

import { noGrad } from '../autograd/index.js';
import type { Explanation } from '../cdam/explainer.js';
import type { BaselineInput } from './gradients.js';
import { attentionsOf, patchRow, sweepRow0 } from './attentionSweep.js';

/**
 * Attention rollout (Abnar & Zuidema 2020): R = prod_b (0.5 I + 0.5 mean_h A_b),
 * rows renormalised, later blocks on the left (as Abnar's code multiplies); the map is R[0] over the patch
 * tokens. With `head`, that head's attention in every block instead of the mean.
 */
export function rollout(b: BaselineInput, head?: number): Explanation {
  const top = rolloutRow(b, head);
  return { method: head === undefined ? 'rollout' : `rollout-head${head}`, target: null, score: null, map: patchRow(b, top) };
}

/** Row 0 of the rollout matrix over every token, prefix tokens included (it sums to 1). */
export function rolloutRow(b: BaselineInput, head?: number): Float64Array {
  const { vit } = b;
  const attns = attentionsOf(noGrad(() => vit.forward(b.input, { attentions: 'fused' })).attns);
  const n = attns[0]!.n;
  const H = attns[0]!.heads;
  if (head !== undefined && (!Number.isInteger(head) || head < 0 || head >= H)) throw new Error(`head ${head} out of range (the model has ${H} heads)`);
  const heads = head === undefined ? [...Array(H).keys()] : [head];
  // the augmented, renormalised attention rows 0..rows-1 of one block
  const augmented = (a: (typeof attns)[number], rows: number) => {
    const m = new Float64Array(rows * n);
    for (let i = 0; i < rows; i++) {
      let s = 0;
      for (let j = 0; j < n; j++) {
        let v = 0;
        for (const h of heads) v += a.data[(h * a.rows + i) * n + j]! / heads.length;
        const e = 0.5 * v + (i === j ? 0.5 : 0);
        m[i * n + j] = e;
        s += e;
      }
      for (let j = 0; j < n; j++) m[i * n + j]! /= s;
    }
    return m;
  };
  return sweepRow0(attns.length, n, (i, rows) => augmented(attns[i]!, rows));
}
