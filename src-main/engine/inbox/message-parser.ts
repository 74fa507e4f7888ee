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
 * The worker's code is a plain JavaScript string (no build step, works from
 * the CLI bundle, the Electron bundle and the tests alike); it hands back the
 * same plain shape as `toParsedMessage` below, which the in-thread path and
 * the tests use. When a worker cannot be started, parsing runs in-thread.
 */
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import type { ParsedMail, SimpleParserOptions, AddressObject } from 'mailparser';
import type { AttachmentInfo } from '../../shared/inbox.js';
import type { ParseOutcome, ParsedAddress, ParsedMessage } from './message-summary.js';

/** Options of the import's parse: no HTML conversions (nothing is rendered; the detail view parses again). */
export const IMPORT_PARSE_OPTIONS: SimpleParserOptions = {
  skipHtmlToText: true,
  skipTextToHtml: true,
  skipTextLinks: true,
  skipImageLinks: true,
  keepCidLinks: true,
  checksumAlgo: false,
};

/**
 * Body text kept from the import's parse: enough for the list's snippet
 * (the detail view parses the stored raw message again, in full).
 */
const KEPT_TEXT_CHARS = 1000;
const KEPT_HTML_CHARS = 32_768;

/** How long one message may take to parse before it is given up as failed. */
export const DEFAULT_PARSE_TIMEOUT_MS = 60_000;
/** Heap limit of the parser worker: a message that needs more is stored raw as failed. */
const WORKER_HEAP_MB = 1024;
/**
 * Most messages handed to one worker at once (the rest wait in the queue).
 * Enough to keep it busy between two hand-overs; many at once only fill its
 * heap (measured: 1,000 at once parse at half the speed of 8 at a time).
 */
const MAX_IN_FLIGHT = 16;

function addressList(value: AddressObject | AddressObject[] | undefined): ParsedAddress[] | null {
  if (!value) return null;
  const list = (Array.isArray(value) ? value : [value]).flatMap((o) => o?.value ?? []);
  return list.map(function clean(a): ParsedAddress {
    const out: ParsedAddress = { name: a.name ?? '' };
    if (a.address) out.address = a.address;
    if (a.group) out.group = a.group.map(clean);
    return out;
  });
}

/** The Date header's value in ms UTC, or null (mailparser puts "now" in place of an unreadable date). */
export function dateFromHeaderLines(lines: readonly { key: string; line: string }[]): number | null {
  const line = lines.find((h) => h.key === 'date')?.line;
  if (!line) return null;
  const value = line.slice(line.indexOf(':') + 1).trim();
  const ms = new Date(value).getTime();
  return Number.isFinite(ms) ? ms : null;
}

/** The plain shape the import keeps of mailparser's result. Mirrors the worker's `toParsed`. */
export function toParsedMessage(parsed: ParsedMail): ParsedMessage {
  const headerLines = parsed.headerLines ?? [];
  const text = typeof parsed.text === 'string' ? parsed.text : '';
  let index = 0;
  const attachments: AttachmentInfo[] = (parsed.attachments ?? []).map((a) => ({
    filename: a.filename || `attachment-${++index}`,
    contentType: a.contentType || 'application/octet-stream',
    size: typeof a.size === 'number' ? a.size : a.content?.length ?? 0,
    disposition: a.contentDisposition ?? null,
  }));
  return {
    // mailparser reports a line without a colon as a header with an empty key: not a header field.
    headerCount: headerLines.filter((h) => h.key).length,
    hasDateHeader: headerLines.some((h) => h.key === 'date'),
    from: addressList(parsed.from),
    to: addressList(parsed.to),
    cc: addressList(parsed.cc),
    subject: typeof parsed.subject === 'string' ? parsed.subject : null,
    date: dateFromHeaderLines(headerLines),
    messageId: typeof parsed.messageId === 'string' ? parsed.messageId : null,
    text: text ? text.slice(0, KEPT_TEXT_CHARS) : null,
    html: !text.trim() && typeof parsed.html === 'string' ? parsed.html.slice(0, KEPT_HTML_CHARS) : null,
    attachments,
  };
}

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

