// Test-time registers (Jiang, Dravid, Efros, Gandelsman, "Vision Transformers
// Don't Need Trained Registers", NeurIPS 2025; code: nickjiang2378/
// test-time-registers): finding the register neurons from a few calibration
// images, and the small JSON file that keeps them beside a model. The
// intervention itself is ViT.withTestTimeRegister (model.ts) and
// registerIntervention (block.ts).
//
// The finder is their shared/algorithms.py find_register_neurons, followed by
// the selection of their register_neurons.ipynb (filter_layers, then top_k):
//  1. each calibration image runs through the model (no intervention); the
//     tokens whose block output at `detectLayer` (-1: the last block) has an
//     L2 norm above `threshold` are its outlier tokens ([CLS] and prefix rows
//     included, as theirs); an image with none is skipped;
//  2. every hidden unit of every block's MLP (after GELU) scores the mean
//     |activation| over the image's outlier tokens, times 0 unless the unit
//     is sparse (`sparsityFilter`: activation below `sparsityActivation` on at
//     least `sparsityFraction` of the tokens);
//  3. scores are averaged over the images that had outliers and sorted (ties
//     by layer, then unit: theirs are unordered);
//  4. units of blocks lowestLayer..highestLayer are kept, the first topK of
//     them are the register neurons. highestLayer 'auto' is the notebook's
//     advice done mechanically: the first block whose largest patch-token
//     norm, averaged over the calibration images, is above the threshold
//     (where the outliers appear).
// Units with score 0 are never chosen (they are not active at any outlier).

import { Tensor, add, mul, linear, linearGelu, attentionOutput } from '../tensor/index.js';
import { noGrad } from '../autograd/index.js';
import { InputError } from '../io/errors.js';
import { READ_LIMITS, readRegularFile } from '../io/node.js';
import { dense, interveneHidden, norm, type BlockParams } from './block.js';
import type { ViT, RegisterNeuron } from './model.js';

export const TTR_FORMAT = 'cdam-test-time-registers';
export const TTR_VERSION = 1;
/** The default file name, beside the model's files. */
export const TTR_FILE_NAME = 'test_time_registers.json';

export interface FindRegisterOptions {
  /** norm above which a token is an outlier (their register_norm_threshold; default 100) */
  threshold?: number;
  /** block whose output is searched for outliers; negative counts from the end (their detect_outliers_layer; default -1) */
  detectLayer?: number;
  /** how many neurons (their top_k; default 10, their ViT-B/16 CLIP setting) */
  topK?: number;
  /** last block whose neurons may be chosen, or 'auto' (default): where the outliers appear */
  highestLayer?: number | 'auto';
  /** first block whose neurons may be chosen (default 0) */
  lowestLayer?: number;
  /** their apply_sparsity_filter (default true, as in their notebook) */
  sparsityFilter?: boolean;
  /** their sparsity_frac_threshold (default 0.5) */
  sparsityFraction?: number;
  /** their sparsity_activation_threshold (default 0.5) */
  sparsityActivation?: number;
  /** names of the calibration images, kept in the file */
  images?: readonly string[];
  /** anything else worth keeping in the file's settings (e.g. the preprocessing) */
  notes?: Record<string, string | number | boolean>;
  onProgress?: (done: number, total: number) => void;
}

export const FIND_REGISTER_DEFAULTS = {
  threshold: 100,
  detectLayer: -1,
  topK: 10,
  highestLayer: 'auto' as number | 'auto',
  lowestLayer: 0,
  sparsityFilter: true,
  sparsityFraction: 0.5,
  sparsityActivation: 0.5,
} as const;

export interface ScoredRegisterNeuron extends RegisterNeuron {
  /** mean |activation| at the outlier tokens (their score) */
  score: number;
}

/** What a test-time register file holds. */
export interface TestTimeRegisters {
  format: typeof TTR_FORMAT;
  version: number;
  /** the model the neurons were found on */
  model: { name: string; depth: number; mlpDim: number; dim: number };
  /** the settings used (resolved: highestLayer is a number), and what they found */
  settings: {
    threshold: number;
    detectLayer: number;
    topK: number;
    highestLayer: number;
    lowestLayer: number;
    sparsityFilter: boolean;
    sparsityFraction: number;
    sparsityActivation: number;
    images: string[];
    imagesWithOutliers: number;
    [note: string]: string | number | boolean | string[];
  };
  /** multiplier of the max at the register token (theirs: 1) */
  scale: number;
  /** the register neurons, best first */
  neurons: ScoredRegisterNeuron[];
}

