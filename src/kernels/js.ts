// The reference backend: plain TypeScript, generic over Float32Array and
// Float64Array. Clear first, then reasonably quick (i-k-j loop order so the
// inner loop streams through contiguous memory).

import { leadingDims, type Backend, type MatmulArgs } from './backend.js';
import { erf, erfFast } from './erf.js';
import type { TypedArray } from './dtype.js';
import { composedMlp } from './mlp.js';

function matmul(p: MatmulArgs): void {
  const { a, b, c, batch, m, n, k, transA, transB, bias, accumulate } = p;
  const { lda, ldb } = leadingDims(p);
  // B as a dense [k, n] scratch when it is transposed or row-strided
  const scratch = transB || ldb !== n ? new (b.constructor as { new (n: number): TypedArray })(k * n) : null;
  for (let bi = 0; bi < batch; bi++) {
    const ao = p.aOffset + bi * p.strideA;
    let bo = p.bOffset + bi * p.strideB;
    let bb: TypedArray = b;
    if (scratch) {
      for (let q = 0; q < k; q++) for (let j = 0; j < n; j++) scratch[q * n + j] = transB ? b[bo + j * ldb + q]! : b[bo + q * ldb + j]!;
      bb = scratch;
      bo = 0;
    }
    const co = p.cOffset + bi * m * n;
    for (let i = 0; i < m; i++) {
      const crow = co + i * n;
      if (bias) {
        const bo = p.biasOffset ?? 0;
        if (accumulate) for (let j = 0; j < n; j++) c[crow + j]! += bias[bo + j]!;
        else for (let j = 0; j < n; j++) c[crow + j] = bias[bo + j]!;
      } else if (!accumulate) for (let j = 0; j < n; j++) c[crow + j] = 0;
      for (let q = 0; q < k; q++) {
        const av = transA ? a[ao + q * lda + i]! : a[ao + i * lda + q]!;
        if (av === 0) continue;
        const brow = bo + q * n;
        for (let j = 0; j < n; j++) c[crow + j]! += av * bb[brow + j]!;
      }
    }
  }
  if (p.epilogue === 'gelu') {
    const all = c.subarray(p.cOffset, p.cOffset + batch * m * n);
    p.preActivation?.set(all);
    gelu(all, all, all.length);
  }
}

function softmax(x: TypedArray, y: TypedArray, rows: number, cols: number): void {
  for (let r = 0; r < rows; r++) {
    const o = r * cols;
    let mx = -Infinity;
    for (let j = 0; j < cols; j++) if (x[o + j]! > mx) mx = x[o + j]!;
    let s = 0;
    for (let j = 0; j < cols; j++) {
      const e = Math.exp(x[o + j]! - mx);
      y[o + j] = e;
      s += e;
    }
    const inv = 1 / s;
    for (let j = 0; j < cols; j++) y[o + j]! *= inv;
  }
}

function softmaxBackward(y: TypedArray, dy: TypedArray, dx: TypedArray, rows: number, cols: number): void {
  for (let r = 0; r < rows; r++) {
    const o = r * cols;
    let dot = 0;
    for (let j = 0; j < cols; j++) dot += dy[o + j]! * y[o + j]!;
    for (let j = 0; j < cols; j++) dx[o + j] = y[o + j]! * (dy[o + j]! - dot);
  }
}

function layerNorm(
  x: TypedArray,
  y: TypedArray,
  rstd: TypedArray,
  rows: number,
  cols: number,
  eps: number,
  weight?: TypedArray | null,
  bias?: TypedArray | null,
  xhat?: TypedArray | null,
): void {
  for (let r = 0; r < rows; r++) {
    const o = r * cols;
    let mean = 0;
    for (let j = 0; j < cols; j++) mean += x[o + j]!;
    mean /= cols;
    let v = 0;
    for (let j = 0; j < cols; j++) {
      const d = x[o + j]! - mean;
      v += d * d;
    }
    const rs = 1 / Math.sqrt(v / cols + eps);
    rstd[r] = rs;
    if (weight && xhat) for (let j = 0; j < cols; j++) xhat[o + j] = (x[o + j]! - mean) * rs;
    if (!weight) for (let j = 0; j < cols; j++) y[o + j] = (x[o + j]! - mean) * rs;
    else if (!bias) for (let j = 0; j < cols; j++) y[o + j] = (x[o + j]! - mean) * rs * weight[j]!;
    else for (let j = 0; j < cols; j++) y[o + j] = (x[o + j]! - mean) * rs * weight[j]! + bias[j]!;
  }
}

function layerNormBackward(y: TypedArray, rstd: TypedArray, dy: TypedArray, dx: TypedArray, rows: number, cols: number, weight?: TypedArray | null): void {
  for (let r = 0; r < rows; r++) {
    const o = r * cols;
    // with a weight, dy * w is what flows into xhat; dx holds it until overwritten below
    let g = dy;
    if (weight) {
      for (let j = 0; j < cols; j++) dx[o + j] = dy[o + j]! * weight[j]!;
      g = dx;
    }
    let mdy = 0;
    let mdyy = 0;
    for (let j = 0; j < cols; j++) {
      mdy += g[o + j]!;
      mdyy += g[o + j]! * y[o + j]!;
    }
    mdy /= cols;
    mdyy /= cols;
    const rs = rstd[r]!;
    for (let j = 0; j < cols; j++) dx[o + j] = rs * (g[o + j]! - mdy - y[o + j]! * mdyy);
  }
}