/** The worker: the same conversion as toParsedMessage, in plain JavaScript. */
const WORKER_SOURCE = String.raw`
const { parentPort, workerData } = require('node:worker_threads');
const { simpleParser } = require(workerData.mailparserPath);
const OPTIONS = workerData.options;
function addressList(value) {
  if (!value) return null;
  const list = (Array.isArray(value) ? value : [value]).flatMap((o) => (o && o.value) || []);
  const clean = (a) => {
    const out = { name: a.name || '' };
    if (a.address) out.address = a.address;
    if (a.group) out.group = a.group.map(clean);
    return out;
  };
  return list.map(clean);
}
function dateOf(lines) {
  const found = lines.find((h) => h.key === 'date');
  if (!found) return null;
  const ms = new Date(found.line.slice(found.line.indexOf(':') + 1).trim()).getTime();
  return Number.isFinite(ms) ? ms : null;
}
function toParsed(parsed) {
  const headerLines = parsed.headerLines || [];
  const text = typeof parsed.text === 'string' ? parsed.text : '';
  let index = 0;
  const attachments = (parsed.attachments || []).map((a) => ({
    filename: a.filename || 'attachment-' + ++index,
    contentType: a.contentType || 'application/octet-stream',
    size: typeof a.size === 'number' ? a.size : (a.content ? a.content.length : 0),
    disposition: a.contentDisposition == null ? null : a.contentDisposition,
  }));
  return {
    headerCount: headerLines.filter((h) => h.key).length,
    hasDateHeader: headerLines.some((h) => h.key === 'date'),
    from: addressList(parsed.from),
    to: addressList(parsed.to),
    cc: addressList(parsed.cc),
    subject: typeof parsed.subject === 'string' ? parsed.subject : null,
    date: dateOf(headerLines),
    messageId: typeof parsed.messageId === 'string' ? parsed.messageId : null,
    text: text ? text.slice(0, ${KEPT_TEXT_CHARS}) : null,
    html: !text.trim() && typeof parsed.html === 'string' ? parsed.html.slice(0, ${KEPT_HTML_CHARS}) : null,
    attachments,
  };
}
// Jobs come in groups and results go back in groups: a message between threads has a fixed
// cost that would otherwise be paid twice per email.
let results = [];
let flushQueued = false;
let pending = 0;
function flush() {
  flushQueued = false;
  if (!results.length) return;
  const out = results;
  results = [];
  parentPort.postMessage({ results: out });
}
function done(result) {
  results.push(result);
  pending--;
  if (results.length >= 16 || pending === 0) flush();
  else if (!flushQueued) {
    flushQueued = true;
    setImmediate(flush);
  }
}
parentPort.on('message', (message) => {
  for (const job of message.jobs) {
    pending++;
    const raw = Buffer.from(job.raw.buffer, job.raw.byteOffset, job.raw.byteLength);
    simpleParser(raw, OPTIONS).then(
      (parsed) => done({ id: job.id, ok: true, parsed: toParsed(parsed) }),
      (error) => done({ id: job.id, ok: false, error: String((error && error.message) || error) }),
    );
  }
});
`;

/**
 * The absolute path of mailparser, for the worker (an eval'd worker would
 * resolve modules from the working folder). Resolved from this bundle's file
 * (CommonJS: the desktop app; the tests) or from the launcher that started
 * the process (ESM: bin/mailroom.mjs, inside the package). When it cannot be
 * found, the parser works in-thread instead.
 */
function resolveMailparser(): string {
  const base = typeof __filename === 'string' ? __filename : path.resolve(process.argv[1] ?? 'mailroom');
  return createRequire(base).resolve('mailparser');
}

/** Something that parses messages; never rejects. */
export interface MessageParser {
  parse(raw: Buffer): Promise<ParseOutcome>;
  /** Gets ready (starts the workers) while the caller is still connecting. */
  warm?(): void;
  close(): Promise<void>;
}

/** Parses in-thread only (fallback and tests). */
export class InThreadParser implements MessageParser {
  constructor(private readonly timeoutMs = DEFAULT_PARSE_TIMEOUT_MS) {}
  parse(raw: Buffer): Promise<ParseOutcome> {
    return parseInThread(raw, this.timeoutMs);
  }
  async close(): Promise<void> {}
}

/** One worker and the jobs it is working on. */
class ParserSlot {
  worker: Worker | undefined;
  readonly inFlight = new Map<number, Job>();
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
  timer?: NodeJS.Timeout;
  slot?: ParserSlot;
}

/**
 * How many parser workers to run: one core is left to the main thread (it
 * reads IMAP and writes the store), up to two workers.
 */
export function defaultWorkerCount(): number {
  return Math.max(1, Math.min(2, os.availableParallelism() - 1));
}

/**
 * Parser workers shared by every importer of the process, with a queue.
 * A job that times out, or is in flight when its worker dies (out of
 * memory), ends that worker; its companions are retried one at a time on a
 * fresh one, and only the message that fails alone is given up.
 */
export class WorkerParser implements MessageParser {
  private readonly slots: ParserSlot[];
  private broken = false;
  private nextId = 1;
  private readonly queue: Job[] = [];
  /** Jobs that were in flight when their worker died: retried one at a time. */
  private readonly soloQueue: Job[] = [];
  private readonly fallback: InThreadParser;
  private closed = false;

  constructor(private readonly timeoutMs = DEFAULT_PARSE_TIMEOUT_MS, workers = defaultWorkerCount()) {
    this.fallback = new InThreadParser(timeoutMs);
    this.slots = Array.from({ length: Math.max(1, workers) }, () => new ParserSlot());
  }

