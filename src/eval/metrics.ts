// The evaluation's statistics (docs/ALGORITHMS.md "Evaluation protocol", docs/EVAL.md):
// pixel orders for MIF/LIF, trapezoid areas, Pearson's r, compactness, and
// the seeded box list. Pure functions over plain arrays.
import { rng } from '../tensor/index.js';

/** A map on its own grid (patch or pixel), row-major. */
export interface GridMap {
  rows: number;
  cols: number;
  values: ArrayLike<number>;
}

/**
 * A map at the input's resolution: patch maps copied to their p x p blocks
 * (nearest), pixel maps as they are.
 */
export function toPixels(map: GridMap, height: number, width: number): Float64Array {
  if (map.values.length !== map.rows * map.cols) throw new Error(`map is ${map.rows}x${map.cols} but has ${map.values.length} values`);
  if (height % map.rows !== 0 || width % map.cols !== 0) throw new Error(`a ${map.rows}x${map.cols} map does not tile a ${height}x${width} image`);
  const py = height / map.rows;
  const px = width / map.cols;
  const out = new Float64Array(height * width);
  for (let y = 0; y < height; y++) {
    const row = Math.floor(y / py) * map.cols;
    for (let x = 0; x < width; x++) out[y * width + x] = map.values[row + Math.floor(x / px)]!;
  }
  return out;
}

/**
 * Pixel indices by signed value, largest first ('mif') or smallest first
 * ('lif'); equal values in index order in both directions.
 */
export function pixelOrder(values: ArrayLike<number>, order: 'mif' | 'lif'): Int32Array {
  const idx = Int32Array.from({ length: values.length }, (_, i) => i);
  const sign = order === 'mif' ? -1 : 1;
  return idx.sort((a, b) => sign * (values[a]! - values[b]!) || a - b);
}

/** How many pixels are perturbed at step k of `steps` (floor(k/steps * n)). */
export function perturbedCount(k: number, steps: number, n: number): number {
  return Math.floor((k / steps) * n);
}

/** Trapezoid area of ys over evenly spaced xs from x0 to x1. */
export function trapezoid(ys: ArrayLike<number>, x0: number, x1: number): number {
  const n = ys.length;
  if (n < 2) return 0;
  const h = (x1 - x0) / (n - 1);
  let s = 0;
  for (let i = 0; i + 1 < n; i++) s += (h * (ys[i]! + ys[i + 1]!)) / 2;
  return s;
}

/** Trapezoid area of ys over the given xs. */
export function trapezoidXY(xs: ArrayLike<number>, ys: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i + 1 < xs.length; i++) s += ((xs[i + 1]! - xs[i]!) * (ys[i]! + ys[i + 1]!)) / 2;
  return s;
}

/** Pearson's r; 0 when either side has zero variance (a constant predicts nothing). */
export function pearson(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const n = a.length;
  if (n !== b.length) throw new Error(`pearson: ${n} values against ${b.length}`);
  let ma = 0;
  let mb = 0;
  for (let i = 0; i < n; i++) {
    ma += a[i]!;
    mb += b[i]!;
  }
  ma /= n;
  mb /= n;
  let sab = 0;
  let saa = 0;
  let sbb = 0;
  for (let i = 0; i < n; i++) {
    const da = a[i]! - ma;
    const db = b[i]! - mb;
    sab += da * db;
    saa += da * da;
    sbb += db * db;
  }
  return saa > 0 && sbb > 0 ? sab / Math.sqrt(saa * sbb) : 0;
}

/** The fraction of map entries with |s| <= frac * max|s| (all of them for an all-zero map). */
export function compactness(values: ArrayLike<number>, frac = 0.05): number {
  let m = 0;
  for (let i = 0; i < values.length; i++) m = Math.max(m, Math.abs(values[i]!));
  let k = 0;
  for (let i = 0; i < values.length; i++) if (Math.abs(values[i]!) <= frac * m) k++;
  return k / values.length;
}

/** Boxes [x0, y0, x1, y1] (x1, y1 exclusive) per size. */
export interface BoxSet {
  width: number;
  height: number;
  sizes: number[];
  boxes: Record<string, [number, number, number, number][]>;
}

/**
 * `perSize` s x s boxes per size, top-left uniform in [0, W - s) x [0, H - s):
 * one mulberry32 stream, sizes in order, x0 then y0 per box.
 */
export function makeBoxes(width: number, height: number, sizes: readonly number[], perSize: number, seed: number): BoxSet {
  const u = rng(seed);
  const boxes: BoxSet['boxes'] = {};
  for (const s of sizes) {
    if (!(Number.isInteger(s) && s >= 1 && s < width && s < height))
      throw new Error(`box size ${s} must be an integer in [1, ${Math.min(width, height) - 1}] for a ${width}x${height} image`);
    const list: [number, number, number, number][] = [];
    for (let b = 0; b < perSize; b++) {
      const x0 = Math.floor(u() * (width - s));
      const y0 = Math.floor(u() * (height - s));
      list.push([x0, y0, x0 + s, y0 + s]);
    }
    boxes[String(s)] = list;
  }
  return { width, height, sizes: [...sizes], boxes };
}

/** Check a box set read from a file against an image size (throws a message naming the problem). */
export function checkBoxes(set: unknown, width: number, height: number): BoxSet {
  const fail = (why: string): never => {
    throw new Error(`boxes: ${why}`);
  };
  if (typeof set !== 'object' || set === null) fail('expected an object {width, height, sizes, boxes}');
  const b = set as Partial<BoxSet>;
  if (b.width !== width || b.height !== height) fail(`the boxes are for ${b.width}x${b.height} images, the model takes ${width}x${height}`);
  if (!Array.isArray(b.sizes) || b.sizes.length < 2) fail('"sizes" must list at least two box sizes (A_box is an area over them)');
  if (typeof b.boxes !== 'object' || b.boxes === null) fail('"boxes" must map each size to its boxes');
  for (const s of b.sizes!) {
    const list = (b.boxes as Record<string, unknown>)[String(s)];
    if (!Array.isArray(list) || list.length < 2) fail(`size ${s} needs at least two boxes`);
    (list as unknown[]).forEach((box, i) => {
      const ok = Array.isArray(box) && box.length === 4 && box.every((v) => Number.isInteger(v));
      if (!ok) fail(`size ${s}, box ${i}: expected [x0, y0, x1, y1] integers`);
      const [x0, y0, x1, y1] = box as number[];
      if (!(x0! >= 0 && y0! >= 0 && x1! <= width && y1! <= height && x1! - x0! === s && y1! - y0! === s))
        fail(`size ${s}, box ${i}: [${box as number[]}] is not an ${s}x${s} box inside ${width}x${height}`);
    });
  }
  return b as BoxSet;
}

/** Summed-area table of a pixel map, (H+1) x (W+1). */
export function integralImage(values: ArrayLike<number>, height: number, width: number): Float64Array {
  const w1 = width + 1;
  const t = new Float64Array((height + 1) * w1);
  for (let y = 0; y < height; y++) {
    let row = 0;
    for (let x = 0; x < width; x++) {
      row += values[y * width + x]!;
      t[(y + 1) * w1 + x + 1] = t[y * w1 + x + 1]! + row;
    }
  }
  return t;
}

/** The map's sum inside a box, from its summed-area table. */
export function boxSum(t: Float64Array, width: number, [x0, y0, x1, y1]: readonly number[]): number {
  const w1 = width + 1;
  return t[y1! * w1 + x1!]! - t[y0! * w1 + x1!]! - t[y1! * w1 + x0!]! + t[y0! * w1 + x0!]!;
}
