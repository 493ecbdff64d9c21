// The reference backend: plain TypeScript, generic over Float32Array and
// Float64Array. Clear first, then reasonably quick (i-k-j loop order so the
// inner loop streams through contiguous memory).

import type { Backend, MatmulArgs } from './backend.js';
import type { TypedArray } from '../tensor/dtype.js';

function matmul(p: MatmulArgs): void {
  const { a, b, c, batch, m, n, k, transA, transB } = p;
  // row of B as a contiguous scratch when B is transposed
  const bt = transB ? new (b.constructor as { new (n: number): TypedArray })(k * n) : null;
  for (let bi = 0; bi < batch; bi++) {
    const ao = p.aOffset + bi * p.strideA;
    let bo = p.bOffset + bi * p.strideB;
    let bb: TypedArray = b;
    if (bt) {
      // transpose [n, k] -> [k, n] once per batch item
      for (let j = 0; j < n; j++) for (let q = 0; q < k; q++) bt[q * n + j] = b[bo + j * k + q]!;
      bb = bt;
      bo = 0;
    }
    const co = p.cOffset + bi * m * n;
    for (let i = 0; i < m; i++) {
      const crow = co + i * n;
      for (let j = 0; j < n; j++) c[crow + j] = 0;
      for (let q = 0; q < k; q++) {
        const av = transA ? a[ao + q * m + i]! : a[ao + i * k + q]!;
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

export const jsBackend: Backend = { name: 'js', matmul, softmax, softmaxBackward, layerNorm, layerNormBackward };
