// Host side of the fused attention (see attention.kernel.ts): copy qkv into
// wasm memory once, run one job over the threads, copy attn and out back.
// Replaces, per call, a strided scaling pass over q, two batched GEMM calls
// and a softmax call (each copying in and out) and the permute copy of O.

import type { TypedArray } from '../dtype.js';
import { jsBackend } from '../js.js';
import { panelsFit, streamingFits } from './attention.kernel.js';
import { attentionJob, type AttentionJob } from './codec.js';
import { MC, MR } from './matmul.kernel.js';
import { writeJob } from './jobs.js';
import { MIN_MACS, PARALLEL_MIN_MACS } from './matmul.host.js'; // the same thresholds as matmul's
import type { Runtime } from './runtime.js';

const align64 = (bytes: number): number => Math.ceil(bytes / 64) * 64;

export interface WasmAttentionOptions {
  /** Force packing K and V per block instead of once per head and thread (tests the path large inputs take). */
  streamPanels?: boolean;
}

export function wasmAttention(
  rt: Runtime,
  qkv: TypedArray,
  out: TypedArray,
  attn: TypedArray | null,
  batch: number,
  tokens: number,
  heads: number,
  headDim: number,
  scale: number,
  opts: WasmAttentionOptions = {},
): void {
  const reference = (): void => jsBackend.attention(qkv, out, attn, batch, tokens, heads, headDim, scale);
  if (!(qkv instanceof Float32Array && out instanceof Float32Array && (attn === null || attn instanceof Float32Array))) return reference();
  if (batch <= 0 || tokens <= 0 || heads <= 0) return;
  const macsPerItem = 2 * heads * tokens * tokens * headDim;
  if (headDim === 0 || rt.small(batch * macsPerItem, MIN_MACS)) return reference();
  const cachePanels = !opts.streamPanels && panelsFit(tokens, headDim);
  if (!cachePanels && !streamingFits(headDim)) return reference(); // a head wider than ~960 columns

  const d = heads * headDim;
  const qkvFloats = tokens * 3 * d;
  const attnFloats = heads * tokens * tokens;
  const outFloats = tokens * d;
  const bytesFor = (items: number): number => align64(items * qkvFloats * 4) + align64(items * attnFloats * 4) + items * outFloats * 4;
  const itemsPerPass = passItems(rt, batch, bytesFor);
  if (itemsPerPass === 0) return reference();
  const { blockRows, blocksPerItem } = rowBlocks(tokens);

  for (let b0 = 0; b0 < batch; b0 += itemsPerPass) {
    const nb = Math.min(itemsPerPass, batch - b0);
    const qkvAt = rt.base;
    const attnAt = qkvAt + align64(nb * qkvFloats * 4);
    const outAt = attnAt + align64(nb * attnFloats * 4);
    const job: AttentionJob = {
      qkv: qkvAt,
      attn: attnAt,
      out: outAt,
      batch: nb,
      tokens,
      heads,
      headDim,
      scale,
      blockRows,
      blocksPerItem,
      cachePanels,
    };
    const threads = nb * macsPerItem < PARALLEL_MIN_MACS ? 1 : rt.threads;
    rt.run(nb * heads * blocksPerItem, threads, () => {
      const mem = rt.f32(bytesFor(nb));
      mem.set(qkv.subarray(b0 * qkvFloats, (b0 + nb) * qkvFloats), qkvAt / 4);
      writeJob(rt.ctl, attentionJob, job);
    });
    const mem = rt.f32(bytesFor(nb));
    // the probabilities stay behind when nobody asked for them
    if (attn) attn.set(mem.subarray(attnAt / 4, attnAt / 4 + nb * attnFloats), b0 * attnFloats);
    out.set(mem.subarray(outAt / 4, outAt / 4 + nb * outFloats), b0 * outFloats);
  }
}

/** Batch items per pass: all of them unless that would pass the memory's limit (1 GiB); 0 when not even one fits. */
export function passItems(rt: Runtime, batch: number, bytesFor: (items: number) => number): number {
  let items = Math.max(1, Math.min(batch, Math.floor(rt.maxBytes / bytesFor(1))));
  while (items > 1 && bytesFor(items) > rt.maxBytes) items--;
  return bytesFor(items) > rt.maxBytes ? 0 : items;
}

/**
 * Query rows per unit: equal blocks of at most MC rows (one packed A block),
 * whole micro-panels; e.g. 197 tokens -> 4 blocks of 52, so ViT-Ti's 3
 * heads give 12 units to share between two threads.
 */
export function rowBlocks(tokens: number): { blockRows: number; blocksPerItem: number } {
  const blocks = Math.ceil(tokens / MC);
  const blockRows = Math.ceil(Math.ceil(tokens / blocks) / MR) * MR;
  return { blockRows, blocksPerItem: Math.ceil(tokens / blockRows) };
}
