// The evaluation protocol for one image (spec/cdam.md "Evaluation",
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
import { Explainer } from '../cdam/explain.js';
import { runMethod, methodInfo, type Method, type MethodOptions } from '../cdam/methods.js';
import { gaussianBlurPillow } from './blur.js';
import { boxSum, compactness, integralImage, pearson, perturbedCount, pixelOrder, toPixels, trapezoid, trapezoidXY, type BoxSet } from './metrics.js';
import { EVAL_DEFAULTS } from './defaults.js';

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

export interface ProtocolOptions {
  boxes: BoxSet;
  steps?: number;
  batch?: number;
  blurRadius?: number;
  methodOptions?: MethodOptions;
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
  constructor(private readonly vit: ViT, private readonly width: number, private readonly height: number, private readonly targets: readonly number[], private readonly batch: number) {}

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
    return [[c, c], [c2, c], [c2, c2], [c, c2]];
  }
  throw new Error(`an image has one or two targets, got ${targets.length}`);
}

/** Every method's records for one image, and where the time went. */
export function evaluateImage(vit: ViT, job: ImageJob, methods: readonly Method[], opts: ProtocolOptions): { records: EvalRecord[]; timing: ImageTiming } {
  const steps = opts.steps ?? EVAL_DEFAULTS.steps;
  const batch = Math.max(1, opts.batch ?? EVAL_DEFAULTS.batch);
  const { rgb, targets } = job;
  const { width: w, height: h } = rgb;
  const n = w * h;
  const boxes = opts.boxes;
  if (boxes.width !== w || boxes.height !== h) throw new Error(`the boxes are for ${boxes.width}x${boxes.height} images, the image is ${w}x${h}`);
  if (!(Number.isInteger(steps) && steps >= 2)) throw new Error(`steps must be an integer >= 2, got ${steps}`);
  const pairs = pairings(targets);
  const blurred = gaussianBlurPillow(rgb, opts.blurRadius ?? EVAL_DEFAULTS.blurRadius).data;
  const src = rgb.data;
  const logits = new TargetLogits(vit, w, h, targets, batch);
  const tIndex = (c: number) => targets.indexOf(c);

  // the map-free forwards: the image itself, all blurred, and each box blurred alone
  const ends = logits.run(2, (i) => (i === 0 ? src : blurred));
  const base = ends.map((l) => l[0]!);
  const allBlurred = ends.map((l) => l[1]!);
  const boxList = boxes.sizes.flatMap((s) => boxes.boxes[String(s)]!);
  // one scratch image: the previous box is put back before the next is blurred
  const scratch = src.slice();
  const copyBox = (from: Uint8Array, [x0, y0, x1, y1]: readonly [number, number, number, number]) => {
    for (let y = y0; y < y1; y++) scratch.set(from.subarray((y * w + x0) * 3, (y * w + x1) * 3), (y * w + x0) * 3);
  };
  const boxLogits = logits.run(boxList.length, (i) => {
    if (i > 0) copyBox(src, boxList[i - 1]!);
    copyBox(blurred, boxList[i]!);
    return scratch;
  });
  const drops = boxLogits.map((l, t) => Array.from(l, (v) => base[t]! - v));

  const curve = (order: Int32Array): Float64Array[] => {
    const img = src.slice();
    let done = 0;
    const inner = logits.run(steps - 1, (i) => {
      const upto = perturbedCount(i + 1, steps, n);
      for (; done < upto; done++) {
        const p = order[done]! * 3;
        img[p] = blurred[p]!;
        img[p + 1] = blurred[p + 1]!;
        img[p + 2] = blurred[p + 2]!;
      }
      return img;
    });
    return inner.map((l, t) => Float64Array.from([base[t]!, ...l, allBlurred[t]!]));
  };

  const ex = new Explainer(vit, normalise(rgb, vit.config.preprocess));
  const records: EvalRecord[] = [];
  let mapsMs = 0;
  methods.forEach((method, mi) => {
    const mapTargets = methodInfo(method).usesTarget ? [...new Set(pairs.map((p) => p[0]))] : [targets[0]!];
    const perMap = new Map<number, { mif: Float64Array[]; lif: Float64Array[]; boxR: number[][]; compactness: number }>();
    for (const mt of mapTargets) {
      const t0 = performance.now();
      const map = runMethod(ex, method, { kind: 'class', index: mt }, opts.methodOptions)[0]!.map;
      mapsMs += performance.now() - t0;
      const pix = toPixels(map, h, w);
      const table = integralImage(pix, h, w);
      const sums = boxList.map((b) => boxSum(table, w, b));
      const boxR = targets.map((_, t) => {
        let at = 0;
        return boxes.sizes.map((s) => {
          const k = boxes.boxes[String(s)]!.length;
          const r = pearson(sums.slice(at, at + k), drops[t]!.slice(at, at + k));
          at += k;
          return r;
        });
      });
      perMap.set(mt, { mif: curve(pixelOrder(pix, 'mif')), lif: curve(pixelOrder(pix, 'lif')), boxR, compactness: compactness(map.values, EVAL_DEFAULTS.compactnessFraction) });
    }
    for (const [mt, lt] of pairs) {
      const m = perMap.get(methodInfo(method).usesTarget ? mt : targets[0]!)!;
      const t = tIndex(lt);
      const mif = Array.from(m.mif[t]!);
      const lif = Array.from(m.lif[t]!);
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
        boxR: m.boxR[t]!,
        aBox: trapezoidXY(boxes.sizes, m.boxR[t]!),
        compactness: m.compactness,
        curves: { mif, lif },
      });
    }
    opts.onProgress?.(mi + 1, methods.length);
  });
  return { records, timing: { mapsMs, forwardsMs: logits.ms, forwards: logits.forwards } };
}
