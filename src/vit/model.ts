// The Vision Transformer forward pass over loaded parameters. Token layout:
// [CLS] (always), then the distillation token and register tokens when the
// model has them (the "prefix"), then the patch tokens in row-major order.
// Maps and grids use config.numPrefix and the grid actually run, never 14x14.

import {
  Tensor,
  allocate,
  type DType,
  add,
  concat,
  expand,
  reshape,
  permute,
  resize,
  select,
  slice,
  patchEmbed,
  linear,
  div,
  freeze,
  isFrozen,
} from '../tensor/index.js';
import { noGrad } from '../autograd/index.js';
import {
  block,
  blockOutput,
  blockTraced,
  norm,
  readoutAttention,
  readoutTail,
  type BlockParams,
  type LinearParams,
  type NormParams,
  type ReadoutParts,
} from './block.js';
import type { OutputTask, PreprocessConfig } from './config.js';

/** How far the learned position embedding reaches. */
export type PosCoverage =
  | 'all' // prefix + patches, added after concatenation (timm default, HF ViT)
  | 'patches' // patches only, prefix concatenated after (timm no_embed_class, e.g. DINOv2 with registers)
  | 'cls+patches'; // [CLS] + patches; registers inserted after [CLS] without one (HF DINOv2 with registers)

export interface ViTConfig {
  /** the tensor names the weights came with (timm, Hugging Face transformers, torchvision) */
  layout: 'timm' | 'hf' | 'torchvision';
  name: string;
  dim: number;
  depth: number;
  heads: number;
  mlpDim: number;
  patch: number;
  /** the grid the position embedding was trained for [rows, cols] */
  grid: [number, number];
  numRegisters: number;
  hasDistToken: boolean;
  /** [CLS] + distillation + registers */
  numPrefix: number;
  numClasses: number;
  eps: number;
  posCoverage: PosCoverage;
  preprocess: PreprocessConfig;
  labels: string[] | null;
  /** class logits or regression outputs (absent: classification) */
  task?: OutputTask;
  /**
   * A test-time register (ViT.withTestTimeRegister): one untrained token,
   * zero and without a position embedding, the last prefix token (row
   * numPrefix - 1, counted in numPrefix), into which the register neurons'
   * activations are moved. Absent on a model as loaded.
   */
  testTimeRegister?: TestTimeRegisterInfo;
}

export interface TestTimeRegisterInfo {
  /** the register token's row */
  token: number;
  /** the register neurons, by block */
  neurons: { layer: number; neuron: number }[];
  /** multiplier of the max at the register token */
  scale: number;
}

/** One register neuron: a hidden unit of block `layer`'s MLP (0-based, as in their code). */
export interface RegisterNeuron {
  layer: number;
  neuron: number;
}

export interface ViTParams {
  patchWeight: Tensor;
  patchBias: Tensor | null;
  cls: Tensor;
  dist: Tensor | null;
  reg: Tensor | null;
  pos: Tensor;
  blocks: BlockParams[];
  norm: NormParams;
  head: LinearParams | null;
  headDist: LinearParams | null;
}

export interface HeadOutput {
  /** LNf(X_L)[:, 0]: the normed [CLS] token, what the head sees [B, D] */
  latent: Tensor;
  /** raw logits [B, C] (null for a backbone without a head) */
  logits: Tensor | null;
}

/**
 * What a forward keeps besides the head output: every block's attention
 * probabilities, from the fused kernel ('fused': no gradient of their own,
 * each saved by its block's 'attention' node) or from the composite ops
 * ('composite': differentiable in A, slower).
 */
export interface ForwardKeep {
  attentions: 'fused' | 'composite';
}

/** A forward that kept the attentions: the head output, every block's attention, the last block's input x and its normed tokens t. */
export interface KeptForward {
  head: HeadOutput;
  /** [B, H, N, N] per block; the last block runs in read-out mode, so its entry holds only the read-out rows [B, H, R, N] */
  attns: Tensor[];
  x: Tensor;
  t: Tensor;
}

export class ViT {
  private posCache = new Map<string, Tensor>();

  constructor(
    readonly config: ViTConfig,
    readonly params: ViTParams,
  ) {}

  get numPrefix(): number {
    return this.config.numPrefix;
  }

  /** The patch grid for an input of h x w pixels. */
  gridFor(h: number, w: number): [number, number] {
    const p = this.config.patch;
    if (h % p !== 0 || w % p !== 0) throw new Error(`input ${h}x${w} is not a multiple of the patch size ${p}`);
    return [h / p, w / p];
  }

