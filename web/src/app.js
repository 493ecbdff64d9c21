// @ts-check
// The demo page: drop or pick an image, see the top classes, click one to
// get its map, two classes side by side. The engine (model, maps) lives in a
// Web Worker (engine.js, through comlink); this file only draws.
import * as Comlink from 'comlink';
import { colormapLut, displayRange, normalizeScore } from '../../dist/browser/cdam.js';

/** @param {string} id */
const $ = (id) => document.getElementById(id);
// The page's controls by id, with their element types (web/index.html).
/** @param {string} id */
const $input = (id) => /** @type {HTMLInputElement} */ ($(id));
/** @param {string} id */
const $select = (id) => /** @type {HTMLSelectElement} */ ($(id));
/** @param {string} id */
const $button = (id) => /** @type {HTMLButtonElement} */ ($(id));
/** @param {string} id */
const $progress = (id) => /** @type {HTMLProgressElement} */ ($(id));
/** A panel's download button ('.json' or '.png').
 * @param {Element} fig
 * @param {string} selector */
const panelButton = (fig, selector) => /** @type {HTMLButtonElement} */ (fig.querySelector(selector));
const EXAMPLES = ['catcoffee_224.png', 'chelsea.png', 'coffee.png'];
const examplesBase = new URL('../../examples/', import.meta.url);
const LUTS = { signed: colormapLut('signed', 256), unsigned: colormapLut('unsigned', 256) };
/** Longest side of the pictures, in canvas pixels (the CLI's picture uses the same). */
const DISPLAY_SIDE = 448;
/** On-screen size of a canvas pixel (CSS px), so two panels fit side by side. */
const CSS_SCALE = 340 / 448;

const state = {
  worker: null,
  engine: null,
  env: null,
  model: null,
  modelFiles: null,
  backend: null,
  photo: null,
  photoBytes: null,
  photoName: '',
  concept: null,
  top: [],
  panels: { A: null, B: null },
  busy: false,
  /** what each panel was asked to explain (a class index or 'concept'), to explain it again on a new method or backend */
  requests: { A: null, B: null },
  /** the colour scale each panel was drawn with, { lo, hi, shared } (the tests read it) */
  ranges: { A: null, B: null },
  /** the last user action that loads something (a model, a concept), for the tests to wait on */
  loading: null,
};

function status(text, error = false) {
  $('status').textContent = text;
  $('status').classList.toggle('error', error);
}

// ---- the engine worker ----------------------------------------------------------
async function startEngine() {
  state.worker = new Worker(new URL('./engine.js', import.meta.url), { type: 'module' });
  state.engine = Comlink.wrap(state.worker);
  state.env = await state.engine.environment();
  if (state.backend) await state.engine.setBackend(state.backend);
  state.model = state.modelFiles ? await state.engine.loadModelFiles(...state.modelFiles) : await state.engine.loadEmbedded();
  if (state.photoBytes) await state.engine.setImage(state.photoBytes.slice(0), state.photoName);
  showEngine();
}

function showEngine() {
  const m = state.model;
  $('model').textContent = `${m.model} (${m.classes} classes, ${m.grid[0]}x${m.grid[1]} patches)`;
  $('backendDetail').textContent = m.backendDetail;
  $('isolation').textContent = state.env.isolated
    ? `cross-origin isolated: the wasm backend may use worker threads (${state.env.cores} cores)`
    : 'not cross-origin isolated (no COOP/COEP headers): the wasm backend runs on one thread';
}

/** Run an engine call; cancel terminates the worker and starts a fresh one. */
async function busy(label, fn) {
  if (state.busy) throw new Error('busy');
  state.busy = true;
  $button('cancel').disabled = false;
  $('progress').hidden = false;
  $progress('progress').value = 0;
  status(label);
  let cancelled = false;
  const cancel = new Promise((_, reject) => {
    $('cancel').onclick = () => {
      cancelled = true;
      state.worker.terminate();
      reject(new Error('cancelled'));
    };
  });
  try {
    return await Promise.race([
      fn(
        Comlink.proxy((d, t) => {
          $progress('progress').value = d / t;
        }),
      ),
      cancel,
    ]);
  } finally {
    state.busy = false;
    $button('cancel').disabled = true;
    $('progress').hidden = true;
    if (cancelled) {
      status('cancelled; restarting the engine…');
      await startEngine();
      status('cancelled');
    }
  }
}

// ---- images ---------------------------------------------------------------------
async function setPhoto(bytes, name) {
  state.photoBytes = bytes;
  state.photoName = name;
  state.photo = await createImageBitmap(new Blob([bytes]));
  await state.engine.setImage(bytes.slice(0), name);
  sizeCanvases(state.photo.width, state.photo.height);
  drawPhoto();
  state.panels = { A: null, B: null };
  state.requests = { A: null, B: null };
  for (const w of ['A', 'B']) draw(w);
  const r = await state.engine.classify(5);
  state.top = r.top;
  showTop(r.top);
  status(`${name}: ${r.preprocessing}`);
  if (r.top.length) await explainInto('A', r.top[0].index);
  if (r.top.length > 1) await explainInto('B', r.top[1].index);
}

