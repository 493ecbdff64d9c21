// Host side of the fused MLP (Kernels.mlp): x goes into wasm memory once,
// fc1 with its bias and GELU writes the hidden activations there, fc2 reads
// them in place and adds its bias and the residual, and only the output
// comes back. Against two matmul calls this saves copying the hidden layer
// out and in again and allocating it in JS (rows x hidden floats: 4.8 MB
// per block for a batch of 8 ViT-Ti images, 9.7 MB for ViT-S). Both weights
// must be kept packed (frozen weights that fit the resident region);
// anything else takes the composed path.

import type { MlpArgs } from '../backend.js';
import { MR, NC, NR, packedBytes, prepack } from './matmul.kernel.js';
import { gemmItem, writeJob, chunksPerItem } from './jobs.js';
import { gemmJob, type GemmJob } from './codec.js';
import { MIN_MACS, PARALLEL_MIN_MACS, chunkLength, residentB } from './matmul.host.js';
import type { Runtime } from './runtime.js';

const align64 = (bytes: number): number => Math.ceil(bytes / 64) * 64;

export function wasmMlp(rt: Runtime, p: MlpArgs, composed: (p: MlpArgs) => void): void {
  const { x, rows, d, hidden, w1, w2, b1, b2, residual, out } = p;
  const f32 = (a: unknown): a is Float32Array => a instanceof Float32Array;
  if (!(f32(x) && f32(w1) && f32(w2) && f32(out) && (b1 === null || f32(b1)) && (b2 === null || f32(b2)) && (residual === null || f32(residual)))) {
    return composed(p);
  }
  if (rows <= 0 || d <= 0) return;
  if (!p.constant || rows * d * hidden === 0 || rt.small(rows * d * hidden, MIN_MACS)) return composed(p);
  // both weights packed in the resident region; packing the second must not have emptied it of the first
  const p1 = residentB(rt, w1, p.w1Offset, d, true, hidden, d);
  const resets = rt.resident.resets;
  const p2 = residentB(rt, w2, p.w2Offset, hidden, true, d, hidden);
  if (!p1 || !p2 || rt.resident.resets !== resets) return composed(p);

  // A split by rows uses the packed weight as is; a split by columns packs x (or h) once, shared by the chunks.
  const rows1 = rows > hidden;
  const rows2 = rows > d;
  let at = rt.base;
  const take = (bytes: number): number => {
    const addr = align64(at);
    at = addr + bytes;
    return addr;
  };
  const xAt = take(rows * d * 4);
  const hAt = take(rows * hidden * 4);
  const oAt = take(rows * d * 4);
  const pack1 = rows1 ? p1 : take(packedBytes(rows, hidden, d, false));
  const pack2 = rows2 ? p2 : take(packedBytes(rows, d, hidden, false));
  // the micro-kernel reads whole panels of a bias row
  const b1At = b1 ? take(Math.ceil(hidden / NR) * NR * 4) : 0;
  const b2At = b2 ? take(Math.ceil(d / NR) * NR * 4) : 0;
  const bytes = at - rt.base;
  if (bytes > rt.maxBytes) return composed(p);

  const threads = rows * d * hidden < PARALLEL_MIN_MACS ? 1 : rt.threads;
  const job = (
    a: number,
    lda: number,
    c: number,
    packed: number,
    packedB: number,
    bias: number,
    byRows: boolean,
    n: number,
    k: number,
    more: Partial<GemmJob>,
  ): GemmJob => ({
    a,
    b: 0,
    c,
    packed,
    strideA: 0,
    strideB: 0,
    stridePacked: 0,
    lda,
    ldb: 0,
    bias,
    packedB,
    accumulate: false,
    gelu: false,
    pre: 0,
    transA: false,
    transB: true,
    batch: 1,
    m: rows,
    n,
    k,
    byRows,
    chunk: chunkLength(1, byRows ? rows : n, byRows ? MR : NR, threads, byRows ? Infinity : NC),
    ...more,
  });
  const fc1 = job(xAt, d, hAt, pack1, p1, b1At, rows1, hidden, d, { gelu: true });
  const fc2 = job(hAt, hidden, oAt, pack2, p2, b2At, rows2, d, hidden, { accumulate: residual !== null });

  rt.run(chunksPerItem(fc1), threads, () => {
    const mem = rt.f32(bytes);
    mem.set(x.subarray(0, rows * d), xAt / 4);
    if (b1) mem.set(b1.subarray(0, hidden), b1At / 4);
    if (!rows1) prepack(rt.ex, gemmItem(fc1, 0), false);
    writeJob(rt.ctl, gemmJob, fc1);
  });
  rt.run(chunksPerItem(fc2), threads, () => {
    const mem = rt.f32(bytes);
    if (residual) mem.set(residual.subarray(0, rows * d), oAt / 4);
    if (b2) mem.set(b2.subarray(0, d), b2At / 4);
    if (!rows2) prepack(rt.ex, gemmItem(fc2, 0), false);
    writeJob(rt.ctl, gemmJob, fc2);
  });
  const mem = rt.f32(bytes);
  out.set(mem.subarray(oAt / 4, oAt / 4 + rows * d));
}
