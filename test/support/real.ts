// The real ViT-Ti on the cat|espresso image, loaded once per test file (or null when ../shared is absent).
import { loadViTFolder } from '../../src/vit/load.js';
import { readImageFile } from '../../src/io/image.js';
import { prepareImage, type Prepared } from '../../src/vit/preprocess.js';
import type { ViT } from '../../src/vit/model.js';
import { sharedPath } from './fixtures.js';

export const VIT_TINY = 'vit_tiny_patch16_224.augreg_in21k_ft_in1k';

export interface RealCase {
  vit: ViT;
  prepared: Prepared;
}

let cached: RealCase | null | undefined;

export function catcoffee(): RealCase | null {
  if (cached !== undefined) return cached;
  const w = sharedPath(`weights/${VIT_TINY}`);
  const img = sharedPath('images/catcoffee_224.png');
  if (!w || !img) {
    cached = null;
    return null;
  }
  const vit = loadViTFolder(w);
  cached = { vit, prepared: prepareImage(readImageFile(img), vit.config.preprocess, 'crop') };
  return cached;
}

export function skipNote(): void {
  console.log('  skipped: ../shared/weights (ViT-Ti) or ../shared/images/catcoffee_224.png is not beside the repository');
}
