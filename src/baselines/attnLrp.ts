// AttnLRP (Achtibat et al., ICML 2024) on any loaded ViT, as the authors'
// package lxt computes it for ViTs: one forward, one backward sweep with the
// relevance rules of autograd/relevance.ts, and the map is input x modified
// gradient summed over the colour channels (signed, pixel level).
//
// Which layer gets LRP-gamma follows the authors' ViT (torchvision with lxt's
// patches and zennit's Gamma composite): the patch embedding (their Conv2d)
// and the MLP and head linear layers. The attention's projections keep the
// plain gradient there, because torchvision runs them inside
// F.multi_head_attention_forward, where zennit's module hooks never fire; the
// same here.

import { relevanceRules, type RelevanceOptions } from '../autograd/index.js';
import { fromData, type Tensor, type TypedArray } from '../tensor/index.js';
import type { ViT } from '../vit/model.js';
import { describeTarget, type Target } from '../cdam/target.js';
import { inputGradients, channelMean, label, type BaselineInput } from './gradients.js';
import { ATTNLRP_DEFAULTS } from './defaults.js';
import type { Explanation } from '../cdam/explainer.js';

export interface AttnLrpOptions {
  /** 'cp' (default): CP-LRP inside attention; 'full': AttnLRP's rules through the softmax */
  variant?: 'cp' | 'full';
  /** LRP-gamma of the MLP and head layers (default ATTNLRP_DEFAULTS.gamma) */
  gamma?: number;
  /** LRP-gamma of the patch embedding (default ATTNLRP_DEFAULTS.patchGamma) */
  patchGamma?: number;
}

/** The gamma of each weight (by its storage: views of a weight, e.g. the reshaped patch kernel, share it). */
export function attnLrpGammas(vit: ViT, gamma: number, patchGamma: number): RelevanceOptions['gammaOf'] {
  const byData = new Map<TypedArray, Map<number, number>>();
  const set = (w: Tensor | undefined | null, g: number) => {
    if (!w) return;
    let m = byData.get(w.data);
    if (!m) byData.set(w.data, (m = new Map<number, number>()));
    m.set(w.offset, g);
  };
  const P = vit.params;
  set(P.patchWeight, patchGamma);
  for (const b of P.blocks) {
    set(b.fc1.weight, gamma);
    set(b.fc2.weight, gamma);
  }
  set(P.head?.weight, gamma);
  set(P.headDist?.weight, gamma);
  return (w) => byData.get(w.data)?.get(w.offset) ?? null;
}

function checkGamma(name: string, v: number): number {
  if (!(v >= 0) || !Number.isFinite(v)) throw new Error(`attnlrp: ${name} must be a finite number >= 0, got ${v}`);
  return v;
}

/** AttnLRP / CP-LRP relevance of the target at every input pixel: sum over channels of x * (relevance gradient). */
export function attnLrp(b: BaselineInput, target: Target, opts: AttnLrpOptions = {}): Explanation {
  const variant = opts.variant ?? ATTNLRP_DEFAULTS.variant;
  if (variant !== 'cp' && variant !== 'full') throw new Error(`attnlrp: variant must be cp or full, got ${String(variant)}`);
  const gamma = checkGamma('gamma', opts.gamma ?? ATTNLRP_DEFAULTS.gamma);
  const patchGamma = checkGamma('patch gamma', opts.patchGamma ?? ATTNLRP_DEFAULTS.patchGamma);
  const table = relevanceRules({ attention: variant, gammaOf: attnLrpGammas(b.vit, gamma, patchGamma) });
  const x = b.input.contiguousData();
  // a copy, so the explainer's input is not marked for gradients
  const { g, value } = inputGradients(b.vit, fromData(Float32Array.from(x), b.input.shape), target, table);
  const channels = b.input.shape[1]!;
  return {
    method: 'attnlrp',
    target: describeTarget(target, label(b)),
    score: value[0]!,
    map: channelMean(b.input.shape, g, x, channels),
  };
}