/** One forward pass with every block's output [B, N, D] and MLP hidden activations after GELU [B, N, hidden] (after the intervention, if any). */
export function probeForward(vit: ViT, input: Tensor): { outputs: Tensor[]; hidden: Tensor[] } {
  return noGrad(() => {
    let x = vit.embed(input);
    const outputs: Tensor[] = [];
    const hidden: Tensor[] = [];
    for (const p of vit.params.blocks) {
      const r = probeBlock(x, p);
      outputs.push(r.out);
      hidden.push(r.hidden);
      x = r.out;
    }
    return { outputs, hidden };
  });
}

function probeBlock(x: Tensor, p: BlockParams): { out: Tensor; hidden: Tensor } {
  const a = linear(attentionOutput(dense(norm(x, p.norm1), p.qkv), p.heads), p.proj.weight, p.proj.bias, p.ls1 ? undefined : x);
  const y = p.ls1 ? add(x, mul(a, p.ls1)) : a;
  const hidden = interveneHidden(linearGelu(norm(y, p.norm2), p.fc1.weight, p.fc1.bias), p);
  const m = linear(hidden, p.fc2.weight, p.fc2.bias, p.ls2 ? undefined : y);
  return { out: p.ls2 ? add(y, mul(m, p.ls2)) : m, hidden };
}

/** L2 norm of each token of x [1, N, D]. */
export function tokenNorms(x: Tensor): Float64Array {
  const [, n, d] = x.shape as [number, number, number];
  const X = x.contiguousData();
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let j = 0; j < d; j++) s += X[i * d + j]! ** 2;
    out[i] = Math.sqrt(s);
  }
  return out;
}

function checkOpt(ok: boolean, what: string): void {
  if (!ok) throw new Error(`register neurons: ${what}`);
}

/**
 * The register neurons of a model, from calibration images (each a
 * normalised input [1, 3, H, W]), as their code finds them (see the top of
 * this file). Throws when no image has a token above the threshold.
 */
