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

/** What parseTarget needs to know of the model. */
export interface ClassInfo {
  numClasses: number;
  labels: readonly string[] | null;
}

function classIndex(i: number, m: ClassInfo, spec: string): number {
  if (m.numClasses === 0) throw new Error('class targets need a classifier head; this model has none (use a concept, or give a head)');
  if (!Number.isInteger(i) || i < 0 || i >= m.numClasses) {
    throw new Error(`target "${spec}": class index ${i} is out of range: the model has ${m.numClasses} classes (0..${m.numClasses - 1})`);
  }
  return i;
}

const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

function ambiguous(name: string, near: readonly (readonly [string, number])[], labels: readonly string[]): Error {
  const shown = near
    .slice(0, 12)
    .map(([, i]) => `${i} ${labels[i]}`)
    .join(', ');
  return new Error(
    `target "${name}" is ambiguous: ${near.length} labels match (${shown}${near.length > 12 ? ', ...' : ''}); give more of the name or an index`,
  );
}

/**
 * A class by label: an exact (case-insensitive) label, else the one label
 * holding the name as whole word(s) ("persian" -> "Persian cat"; "cat" is a
 * word of many labels, so it is refused rather than read as "catamaran"),
 * else a unique prefix, else a unique substring. Ambiguous names list the
 * candidates.
 */
export function classByLabel(name: string, m: ClassInfo): number {
  const s = name.trim();
  if (!s) throw new Error('an empty target: give a class index or a label');
  const labels = m.labels;
  if (!labels) throw new Error(`target "${name}" is not a class index and the model has no labels`);
  const want = s.toLowerCase();
  const all = labels.map((l, i) => [l.toLowerCase(), i] as const);
  const exact = all.filter(([l]) => l === want);
  if (exact.length >= 1) return exact[0]![1];
  const word = new RegExp(`(^|[^\\p{L}\\p{N}])${escapeRegExp(want)}($|[^\\p{L}\\p{N}])`, 'u');
  for (const match of [(l: string) => word.test(l), (l: string) => l.startsWith(want), (l: string) => l.includes(want)]) {
    const near = all.filter(([l]) => match(l));
    if (near.length === 1) return near[0]![1];
    if (near.length > 1) throw ambiguous(name, near, labels);
  }
  throw new Error(`target "${name}" matches no label (give a class index 0..${m.numClasses - 1} or part of a label, e.g. "${labels[0]}")`);
}

/** One side of a difference: a class index or a label. */
function classOf(part: string, m: ClassInfo, spec: string): number {
  const p = part.trim();
  return /^\d+$/.test(p) ? classIndex(Number(p), m, spec) : classByLabel(p, m);
}

/**
 * "A-B" read at each dash in turn (labels hold dashes too: "three-toed
 * sloth"): the splits whose two sides both resolve. Several distinct
 * readings are refused; none throws the whole name's error, or the failing
 * side's when there is only one dash.
 */
function differenceOf(s: string, m: ClassInfo, spec: string, whole: Error): Target {
  const found = new Map<string, Target>(); // keyed "a-b": one entry per distinct reading
  const dashes = [...s.matchAll(/-/g)].map((d) => d.index).filter((i) => i > 0 && i < s.length - 1);
  let sideError: Error | null = null;
  for (const i of dashes) {
    try {
      const a = classOf(s.slice(0, i), m, spec);
      const b = classOf(s.slice(i + 1), m, spec);
      found.set(`${a}-${b}`, { kind: 'difference', a, b });
    } catch (e) {
      sideError ??= e as Error;
    }
  }
  if (found.size === 1) return [...found.values()][0]!;
  if (found.size > 1) {
    const readings = [...found.keys()];
    throw new Error(`target "${spec}" reads as several differences (${readings.join(', ')}); give indices, e.g. "${readings[0]}"`);
  }
  throw dashes.length === 1 && sideError ? new Error(`target "${spec}": ${sideError.message}`) : whole;
}

/** Parse a target: a class index, a label (or a unique part of one), or "A-B" (the difference of two classes, indices or labels). */
export function parseTarget(spec: string, m: ClassInfo): Target {
  const s = spec.trim();
  if (/^[+-]?\d+$/.test(s)) return { kind: 'class', index: classIndex(Number(s), m, spec) };
  const diff = /^(\d+)\s*-\s*(\d+)$/.exec(s);
  if (diff) return { kind: 'difference', a: classIndex(Number(diff[1]), m, spec), b: classIndex(Number(diff[2]), m, spec) };
  if (m.numClasses === 0) classIndex(0, m, spec);
  try {
    return { kind: 'class', index: classByLabel(s, m) };
  } catch (e) {
    if (!m.labels || !s.includes('-')) throw e;
    return differenceOf(s, m, spec, e as Error);
  }
}
