// The evaluation's blur (docs/ALGORITHMS.md, "Blur"): Pillow's
// ImageFilter.GaussianBlur(radius), reproduced from Pillow's BoxBlur.c, so
// that perturbed images equal the reference code's: three passes of an
// extended box blur per axis (all horizontal passes, then all vertical),
// edges clamped, 24-bit fixed-point weights, rounding to uint8 after every
// pass. The box radius comes from Gwosdek et al. (2011) in float32 arithmetic,
// as Pillow computes it (sigma 14: 13.48214).
import type { RgbImage } from '../io/image.js';

const f32 = Math.fround;

/** Pillow's _gaussian_blur_radius: the extended box radius whose `passes` passes approximate a Gaussian of sigma `radius`. */
export function boxRadiusFor(sigma: number, passes = 3): number {
  const sigma2 = f32(f32(sigma * sigma) / passes);
  const L = f32(Math.sqrt(12.0 * sigma2 + 1.0));
  const l = f32(Math.floor((L - 1.0) / 2.0));
  let a = f32(f32(2 * l + 1) * f32(l * (l + 1) - 3 * sigma2));
  a = f32(a / f32(6 * f32(sigma2 - (l + 1) * (l + 1))));
  return f32(l + a);
}

/**
 * One extended box blur along a line of `n` samples at `stride` apart,
 * from `src` into `dst` (ImagingLineBoxBlur8: integer taps of weight ww,
 * the two fractional end taps of weight fw, both in units of 2^-24).
 */
function blurLine(src: Uint8Array, dst: Uint8Array, start: number, stride: number, n: number, radius: number, ww: number, fw: number): void {
  const at = (x: number) => src[start + x * stride]!;
  const last = n - 1;
  const edgeA = Math.min(radius + 1, n);
  const edgeB = Math.max(n - radius - 1, 0);
  let acc = at(0) * (radius + 1);
  for (let x = 0; x < edgeA - 1; x++) acc += at(x);
  acc += at(last) * (radius - edgeA + 1);
  const save = (x: number, left: number, right: number) => {
    const bulk = acc * ww + (at(left) + at(right)) * fw;
    dst[start + x * stride] = Math.floor((bulk + 0x800000) / 0x1000000);
  };
  if (edgeA <= edgeB) {
    for (let x = 0; x < edgeA; x++) {
      acc += at(x + radius) - at(0);
      save(x, 0, x + radius + 1);
    }
    for (let x = edgeA; x < edgeB; x++) {
      acc += at(x + radius) - at(x - radius - 1);
      save(x, x - radius - 1, x + radius + 1);
    }
    for (let x = edgeB; x <= last; x++) {
      acc += at(last) - at(x - radius - 1);
      save(x, x - radius - 1, last);
    }
  } else {
    for (let x = 0; x < edgeB; x++) {
      acc += at(x + radius) - at(0);
      save(x, 0, x + radius + 1);
    }
    for (let x = edgeB; x < edgeA; x++) {
      acc += at(last) - at(0);
      save(x, 0, last);
    }
    for (let x = edgeA; x <= last; x++) {
      acc += at(last) - at(x - radius - 1);
      save(x, x - radius - 1, last);
    }
  }
}

/** Pillow's GaussianBlur(radius) of an 8-bit RGB image (a new image). */
export function gaussianBlurPillow(img: RgbImage, sigma: number, passes = 3): RgbImage {
  if (!(sigma >= 0) || !Number.isFinite(sigma)) throw new Error(`blur: radius must be a finite number >= 0, got ${sigma}`);
  const { width: w, height: h } = img;
  let cur = Uint8Array.from(img.data);
  if (sigma === 0) return { width: w, height: h, data: cur };
  const r = boxRadiusFor(sigma, passes);
  const radius = Math.trunc(r);
  const ww = Math.trunc(f32(16777216 / f32(f32(r * 2) + 1)));
  const fw = Math.floor((16777216 - (radius * 2 + 1) * ww) / 2);
  let next = new Uint8Array(cur.length);
  const pass = (lines: number, n: number, startOf: (line: number, c: number) => number, stride: number) => {
    for (let line = 0; line < lines; line++) for (let c = 0; c < 3; c++) blurLine(cur, next, startOf(line, c), stride, n, radius, ww, fw);
    [cur, next] = [next, cur];
  };
  for (let p = 0; p < passes; p++) pass(h, w, (y, c) => 3 * y * w + c, 3); // rows
  for (let p = 0; p < passes; p++) pass(w, h, (x, c) => 3 * x + c, 3 * w); // columns (Pillow: transposed rows)
  return { width: w, height: h, data: cur };
}
