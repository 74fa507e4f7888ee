/**
 * The import's parser worker: a worker thread that parses messages for the
 * parser pool in `message-parser.ts`.
 *
 * It is its own build entry (scripts/build.mjs: dist/cli/parser-worker.cjs
 * for the CLI and console, dist/app/parser-worker.cjs for the desktop app)
 * with mailparser, mailsplit, libmime, libqp and libbase64 bundled in, so it
 * loads nothing from node_modules at run time: it starts from wherever its
 * file is, including the packaged app's unpacked files beside app.asar.
 * What it hands back is made by the same `toParsedMessage` as the in-thread
 * path.
 *
 * Two ways to parse: mailparser's full streaming parse, and a fast path for
 * well-formed mail built from mailparser's own parts (see `fastParse`).
 * `test/unit/inbox-parser-ways.test.ts` holds the two to the same result.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { AddressObject, Headers as MailHeaders, MailParser as MailParserClass } from 'mailparser';
// mailparser's public parseAddressHeader, from its own module: the package's index also loads the
// full parser (linkify-it compiles a pattern of every top-level domain, html-to-text), about 35 ms
// of every worker start, which mail of the plain shape never needs (scripts/build.mjs resolves
// this name; mailparser-address-header.d.ts types it as mailparser's export).
import { parseAddressHeader } from 'mailparser/address-header';
import { MimeNode, Splitter } from '@zone-eu/mailsplit';
import type { MessageChunk, MimeNode as MimeNodeShape, SplitterChunk } from '@zone-eu/mailsplit/lib/types';
import libmime from 'libmime';
import { decode as decodeCharset } from 'libmime/lib/charset';
import { base64DecodedSize, decodeTransferEncoding } from './transfer-encoding.js';
import { plainAddressHeader } from './plain-address.js';
import { toParsedMessage, type AttachmentFields, type HeaderLineFields, type MailFields } from './parsed-message.js';
import { NOT_QUICK, type ParserJobResult, type ParserJobsMessage, type ParserWorkerData, type ParserWorkerMessage } from './parser-worker-protocol.js';

const setup = workerData as ParserWorkerData;
const OPTIONS = setup.options;
const port = parentPort!;

/** Parses one worker runs at once: mailparser is asynchronous (streams), a few fill each other's gaps; many only fill the heap. */
const WORKER_PARALLEL = 4;
/** Results sent back together at most (a message between threads has a fixed cost). */
const RESULTS_PER_MESSAGE = 16;

/** What a parse builds: the fields the conversion reads, plus the parsed headers. */
interface WorkerMail extends MailFields {
  headers?: ReadonlyMap<string, unknown>;
  attachments: AttachmentFields[];
}

/** Copies the five kept headers from the parsed header map onto the mail, as simpleParser does. */
function takeKeptHeaders(mail: WorkerMail, headers: ReadonlyMap<string, unknown>): void {
  if (headers.has('subject')) mail.subject = headers.get('subject');
  if (headers.has('to')) mail.to = headers.get('to') as AddressObject | AddressObject[];
  if (headers.has('from')) mail.from = headers.get('from') as AddressObject | AddressObject[];
  if (headers.has('cc')) mail.cc = headers.get('cc') as AddressObject | AddressObject[];
  if (headers.has('message-id')) mail.messageId = headers.get('message-id');
}

/** mailparser's full parser, loaded on its first use (see the import of parseAddressHeader). */
let MailParser: typeof MailParserClass | undefined;

/**
 * mailparser's streaming parser, as simpleParser drives it, except that
 * attachments are counted as they stream by instead of gathered into
 * buffers (the import lists them, it keeps no content).
 */
