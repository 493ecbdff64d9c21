// Seeded orders and splits. Everything is a function of its seed (and epoch),
// never of a running random state, so a resumed run sees the same batches and
// the same validation set as the run it resumes.
import { rng } from '../tensor/index.js';
import type { Dataset } from './data.js';

function checkCount(n: number, what: string): void {
  if (!Number.isInteger(n) || n < 0) throw new Error(`${what}: n must be a non-negative integer, got ${n}`);
}

/** Fisher-Yates shuffle of 0..n-1, drawing from `next` (uniform in [0, 1)). */
function shuffle(a: number[], next: () => number): number[] {
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1));
    const t = a[i]!;
    a[i] = a[j]!;
    a[j] = t;
  }
  return a;
}

/** A permutation of 0..n-1: Fisher-Yates on rng(seed) (mulberry32). */
export function permutation(n: number, seed: number): number[] {
  checkCount(n, 'permutation');
  return shuffle(
    Array.from({ length: n }, (_, i) => i),
    rng(seed),
  );
}

/** A 32-bit seed from (seed, epoch): murmur3's finaliser, so neighbouring epochs get unrelated streams. */
function epochSeed(seed: number, epoch: number): number {
  let h = (seed >>> 0) ^ Math.imul(epoch + 1, 0x9e3779b9);
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** The order of epoch `epoch` (0-based): a permutation of 0..n-1 that depends only on seed and epoch. */
export function epochOrder(n: number, seed: number, epoch: number): number[] {
  if (!Number.isInteger(epoch) || epoch < 0) throw new Error(`epochOrder: epoch must be a non-negative integer, got ${epoch}`);
  return permutation(n, epochSeed(seed, epoch));
}

/** How many of `count` items go to validation: round(count * fraction) (half up), at least 1 of 2 or more, and never all of them. */
function valCount(count: number, fraction: number): number {
  if (fraction === 0 || count < 2) return 0;
  // a class with no training item cannot be learnt, one with none in validation cannot be measured
  return Math.min(count - 1, Math.max(1, Math.round(count * fraction)));
}

/**
 * Indices of `ds.items` split into training and validation, each sorted
 * ascending. Classification: per class (in class order, one rng(seed) stream
 * shuffling each class's items in turn) valCount of its items go to
 * validation, so every class with two or more items is in both parts; a class
 * of one item stays in training. Regression: a seeded random split of the
 * same size rule over all items. A fraction of 0 puts everything in training.
 */
export function stratifiedSplit(ds: Dataset, valFraction: number, seed: number): { train: number[]; val: number[] } {
  if (!(valFraction >= 0 && valFraction < 1)) throw new Error(`stratifiedSplit: the validation fraction must be in [0, 1), got ${valFraction}`);
  const n = ds.items.length;
  const val: number[] = [];
  if (ds.kind === 'classification') {
    const byClass = new Map<number, number[]>();
    ds.items.forEach((it, i) => {
      if (it.label === undefined) throw new Error(`stratifiedSplit: item ${i} (${it.source}) of a classification dataset has no label`);
      const l = byClass.get(it.label);
      if (l) l.push(i);
      else byClass.set(it.label, [i]);
    });
    const next = rng(seed);
    for (const label of [...byClass.keys()].sort((a, b) => a - b)) {
      const members = byClass.get(label)!;
      val.push(...shuffle(members, next).slice(0, valCount(members.length, valFraction)));
    }
  } else {
    val.push(...permutation(n, seed).slice(0, valCount(n, valFraction)));
  }
  const inVal = new Uint8Array(n);
  for (const i of val) inVal[i] = 1;
  const train: number[] = [];
  for (let i = 0; i < n; i++) if (!inVal[i]) train.push(i);
  return { train, val: val.sort((a, b) => a - b) };
}