  parse(raw: Buffer): Promise<ParseOutcome> {
    if (this.closed || this.broken) return this.fallback.parse(raw);
    return new Promise((resolve) => {
      this.queue.push({ id: this.nextId++, raw, resolve, solo: false });
      this.schedulePump();
    });
  }

  /** Starts the workers now (they take a moment to load mailparser), unreferenced until there is work. */
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
    try {
      const worker = new Worker(WORKER_SOURCE, {
        eval: true,
        workerData: { mailparserPath: resolveMailparser(), options: IMPORT_PARSE_OPTIONS },
        // A roomier young generation: parsing makes many short-lived objects (fewer scavenges).
        resourceLimits: { maxOldGenerationSizeMb: WORKER_HEAP_MB, maxYoungGenerationSizeMb: 48 },
        stdout: true,
        stderr: true,
      });
      worker.on('message', (message: { results?: { id: number; ok: boolean; parsed?: ParsedMessage; error?: string }[] }) => this.onMessage(slot, message));
      worker.on('error', (error) => this.onDeath(slot, worker, error));
      worker.on('exit', () => this.onDeath(slot, worker, undefined));
      slot.worker = worker;
      return worker;
    } catch {
      // No worker here (a restricted runtime): parse in-thread from now on.
      this.broken = true;
      return undefined;
    }
  }

  private pump(): void {
    if (this.closed) return;
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
        if (!slot || candidate.inFlight.size < slot.inFlight.size) slot = candidate;
      }
      if (!slot) return;
      // Share the queue between the workers that have room.
      const room = MAX_IN_FLIGHT - slot.inFlight.size;
      const share = Math.max(1, Math.ceil(this.queue.length / this.slots.length));
      this.dispatch(slot, this.queue.splice(0, Math.min(room, share)));
    }
  }

  private dispatch(slot: ParserSlot, jobs: Job[]): void {
    const worker = this.start(slot);
    if (!worker) {
      for (const job of jobs) void this.fallback.parse(job.raw).then(job.resolve);
      return;
    }
    const payload: { id: number; raw: Uint8Array }[] = [];
    const transfer: ArrayBuffer[] = [];
    for (const job of jobs) {
      job.slot = slot;
      slot.inFlight.set(job.id, job);
      job.timer = setTimeout(() => this.onTimeout(slot, job), this.timeoutMs);
      // A copy of its own for the worker (moved, not copied again): the importer keeps the raw message to store it.
      const copy = new Uint8Array(job.raw);
      payload.push({ id: job.id, raw: copy });
      transfer.push(copy.buffer);
    }
    worker.postMessage({ jobs: payload }, transfer);
    worker.ref();
  }

  private onMessage(slot: ParserSlot, message: { results?: { id: number; ok: boolean; parsed?: ParsedMessage; error?: string }[] }): void {
    for (const result of message.results ?? []) {
      const job = slot.inFlight.get(result.id);
      if (!job) continue;
      this.finish(
        slot,
        job,
        result.ok && result.parsed
          ? { ok: true, parsed: result.parsed }
          : { ok: false, code: 'MESSAGE_PARSE_FAILED', error: `mailparser could not read the message: ${result.error ?? 'unknown error'}` },
      );
    }
    this.pump();
  }

  private finish(slot: ParserSlot, job: Job, outcome: ParseOutcome): void {
    clearTimeout(job.timer);
    slot.inFlight.delete(job.id);
    job.resolve(outcome);
    if (slot.inFlight.size === 0 && this.queue.length === 0 && this.soloQueue.length === 0) slot.worker?.unref();
  }

  private onTimeout(slot: ParserSlot, job: Job): void {
    if (!slot.inFlight.has(job.id)) return;
    if (job.solo || slot.inFlight.size === 1) {
      this.finish(slot, job, { ok: false, code: 'MESSAGE_PARSE_TIMEOUT', error: `Parsing took longer than ${Math.round(this.timeoutMs / 1000)} s; the message was kept unread.` });
    }
    // The worker may be stuck in a loop: end it; whatever else was in flight is retried alone.
    if (slot.worker) void slot.worker.terminate();
  }

  private onDeath(slot: ParserSlot, worker: Worker, error: Error | undefined): void {
    if (slot.worker !== worker) return;
    slot.worker = undefined;
    const victims = [...slot.inFlight.values()];
    for (const job of victims) {
      clearTimeout(job.timer);
      slot.inFlight.delete(job.id);
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
      for (const job of slot.inFlight.values()) {
        clearTimeout(job.timer);
        job.resolve({ ok: false, code: 'MESSAGE_PARSE_FAILED', error: 'The parser was shut down before it read the message.' });
      }
      slot.inFlight.clear();
    }
    for (const job of [...this.queue.splice(0), ...this.soloQueue.splice(0)]) job.resolve({ ok: false, code: 'MESSAGE_PARSE_FAILED', error: 'The parser was shut down before it read the message.' });
    await Promise.all(workers.map((w) => w.terminate()));
  }
}