  /** Position embedding for a grid, bicubic-resampled (timm semantics) when it differs from the trained one. */
  private posFor(grid: [number, number]): Tensor {
    const [gh, gw] = this.config.grid;
    if (grid[0] === gh && grid[1] === gw) return this.params.pos;
    const key = grid.join('x');
    let t = this.posCache.get(key);
    if (!t && this.config.layout === 'torchvision') {
      // torchvision resamples with align_corners=True, which resize() does not do: refuse rather than differ
      throw new Error(
        `a ${grid[0]}x${grid[1]} patch grid needs the position embedding resampled, which is not implemented for torchvision-layout models (trained grid ${gh}x${gw}): use the model's input size`,
      );
    }
    if (!t) {
      t = noGrad(() => {
        const pos = this.params.pos;
        const d = this.config.dim;
        const nPre = pos.shape[1]! - gh * gw;
        const pre = slice(pos, [0, 0], [1, nPre]);
        const patches = reshape(slice(pos, [0, nPre], [1, pos.shape[1]!]), [gh, gw, d]);
        const resized = resize(permute(patches, [2, 0, 1]), grid, 'bicubic', this.config.layout === 'timm');
        const back = reshape(permute(resized, [1, 2, 0]), [1, grid[0] * grid[1], d]);
        return nPre > 0 ? concat([pre, back], 1) : back;
      });
      this.posCache.set(key, t);
    }
    return t;
  }

  /** Pixels [B, 3, H, W] (normalised) -> tokens [B, numPrefix + P, D]. */
  embed(image: Tensor): Tensor {
    const { params: P, config: c } = this;
    const [b, , h, w] = image.shape as [number, number, number, number];
    const grid = this.gridFor(h, w);
    let patches = patchEmbed(image, P.patchWeight, P.patchBias, c.patch);
    const pos = this.posFor(grid);
    const cls = expand(P.cls, [b, 1, c.dim]);
    const reg = P.reg ? expand(P.reg, [b, c.numRegisters, c.dim]) : null;
    const dist = P.dist ? expand(P.dist, [b, 1, c.dim]) : null;
    let x: Tensor;
    if (c.posCoverage === 'patches') {
      patches = add(patches, pos);
      x = concat([cls, ...(dist ? [dist] : []), ...(reg ? [reg] : []), patches], 1);
    } else if (c.posCoverage === 'cls+patches') {
      x = add(concat([cls, patches], 1), pos);
      if (reg) x = concat([slice(x, [0, 0], [b, 1]), reg, slice(x, [0, 1], [b, x.shape[1]!])], 1);
    } else {
      x = add(concat([cls, ...(dist ? [dist] : []), ...(reg ? [reg] : []), patches], 1), pos);
    }
    const ttr = c.testTimeRegister;
    if (!ttr) return x;
    // the test-time register: a zero token after the position embedding (theirs is appended after the
    // patches; attention is blind to token order without position embeddings, so a prefix row is the same model)
    const zero = new Tensor(allocate(x.dtype, b * c.dim), [b, 1, c.dim]);
    return concat([slice(x, [0, 0], [b, ttr.token]), zero, slice(x, [0, ttr.token], [b, x.shape[1]!])], 1);
  }

  /**
   * This model with a test-time register (Jiang, Dravid, Efros, Gandelsman,
   * "Vision Transformers Don't Need Trained Registers", NeurIPS 2025): one
   * extra zero token, the last of the prefix (so every method skips it as it
   * skips [CLS] and trained registers), and in each given block's MLP the
   * register neurons' activations after GELU moved into it: the register
   * token gets the signed max over tokens and register neurons, every other
   * token but [CLS] gets 0 (block.ts, registerIntervention). The weights are
   * shared with this model.
   */
  withTestTimeRegister(neurons: readonly RegisterNeuron[], opts: { scale?: number } = {}): ViT {
    const c = this.config;
    if (c.testTimeRegister) throw new Error('the model already has a test-time register');
    const scale = opts.scale ?? 1;
    if (!Number.isFinite(scale)) throw new Error(`test-time register: scale must be finite, got ${scale}`);
    if (neurons.length === 0) throw new Error('test-time register: no register neurons given');
    const byLayer = new Map<number, number[]>();
    for (const { layer, neuron } of neurons) {
      if (!Number.isInteger(layer) || layer < 0 || layer >= c.depth)
        throw new Error(`register neuron: layer ${layer} is out of range (the model has blocks 0..${c.depth - 1})`);
      if (!Number.isInteger(neuron) || neuron < 0 || neuron >= c.mlpDim)
        throw new Error(`register neuron: neuron ${neuron} of layer ${layer} is out of range (the MLP has ${c.mlpDim} hidden units)`);
      const list = byLayer.get(layer) ?? [];
      if (list.includes(neuron)) throw new Error(`register neuron ${layer}:${neuron} is given twice`);
      list.push(neuron);
      byLayer.set(layer, list);
    }
    const token = c.numPrefix;
    const blocks = this.params.blocks.map((p, i) => {
      const list = byLayer.get(i);
      return list ? { ...p, registerNeurons: { neurons: list, token, scale } } : p;
    });
    const config: ViTConfig = {
      ...c,
      numPrefix: c.numPrefix + 1,
      testTimeRegister: { token, neurons: neurons.map(({ layer, neuron }) => ({ layer, neuron })), scale },
    };
    const vit = new ViT(config, { ...this.params, blocks });
    vit.posCache = this.posCache;
    return vit;
  }

