/**
 * Colour maps and display ranges for explanation maps.
 *
 * - 'signed' maps use a diverging map centred on zero (ColorBrewer RdBu
 *   reversed, like matplotlib's 'RdBu_r' without its two near-black ends):
 *   blue for negative scores (counter-evidence), white at 0, red for
 *   positive scores (evidence). Input in [-1, 1].
 * - 'unsigned' maps use matplotlib's perceptually uniform 'inferno' (black ->
 *   purple -> orange -> pale yellow), 33 anchors of the 256-entry table,
 *   linearly interpolated. Input in [0, 1].
 *
 * `displayRange` clips by quantiles FOR DISPLAY ONLY: the scores themselves
 * are never changed, a few extreme patches just saturate the colour.
 */

export type Rgb = [number, number, number];
export type MapKind = 'signed' | 'unsigned';

/** A row-major score map on the patch grid (or on pixels). */
export interface ScoreMap {
  rows: number;
  cols: number;
  values: Float32Array | number[];
}

/** Display range [lo, hi]; for signed maps always symmetric (lo = -hi). */
export interface DisplayRange {
  lo: number;
  hi: number;
}

function hexTable(hex: string[]): Uint8Array {
  const out = new Uint8Array(hex.length * 3);
  hex.forEach((h, i) => {
    out[3 * i] = parseInt(h.slice(0, 2), 16);
    out[3 * i + 1] = parseInt(h.slice(2, 4), 16);
    out[3 * i + 2] = parseInt(h.slice(4, 6), 16);
  });
  return out;
}

/**
 * ColorBrewer RdBu (9 classes) reversed, centre set to pure white: index 0 =
 * most negative, 4 = zero. The 9-class ends (#2166ac, #b2182b) rather than
 * the 11-class near-black ones keep saturated scores visibly blue/red when
 * blended over a photo.
 */
const RDBU_R = hexTable(['2166ac', '4393c3', '92c5de', 'd1e5f0', 'ffffff', 'fddbc7', 'f4a582', 'd6604d', 'b2182b']);
const RDBU_POS = Array.from({ length: 9 }, (_, i) => i / 8);

/** matplotlib 'inferno', entries 0, 8, 16, ..., 248 and 255 of the 256-entry table. */
const INFERNO = hexTable([
  '000004',
  '040312',
  '0b0724',
  '150b37',
  '210c4a',
  '2f0a5b',
  '3d0965',
  '4a0c6b',
  '57106e',
  '64156e',
  '71196e',
  '7d1e6d',
  '8a226a',
  '972766',
  'a32c61',
  'b0315b',
  'bc3754',
  'c73e4c',
  'd24644',
  'db503b',
  'e45a31',
  'eb6628',
  'f1731d',
  'f68013',
  'f98e09',
  'fb9b06',
  'fcaa0f',
  'fbba1f',
  'f9c932',
  'f5d949',
  'f2e661',
  'f4f88e',
  'fcffa4',
]);
const INFERNO_POS = Array.from({ length: 33 }, (_, i) => (i === 32 ? 1 : (8 * i) / 255));

interface Ramp {
  table: Uint8Array;
  pos: number[];
}
const RAMPS: Record<MapKind, Ramp> = {
  signed: { table: RDBU_R, pos: RDBU_POS },
  unsigned: { table: INFERNO, pos: INFERNO_POS },
};

/** Interpolates a ramp at t in [0, 1] (clamped), writing 0-255 floats to out. */
function sampleRamp(r: Ramp, t: number, out: Rgb): Rgb {
  const { table, pos } = r;
  const n = pos.length;
  if (!(t > 0)) t = 0; // also catches NaN
  if (t > 1) t = 1;
  let k = 0;
  while (k < n - 2 && t > pos[k + 1]!) k++;
  // k <= n - 2, so anchors k and k + 1 exist (pos has n entries, table 3 * n).
  const p0 = pos[k]!;
  const f = (t - p0) / (pos[k + 1]! - p0);
  for (let c = 0; c < 3; c++) {
    const a = table[3 * k + c]!;
    out[c] = a + f * (table[3 * (k + 1) + c]! - a);
  }
  return out;
}

/**
 * Colour of a normalised score: for 'signed', v in [-1, 1] (0 = white); for
 * 'unsigned', v in [0, 1]. Out-of-range values are clamped; NaN gives mid
 * grey. Returns 8-bit integers.
 */
