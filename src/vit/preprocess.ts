// Image -> model input. Two modes:
//   squash: resize straight to the model size (what the CDAM reference does)
//   crop:   timm eval: short side to floor(size / crop_pct), centre crop
// Resampling is Pillow's: separable filters widened when downscaling
// (antialias), horizontal pass then vertical, 22-bit fixed-point weights,
// rounded to uint8 after each pass.
// An image already at the target size is used as is.

import { MAX_IMAGE_PIXELS, type RgbImage } from '../io/image.js';
import { resizeTaps, Tensor, allocate } from '../tensor/index.js';
import type { Interpolation, PreprocessConfig } from './config.js';

export type ResizeMode = 'squash' | 'crop';
export const RESIZE_MODES: readonly ResizeMode[] = ['squash', 'crop'];

/**
 * The one default for classifying and explaining: squash keeps the whole photo
 * (the map covers everything the user sees) and is what the CDAM reference
 * code does; crop is timm's evaluation transform.
 */
export const DEFAULT_RESIZE: ResizeMode = 'squash';

/** One line saying what was done to the image ("squash 451x300 -> 224x224, bicubic"). */
export function describePreprocessing(img: { width: number; height: number }, cfg: PreprocessConfig, mode: ResizeMode): string {
  const [h, w] = cfg.size;
  if (img.width === w && img.height === h) return `${img.width}x${img.height} used as is (already the model size)`;
  const how =
    mode === 'squash'
      ? `squash ${img.width}x${img.height} -> ${w}x${h}`
      : `crop: short side to ${Math.floor(Math.min(h, w) / cfg.cropPct)}, centre ${w}x${h} of ${img.width}x${img.height}`;
  return `${how}, ${cfg.interpolation}`;
}

/** Whether preprocessing enlarges the image in some direction (a photo smaller than the model input). */
export function isUpscaled(img: { width: number; height: number }, cfg: PreprocessConfig, mode: ResizeMode): boolean {
  const [h, w] = cfg.size;
  if (mode === 'squash') return img.width < w || img.height < h;
  return Math.min(img.width, img.height) < Math.floor(Math.min(h, w) / cfg.cropPct);
}

/** Pillow's fixed-point precision for 8-bit resampling (32 - 8 - 2 bits). */
const PRECISION_BITS = 22;

/** Resize an RGB image the way PIL.Image.resize does (uint8 after each pass). */
export function resizeRgb(img: RgbImage, width: number, height: number, interp: Interpolation): RgbImage {
  let cur = img;
  if (width !== img.width) cur = resizeAxis(cur, width, 'x', interp);
  if (height !== img.height) cur = resizeAxis(cur, height, 'y', interp);
  return cur;
}

function resizeAxis(img: RgbImage, size: number, axis: 'x' | 'y', interp: Interpolation): RgbImage {
  const inSize = axis === 'x' ? img.width : img.height;
  const w = axis === 'x' ? size : img.width;
  const h = axis === 'x' ? img.height : size;
  const out = new Uint8Array(w * h * 3);
  const src = img.data;
  // taps per output index in Pillow's 8-bit fixed point (22 fraction bits);
  // source offsets are precomputed in bytes along the resized axis
  const ONE = 1 << PRECISION_BITS;
  const stride = axis === 'x' ? 3 : img.width * 3;
  const taps = resizeTaps(inSize, size, interp, interp !== 'nearest').map(({ index, weight }) => {
    const off: number[] = [];
    const v: number[] = [];
    index.forEach((j, q) => {
      const x = weight[q]!;
      if (x === 0) return;
      off.push(j * stride);
      v.push(x < 0 ? Math.trunc(-0.5 + x * ONE) : Math.trunc(0.5 + x * ONE));
    });
    return { off, v };
  });
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const t = taps[axis === 'x' ? x : y]!;
      const base = axis === 'x' ? y * img.width * 3 : x * 3;
      for (let c = 0; c < 3; c++) {
        let s = ONE / 2; // rounds the fixed-point sum
        for (let q = 0; q < t.off.length; q++) s += t.v[q]! * src[base + t.off[q]! + c]!;
        out[(y * w + x) * 3 + c] = Math.min(255, Math.max(0, Math.floor(s / ONE)));
      }
    }
  }
  return { width: w, height: h, data: out };
}

