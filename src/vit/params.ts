// Every parameter of a ViT by its timm name (patch_embed.proj.weight,
// blocks.3.attn.qkv.weight, ...), whatever layout the weights came in: the one
// naming that training (optimiser state, freezing by pattern, weight decay
// groups) and saving use. A Hugging Face model's q, k and v are already one
// fused qkv tensor here, so it is named and saved as timm's.

import type { Tensor } from '../tensor/index.js';
import type { BlockParams, LinearParams, NormParams } from './block.js';
import { ViT, type ViTParams } from './model.js';

type Visit = (name: string, t: Tensor) => Tensor;

const linear = (p: LinearParams, name: string, f: Visit): LinearParams => ({
  weight: f(`${name}.weight`, p.weight),
  bias: p.bias ? f(`${name}.bias`, p.bias) : null,
});
const normOf = (p: NormParams, name: string, f: Visit): NormParams => ({
  weight: f(`${name}.weight`, p.weight),
  bias: p.bias ? f(`${name}.bias`, p.bias) : null,
  eps: p.eps,
});

function block(p: BlockParams, i: number, f: Visit): BlockParams {
  const pre = `blocks.${i}`;
  return {
    ...p,
    norm1: normOf(p.norm1, `${pre}.norm1`, f),
    qkv: linear(p.qkv, `${pre}.attn.qkv`, f),
    proj: linear(p.proj, `${pre}.attn.proj`, f),
    ls1: p.ls1 ? f(`${pre}.ls1.gamma`, p.ls1) : null,
    norm2: normOf(p.norm2, `${pre}.norm2`, f),
    fc1: linear(p.fc1, `${pre}.mlp.fc1`, f),
    fc2: linear(p.fc2, `${pre}.mlp.fc2`, f),
    ls2: p.ls2 ? f(`${pre}.ls2.gamma`, p.ls2) : null,
  };
}

/** The parameters rebuilt with f(name, tensor) in place of each tensor, visited in timm's state_dict order. */
export function mapParams(P: ViTParams, f: Visit): ViTParams {
  const patchWeight = f('patch_embed.proj.weight', P.patchWeight);
  const patchBias = P.patchBias ? f('patch_embed.proj.bias', P.patchBias) : null;
  const cls = f('cls_token', P.cls);
  const dist = P.dist ? f('dist_token', P.dist) : null;
  const reg = P.reg ? f('reg_token', P.reg) : null;
  const pos = f('pos_embed', P.pos);
  const blocks = P.blocks.map((b, i) => block(b, i, f));
  const norm = normOf(P.norm, 'norm', f);
  const head = P.head ? linear(P.head, 'head', f) : null;
  const headDist = P.headDist ? linear(P.headDist, 'head_dist', f) : null;
  return { patchWeight, patchBias, cls, dist, reg, pos, blocks, norm, head, headDist };
}

/** Every parameter of the model by timm name, in timm's state_dict order. */
export function namedParams(vit: ViT): Map<string, Tensor> {
  const out = new Map<string, Tensor>();
  mapParams(vit.params, (n, t) => {
    out.set(n, t);
    return t;
  });
  return out;
}

/** The same model (config, position-embedding cache aside) with some parameters replaced by name; unknown names are an error. */
export function withParams(vit: ViT, replace: ReadonlyMap<string, Tensor>): ViT {
  const seen = new Set<string>();
  const params = mapParams(vit.params, (n, t) => {
    const r = replace.get(n);
    if (!r) return t;
    if (r.shape.length !== t.shape.length || r.shape.some((d, i) => d !== t.shape[i]))
      throw new Error(`parameter ${n}: replacement has shape [${r.shape}], the model's is [${t.shape}]`);
    seen.add(n);
    return r;
  });
  for (const n of replace.keys()) if (!seen.has(n)) throw new Error(`the model has no parameter "${n}"`);
  return new ViT(vit.config, params);
}
