/**
 * Heat-map overlays: an explanation map, nearest-upsampled from the patch
 * grid, blended over the image, with a labelled colour bar and a title.
 *
 * Signed maps (CDAM scores) use the diverging blue-white-red map with an
 * opacity proportional to |score| / range, so patches with scores near zero
 * leave the photo visible instead of being washed out in white. Unsigned maps
 * (attention, relevance) use 'inferno' at a constant opacity. By default the
 * photo underneath is shown as a lightened greyscale (option `grayscale`), so
 * the map's reds and blues are not confused with the photo's own colours.
 */
import type { RgbImage } from '../io/image.js';
import { encodePng } from '../io/png.js';
import { colormapLut, displayRange, normalizeScore, type DisplayRange, type MapKind, type Rgb, type ScoreMap } from './colormap.js';
import { CAP_HEIGHT, LINE_HEIGHT, drawText, textWidth, wrapText } from './font.js';

export interface Rect {
  x: number;
  y: number;
  width: number;
  height: number;
}

export const WHITE: Rgb = [255, 255, 255];
export const TEXT_COLOR: Rgb = [30, 30, 30];
const FRAME_COLOR: Rgb = [90, 90, 90];

// ---------------------------------------------------------------------------
// Pixel primitives

/** A new image filled with one colour (white by default). */
export function createImage(width: number, height: number, fill: Rgb = WHITE): RgbImage {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width <= 0 || height <= 0) {
    throw new Error(`createImage: width and height must be positive integers, got ${width}x${height}`);
  }
  const data = new Uint8Array(width * height * 3);
  if (fill[0] === fill[1] && fill[1] === fill[2]) data.fill(fill[0]);
  else for (let i = 0; i < data.length; i += 3) data.set(fill, i);
  return { width, height, data };
}

/** Fills a rectangle (clipped to the image). */
export function fillRect(img: RgbImage, x: number, y: number, w: number, h: number, color: Rgb): void {
  const x0 = Math.max(0, Math.round(x));
  const y0 = Math.max(0, Math.round(y));
  const x1 = Math.min(img.width, Math.round(x + w));
  const y1 = Math.min(img.height, Math.round(y + h));
  for (let py = y0; py < y1; py++) {
    for (let px = x0; px < x1; px++) {
      const o = 3 * (py * img.width + px);
      img.data[o] = color[0];
      img.data[o + 1] = color[1];
      img.data[o + 2] = color[2];
    }
  }
}

/** Copies `src` into `dst` with its top-left corner at (x, y), clipped. */
export function blit(dst: RgbImage, src: RgbImage, x: number, y: number): void {
  x = Math.round(x);
  y = Math.round(y);
  const sx0 = Math.max(0, -x);
  const sx1 = Math.min(src.width, dst.width - x);
  if (sx1 <= sx0) return;
  for (let sy = Math.max(0, -y); sy < src.height && y + sy < dst.height; sy++) {
    const from = 3 * (sy * src.width + sx0);
    dst.data.set(src.data.subarray(from, from + 3 * (sx1 - sx0)), 3 * ((y + sy) * dst.width + x + sx0));
  }
}

/** Integer nearest-neighbour upscaling (each pixel becomes an s x s block). */
export function scaleImage(img: RgbImage, s: number): RgbImage {
  if (!Number.isInteger(s) || s < 1) throw new Error(`scaleImage: scale must be a positive integer, got ${s}`);
  if (s === 1) return { width: img.width, height: img.height, data: img.data.slice() };
  const W = img.width * s;
  const out = new Uint8Array(W * img.height * s * 3);
  for (let y = 0; y < img.height; y++) {
    const row = new Uint8Array(W * 3);
    for (let x = 0; x < img.width; x++) {
      const i = 3 * (y * img.width + x);
      for (let k = 0; k < s; k++) row.set(img.data.subarray(i, i + 3), 3 * (x * s + k));
    }
    for (let k = 0; k < s; k++) out.set(row, 3 * (y * s + k) * W);
  }
  return { width: W, height: img.height * s, data: out };
}

/** PNG bytes of an RGB image. */
export function toPng(img: RgbImage): Uint8Array {
  return encodePng({ width: img.width, height: img.height, data: img.data, channels: 3 });
}

// ---------------------------------------------------------------------------
// Maps

