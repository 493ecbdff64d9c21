// Composite ops built from primitives: they need no gradient code of their own.

import { add, mul, div, erf } from './elementwise.js';
import { layerNorm, linear, matmul } from './linalg.js';
import { reshape, permute, transpose } from './movement.js';
import { sum } from './reduce.js';
import { normAxes } from './shape.js';
import { Tensor, fromData } from './tensor.js';
import { allocate, type DType } from '../kernels/dtype.js';

/** Mean over `axes` (all when omitted). */
export function mean(x: Tensor, axes?: number | readonly number[] | null, keepdim = false): Tensor {
  const ax = normAxes(axes ?? undefined, x.rank);
  const n = ax.reduce((acc, a) => acc * x.shape[a]!, 1);
  return div(sum(x, ax, keepdim), n);
}

/** Exact GELU from primitives: x Phi(x) = 0.5 x (1 + erf(x / sqrt 2)). The fused `gelu` primitive is what models use; tests hold the two equal. */
export function geluComposite(x: Tensor): Tensor {
  return mul(mul(x, 0.5), add(erf(mul(x, Math.SQRT1_2)), 1));
}

/** y = x W^T + b from primitives (matmul + add); the fused `linear` primitive is what models use. */
export function linearComposite(x: Tensor, weight: Tensor, bias?: Tensor | null): Tensor {
  const y = matmul(x, transpose(weight));
  return bias ? add(y, bias) : y;
}

/** LayerNorm with its affine part, fused: layerNorm(x) * weight + bias. */
export function layerNormAffine(x: Tensor, weight: Tensor, bias: Tensor | null, eps: number): Tensor {
  return layerNorm(x, eps, weight, bias);
}

/** The same from primitives (normalise, mul, add): the fused op is held equal to it in the tests. */
export function layerNormAffineComposite(x: Tensor, weight: Tensor, bias: Tensor | null, eps: number): Tensor {
  const y = mul(layerNorm(x, eps), weight);
  return bias ? add(y, bias) : y;
}

/**
 * Patch embedding = a conv with stride = kernel = p, done as im2col + matmul.
 * image [B, C, H, W], weight [E, C, p, p], bias [E] -> tokens [B, (H/p)(W/p), E]
 * in row-major patch order.
 */
export function patchEmbed(image: Tensor, weight: Tensor, bias: Tensor | null, p: number): Tensor {
  const [b, c, h, w] = image.shape as [number, number, number, number];
  if (image.rank !== 4) throw new Error(`patchEmbed expects [B, C, H, W], got [${image.shape}]`);
  if (h % p !== 0 || w % p !== 0) throw new Error(`image ${h}x${w} is not a multiple of patch size ${p}`);
  const e = weight.shape[0]!;
  if (weight.size !== e * c * p * p) throw new Error(`patch weight [${weight.shape}] does not fit ${c} channels and patch ${p}`);
  const gh = h / p;
  const gw = w / p;
  // [B, C, gh, p, gw, p] -> [B, gh, gw, C, p, p] -> [B, gh*gw, C*p*p]
  const cols = reshape(permute(reshape(image, [b, c, gh, p, gw, p]), [0, 2, 4, 1, 3, 5]), [b, gh * gw, c * p * p]);
  return linear(cols, reshape(weight, [e, c * p * p]), bias);
}

export type ResizeMode = 'bilinear' | 'bicubic' | 'nearest';

/**
 * The [out, in] matrix of a 1-D resize, PyTorch's F.interpolate semantics with
 * align_corners=False. Without antialias: bilinear (source index clamped at 0)
 * or Keys bicubic with a = -0.75 and border-replicated taps. With antialias
 * (what timm uses for position embeddings): Pillow-style filters (triangle, or
 * cubic with a = -0.5) widened by the downscale factor and normalised per row.
 */
export function resizeMatrix(inSize: number, outSize: number, mode: ResizeMode, antialias = false, dtype: DType = 'float32'): Tensor {
  const m = allocate(dtype, outSize * inSize);
  resizeTaps(inSize, outSize, mode, antialias).forEach((t, i) => {
    for (let q = 0; q < t.index.length; q++) m[i * inSize + t.index[q]!] = t.weight[q]!;
  });
  return fromData(m, [outSize, inSize]);
}

/** The nonzero entries of one row of a resize matrix: source indices (increasing) and their weights. */
export interface ResizeTaps {
  index: number[];
  weight: number[];
}

/**
 * The rows of resizeMatrix as sparse taps, so a large image is resized in
 * memory proportional to outSize x filter support, never outSize x inSize.
 */
export function resizeTaps(inSize: number, outSize: number, mode: ResizeMode, antialias = false): ResizeTaps[] {
  const scale = inSize / outSize;
  const rows: ResizeTaps[] = [];
  for (let i = 0; i < outSize; i++) {
    const t: ResizeTaps = { index: [], weight: [] };
    // clamped indices are non-decreasing, so a repeat is always the last entry
    const put = (j: number, v: number) => {
      const jj = Math.min(Math.max(j, 0), inSize - 1);
      const last = t.index.length - 1;
      if (last >= 0 && t.index[last] === jj) t.weight[last]! += v;
      else {
        t.index.push(jj);
        t.weight.push(v);
      }
    };
    if (mode === 'nearest') {
      put(Math.min(Math.floor(i * scale), inSize - 1), 1);
    } else if (antialias) {
      const support = (mode === 'bicubic' ? 2 : 1) * Math.max(scale, 1);
      const center = scale * (i + 0.5);
      const invScale = 1 / Math.max(scale, 1);
      const lo = Math.max(Math.trunc(center - support + 0.5), 0);
      const hi = Math.min(Math.trunc(center + support + 0.5), inSize);
      const ws: number[] = [];
      let total = 0;
      for (let j = lo; j < hi; j++) {
        const x = (j - center + 0.5) * invScale;
        const v = mode === 'bicubic' ? cubic(x, -0.5) : Math.max(0, 1 - Math.abs(x));
        ws.push(v);
        total += v;
      }
      for (let j = lo; j < hi; j++) if (total !== 0) put(j, ws[j - lo]! / total);
    } else if (mode === 'bilinear') {
      const src = Math.max((i + 0.5) * scale - 0.5, 0);
      const i0 = Math.floor(src);
      const l = src - i0;
      put(i0, 1 - l);
      put(Math.min(i0 + 1, inSize - 1), l);
    } else {
      const src = (i + 0.5) * scale - 0.5;
      const i0 = Math.floor(src);
      const t0 = src - i0;
      for (let k = -1; k <= 2; k++) put(i0 + k, cubic(k - t0, -0.75));
    }
    rows.push(t);
  }
  return rows;
}

/** Keys' cubic convolution kernel with parameter a. */
function cubic(x: number, a: number): number {
  const ax = Math.abs(x);
  if (ax <= 1) return ((a + 2) * ax - (a + 3)) * ax * ax + 1;
  if (ax < 2) return ((a * ax - 5 * a) * ax + 8 * a) * ax - 4 * a;
  return 0;
}

/** Resize the last two dims of x to [outH, outW] as Rh X Rw^T (linear, so differentiable for free). */
export function resize(x: Tensor, size: readonly [number, number], mode: ResizeMode, antialias = false): Tensor {
  const h = x.shape[x.rank - 2]!;
  const w = x.shape[x.rank - 1]!;
  const rh = resizeMatrix(h, size[0], mode, antialias, x.dtype);
  const rw = resizeMatrix(w, size[1], mode, antialias, x.dtype);
  return matmul(matmul(rh, x), transpose(rw));
}