function showTop(top) {
  const ol = $('top');
  ol.textContent = '';
  for (const c of top) {
    const li = document.createElement('li');
    li.innerHTML = `<span>${c.index} ${c.label}</span> <span class="small">${(100 * c.prob).toFixed(1)}%</span><span class="bar" style="width:${Math.round(60 * c.prob)}px"></span>`;
    const right = document.createElement('button');
    right.textContent = '→';
    right.title = 'explain on the right';
    right.onclick = (e) => {
      e.stopPropagation();
      void explainInto('B', c.index).catch(showError);
    };
    li.append(right);
    li.onclick = () => void explainInto('A', c.index).catch(showError);
    ol.append(li);
  }
}

async function readFile(f) {
  return new Uint8Array(await f.arrayBuffer());
}

/**
 * Every picture at the photo's own aspect ratio, its longer side DISPLAY_SIDE:
 * the model saw the photo squashed to a square, and the map's cells stretch
 * back with the photo, as in the CLI's picture (src/cli/explain.ts displayImage).
 */
function sizeCanvases(width, height) {
  const f = DISPLAY_SIDE / Math.max(width, height);
  const w = Math.max(1, Math.round(width * f));
  const h = Math.max(1, Math.round(height * f));
  for (const c of /** @type {NodeListOf<HTMLCanvasElement>} */ (document.querySelectorAll('canvas.picture'))) {
    c.width = w;
    c.height = h;
  }
  for (const c of /** @type {NodeListOf<HTMLCanvasElement>} */ (document.querySelectorAll('canvas.bar'))) c.height = h;
  for (const c of /** @type {NodeListOf<HTMLCanvasElement>} */ (document.querySelectorAll('.panel canvas'))) {
    c.style.width = `${Math.round(c.width * CSS_SCALE)}px`;
    c.style.height = `${Math.round(c.height * CSS_SCALE)}px`;
  }
}

/** The photo in its own colours, beside the maps (which show it grey, so their colours are not the photo's). */
function drawPhoto() {
  const canvas = $('photo').querySelector('canvas');
  const ctx = canvas.getContext('2d');
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  ctx.drawImage(state.photo, 0, 0, canvas.width, canvas.height);
  $('photo').querySelector('figcaption').textContent = `${state.photoName} (${state.photo.width}x${state.photo.height})`;
}

// ---- maps -----------------------------------------------------------------------
async function explainInto(which, target) {
  const method = $select('method').value;
  const options = methodOptions();
  const r = await busy(`${method} for ${target === 'concept' ? state.concept?.name : target}…`, (progress) =>
    state.engine.explain({ method, target, options }, progress),
  );
  state.panels[which] = r;
  state.requests[which] = target;
  drawBoth();
  status(`${r.method} | ${r.target ?? 'no target'} | ${r.ms.toFixed(0)} ms on ${r.backendDetail}`);
  return r;
}

/**
 * One colour scale for the two panels when they show the same method, as the
 * CLI's --compare grid has one per method: the same colour means the same
 * score on both sides. Different methods have scores of different units, so
 * each then keeps its own.
 */
function panelRange(which) {
  const r = state.panels[which];
  const other = state.panels[which === 'A' ? 'B' : 'A'];
  if (other && other.method === r.method) {
    const both = new Float32Array(r.map.values.length + other.map.values.length);
    both.set(r.map.values);
    both.set(other.map.values, r.map.values.length);
    return { ...displayRange(both, r.signed), shared: true };
  }
  return { ...displayRange(r.map.values, r.signed), shared: false };
}

function drawBoth() {
  draw('A');
  draw('B');
}

