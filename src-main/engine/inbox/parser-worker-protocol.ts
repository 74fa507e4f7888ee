/**
 * What the parser pool (`message-parser.ts`) and its worker
 * (`parser-worker.ts`) say to each other. Both sides import these types, so
 * a changed field fails to compile on both. Imports types only.
 */
import type { SimpleParserOptions } from 'mailparser';
import type { ParsedMessage } from './message-summary.js';

/**
 * How the worker parses: `auto` (the fast path where it applies, else
 * mailparser's full parse) in production; the tests run each way on its own
 * to hold them to the same results.
 */
export type ParseWay = 'auto' | 'quick' | 'split' | 'full';

/** The worker's `workerData`. */
export interface ParserWorkerData {
  options: SimpleParserOptions;
  way: ParseWay;
  /**
   * Tests only: a message containing these bytes (latin1) blocks the worker
   * for good, as a parser stuck in a loop would, so the watchdog can be
   * tested without racing a clock.
   */
  blockOn?: string;
}

/** One message to parse; its bytes are moved (transferred) to the worker. */
export interface ParserJob {
  id: number;
  raw: Uint8Array;
}

/** The pool to the worker: a group of messages (a message between threads costs the same whatever its size). */
export interface ParserJobsMessage {
  jobs: ParserJob[];
}

/** The error of a `quick`-way parse that found the message not quick-splittable (tests only). */
export const NOT_QUICK = 'NOT_QUICK';

/** The result of one job. */
export type ParserJobResult = { id: number; ok: true; parsed: ParsedMessage } | { id: number; ok: false; error: string };

/** The worker to the pool: first `ready` once it has loaded, then groups of results. */
export type ParserWorkerMessage = { ready: true; results?: undefined } | { ready?: undefined; results: ParserJobResult[] };
