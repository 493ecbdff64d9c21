// One explain session: a model and an image in; the top classes, what was
// done to the image, and any methods for any targets out. Blocks 1..L-1 run
// once per session; each method then recomputes only what it needs. The
// package's explainImage, the command line and the web page's engine all go
// through it, so target resolution, the top classes, the option fan-out and
// the finite check live here once.

import { activeBackend } from '../kernels/index.js';
import { decodeImage, type RgbImage } from '../io/image.js';
import { Explainer, type Explanation, type HighNormToken, type ScoreEngine } from '../cdam/explainer.js';
import { METHODS, isMethod, methodInfo, runMethod, type Method, type MethodOptions } from '../methods/registry.js';
import { parseTarget, type Target } from '../cdam/target.js';
import type { ViT } from '../vit/model.js';
import { topClasses, type TopClass } from '../vit/classes.js';
import { DEFAULT_RESIZE, describePreprocessing, prepareImage, type Prepared, type ResizeMode } from '../vit/preprocess.js';

/** A decoded image, or the bytes of a PNG or JPEG file. */
export type ImageInput = RgbImage | Uint8Array | ArrayBuffer;

/** A target as callers give it: a class index, a label (or a unique part of one), "A-B", or a Target. */
export type TargetInput = number | string | Target;

export interface SessionOptions {
  /** squash (default) or crop */
  resize?: ResizeMode;
  /** closed-form (default) or autograd: how dF/dT is obtained */
  engine?: ScoreEngine;
  /** the largest image accepted, in pixels (the preprocessing's default limit when absent) */
  maxPixels?: number;
}

export function toRgb(image: ImageInput): RgbImage {
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

/** Resolve a target as callers give it; with none, the top-1 class of `logits`. */
export function resolveTarget(vit: ViT, spec: TargetInput | undefined, logits: Float32Array | null): Target {
  if (typeof spec === 'object') return spec;
  const info = { numClasses: vit.config.numClasses, labels: vit.config.labels };
  if (spec !== undefined) return parseTarget(String(spec), info);
  // a regression model's outputs are not scores to rank: without a target, its first output
  if (vit.isRegression && vit.config.numClasses > 0) return { kind: 'class', index: 0 };
  const top = logits ? topClasses(logits, (i) => vit.label(i), 1)[0] : undefined;
  if (!top) throw new Error('the model has no classifier head: give a concept or custom target');
  return { kind: 'class', index: top.index };
}

export class ExplainSession {
  /** the image as given (decoded) */
  readonly image: RgbImage;
  /** the image at model resolution, and the model's input */
  readonly prepared: Prepared;
  /** what was done to the image, in words */
  readonly preprocessing: string;
  readonly explainer: Explainer;
  /** raw logits of the image (null without a head) */
  readonly logits: Float32Array | null;
  /** the backend the session's forward ran on */
  readonly backend: string;
  private readonly targetFree = new Map<string, Explanation[]>();

  constructor(
    readonly vit: ViT,
    image: ImageInput,
    opts: SessionOptions = {},
  ) {
    this.image = toRgb(image);
    const resize = opts.resize ?? DEFAULT_RESIZE;
    this.prepared =
      opts.maxPixels === undefined
        ? prepareImage(this.image, vit.config.preprocess, resize)
        : prepareImage(this.image, vit.config.preprocess, resize, opts.maxPixels);
    this.preprocessing = describePreprocessing(this.image, vit.config.preprocess, resize);
    this.explainer = new Explainer(vit, this.prepared.input, opts.engine ?? 'closed-form');
    this.logits = this.explainer.logits();
    this.backend = activeBackend();
  }

  /** The k most probable classes ([] without a head). */
  top(k = 5): TopClass[] {
    return this.logits ? topClasses(this.logits, (i) => this.vit.label(i), k) : [];
  }

  /** Patch tokens with artefact-high norms (README: "Bright corners"). */
  highNormTokens(): HighNormToken[] {
    return this.explainer.highNormTokens();
  }

  /** A target as callers give it, resolved; with none, the top-1 class. */
  target(spec?: TargetInput): Target {
    return resolveTarget(this.vit, spec, this.logits);
  }

  /**
   * One method for one target: its maps (one per head with perHead), each
   * checked finite. A target-free method (attention, rollout) is computed
   * once per session and returned again for every target.
   */
  explain(method: Method | (string & {}), target: Target, opts: MethodOptions = {}): Explanation[] {
    if (!isMethod(method)) throw new Error(`method must be one of ${METHODS.join(', ')}, got "${String(method)}"`);
    if (methodInfo(method).usesTarget) return runMethod(this.explainer, method, target, opts);
    const key = `${method}/${opts.perHead === true}`;
    let maps = this.targetFree.get(key);
    if (!maps) this.targetFree.set(key, (maps = runMethod(this.explainer, method, target, opts)));
    return maps;
  }
}
