// Median wall time of a function after one warm-up call (kernel compilation,
// JIT, worker start-up): at least minRuns runs and minMs of runs, at most maxMs.
export function timeIt(fn, { minRuns = 5, minMs = 1000, maxMs = 30000 } = {}) {
  fn();
  const ts = [];
  const start = performance.now();
  while (ts.length < minRuns || performance.now() - start < minMs) {
    const t0 = performance.now();
    fn();
    ts.push(performance.now() - t0);
    if (performance.now() - start > maxMs && ts.length >= 3) break;
  }
  ts.sort((a, b) => a - b);
  return ts[Math.floor(ts.length / 2)];
}