function checkMap(map: ScoreMap, who: string): void {
  const { rows, cols, values } = map;
  if (!Number.isInteger(rows) || !Number.isInteger(cols) || rows <= 0 || cols <= 0) {
    throw new Error(`${who}: map rows and cols must be positive integers, got ${rows}x${cols}`);
  }
  if (values.length !== rows * cols) {
    throw new Error(`${who}: map is ${rows}x${cols} but has ${values.length} values`);
  }
}

/**
 * Nearest-neighbour upsampling of a row-major map to width x height: pixel
 * (x, y) takes map[floor(y*rows/height), floor(x*cols/width)]. When width is
 * a multiple of cols (e.g. 224 = 14 * 16) every patch fills its block exactly.
 */
export function upsampleNearest(map: ScoreMap, width: number, height: number): Float32Array {
  checkMap(map, 'upsampleNearest');
  if (!Number.isInteger(width) || !Number.isInteger(height) || width <= 0 || height <= 0) {
    throw new Error(`upsampleNearest: width and height must be positive integers, got ${width}x${height}`);
  }
  const { rows, cols, values } = map;
  const colOf = new Int32Array(width);
  for (let x = 0; x < width; x++) colOf[x] = Math.floor((x * cols) / width);
  const out = new Float32Array(width * height);
  for (let y = 0; y < height; y++) {
    const r = Math.floor((y * rows) / height);
    const o = y * width;
    // checkMap: values has rows * cols entries; r < rows, colOf[x] < cols.
    for (let x = 0; x < width; x++) out[o + x] = values[r * cols + colOf[x]!]!;
  }
  return out;
}

/**
 * Short tick label: 3 significant digits, trailing zeros dropped, exponent
 * form for magnitudes below 0.01 or from 10^4 ("1.2e-3", "2.5e4"). With
 * `plus`, positive numbers get a leading '+'.
 */
export function formatTick(v: number, plus = false): string {
  if (!Number.isFinite(v)) return String(v);
  if (v === 0) return '0';
  const a = Math.abs(v);
  let s: string;
  if (a < 1e-2 || a >= 1e4) {
    const t = v.toExponential(2); // "d.dde+x"
    const e = t.indexOf('e');
    s = `${stripZeros(t.slice(0, e))}e${t.slice(e + 1).replace('+', '')}`;
  } else {
    s = stripZeros(v.toPrecision(3));
  }
  return plus && v > 0 ? `+${s}` : s;
}

function stripZeros(s: string): string {
  return s.includes('.') ? s.replace(/0+$/, '').replace(/\.$/, '') : s;
}

// ---------------------------------------------------------------------------
// Overlay

export interface OverlayOptions {
  /** Diverging map centred on 0 (default: true if any value < 0). */
  signed?: boolean;
  /** Peak opacity of the map over the image (default 0.55). For signed maps the
   *  opacity is alpha * |s| / range; for unsigned maps it is constant. */
  alpha?: number;
  /** Display clipping quantile (default 0.99), see displayRange. */
  quantile?: number;
  /** Explicit display range (e.g. shared by several panels); overrides quantile. */
  range?: DisplayRange;
  /** Title line(s) above the image, word-wrapped to the panel width. */
  title?: string;
  /** Colour bar with tick labels on the right (default true). */
  colorbar?: boolean;
  /** Integer upscaling of the whole panel (default: smallest making the image >= 448 px wide). */
  scale?: number;
  /**
   * Show the photo as a light greyscale under the map (default true), so the
   * map's colours are not confused with the photo's own reds and blues and
   * still show over dark regions. false keeps the photo's colours.
   */
  grayscale?: boolean;
}

export interface PanelResult extends RgbImage {
  /** Where the (scaled) image sits in the panel; renderGrid centres labels on it. */
  imageRect: Rect;
  /** The integer scale used. */
  scale: number;
}

export interface OverlayResult extends PanelResult {
  /** The display range used (for a matching legend elsewhere). */
  range: DisplayRange;
  signed: boolean;
  /** Whether the map has values above range.hi / below range.lo (those ends of the colour bar are drawn as triangles). */
  clipped: { lo: boolean; hi: boolean };
  /** Where the colour bar's ramp is (undefined without one). */
  bar?: Rect;
}

/** Whether finite values lie beyond the display range, at each end. */
function clippedEnds(values: ArrayLike<number>, range: DisplayRange): { lo: boolean; hi: boolean } {
  let lo = false;
  let hi = false;
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (v < range.lo && Number.isFinite(v)) lo = true;
    if (v > range.hi && Number.isFinite(v)) hi = true;
  }
  return { lo, hi };
}

