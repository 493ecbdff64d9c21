// Model configuration from the files people download: timm's config.json
// (architecture name + pretrained_cfg) or Hugging Face transformers'
// config.json (+ preprocessor_config.json). Shapes that the tensors fix
// (width, depth, MLP size, patch size, token counts) are read from the tensors
// later and cross-checked against what the config says.

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
}

const TIMM_FAMILIES: Record<string, { dim: number; heads: number; depth: number }> = {
  tiny: { dim: 192, heads: 3, depth: 12 },
  small: { dim: 384, heads: 6, depth: 12 },
  base: { dim: 768, heads: 12, depth: 12 },
  large: { dim: 1024, heads: 16, depth: 24 },
  huge: { dim: 1280, heads: 16, depth: 32 },
  giant: { dim: 1408, heads: 16, depth: 40 },
};

function fail(file: string, msg: string): never {
  throw new Error(`${file}: ${msg}`);
}

function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function triple(v: unknown, file: string, what: string): [number, number, number] {
  if (!Array.isArray(v) || v.length !== 3 || v.some((x) => typeof x !== 'number' || !Number.isFinite(x))) {
    fail(file, `${what} must be three numbers, got ${JSON.stringify(v)}`);
  }
  return v as [number, number, number];
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
  const heads = typeof args['num_heads'] === 'number' ? args['num_heads'] : fam?.heads;
  if (!heads) fail(file, `cannot tell the head count of architecture "${arch}" (add model_args.num_heads)`);
  const pc = isObj(cfg['pretrained_cfg']) ? cfg['pretrained_cfg'] : {};
  const inputSize = pc['input_size'];
  let size: [number, number];
  if (Array.isArray(inputSize) && inputSize.length === 3) size = [inputSize[1] as number, inputSize[2] as number];
  else if (m?.[3]) size = [Number(m[3]), Number(m[3])];
  else size = [224, 224];
  const numClasses = typeof cfg['num_classes'] === 'number' ? cfg['num_classes'] : undefined;
  return {
    layout: 'timm',
    name: arch,
    heads,
    dim: typeof args['embed_dim'] === 'number' ? args['embed_dim'] : fam?.dim,
    depth: typeof args['depth'] === 'number' ? args['depth'] : fam?.depth,
    patch: m ? Number(m[2]) : undefined,
    numClasses,
    eps: 1e-6,
    preprocess: {
      mean: pc['mean'] !== undefined ? triple(pc['mean'], file, 'pretrained_cfg.mean') : [0.485, 0.456, 0.406],
      std: pc['std'] !== undefined ? triple(pc['std'], file, 'pretrained_cfg.std') : [0.229, 0.224, 0.225],
      interpolation: pc['interpolation'] !== undefined ? interp(pc['interpolation'], file) : 'bicubic',
      cropPct: typeof pc['crop_pct'] === 'number' ? pc['crop_pct'] : 0.875,
      size,
    },
    labels: labelList(cfg, file),
  };
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

/** Hugging Face transformers ViT/DeiT config plus its preprocessor_config.json (when present). */
export function parseHfConfig(cfg: Record<string, unknown>, file: string, pre: Record<string, unknown> | null, preFile: string): DeclaredConfig {
  const num = (k: string): number | undefined => {
    const v = cfg[k];
    if (v === undefined) return undefined;
    if (typeof v !== 'number' || !Number.isFinite(v)) fail(file, `"${k}" must be a number`);
    return v;
  };
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
    if (pre['image_std'] !== undefined) std = triple(pre['image_std'], preFile, 'image_std');
    if (pre['resample'] !== undefined) interpolation = interp(pre['resample'], preFile);
    const s = pre['size'];
    if (typeof s === 'number') size = [s, s];
    else if (isObj(s) && typeof s['height'] === 'number' && typeof s['width'] === 'number') size = [s['height'], s['width']];
    else if (isObj(s) && typeof s['shortest_edge'] === 'number') size = [s['shortest_edge'], s['shortest_edge']];
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
    eps: num('layer_norm_eps') ?? 1e-12,
    // HF's ViTImageProcessor resizes straight to the model size
    preprocess: { mean, std, interpolation, cropPct: 1, size },
    labels,
  };
}
