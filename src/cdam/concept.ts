// A concept: the mean latent l_c of example images (conceptVector), and its
// file format: safetensors bytes with one F32 tensor "concept" [D] and
// metadata (format "cdam-concept", model, dim, name, examples).
import { bufferSource, openSafetensors, writeSafetensors } from '../io/safetensors.js';
import { fromData, type Tensor } from '../tensor/index.js';
import type { ViT } from '../vit/model.js';
import { InputError } from '../io/errors.js';

export interface Concept {
  vector: Tensor;
  name: string;
  examples: number;
}

export function encodeConcept(c: Concept, vit: ViT): Uint8Array {
  const data = Float32Array.from(c.vector.contiguousData());
  return writeSafetensors(
    { concept: { dtype: 'F32', shape: [data.length], data } },
    {
      format: 'cdam-concept',
      model: vit.config.name,
      dim: String(vit.config.dim),
      name: c.name,
      examples: String(c.examples),
    },
  );
}

/** A concept from its file's bytes; `name` names the file in errors and is the default concept name. */
export function decodeConcept(bytes: Uint8Array, name: string, vit: ViT): Concept {
  const f = openSafetensors(bufferSource(bytes, name));
  try {
    if (!f.has('concept')) throw new InputError(name, `${name}: not a concept file (no "concept" tensor)`);
    const shape = f.info('concept').shape;
    if (shape.length !== 1 || shape[0] !== vit.config.dim) {
      throw new InputError(
        name,
        `${name}: concept has shape [${shape}] but the model's latent has ${vit.config.dim} entries (made with model "${f.metadata['model'] ?? '?'}")`,
      );
    }
    const v = f.readF32('concept');
    const bad = v.findIndex((x) => !Number.isFinite(x));
    if (bad >= 0) throw new InputError(name, `${name}: the concept vector has a non-finite value (${v[bad]} at entry ${bad}); the file is damaged`);
    return { vector: fromData(v, shape), name: f.metadata['name'] ?? name, examples: Number(f.metadata['examples'] ?? 0) };
  } finally {
    f.close();
  }
}
