// A gpu.js backend: matmul, softmax and softmaxBackward as gpu.js kernels.
// In a browser gpu.js runs them on WebGL2/WebGL; in Node (no GL context) on
// its WebAssembly backend ('webasm', f32x4 SIMD, synchronous and therefore
// single-threaded) or, failing that, on its transpiled-JavaScript 'cpu'
// backend. The other kernels come from the reference backend (registry.ts).
//
// How the kernels are built:
// - Every kernel is compiled once per (kind, shape, transpose flags, strides)
//   and cached; gpu.js bakes argument and output sizes into the compiled
//   kernel (and throws if an argument changes size), so the key has to
//   pin everything the sizes depend on.
// - Arguments are flat Float32Array views (subarray at the caller's offset,
//   exactly as long as the kernel reads) indexed with flat arithmetic over
//   `this.constants`; transposes are index arithmetic in the generated source,
//   never a JS-side transpose.
// - Kernels are given to gpu.js as source text, not as functions: gpu.js
//   parses the source it is given, and a bundler or minifier rewriting a
//   function (loops to while, ifs to &&, ...) could produce JS that gpu.js
//   cannot translate.
// - gpu.js returns 2-D outputs as an array of Float32Array rows (3-D: rows of
//   rows); results are copied into the caller's array.

import type { GPU, IKernelRunShortcut, IGPUKernelSettings } from 'gpu.js';
import { loadGpuJs } from './gpujsModule.js';
import type { MatmulArgs, PartialBackend } from './backend.js';
import type { TypedArray } from './dtype.js';
import { jsBackend } from './js.js';
import { isNode } from '../platform/node.js';

export interface GpujsBackendOptions {
  /**
   * A gpu.js mode: 'gpu' (best available), 'webgl2', 'webgl', 'headlessgl',
   * 'webasm' or 'cpu'. Default: 'gpu' in a browser, 'webasm' in Node (or 'cpu'
   * where WebAssembly is unavailable). 'async' and 'webgpu' are rejected: their
   * kernels return Promises and the kernel interface is synchronous.
   */
  mode?: string;
}

export interface GpujsBackend extends PartialBackend {
  readonly name: 'gpujs';
  /** The gpu.js backend actually running the kernels: 'webgl2', 'webgl', 'webasm', 'cpu', ... */
  readonly mode: string;
  /** How many gpu.js kernels this backend has compiled (each is cached and reused). */
  readonly kernelsCreated: number;
  matmul(p: MatmulArgs): void;
  softmax(x: TypedArray, y: TypedArray, rows: number, cols: number): void;
  softmaxBackward(y: TypedArray, dy: TypedArray, dx: TypedArray, rows: number, cols: number): void;
  dispose(): void;
}

type Kernel = IKernelRunShortcut;

interface MatmulEntry {
  run: Kernel;
  /** elements of A / B the kernel reads, from aOffset / bOffset */
  aSpan: number;
  bSpan: number;
}
interface SoftmaxEntry {
  /** [2, rows] output: per row, x = 0 holds the max and x = 1 the sum of exp(x - max) */
  stats: Kernel;
  /** [cols, rows] output: exp(x - max) / sum */
  normalize: Kernel;
  /** the stats flattened to [rows * 2], fed to `normalize` */
  flatStats: Float32Array;
}
interface SoftmaxBackwardEntry {
  /** [rows] output: sum(dy * y) per row */
  dot: Kernel;
  /** [cols, rows] output: y * (dy - dot) */
  scale: Kernel;
}

// ---------------------------------------------------------------------------
// kernel sources

/** `q * step` for a source-level q expression; step '1' drops the product. */
function times(q: string, step: string): string {
  if (step === '1') return q;
  return q.includes(' ') ? `(${q}) * ${step}` : `${q} * ${step}`;
}

/**
 * Source of a matmul kernel. Thread (x, y, z) = (column j, row i, batch item).
 * `ao` is where row i of op(A) starts and `aStep` the distance between its
 * consecutive elements (1 for A [m, k], m for A stored [k, m]); likewise `bo`,
 * `bStep` for column j of op(B). The k loop is unrolled by four into the one
 * accumulator, so the summation order stays the plain sequential one (the
 * reference's) while the loop overhead drops (~1.6x faster on webasm and cpu);
 * the k % 4 leftover terms are emitted after the loop with literal indices.
 */
