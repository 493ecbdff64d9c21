// A worker thread of `cdam eval`: loads the model once, then runs the parts of
// images (protocol.ts, `imageParts`) the main thread sends, one at a time, and
// sends back their results; the main thread puts each image together. The
// latest images' shared state (decoded image, blur, explainer) is kept, since
// an image's parts come one after another. Unreadable images come back as
// input errors (skipped or fatal by the run's choice); anything else is a bug
// and fails the run.
import { parentPort, workerData } from 'node:worker_threads';
import { InputError } from '../io/errors.js';
import { useFastestBackend } from '../kernels/default.js';
import { ImageContext, evaluatePart } from './protocol.js';
import { imageContext, loadEvalModel, type PartJob, type WorkerInit } from './job.js';

const init = workerData as WorkerInit;
useFastestBackend(process.env['CDAM_BACKEND'] || undefined);
const vit = loadEvalModel(init.modelDir, init.registerFile);
/** contexts by manifest line; two images may be in progress at once (one ending, the next starting) */
const contexts = new Map<number, ImageContext>();
const KEEP = 2;

parentPort!.on('message', ({ entry, part }: PartJob) => {
  try {
    let ctx = contexts.get(entry.line);
    if (!ctx) {
      ctx = imageContext(vit, entry, init.cfg);
      contexts.set(entry.line, ctx);
      while (contexts.size > KEEP) contexts.delete(contexts.keys().next().value!);
    }
    const before = ctx.timing();
    const result = evaluatePart(ctx, part);
    const after = ctx.timing();
    parentPort!.postMessage({
      result,
      timing: { mapsMs: after.mapsMs - before.mapsMs, forwardsMs: after.forwardsMs - before.forwardsMs, forwards: after.forwards - before.forwards },
    });
  } catch (e) {
    parentPort!.postMessage({ error: (e as Error).message, input: e instanceof InputError });
  }
});