function draw(which) {
  const r = state.panels[which];
  const fig = $(`panel${which}`);
  const [canvas, bar] = fig.querySelectorAll('canvas');
  const ctx = canvas.getContext('2d');
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  if (state.photo) {
    // at its own aspect ratio (sizeCanvases); greyscale and lightened, so the map's colours are not the photo's
    ctx.filter = 'grayscale(1) contrast(0.75) brightness(1.15)';
    ctx.drawImage(state.photo, 0, 0, canvas.width, canvas.height);
    ctx.filter = 'none';
  }
  state.ranges[which] = null;
  if (!r) {
    bar.getContext('2d').clearRect(0, 0, bar.width, bar.height);
    fig.querySelector('figcaption').textContent = '';
    panelButton(fig, '.json').disabled = true;
    panelButton(fig, '.png').disabled = true;
    return;
  }
  const { rows, cols, values } = r.map;
  const range = panelRange(which);
  state.ranges[which] = range;
  const lut = r.signed ? LUTS.signed : LUTS.unsigned;
  const opacity = Number($input('opacity').value);
  const cells = new ImageData(cols, rows);
  for (let i = 0; i < values.length; i++) {
    const t = normalizeScore(values[i], range, r.signed);
    const u = r.signed ? (t + 1) / 2 : t;
    const k = Math.min(255, Math.max(0, Math.round(u * 255))) * 3;
    cells.data.set([lut[k], lut[k + 1], lut[k + 2], Math.round(255 * opacity * (r.signed ? Math.abs(t) : 1))], 4 * i);
  }
  const tmp = new OffscreenCanvas(cols, rows);
  tmp.getContext('2d').putImageData(cells, 0, 0);
  ctx.imageSmoothingEnabled = false;
  ctx.drawImage(tmp, 0, 0, canvas.width, canvas.height);
  drawBar(bar, lut, range, r.signed);
  const scale = range.shared ? 'colour scale shared by both panels' : 'own colour scale';
  fig.querySelector('figcaption').textContent =
    `${r.method} | ${r.target ?? 'target-free'}${r.score !== null ? ` | score ${r.score.toFixed(3)}` : ''} | ${r.ms.toFixed(0)} ms | ${r.backendDetail} | ${scale}`;
  panelButton(fig, '.json').disabled = false;
  panelButton(fig, '.png').disabled = false;
}

function drawBar(bar, lut, range, signed) {
  const ctx = bar.getContext('2d');
  ctx.clearRect(0, 0, bar.width, bar.height);
  const h = bar.height - 20;
  for (let y = 0; y < h; y++) {
    const k = Math.round((1 - y / (h - 1)) * 255) * 3;
    ctx.fillStyle = `rgb(${lut[k]},${lut[k + 1]},${lut[k + 2]})`;
    ctx.fillRect(0, 10 + y, 14, 1);
  }
  ctx.fillStyle = '#222';
  ctx.font = '11px system-ui';
  const fmt = (v) => (Math.abs(v) >= 0.01 || v === 0 ? v.toFixed(3) : v.toExponential(1));
  ctx.fillText(fmt(range.hi), 18, 18);
  if (signed) ctx.fillText('0', 18, 10 + h / 2 + 4);
  ctx.fillText(fmt(range.lo), 18, 10 + h);
}

function download(name, blob) {
  const a = document.createElement('a');
  a.href = URL.createObjectURL(blob);
  a.download = name;
  a.click();
  setTimeout(() => URL.revokeObjectURL(a.href), 1000);
}

for (const which of ['A', 'B']) {
  const fig = $(`panel${which}`);
  panelButton(fig, '.json').onclick = () => {
    const r = state.panels[which];
    const json = { method: r.method, target: r.target, score: r.score, map: { rows: r.map.rows, cols: r.map.cols, values: Array.from(r.map.values) } };
    download(`${r.method}.json`, new Blob([JSON.stringify(json)], { type: 'application/json' }));
  };
  panelButton(fig, '.png').onclick = () => {
    const [canvas, bar] = fig.querySelectorAll('canvas');
    const out = document.createElement('canvas');
    out.width = canvas.width + bar.width;
    out.height = canvas.height;
    const c = out.getContext('2d');
    c.fillStyle = '#fff';
    c.fillRect(0, 0, out.width, out.height);
    c.drawImage(canvas, 0, 0);
    c.drawImage(bar, canvas.width, 0);
    out.toBlob((b) => download(`${state.panels[which].method}.png`, b), 'image/png');
  };
}

function showError(e) {
  if (e?.message !== 'cancelled') status(String(e?.message ?? e), true);
}

// ---- wiring ---------------------------------------------------------------------
function dropZone(el, onFiles) {
  el.ondragover = (e) => {
    e.preventDefault();
    el.classList.add('over');
  };
  el.ondragleave = () => el.classList.remove('over');
  el.ondrop = (e) => {
    e.preventDefault();
    el.classList.remove('over');
    void onFiles([...e.dataTransfer.files]).catch(showError);
  };
}

/**
 * The chosen method's options as inputs, made from its declaration
 * (methodInfo(m).options: which options, their defaults; OPTION_SPECS: type,
 * range, help), as the CLI's flags are: a method that declares an option gets
 * its control here without an edit.
 */
