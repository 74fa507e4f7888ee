/**
 * Parses messages with mailparser, off the main thread.
 *
 * A parser pool runs mailparser in worker threads, for two reasons:
 * the import parses while the IMAP connection keeps streaming (the main
 * thread reads IMAP and writes SQLite, the worker parses: both cores work),
 * and a message that hangs or exhausts the parser is contained: the worker
 * is ended and replaced, and the message is stored raw as failed instead of
 * taking the importer down (and being retried forever after a restart).
 *
 * The worker is its own module (`parser-worker.ts`), bundled with its
 * dependencies into one file per build (`parser-worker-file.ts` finds it);
 * it and the in-thread path below convert with the same `toParsedMessage`.
 * When workers cannot start, parsing runs in-thread and the pool says so
 * once (`onUnavailable`).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { codeCacheDir } from '../code-cache.js';
import type { CodeCacheWorkerData } from '../code-cache-worker.js';
import type { ParseOutcome } from './message-summary.js';
import { IMPORT_PARSE_OPTIONS, toParsedMessage } from './parsed-message.js';
import { parserWorkerFile } from './parser-worker-file.js';
import type { ParseWay, ParserJob, ParserJobsMessage, ParserWorkerData, ParserWorkerMessage } from './parser-worker-protocol.js';

/** How long one message may take to parse before it is given up as failed. */
export const DEFAULT_PARSE_TIMEOUT_MS = 60_000;
/** Heap limit of the parser worker: a message that needs more is stored raw as failed. */
const WORKER_HEAP_MB = 1024;
/**
 * Most messages handed to one worker at once, and their most bytes (one
 * message larger than that goes alone). The worker keeps them in its own
 * queue and parses a few at a time, so a long hand-over costs no heap; it
 * must be long enough that the worker never runs dry while the main thread
 * is busy committing a batch (measured: with 16, the worker sat idle during
 * each commit and the import took a third longer).
 */
const MAX_IN_FLIGHT = 256;
const MAX_IN_FLIGHT_BYTES = 32 * 1024 * 1024;

function errorText(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return text.length > 500 ? `${text.slice(0, 500)}…` : text;
}

/** Parses in this thread, with a timeout on the (asynchronous) parse. */
export async function parseInThread(raw: Buffer, timeoutMs = DEFAULT_PARSE_TIMEOUT_MS): Promise<ParseOutcome> {
  let timer: NodeJS.Timeout | undefined;
  try {
    const timeout = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => reject(Object.assign(new Error('timeout'), { code: 'PARSE_TIMEOUT' })), timeoutMs);
    });
    // Raced below; firing while mailparser still loads must not be an unhandled rejection (it ends the process).
    timeout.catch(() => undefined);
    // Loaded on first use: the import parses in workers, so the main thread rarely needs mailparser.
    const { simpleParser } = await import('mailparser');
    const parsed = await Promise.race([simpleParser(raw, IMPORT_PARSE_OPTIONS), timeout]);
    return { ok: true, parsed: toParsedMessage(parsed) };
  } catch (error) {
    if ((error as { code?: string }).code === 'PARSE_TIMEOUT') {
      return { ok: false, code: 'MESSAGE_PARSE_TIMEOUT', error: `Parsing took longer than ${Math.round(timeoutMs / 1000)} s; the message was kept unread.` };
    }
    return { ok: false, code: 'MESSAGE_PARSE_FAILED', error: `mailparser could not read the message: ${errorText(error)}` };
  } finally {
    clearTimeout(timer);
  }
}

/** Something that parses messages; never rejects. */
export interface MessageParser {
  parse(raw: Buffer): Promise<ParseOutcome>;
  /** Gets ready (starts the workers) while the caller is still connecting. */
  warm?(): void;
  /** Calls listener once with the reason, if the parser's workers cannot run (see WorkerParser). */
  whenUnavailable?(listener: (reason: string) => void): void;
  close(): Promise<void>;
}