async function streamParse(raw: Buffer): Promise<WorkerMail> {
  MailParser ??= (await import('mailparser')).MailParser;
  const FullParser = MailParser;
  return new Promise((resolve, reject) => {
    let settled = false;
    const settle = (error: Error | null, mail?: WorkerMail) => {
      if (settled) return;
      settled = true;
      if (error) reject(error);
      else resolve(mail!);
    };
    const parser = new FullParser(OPTIONS);
    const mail: WorkerMail = { attachments: [] };
    let headers: MailHeaders | undefined;
    parser.on('error', (error: Error) => settle(error));
    parser.on('headers', (parsed) => {
      headers = parsed;
      mail.headerLines = parser.headerLines || [];
    });
    let reading = false;
    const reader = (): void => {
      reading = true;
      for (;;) {
        const data = parser.read();
        if (data === null) {
          reading = false;
          return;
        }
        if (data.type === 'text') {
          if (typeof data.text === 'string') mail.text = data.text;
          if (typeof data.html === 'string') mail.html = data.html;
          continue;
        }
        if (data.type === 'attachment') {
          const attachment: AttachmentFields = { filename: data.filename, contentType: data.contentType, contentDisposition: data.contentDisposition, size: 0 };
          mail.attachments.push(attachment);
          data.content.on('data', (chunk: Buffer) => {
            attachment.size! += chunk.length;
          });
          data.content.on('end', () => {
            data.release?.();
            reader();
          });
          return;
        }
      }
    };
    parser.on('readable', () => {
      if (!reading) reader();
    });
    parser.on('end', () => {
      if (headers) takeKeptHeaders(mail, headers);
      settle(null, mail);
    });
    parser.end(raw);
  });
}

/*
 * The fast path: mailparser's splitter (mailsplit: the same boundaries, limits and header
 * parsing) driven directly, mailparser's header decoding for the five headers the import keeps,
 * and the body of each part decoded in one go with mailparser's own libraries, instead of through
 * a chain of streams with an event-loop turn per chunk (a third of the time). It classifies parts
 * as mailparser does (createNode) and joins the text as getTextContent does. What it does not
 * handle the same way (an embedded message, a delivery report, a charset outside the plain list,
 * a splitter error) goes to the full parse, which then decides; the tests hold the two to the
 * same result, message by message, over a corpus of malformed mail.
 */
const TEXT_TYPES = ['text/plain', 'text/html', 'message/delivery-status'];
const PLAIN_CHARSETS = /^(us-?ascii|ascii|utf-?8|iso-?8859-([1-9]|1[0-5])|windows-125[0-8]|cp125[0-8]|latin-?1)$/i;
/** The fast path cannot say: mailparser's full parse decides. */
const FULL_PARSE = Symbol('full parse');
/** A `quick`-way parse found the message not quick-splittable (tests only). */
const NOT_QUICK_RESULT = Symbol('not quick');

/** mailsplit's Splitter over the whole message at once: its own transform, without the stream around it (it only ever pushes). */
function split(raw: Buffer): Promise<SplitterChunk[] | typeof FULL_PARSE> {
  return new Promise((resolve) => {
    const splitter = new Splitter(OPTIONS);
    const items: SplitterChunk[] = [];
    splitter.push = (item: SplitterChunk | null) => {
      if (item !== null) items.push(item);
      return true;
    };
    splitter._transform(raw, 'buffer' as BufferEncoding, (error) => {
      if (error) return resolve(FULL_PARSE);
      splitter._flush((flushError) => resolve(flushError ? FULL_PARSE : items));
    });
  });
}

/*
 * The quick split: for mail of the plain, well-formed shape nearly all mail has, the parts are
 * found by searching for the delimiter lines (Buffer.indexOf) instead of reading every line, and
 * each part's header block goes to mailsplit's own MimeNode, so the parts come out as the splitter
 * makes them. Any doubt (a header block without its blank line, a delimiter of an outer part
 * inside an inner one, a multipart without its closing delimiter, boundaries that are prefixes
 * of each other, a delimiter line after the close, huge headers, bare carriage returns around a
 * delimiter) hands the message to the splitter itself.
 */
