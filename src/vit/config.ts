// Model configuration from the files people download: timm's config.json
// (architecture name + pretrained_cfg) or Hugging Face transformers'
// config.json (+ preprocessor_config.json). Shapes that the tensors fix
// (width, depth, MLP size, patch size, token counts) are read from the tensors
// later and cross-checked against what the config says.

import { InputError } from '../io/errors.js';
export type Interpolation = 'bilinear' | 'bicubic' | 'nearest';

export interface PreprocessConfig {
  mean: [number, number, number];
  std: [number, number, number];
  interpolation: Interpolation;
  /** timm eval crop: resize the short side to size / cropPct, then centre-crop */
  cropPct: number;
  /** model input size [height, width] */
  size: [number, number];
}

/** What the config files say; undefined fields are taken from the tensors. */
export interface DeclaredConfig {
  layout: 'timm' | 'hf';
  name: string;
  heads: number;
  dim?: number;
  depth?: number;
  mlpDim?: number;
  patch?: number;
  numClasses?: number;
  eps: number;
  preprocess: PreprocessConfig;
  labels: string[] | null;
  /** what the outputs are: class logits, or regression outputs (the values themselves; cdam train writes "cdam_task") */
  task?: OutputTask;
}

export type OutputTask = 'classification' | 'regression';

const TIMM_FAMILIES: Record<string, { dim: number; heads: number; depth: number }> = {
  tiny: { dim: 192, heads: 3, depth: 12 },
  small: { dim: 384, heads: 6, depth: 12 },
  base: { dim: 768, heads: 12, depth: 12 },
  large: { dim: 1024, heads: 16, depth: 24 },
  huge: { dim: 1280, heads: 16, depth: 32 },
  giant: { dim: 1408, heads: 16, depth: 40 },
};

function fail(file: string, msg: string): never {
  throw new InputError(file, `${file}: ${msg}`);
}

function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Sizes a config may give (pixels, widths, counts): positive integers up to this. */
const MAX_SIZE = 1 << 16;

/** A positive integer (a size or a count), or a precise error naming the field. */
function posInt(v: unknown, file: string, what: string, max = MAX_SIZE): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > max) fail(file, `${what} must be an integer in [1, ${max}], got ${JSON.stringify(v)}`);
  return v;
}

function optPosInt(v: unknown, file: string, what: string): number | undefined {
  return v === undefined ? undefined : posInt(v, file, what);
}

function triple(v: unknown, file: string, what: string): [number, number, number] {
  if (!Array.isArray(v) || v.length !== 3 || v.some((x) => typeof x !== 'number' || !Number.isFinite(x))) {
    fail(file, `${what} must be three numbers, got ${JSON.stringify(v)}`);
  }
  return v as [number, number, number];
}

function nonNegInt(v: unknown, file: string, what: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 1 << 20) fail(file, `${what} must be a non-negative integer, got ${JSON.stringify(v)}`);
  return v;
}

/** A per-channel std: three positive numbers (a zero would divide by zero). */
function stdTriple(v: unknown, file: string, what: string): [number, number, number] {
  const t = triple(v, file, what);
  if (t.some((x) => !(x > 0))) fail(file, `${what} must be three positive numbers, got ${JSON.stringify(v)}`);
  return t;
}

function interp(v: unknown, file: string): Interpolation {
  // PIL resample codes as Hugging Face writes them: 0 nearest, 2 bilinear, 3 bicubic
  if (v === 2 || v === 'bilinear') return 'bilinear';
  if (v === 3 || v === 'bicubic') return 'bicubic';
  if (v === 0 || v === 'nearest') return 'nearest';
  return fail(file, `unsupported interpolation ${JSON.stringify(v)}`);
}

export function isHfConfig(cfg: Record<string, unknown>): boolean {
  return 'hidden_size' in cfg || 'num_attention_heads' in cfg;
}

