// Map tensor names to model parameters, for timm and Hugging Face layouts,
// and check every shape against the config. Each mismatch names the tensor.

import { Tensor, fromData, concat, freeze } from '../tensor/index.js';
import { noGrad } from '../autograd/index.js';
import type { SafetensorsFile } from '../io/safetensors.js';
import type { BlockParams, LinearParams, NormParams } from './block.js';
import type { DeclaredConfig } from './config.js';
import { ViT, type ViTConfig, type ViTParams, type PosCoverage } from './model.js';
import { IMAGENET_LABELS } from './imagenet-labels.js';
import { InputError } from '../io/errors.js';

class Reader {
  constructor(private f: SafetensorsFile) {}
  has(n: string): boolean {
    return this.f.has(n);
  }
  names(): string[] {
    return this.f.names();
  }
  shape(n: string): number[] {
    return this.f.info(n).shape;
  }
  /** Read a tensor, checking its shape when one is given (-1 = any). */
  get(n: string, expect?: readonly number[]): Tensor {
    if (!this.f.has(n)) throw new InputError(this.f.name, `${this.f.name}: missing tensor "${n}"`);
    const shape = this.f.info(n).shape;
    if (expect && (expect.length !== shape.length || expect.some((d, i) => d !== -1 && d !== shape[i]))) {
      throw new InputError(this.f.name, `${this.f.name}: tensor "${n}" has shape [${shape}], expected [${expect.map((d) => (d === -1 ? '*' : d))}]`);
    }
    const data = this.f.readF32(n);
    for (let i = 0; i < data.length; i++) {
      if (!Number.isFinite(data[i]!)) this.fail(`tensor "${n}" has a non-finite value (${data[i]} at flat index ${i}); the weights are damaged`);
    }
    return freeze(fromData(data, shape));
  }
  opt(n: string, expect?: readonly number[]): Tensor | null {
    return this.f.has(n) ? this.get(n, expect) : null;
  }
  fail(msg: string): never {
    throw new InputError(this.f.name, `${this.f.name}: ${msg}`);
  }
}

interface Names {
  patchW: string;
  patchB: string;
  cls: string;
  dist: string;
  reg: string;
  pos: string;
  blockPrefix: (i: number) => string;
  normW: string;
  normB: string;
  headW: string;
  headB: string;
  headDistW: string;
  headDistB: string;
  blockIndex: RegExp;
}

function timmNames(): Names {
  return {
    patchW: 'patch_embed.proj.weight',
    patchB: 'patch_embed.proj.bias',
    cls: 'cls_token',
    dist: 'dist_token',
    reg: 'reg_token',
    pos: 'pos_embed',
    blockPrefix: (i) => `blocks.${i}.`,
    normW: 'norm.weight',
    normB: 'norm.bias',
    headW: 'head.weight',
    headB: 'head.bias',
    headDistW: 'head_dist.weight',
    headDistB: 'head_dist.bias',
    blockIndex: /^blocks\.(\d+)\./,
  };
}

function hfNames(p: string): Names {
  const esc = p.replace(/\./g, '\\.');
  return {
    patchW: `${p}embeddings.patch_embeddings.projection.weight`,
    patchB: `${p}embeddings.patch_embeddings.projection.bias`,
    cls: `${p}embeddings.cls_token`,
    dist: `${p}embeddings.distillation_token`,
    reg: `${p}embeddings.register_tokens`,
    pos: `${p}embeddings.position_embeddings`,
    blockPrefix: (i) => `${p}encoder.layer.${i}.`,
    normW: `${p}layernorm.weight`,
    normB: `${p}layernorm.bias`,
    headW: 'classifier.weight',
    headB: 'classifier.bias',
    headDistW: 'distillation_classifier.weight',
    headDistB: 'distillation_classifier.bias',
    blockIndex: new RegExp(`^${esc}encoder\\.layer\\.(\\d+)\\.`),
  };
}

