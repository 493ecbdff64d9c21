// A worker thread of `cdam eval`: loads the model once, then evaluates the
// images the main thread sends, one at a time, and sends back their records.
// Unreadable images come back as input errors (skipped or fatal by the run's
// choice); anything else is a bug and fails the run.
import { parentPort, workerData } from 'node:worker_threads';
import { InputError } from '../io/errors.js';
import { useFastestBackend } from '../kernels/default.js';
import type { ManifestEntry } from './manifest.js';
import { evaluateEntry, loadEvalModel, type WorkerInit } from './run.js';

const init = workerData as WorkerInit;
useFastestBackend(process.env['CDAM_BACKEND'] || undefined);
const vit = loadEvalModel(init.modelDir, init.registerFile);

parentPort!.on('message', (entry: ManifestEntry) => {
  try {
    parentPort!.postMessage(evaluateEntry(vit, entry, init.methods, init.cfg));
  } catch (e) {
    parentPort!.postMessage({ error: (e as Error).message, input: e instanceof InputError });
  }
});