/**
 * Parses run at once in this thread: as in a worker, a few fill each
 * other's gaps, many only fill the heap.
 */
const IN_THREAD_PARALLEL = 4;

/**
 * Parses in-thread only (the fallback when workers cannot start, and the
 * tests' reference), a few at a time. Each message's timeout runs from when
 * its parse starts, not while it waits behind others: a thousand messages
 * handed over at once on a slow machine are not given up for the time the
 * others took.
 */
export class InThreadParser implements MessageParser {
  private running = 0;
  /** Parses waiting for a free place, oldest first. */
  private readonly waiting: (() => void)[] = [];

  constructor(private readonly timeoutMs = DEFAULT_PARSE_TIMEOUT_MS) {}

  async parse(raw: Buffer): Promise<ParseOutcome> {
    if (this.running < IN_THREAD_PARALLEL) this.running++;
    // A finished parse hands its place straight to the oldest waiting one.
    else await new Promise<void>((resolve) => this.waiting.push(resolve));
    try {
      return await parseInThread(raw, this.timeoutMs);
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.running--;
    }
  }

  async close(): Promise<void> {}
}

/** Beside a worker file: the script that starts it from V8's code cache (only the CLI's bundle has one). */
const CODE_CACHE_WORKER = 'code-cache-worker.cjs';

/** How to start workers of this file from the code cache, or null when not (no such script beside it, or caching off). */
function codeCacheLoader(workerFile: string): (CodeCacheWorkerData & { loader: string }) | null {
  const loader = path.join(path.dirname(workerFile), CODE_CACHE_WORKER);
  const dir = codeCacheDir();
  if (dir === null || !fs.existsSync(loader)) return null;
  return { loader, script: workerFile, dir };
}

/** One worker and the jobs it is working on. */
class ParserSlot {
  worker: Worker | undefined;
  /** The worker has loaded its modules (it says so in its first message). */
  ready = false;
  readonly inFlight = new Map<number, Job>();
  /** Bytes of the jobs in flight. */
  inFlightBytes = 0;
  /**
   * Fires when the worker has given back nothing for the parse timeout while
   * it has work: the message it is on hangs (jobs waiting behind it in the
   * worker's queue are not counted against their own time).
   */
  watchdog: NodeJS.Timeout | undefined;
  /** A job retried alone after a crash runs here, with nothing else. */
  get soloRunning(): boolean {
    for (const job of this.inFlight.values()) if (job.solo) return true;
    return false;
  }
}

interface Job {
  id: number;
  raw: Buffer;
  resolve: (outcome: ParseOutcome) => void;
  /** Set after a worker died with this job in flight: it is retried alone, once. */
  solo: boolean;
}

/**
 * How many parser workers to run: one core is left to the main thread (it
 * reads IMAP and writes the store), up to two workers.
 */
export function defaultWorkerCount(): number {
  return Math.max(1, Math.min(2, os.availableParallelism() - 1));
}

/** How a WorkerParser is set up. */
export interface WorkerParserOptions {
  /** The worker's built file. Default: the one beside this bundle (`parserWorkerFile`). */
  workerFile?: string;
  /**
   * Called once, with the reason, when workers cannot start here (a missing
   * worker file, a runtime without worker threads, a worker that dies while
   * loading): from then on every message is parsed on this thread.
   */
  onUnavailable?: (reason: string) => void;
  /** Tests: parse every message one way (quick split, mailsplit, or mailparser's full parse). */
  way?: ParseWay;
  /** Tests: a message with these bytes blocks its worker for good (see ParserWorkerData.blockOn). */
  blockOn?: string;
  /**
   * Start each worker through the code-cache script beside the worker file
   * (dist/cli/code-cache-worker.cjs: the worker's code comes from V8's code
   * cache, see code-cache.ts) when there is one. Default: true; the cache
   * folder is `codeCacheDir()`'s.
   */
  codeCache?: boolean;
}

