// A new ViT from a small architecture description, initialised as timm's
// VisionTransformer is (init_weights mode ''): linear weights from a normal
// truncated at +-2 std with std 0.02 and zero biases, the position embedding
// the same, [CLS] and register tokens normal with std 1e-6, LayerNorm 1 and 0,
// and the patch convolution with PyTorch's default (uniform, bound
// 1 / sqrt(fan_in)). Seeded: one seed gives the same weights everywhere.
// Also the inverse of loading: a timm config.json for any ViT.

import { Tensor, allocate, rng, normalSampler } from '../tensor/index.js';
import { InputError } from '../io/errors.js';
import type { OutputTask, PreprocessConfig } from './config.js';
import { ViT, type ViTConfig, type ViTParams } from './model.js';
import type { BlockParams, LinearParams, NormParams } from './block.js';

/** What `cdam train --arch FILE` reads (JSON). */
export interface Architecture {
  /** input side in pixels (square), a multiple of patch */
  image: number;
  patch: number;
  /** width (embedding dimension), a multiple of heads */
  dim: number;
  depth: number;
  heads: number;
  /** MLP hidden size / width (timm's mlp_ratio; default 4) */
  mlpRatio?: number;
  /** register tokens after [CLS] (default 0) */
  registers?: number;
  /** per-channel normalisation (default 0.5, 0.5: pixels to [-1, 1]) */
  mean?: [number, number, number];
  std?: [number, number, number];
}

export const ARCHITECTURE_DEFAULTS = { mlpRatio: 4, registers: 0, mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5] } as const;

const KEYS = ['image', 'patch', 'dim', 'depth', 'heads', 'mlpRatio', 'registers', 'mean', 'std'];

/** Check an architecture object read from `file` (every problem names the file and the field). */
export function parseArchitecture(v: unknown, file: string): Architecture {
  const fail = (msg: string): never => {
    throw new InputError(file, `${file}: ${msg}`);
  };
  if (!v || typeof v !== 'object' || Array.isArray(v)) fail('an architecture is a JSON object {image, patch, dim, depth, heads, ...}');
  const o = v as Record<string, unknown>;
  for (const k of Object.keys(o)) if (!KEYS.includes(k)) fail(`unknown field "${k}" (fields: ${KEYS.join(', ')})`);
  const int = (k: string, lo: number, hi: number, dflt?: number): number => {
    const x = o[k] ?? dflt;
    if (typeof x !== 'number' || !Number.isInteger(x) || x < lo || x > hi) fail(`"${k}" must be an integer in [${lo}, ${hi}], got ${JSON.stringify(o[k])}`);
    return x as number;
  };
  const triple = (k: string, dflt: readonly number[], positive: boolean): [number, number, number] => {
    const x = o[k] ?? dflt;
    if (!Array.isArray(x) || x.length !== 3 || x.some((e) => typeof e !== 'number' || !Number.isFinite(e) || (positive && e <= 0)))
      fail(`"${k}" must be three ${positive ? 'positive ' : ''}numbers, got ${JSON.stringify(o[k])}`);
    return [...(x as number[])] as [number, number, number];
  };
  const a: Architecture = {
    image: int('image', 1, 4096),
    patch: int('patch', 1, 256),
    dim: int('dim', 1, 8192),
    depth: int('depth', 1, 256),
    heads: int('heads', 1, 1024),
    registers: int('registers', 0, 256, ARCHITECTURE_DEFAULTS.registers),
    mean: triple('mean', ARCHITECTURE_DEFAULTS.mean, false),
    std: triple('std', ARCHITECTURE_DEFAULTS.std, true),
  };
  const ratio = o['mlpRatio'] ?? ARCHITECTURE_DEFAULTS.mlpRatio;
  if (typeof ratio !== 'number' || !(ratio > 0 && ratio <= 64)) fail(`"mlpRatio" must be a number in (0, 64], got ${JSON.stringify(o['mlpRatio'])}`);
  a.mlpRatio = ratio as number;
  if (a.image % a.patch !== 0) fail(`image ${a.image} is not a multiple of patch ${a.patch}`);
  if (a.dim % a.heads !== 0) fail(`dim ${a.dim} is not a multiple of heads ${a.heads}`);
  if (Math.round(a.dim * a.mlpRatio) < 1) fail(`mlpRatio ${a.mlpRatio} leaves the MLP no hidden units`);
  return a;
}

/** timm's trunc_normal_(std=std): normal(0, std) redrawn outside timm's absolute bounds [-2, 2]. */
function truncNormal(n: number, std: number, next: () => number): Float32Array {
  const out = allocate('float32', n) as Float32Array;
  // the bounds are absolute (a = -2, b = 2): at std 0.02 they are 100 std away, so this is in effect a plain normal
  for (let i = 0; i < n; i++) {
    let v = next() * std;
    while (v < -2 || v > 2) v = next() * std;
    out[i] = v;
  }
  return out;
}