/** torchvision's VisionTransformer (vit_b_16, the SWAG weights): conv_proj, class_token, encoder.layers.encoder_layer_N. */
function torchvisionNames(): Names {
  return {
    patchW: 'conv_proj.weight',
    patchB: 'conv_proj.bias',
    cls: 'class_token',
    dist: 'dist_token',
    reg: 'reg_token',
    pos: 'encoder.pos_embedding',
    blockPrefix: (i) => `encoder.layers.encoder_layer_${i}.`,
    normW: 'encoder.ln.weight',
    normB: 'encoder.ln.bias',
    headW: 'heads.head.weight',
    headB: 'heads.head.bias',
    headDistW: 'heads.head_dist.weight',
    headDistB: 'heads.head_dist.bias',
    blockIndex: /^encoder\.layers\.encoder_layer_(\d+)\./,
  };
}

/** Which layout a tensor file uses, and the HF prefix ("vit.", "deit.", ...) when there is one. */
export function detectLayout(names: readonly string[]): { layout: 'timm' | 'hf' | 'torchvision'; prefix: string } | null {
  if (names.includes('patch_embed.proj.weight')) return { layout: 'timm', prefix: '' };
  if (names.includes('conv_proj.weight') && names.includes('class_token')) return { layout: 'torchvision', prefix: '' };
  const hf = names.find((n) => n.endsWith('embeddings.patch_embeddings.projection.weight'));
  if (hf) return { layout: 'hf', prefix: hf.slice(0, hf.length - 'embeddings.patch_embeddings.projection.weight'.length) };
  return null;
}

function norm(r: Reader, base: string, d: number, eps: number): NormParams {
  return { weight: r.get(`${base}.weight`, [d]), bias: r.opt(`${base}.bias`, [d]), eps };
}
function lin(r: Reader, base: string, out: number, inp: number): LinearParams {
  return { weight: r.get(`${base}.weight`, [out, inp]), bias: r.opt(`${base}.bias`, [out]) };
}

function timmBlock(r: Reader, pre: string, d: number, mlp: number, heads: number, eps: number): BlockParams {
  return {
    norm1: norm(r, `${pre}norm1`, d, eps),
    qkv: lin(r, `${pre}attn.qkv`, 3 * d, d),
    proj: lin(r, `${pre}attn.proj`, d, d),
    norm2: norm(r, `${pre}norm2`, d, eps),
    fc1: lin(r, `${pre}mlp.fc1`, mlp, d),
    fc2: lin(r, `${pre}mlp.fc2`, d, mlp),
    ls1: r.opt(`${pre}ls1.gamma`, [d]),
    ls2: r.opt(`${pre}ls2.gamma`, [d]),
    heads,
  };
}

/** torchvision's EncoderBlock: ln_1, self_attention (nn.MultiheadAttention: in_proj q|k|v rows, out_proj), ln_2, mlp (0 and 3, or linear_1 and linear_2 in older releases). */
function torchvisionBlock(r: Reader, pre: string, d: number, mlp: number, heads: number, eps: number): BlockParams {
  const m = r.has(`${pre}mlp.0.weight`) ? ['mlp.0', 'mlp.3'] : ['mlp.linear_1', 'mlp.linear_2'];
  return {
    norm1: norm(r, `${pre}ln_1`, d, eps),
    qkv: { weight: r.get(`${pre}self_attention.in_proj_weight`, [3 * d, d]), bias: r.opt(`${pre}self_attention.in_proj_bias`, [3 * d]) },
    proj: lin(r, `${pre}self_attention.out_proj`, d, d),
    norm2: norm(r, `${pre}ln_2`, d, eps),
    fc1: lin(r, `${pre}${m[0]}`, mlp, d),
    fc2: lin(r, `${pre}${m[1]}`, d, mlp),
    ls1: null,
    ls2: null,
    heads,
  };
}

