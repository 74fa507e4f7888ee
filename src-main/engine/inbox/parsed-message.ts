/**
 * The one conversion from mailparser's result to what the import keeps
 * (`ParsedMessage`), and the options of the import's parse. Both the parser
 * worker (`parser-worker.ts`, bundled on its own) and the in-thread path
 * (`message-parser.ts`) use it, so the two can never disagree. Imports
 * mailparser's types only: loading this module loads no parser.
 */
import type { AddressObject, SimpleParserOptions } from 'mailparser';
import type { AttachmentInfo } from '../../shared/inbox.js';
import type { ParsedAddress, ParsedMessage } from './message-summary.js';

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

/** One header line as mailparser and mailsplit give it: lower-case key, the whole line. */
export interface HeaderLineFields {
  key: string;
  line: string;
}

/** An attachment as simpleParser lists it, or as the worker counts it while it streams by. */
export interface AttachmentFields {
  filename?: string | false;
  contentType?: string;
  contentDisposition?: string;
  size?: number;
  content?: { length: number };
}

/**
 * The part of mailparser's result the conversion reads. simpleParser's
 * `ParsedMail` is one; the worker's streamed and fast parses build one.
 */
export interface MailFields {
  headerLines?: readonly HeaderLineFields[];
  subject?: unknown;
  messageId?: unknown;
  from?: AddressObject | AddressObject[];
  to?: AddressObject | AddressObject[];
  cc?: AddressObject | AddressObject[];
  text?: unknown;
  html?: unknown;
  attachments?: readonly AttachmentFields[];
}

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
export function dateFromHeaderLines(lines: readonly HeaderLineFields[]): number | null {
  const line = lines.find((h) => h.key === 'date')?.line;
  if (!line) return null;
  const value = line.slice(line.indexOf(':') + 1).trim();
  const ms = new Date(value).getTime();
  return Number.isFinite(ms) ? ms : null;
}

/** The plain, cloneable shape the import keeps of a parsed message. */
export function toParsedMessage(parsed: MailFields): ParsedMessage {
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