export function findRegisterNeurons(vit: ViT, inputs: readonly Tensor[], opts: FindRegisterOptions = {}): TestTimeRegisters {
  const D = FIND_REGISTER_DEFAULTS;
  const c = vit.config;
  if (c.testTimeRegister) throw new Error('register neurons are found on the model without a test-time register');
  const threshold = opts.threshold ?? D.threshold;
  const topK = opts.topK ?? D.topK;
  const detect = opts.detectLayer ?? D.detectLayer;
  const lowest = opts.lowestLayer ?? D.lowestLayer;
  const sparsityFilter = opts.sparsityFilter ?? D.sparsityFilter;
  const frac = opts.sparsityFraction ?? D.sparsityFraction;
  const actLimit = opts.sparsityActivation ?? D.sparsityActivation;
  checkOpt(inputs.length > 0, 'no calibration images');
  checkOpt(threshold > 0 && Number.isFinite(threshold), `the threshold must be a positive number, got ${threshold}`);
  checkOpt(Number.isInteger(topK) && topK >= 1, `topK must be a positive integer, got ${topK}`);
  checkOpt(
    Number.isInteger(detect) && detect >= -c.depth && detect < c.depth,
    `detectLayer must be an integer in [${-c.depth}, ${c.depth - 1}], got ${detect}`,
  );
  checkOpt(Number.isInteger(lowest) && lowest >= 0 && lowest < c.depth, `lowestLayer must be an integer in [0, ${c.depth - 1}], got ${lowest}`);
  checkOpt(Number.isFinite(frac) && Number.isFinite(actLimit), 'the sparsity thresholds must be finite');
  if (opts.highestLayer !== undefined && opts.highestLayer !== 'auto') {
    const h = opts.highestLayer;
    checkOpt(Number.isInteger(h) && h >= lowest && h < c.depth, `highestLayer must be 'auto' or an integer in [${lowest}, ${c.depth - 1}], got ${h}`);
  }
  const detectAt = detect < 0 ? c.depth + detect : detect;
  const L = c.depth;
  const H = c.mlpDim;
  const sums = new Float64Array(L * H);
  const maxPatchNorm = new Float64Array(L);
  let withOutliers = 0;
  inputs.forEach((input, k) => {
    if (input.rank !== 4 || input.shape[0] !== 1) throw new Error(`register neurons: expected one image [1, 3, H, W], got [${input.shape}]`);
    const { outputs, hidden } = probeForward(vit, input);
    for (let l = 0; l < L; l++) {
      const norms = tokenNorms(outputs[l]!);
      let m = 0;
      for (let i = c.numPrefix; i < norms.length; i++) m = Math.max(m, norms[i]!);
      maxPatchNorm[l] = maxPatchNorm[l]! + m / inputs.length;
    }
    const norms = tokenNorms(outputs[detectAt]!);
    const loc: number[] = [];
    norms.forEach((v, i) => {
      if (v > threshold) loc.push(i);
    });
    if (loc.length) {
      withOutliers++;
      for (let l = 0; l < L; l++) {
        const A = hidden[l]!.contiguousData();
        const n = hidden[l]!.shape[1]!;
        for (let j = 0; j < H; j++) {
          if (sparsityFilter) {
            let low = 0;
            for (let i = 0; i < n; i++) if (A[i * H + j]! < actLimit) low++;
            if (!(low >= frac * n)) continue;
          }
          let s = 0;
          for (const i of loc) s += Math.abs(A[i * H + j]!);
          sums[l * H + j]! += s / loc.length;
        }
      }
    }
    opts.onProgress?.(k + 1, inputs.length);
  });
  if (withOutliers === 0) {
    throw new Error(
      `register neurons: no calibration image has a token with a norm above ${threshold} at the output of block ${detectAt}: ` +
        `lower the threshold or give other images (the largest patch-token norm there was ${maxPatchNorm[detectAt]!.toFixed(1)} on average)`,
    );
  }
  let highest: number;
  if (opts.highestLayer === undefined || opts.highestLayer === 'auto') {
    const first = Array.from(maxPatchNorm).findIndex((v) => v > threshold);
    highest = first === -1 ? L - 1 : Math.max(first, lowest);
  } else highest = opts.highestLayer;
  const ranked: ScoredRegisterNeuron[] = [];
  for (let l = lowest; l <= highest; l++) {
    for (let j = 0; j < H; j++) {
      const score = sums[l * H + j]! / withOutliers;
      if (score > 0) ranked.push({ layer: l, neuron: j, score });
    }
  }
  ranked.sort((a, b) => b.score - a.score || a.layer - b.layer || a.neuron - b.neuron);
  const neurons = ranked.slice(0, topK);
  if (!neurons.length) throw new Error(`register neurons: no unit of blocks ${lowest}..${highest} is active at the outlier tokens`);
  return {
    format: TTR_FORMAT,
    version: TTR_VERSION,
    model: { name: c.name, depth: c.depth, mlpDim: c.mlpDim, dim: c.dim },
    settings: {
      threshold,
      detectLayer: detect,
      topK,
      highestLayer: highest,
      lowestLayer: lowest,
      sparsityFilter,
      sparsityFraction: frac,
      sparsityActivation: actLimit,
      images: [...(opts.images ?? inputs.map((_, i) => `image ${i + 1}`))],
      imagesWithOutliers: withOutliers,
      ...(opts.notes ?? {}),
    },
    scale: 1,
    neurons,
  };
}

/** The file's text: one neuron per line, so that a diff shows which changed. */
export function formatTestTimeRegisters(r: TestTimeRegisters): string {
  const head = { format: r.format, version: r.version, model: r.model, settings: r.settings, scale: r.scale };
  const body = JSON.stringify(head, null, 2).replace(/\n}$/, '');
  const lines = r.neurons.map((n) => `    ${JSON.stringify({ layer: n.layer, neuron: n.neuron, score: Number(n.score.toPrecision(7)) })}`);
  return `${body},\n  "neurons": [\n${lines.join(',\n')}\n  ]\n}\n`;
}

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * A test-time register file's contents, checked: the format, and every
 * neuron within `vit` (when given). Every problem is an InputError naming `name`.
 */