function gelu(x: TypedArray, y: TypedArray, n: number): void {
  const e = x instanceof Float64Array ? erf : erfFast;
  for (let i = 0; i < n; i++) {
    const v = x[i]!;
    y[i] = 0.5 * v * (1 + e(v * Math.SQRT1_2));
  }
}

function geluBackward(x: TypedArray, dy: TypedArray, dx: TypedArray, n: number): void {
  const e = x instanceof Float64Array ? erf : erfFast;
  for (let i = 0; i < n; i++) {
    const v = x[i]!;
    dx[i] = dy[i]! * (0.5 * (1 + e(v * Math.SQRT1_2)) + v * INV_SQRT_2PI * Math.exp(-0.5 * v * v));
  }
}

const INV_SQRT_2PI = 0.3989422804014327;

/**
 * Fused attention (see Kernels.attention), head by head and query row by
 * query row: scores as dot products of contiguous q and k rows, a stable
 * softmax (max subtracted), then the row of out as a sum of v rows.
 */
function attention(
  qkv: TypedArray,
  out: TypedArray,
  attnOut: TypedArray | null,
  batch: number,
  tokens: number,
  heads: number,
  headDim: number,
  scale: number,
): void {
  const d = heads * headDim;
  const ld = 3 * d;
  // without an output for the maps, each row of probabilities goes through one scratch row
  const scratch = attnOut ? null : new (qkv.constructor as { new (n: number): TypedArray })(tokens);
  const attn = attnOut ?? scratch!;
  for (let b = 0; b < batch; b++) {
    const item = b * tokens * ld;
    for (let h = 0; h < heads; h++) {
      const q0 = item + h * headDim;
      const k0 = q0 + d;
      const v0 = q0 + 2 * d;
      for (let n = 0; n < tokens; n++) {
        const row = attnOut ? ((b * heads + h) * tokens + n) * tokens : 0;
        const qr = q0 + n * ld;
        let mx = -Infinity;
        for (let m = 0; m < tokens; m++) {
          const kr = k0 + m * ld;
          let s = 0;
          for (let j = 0; j < headDim; j++) s += qkv[qr + j]! * qkv[kr + j]!;
          attn[row + m] = scale * s;
          if (attn[row + m]! > mx) mx = attn[row + m]!;
        }
        let sum = 0;
        for (let m = 0; m < tokens; m++) {
          const e = Math.exp(attn[row + m]! - mx);
          attn[row + m] = e;
          sum += e;
        }
        const inv = 1 / sum;
        const o = (b * tokens + n) * d + h * headDim;
        for (let j = 0; j < headDim; j++) out[o + j] = 0;
        for (let m = 0; m < tokens; m++) {
          const p = (attn[row + m]! *= inv);
          const vr = v0 + m * ld;
          for (let j = 0; j < headDim; j++) out[o + j]! += p * qkv[vr + j]!;
        }
      }
    }
  }
}

/**
 * Attention's gradient (see Kernels.attentionBackward), head by head and
 * query row by query row: the row of dP as dot products of contiguous dO
 * and v rows, the row of dS in place of it, then the row of dQ as a sum of
 * k rows while the rows of dK and dV gather that row's contributions.
 */
function attentionBackward(
  qkv: TypedArray,
  attn: TypedArray,
  g: TypedArray,
  dqkv: TypedArray,
  batch: number,
  tokens: number,
  heads: number,
  headDim: number,
  scale: number,
): void {
  const d = heads * headDim;
  const ld = 3 * d;
  const dS = new (qkv.constructor as { new (n: number): TypedArray })(tokens);
  for (let b = 0; b < batch; b++) {
    const item = b * tokens * ld;
    for (let h = 0; h < heads; h++) {
      const q0 = item + h * headDim;
      const k0 = q0 + d;
      const v0 = q0 + 2 * d;
      // dK and dV gather over the query rows
      for (let m = 0; m < tokens; m++) {
        for (let j = 0; j < headDim; j++) dqkv[k0 + m * ld + j] = dqkv[v0 + m * ld + j] = 0;
      }
      for (let n = 0; n < tokens; n++) {
        const row = ((b * heads + h) * tokens + n) * tokens;
        const gr = (b * tokens + n) * d + h * headDim;
        let dot = 0;
        for (let m = 0; m < tokens; m++) {
          const vr = v0 + m * ld;
          let s = 0;
          for (let j = 0; j < headDim; j++) s += g[gr + j]! * qkv[vr + j]!;
          dS[m] = s;
          dot += s * attn[row + m]!;
        }
        // q, k, v rows sit at the same places in qkv and dqkv
        const qr = q0 + n * ld;
        for (let j = 0; j < headDim; j++) dqkv[qr + j] = 0;
        for (let m = 0; m < tokens; m++) {
          const p = attn[row + m]!;
          const ds = scale * p * (dS[m]! - dot);
          const kr = k0 + m * ld;
          const vr = v0 + m * ld;
          for (let j = 0; j < headDim; j++) {
            dqkv[qr + j]! += ds * qkv[kr + j]!;
            dqkv[kr + j]! += ds * qkv[qr + j]!;
            dqkv[vr + j]! += p * g[gr + j]!;
          }
        }
      }
    }
  }
}

export const jsBackend: Backend = {
  name: 'js',
  matmulExtended: true,
  matmul,
  softmax,
  softmaxBackward,
  layerNorm,
  layerNormBackward,
  gelu,
  geluBackward,
  attention,
  attentionBackward,
  mlp: (p) => composedMlp(matmul, p),
};
