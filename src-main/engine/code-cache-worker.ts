/**
 * A worker thread's script that runs another CommonJS file from V8's code
 * cache (`code-cache.ts`): the CLI's parser pool starts its workers through
 * it (built as dist/cli/code-cache-worker.cjs, beside the parser worker).
 * The pool names the file and the cache folder in `workerData.codeCache`.
 *
 * A worker is ended by the pool, not by itself, so the cache is saved early:
 * once the worker has handled its first few groups of jobs, when the parse's
 * code has been compiled.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { runCommonJsBundle } from './code-cache.js';

/** What the pool puts in `workerData.codeCache`. */
export interface CodeCacheWorkerData {
  /** The worker's own script (the parser worker bundle). */
  script: string;
  /** The cache folder (null: no cache). */
  dir: string | null;
}

/** Groups of jobs handled before the cache is saved. */
const SAVE_AFTER_MESSAGES = 3;

const { script, dir } = (workerData as { codeCache: CodeCacheWorkerData }).codeCache;
const run = runCommonJsBundle(script, dir, 'worker');
if (run.cacheFile && parentPort) {
  const port = parentPort;
  let seen = 0;
  const count = (): void => {
    if (++seen < SAVE_AFTER_MESSAGES) return;
    port.off('message', count);
    // After the group that just came has been parsed (the parse runs before any next event).
    setImmediate(() => run.save());
  };
  port.on('message', count);
}