/**
 * Parser workers shared by every importer of the process, with a queue.
 * A worker that gives back nothing for the parse timeout, or dies (out of
 * memory), is ended; the jobs it had are retried one at a time on a fresh
 * one, and only the message that fails alone is given up.
 */
export class WorkerParser implements MessageParser {
  private readonly slots: ParserSlot[];
  private broken = false;
  /** Why workers cannot run here, once that is known. */
  private unavailable: string | null = null;
  /** Workers in a row that died before they were ready. */
  private startupFailures = 0;
  private nextId = 1;
  private readonly queue: Job[] = [];
  /** Jobs that were in flight when their worker died: retried one at a time. */
  private readonly soloQueue: Job[] = [];
  private readonly fallback: InThreadParser;
  private closed = false;
  private readonly workerFile: string;

  constructor(
    private readonly timeoutMs = DEFAULT_PARSE_TIMEOUT_MS,
    workers = defaultWorkerCount(),
    private readonly options: WorkerParserOptions = {},
  ) {
    this.fallback = new InThreadParser(timeoutMs);
    this.slots = Array.from({ length: Math.max(1, workers) }, () => new ParserSlot());
    this.workerFile = options.workerFile ?? parserWorkerFile();
    this.codeCache = options.codeCache === false ? null : codeCacheLoader(this.workerFile);
  }

  /** The code-cache script and folder workers start through, or null (started directly). */
  private readonly codeCache: CodeCacheWorkerData & { loader: string } | null;

  /** Why workers cannot run here (messages are parsed on this thread), or null while they can. */
  get unavailableReason(): string | null {
    return this.unavailable;
  }

  /** Listeners added after construction (`whenUnavailable`). */
  private readonly unavailableListeners: ((reason: string) => void)[] = [];

  /**
   * Calls listener once with the reason workers cannot run here: at once if
   * that is already known. For a parser started before whoever reports it
   * exists (the CLI's poll starts the workers before it opens the store).
   */
  whenUnavailable(listener: (reason: string) => void): void {
    if (this.unavailable === null) this.unavailableListeners.push(listener);
    else WorkerParser.tell(listener, this.unavailable);
  }

  private static tell(listener: ((reason: string) => void) | undefined, reason: string): void {
    try {
      listener?.(reason);
    } catch {
      // A listener's fault must not stop the import.
    }
  }

  /** Workers cannot run here: parse in-thread from now on, and say so once. */
  private markUnavailable(reason: string): void {
    if (this.broken) return;
    this.broken = true;
    this.unavailable = reason;
    WorkerParser.tell(this.options.onUnavailable, reason);
    for (const listener of this.unavailableListeners.splice(0)) WorkerParser.tell(listener, reason);
  }

  parse(raw: Buffer): Promise<ParseOutcome> {
    if (this.closed || this.broken) return this.fallback.parse(raw);
    return new Promise((resolve) => {
      this.queue.push({ id: this.nextId++, raw, resolve, solo: false });
      this.schedulePump();
    });
  }

  /** Starts the workers now (they take a moment to load), unreferenced until there is work. */
  warm(): void {
    if (this.closed || this.broken) return;
    for (const slot of this.slots) this.start(slot)?.unref();
  }

  private pumpQueued = false;

  /** Hands jobs over once the current burst of parse() calls is in (one message per worker, not per email). */
  private schedulePump(): void {
    if (this.pumpQueued) return;
    this.pumpQueued = true;
    setImmediate(() => {
      this.pumpQueued = false;
      this.pump();
    });
  }