function showMethodOptions() {
  const box = $('methodOptions');
  box.replaceChildren();
  const m = state.env.methods.find((x) => x.name === $select('method').value);
  for (const [name, value] of Object.entries(m?.options ?? {})) {
    const spec = state.env.optionSpecs[name];
    const label = document.createElement('label');
    label.title = spec.help;
    let input;
    if (spec.kind === 'choice') {
      input = document.createElement('select');
      for (const v of spec.values) input.append(new Option(v, v, false, v === value));
    } else {
      input = document.createElement('input');
      input.type = 'number';
      Object.assign(input, { min: spec.min, max: spec.max, step: spec.kind === 'int' ? 1 : 'any', value: String(value) });
      input.style.width = '5em';
    }
    input.dataset.option = name;
    input.dataset.kind = spec.kind;
    input.onchange = () => void (state.loading = redoPanels().catch(showError));
    label.append(`${name} `, input);
    box.append(label, ' ');
  }
}

/** The option values the inputs hold now ({} for a method without options). */
function methodOptions() {
  const out = {};
  for (const el of /** @type {NodeListOf<HTMLInputElement | HTMLSelectElement>} */ ($('methodOptions').querySelectorAll('[data-option]'))) {
    out[el.dataset.option] = el.dataset.kind === 'choice' ? el.value : Number(el.value);
  }
  return out;
}

async function init() {
  sizeCanvases(DISPLAY_SIDE, DISPLAY_SIDE);
  await startEngine();
  for (const b of state.env.backends) $('backend').append(new Option(b, b, false, b === state.model.backend));
  for (const m of state.env.methods) $('method').append(new Option(m.name, m.name, false, m.name === 'cdam'));
  // a new backend: the maps shown are explained again on it (their captions and timings name the backend that made them)
  $('backend').onchange = () =>
    void (state.loading = (async () => {
      state.backend = $select('backend').value;
      $('backendDetail').textContent = await state.engine.setBackend(state.backend);
      await redoPanels();
    })().catch(showError));
  showMethodOptions();
  $('method').onchange = () => {
    showMethodOptions();
    state.loading = redoPanels().catch(showError);
  };
  $('opacity').oninput = drawBoth;
  for (const name of EXAMPLES) {
    const b = document.createElement('button');
    b.textContent = name.replace(/\.png$/, '');
    b.onclick = () => void loadExample(name).catch(showError);
    $('examples').append(b, ' ');
  }
  $('file').onchange = () =>
    void (state.loading = (async () => setPhoto(await readFile($input('file').files[0]), $input('file').files[0].name))().catch(showError));
  dropZone($('drop'), (files) => (state.loading = (async () => setPhoto(await readFile(files[0]), files[0].name))()));
  $('modelFiles').onchange = () => void (state.loading = loadModelFiles([...$input('modelFiles').files]).catch(showError));
  dropZone($('conceptDrop'), (files) => (state.loading = conceptFrom(files)));
  await loadExample(EXAMPLES[0]);
}

/** A concept (mean latent) from dropped example images; "explain it" maps it on the left. */
async function conceptFrom(files) {
  const list = await Promise.all(files.map(readFile));
  state.concept = await busy('concept from examples…', (p) => state.engine.setConcept(list, `concept of ${files.length} images`, p));
  $('concept').innerHTML = `${state.concept.name}: <button id="explainConcept">explain it</button>`;
  $('explainConcept').onclick = () => void explainInto('A', 'concept').catch(showError);
}

/** A new method or backend: the panels are explained again, each for what it was asked. */
async function redoPanels() {
  for (const w of ['A', 'B']) {
    if (state.requests[w] !== null) await explainInto(w, state.requests[w]);
  }
}

async function loadExample(name) {
  const r = await fetch(new URL(name, examplesBase));
  await setPhoto(new Uint8Array(await r.arrayBuffer()), name);
}

async function loadModelFiles(files) {
  const find = (n) => files.find((f) => f.name === n);
  const st = find('model.safetensors') ?? files.find((f) => f.name.endsWith('.safetensors'));
  const cfg = find('config.json');
  if (!st || !cfg) throw new Error('choose model.safetensors and config.json together');
  const pre = find('preprocessor_config.json');
  state.modelFiles = [await st.arrayBuffer(), await cfg.text(), pre ? await pre.text() : undefined, st.name.replace(/\.safetensors$/, '')];
  state.model = await state.engine.loadModelFiles(...state.modelFiles.map((v) => (v instanceof ArrayBuffer ? v.slice(0) : v)));
  showEngine();
  if (state.photoBytes) await setPhoto(state.photoBytes, state.photoName);
}

// for the end-to-end tests (test/browser.test.ts) and the browser bench: the same calls the buttons make
window.cdamDemo = {
  ready: init().then(
    () => true,
    (e) => {
      showError(e);
      throw e;
    },
  ),
  state,
  explain: (which, method, target) => {
    $select('method').value = method;
    return explainInto(which, target);
  },
  setBackend: async (name) => {
    $select('backend').value = name;
    state.backend = name;
    return ($('backendDetail').textContent = await state.engine.setBackend(name));
  },
  backendCalls: (name) => state.engine.backendCalls(name),
  loadExample,
};