/** Panel layout, in units of the text scale u. */
const MARGIN = 6;
const BAR_GAP = 6;
const BAR_WIDTH = 10;
const TICK_LEN = 3;
const LABEL_GAP = 2;
const TITLE_GAP = 2;
/** Greyscale base image levels are mapped from [0, 255] to [GRAY_LIFT, 255]. */
const GRAY_LIFT = 48;

/**
 * White panel with margins, the optional title (centred over the image,
 * word-wrapped to the content width) and `shown` below it; `extraWidth`
 * pixels are reserved right of the image (for the colour bar).
 */
function composePanel(shown: RgbImage, title: string | undefined, extraWidth: number, u: number) {
  const contentW = shown.width + extraWidth;
  const titleLines = title ? wrapText(title, contentW, u) : [];
  const titleH = titleLines.length ? titleLines.length * LINE_HEIGHT * u + TITLE_GAP * u : 0;
  const M = MARGIN * u;
  const out = createImage(M + contentW + M, M + titleH + shown.height + M);
  titleLines.forEach((line, i) => {
    const tw = textWidth(line, u);
    const x = Math.min(Math.max(0, Math.floor((shown.width - tw) / 2)), contentW - tw);
    drawText(out, line, M + x, M + i * LINE_HEIGHT * u, { color: TEXT_COLOR, scale: u });
  });
  const ix = M;
  const iy = M + titleH;
  blit(out, shown, ix, iy);
  return { out, ix, iy };
}

/**
 * A plain image panel with the same margins, scale and title layout as
 * renderOverlay (no map, no colour bar), e.g. the input next to its maps.
 */
export function renderImagePanel(image: RgbImage, opts: { title?: string; scale?: number } = {}): PanelResult {
  const s = opts.scale ?? Math.max(1, Math.ceil(448 / image.width));
  if (!Number.isInteger(s) || s < 1) throw new Error(`renderImagePanel: scale must be a positive integer, got ${s}`);
  const shown = scaleImage(image, s);
  const { out, ix, iy } = composePanel(shown, opts.title, 0, textScaleFor(shown.width));
  return { ...out, imageRect: { x: ix, y: iy, width: shown.width, height: shown.height }, scale: s };
}

function hasNegative(values: ArrayLike<number>): boolean {
  for (let i = 0; i < values.length; i++) if (values[i]! < 0) return true;
  return false;
}

/** Text scale that keeps labels readable next to an image this wide. */
export function textScaleFor(panelImageWidth: number): number {
  return Math.max(1, Math.round(panelImageWidth / 224));
}

/**
 * Renders `map` over `image`: returns a new white panel with the optional
 * title on top, the blended image, and a colour bar labelled with the display
 * range (signed: -max, 0, +max; unsigned: low, high).
 */
