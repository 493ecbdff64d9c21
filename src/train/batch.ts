// A batch of a dataset: decode, (augment or) resize, normalise, stack. The
// images of a batch are read here, when they are needed, so a dataset of any
// size costs only its list of paths.
import { InputError } from '../io/errors.js';
import { readImageFile, type RgbImage } from '../io/image.js';
import { Tensor, allocate } from '../tensor/index.js';
import type { PreprocessConfig } from '../vit/config.js';
import { DEFAULT_RESIZE, normalise, toModelResolution, type ResizeMode } from '../vit/preprocess.js';
import { augment, type AugmentOptions } from './augment.js';
import type { Dataset, DatasetItem } from './data.js';

export interface BatchOptions {
  /** training augmentation; without it (or with NO_AUGMENT) the image is only brought to model resolution */
  augment?: Readonly<AugmentOptions>;
  /** the random stream augmentation draws from (uniform in [0, 1)); required with augment */
  next?: () => number;
  /** evaluation resizing (toModelResolution): squash (the default) or timm's centre crop */
  resize?: ResizeMode;
}

export interface Batch {
  /** [B, 3, H, W] float32, normalised with the model's mean and std */
  images: Tensor;
  /** class indices (classification) */
  labels?: number[];
  /** [B, T] float32 (regression) */
  targets?: Tensor;
}

/** The error names the image and, for a table, the row it came from; the cause is kept. */
function fail(it: DatasetItem, e: unknown): never {
  const msg = e instanceof Error ? e.message : String(e);
  const where = it.source === it.path ? '' : `${it.source}: `;
  const err = new InputError(it.path, `${where}${msg.includes(it.path) ? msg : `image ${it.path}: ${msg}`}`);
  (err as Error & { cause?: unknown }).cause = e;
  throw err;
}

/**
 * Items `indices` of `ds` as one batch at cfg.size. With `augment` (training)
 * each image goes through augment() at the model size (resampled with the
 * model's interpolation unless the options name one); without it
 * (evaluation), through toModelResolution with `resize`. Greyscale and
 * palette PNGs arrive as RGB (readImageFile converts them).
 */
export function loadBatch(ds: Dataset, indices: readonly number[], cfg: PreprocessConfig, opts: BatchOptions = {}): Batch {
  if (indices.length === 0) throw new Error('loadBatch: no indices');
  const aug = opts.augment && Object.keys(opts.augment).length > 0 ? { interpolation: cfg.interpolation, ...opts.augment } : undefined;
  if (aug && !opts.next) throw new Error('loadBatch: augmentation needs a random stream (opts.next)');
  const [h, w] = cfg.size;
  const plane = 3 * h * w;
  const data = allocate('float32', indices.length * plane);
  const items = indices.map((i) => {
    const it = ds.items[i];
    if (!Number.isInteger(i) || !it) throw new RangeError(`loadBatch: index ${i} is outside the dataset's ${ds.items.length} items`);
    return it;
  });
  items.forEach((it, b) => {
    let rgb: RgbImage;
    try {
      const img = readImageFile(it.path);
      rgb = aug ? augment(img, aug, opts.next!, [h, w]) : toModelResolution(img, cfg, opts.resize ?? DEFAULT_RESIZE);
    } catch (e) {
      fail(it, e);
    }
    data.set(normalise(rgb, cfg).contiguousData(), b * plane);
  });
  const batch: Batch = { images: new Tensor(data, [indices.length, 3, h, w]) };
  if (ds.kind === 'classification') {
    batch.labels = items.map((it) => {
      if (it.label === undefined) throw new Error(`loadBatch: ${it.source} has no label`);
      return it.label;
    });
  } else {
    const t = ds.targetNames?.length ?? items[0]!.targets?.length ?? 0;
    const td = allocate('float32', items.length * t);
    items.forEach((it, b) => {
      if (!it.targets || it.targets.length !== t) throw new Error(`loadBatch: ${it.source} has ${it.targets?.length ?? 0} targets, not ${t}`);
      td.set(it.targets, b * t);
    });
    batch.targets = new Tensor(td, [items.length, t]);
  }
  return batch;
}
