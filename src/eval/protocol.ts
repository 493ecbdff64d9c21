// The evaluation protocol for one image (docs/ALGORITHMS.md "Evaluation protocol",
// docs/EVAL.md): every method's map for every target, its MIF and LIF curves,
// box sensitivity and compactness. The perturbed images go through the model
// in batches; the box forwards do not depend on the map, so they run once per
// image and every method reuses them, and so do the unperturbed and the fully
// blurred image (steps 0 and `steps` of every curve).
import { Tensor, allocate } from '../tensor/index.js';
import { noGrad } from '../autograd/index.js';
import type { RgbImage } from '../io/image.js';
import type { ViT } from '../vit/model.js';
import { normalise } from '../vit/preprocess.js';
import { methodInfo, type Method } from '../methods/registry.js';
import { ExplainSession } from '../api/session.js';
import { gaussianBlurPillow } from './blur.js';
import { boxSum, compactness, integralImage, pearson, perturbedCount, pixelOrder, toPixels, trapezoid, trapezoidXY, type BoxSet } from './metrics.js';
import { EVAL_DEFAULTS, type EvalSettings } from './defaults.js';

/** One line of results.jsonl (docs/EVAL.md). */
export interface EvalRecord {
  image: string;
  line: number;
  method: string;
  mapTarget: number;
  logitTarget: number;
  aMif: number;
  aLif: number;
  aLifMif: number;
  boxSizes: number[];
  boxR: number[];
  aBox: number;
  compactness: number;
  curves: { mif: number[]; lif: number[] };
}

export interface ImageJob {
  /** the manifest's path, as written there */
  image: string;
  /** the manifest line (1-based) */
  line: number;
  /** uint8 RGB at model resolution */
  rgb: RgbImage;
  /** one class, or two for a two-class image */
  targets: number[];
}

/** The run's settings (the image is at model resolution already: no resize), each optional, and the boxes. */
export interface ProtocolOptions extends Partial<Omit<EvalSettings, 'resize'>> {
  boxes: BoxSet;
  blurRadius?: number;
  /** called after each method's map and curves: (methods done, methods in all) */
  onProgress?: (done: number, total: number) => void;
}

export interface ImageTiming {
  /** time computing maps */
  mapsMs: number;
  /** time in perturbation forwards (and making the perturbed images) */
  forwardsMs: number;
  /** perturbed images sent through the model */
  forwards: number;
}

/** Logits at the targets for batches of uint8 images (each H*W*3, RGB), under no tape. */
class TargetLogits {
  forwards = 0;
  ms = 0;
  constructor(
    private readonly vit: ViT,
    private readonly width: number,
    private readonly height: number,
    private readonly targets: readonly number[],
    private readonly batch: number,
  ) {}

  /** logits[target][image] for the images `make(i)`, i < count; each is read before the next is made, so `make` may reuse one buffer */
  run(count: number, make: (i: number) => Uint8Array): Float64Array[] {
    const t0 = performance.now();
    const out = this.targets.map(() => new Float64Array(count));
    const { width: w, height: h } = this;
    const plane = w * h;
    const cfg = this.vit.config.preprocess;
    const classes = this.vit.config.numClasses;
    for (let i0 = 0; i0 < count; i0 += this.batch) {
      const b = Math.min(this.batch, count - i0);
      const data = allocate('float32', b * 3 * plane);
      for (let j = 0; j < b; j++) {
        const one = normalise({ width: w, height: h, data: make(i0 + j) }, cfg).contiguousData();
        data.set(one, j * 3 * plane);
      }
      const logits = noGrad(() => this.vit.forward(new Tensor(data, [b, 3, h, w])).logits);
      if (!logits) throw new Error('the evaluation needs a classifier head (the recorded output is a class logit)');
      const L = logits.contiguousData();
      for (let j = 0; j < b; j++) {
        this.targets.forEach((c, t) => {
          const v = L[j * classes + c]!;
          if (!Number.isFinite(v)) throw new Error(`a perturbed image gave a non-finite logit (${v}) for class ${c}`);
          out[t]![i0 + j] = v;
        });
      }
      this.forwards += b;
    }
    this.ms += performance.now() - t0;
    return out;
  }
}

/** The map target / logit target pairings of an image: (c, c) for one class; (c,c), (c2,c), (c2,c2), (c,c2) for two. */
export function pairings(targets: readonly number[]): [number, number][] {
  if (targets.length === 1) return [[targets[0]!, targets[0]!]];
  if (targets.length === 2) {
    const [c, c2] = targets as [number, number];
    return [
      [c, c],
      [c2, c],
      [c2, c2],
      [c, c2],
    ];
  }
  throw new Error(`an image has one or two targets, got ${targets.length}`);
}