  private start(slot: ParserSlot): Worker | undefined {
    if (slot.worker) return slot.worker;
    if (!fs.existsSync(this.workerFile)) {
      this.markUnavailable(`the parser worker ${this.workerFile} is missing`);
      return undefined;
    }
    try {
      const workerData: ParserWorkerData = {
        options: IMPORT_PARSE_OPTIONS,
        way: this.options.way ?? 'auto',
        ...(this.options.blockOn ? { blockOn: this.options.blockOn } : {}),
      };
      const worker = new Worker(this.codeCache?.loader ?? this.workerFile, {
        workerData: this.codeCache ? { ...workerData, codeCache: { script: this.codeCache.script, dir: this.codeCache.dir } } : workerData,
        // A roomier young generation: parsing makes many short-lived objects (fewer scavenges).
        resourceLimits: { maxOldGenerationSizeMb: WORKER_HEAP_MB, maxYoungGenerationSizeMb: 48 },
        stdout: true,
        stderr: true,
      });
      worker.on('message', (message: ParserWorkerMessage) => this.onMessage(slot, message));
      worker.on('error', (error) => this.onDeath(slot, worker, error));
      worker.on('exit', () => this.onDeath(slot, worker, undefined));
      slot.worker = worker;
      return worker;
    } catch (error) {
      // No worker here (a restricted runtime): parse in-thread from now on.
      this.markUnavailable(`a worker thread cannot start (${errorText(error)})`);
      return undefined;
    }
  }

  private pump(): void {
    if (this.closed) return;
    if (this.broken) {
      // No worker can run here: what waits is parsed in-thread.
      for (const job of [...this.soloQueue.splice(0), ...this.queue.splice(0)]) void this.fallback.parse(job.raw).then(job.resolve);
      return;
    }
    while (this.soloQueue.length) {
      // Jobs retried alone go first, each on a worker with nothing else in flight;
      // nothing else is handed out until they are done.
      const idle = this.slots.find((s) => s.inFlight.size === 0);
      if (!idle) return;
      this.dispatch(idle, [this.soloQueue.shift()!]);
    }
    while (this.queue.length) {
      let slot: ParserSlot | undefined;
      for (const candidate of this.slots) {
        if (candidate.soloRunning || candidate.inFlight.size >= MAX_IN_FLIGHT) continue;
        // A worker with work takes more only while under the byte budget (an idle one takes any message).
        if (candidate.inFlight.size > 0 && candidate.inFlightBytes + this.queue[0]!.raw.length > MAX_IN_FLIGHT_BYTES) continue;
        if (!slot || candidate.inFlight.size < slot.inFlight.size) slot = candidate;
      }
      if (!slot) return;
      // Share the queue between the workers that have room.
      const room = MAX_IN_FLIGHT - slot.inFlight.size;
      const share = Math.max(1, Math.ceil(this.queue.length / this.slots.length));
      let count = 0;
      let bytes = slot.inFlightBytes;
      while (count < Math.min(room, share, this.queue.length)) {
        const size = this.queue[count]!.raw.length;
        if (count > 0 && bytes + size > MAX_IN_FLIGHT_BYTES) break;
        bytes += size;
        count++;
      }
      this.dispatch(slot, this.queue.splice(0, Math.max(1, count)));
    }
  }

  private dispatch(slot: ParserSlot, jobs: Job[]): void {
    const worker = this.start(slot);
    if (!worker) {
      for (const job of jobs) void this.fallback.parse(job.raw).then(job.resolve);
      return;
    }
    const payload: ParserJob[] = [];
    const transfer: ArrayBuffer[] = [];
    for (const job of jobs) {
      slot.inFlight.set(job.id, job);
      slot.inFlightBytes += job.raw.length;
      // A copy of its own for the worker (moved, not copied again): the importer keeps the raw message to store it.
      const copy = new Uint8Array(job.raw);
      payload.push({ id: job.id, raw: copy });
      transfer.push(copy.buffer);
    }
    const message: ParserJobsMessage = { jobs: payload };
    worker.postMessage(message, transfer);
    worker.ref();
    // The clock runs from the last sign of progress (or from now, for a worker that had nothing),
    // once the worker has loaded.
    if (slot.ready) this.watch(slot);
  }