/** Thrown inside the quick split when the message is not of the quick shape. */
const QUICK = Symbol('not quick');
const QUICK_MAX_HEADER = 256 * 1024;
const QUICK_MAX_NODES = 200;
const LF = 0x0a;
const CR = 0x0d;
const DASH = 0x2d;

/** The end of the header block that starts at start: just past its blank line. */
function headerBlockEnd(raw: Buffer, start: number, end: number): number {
  let line = start;
  while (line < end) {
    if (raw[line] === LF) return line + 1;
    if (raw[line] === CR && line + 1 < end && raw[line + 1] === LF) return line + 2;
    // A delimiter-looking line in a header block: let the splitter decide.
    if (raw[line] === DASH && line + 1 < end && raw[line + 1] === DASH) throw QUICK;
    const lf = raw.indexOf(LF, line);
    if (lf < 0 || lf >= end) throw QUICK;
    line = lf + 1;
    if (line - start > QUICK_MAX_HEADER) throw QUICK;
  }
  throw QUICK;
}

/**
 * The delimiter line of boundary b at p, as mailsplit's compareBoundary
 * reads it: null when it is none, else its kind (1 next part, 2 close) and
 * where the next line starts.
 */
function delimiterAt(raw: Buffer, p: number, end: number, b: Buffer): { kind: 1 | 2; next: number } | null {
  if (end - p < b.length + 2) return null;
  for (let k = 0; k < b.length; k++) if (raw[p + 2 + k] !== b[k]) return null;
  let i = p + 2 + b.length;
  let kind: 1 | 2 = 1;
  if (raw[i] === DASH) {
    if (raw[i + 1] !== DASH) return null;
    kind = 2;
    i += 2;
  }
  while (i < end && (raw[i] === 0x20 || raw[i] === 0x09)) i++;
  if (i === end) return kind === 2 ? { kind, next: i } : null;
  if (raw[i] === CR) {
    if (raw[i + 1] !== LF) throw QUICK;
    i++;
  }
  return raw[i] === LF ? { kind, next: i + 1 } : null;
}

/** Start of the line ending in front of a delimiter line at p (it belongs to the delimiter). */
function trimLineEnd(raw: Buffer, from: number, p: number): number {
  let e = p;
  if (e > from && raw[e - 1] === LF) e--;
  if (e > from && raw[e - 1] === CR) e--;
  return e;
}

function quickSplit(raw: Buffer): SplitterChunk[] {
  // A line that starts with a bare carriage return before "--" may be a delimiter to the splitter.
  if (raw.indexOf('\n\r-') >= 0) throw QUICK;
  const items: SplitterChunk[] = [];
  // The next line within [from, end) that starts with "--", or -1.
  const nextDashLine = (from: number, end: number): number => {
    const at = raw.indexOf('\n--', from);
    return at < 0 || at + 1 >= end ? -1 : at + 1;
  };
  const node = (parent: MimeNode | false, start: number, end: number, outerBoundaries: Buffer[]): void => {
    if (items.length >= QUICK_MAX_NODES) throw QUICK;
    const bodyStart = headerBlockEnd(raw, start, end);
    const mime = new MimeNode(parent, OPTIONS);
    mime.addHeaderChunk(raw.subarray(start, bodyStart));
    mime.parseHeaders();
    items.push(mime);
    if (!mime.multipart) {
      // In a part, the line ending in front of the next delimiter belongs to the delimiter;
      // a body that is nothing but that line ending keeps it (as the splitter does).
      let bodyEnd = end;
      if (parent) {
        const only = end - bodyStart;
        const lineEndOnly = (only === 1 && raw[bodyStart] === LF) || (only === 2 && raw[bodyStart] === CR && raw[bodyStart + 1] === LF);
        if (!lineEndOnly) bodyEnd = trimLineEnd(raw, bodyStart, end);
      }
      if (bodyEnd > bodyStart) items.push({ node: mime, type: 'body', value: raw.subarray(bodyStart, bodyEnd) } satisfies MessageChunk);
      return;
    }
    const own = mime._boundary;
    if (!own) return;
    for (const outer of outerBoundaries) {
      const [short, long] = outer.length < own.length ? [outer, own] : [own, outer];
      if (long.subarray(0, short.length).equals(short)) throw QUICK;
    }
    const parts: [number, number][] = [];
    let partStart = -1;
    let closed = false;
    let p = raw[bodyStart] === DASH && raw[bodyStart + 1] === DASH ? bodyStart : nextDashLine(bodyStart, end);
    while (p >= 0) {
      const delimiter = delimiterAt(raw, p, end, own);
      if (delimiter) {
        // A delimiter after the close is epilogue to the splitter: not here.
        if (closed) throw QUICK;
        if (partStart >= 0) parts.push([partStart, p]);
        if (delimiter.kind === 2) closed = true;
        else partStart = delimiter.next;
        p = delimiter.next < end && raw[delimiter.next] === DASH && raw[delimiter.next + 1] === DASH ? delimiter.next : nextDashLine(delimiter.next, end);
        continue;
      }
      // An outer delimiter inside this multipart ends it early: the splitter's case.
      for (const outer of outerBoundaries) if (delimiterAt(raw, p, end, outer)) throw QUICK;
      p = nextDashLine(p, end);
    }
    if (!closed) throw QUICK;
    for (const [partFrom, partTo] of parts) node(mime, partFrom, partTo, [own, ...outerBoundaries]);
  };
  node(false, 0, raw.length, []);
  return items;
}

