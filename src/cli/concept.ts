// Concept vectors: computed from a folder of example images, saved to and
// read from a small safetensors file ("concept" [D] + metadata).
import { readdirSync, statSync, existsSync } from 'node:fs';
import { READ_LIMITS, readRegularFile } from '../io/node.js';
import { join, extname, basename } from 'node:path';
import { conceptVector } from '../cdam/explainer.js';
import { MAX_IMAGE_PIXELS, readImageFile } from '../io/image.js';
import { encodeConcept, decodeConcept, type Concept } from '../cdam/concept.js';
import { checkOutputPaths, writeFileAtomic } from '../io/atomic.js';
import type { ViT } from '../vit/model.js';
import { DEFAULT_RESIZE, RESIZE_MODES, prepareImage, type ResizeMode } from '../vit/preprocess.js';
import { parse, choiceOpt, wantsHelp, UsageError } from './args.js';
import { loadModel, modelUsage } from './model.js';
import { maxPixelsOpt, resizeUsage } from './classify.js';
import { progressBar } from './progress.js';

const IMAGE_EXT = new Set(['.png', '.jpg', '.jpeg']);

export function imagesIn(dir: string): string[] {
  const files = readdirSync(dir)
    .filter((f) => IMAGE_EXT.has(extname(f).toLowerCase()))
    .sort()
    .map((f) => join(dir, f));
  if (files.length === 0) throw new Error(`${dir}: no PNG or JPEG images in the concept folder`);
  return files;
}

export function conceptFromFolder(vit: ViT, dir: string, resize: ResizeMode, progress?: (i: number, n: number) => void, maxPixels = MAX_IMAGE_PIXELS): Concept {
  const files = imagesIn(dir);
  const inputs = files.map((f) => prepareImage(readImageFile(f, maxPixels), vit.config.preprocess, resize, maxPixels).input);
  return { vector: conceptVector(vit, inputs, progress), name: basename(dir), examples: files.length };
}

export function saveConcept(path: string, c: Concept, vit: ViT): void {
  writeFileAtomic(path, encodeConcept(c, vit));
}

export function loadConcept(path: string, vit: ViT): Concept {
  const c = decodeConcept(readRegularFile(path, 'a concept file', READ_LIMITS.concept), path, vit);
  return c.name === path ? { ...c, name: basename(path) } : c;
}

/** --concept DIR|FILE */
export function resolveConcept(spec: string, vit: ViT, resize: ResizeMode, progress?: (i: number, n: number) => void): Concept {
  if (!existsSync(spec)) throw new Error(`--concept ${spec}: no such folder or file`);
  return statSync(spec).isDirectory() ? conceptFromFolder(vit, spec, resize, progress) : loadConcept(spec, vit);
}

export const conceptUsage = `usage: cdam concept DIR --out FILE [--model DIR] [--resize squash|crop] [--quiet]
  Averages the latent (final-normed [CLS]) of the example images in DIR into a
  concept vector and saves it (safetensors) for explain --concept FILE.
${modelUsage}
${resizeUsage}`;

export function runConcept(argv: string[], out: (s: string) => void): void {
  if (wantsHelp(argv)) return out(conceptUsage);
  const { values, flags, positionals } = parse(
    argv,
    {
      model: { type: 'string' },
      head: { type: 'string' },
      out: { type: 'string' },
      resize: { type: 'string' },
      quiet: { type: 'boolean' },
      'max-pixels': { type: 'string' },
    },
    'concept',
  );
  const maxPixels = maxPixelsOpt(values['max-pixels']);
  if (positionals.length !== 1) throw new UsageError(`concept takes one DIR of example images\n${conceptUsage}`);
  if (!values['out']) throw new UsageError(`--out FILE is required\n${conceptUsage}`);
  const resize = choiceOpt<ResizeMode>(values['resize'], 'resize', RESIZE_MODES, DEFAULT_RESIZE);
  checkOutputPaths([{ option: '--out', path: values['out'] }]);
  const dir = positionals[0]!;
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new Error(`${dir}: not a folder of example images`);
  const { vit } = loadModel(values['model'], values['head']);
  const c = conceptFromFolder(vit, dir, resize, progressBar('embedding examples', process.stderr, flags['quiet']!), maxPixels);
  saveConcept(values['out'], c, vit);
  out(`concept "${c.name}" from ${c.examples} images (${vit.config.dim} dims) -> ${values['out']}`);
}
