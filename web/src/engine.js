// @ts-check
// The demo page's engine: a module Web Worker that owns the model and does
// all engine work, so the page never freezes. The page talks to it through
// comlink. A long call cannot be interrupted from outside a synchronous
// computation, so the page cancels by terminating this worker and starting
// a new one. Inside a worker the wasm backend may block, so with
// cross-origin isolation it runs its own worker threads.
import * as Comlink from 'comlink';
import * as cdam from '../../dist/browser/cdam.js';

cdam.useFastestBackend(); // registers every backend and picks the fastest measured

let vit = null;
let modelName = '';
let image = null; // the decoded photo
let concept = null; // { vector, name } from example images
// The explain session of the current model, image and backend: blocks 1..L-1
// run once for every method and target explained on them.
let session = null;

function currentSession() {
  if (!session || session.vit !== vit || session.image !== image || session.backend !== cdam.activeBackend()) {
    session = { vit, image, backend: cdam.activeBackend(), s: new cdam.ExplainSession(vit, image) };
  }
  return session.s;
}

function modelInfo() {
  return {
    model: modelName,
    classes: vit.config.numClasses,
    hasHead: vit.params.head !== null,
    grid: vit.config.grid,
    backend: cdam.activeBackend(),
    backendDetail: cdam.describeBackend(),
  };
}

const api = {
  /** What the page shows before anything is loaded. */
  environment() {
    return {
      backends: cdam.backendNames(),
      methods: cdam.METHODS.map((m) => ({ name: m, ...cdam.methodInfo(m) })),
      optionSpecs: cdam.OPTION_SPECS,
      isolated: self.crossOriginIsolated === true,
      cores: navigator.hardwareConcurrency ?? 1,
    };
  },
  async loadEmbedded() {
    vit = await cdam.loadViT();
    modelName = cdam.EMBEDDED_MODEL_NAME;
    return modelInfo();
  },
  /** A model chosen from disk: model.safetensors and config.json (and preprocessor_config.json for Hugging Face). */
  loadModelFiles(safetensors, config, preprocessorConfig, name) {
    vit = cdam.loadViTFromBytes({ safetensors, config, preprocessorConfig, name });
    modelName = name;
    return modelInfo();
  },
  setBackend(name) {
    cdam.setBackend(name);
    return cdam.describeBackend(name);
  },
  backendCalls(name) {
    return cdam.backendCalls(name);
  },
  setImage(bytes, name) {
    image = cdam.decodeImage(new Uint8Array(bytes), name);
    return { width: image.width, height: image.height };
  },
  async classify(top = 5) {
    const r = await cdam.classifyImage(vit, image, { top });
    return { top: r.top, preprocessing: r.preprocessing };
  },
  /** A concept (mean latent) from example images, used by explain with target "concept". */
  setConcept(list, name, onProgress) {
    const inputs = list.map(
      (b, i) => cdam.prepareImage(cdam.decodeImage(new Uint8Array(b), `example ${i + 1}`), vit.config.preprocess, cdam.DEFAULT_RESIZE).input,
    );
    concept = { kind: 'concept', vector: cdam.conceptVector(vit, inputs, onProgress ? (d, t) => onProgress(d, t) : undefined), name };
    return { name, examples: list.length };
  },
  async explain(opts, onProgress) {
    if (!vit || !image) throw new Error('load a model and an image first');
    const target = opts.target === 'concept' ? concept : opts.target;
    if (opts.target === 'concept' && !concept) throw new Error('drop a few example images for the concept first');
    const t0 = performance.now();
    const s = currentSession();
    const [r] = s.explain(opts.method, s.target(target), {
      ...opts.options, // the method's declared options (methodInfo(m).options), as the page's controls set them
      onProgress: onProgress ? (d, t) => onProgress(d, t) : undefined,
    });
    const ms = performance.now() - t0;
    const values = Float32Array.from(r.map.values);
    const info = cdam.methodInfo(opts.method);
    const out = {
      method: r.method,
      target: r.target,
      score: r.score,
      ms,
      backend: s.backend,
      backendDetail: cdam.describeBackend(s.backend),
      signed: info.signed,
      level: info.level,
      map: { rows: r.map.rows, cols: r.map.cols, values },
    };
    return Comlink.transfer(out, [values.buffer]);
  },
};

/** Median milliseconds of `runs` calls of fn after one warm-up (bench/browser.mjs). */
async function median(fn, runs) {
  await fn();
  const ts = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await fn();
    ts.push(performance.now() - t0);
  }
  ts.sort((a, b) => a - b);
  return ts[Math.floor(ts.length / 2)];
}

/** Timings inside the worker: ViT forward of the current image, and a method's map. */
api.bench = async (method, target, runs = 5) => ({
  backend: cdam.describeBackend(),
  forwardMs: await median(() => cdam.classifyImage(vit, image), runs),
  methodMs: await median(() => cdam.explainImage(vit, image, { method, target }), runs),
});

Comlink.expose(api);
