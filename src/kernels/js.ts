// The reference backend: plain TypeScript, generic over Float32Array and
// Float64Array. Clear first, then reasonably quick (i-k-j loop order so the
// inner loop streams through contiguous memory).

import { leadingDims, type Backend, type MatmulArgs } from './backend.js';
import { erf, erfFast } from '../tensor/erf.js';
import type { TypedArray } from '../tensor/dtype.js';

function matmul(p: MatmulArgs): void {
  const { a, b, c, batch, m, n, k, transA, transB, bias } = p;
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
      if (bias) for (let j = 0; j < n; j++) c[crow + j] = bias[(p.biasOffset ?? 0) + j]!;
      else for (let j = 0; j < n; j++) c[crow + j] = 0;
      for (let q = 0; q < k; q++) {
        const av = transA ? a[ao + q * lda + i]! : a[ao + i * lda + q]!;
        if (av === 0) continue;
        const brow = bo + q * n;
        for (let j = 0; j < n; j++) c[crow + j] += av * bb[brow + j]!;
      }
    }
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

function layerNorm(x: TypedArray, y: TypedArray, rstd: TypedArray, rows: number, cols: number, eps: number): void {
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
    for (let j = 0; j < cols; j++) y[o + j] = (x[o + j]! - mean) * rs;
  }
}

function layerNormBackward(y: TypedArray, rstd: TypedArray, dy: TypedArray, dx: TypedArray, rows: number, cols: number): void {
  for (let r = 0; r < rows; r++) {
    const o = r * cols;
    let mdy = 0;
    let mdyy = 0;
    for (let j = 0; j < cols; j++) {
      mdy += dy[o + j]!;
      mdyy += dy[o + j]! * y[o + j]!;
    }
    mdy /= cols;
    mdyy /= cols;
    const rs = rstd[r]!;
    for (let j = 0; j < cols; j++) dx[o + j] = rs * (dy[o + j]! - mdy - y[o + j]! * mdyy);
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

export const jsBackend: Backend = {
  name: 'js', matmulExtended: true, matmul, softmax, softmaxBackward, layerNorm, layerNormBackward, gelu, geluBackward,
};