/** A fresh, seeded ViT with `classes` outputs (a linear head; none when classes is 0). */
export function initViT(arch: Architecture, classes: number, opts: { seed?: number; labels?: string[] | null; name?: string; task?: OutputTask } = {}): ViT {
  const a = parseArchitecture(arch, 'architecture');
  const seed = opts.seed ?? 0;
  const uniform = rng(seed);
  const normal = normalSampler(uniform);
  const D = a.dim;
  const mlpDim = Math.round(D * a.mlpRatio!);
  const R = a.registers!;
  const side = a.image / a.patch;
  const T = (shape: number[], data: Float32Array) => new Tensor(data, shape);
  const tn = (shape: number[], std = 0.02) =>
    T(
      shape,
      truncNormal(
        shape.reduce((x, y) => x * y, 1),
        std,
        normal,
      ),
    );
  const zeros = (shape: number[]) =>
    T(
      shape,
      allocate(
        'float32',
        shape.reduce((x, y) => x * y, 1),
      ) as Float32Array,
    );
  const ones = (n: number) => T([n], (allocate('float32', n) as Float32Array).fill(1));
  const lin = (out: number, inp: number): LinearParams => ({ weight: tn([out, inp]), bias: zeros([out]) });
  const ln = (): NormParams => ({ weight: ones(D), bias: zeros([D]), eps: 1e-6 });
  // PyTorch's Conv2d default: kaiming_uniform_(a = sqrt(5)) = U(-1/sqrt(fan_in), 1/sqrt(fan_in)), the bias the same
  const fanIn = 3 * a.patch * a.patch;
  const convUniform = (n: number) => {
    const d = allocate('float32', n) as Float32Array;
    const bound = 1 / Math.sqrt(fanIn);
    for (let i = 0; i < n; i++) d[i] = (2 * uniform() - 1) * bound;
    return d;
  };
  const patchWeight = T([D, 3, a.patch, a.patch], convUniform(D * fanIn));
  const patchBias = T([D], convUniform(D));
  const cls = tn([1, 1, D], 1e-6);
  const reg = R > 0 ? tn([1, R, D], 1e-6) : null;
  const pos = tn([1, 1 + R + side * side, D]);
  const blocks: BlockParams[] = [];
  for (let i = 0; i < a.depth; i++) {
    blocks.push({
      norm1: ln(),
      qkv: lin(3 * D, D),
      proj: lin(D, D),
      norm2: ln(),
      fc1: lin(mlpDim, D),
      fc2: lin(D, mlpDim),
      ls1: null,
      ls2: null,
      heads: a.heads,
    });
  }
  const norm = ln();
  const head = classes > 0 ? lin(classes, D) : null;
  const params: ViTParams = { patchWeight, patchBias, cls, dist: null, reg, pos, blocks, norm, head, headDist: null };
  const preprocess: PreprocessConfig = { mean: a.mean!, std: a.std!, interpolation: 'bilinear', cropPct: 1, size: [a.image, a.image] };
  const config: ViTConfig = {
    layout: 'timm',
    name: opts.name ?? `vit_patch${a.patch}_${a.image}_d${D}x${a.depth}`,
    dim: D,
    depth: a.depth,
    heads: a.heads,
    mlpDim,
    patch: a.patch,
    grid: [side, side],
    numRegisters: R,
    hasDistToken: false,
    numPrefix: 1 + R,
    numClasses: classes,
    eps: 1e-6,
    posCoverage: 'all',
    preprocess,
    labels: opts.labels ?? null,
    ...(opts.task === 'regression' ? { task: opts.task } : {}),
  };
  return new ViT(config, params);
}

/** The timm config.json that loads this model back (architecture name, model_args, pretrained_cfg, label_names). */
export function timmConfigOf(vit: ViT, extra: Record<string, unknown> = {}): Record<string, unknown> {
  const c = vit.config;
  if (c.testTimeRegister) throw new Error('a model with a test-time register is saved without it: save the model it was made from');
  if (c.layout !== 'timm' && c.posCoverage !== 'all' && c.numRegisters > 0)
    throw new Error(`a ${c.layout} model whose position embedding skips its registers cannot be saved in timm layout`);
  if (c.eps !== 1e-6) throw new Error(`timm's config fixes LayerNorm eps at 1e-6; this model uses ${c.eps} and cannot be saved in timm layout`);
  const pre = c.preprocess;
  return {
    architecture: c.name,
    num_classes: c.numClasses,
    num_features: c.dim,
    global_pool: 'token',
    model_args: { embed_dim: c.dim, depth: c.depth, num_heads: c.heads, reg_tokens: c.numRegisters, no_embed_class: c.posCoverage === 'patches' },
    pretrained_cfg: {
      input_size: [3, pre.size[0], pre.size[1]],
      interpolation: pre.interpolation,
      crop_pct: pre.cropPct,
      mean: pre.mean,
      std: pre.std,
      num_classes: c.numClasses,
      first_conv: 'patch_embed.proj',
      classifier: 'head',
    },
    ...(c.labels ? { label_names: c.labels } : {}),
    ...(c.task === 'regression' ? { cdam_task: 'regression' } : {}),
    ...extra,
  };
}

/** The model with a new linear head of `classes` outputs (timm's trunc_normal_(std 0.02), zero bias), for fine-tuning to new labels or targets. */
export function withNewHead(vit: ViT, classes: number, labels: string[] | null, seed = 0, task: OutputTask = 'classification'): ViT {
  if (!Number.isInteger(classes) || classes < 1) throw new Error(`a head needs at least one output, got ${classes}`);
  if (labels && labels.length !== classes) throw new Error(`${labels.length} labels for a head of ${classes} outputs`);
  const D = vit.config.dim;
  const weight = new Tensor(truncNormal(classes * D, 0.02, normalSampler(rng(seed))), [classes, D]);
  const bias = new Tensor(allocate('float32', classes), [classes]);
  const { task: _was, ...config } = vit.config;
  return new ViT(
    { ...config, numClasses: classes, labels, ...(task === 'regression' ? { task } : {}) },
    { ...vit.params, head: { weight, bias }, headDist: null, dist: vit.params.dist },
  );
}