export function matmulSource(k: number, transA: boolean, transB: boolean, batchA: boolean, batchB: boolean): string {
  const aStep = transA ? 'this.constants.m' : '1';
  const bStep = transB ? '1' : 'this.constants.n';
  const ao = [batchA ? 'this.thread.z * this.constants.strideA' : '', transA ? 'this.thread.y' : 'this.thread.y * this.constants.k']
    .filter(Boolean)
    .join(' + ');
  const bo = [batchB ? 'this.thread.z * this.constants.strideB' : '', transB ? 'this.thread.x * this.constants.k' : 'this.thread.x']
    .filter(Boolean)
    .join(' + ');
  const term = (q: string): string => `s += a[ao + ${times(q, aStep)}] * b[bo + ${times(q, bStep)}];`;
  const k4 = k - (k % 4);
  const tail: string[] = [];
  for (let q = k4; q < k; q++) tail.push(term(String(q)));
  return `function(a, b) {
  const ao = ${ao};
  const bo = ${bo};
  let s = 0;
  for (let q = 0; q < this.constants.k4; q += 4) {
    ${term('q')}
    ${term('q + 1')}
    ${term('q + 2')}
    ${term('q + 3')}
  }
  ${tail.join('\n  ')}
  return s;
}`;
}

// The row max is seeded with the row's first element (gpu.js has no -Infinity
// literal); thread x = 0 stops there, x = 1 goes on to the sum.
const softmaxStatsSource = `function(x) {
  const o = this.thread.y * this.constants.cols;
  let mx = x[o];
  for (let j = 1; j < this.constants.cols; j++) {
    mx = Math.max(mx, x[o + j]);
  }
  if (this.thread.x === 0) {
    return mx;
  }
  let s = 0;
  for (let j = 0; j < this.constants.cols; j++) {
    s += Math.exp(x[o + j] - mx);
  }
  return s;
}`;

const softmaxNormalizeSource = `function(x, stats) {
  const r = this.thread.y;
  return Math.exp(x[r * this.constants.cols + this.thread.x] - stats[r * 2]) / stats[r * 2 + 1];
}`;

const softmaxDotSource = `function(y, dy) {
  const o = this.thread.x * this.constants.cols;
  let s = 0;
  for (let j = 0; j < this.constants.cols; j++) {
    s += dy[o + j] * y[o + j];
  }
  return s;
}`;

const softmaxScaleSource = `function(y, dy, dot) {
  const i = this.thread.y * this.constants.cols + this.thread.x;
  return y[i] * (dy[i] - dot[this.thread.y]);
}`;

// ---------------------------------------------------------------------------
// mode selection

/** Build the GPU instance; returns it with the mode gpu.js actually runs. */
function openGpu(requested: string | undefined): { gpu: GPU; mode: string } {
  if (requested === 'async' || requested === 'webgpu') {
    throw new Error(`gpujs backend: mode "${requested}" returns Promises; the kernel interface is synchronous`);
  }
  const GPU = loadGpuJs();
  let gpu: GPU;
  if (requested !== undefined) {
    // an explicit request is honoured or fails loudly
    gpu = new GPU({ mode: requested as 'gpu' });
  } else if (!isNode) {
    gpu = new GPU({ mode: 'gpu' }); // gpu.js picks webgl2 > webgl > webasm, else cpu
  } else {
    // Node has no GL context here: 'gpu' would land on webasm anyway
    gpu = new GPU({ mode: GPU.isWebAssemblySupported ? 'webasm' : 'cpu' });
  }
  return { gpu, mode: kernelMode(gpu) };
}

/**
 * What runs: gpu.mode echoes the request ('gpu'), and the GL kernel classes
 * all report their parent's static mode ('gpu') too, so the chosen class is
 * named by its own name where it has one (gpu.js's builds are not minified).
 */
const GL_CLASSES: Record<string, string> = { WebGL2Kernel: 'webgl2', WebGLKernel: 'webgl', HeadlessGLKernel: 'headlessgl' };
function kernelMode(gpu: GPU): string {
  const cls = gpu.Kernel as { mode?: string; name?: string } | null;
  return GL_CLASSES[cls?.name ?? ''] ?? cls?.mode ?? gpu.mode;
}

/** The settings every kernel is built with (exported with matmulSource for the browser's WebGPU check). */
export function kernelSettings(output: number[], constants: Record<string, number>): IGPUKernelSettings {
  return {
    output,
    constants,
    precision: 'single',
    // GL backends would otherwise pick lowp/mediump from the texture size,
    // which on mobile GPUs is too coarse for float data; ignored elsewhere
    tactic: 'precision',
  };
}

// ---------------------------------------------------------------------------
// the backend