/** timm: architecture like vit_small_patch8_224, deit_tiny_distilled_patch16_224, vit_base_patch14_reg4_dinov2. */
export function parseTimmConfig(cfg: Record<string, unknown>, file: string): DeclaredConfig {
  const arch = cfg['architecture'];
  if (typeof arch !== 'string') fail(file, 'timm config has no "architecture" string');
  const m = /^(?:vit|deit|deit3)_(tiny|small|base|large|huge|giant)(?:_distilled)?_patch(\d+)(?:_(\d+))?/.exec(arch);
  const args = isObj(cfg['model_args']) ? cfg['model_args'] : {};
  const fam = m ? TIMM_FAMILIES[m[1]!] : undefined;
  const heads = args['num_heads'] !== undefined ? posInt(args['num_heads'], file, 'model_args.num_heads', 1024) : fam?.heads;
  if (!heads) fail(file, `cannot tell the head count of architecture "${arch}" (add model_args.num_heads)`);
  const pc = isObj(cfg['pretrained_cfg']) ? cfg['pretrained_cfg'] : {};
  const inputSize = pc['input_size'];
  let size: [number, number];
  if (inputSize !== undefined) {
    if (!Array.isArray(inputSize) || inputSize.length !== 3)
      fail(file, `pretrained_cfg.input_size must be [channels, height, width], got ${JSON.stringify(inputSize)}`);
    if (inputSize[0] !== 3) fail(file, `pretrained_cfg.input_size must have 3 channels, got ${JSON.stringify(inputSize[0])}`);
    size = [posInt(inputSize[1], file, 'pretrained_cfg.input_size[1] (height)'), posInt(inputSize[2], file, 'pretrained_cfg.input_size[2] (width)')];
  } else if (m?.[3]) size = [Number(m[3]), Number(m[3])];
  else size = [224, 224];
  const numClasses = cfg['num_classes'] !== undefined ? nonNegInt(cfg['num_classes'], file, 'num_classes') : undefined;
  const cropPct = pc['crop_pct'] === undefined ? 0.875 : pc['crop_pct'];
  if (typeof cropPct !== 'number' || !(cropPct > 0.05 && cropPct <= 1))
    fail(file, `pretrained_cfg.crop_pct must be a number in (0.05, 1], got ${JSON.stringify(cropPct)}`);
  return {
    layout: 'timm',
    name: arch,
    heads,
    dim: optPosInt(args['embed_dim'], file, 'model_args.embed_dim') ?? fam?.dim,
    depth: optPosInt(args['depth'], file, 'model_args.depth') ?? fam?.depth,
    patch: m ? Number(m[2]) : undefined,
    numClasses,
    eps: 1e-6,
    preprocess: {
      mean: pc['mean'] !== undefined ? triple(pc['mean'], file, 'pretrained_cfg.mean') : [0.485, 0.456, 0.406],
      std: pc['std'] !== undefined ? stdTriple(pc['std'], file, 'pretrained_cfg.std') : [0.229, 0.224, 0.225],
      interpolation: pc['interpolation'] !== undefined ? interp(pc['interpolation'], file) : 'bicubic',
      cropPct,
      size,
    },
    labels: labelList(cfg, file),
    task: outputTask(cfg, file),
  };
}

function outputTask(cfg: Record<string, unknown>, file: string): OutputTask {
  const t = cfg['cdam_task'] ?? 'classification';
  if (t !== 'classification' && t !== 'regression') fail(file, `"cdam_task" must be "classification" or "regression", got ${JSON.stringify(t)}`);
  return t;
}

function labelList(cfg: Record<string, unknown>, file: string): string[] | null {
  const id2label = cfg['id2label'] ?? cfg['label_names'];
  if (Array.isArray(id2label)) return id2label.map(String);
  if (!isObj(id2label)) return null;
  const n = Object.keys(id2label).length;
  const out = new Array<string>(n);
  for (const [k, v] of Object.entries(id2label)) {
    const i = Number(k);
    if (!Number.isInteger(i) || i < 0 || i >= n) fail(file, `id2label key "${k}" is not an index below ${n}`);
    out[i] = String(v);
  }
  return out;
}

function layerNormEps(v: unknown, file: string): number {
  if (v === undefined) return 1e-12;
  if (typeof v !== 'number' || !(v > 0 && v < 1)) fail(file, `"layer_norm_eps" must be a number in (0, 1), got ${JSON.stringify(v)}`);
  return v;
}

/** Hugging Face transformers ViT/DeiT config plus its preprocessor_config.json (when present). */
export function parseHfConfig(cfg: Record<string, unknown>, file: string, pre: Record<string, unknown> | null, preFile: string): DeclaredConfig {
  const num = (k: string): number | undefined => optPosInt(cfg[k], file, `"${k}"`);
  const heads = num('num_attention_heads');
  if (!heads) fail(file, 'Hugging Face config has no "num_attention_heads"');
  const act = cfg['hidden_act'];
  if (act !== undefined && act !== 'gelu') fail(file, `hidden_act "${String(act)}" is not supported (only exact GELU)`);
  const imageSize = num('image_size') ?? 224;
  let size: [number, number] = [imageSize, imageSize];
  let mean: [number, number, number] = [0.5, 0.5, 0.5];
  let std: [number, number, number] = [0.5, 0.5, 0.5];
  let interpolation: Interpolation = 'bilinear';
  if (pre) {
    if (pre['image_mean'] !== undefined) mean = triple(pre['image_mean'], preFile, 'image_mean');
    if (pre['image_std'] !== undefined) std = stdTriple(pre['image_std'], preFile, 'image_std');
    if (pre['resample'] !== undefined) interpolation = interp(pre['resample'], preFile);
    const s = pre['size'];
    if (typeof s === 'number') size = [posInt(s, preFile, 'size'), s];
    else if (isObj(s) && s['height'] !== undefined) size = [posInt(s['height'], preFile, 'size.height'), posInt(s['width'], preFile, 'size.width')];
    else if (isObj(s) && s['shortest_edge'] !== undefined) size = [posInt(s['shortest_edge'], preFile, 'size.shortest_edge'), s['shortest_edge'] as number];
    else if (s !== undefined) fail(preFile, `size must be a number or {height, width}, got ${JSON.stringify(s)}`);
  }
  const labels = labelList(cfg, file);
  return {
    layout: 'hf',
    name: String(cfg['_name_or_path'] ?? cfg['model_type'] ?? 'vit'),
    heads,
    dim: num('hidden_size'),
    depth: num('num_hidden_layers'),
    mlpDim: num('intermediate_size'),
    patch: num('patch_size'),
    eps: layerNormEps(cfg['layer_norm_eps'], file),
    // HF's ViTImageProcessor resizes straight to the model size
    preprocess: { mean, std, interpolation, cropPct: 1, size },
    labels,
  };
}