export function parseTestTimeRegisters(text: string, name: string, vit?: ViT): TestTimeRegisters {
  const fail = (why: string): never => {
    throw new InputError(name, `${name}: ${why}`);
  };
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    const at = /position (\d+)/.exec((e as Error).message);
    fail(`not valid JSON${at ? ` (at byte ${at[1]})` : ''}`);
  }
  if (!isObject(v)) return fail('expected a JSON object (a test-time register file from `cdam registers`)');
  if (v['format'] !== TTR_FORMAT) fail(`not a test-time register file ("format" must be "${TTR_FORMAT}")`);
  if (v['version'] !== TTR_VERSION) fail(`version ${JSON.stringify(v['version'])} is not supported (this cdam reads version ${TTR_VERSION})`);
  const model = v['model'];
  if (!isObject(model)) return fail('"model" must be an object {name, depth, mlpDim, dim}');
  for (const k of ['depth', 'mlpDim', 'dim']) {
    if (!Number.isInteger(model[k]) || (model[k] as number) < 1) fail(`"model.${k}" must be a positive integer`);
  }
  if (typeof model['name'] !== 'string') fail('"model.name" must be a string');
  const scale = v['scale'] ?? 1;
  if (typeof scale !== 'number' || !Number.isFinite(scale)) fail('"scale" must be a finite number');
  const settings = v['settings'] ?? {};
  if (!isObject(settings)) fail('"settings" must be an object');
  const list = v['neurons'];
  if (!Array.isArray(list) || list.length === 0) return fail('"neurons" must be a non-empty list of {layer, neuron}');
  const depth = model['depth'] as number;
  const mlpDim = model['mlpDim'] as number;
  const seen = new Set<string>();
  const neurons = list.map((n, i): ScoredRegisterNeuron => {
    if (!isObject(n)) return fail(`neurons[${i}] must be an object {layer, neuron}`);
    const { layer, neuron } = n;
    if (!Number.isInteger(layer) || (layer as number) < 0 || (layer as number) >= depth)
      fail(`neurons[${i}].layer must be an integer in [0, ${depth - 1}], got ${JSON.stringify(layer)}`);
    if (!Number.isInteger(neuron) || (neuron as number) < 0 || (neuron as number) >= mlpDim)
      fail(`neurons[${i}].neuron must be an integer in [0, ${mlpDim - 1}], got ${JSON.stringify(neuron)}`);
    const at = { layer: layer as number, neuron: neuron as number }; // integers, checked above
    const key = `${at.layer}:${at.neuron}`;
    if (seen.has(key)) fail(`neurons[${i}]: layer ${at.layer}, neuron ${at.neuron} is listed twice`);
    seen.add(key);
    const score = n['score'] ?? 0;
    if (typeof score !== 'number' || !Number.isFinite(score)) fail(`neurons[${i}].score must be a finite number`);
    return { ...at, score: score as number };
  });
  if (vit) {
    const c = vit.config;
    if (depth !== c.depth || mlpDim !== c.mlpDim || model['dim'] !== c.dim) {
      fail(
        `made for a model with ${depth} blocks, width ${model['dim'] as number} and MLP ${mlpDim} ("${model['name'] as string}"); this model has ${c.depth}, ${c.dim} and ${c.mlpDim} ("${c.name}")`,
      );
    }
  }
  return {
    format: TTR_FORMAT,
    version: TTR_VERSION,
    model: { name: model['name'] as string, depth, mlpDim, dim: model['dim'] as number },
    settings: settings as TestTimeRegisters['settings'],
    scale: scale as number,
    neurons,
  };
}

/** Read and check a test-time register file (Node only). */
export function readTestTimeRegisters(path: string, vit?: ViT): TestTimeRegisters {
  const bytes = readRegularFile(path, 'a test-time register file', READ_LIMITS.config);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new InputError(path, `${path}: not UTF-8 text (a test-time register file is JSON)`);
  }
  return parseTestTimeRegisters(text, path, vit);
}

/** The model with the test-time register of a file's contents. */
export function applyTestTimeRegisters(vit: ViT, r: TestTimeRegisters): ViT {
  return vit.withTestTimeRegister(r.neurons, { scale: r.scale });
}