function hfBlock(r: Reader, pre: string, d: number, mlp: number, heads: number, eps: number): BlockParams {
  const a = `${pre}attention.attention.`;
  const q = lin(r, `${a}query`, d, d);
  const k = lin(r, `${a}key`, d, d);
  const v = lin(r, `${a}value`, d, d);
  const biases = [q.bias, k.bias, v.bias];
  if (biases.some((b) => b) && !biases.every((b) => b)) r.fail(`block "${pre}": only some of query/key/value have a bias`);
  // fuse q|k|v once at load time so one matmul serves all three
  const qkv: LinearParams = noGrad(() => ({
    // built once from frozen parts, so frozen too
    weight: freeze(concat([q.weight, k.weight, v.weight], 0)),
    bias: q.bias ? freeze(concat([q.bias, k.bias!, v.bias!], 0)) : null,
  }));
  const n1 = r.has(`${pre}layernorm_before.weight`) ? 'layernorm_before' : 'norm1';
  const n2 = r.has(`${pre}layernorm_after.weight`) ? 'layernorm_after' : 'norm2';
  const fc1 = r.has(`${pre}intermediate.dense.weight`) ? `${pre}intermediate.dense` : `${pre}mlp.fc1`;
  const fc2 = r.has(`${pre}intermediate.dense.weight`) ? `${pre}output.dense` : `${pre}mlp.fc2`;
  return {
    norm1: norm(r, `${pre}${n1}`, d, eps),
    qkv,
    proj: lin(r, `${pre}attention.output.dense`, d, d),
    norm2: norm(r, `${pre}${n2}`, d, eps),
    fc1: lin(r, fc1, mlp, d),
    fc2: lin(r, fc2, d, mlp),
    ls1: r.opt(`${pre}layer_scale1.lambda1`, [d]),
    ls2: r.opt(`${pre}layer_scale2.lambda1`, [d]),
    heads,
  };
}

export interface BuildOptions {
  /** a separate linear head (weight [C, D], bias [C]) for backbones without one */
  head?: SafetensorsFile;
}

