// The MLP kernel (Kernels.mlp) composed from a backend's own matmul: the
// reference, and what the registry gives a backend that has no fused one.

import type { MatmulArgs, MlpArgs } from './backend.js';

export function composedMlp(matmul: (p: MatmulArgs) => void, p: MlpArgs): void {
  const { x, rows, d, hidden, out } = p;
  const h = new (x.constructor as Float32ArrayConstructor | Float64ArrayConstructor)(rows * hidden);
  matmul({
    a: x,
    aOffset: 0,
    strideA: 0,
    transA: false,
    b: p.w1,
    bOffset: p.w1Offset,
    strideB: 0,
    transB: true,
    constantB: p.constant,
    c: h,
    cOffset: 0,
    batch: 1,
    m: rows,
    n: hidden,
    k: d,
    ...(p.b1 ? { bias: p.b1, biasOffset: 0 } : {}),
    epilogue: 'gelu',
  });
  if (p.residual) out.set(p.residual.subarray(0, rows * d));
  matmul({
    a: h,
    aOffset: 0,
    strideA: 0,
    transA: false,
    b: p.w2,
    bOffset: p.w2Offset,
    strideB: 0,
    transB: true,
    constantB: p.constant,
    c: out,
    cOffset: 0,
    batch: 1,
    m: rows,
    n: d,
    k: hidden,
    ...(p.b2 ? { bias: p.b2, biasOffset: 0 } : {}),
    accumulate: !!p.residual,
  });
}
