// The embedded ViT-Ti/16 (weights/) on the cat|espresso photo (examples/), loaded once per test file.
// Both ship with the repository, so these tests run (and assert) on every clone.
import { loadViTFolder, EMBEDDED_MODEL_URL } from '../../src/vit/load.js';
import { readImageFile } from '../../src/io/image.js';
import { prepareImage, type Prepared } from '../../src/vit/preprocess.js';
import type { ViT } from '../../src/vit/model.js';
import { repoPath } from './fixtures.js';

export const VIT_TINY = 'vit_tiny_patch16_224.augreg_in21k_ft_in1k';

export interface RealCase {
  vit: ViT;
  prepared: Prepared;
}

let cached: RealCase | undefined;

export function catcoffee(): RealCase {
  if (cached) return cached;
  const vit = loadViTFolder(EMBEDDED_MODEL_URL);
  cached = { vit, prepared: prepareImage(readImageFile(repoPath('examples/catcoffee_224.png')), vit.config.preprocess, 'crop') };
  return cached;
}

/** The share of a map's positive mass in the left half of the picture (on cat|espresso, the cat's half). */
export function leftShare(map: { rows: number; cols: number; values: ArrayLike<number> }): number {
  let left = 0;
  let all = 0;
  for (let i = 0; i < map.values.length; i++) {
    const p = Math.max(0, map.values[i]!);
    all += p;
    if (i % map.cols < map.cols / 2) left += p;
  }
  return left / all;
}