export function renderOverlay(image: RgbImage, map: ScoreMap, opts: OverlayOptions = {}): OverlayResult {
  checkMap(map, 'renderOverlay');
  const { width: W, height: H } = image;
  if (image.data.length !== W * H * 3) throw new Error(`renderOverlay: image data has ${image.data.length} bytes, expected ${W * H * 3}`);
  const signed = opts.signed ?? hasNegative(map.values);
  const alpha = opts.alpha ?? 0.55;
  if (!(alpha >= 0 && alpha <= 1)) throw new Error(`renderOverlay: alpha must be in [0, 1], got ${alpha}`);
  const s = opts.scale ?? Math.max(1, Math.ceil(448 / W));
  if (!Number.isInteger(s) || s < 1) throw new Error(`renderOverlay: scale must be a positive integer, got ${s}`);
  const range = opts.range ?? displayRange(map.values, signed, { quantile: opts.quantile });
  if (!(range.hi > range.lo)) throw new Error(`renderOverlay: display range must have lo < hi, got [${range.lo}, ${range.hi}]`);
  const kind: MapKind = signed ? 'signed' : 'unsigned';
  const gray = opts.grayscale ?? true;

  // Blend at the image's own resolution, then scale the whole picture.
  const up = upsampleNearest(map, W, H);
  const N = 1024;
  const lut = colormapLut(kind, N);
  const base = image.data;
  const blended = new Uint8Array(W * H * 3);
  // base has W * H * 3 bytes (checked above), up W * H values, lut 3 * N.
  for (let i = 0; i < W * H; i++) {
    let r = base[3 * i]!;
    let g = base[3 * i + 1]!;
    let b = base[3 * i + 2]!;
    if (gray) r = g = b = Math.round(GRAY_LIFT + (1 - GRAY_LIFT / 255) * (0.299 * r + 0.587 * g + 0.114 * b));
    const v = up[i]!;
    if (Number.isNaN(v)) {
      blended[3 * i] = r;
      blended[3 * i + 1] = g;
      blended[3 * i + 2] = b;
      continue;
    }
    const n = normalizeScore(v, range, signed);
    const t = signed ? (n + 1) / 2 : n; // position in the colour map, [0, 1]
    const a = signed ? alpha * Math.abs(n) : alpha;
    const k = 3 * Math.round(t * (N - 1));
    blended[3 * i] = Math.round(r + a * (lut[k]! - r));
    blended[3 * i + 1] = Math.round(g + a * (lut[k + 1]! - g));
    blended[3 * i + 2] = Math.round(b + a * (lut[k + 2]! - b));
  }
  const shown = scaleImage({ width: W, height: H, data: blended }, s);

  // Layout.
  const u = textScaleFor(shown.width);
  const colorbar = opts.colorbar ?? true;
  const ticks: { value: number; label: string }[] = signed
    ? [
        { value: range.hi, label: formatTick(range.hi, true) },
        { value: 0, label: '0' },
        { value: range.lo, label: formatTick(range.lo) },
      ]
    : [
        { value: range.hi, label: formatTick(range.hi) },
        { value: range.lo, label: formatTick(range.lo) },
      ];
  const labelW = Math.max(...ticks.map((t) => textWidth(t.label, u)));
  const barBlock = colorbar ? (BAR_GAP + BAR_WIDTH + TICK_LEN + LABEL_GAP) * u + labelW : 0;
  const { out, ix, iy } = composePanel(shown, opts.title, barBlock, u);
  const iw = shown.width;
  const ih = shown.height;

  const clipped = clippedEnds(map.values, range);
  let bar: Rect | undefined;
  if (colorbar) {
    const bx = ix + iw + BAR_GAP * u;
    const bw = BAR_WIDTH * u;
    bar = { x: bx, y: iy, width: bw, height: ih };
    const f = Math.max(1, Math.floor(u / 2));
    // Colour ramp, top = range.hi. An end the map goes beyond is a triangle
    // pointing out (matplotlib's "extend"), so a reader sees the scale saturates there.
    const th = Math.min(Math.floor(ih / 3), bw);
    for (let j = 0; j < ih; j++) {
      const t = 1 - (j + 0.5) / ih;
      const k = 3 * Math.round(t * (N - 1)); // t in (0, 1): an entry of lut
      const inTip = clipped.hi && j < th ? j : clipped.lo && ih - 1 - j < th ? ih - 1 - j : -1;
      const half = inTip < 0 ? bw / 2 : (bw / 2) * ((inTip + 0.5) / th);
      const x0 = Math.round(bx + bw / 2 - half);
      const x1 = Math.round(bx + bw / 2 + half);
      fillRect(out, x0, iy + j, x1 - x0, 1, [lut[k]!, lut[k + 1]!, lut[k + 2]!]);
      // frame: just outside the ramp, along the triangle's sides in a tip
      fillRect(out, x0 - f, iy + j, f, 1, FRAME_COLOR);
      fillRect(out, x1, iy + j, f, 1, FRAME_COLOR);
    }
    if (!clipped.hi) fillRect(out, bx - f, iy - f, bw + 2 * f, f, FRAME_COLOR);
    if (!clipped.lo) fillRect(out, bx - f, iy + ih, bw + 2 * f, f, FRAME_COLOR);
    // Ticks and labels.
    const tx = bx + bw;
    for (const tick of ticks) {
      const frac = (range.hi - tick.value) / (range.hi - range.lo);
      const ty = iy + Math.round(frac * (ih - u));
      fillRect(out, tx, ty, (TICK_LEN - 1) * u + f, u, FRAME_COLOR);
      let ly = ty + Math.floor(u / 2) - Math.floor((CAP_HEIGHT * u) / 2);
      ly = Math.max(0, Math.min(out.height - CAP_HEIGHT * u, ly));
      drawText(out, tick.label, tx + (TICK_LEN + LABEL_GAP) * u, ly, { color: TEXT_COLOR, scale: u });
    }
  }

  return {
    width: out.width,
    height: out.height,
    data: out.data,
    imageRect: { x: ix, y: iy, width: iw, height: ih },
    range,
    signed,
    clipped,
    ...(bar ? { bar } : {}),
    scale: s,
  };
}