/**
 * A piece of one image's evaluation that runs on its own: the unperturbed and
 * fully blurred forwards, a range of the box forwards, or one method (its
 * maps, their box sums and their curves). Parts run in any order, in one
 * process or spread over workers; `assembleImage` makes the records from
 * their results, so both ways give the same lines.
 */
export type ImagePart = { kind: 'ends' } | { kind: 'boxes'; from: number; to: number } | { kind: 'method'; method: Method };

/** One map's share of a method part: the box sums and the curves' inner points (steps 1..steps-1), per logit target. */
export interface MapPart {
  mapTarget: number;
  sums: number[];
  mif: number[][];
  lif: number[][];
  compactness: number;
}

export type PartResult =
  | { kind: 'ends'; clean: number[]; blurred: number[] }
  | { kind: 'boxes'; from: number; logits: number[][] }
  | { kind: 'method'; method: Method; maps: MapPart[] };

/** Box forwards per part: a whole number of batches, small enough to balance two workers at an image's end. */
const BOX_PART_BATCHES = 3;

/** The parts of an image: the methods first (the longest work), then the ends and the box ranges, which fill in. */
export function imageParts(methods: readonly Method[], opts: ProtocolOptions): ImagePart[] {
  const batch = Math.max(1, opts.batch ?? EVAL_DEFAULTS.batch);
  const nBoxes = opts.boxes.sizes.reduce((s, size) => s + opts.boxes.boxes[String(size)]!.length, 0);
  const span = batch * BOX_PART_BATCHES;
  const parts: ImagePart[] = methods.map((method) => ({ kind: 'method', method }));
  parts.push({ kind: 'ends' });
  for (let from = 0; from < nBoxes; from += span) parts.push({ kind: 'boxes', from, to: Math.min(nBoxes, from + span) });
  return parts;
}

/** What the parts of one image share: the image, its blurred copy, the box list and the explainer (made once, on first use). */
export class ImageContext {
  readonly blurred: Uint8Array;
  readonly boxList: [number, number, number, number][];
  readonly steps: number;
  readonly batch: number;
  private explainSession: ExplainSession | null = null;
  mapsMs = 0;
  readonly logits: TargetLogits;

  constructor(
    readonly vit: ViT,
    readonly job: ImageJob,
    readonly opts: ProtocolOptions,
  ) {
    this.steps = opts.steps ?? EVAL_DEFAULTS.steps;
    this.batch = Math.max(1, opts.batch ?? EVAL_DEFAULTS.batch);
    const { width: w, height: h } = job.rgb;
    const boxes = opts.boxes;
    if (boxes.width !== w || boxes.height !== h) throw new Error(`the boxes are for ${boxes.width}x${boxes.height} images, the image is ${w}x${h}`);
    if (!(Number.isInteger(this.steps) && this.steps >= 2)) throw new Error(`steps must be an integer >= 2, got ${this.steps}`);
    pairings(job.targets);
    this.blurred = gaussianBlurPillow(job.rgb, opts.blurRadius ?? EVAL_DEFAULTS.blurRadius).data;
    this.boxList = boxes.sizes.flatMap((s) => boxes.boxes[String(s)]!);
    this.logits = new TargetLogits(vit, w, h, job.targets, this.batch);
  }

  /** The explain session of the image (already at model resolution, so used as it is). */
  get session(): ExplainSession {
    return (this.explainSession ??= new ExplainSession(this.vit, this.job.rgb));
  }

  timing(): ImageTiming {
    return { mapsMs: this.mapsMs, forwardsMs: this.logits.ms, forwards: this.logits.forwards };
  }
}

