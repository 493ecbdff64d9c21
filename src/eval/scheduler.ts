// A pool of worker threads that share a queue of jobs: each worker takes the
// next job when it is free and the caller sees every reply as it comes back.
// Nothing here knows what a job is; run.ts gives it the parts of images.
import { Worker } from 'node:worker_threads';

export interface PoolOptions {
  /** the worker's module */
  script: URL;
  /** how many threads */
  workers: number;
  /** what every worker gets as workerData */
  workerData: unknown;
  env?: NodeJS.ProcessEnv;
}

/**
 * Run `jobs` in order on a pool of workers. `onReply(job, message)` gets each
 * reply on this thread; a throw there stops the whole run and rejects with it,
 * as does a worker's error. `skip(job)` drops a job that has not started yet.
 * The workers are terminated when the run ends, however it ends.
 */
export async function runOnWorkers<J, M>(
  opts: PoolOptions,
  jobs: readonly J[],
  onReply: (job: J, message: M) => void,
  skip: (job: J) => boolean = () => false,
): Promise<void> {
  let next = 0;
  const pool: Worker[] = [];
  try {
    await new Promise<void>((resolveAll, rejectAll) => {
      let running = 0;
      let failed = false;
      const fail = (e: unknown) => {
        if (failed) return;
        failed = true;
        rejectAll(e);
      };
      const feed = (w: Worker) => {
        let job: J | undefined;
        while (next < jobs.length && skip((job = jobs[next++] as J)));
        if (job === undefined || skip(job)) {
          if (--running === 0) resolveAll();
          return;
        }
        const mine = job;
        w.once('message', (m: M) => {
          try {
            onReply(mine, m);
          } catch (e) {
            fail(e);
            return;
          }
          feed(w);
        });
        w.postMessage(mine);
      };
      for (let i = 0; i < opts.workers; i++) {
        const w = new Worker(opts.script, { workerData: opts.workerData, env: opts.env ?? process.env });
        w.on('error', fail);
        pool.push(w);
        running++;
        feed(w);
      }
    });
  } finally {
    await Promise.all(pool.map((w) => w.terminate()));
  }
}