  /**
   * This model in training mode: dropout at `rate` after each attention
   * output projection and in each MLP (timm's proj_drop, mlp.drop1 and
   * mlp.drop2), the masks drawn from `next` (a seeded uniform stream). The
   * weights are shared with this model; rate 0 gives this model.
   */
  withDropout(rate: number, next: () => number): ViT {
    if (!(rate >= 0 && rate < 1)) throw new Error(`dropout: rate must be in [0, 1), got ${rate}`);
    if (rate === 0) return this;
    const blocks = this.params.blocks.map((p) => ({ ...p, dropout: { rate, next } }));
    const vit = new ViT(this.config, { ...this.params, blocks });
    vit.posCache = this.posCache;
    return vit;
  }

  /** Run blocks [from, to) on tokens x. */
  runBlocks(x: Tensor, from = 0, to = this.config.depth): Tensor {
    for (let i = from; i < to; i++) x = blockOutput(x, this.params.blocks[i]!);
    return x;
  }

  /** How many leading rows the head reads: [CLS], plus the distillation token for DeiT-distilled. */
  get readoutRows(): number {
    return this.config.hasDistToken ? 2 : 1;
  }

  get lastBlock(): BlockParams {
    return this.params.blocks[this.config.depth - 1]!;
  }

  /** T = LN1(x) of the last block, for its input x: the normed tokens CDAM differentiates. */
  normedLast(x: Tensor): Tensor {
    return norm(x, this.lastBlock.norm1);
  }

  /**
   * The last block in read-out mode (only the rows the head reads), then the
   * head, from the last block's input x and its normed tokens t (give t to
   * differentiate with respect to it). Every full forward ends here too.
   */
  readout(x: Tensor, t: Tensor = this.normedLast(x), scoreBias?: Tensor): { head: HeadOutput; parts: ReadoutParts } {
    const parts = readoutAttention(t, this.lastBlock, this.readoutRows, scoreBias);
    return { head: this.headFromReadout(x, parts.o), parts };
  }

  /** The head output from the last block's input x and its read-out rows' per-head attention output o [B, H, R, hd]. */
  headFromReadout(x: Tensor, o: Tensor): HeadOutput {
    return this.head(readoutTail(x, o, this.lastBlock));
  }

  /** Final norm, [CLS] readout and the linear head (timm DeiT-distilled: mean of both heads). */
  head(xL: Tensor): HeadOutput {
    const P = this.params;
    const normed = norm(xL, P.norm);
    const latent = select(normed, 1, 0);
    if (!P.head) return { latent, logits: null };
    let logits = linear(latent, P.head.weight, P.head.bias);
    if (P.headDist) {
      const d = linear(select(normed, 1, 1), P.headDist.weight, P.headDist.bias);
      logits = div(add(logits, d), 2);
    }
    return { latent, logits };
  }

  /**
   * The forward pass: embedding, blocks 1..L-1, the last block pruned to the
   * rows the head reads, the head. With `keep`, also every block's attention
   * and the last block's input and normed tokens (for the explainers).
   */
  forward(image: Tensor): HeadOutput;
  forward(image: Tensor, keep: ForwardKeep): KeptForward;
  forward(image: Tensor, keep?: ForwardKeep): HeadOutput | KeptForward {
    if (!keep) return this.readout(this.runBlocks(this.embed(image), 0, this.config.depth - 1)).head;
    const step = keep.attentions === 'composite' ? blockTraced : block;
    let x = this.embed(image);
    const attns: Tensor[] = [];
    for (let i = 0; i < this.config.depth - 1; i++) {
      const r = step(x, this.params.blocks[i]!);
      attns.push(r.attn);
      x = r.out;
    }
    const t = this.normedLast(x);
    const { head, parts } = this.readout(x, t);
    attns.push(parts.attn);
    return { head, attns, x, t };
  }

  /** A copy of the model with every parameter in `dtype` (float64 for auditing gradients to full precision). */
  to(dtype: DType): ViT {
    const cast = (v: unknown): unknown => {
      if (v instanceof Tensor) {
        if (v.dtype === dtype) return v;
        const d = allocate(dtype, v.size);
        d.set(v.contiguousData());
        const t = new Tensor(d, v.shape);
        return isFrozen(v) ? freeze(t) : t;
      }
      if (Array.isArray(v)) return v.map(cast);
      if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, cast(x)]));
      return v;
    };
    return new ViT(this.config, cast(this.params) as ViTParams);
  }

  /** Whether the outputs are regression values (the score is the output itself), not class logits. */
  get isRegression(): boolean {
    return this.config.task === 'regression';
  }

  /** Label for a class index ("class N" when the model has no label list). */
  label(index: number): string {
    return this.config.labels?.[index] ?? `class ${index}`;
  }
}
