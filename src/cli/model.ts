// The model a command runs: --model DIR, or the embedded ViT-Ti/16.
import { EMBEDDED_MODEL_NAME, EMBEDDED_MODEL_URL, loadViTFolder } from '../vit/load.js';
import type { ViT } from '../vit/model.js';

export const modelUsage = `  --model DIR       model folder: model.safetensors + config.json, timm or Hugging Face layout
                    (default: the embedded ViT-Ti/16 AugReg ImageNet classifier, weights/)
  --head FILE       linear head (safetensors: weight [C, D], bias [C]) for a backbone without one`;

export function loadModel(dir: string | undefined, headFile: string | undefined): { vit: ViT; name: string } {
  const vit = loadViTFolder(dir ?? EMBEDDED_MODEL_URL, headFile ? { headFile } : {});
  return { vit, name: dir ? `${vit.config.name} (${dir})` : EMBEDDED_MODEL_NAME };
}
