// The package's one-call entries: classify an image, explain it with any
// method for any target. Both pick the fastest kernel backend on first use
// (kernels/default.ts) and report which one ran.
import { activeBackend } from '../kernels/index.js';
import { noGrad } from '../autograd/index.js';
import { decodeImage, type RgbImage } from '../io/image.js';
import { Explainer, type Explanation, type HighNormToken, type PatchMap, type ScoreEngine } from '../cdam/explain.js';
import { METHODS, isMethod, runMethod, type Method } from '../cdam/methods.js';
import { parseTarget, type Target } from '../cdam/target.js';
import type { AttnLrpOptions } from '../cdam/attnlrp.js';
import type { ViT } from '../vit/model.js';
import { topClasses, type TopClass } from '../vit/classes.js';
import { DEFAULT_RESIZE, describePreprocessing, prepareImage, type Prepared, type ResizeMode } from '../vit/preprocess.js';

/** A decoded image, or the bytes of a PNG or JPEG file. */
export type ImageInput = RgbImage | Uint8Array | ArrayBuffer;

function toRgb(image: ImageInput): RgbImage {
  // unnamed bytes: the errors say "image bytes: ..."
  if (image instanceof Uint8Array) return decodeImage(image);
  if (image instanceof ArrayBuffer) return decodeImage(new Uint8Array(image));
  if (!image || !Number.isInteger(image.width) || !Number.isInteger(image.height) || !(image.data instanceof Uint8Array)) {
    throw new Error('expected an image: { width, height, data: Uint8Array (RGB) }, or the bytes of a PNG or JPEG file');
  }
  if (image.data.length !== image.width * image.height * 3) {
    throw new Error(`image is ${image.width}x${image.height} but has ${image.data.length} bytes (RGB needs ${image.width * image.height * 3})`);
  }
  return image;
}

export interface ClassifyOptions {
  /** how many classes (default 5) */
  top?: number;
  /** squash (default) or crop */
  resize?: ResizeMode;
}

export interface ClassifyResult {
  top: TopClass[];
  logits: Float32Array;
  /** what was done to the image, in words */
  preprocessing: string;
  backend: string;
}

/** The top classes of an image. */
export async function classifyImage(vit: ViT, image: ImageInput, opts: ClassifyOptions = {}): Promise<ClassifyResult> {
  if (!vit.params.head) throw new Error('the model has no classifier head');
  const rgb = toRgb(image);
  const resize = opts.resize ?? DEFAULT_RESIZE;
  const { input } = prepareImage(rgb, vit.config.preprocess, resize);
  const logits = Float32Array.from(noGrad(() => vit.forward(input).logits!).contiguousData());
  return {
    top: topClasses(logits, (i) => vit.label(i), opts.top ?? 5),
    logits,
    preprocessing: describePreprocessing(rgb, vit.config.preprocess, resize),
    backend: activeBackend(),
  };
}

export interface ExplainOptions {
  /** default 'cdam' */
  method?: Method;
  /** a class index, a label (or a unique part of one), "A-B", or a Target; default: the top-1 class */
  target?: number | string | Target;
  /** squash (default) or crop */
  resize?: ResizeMode;
  /** one map per head */
  perHead?: boolean;
  /** Smooth CDAM and SmoothGrad (each method's own default when absent) */
  samples?: number;
  /** Smooth CDAM's nu, SmoothGrad's sigma as a fraction of the input range */
  noise?: number;
  seed?: number;
  /** Integrated CDAM and IntGrad */
  steps?: number;
  /** samples per batched pass */
  batch?: number;
  /** AttnLRP: variant (cp or full) and the LRP-gamma of its layers */
  attnlrp?: AttnLrpOptions;
  /** closed-form (default) or autograd */
  engine?: ScoreEngine;
  /** how many top classes to report (default 5) */
  top?: number;
  /** called as samples are done (Smooth and Integrated CDAM, SmoothGrad, IntGrad) */
  onProgress?: (done: number, total: number) => void;
}

export interface ExplainResult {
  method: string;
  /** the target in words ("285 Egyptian cat"), null for the attention map */
  target: string | null;
  /** the target's value (a raw logit for a class) */
  score: number | null;
  /** the map: raw, row-major, on the patch grid (pixel grid for the pixel-level methods: input-x-grad, smoothgrad, intgrad, expected-grad, gradcam, attnlrp) */
  map: PatchMap;
  /** every map computed (one per head with perHead; else just `map`) */
  maps: Explanation[];
  /** the top classes ([] without a head) and the raw logits */
  top: TopClass[];
  logits: Float32Array | null;
  /** patch tokens with artefact-high norms (see the README) */
  highNormTokens: HighNormToken[];
  /** the image at model resolution, and what was done to get it */
  prepared: Prepared;
  preprocessing: string;
  backend: string;
  ms: number;
}

/** Resolve a target option to a Target (the top-1 class when absent, from the explained image's logits). */
export function resolveTarget(vit: ViT, target: ExplainOptions['target'], logits: Float32Array | null): Target {
  if (typeof target === 'object') return target;
  const info = { numClasses: vit.config.numClasses, labels: vit.config.labels };
  if (typeof target === 'number') return parseTarget(String(target), info);
  if (typeof target === 'string') return parseTarget(target, info);
  if (!logits) throw new Error('the model has no classifier head: give a concept or custom target');
  return { kind: 'class', index: topClasses(logits, (i) => vit.label(i), 1)[0]!.index };
}

/** Explain an image: one method, one target. */
export async function explainImage(vit: ViT, image: ImageInput, opts: ExplainOptions = {}): Promise<ExplainResult> {
  const method = opts.method ?? 'cdam';
  if (!isMethod(method)) throw new Error(`method must be one of ${METHODS.join(', ')}, got "${String(method)}"`);
  const t0 = performance.now();
  const rgb = toRgb(image);
  const resize = opts.resize ?? DEFAULT_RESIZE;
  const prepared = prepareImage(rgb, vit.config.preprocess, resize);
  const ex = new Explainer(vit, prepared.input, opts.engine ?? 'closed-form');
  const logits = ex.logits();
  const target = resolveTarget(vit, opts.target, logits);
  const progress = { batch: opts.batch, onProgress: opts.onProgress };
  const maps = runMethod(ex, method, target, {
    perHead: opts.perHead,
    smooth: { samples: opts.samples, nu: opts.noise, seed: opts.seed, ...progress },
    integrated: { steps: opts.steps, ...progress },
    smoothgrad: { samples: opts.samples, noise: opts.noise, seed: opts.seed, ...progress },
    intgrad: { steps: opts.steps, ...progress },
    expectedGrad: { samples: opts.samples, seed: opts.seed, ...progress },
    attnlrp: opts.attnlrp,
  });
  const first = maps[0]!;
  return {
    method: first.method,
    target: first.target,
    score: first.score,
    map: first.map,
    maps,
    top: logits ? topClasses(logits, (i) => vit.label(i), opts.top ?? 5) : [],
    logits,
    highNormTokens: ex.highNormTokens(),
    prepared,
    preprocessing: describePreprocessing(rgb, vit.config.preprocess, resize),
    backend: activeBackend(),
    ms: performance.now() - t0,
  };
}
