// The package's one-call entries: classify an image, explain it with any
// method for any target. Both pick the fastest kernel backend on first use
// (chooseFastestOnFirstUse, called by the package entry) and report which one ran.
import { activeBackend } from '../kernels/index.js';
import { noGrad } from '../autograd/index.js';
import type { Explanation, HighNormToken, PatchMap, ScoreEngine } from '../cdam/explainer.js';
import type { Method, MethodOptions } from '../methods/registry.js';
import type { MethodParams } from '../methods/options.js';
import type { ViT } from '../vit/model.js';
import { topClasses, type TopClass } from '../vit/classes.js';
import { DEFAULT_RESIZE, describePreprocessing, prepareImage, type Prepared, type ResizeMode } from '../vit/preprocess.js';
import { ExplainSession, toRgb, type ImageInput, type TargetInput } from './session.js';

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

/**
 * The method's options (samples, noise, seed, steps, batch, lrp, gamma,
 * patchGamma: each method reads those its registry entry declares, with its
 * own defaults; methodInfo(m).options lists them) and the run's settings.
 */
export interface ExplainOptions extends MethodParams {
  /** default 'cdam' */
  method?: Method;
  /** a class index, a label (or a unique part of one), "A-B", or a Target; default: the top-1 class */
  target?: TargetInput;
  /** squash (default) or crop */
  resize?: ResizeMode;
  /** one map per head */
  perHead?: boolean;
  /** expected-grad's reference images [1, 3, H, W], normalised like the input */
  references?: MethodOptions['references'];
  /** closed-form (default) or autograd */
  engine?: ScoreEngine;
  /** how many top classes to report (default 5) */
  top?: number;
  /** called as points are done (the methods that average over many) */
  onProgress?: (done: number, total: number) => void;
}

export interface ExplainResult {
  method: string;
  /** the target in words ("285 Egyptian cat"), null for the attention map */
  target: string | null;
  /** the target's value (a raw logit for a class) */
  score: number | null;
  /** the map: raw, row-major, on the patch grid (pixel grid for the pixel-level methods: those with methodInfo(m).level 'pixel') */
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

/** Explain an image: one method, one target (an ExplainSession for several). */
export async function explainImage(vit: ViT, image: ImageInput, opts: ExplainOptions = {}): Promise<ExplainResult> {
  const t0 = performance.now();
  const session = new ExplainSession(vit, image, { resize: opts.resize, engine: opts.engine });
  const maps = session.explain(opts.method ?? 'cdam', session.target(opts.target), opts); // it reads the method's options, perHead, references, onProgress
  const first = maps[0]!;
  return {
    method: first.method,
    target: first.target,
    score: first.score,
    map: first.map,
    maps,
    top: session.top(opts.top ?? 5),
    logits: session.logits,
    highNormTokens: session.highNormTokens(),
    prepared: session.prepared,
    preprocessing: session.preprocessing,
    backend: session.backend,
    ms: performance.now() - t0,
  };
}
