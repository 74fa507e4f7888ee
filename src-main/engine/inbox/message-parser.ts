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
import os from 'node:os';
import { Worker } from 'node:worker_threads';
import type { ParsedMail, SimpleParserOptions, AddressObject } from 'mailparser';
import type { AttachmentInfo } from '../../shared/inbox.js';
import type { ParseOutcome, ParsedAddress, ParsedMessage } from './message-summary.js';
import { nodeRequire } from '../node-require.js';

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
 * Most messages handed to one worker at once, and their most bytes (one
 * message larger than that goes alone). The worker keeps them in its own
 * queue and parses a few at a time (WORKER_PARALLEL), so a long hand-over
 * costs no heap; it must be long enough that the worker never runs dry
 * while the main thread is busy committing a batch (measured: with 16, the
 * worker sat idle during each commit and the import took a third longer).
 */
const MAX_IN_FLIGHT = 256;
const MAX_IN_FLIGHT_BYTES = 32 * 1024 * 1024;
/**
 * Parses one worker runs at once. mailparser is asynchronous (streams), so
 * a few at once fill the gaps of one another; many at once only fill the
 * heap (measured: 1,000 at once parse at half the speed of 8 at a time).
 */
const WORKER_PARALLEL = 4;

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
const { createRequire } = require('node:module');
const path = require('node:path');
const OPTIONS = workerData.options;
// The full parser loads on its first use: the fast path below needs only a few of its parts.
// It must be there, though: a worker without it stops here, before it says it is ready.
require.resolve(workerData.mailparserPath);
let fullParser;
const loadMailParser = () => (fullParser ??= require(workerData.mailparserPath).MailParser);
// mailparser's own building blocks, the very copies it loads. When one cannot be found (another
// mailparser layout), every message takes the full parse.
let fast = null;
try {
  const fromMailparser = createRequire(workerData.mailparserPath);
  const fromMailsplit = createRequire(fromMailparser.resolve('@zone-eu/mailsplit'));
  fast = {
    Splitter: fromMailparser('@zone-eu/mailsplit').Splitter,
    MimeNode: fromMailparser('@zone-eu/mailsplit').MimeNode,
    libmime: fromMailparser('libmime'),
    charsets: fromMailparser('libmime/lib/charset'),
    libqp: fromMailsplit('libqp'),
    libbase64: fromMailsplit('libbase64'),
    addressparser: fromMailparser('nodemailer/lib/addressparser'),
    decodeAddresses: require(path.join(path.dirname(workerData.mailparserPath), 'address-header.js')).decodeAddresses,
  };
  if (typeof fast.Splitter !== 'function' || typeof fast.MimeNode !== 'function' || typeof fast.decodeAddresses !== 'function' || typeof fast.libqp.decode !== 'function' || typeof fast.libbase64.decode !== 'function' || typeof fast.charsets.decode !== 'function') fast = null;
} catch {
  fast = null;
}
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
// mailparser's streaming parser, as simpleParser drives it, except that attachments are counted
// as they stream by instead of gathered into buffers (the import lists them, it keeps no content).
function streamParse(raw) {
  return new Promise((resolve, reject) => {
    let settled = false;
    const settle = (error, mail) => {
      if (settled) return;
      settled = true;
      if (error) reject(error);
      else resolve(mail);
    };
    const MailParser = loadMailParser();
    const parser = new MailParser(OPTIONS);
    const mail = { attachments: [] };
    parser.on('error', settle);
    parser.on('headers', (headers) => {
      mail.headers = headers;
      mail.headerLines = parser.headerLines;
    });
    let reading = false;
    const reader = () => {
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
          const attachment = { filename: data.filename, contentType: data.contentType, contentDisposition: data.contentDisposition, size: 0 };
          mail.attachments.push(attachment);
          data.content.on('data', (chunk) => {
            attachment.size += chunk.length;
          });
          data.content.on('end', () => {
            data.release();
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
      for (const key of ['subject', 'to', 'from', 'cc', 'message-id']) {
        if (mail.headers && mail.headers.has(key)) mail[key === 'message-id' ? 'messageId' : key] = mail.headers.get(key);
      }
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
const FULL_PARSE = Symbol('full parse');
function split(raw) {
  return new Promise((resolve) => {
    const splitter = new fast.Splitter(OPTIONS);
    const items = [];
    // The splitter's own transform, without the stream around it: it only ever pushes.
    splitter.push = (item) => {
      if (item !== null) items.push(item);
      return true;
    };
    splitter._transform(raw, 'buffer', (error) => {
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
const QUICK = Symbol('not quick');
const QUICK_MAX_HEADER = 256 * 1024;
const QUICK_MAX_NODES = 200;
const LF = 0x0a;
const CR = 0x0d;
const DASH = 0x2d;
// The end of the header block that starts at start: just past its blank line.
function headerBlockEnd(raw, start, end) {
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
// The delimiter line of boundary b at p, as mailsplit's compareBoundary reads it: null when it
// is none, else its kind (1 next part, 2 close) and where the next line starts.
function delimiterAt(raw, p, end, b) {
  if (end - p < b.length + 2) return null;
  for (let k = 0; k < b.length; k++) if (raw[p + 2 + k] !== b[k]) return null;
  let i = p + 2 + b.length;
  let kind = 1;
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
// Start of the line ending in front of a delimiter line at p (it belongs to the delimiter).
function trimLineEnd(raw, from, p) {
  let e = p;
  if (e > from && raw[e - 1] === LF) e--;
  if (e > from && raw[e - 1] === CR) e--;
  return e;
}
function quickSplit(raw) {
  // A line that starts with a bare carriage return before "--" may be a delimiter to the splitter.
  if (raw.indexOf('\n\r-') >= 0) throw QUICK;
  const { MimeNode } = fast;
  const items = [];
  // The next line within [from, end) that starts with "--", or -1.
  const nextDashLine = (from, end) => {
    const at = raw.indexOf('\n--', from);
    return at < 0 || at + 1 >= end ? -1 : at + 1;
  };
  const node = (parent, start, end, outerBoundaries) => {
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
      if (bodyEnd > bodyStart) items.push({ node: mime, type: 'body', value: raw.subarray(bodyStart, bodyEnd) });
      return;
    }
    const own = mime._boundary;
    if (!own) return;
    for (const outer of outerBoundaries) {
      const [short, long] = outer.length < own.length ? [outer, own] : [own, outer];
      if (long.subarray(0, short.length).equals(short)) throw QUICK;
    }
    const parts = [];
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
// The tests run each way on its own (workerData.way) to hold them to the same results.
async function fastParse(raw) {
  if (!fast || workerData.way === 'full') return FULL_PARSE;
  let items;
  if (workerData.way !== 'split') {
    try {
      items = quickSplit(raw);
    } catch (error) {
      if (error !== QUICK) return FULL_PARSE;
      if (workerData.way === 'quick') return { notQuick: true };
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
// mailparser's processHeaders for From, To, Cc, Subject and Message-ID (the rest is not kept).
const KEPT_HEADERS = new Set(['from', 'to', 'cc', 'subject', 'message-id']);
const SINGLE_HEADERS = new Set(['from', 'subject', 'message-id']);
function readHeaders(lines) {
  const { libmime, addressparser, decodeAddresses } = fast;
  const headers = new Map();
  for (const line of lines) {
    const key = line.key;
    if (!KEPT_HEADERS.has(key)) continue;
    let value = ((libmime.decodeHeader(line.line) || {}).value || '').toString().trim();
    value = Buffer.from(value, 'binary').toString();
    if (key === 'subject' || key === 'message-id') {
      try {
        value = libmime.decodeWords(value);
      } catch {
        // kept as it is
      }
      if (key === 'message-id') value = value.length ? (value[0] === '<' ? '' : '<') + value + (value[value.length - 1] === '>' ? '' : '>') : false;
    } else {
      const list = addressparser(value);
      decodeAddresses(list, libmime);
      value = { value: list };
    }
    if (!value) continue;
    if (headers.has(key)) headers.get(key).push(value);
    else headers.set(key, [value]);
  }
  for (const [key, list] of headers) if (SINGLE_HEADERS.has(key) || list.length === 1) headers.set(key, list[0]);
  return headers;
}
// libbase64's Decoder stream, on the whole body at once (it strips what is not base64, decodes
// up to the last padding as segments, then whole quartets, then the rest).
function decodeBase64(body) {
  const { decode } = fast.libbase64;
  let b64 = body.toString('latin1');
  if (/[^a-zA-Z0-9+/=]/.test(b64)) b64 = b64.replace(/[^a-zA-Z0-9+/=]/g, '');
  let padded = '';
  const lastPad = b64.lastIndexOf('=');
  if (lastPad >= 0) {
    padded = b64.slice(0, lastPad + 1);
    b64 = b64.slice(lastPad + 1);
  }
  let rest = '';
  if (b64.length < 4) {
    rest = b64;
    b64 = '';
  } else if (b64.length % 4) {
    rest = b64.slice(-(b64.length % 4));
    b64 = b64.slice(0, b64.length - rest.length);
  }
  b64 = padded + b64;
  if (!rest) return b64 ? decode(b64) : Buffer.alloc(0);
  return b64 ? Buffer.concat([decode(b64), decode(rest)]) : decode(rest);
}
function decodeTransfer(node, chunks) {
  const body = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks);
  if (node.encoding === 'base64') return decodeBase64(body);
  if (node.encoding === 'quoted-printable') return fast.libqp.decode(body.toString('latin1'));
  return body;
}
function walkParts(items) {
  const { libmime } = fast;
  const mail = { attachments: [] };
  const leaves = [];
  let current = null;
  for (const item of items) {
    if (item.type === 'node') {
      if (/^message\//i.test(item.contentType || '') || (item.parentNode && /^message\//i.test(item.parentNode.contentType || ''))) return FULL_PARSE;
      let contentType = item.contentType;
      if (!contentType && item.root) contentType = 'text/plain';
      if (item.root) {
        mail.headerLines = item.headers.lines;
        mail.headers = readHeaders(item.headers.getList());
      }
      current = null;
      if (!/^multipart\//i.test(contentType)) {
        let disposition = item.disposition;
        if (disposition && disposition !== 'attachment' && disposition !== 'inline') disposition = 'attachment';
        disposition = !disposition && !TEXT_TYPES.includes(contentType) ? 'attachment' : disposition || 'inline';
        current = { item, contentType, disposition, isAttachment: !TEXT_TYPES.includes(contentType) || disposition !== 'inline', chunks: [] };
        leaves.push(current);
      }
    } else if (item.type === 'body') {
      if (current) current.chunks.push(item.value);
    } else if (item.type === 'data') {
      current = null;
    }
  }
  if (!mail.headers) return FULL_PARSE;
  const text = [];
  const html = [];
  // As mailparser's getTextContent: an HTML part outside an alternative, next to plain text, or an
  // HTML-only message, adds an empty text (its HTML-to-text conversion is off).
  const hasText = leaves.some((leaf) => !leaf.isAttachment && leaf.contentType !== 'text/html');
  const inAlternative = (item) => {
    for (let parent = item.parentNode; parent; parent = parent.parentNode) if (parent.contentType === 'multipart/alternative') return true;
    return false;
  };
  for (const leaf of leaves) {
    const item = leaf.item;
    if (leaf.isAttachment) {
      let contentType = leaf.contentType;
      if (contentType === 'application/octet-stream' && item.filename) contentType = libmime.detectMimeType(item.filename) || 'application/octet-stream';
      mail.attachments.push({ filename: item.filename, contentType, contentDisposition: item.disposition || undefined, size: decodeTransfer(item, leaf.chunks).length });
      continue;
    }
    let content = decodeTransfer(item, leaf.chunks);
    if (item.flowed) content = Buffer.from(libmime.decodeFlowed(content.toString('binary'), item.delSp), 'binary');
    const charset = item.charset || 'utf-8';
    let value;
    if (['ascii', 'usascii', 'utf8'].includes(charset.toLowerCase().replace(/[^a-z0-9]+/g, ''))) value = content.toString();
    else if (PLAIN_CHARSETS.test(charset)) value = fast.charsets.decode(content, charset);
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
  for (const key of ['subject', 'to', 'from', 'cc', 'message-id']) {
    if (mail.headers.has(key)) mail[key === 'message-id' ? 'messageId' : key] = mail.headers.get(key);
  }
  return mail;
}
async function parseMessage(raw) {
  const result = await fastParse(raw);
  if (result === FULL_PARSE && workerData.way === 'quick') return { notQuick: true };
  return result === FULL_PARSE ? streamParse(raw) : result;
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
// Loaded: from now on a death is a message's doing, not the worker's set-up.
parentPort.postMessage({ ready: true });
// Jobs wait here and run ${WORKER_PARALLEL} at a time, in the order they came.
const waiting = [];
let running = 0;
function next() {
  while (running < ${WORKER_PARALLEL} && waiting.length) {
    const job = waiting.shift();
    running++;
    const raw = Buffer.from(job.raw.buffer, job.raw.byteOffset, job.raw.byteLength);
    const finish = (result) => {
      running--;
      done(result);
      next();
    };
    let parse;
    try {
      parse = parseMessage(raw);
    } catch (error) {
      parse = Promise.reject(error);
    }
    parse.then(
      (parsed) => finish(parsed.notQuick ? { id: job.id, ok: false, error: 'NOT_QUICK' } : { id: job.id, ok: true, parsed: toParsed(parsed) }),
      (error) => finish({ id: job.id, ok: false, error: String((error && error.message) || error) }),
    );
  }
}
parentPort.on('message', (message) => {
  for (const job of message.jobs) {
    pending++;
    waiting.push(job);
  }
  next();
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
  return nodeRequire().resolve('mailparser');
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

/**
 * Parser workers shared by every importer of the process, with a queue.
 * A worker that gives back nothing for the parse timeout, or dies (out of
 * memory), is ended; the jobs it had are retried one at a time on a fresh
 * one, and only the message that fails alone is given up.
 */
export class WorkerParser implements MessageParser {
  private readonly slots: ParserSlot[];
  private broken = false;
  /** Workers in a row that died before they were ready. */
  private startupFailures = 0;
  private nextId = 1;
  private readonly queue: Job[] = [];
  /** Jobs that were in flight when their worker died: retried one at a time. */
  private readonly soloQueue: Job[] = [];
  private readonly fallback: InThreadParser;
  private closed = false;

  constructor(
    private readonly timeoutMs = DEFAULT_PARSE_TIMEOUT_MS,
    workers = defaultWorkerCount(),
    private readonly testing: {
      /** Parse every message one way (quick split, mailsplit, or mailparser's full parse). */
      way?: 'auto' | 'quick' | 'split' | 'full';
      /** Where the worker loads mailparser from. */
      mailparserPath?: string;
    } = {},
  ) {
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
        workerData: { mailparserPath: this.testing.mailparserPath ?? resolveMailparser(), options: IMPORT_PARSE_OPTIONS, way: this.testing.way ?? 'auto' },
        // A roomier young generation: parsing makes many short-lived objects (fewer scavenges).
        resourceLimits: { maxOldGenerationSizeMb: WORKER_HEAP_MB, maxYoungGenerationSizeMb: 48 },
        stdout: true,
        stderr: true,
      });
      worker.on('message', (message: { ready?: boolean; results?: { id: number; ok: boolean; parsed?: ParsedMessage; error?: string }[] }) => this.onMessage(slot, message));
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
    const payload: { id: number; raw: Uint8Array }[] = [];
    const transfer: ArrayBuffer[] = [];
    for (const job of jobs) {
      slot.inFlight.set(job.id, job);
      slot.inFlightBytes += job.raw.length;
      // A copy of its own for the worker (moved, not copied again): the importer keeps the raw message to store it.
      const copy = new Uint8Array(job.raw);
      payload.push({ id: job.id, raw: copy });
      transfer.push(copy.buffer);
    }
    worker.postMessage({ jobs: payload }, transfer);
    worker.ref();
    // The clock runs from the last sign of progress (or from now, for a worker that had nothing),
    // once the worker has loaded.
    if (slot.ready) this.watch(slot);
  }

  private watch(slot: ParserSlot): void {
    slot.watchdog ??= setTimeout(() => this.onStall(slot), this.timeoutMs);
  }

  private onMessage(slot: ParserSlot, message: { ready?: boolean; results?: { id: number; ok: boolean; parsed?: ParsedMessage; error?: string }[] }): void {
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
        result.ok && result.parsed
          ? { ok: true, parsed: result.parsed }
          : { ok: false, code: 'MESSAGE_PARSE_FAILED', error: `mailparser could not read the message: ${result.error ?? 'unknown error'}` },
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
      // here (a packaged app without mailparser beside it, a restricted runtime): parse in-thread.
      if (++this.startupFailures >= 2) this.broken = true;
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