  private watch(slot: ParserSlot): void {
    slot.watchdog ??= setTimeout(() => this.onStall(slot), this.timeoutMs);
  }

  private onMessage(slot: ParserSlot, message: ParserWorkerMessage): void {
    slot.watchdog?.refresh();
    if (message.ready) {
      slot.ready = true;
      this.startupFailures = 0;
      if (slot.inFlight.size) this.watch(slot);
    }
    for (const result of message.results ?? []) {
      const job = slot.inFlight.get(result.id);
      if (!job) continue;
      this.finish(
        slot,
        job,
        result.ok ? { ok: true, parsed: result.parsed } : { ok: false, code: 'MESSAGE_PARSE_FAILED', error: `mailparser could not read the message: ${result.error}` },
      );
    }
    this.pump();
  }

  private finish(slot: ParserSlot, job: Job, outcome: ParseOutcome): void {
    if (slot.inFlight.delete(job.id)) slot.inFlightBytes -= job.raw.length;
    job.resolve(outcome);
    if (slot.inFlight.size === 0) {
      clearTimeout(slot.watchdog);
      slot.watchdog = undefined;
      if (this.queue.length === 0 && this.soloQueue.length === 0) slot.worker?.unref();
    }
  }

  private onStall(slot: ParserSlot): void {
    slot.watchdog = undefined;
    if (!slot.inFlight.size) return;
    if (slot.inFlight.size === 1) {
      const [job] = slot.inFlight.values();
      this.finish(slot, job!, { ok: false, code: 'MESSAGE_PARSE_TIMEOUT', error: `Parsing took longer than ${Math.round(this.timeoutMs / 1000)} s; the message was kept unread.` });
    }
    // The worker may be stuck in a loop: end it; whatever else was in flight is retried alone.
    if (slot.worker) void slot.worker.terminate();
  }

  private onDeath(slot: ParserSlot, worker: Worker, error: Error | undefined): void {
    if (slot.worker !== worker) return;
    slot.worker = undefined;
    clearTimeout(slot.watchdog);
    slot.watchdog = undefined;
    const victims = [...slot.inFlight.values()];
    slot.inFlight.clear();
    slot.inFlightBytes = 0;
    if (!slot.ready && !this.closed) {
      // It died while loading: no message is to blame. Twice in a row means workers cannot run
      // here (an unreadable worker file, a restricted runtime): parse in-thread.
      if (++this.startupFailures >= 2) this.markUnavailable(`the parser worker stopped while loading${error ? ` (${errorText(error)})` : ''}`);
      this.queue.unshift(...victims);
      this.pump();
      return;
    }
    slot.ready = false;
    for (const job of victims) {
      if (job.solo || victims.length === 1) {
        const reason = error ? `the parser stopped (${errorText(error)})` : 'the parser stopped';
        job.resolve({ ok: false, code: 'MESSAGE_PARSE_TIMEOUT', error: `The message could not be parsed: ${reason}; it was kept unread.` });
      } else {
        job.solo = true;
        this.soloQueue.push(job);
      }
    }
    if (!this.closed) this.pump();
  }

  async close(): Promise<void> {
    this.closed = true;
    const workers: Worker[] = [];
    for (const slot of this.slots) {
      if (slot.worker) workers.push(slot.worker);
      slot.worker = undefined;
      clearTimeout(slot.watchdog);
      slot.watchdog = undefined;
      for (const job of slot.inFlight.values()) {
        job.resolve({ ok: false, code: 'MESSAGE_PARSE_FAILED', error: 'The parser was shut down before it read the message.' });
      }
      slot.inFlight.clear();
      slot.inFlightBytes = 0;
    }
    for (const job of [...this.queue.splice(0), ...this.soloQueue.splice(0)]) job.resolve({ ok: false, code: 'MESSAGE_PARSE_FAILED', error: 'The parser was shut down before it read the message.' });
    await Promise.all(workers.map((w) => w.terminate()));
  }
}