/** The fast path's result, or FULL_PARSE when mailparser's full parse must decide (each way runs alone in the tests: setup.way). */
async function fastParse(raw: Buffer): Promise<WorkerMail | typeof FULL_PARSE | typeof NOT_QUICK_RESULT> {
  if (setup.way === 'full') return FULL_PARSE;
  let items: SplitterChunk[] | typeof FULL_PARSE | undefined;
  if (setup.way !== 'split') {
    try {
      items = quickSplit(raw);
    } catch (error) {
      if (error !== QUICK) return FULL_PARSE;
      if (setup.way === 'quick') return NOT_QUICK_RESULT;
    }
  }
  items ??= await split(raw);
  if (items === FULL_PARSE) return FULL_PARSE;
  try {
    return walkParts(items);
  } catch {
    return FULL_PARSE;
  }
}

/** mailparser's processHeaders for From, To, Cc, Subject and Message-ID (the rest is not kept). */
const KEPT_HEADERS = new Set(['from', 'to', 'cc', 'subject', 'message-id']);
const SINGLE_HEADERS = new Set(['from', 'subject', 'message-id']);

/**
 * Address headers already parsed, by their text. A help desk's mail is
 * mostly addressed to the same few addresses, and parseAddressHeader costs
 * half as much again as parsing the addresses (it sets up the html and text
 * forms of every result, which the import never reads): on 5,000 messages
 * like the import bench's, the worker spent 15% more time than with
 * mailparser's internal helpers, 7% with this. The results are only read.
 */
const parsedAddressHeaders = new Map<string, AddressObject>();
const REMEMBERED_ADDRESS_HEADERS = 256;
/** Longer header texts are parsed every time (a long list is rarely repeated, and the memory is bounded). */
const REMEMBERED_ADDRESS_HEADER_CHARS = 512;

function addressHeader(text: string): AddressObject {
  if (text.length > REMEMBERED_ADDRESS_HEADER_CHARS) return parseAddressHeader(text);
  let parsed = parsedAddressHeaders.get(text);
  if (!parsed) {
    // One plain address (most of them): read without mailparser, and not worth remembering.
    const plain = plainAddressHeader(text);
    if (plain) return plain;
    if (parsedAddressHeaders.size >= REMEMBERED_ADDRESS_HEADERS) parsedAddressHeaders.clear();
    parsed = parseAddressHeader(text);
    parsedAddressHeaders.set(text, parsed);
  }
  return parsed;
}

