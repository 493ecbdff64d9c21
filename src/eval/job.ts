// One image of a run, as the main thread and the worker threads both see it:
// the settings every image is evaluated with, the model, the image read at
// model resolution, and the messages that carry a part of an image to a
// worker. Kept apart from run.ts (the scheduler and the folder) so that the
// worker imports only this.
import { readImageFile } from '../io/image.js';
import { loadViTFolder, EMBEDDED_MODEL_URL } from '../vit/load.js';
import type { ViT } from '../vit/model.js';
import { applyTestTimeRegisters, readTestTimeRegisters } from '../vit/registers.js';
import { toModelResolution } from '../vit/preprocess.js';
import type { Method } from '../methods/registry.js';
import type { ManifestEntry } from './manifest.js';
import { ImageContext, evaluateImage, type EvalRecord, type ImageJob, type ImagePart, type ImageTiming } from './protocol.js';
import type { BoxSet } from './metrics.js';
import type { EvalSettings } from './defaults.js';

/** The image at model resolution, and the records of every method for it. */
export function evaluateEntry(vit: ViT, entry: ManifestEntry, methods: readonly Method[], cfg: EvalConfig): { records: EvalRecord[]; timing: ImageTiming } {
  return evaluateImage(vit, imageJob(vit, entry, cfg), methods, cfg);
}

/** The shared state of an image's parts, in a worker. */
export function imageContext(vit: ViT, entry: ManifestEntry, cfg: EvalConfig): ImageContext {
  return new ImageContext(vit, imageJob(vit, entry, cfg), cfg);
}

function imageJob(vit: ViT, entry: ManifestEntry, cfg: EvalConfig): ImageJob {
  const rgb = toModelResolution(readImageFile(entry.path), vit.config.preprocess, cfg.resize);
  return { image: entry.image, line: entry.line, rgb, targets: entry.targets };
}

/** The settings every image of a run is evaluated with, and its boxes. */
export interface EvalConfig extends EvalSettings {
  boxes: BoxSet;
}

/** A message to a worker: one part of one image. */
export interface PartJob {
  entry: ManifestEntry;
  part: ImagePart;
}

/** The model of a run: the folder (or the embedded model), with a test-time register when a file is given. */
export function loadEvalModel(dir: string | undefined, registerFile: string | undefined): ViT {
  const vit = loadViTFolder(dir ?? EMBEDDED_MODEL_URL);
  return registerFile ? applyTestTimeRegisters(vit, readTestTimeRegisters(registerFile, vit)) : vit;
}

export interface WorkerInit {
  modelDir: string | undefined;
  registerFile: string | undefined;
  methods: Method[];
  cfg: EvalConfig;
}