/** Run one part of an image. */
export function evaluatePart(ctx: ImageContext, part: ImagePart): PartResult {
  const { rgb, targets } = ctx.job;
  const { width: w, height: h } = rgb;
  const n = w * h;
  const src = rgb.data;
  const { blurred, boxList, steps } = ctx;
  if (part.kind === 'ends') {
    const ends = ctx.logits.run(2, (i) => (i === 0 ? src : blurred));
    return { kind: 'ends', clean: ends.map((l) => l[0]!), blurred: ends.map((l) => l[1]!) };
  }
  if (part.kind === 'boxes') {
    // one scratch image: the previous box is put back before the next is blurred
    const scratch = src.slice();
    const copyBox = (from: Uint8Array, [x0, y0, x1, y1]: readonly [number, number, number, number]) => {
      for (let y = y0; y < y1; y++) scratch.set(from.subarray((y * w + x0) * 3, (y * w + x1) * 3), (y * w + x0) * 3);
    };
    const logits = ctx.logits.run(part.to - part.from, (i) => {
      if (i > 0) copyBox(src, boxList[part.from + i - 1]!);
      copyBox(blurred, boxList[part.from + i]!);
      return scratch;
    });
    return { kind: 'boxes', from: part.from, logits: logits.map((l) => Array.from(l)) };
  }
  const curve = (order: Int32Array): number[][] => {
    const img = src.slice();
    let done = 0;
    const inner = ctx.logits.run(steps - 1, (i) => {
      const upto = perturbedCount(i + 1, steps, n);
      for (; done < upto; done++) {
        const p = order[done]! * 3;
        img[p] = blurred[p]!;
        img[p + 1] = blurred[p + 1]!;
        img[p + 2] = blurred[p + 2]!;
      }
      return img;
    });
    return inner.map((l) => Array.from(l));
  };
  const { method } = part;
  const mapTargets = methodInfo(method).usesTarget ? [...new Set(pairings(targets).map((p) => p[0]))] : [targets[0]!];
  const maps = mapTargets.map((mapTarget): MapPart => {
    const t0 = performance.now();
    const map = ctx.session.explain(method, { kind: 'class', index: mapTarget }, ctx.opts.methodOptions)[0]!.map;
    ctx.mapsMs += performance.now() - t0;
    const pix = toPixels(map, h, w);
    const table = integralImage(pix, h, w);
    return {
      mapTarget,
      sums: boxList.map((b) => boxSum(table, w, b)),
      mif: curve(pixelOrder(pix, 'mif')),
      lif: curve(pixelOrder(pix, 'lif')),
      compactness: compactness(map.values, EVAL_DEFAULTS.compactnessFraction),
    };
  });
  return { kind: 'method', method, maps };
}

/** The records of an image from the results of all its parts (`imageParts`), in the order of `methods` and the pairings. */
export function assembleImage(
  job: Pick<ImageJob, 'image' | 'line' | 'targets'>,
  methods: readonly Method[],
  boxes: BoxSet,
  results: readonly PartResult[],
): EvalRecord[] {
  const { targets } = job;
  const ends = results.find((r) => r.kind === 'ends');
  if (!ends || ends.kind !== 'ends') throw new Error(`image ${job.image}: the unperturbed forwards are missing`);
  const nBoxes = boxes.sizes.reduce((s, size) => s + boxes.boxes[String(size)]!.length, 0);
  const boxLogits = targets.map(() => new Float64Array(nBoxes).fill(NaN));
  for (const r of results) if (r.kind === 'boxes') r.logits.forEach((l, t) => boxLogits[t]!.set(l, r.from));
  if (boxLogits.some((l) => l.some(Number.isNaN))) throw new Error(`image ${job.image}: some box forwards are missing`);
  const drops = boxLogits.map((l, t) => Array.from(l, (v) => ends.clean[t]! - v));
  const records: EvalRecord[] = [];
  for (const method of methods) {
    const part = results.find((r) => r.kind === 'method' && r.method === method);
    if (!part || part.kind !== 'method') throw new Error(`image ${job.image}: method ${method} is missing`);
    const perMap = new Map(part.maps.map((m) => [m.mapTarget, m]));
    for (const [mt, lt] of pairings(targets)) {
      const m = perMap.get(methodInfo(method).usesTarget ? mt : targets[0]!)!;
      const t = targets.indexOf(lt);
      const mif = [ends.clean[t]!, ...m.mif[t]!, ends.blurred[t]!];
      const lif = [ends.clean[t]!, ...m.lif[t]!, ends.blurred[t]!];
      let at = 0;
      const boxR = boxes.sizes.map((s) => {
        const k = boxes.boxes[String(s)]!.length;
        const r = pearson(m.sums.slice(at, at + k), drops[t]!.slice(at, at + k));
        at += k;
        return r;
      });
      const aMif = trapezoid(mif, 0, 100);
      const aLif = trapezoid(lif, 0, 100);
      records.push({
        image: job.image,
        line: job.line,
        method,
        mapTarget: mt,
        logitTarget: lt,
        aMif,
        aLif,
        aLifMif: aLif - aMif,
        boxSizes: [...boxes.sizes],
        boxR,
        aBox: trapezoidXY(boxes.sizes, boxR),
        compactness: m.compactness,
        curves: { mif, lif },
      });
    }
  }
  return records;
}

/** Every method's records for one image, and where the time went: all its parts in turn, in this thread. */
export function evaluateImage(vit: ViT, job: ImageJob, methods: readonly Method[], opts: ProtocolOptions): { records: EvalRecord[]; timing: ImageTiming } {
  const ctx = new ImageContext(vit, job, opts);
  const parts = imageParts(methods, opts);
  let done = 0;
  const results = parts.map((p) => {
    const r = evaluatePart(ctx, p);
    if (p.kind === 'method') opts.onProgress?.(++done, methods.length);
    return r;
  });
  return { records: assembleImage(job, methods, opts.boxes, results), timing: ctx.timing() };
}