function readHeaders(lines: readonly HeaderLineFields[]): Map<string, unknown> {
  const collected = new Map<string, unknown[]>();
  for (const line of lines) {
    const key = line.key;
    if (!KEPT_HEADERS.has(key)) continue;
    let text = String(libmime.decodeHeader(line.line)?.value || '').trim();
    text = Buffer.from(text, 'binary').toString();
    let value: string | false | AddressObject;
    if (key === 'subject' || key === 'message-id') {
      try {
        text = libmime.decodeWords(text);
      } catch {
        // kept as it is
      }
      value = key === 'subject' ? text : text.length ? (text[0] === '<' ? '' : '<') + text + (text[text.length - 1] === '>' ? '' : '>') : false;
    } else {
      value = addressHeader(text);
    }
    if (!value) continue;
    const list = collected.get(key);
    if (list) list.push(value);
    else collected.set(key, [value]);
  }
  const headers = new Map<string, unknown>();
  for (const [key, list] of collected) headers.set(key, SINGLE_HEADERS.has(key) || list.length === 1 ? list[0] : list);
  return headers;
}

function decodeTransfer(node: MimeNodeShape, chunks: Buffer[]): Buffer {
  return decodeTransferEncoding(node.encoding, chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks));
}

/** A leaf part as mailparser's createNode classifies it, with its body chunks. */
interface Leaf {
  item: MimeNodeShape;
  contentType: string | false;
  isAttachment: boolean;
  chunks: Buffer[];
}

const isMessageType = (node: MimeNodeShape | false): boolean => !!node && /^message\//i.test(node.contentType || '');

function walkParts(items: readonly SplitterChunk[]): WorkerMail | typeof FULL_PARSE {
  const mail: WorkerMail = { attachments: [] };
  const leaves: Leaf[] = [];
  let current: Leaf | null = null;
  for (const item of items) {
    if (item.type === 'node') {
      if (isMessageType(item) || isMessageType(item.parentNode)) return FULL_PARSE;
      let contentType = item.contentType;
      if (!contentType && item.root) contentType = 'text/plain';
      if (item.root) {
        if (!item.headers) return FULL_PARSE;
        mail.headerLines = item.headers.lines || [];
        mail.headers = readHeaders(item.headers.getList());
      }
      current = null;
      if (!/^multipart\//i.test(contentType || '')) {
        let disposition = item.disposition;
        if (disposition && disposition !== 'attachment' && disposition !== 'inline') disposition = 'attachment';
        const textType = TEXT_TYPES.includes(contentType || '');
        disposition = !disposition && !textType ? 'attachment' : disposition || 'inline';
        current = { item, contentType, isAttachment: !textType || disposition !== 'inline', chunks: [] };
        leaves.push(current);
      }
    } else if (item.type === 'body') {
      if (current) current.chunks.push(item.value);
    } else if (item.type === 'data') {
      current = null;
    }
  }
  if (!mail.headers) return FULL_PARSE;
  const text: string[] = [];
  const html: string[] = [];
  // As mailparser's getTextContent: an HTML part outside an alternative, next to plain text, or an
  // HTML-only message, adds an empty text (its HTML-to-text conversion is off).
  const hasText = leaves.some((leaf) => !leaf.isAttachment && leaf.contentType !== 'text/html');
  const inAlternative = (item: MimeNodeShape): boolean => {
    for (let parent = item.parentNode; parent; parent = parent.parentNode) if (parent.contentType === 'multipart/alternative') return true;
    return false;
  };
  for (const leaf of leaves) {
    const item = leaf.item;
    if (leaf.isAttachment) {
      let contentType = leaf.contentType || undefined;
      if (contentType === 'application/octet-stream' && item.filename) contentType = libmime.detectMimeType(item.filename) || 'application/octet-stream';
      // Only its size is kept: a base64 body of the plain shape is counted, not decoded.
      const size = (item.encoding === 'base64' ? base64DecodedSize(leaf.chunks) : null) ?? decodeTransfer(item, leaf.chunks).length;
      mail.attachments.push({ filename: item.filename, contentType, contentDisposition: item.disposition || undefined, size });
      continue;
    }
    let content = decodeTransfer(item, leaf.chunks);
    if (item.flowed) content = Buffer.from(libmime.decodeFlowed(content.toString('binary'), item.delSp), 'binary');
    const charset = item.charset || 'utf-8';
    let value: string;
    if (['ascii', 'usascii', 'utf8'].includes(charset.toLowerCase().replace(/[^a-z0-9]+/g, ''))) value = content.toString();
    else if (PLAIN_CHARSETS.test(charset)) value = decodeCharset(content, charset);
    else return FULL_PARSE;
    value = value.replace(/\r?\n/g, '\n');
    if (!value) continue;
    if (leaf.contentType === 'text/html') {
      if ((!inAlternative(item) && hasText) || (item.root && !hasText)) text.push('');
      html.push(value);
    } else text.push(value);
  }
  if (html.length) mail.html = html.join('<br/>\n');
  if (text.length) mail.text = text.join('\n');
  takeKeptHeaders(mail, mail.headers);
  return mail;
}

