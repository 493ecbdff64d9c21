// The evaluation's manifest: JSON lines {"image": PATH, "targets": [c] or
// [c, c2], "boxes"?: [[x0, y0, x1, y1], ...]}. Classes are indices or labels;
// PATH is relative to the manifest's folder or absolute. Every line is
// checked before any work starts, and a bad line is reported with its number.
import { parseTarget, type ClassInfo } from '../cdam/target.js';

export interface ManifestEntry {
  /** 0-based position among the manifest's non-blank lines (what shards split) */
  ordinal: number;
  /** 1-based line number */
  line: number;
  /** the path as written in the manifest */
  image: string;
  /** the path to open */
  path: string;
  /** class indices */
  targets: number[];
  /** ground-truth boxes, one per target, when given */
  boxes?: [number, number, number, number][];
}

export interface BadLine {
  line: number;
  ordinal: number;
  why: string;
}

/** Parse a manifest's text; `resolve` turns a manifest path into one to open. */
export function parseManifest(text: string, classes: ClassInfo, resolve: (p: string) => string): { entries: ManifestEntry[]; bad: BadLine[] } {
  const entries: ManifestEntry[] = [];
  const bad: BadLine[] = [];
  let ordinal = 0;
  text.split('\n').forEach((raw, i) => {
    const src = raw.trim();
    if (src === '') return;
    const line = i + 1;
    const ord = ordinal++;
    try {
      entries.push({ ordinal: ord, line, ...parseEntry(src, classes, resolve) });
    } catch (e) {
      bad.push({ line, ordinal: ord, why: (e as Error).message });
    }
  });
  return { entries, bad };
}

function parseEntry(src: string, classes: ClassInfo, resolve: (p: string) => string): Omit<ManifestEntry, 'ordinal' | 'line'> {
  let v: unknown;
  try {
    v = JSON.parse(src);
  } catch (e) {
    throw new Error(`not JSON (${(e as Error).message})`);
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error('expected an object {"image": PATH, "targets": [c] or [c, c2]}');
  const o = v as Record<string, unknown>;
  for (const k of Object.keys(o)) if (!['image', 'targets', 'boxes'].includes(k)) throw new Error(`unknown field "${k}" (image, targets, boxes)`);
  if (typeof o['image'] !== 'string' || o['image'] === '') throw new Error('"image" must be a non-empty path');
  const t = o['targets'];
  if (!Array.isArray(t) || t.length < 1 || t.length > 2) throw new Error('"targets" must list one class, or two for a two-class image');
  const targets = t.map((c) => {
    if (typeof c !== 'number' && typeof c !== 'string') throw new Error(`a target must be a class index or label, got ${JSON.stringify(c)}`);
    const target = parseTarget(String(c), classes);
    if (target.kind !== 'class') throw new Error(`a target must be one class, got "${c}"`);
    return target.index;
  });
  if (targets.length === 2 && targets[0] === targets[1]) throw new Error(`the two targets are the same class (${targets[0]})`);
  const entry: Omit<ManifestEntry, 'ordinal' | 'line'> = { image: o['image'], path: resolve(o['image']), targets };
  if (o['boxes'] !== undefined) {
    const b = o['boxes'];
    if (!Array.isArray(b) || b.length !== targets.length) throw new Error(`"boxes" must give one [x0, y0, x1, y1] per target (${targets.length})`);
    entry.boxes = b.map((box) => {
      if (!Array.isArray(box) || box.length !== 4 || !box.every((x) => typeof x === 'number' && Number.isFinite(x)))
        throw new Error(`a box must be [x0, y0, x1, y1], got ${JSON.stringify(box)}`);
      const [x0, y0, x1, y1] = box as number[];
      if (!(x1! > x0! && y1! > y0!)) throw new Error(`a box must have x1 > x0 and y1 > y0, got ${JSON.stringify(box)}`);
      return box as [number, number, number, number];
    });
  }
  return entry;
}