export function colorFor(v: number, kind: MapKind): Rgb {
  if (Number.isNaN(v)) return [128, 128, 128];
  const t = kind === 'signed' ? (v + 1) / 2 : v;
  const c = sampleRamp(RAMPS[kind], t, [0, 0, 0]);
  return [Math.round(c[0]), Math.round(c[1]), Math.round(c[2])];
}

/**
 * A lookup table of `n` colours (RGB, n*3 bytes) spanning the map: entry i is
 * the colour at t = i/(n-1) (for 'signed', t = (v+1)/2).
 */
export function colormapLut(kind: MapKind, n = 512): Uint8Array {
  if (!Number.isInteger(n) || n < 2) throw new Error(`colormapLut: n must be an integer >= 2, got ${n}`);
  const out = new Uint8Array(n * 3);
  const c: Rgb = [0, 0, 0];
  for (let i = 0; i < n; i++) {
    sampleRamp(RAMPS[kind], i / (n - 1), c);
    out[3 * i] = Math.round(c[0]);
    out[3 * i + 1] = Math.round(c[1]);
    out[3 * i + 2] = Math.round(c[2]);
  }
  return out;
}

/** Linear-interpolated quantile (numpy's default) of a non-empty ascending array (q in [0, 1]). */
function quantileSorted(sorted: Float64Array, q: number): number {
  const n = sorted.length;
  const p = q * (n - 1);
  const i = Math.floor(p);
  if (i >= n - 1) return sorted[n - 1]!;
  const a = sorted[i]!; // 0 <= i < n - 1
  return a + (p - i) * (sorted[i + 1]! - a);
}

function finiteSorted(values: ArrayLike<number>, abs: boolean): Float64Array {
  let n = 0;
  const tmp = new Float64Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (Number.isFinite(v)) tmp[n++] = abs ? Math.abs(v) : v;
  }
  return tmp.subarray(0, n).sort();
}

/**
 * Display range for a map, clipping by quantiles (display only).
 *
 * - signed: q = `quantile` (default 0.99) quantile of |s|, range [-q, q].
 *   If that is 0 (mostly-zero map) the max |s| is used; an all-zero map gives
 *   [-1, 1] (everything displays as the neutral centre).
 * - unsigned: [quantile(1 - q), quantile(q)], default [1%, 99%]. A constant
 *   map c gives [min(0, c), max(0, c)] ([0, 1] for c = 0).
 *
 * Non-finite values are ignored. Never returns NaN or lo >= hi.
 */
export function displayRange(values: ArrayLike<number>, signed: boolean, opts: { quantile?: number } = {}): DisplayRange {
  const q = opts.quantile ?? 0.99;
  if (!(q > 0 && q <= 1)) throw new Error(`displayRange: quantile must be in (0, 1], got ${q}`);
  if (signed) {
    const s = finiteSorted(values, true);
    if (s.length === 0) return { lo: -1, hi: 1 };
    let hi = quantileSorted(s, q);
    if (!(hi > 0)) hi = s[s.length - 1]!; // s is non-empty (checked above)
    if (!(hi > 0)) hi = 1;
    return { lo: -hi, hi };
  }
  const s = finiteSorted(values, false);
  if (s.length === 0) return { lo: 0, hi: 1 };
  const qLow = Math.min(q, 1 - q);
  let lo = quantileSorted(s, qLow);
  let hi = quantileSorted(s, Math.max(q, 1 - q));
  if (!(hi > lo)) {
    // Quantiles collapsed (constant or nearly constant map): fall back to min/max.
    lo = s[0]!; // s is non-empty (checked above)
    hi = s[s.length - 1]!;
  }
  if (!(hi > lo)) {
    const c = lo;
    lo = Math.min(0, c);
    hi = Math.max(0, c);
    if (!(hi > lo)) return { lo: 0, hi: 1 };
  }
  return { lo, hi };
}

/**
 * Normalises a score to the colour-map input: [-1, 1] for signed (s / hi),
 * [0, 1] for unsigned ((s - lo) / (hi - lo)), clamped. NaN stays NaN.
 */
export function normalizeScore(v: number, range: DisplayRange, signed: boolean): number {
  if (Number.isNaN(v)) return NaN;
  let t = signed ? v / Math.max(Math.abs(range.lo), Math.abs(range.hi)) : (v - range.lo) / (range.hi - range.lo);
  const min = signed ? -1 : 0;
  if (t < min) t = min;
  if (t > 1) t = 1;
  return t;
}
