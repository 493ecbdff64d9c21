// Host side of the wasm matmul: copy the operands of MatmulArgs into wasm
// memory, run the batched GEMM over the threads, copy C back out.

import type { MatmulArgs } from '../backend.js';
import { MR, NC, NR, packedBytes, prepack } from './gemm.js';
import { chunksPerItem, gemmItem, writeGemmJob, type GemmJob } from './jobs.js';
import type { Runtime } from './runtime.js';

/** Below this many multiply-adds a second thread does not pay off (measured: ~20 us of work). */
const PARALLEL_MIN_MACS = 1 << 19;
/** Below this many the reference kernel beats the fixed cost (~4 us) of a wasm call. */
const MIN_MACS = 2048;

/** Chunks narrower than this many panels spend too long outside the micro-kernel. */
const MIN_CHUNK_PANELS = 4;

const align64 = (bytes: number): number => Math.ceil(bytes / 64) * 64;

export function wasmMatmul(rt: Runtime, p: MatmulArgs, fallback: (p: MatmulArgs) => void): void {
  const { a, b, c, batch, m, n, k } = p;
  if (!(a instanceof Float32Array && b instanceof Float32Array && c instanceof Float32Array)) return fallback(p);
  if (batch <= 0 || m <= 0 || n <= 0) return;
  if (batch * m * n * k < MIN_MACS) return fallback(p); // includes k = 0
  // Split C along its longer side; the operand spanning the other side is
  // shared by all chunks and packed once up front (A for column chunks).
  const byRows = m > n;
  const sharedStride = byRows ? p.strideB : p.strideA;
  const sizeA = m * k;
  const sizeB = k * n;
  const sizeC = m * n;
  const sizePacked = packedBytes(m, n, k, byRows) / 4;
  // a zero stride broadcasts one matrix: copy (and pack) it once
  const perItem = 4 * ((p.strideA ? sizeA : 0) + (p.strideB ? sizeB : 0) + sizeC + (sharedStride ? sizePacked : 0));
  const fixed = 4 * ((p.strideA ? 0 : sizeA) + (p.strideB ? 0 : sizeB) + (sharedStride ? 0 : sizePacked)) + 256;
  if (rt.maxBytes - fixed < perItem) return fallback(p); // over 1 GiB even for one item
  const itemsPerPass = Math.min(batch, Math.floor((rt.maxBytes - fixed) / perItem));

  for (let b0 = 0; b0 < batch; b0 += itemsPerPass) {
    const nb = Math.min(itemsPerPass, batch - b0);
    const itemsA = p.strideA ? nb : 1;
    const itemsB = p.strideB ? nb : 1;
    const itemsPacked = sharedStride ? nb : 1;
    const offB = align64(itemsA * sizeA * 4);
    const offC = offB + align64(itemsB * sizeB * 4);
    const offPacked = offC + align64(nb * sizeC * 4);
    const bytes = offPacked + itemsPacked * sizePacked * 4;

    const threads = nb * m * n * k < PARALLEL_MIN_MACS ? 1 : rt.threads;
    const job: GemmJob = {
      a: rt.base,
      b: rt.base + offB,
      c: rt.base + offC,
      packed: rt.base + offPacked,
      strideA: p.strideA ? sizeA * 4 : 0,
      strideB: p.strideB ? sizeB * 4 : 0,
      stridePacked: sharedStride ? sizePacked * 4 : 0,
      transA: p.transA,
      transB: p.transB,
      batch: nb,
      m,
      n,
      k,
      byRows,
      chunk: chunkLength(nb, byRows ? m : n, byRows ? MR : NR, threads, byRows ? Infinity : NC),
    };
    rt.run(nb * chunksPerItem(job), threads, () => {
      const mem = rt.f32(bytes);
      copyIn(mem, job.a / 4, a, p.aOffset + b0 * p.strideA, p.strideA, sizeA, itemsA);
      copyIn(mem, job.b / 4, b, p.bOffset + b0 * p.strideB, p.strideB, sizeB, itemsB);
      for (let i = 0; i < itemsPacked; i++) prepack(rt.ex, gemmItem(job, i), byRows);
      writeGemmJob(rt.ctl, job);
    });
    const mem = rt.f32(bytes);
    c.set(mem.subarray(job.c / 4, job.c / 4 + nb * sizeC), p.cOffset + b0 * sizeC);
  }
}

/**
 * Rows or columns per chunk: whole panels, about four chunks per thread so
 * that claiming them balances the load, but not so thin that the micro-kernel
 * loops get short; at most `max` (a column chunk's packed B must fit NC).
 */
function chunkLength(batch: number, extent: number, panel: number, threads: number, max: number): number {
  const panels = Math.ceil(extent / panel);
  const maxPanels = Math.min(panels, Math.floor(max / panel));
  if (threads === 1) return maxPanels * panel;
  const target = Math.ceil((batch * panels) / (4 * threads));
  return Math.max(1, Math.min(maxPanels, Math.max(MIN_CHUNK_PANELS, target))) * panel;
}

/** Copy `items` matrices of `size` floats, `stride` apart in src, back to back into mem at `at`. */
function copyIn(mem: Float32Array, at: number, src: Float32Array, from: number, stride: number, size: number, items: number): void {
  if (items === 1 || stride === size) {
    mem.set(src.subarray(from, from + items * size), at);
    return;
  }
  for (let i = 0; i < items; i++) mem.set(src.subarray(from + i * stride, from + i * stride + size), at + i * size);
}