/** Build a ViT from a tensor file and its declared config, validating every shape. */
export function buildViT(file: SafetensorsFile, declared: DeclaredConfig, opts: BuildOptions = {}): ViT {
  const r: Reader = new Reader(file);
  const names = r.names();
  const found = detectLayout(names);
  if (!found)
    r.fail(
      'no patch embedding found: neither timm ("patch_embed.proj.weight"), Hugging Face ("...embeddings.patch_embeddings.projection.weight") nor torchvision ("conv_proj.weight" with "class_token") names',
    );
  // torchvision ships no config of its own: a timm-style config.json (architecture, pretrained_cfg) describes it
  const configLayout = found.layout === 'torchvision' ? 'timm' : found.layout;
  if (configLayout !== declared.layout) r.fail(`tensor names are in ${found.layout} layout but the config is a ${declared.layout} config`);
  if (found.layout === 'torchvision' && r.has('heads.pre_logits.weight'))
    r.fail('torchvision "heads.pre_logits" (a representation layer before the head) is not supported');
  const N = found.layout === 'timm' ? timmNames() : found.layout === 'torchvision' ? torchvisionNames() : hfNames(found.prefix);

  const pw = r.get(N.patchW);
  if (pw.rank !== 4 || pw.shape[1] !== 3 || pw.shape[2] !== pw.shape[3]) r.fail(`tensor "${N.patchW}" has shape [${pw.shape}], expected [D, 3, p, p]`);
  const dim = pw.shape[0]!;
  const patch = pw.shape[2]!;
  const check = (what: string, said: number | undefined, got: number, from: string) => {
    if (said !== undefined && said !== got) r.fail(`config says ${what} = ${said} but the tensors have ${got} (from "${from}")`);
  };
  check('width (hidden size)', declared.dim, dim, N.patchW);
  check('patch size', declared.patch, patch, N.patchW);
  const heads = declared.heads;
  if (dim % heads !== 0) r.fail(`width ${dim} is not divisible by ${heads} heads`);

  const depth = new Set(names.map((n) => N.blockIndex.exec(n)?.[1]).filter((x): x is string => x !== undefined)).size;
  if (depth === 0) r.fail('no transformer blocks found');
  check('depth', declared.depth, depth, `${N.blockPrefix(0).replace(/0\.$/, '')}N.* tensors`);
  const fc1Name =
    found.layout === 'timm'
      ? `${N.blockPrefix(0)}mlp.fc1.weight`
      : found.layout === 'torchvision'
        ? r.has(`${N.blockPrefix(0)}mlp.0.weight`)
          ? `${N.blockPrefix(0)}mlp.0.weight`
          : `${N.blockPrefix(0)}mlp.linear_1.weight`
        : r.has(`${N.blockPrefix(0)}intermediate.dense.weight`)
          ? `${N.blockPrefix(0)}intermediate.dense.weight`
          : `${N.blockPrefix(0)}mlp.fc1.weight`;
  if (!r.has(fc1Name)) r.fail(`missing tensor "${fc1Name}"`);
  const mlpDim = r.shape(fc1Name)[0]!;
  check('MLP size', declared.mlpDim, mlpDim, fc1Name);

  const cls = r.get(N.cls, [1, 1, dim]);
  const dist = r.opt(N.dist, [1, 1, dim]);
  const reg = r.opt(N.reg, [1, -1, dim]);
  const numRegisters = reg ? reg.shape[1]! : 0;
  const numPrefix = 1 + (dist ? 1 : 0) + numRegisters;
  const pos = r.get(N.pos, [1, -1, dim]);
  const [ih, iw] = declared.preprocess.size;
  if (ih % patch !== 0 || iw % patch !== 0) r.fail(`config input size ${ih}x${iw} is not a multiple of patch ${patch}`);
  const grid: [number, number] = [ih / patch, iw / patch];
  const P = grid[0] * grid[1];
  const T = pos.shape[1]!;
  let posCoverage: PosCoverage;
  if (T === P + numPrefix) posCoverage = 'all';
  else if (T === P) posCoverage = 'patches';
  else if (T === P + 1 && numRegisters > 0) posCoverage = 'cls+patches';
  else r.fail(`tensor "${N.pos}" has ${T} positions; a ${grid[0]}x${grid[1]} grid with ${numPrefix} prefix tokens needs ${P + numPrefix} (or ${P})`);

  const eps = declared.eps;
  const blocks: BlockParams[] = [];
  for (let i = 0; i < depth; i++) {
    const pre = N.blockPrefix(i);
    const build = found.layout === 'timm' ? timmBlock : found.layout === 'torchvision' ? torchvisionBlock : hfBlock;
    blocks.push(build(r, pre, dim, mlpDim, heads, eps));
  }
  const fnorm = norm(r, N.normW.slice(0, -'.weight'.length), dim, eps);

  let head: LinearParams | null = null;
  let headDist: LinearParams | null = null;
  if (opts.head) {
    const h: Reader = new Reader(opts.head);
    const w = h.has('weight') ? 'weight' : h.has('head.weight') ? 'head.weight' : h.fail('head file has neither "weight" nor "head.weight"');
    const wt = h.get(w);
    if (wt.rank !== 2 || wt.shape[1] !== dim) h.fail(`tensor "${w}" has shape [${wt.shape}], expected [classes, ${dim}]`);
    head = { weight: wt, bias: h.opt(w.replace(/weight$/, 'bias'), [wt.shape[0]!]) };
  } else if (r.has(N.headW)) {
    const hs = r.shape(N.headW);
    if (hs[0] === 0) r.fail(`tensor "${N.headW}" has no rows: a classifier head with no classes`);
    head = lin(r, N.headW.slice(0, -'.weight'.length), hs[0]!, dim);
    if (r.has(N.headDistW)) headDist = lin(r, N.headDistW.slice(0, -'.weight'.length), hs[0]!, dim);
  }
  const numClasses = head ? head.weight.shape[0]! : 0;
  if (!opts.head && head) check('number of classes (num_classes)', declared.numClasses, numClasses, N.headW);
  let labels = declared.labels;
  if (labels && labels.length !== numClasses && numClasses > 0) r.fail(`config has ${labels.length} labels (id2label) but the head has ${numClasses} classes`);
  if (!labels && numClasses === 1000) labels = [...IMAGENET_LABELS];

  const config: ViTConfig = {
    layout: found.layout,
    name: declared.name,
    dim,
    depth,
    heads,
    mlpDim,
    patch,
    grid,
    numRegisters,
    hasDistToken: dist !== null,
    numPrefix,
    numClasses,
    eps,
    posCoverage,
    preprocess: declared.preprocess,
    labels,
    ...(declared.task === 'regression' ? { task: declared.task } : {}),
  };
  const params: ViTParams = { patchWeight: pw, patchBias: r.opt(N.patchB, [dim]), cls, dist, reg, pos, blocks, norm: fnorm, head, headDist };
  return new ViT(config, params);
}
