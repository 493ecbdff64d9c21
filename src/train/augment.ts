// Training augmentation over 8-bit RGB images, as torchvision's transforms
// define them: RandomResizedCrop, RandomHorizontalFlip, and RandomAffine's
// rotation and translation. Pure TypeScript over RgbImage, so it runs where
// the rest of the engine runs. All randomness comes from the caller's `next`
// (uniform in [0, 1)), in a fixed order, so a seeded stream gives the same
// images on every machine:
//   1. crop (when set): per try, the scale then the log aspect ratio (at most
//      10 tries), then the top then the left offset of the accepted try; the
//      centre-crop fallback draws nothing more.
//   2. flip (when true): one draw; flipped when it is < 0.5.
//   3. rotate (when set): one draw, the angle uniform in [-rotate, rotate].
//   4. translate (when set): two draws, the x then the y shift.
// An option that is not set draws nothing.
import type { RgbImage } from '../io/image.js';
import type { Interpolation } from '../vit/config.js';
import { cropRgb, resizeRgb } from '../vit/preprocess.js';

export interface AugmentOptions {
  /** RandomResizedCrop as torchvision: area fraction `scale`, aspect ratio `ratio` (w / h), 10 tries then a centre crop */
  crop?: { scale: [number, number]; ratio: [number, number] };
  /** max shift as a fraction of width / height (RandomAffine translate): whole pixels, fill 0 */
  translate?: number;
  /** horizontal flip with p = 0.5 */
  flip?: boolean;
  /** max rotation in degrees (counter-clockwise positive, about the centre), bilinear, fill 0 */
  rotate?: number;
  /** resampling of the crop (or of the whole image without one) to the output size; bilinear (torchvision's default) when omitted */
  interpolation?: Interpolation;
}

/** No augmentation: the image is only resized (squashed) to the output size. */
export const NO_AUGMENT: Readonly<AugmentOptions> = Object.freeze({});

/** timm's / torchvision's usual fine-tuning crop and flip. */
export const DEFAULT_AUGMENT_CLASSIFICATION: Readonly<AugmentOptions> = Object.freeze({
  crop: Object.freeze({ scale: [0.8, 1] as [number, number], ratio: [3 / 4, 4 / 3] as [number, number] }),
  flip: true,
});

/**
 * The default for a dataset kind: none for regression, whose targets (a
 * position, a size) a crop, flip or rotation would change without the
 * targets following.
 */
export function augmentFor(kind: 'classification' | 'regression'): Readonly<AugmentOptions> {
  return kind === 'classification' ? DEFAULT_AUGMENT_CLASSIFICATION : NO_AUGMENT;
}

/** Python's round(): halves to even (torchvision rounds crop sizes and shifts with it). */
function pyRound(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

const uniform = (next: () => number, lo: number, hi: number): number => lo + (hi - lo) * next();

function checkOptions(o: AugmentOptions): void {
  if (o.crop) {
    const [s0, s1] = o.crop.scale;
    const [r0, r1] = o.crop.ratio;
    if (!(s0 > 0 && s0 <= s1 && s1 <= 1)) throw new Error(`augment: crop scale must satisfy 0 < min <= max <= 1, got [${s0}, ${s1}]`);
    if (!(r0 > 0 && r0 <= r1 && Number.isFinite(r1))) throw new Error(`augment: crop ratio must satisfy 0 < min <= max, got [${r0}, ${r1}]`);
  }
  if (o.translate !== undefined && !(o.translate >= 0 && o.translate <= 1)) throw new Error(`augment: translate must be in [0, 1], got ${o.translate}`);
  if (o.rotate !== undefined && !(o.rotate >= 0 && o.rotate <= 180)) throw new Error(`augment: rotate must be in [0, 180] degrees, got ${o.rotate}`);
}

/** torchvision RandomResizedCrop.get_params: [top, left, height, width]. */
export function randomResizedCropBox(
  width: number,
  height: number,
  scale: [number, number],
  ratio: [number, number],
  next: () => number,
): [number, number, number, number] {
  const area = width * height;
  const logRatio: [number, number] = [Math.log(ratio[0]), Math.log(ratio[1])];
  for (let t = 0; t < 10; t++) {
    const targetArea = area * uniform(next, scale[0], scale[1]);
    const aspect = Math.exp(uniform(next, logRatio[0], logRatio[1]));
    const w = pyRound(Math.sqrt(targetArea * aspect));
    const h = pyRound(Math.sqrt(targetArea / aspect));
    if (w > 0 && w <= width && h > 0 && h <= height) {
      // torch.randint(0, height - h + 1): an integer in [0, height - h]
      const top = Math.floor(next() * (height - h + 1));
      const left = Math.floor(next() * (width - w + 1));
      return [top, left, h, w];
    }
  }
  // fallback: the largest centre crop within the ratio range
  const inRatio = width / height;
  let w = width;
  let h = height;
  if (inRatio < ratio[0]) h = pyRound(w / ratio[0]);
  else if (inRatio > ratio[1]) w = pyRound(h * ratio[1]);
  return [Math.floor((height - h) / 2), Math.floor((width - w) / 2), h, w];
}

/** Mirror left to right. */
export function flipHorizontal(img: RgbImage): RgbImage {
  const { width: w, height: h } = img;
  const out = new Uint8Array(w * h * 3);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) {
      const s = (y * w + (w - 1 - x)) * 3;
      const d = (y * w + x) * 3;
      out[d] = img.data[s]!;
      out[d + 1] = img.data[s + 1]!;
      out[d + 2] = img.data[s + 2]!;
    }
  return { width: w, height: h, data: out };
}

