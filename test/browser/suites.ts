// The op and block suites as they run in Node, bundled for Chromium by
// test/browser.test.ts (with support/files.browser.ts for file access) and
// run in a module Web Worker there: every op against PyTorch's fixtures, the
// transformer block against PyTorch, the fused kernels and the gradient
// checks, on every backend the build ships (js, wasm with every call in
// wasm, gpu.js on WebGL2), each proving its backend ran. uvu prints as in
// Node; the lines go to the page (capture.ts), which the test reads.
import './capture.js'; // before uvu loads
import '../ops_torch.test.js';
import '../block_torch.test.js';
import '../fused_kernels.test.js';
import '../attention_fused.test.js';
import '../mlp_fused.test.js';
import '../erf_gelu.test.js';
import '../autograd.test.js';

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { describeBackend } from '../../src/kernels/index.js';

// the gpu.js cases above ran on the GPU path, not on a fallback
test('gpu.js in this worker runs its kernels on WebGL2', () => {
  const d = describeBackend('gpujs');
  console.log(`  ${d}`);
  assert.match(d, /gpu\.js webgl2/);
});
test.run();