export function cropRgb(img: RgbImage, left: number, top: number, width: number, height: number): RgbImage {
  if (left < 0 || top < 0 || left + width > img.width || top + height > img.height) {
    throw new Error(`crop ${width}x${height}+${left}+${top} falls outside a ${img.width}x${img.height} image`);
  }
  const out = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    const s = ((top + y) * img.width + left) * 3;
    out.set(img.data.subarray(s, s + width * 3), y * width * 3);
  }
  return { width, height, data: out };
}

/** An intermediate image of w x h must stay under the pixel limit (a 1 x 3000 photo cropped would grow x248 on its long side). */
function checkIntermediate(w: number, h: number, img: RgbImage, maxPixels: number): void {
  if (w * h > maxPixels) {
    throw new Error(
      `resizing the ${img.width}x${img.height} image would make a ${w}x${h} image (${((w * h) / 1e6).toFixed(0)} million pixels; the limit is ${(maxPixels / 1e6).toFixed(0)} million): use --resize squash, or raise --max-pixels`,
    );
  }
}

/** The uint8 RGB image at model resolution (what perturbation metrics and overlays work on). */
export function toModelResolution(img: RgbImage, cfg: PreprocessConfig, mode: ResizeMode, maxPixels = MAX_IMAGE_PIXELS): RgbImage {
  const [th, tw] = cfg.size;
  if (img.width === tw && img.height === th) return img;
  if (mode === 'squash') {
    checkIntermediate(tw, img.height, img, maxPixels); // the horizontal pass comes first
    return resizeRgb(img, tw, th, cfg.interpolation);
  }
  // timm eval transform: Resize(floor(size / crop_pct)) on the short side, CenterCrop(size)
  const scaleSize = Math.floor(Math.min(th, tw) / cfg.cropPct);
  const short = Math.min(img.width, img.height);
  const long = Math.max(img.width, img.height);
  const newLong = Math.floor((scaleSize * long) / short);
  const [w, h] = img.width <= img.height ? [scaleSize, newLong] : [newLong, scaleSize];
  checkIntermediate(w, Math.max(h, img.height), img, maxPixels);
  const resized = resizeRgb(img, w, h, cfg.interpolation);
  if (w < tw || h < th) throw new Error(`image ${img.width}x${img.height} is too small to crop ${tw}x${th}`);
  return cropRgb(resized, Math.round((w - tw) / 2), Math.round((h - th) / 2), tw, th);
}

/** uint8 RGB (HWC) -> normalised float tensor [1, 3, H, W]. */
export function normalise(img: RgbImage, cfg: PreprocessConfig): Tensor {
  const { width: w, height: h } = img;
  const data = allocate('float32', 3 * w * h);
  for (let c = 0; c < 3; c++) {
    const m = cfg.mean[c]!;
    const s = cfg.std[c]!;
    for (let i = 0; i < w * h; i++) data[c * w * h + i] = (img.data[i * 3 + c]! / 255 - m) / s;
  }
  return new Tensor(data, [1, 3, h, w]);
}

export interface Prepared {
  /** the image the model sees, uint8 RGB at model resolution */
  rgb: RgbImage;
  /** normalised input [1, 3, H, W] */
  input: Tensor;
}

export function prepareImage(img: RgbImage, cfg: PreprocessConfig, mode: ResizeMode = DEFAULT_RESIZE, maxPixels = MAX_IMAGE_PIXELS): Prepared {
  const rgb = toModelResolution(img, cfg, mode, maxPixels);
  return { rgb, input: normalise(rgb, cfg) };
}
