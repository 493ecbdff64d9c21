// What an explanation explains: any scalar function of the model's head
// output. Scores are computed for a batch ([B] values, one per sample) so
// that one backward pass with a ones seed serves every sample.

import { Tensor, select, sub, sum, mul, reshape } from '../tensor/index.js';
import type { HeadOutput } from '../vit/model.js';

export type Target =
  /** a class logit (raw, never a softmax) */
  | { kind: 'class'; index: number }
  /** f_a - f_b: what makes the model prefer a over b */
  | { kind: 'difference'; a: number; b: number }
  /** latent . l_c, a plain dot product with a concept vector l_c [D] */
  | { kind: 'concept'; vector: Tensor; name?: string }
  /** any scalar per sample, from the head output (e.g. one output of a regression head) */
  | { kind: 'custom'; name: string; score: (h: HeadOutput) => Tensor };

function logits(h: HeadOutput): Tensor {
  if (!h.logits) throw new Error('this target needs a classifier head, and the model has none');
  return h.logits;
}

function checkIndex(h: HeadOutput, i: number): void {
  const c = logits(h).shape[1]!;
  if (!Number.isInteger(i) || i < 0 || i >= c) throw new Error(`class index ${i} is out of range: the model has ${c} classes (0..${c - 1})`);
}

/** The per-sample score [B] of a target. */
export function targetScore(t: Target, h: HeadOutput): Tensor {
  switch (t.kind) {
    case 'class':
      checkIndex(h, t.index);
      return select(logits(h), 1, t.index);
    case 'difference':
      checkIndex(h, t.a);
      checkIndex(h, t.b);
      return sub(select(logits(h), 1, t.a), select(logits(h), 1, t.b));
    case 'concept': {
      const d = h.latent.shape[1]!;
      if (t.vector.size !== d) throw new Error(`concept vector has ${t.vector.size} entries but the model's latent has ${d}`);
      return sum(mul(h.latent, reshape(t.vector, [1, d])), 1);
    }
    case 'custom': {
      const s = t.score(h);
      if (s.rank !== 1) throw new Error(`custom target "${t.name}" must give one score per sample, got shape [${s.shape}]`);
      return s;
    }
  }
}

export function describeTarget(t: Target, label: (i: number) => string): string {
  switch (t.kind) {
    case 'class':
      return `${t.index} ${label(t.index)}`;
    case 'difference':
      return `${t.a} ${label(t.a)} - ${t.b} ${label(t.b)}`;
    case 'concept':
      return `concept${t.name ? ` ${t.name}` : ''}`;
    case 'custom':
      return t.name;
  }
}