/**
 * Rotate by `degrees` (counter-clockwise on screen) about the image centre,
 * then shift by whole pixels (tx right, ty down), as RandomAffine composes
 * them; bilinear, pixels from outside the image are 0. No rotation is an exact
 * integer shift (no resampling).
 */
export function affineRgb(img: RgbImage, degrees: number, tx: number, ty: number): RgbImage {
  const { width: w, height: h, data: src } = img;
  const out = new Uint8Array(w * h * 3);
  if (degrees === 0) {
    for (let y = 0; y < h; y++) {
      const sy = y - ty;
      if (sy < 0 || sy >= h) continue;
      for (let x = 0; x < w; x++) {
        const sx = x - tx;
        if (sx < 0 || sx >= w) continue;
        out.set(src.subarray((sy * w + sx) * 3, (sy * w + sx) * 3 + 3), (y * w + x) * 3);
      }
    }
    return { width: w, height: h, data: out };
  }
  const a = (degrees * Math.PI) / 180;
  const cos = Math.cos(a);
  const sin = Math.sin(a);
  const px = (x: number, y: number, c: number): number => (x < 0 || y < 0 || x >= w || y >= h ? 0 : src[(y * w + x) * 3 + c]!);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) {
      // the output pixel's centre, relative to the image centre, before the shift
      const dx = x + 0.5 - w / 2 - tx;
      const dy = y + 0.5 - h / 2 - ty;
      // inverse of the on-screen counter-clockwise rotation (y points down)
      const sx = cos * dx - sin * dy + w / 2 - 0.5;
      const sy = sin * dx + cos * dy + h / 2 - 0.5;
      const x0 = Math.floor(sx);
      const y0 = Math.floor(sy);
      const fx = sx - x0;
      const fy = sy - y0;
      for (let c = 0; c < 3; c++) {
        const v = (1 - fy) * ((1 - fx) * px(x0, y0, c) + fx * px(x0 + 1, y0, c)) + fy * ((1 - fx) * px(x0, y0 + 1, c) + fx * px(x0 + 1, y0 + 1, c));
        out[(y * w + x) * 3 + c] = Math.min(255, Math.max(0, Math.round(v)));
      }
    }
  return { width: w, height: h, data: out };
}

/**
 * The augmented image at `outSize` [height, width]: crop (or the whole image)
 * resized to outSize, then flip, then rotation and translation. Randomness is
 * drawn from `next` in the order the module comment gives.
 */
export function augment(img: RgbImage, opts: Readonly<AugmentOptions>, next: () => number, outSize: [number, number]): RgbImage {
  checkOptions(opts);
  const [oh, ow] = outSize;
  const interp = opts.interpolation ?? 'bilinear';
  let cur = img;
  if (opts.crop) {
    const [top, left, h, w] = randomResizedCropBox(img.width, img.height, opts.crop.scale, opts.crop.ratio, next);
    cur = cropRgb(img, left, top, w, h);
  }
  if (cur.width !== ow || cur.height !== oh) cur = resizeRgb(cur, ow, oh, interp);
  if (opts.flip && next() < 0.5) cur = flipHorizontal(cur);
  const angle = opts.rotate !== undefined ? uniform(next, -opts.rotate, opts.rotate) : 0;
  let tx = 0;
  let ty = 0;
  if (opts.translate !== undefined) {
    // RandomAffine: round(uniform(-max, max)) with max = translate * size
    tx = pyRound(uniform(next, -opts.translate * ow, opts.translate * ow));
    ty = pyRound(uniform(next, -opts.translate * oh, opts.translate * oh));
  }
  if (angle !== 0 || tx !== 0 || ty !== 0) cur = affineRgb(cur, angle, tx, ty);
  return cur;
}