export function createGpujsBackend(opts: GpujsBackendOptions = {}): GpujsBackend {
  const { gpu, mode } = openGpu(opts.mode);
  const matmuls = new Map<string, MatmulEntry>();
  const softmaxes = new Map<string, SoftmaxEntry>();
  const softmaxBackwards = new Map<string, SoftmaxBackwardEntry>();
  let kernelsCreated = 0;
  let disposed = false;

  function compile(source: string, output: number[], constants: Record<string, number>): Kernel {
    if (disposed) throw new Error('gpujs backend: used after dispose()');
    kernelsCreated++;
    return gpu.createKernel(source, kernelSettings(output, constants));
  }

  function matmulEntry(p: MatmulArgs): MatmulEntry {
    const { batch, m, n, k, transA, transB } = p;
    const batched = batch > 1;
    // strides only matter when there is more than one batch item
    const strideA = batched ? p.strideA : 0;
    const strideB = batched ? p.strideB : 0;
    const key = `${m}x${k}x${n}|${batch}|${strideA},${strideB}|${transA ? 'T' : 'N'}${transB ? 'T' : 'N'}`;
    let e = matmuls.get(key);
    if (!e) {
      const source = matmulSource(k, transA, transB, strideA !== 0, strideB !== 0);
      const output = batched ? [n, m, batch] : [n, m];
      e = {
        run: compile(source, output, { m, n, k, k4: k - (k % 4), strideA, strideB }),
        aSpan: (batch - 1) * strideA + m * k,
        bSpan: (batch - 1) * strideB + k * n,
      };
      matmuls.set(key, e);
    }
    return e;
  }

  /** kernel runs on gpu.js (not handed to the reference) */
  let calls = 0;

  function matmul(p: MatmulArgs): void {
    const { a, b, c, batch, m, n, k } = p;
    if (!(a instanceof Float32Array && b instanceof Float32Array && c instanceof Float32Array)) {
      jsBackend.matmul(p); // float64 is the reference backend's job
      return;
    }
    if (batch <= 0 || m <= 0 || n <= 0) return;
    if (k <= 0) {
      c.fill(0, p.cOffset, p.cOffset + batch * m * n);
      return;
    }
    const e = matmulEntry(p);
    calls++;
    const out = e.run(a.subarray(p.aOffset, p.aOffset + e.aSpan), b.subarray(p.bOffset, p.bOffset + e.bSpan));
    if (batch > 1) {
      const items = out as Float32Array[][];
      for (let bi = 0; bi < batch; bi++) {
        const rows = items[bi]!;
        for (let i = 0; i < m; i++) c.set(rows[i]!, p.cOffset + (bi * m + i) * n);
      }
    } else {
      const rows = out as Float32Array[];
      for (let i = 0; i < m; i++) c.set(rows[i]!, p.cOffset + i * n);
    }
  }

  function softmax(x: TypedArray, y: TypedArray, rows: number, cols: number): void {
    if (!(x instanceof Float32Array && y instanceof Float32Array)) {
      jsBackend.softmax(x, y, rows, cols);
      return;
    }
    if (rows <= 0 || cols <= 0) return;
    const key = `${rows}x${cols}`;
    let e = softmaxes.get(key);
    if (!e) {
      e = {
        stats: compile(softmaxStatsSource, [2, rows], { cols }),
        normalize: compile(softmaxNormalizeSource, [cols, rows], { cols }),
        flatStats: new Float32Array(rows * 2),
      };
      softmaxes.set(key, e);
    }
    const xs = x.subarray(0, rows * cols);
    calls++;
    // pass 1: per-row max and sum of exp(x - max), flattened for pass 2
    const stats = e.stats(xs) as Float32Array[];
    for (let r = 0; r < rows; r++) e.flatStats.set(stats[r]!, r * 2);
    // pass 2: normalise every element
    const out = e.normalize(xs, e.flatStats) as Float32Array[];
    for (let r = 0; r < rows; r++) y.set(out[r]!, r * cols);
  }

  function softmaxBackward(y: TypedArray, dy: TypedArray, dx: TypedArray, rows: number, cols: number): void {
    if (!(y instanceof Float32Array && dy instanceof Float32Array && dx instanceof Float32Array)) {
      jsBackend.softmaxBackward(y, dy, dx, rows, cols);
      return;
    }
    if (rows <= 0 || cols <= 0) return;
    const key = `${rows}x${cols}`;
    let e = softmaxBackwards.get(key);
    if (!e) {
      e = {
        dot: compile(softmaxDotSource, [rows], { cols }),
        scale: compile(softmaxScaleSource, [cols, rows], { cols }),
      };
      softmaxBackwards.set(key, e);
    }
    const ys = y.subarray(0, rows * cols);
    calls++;
    const dys = dy.subarray(0, rows * cols);
    // pass 1: sum(dy * y) per row (a 1-D output comes back as one Float32Array)
    const dot = e.dot(ys, dys) as Float32Array;
    // pass 2: dx = y * (dy - dot)
    const out = e.scale(ys, dys, dot) as Float32Array[];
    for (let r = 0; r < rows; r++) dx.set(out[r]!, r * cols);
  }

  function dispose(): void {
    if (disposed) return;
    disposed = true;
    matmuls.clear();
    softmaxes.clear();
    softmaxBackwards.clear();
    // gpu.destroy() tears every kernel down on a timer and resolves a Promise;
    // nothing here needs to wait for it
    gpu.destroy().catch(() => undefined);
  }

  return {
    name: 'gpujs',
    mode,
    get kernelsCreated() {
      return kernelsCreated;
    },
    matmul,
    softmax,
    softmaxBackward,
    dispose,
    ownCalls: () => calls,
    describe: () => `gpu.js ${kernelMode(gpu)}`,
  };
}
