// The image a command reads, with notes on stderr about what happens to it
// that a user would not guess: transparency dropped, a small photo enlarged.
import { basename } from 'node:path';
import { readImageFile, type DecodedImage } from '../io/image.js';
import type { PreprocessConfig } from '../vit/config.js';
import { isUpscaled, type ResizeMode } from '../vit/preprocess.js';

/** Reads `path`; if the file has transparency, says that it is dropped (as Pillow drops it, for PyTorch parity). */
export function readNotedImage(path: string, maxPixels: number, note: (s: string) => void): DecodedImage {
  const img = readImageFile(path, maxPixels);
  if (img.transparency) {
    note(
      `note: ${basename(path)} has ${img.transparency === 'alpha channel' ? 'an alpha channel' : 'tRNS transparency'}; it is dropped as Pillow's convert('RGB') does ` +
        '(the stored colour under transparent pixels is used)',
    );
  }
  return img;
}

/** Says when the photo is smaller than the model input and is enlarged to it. */
export function noteUpscale(path: string, img: { width: number; height: number }, cfg: PreprocessConfig, mode: ResizeMode, note: (s: string) => void): void {
  if (!isUpscaled(img, cfg, mode)) return;
  const [h, w] = cfg.size;
  note(`note: ${basename(path)} is smaller than the model input (${w}x${h}): it was upscaled from ${img.width}x${img.height}`);
}