/** The bytes that make a test message block this worker for good (tests only: ParserWorkerData.blockOn). */
const blockOn = setup.blockOn ? Buffer.from(setup.blockOn, 'latin1') : null;

async function parseMessage(raw: Buffer): Promise<WorkerMail | typeof NOT_QUICK_RESULT> {
  if (blockOn && raw.includes(blockOn)) {
    // Stuck for good, as a parser in an endless loop would be, without spending a core on it:
    // only the pool's watchdog (worker.terminate) ends this.
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0);
  }
  const result = await fastParse(raw);
  if (result === FULL_PARSE) return setup.way === 'quick' ? NOT_QUICK_RESULT : streamParse(raw);
  return result;
}

// Jobs come in groups and results go back in groups: a message between threads has a fixed
// cost that would otherwise be paid twice per email.
let results: ParserJobResult[] = [];
let flushQueued = false;
let pending = 0;

function send(message: ParserWorkerMessage): void {
  port.postMessage(message);
}

function flush(): void {
  flushQueued = false;
  if (!results.length) return;
  const out = results;
  results = [];
  send({ results: out });
}

function done(result: ParserJobResult): void {
  results.push(result);
  pending--;
  if (results.length >= RESULTS_PER_MESSAGE || pending === 0) flush();
  else if (!flushQueued) {
    flushQueued = true;
    setImmediate(flush);
  }
}

const errorText = (error: unknown): string => String((error as Error | undefined)?.message || error);

// Jobs wait here and run WORKER_PARALLEL at a time, in the order they came.
const waiting: { id: number; raw: Uint8Array }[] = [];
let running = 0;

function next(): void {
  while (running < WORKER_PARALLEL && waiting.length) {
    const job = waiting.shift()!;
    running++;
    const raw = Buffer.from(job.raw.buffer, job.raw.byteOffset, job.raw.byteLength);
    const finish = (result: ParserJobResult) => {
      running--;
      done(result);
      next();
    };
    let parse: Promise<WorkerMail | typeof NOT_QUICK_RESULT>;
    try {
      parse = parseMessage(raw);
    } catch (error) {
      parse = Promise.reject(error);
    }
    parse.then(
      (parsed) => finish(parsed === NOT_QUICK_RESULT ? { id: job.id, ok: false, error: NOT_QUICK } : { id: job.id, ok: true, parsed: toParsedMessage(parsed) }),
      (error: unknown) => finish({ id: job.id, ok: false, error: errorText(error) }),
    );
  }
}

port.on('message', (message: ParserJobsMessage) => {
  for (const job of message.jobs) {
    pending++;
    waiting.push(job);
  }
  next();
});

// Loaded: from now on a death is a message's doing, not the worker's set-up.
send({ ready: true });
