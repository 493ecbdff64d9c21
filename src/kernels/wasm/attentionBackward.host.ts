// Host side of the attention gradient (see attentionBackward.kernel.ts):
// copy qkv, the probabilities and the gradient of the merged heads into wasm
// memory once, run the two phases over the threads, copy dqkv back. Replaces,
// per batch item, four batched GEMM calls and a softmax-gradient call (each
// copying in and out and waking the workers) and the scatter of dq, dk, dv
// into their columns.

import type { TypedArray } from '../dtype.js';
import { jsBackend } from '../js.js';
import { backwardPanelsFit } from './attentionBackward.kernel.js';
import { attentionBackwardJob, type AttentionBackwardJob } from './codec.js';
import { streamingFits } from './attention.kernel.js';
import { passItems, rowBlocks } from './attention.host.js';
import { writeJob } from './jobs.js';
import { MIN_MACS, PARALLEL_MIN_MACS } from './matmul.host.js'; // the same thresholds as matmul's
import type { Runtime } from './runtime.js';

const align64 = (bytes: number): number => Math.ceil(bytes / 64) * 64;

export interface WasmAttentionBackwardOptions {
  /** Force packing the B operands per block instead of once per head and thread (tests the path large inputs take). */
  streamPanels?: boolean;
}

export function wasmAttentionBackward(
  rt: Runtime,
  qkv: TypedArray,
  attn: TypedArray,
  g: TypedArray,
  dqkv: TypedArray,
  batch: number,
  tokens: number,
  heads: number,
  headDim: number,
  scale: number,
  opts: WasmAttentionBackwardOptions = {},
): void {
  const reference = (): void => jsBackend.attentionBackward(qkv, attn, g, dqkv, batch, tokens, heads, headDim, scale);
  const float32 = [qkv, attn, g, dqkv].every((x) => x instanceof Float32Array);
  if (!float32) return reference();
  if (batch <= 0 || tokens <= 0 || heads <= 0) return;
  // dP, dQ, dK and dV: four products of this size per item
  const macsPerItem = 4 * heads * tokens * tokens * headDim;
  if (headDim === 0 || rt.small(batch * macsPerItem, MIN_MACS)) return reference();
  const cachePanels = !opts.streamPanels && backwardPanelsFit(tokens, headDim);
  if (!cachePanels && !streamingFits(headDim)) return reference(); // a head wider than ~960 columns

  const d = heads * headDim;
  const qkvFloats = tokens * 3 * d;
  const attnFloats = heads * tokens * tokens;
  const gFloats = tokens * d;
  // qkv, attn, g, dS (like attn), dqkv (like qkv)
  const bytesFor = (items: number): number =>
    align64(items * qkvFloats * 4) + 2 * align64(items * attnFloats * 4) + align64(items * gFloats * 4) + items * qkvFloats * 4;
  const itemsPerPass = passItems(rt, batch, bytesFor);
  if (itemsPerPass === 0) return reference();
  // rows per unit as in the forward (12 units per phase for ViT-Ti)
  const { blockRows, blocksPerItem } = rowBlocks(tokens);

  for (let b0 = 0; b0 < batch; b0 += itemsPerPass) {
    const nb = Math.min(itemsPerPass, batch - b0);
    const qkvAt = rt.base;
    const attnAt = qkvAt + align64(nb * qkvFloats * 4);
    const gAt = attnAt + align64(nb * attnFloats * 4);
    const dSAt = gAt + align64(nb * gFloats * 4);
    const dqkvAt = dSAt + align64(nb * attnFloats * 4);
    const job: AttentionBackwardJob = {
      qkv: qkvAt,
      attn: attnAt,
      g: gAt,
      dS: dSAt,
      dqkv: dqkvAt,
      batch: nb,
      tokens,
      heads,
      headDim,
      scale,
      phase: 1,
      blockRows,
      blocksPerItem,
      cachePanels,
    };
    const units = nb * heads * blocksPerItem;
    const threads = nb * macsPerItem < PARALLEL_MIN_MACS ? 1 : rt.threads;
    rt.run(units, threads, () => {
      const mem = rt.f32(bytesFor(nb));
      mem.set(qkv.subarray(b0 * qkvFloats, (b0 + nb) * qkvFloats), qkvAt / 4);
      mem.set(attn.subarray(b0 * attnFloats, (b0 + nb) * attnFloats), attnAt / 4);
      mem.set(g.subarray(b0 * gFloats, (b0 + nb) * gFloats), gAt / 4);
      writeJob(rt.ctl, attentionBackwardJob, job);
    });
    // dK and dV read all of dS's rows: only once every unit of phase 1 is done
    rt.run(units, threads, () => writeJob(rt.ctl, attentionBackwardJob, { ...job, phase: 2 }));
    const mem = rt.f32(bytesFor(nb));
    dqkv.set(mem.subarray(dqkvAt / 4, dqkvAt / 4 + nb * qkvFloats), b0 * qkvFloats);
  }
}
