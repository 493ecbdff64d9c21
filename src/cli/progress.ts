// A progress bar on stderr for long work (Smooth and Integrated CDAM,
// concepts from many images): count, rate and time left. Drawn only on a
// terminal and never with --quiet, so logs and pipes stay clean.

export interface ProgressStream {
  isTTY?: boolean;
  columns?: number;
  write(s: string): unknown;
}

const WIDTH = 24;
const MIN_INTERVAL_MS = 80;

function clock(s: number): string {
  if (!Number.isFinite(s)) return '--:--';
  const t = Math.max(0, Math.round(s));
  const h = Math.floor(t / 3600);
  const m = Math.floor((t % 3600) / 60);
  const ss = String(t % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`;
}

/** Items per second, or seconds per item when slower than one a second (an image of `cdam eval` takes minutes). */
function speed(rate: number): string {
  if (rate >= 100) return `${rate.toFixed(0)}/s`;
  if (rate >= 1 || rate === 0) return `${rate.toFixed(1)}/s`;
  const per = 1 / rate;
  return per >= 100 ? `${per.toFixed(0)} s each` : `${per.toFixed(1)} s each`;
}

/** One bar line: "  smooth-cdam [=========>       ] 20/50  41.2/s  0:01 left". */
export function progressLine(label: string, done: number, total: number, elapsedMs: number): string {
  const f = total > 0 ? Math.min(1, done / total) : 1;
  const full = Math.round(f * WIDTH);
  const bar = '='.repeat(Math.max(0, full - (f < 1 ? 1 : 0))) + (f < 1 && full > 0 ? '>' : '') + ' '.repeat(WIDTH - full);
  const rate = elapsedMs > 0 ? (done * 1000) / elapsedMs : 0;
  const left = done >= total ? 'done' : `${clock(rate > 0 ? (total - done) / rate : Infinity)} left`;
  return `  ${label} [${bar}] ${done}/${total}  ${speed(rate)}  ${left}`;
}

/**
 * A callback (done, total) that redraws the bar in place; a no-op when the
 * stream is not a terminal or `quiet` is set.
 */
export function progressBar(
  label: string,
  stream: ProgressStream,
  quiet: boolean,
  now: () => number = () => performance.now(),
): (done: number, total: number) => void {
  if (quiet || !stream.isTTY) return () => {};
  const start = now();
  let last = -Infinity;
  return (done, total) => {
    const t = now();
    if (done < total && t - last < MIN_INTERVAL_MS) return;
    last = t;
    const line = progressLine(label, done, total, t - start);
    const cols = stream.columns ?? 80;
    stream.write(`\r${line.length >= cols ? line.slice(0, cols - 1) : line.padEnd(cols - 1)}${done >= total ? '\n' : ''}`);
  };
}
