/**
 * What the import keeps of a parsed message: addresses as text, subject,
 * dates, the Message-ID, attachments listed (never their content), a short
 * snippet, the content key, and the reasons a message counts as unreadable;
 * and the dedupe rule: when a message found on the server is one already
 * stored. Pure functions over the plain shape the parser hands back.
 */
import type { AttachmentInfo } from '../../shared/inbox.js';
import { messageDigests } from '../../store/inbox-content.js';

/** One address as mailparser gives it. */
export interface ParsedAddress {
  name?: string;
  address?: string;
  group?: ParsedAddress[];
}

/** The plain, cloneable part of mailparser's result the import uses (built in the parser worker). */
export interface ParsedMessage {
  /** How many header fields the message has. */
  headerCount: number;
  /** Whether it has a Date header at all (readable or not). */
  hasDateHeader: boolean;
  from: ParsedAddress[] | null;
  to: ParsedAddress[] | null;
  cc: ParsedAddress[] | null;
  subject: string | null;
  /** The Date header in ms UTC; null when missing or unreadable. */
  date: number | null;
  messageId: string | null;
  /** The start of the plain text (enough for a snippet). */
  text: string | null;
  /** The start of the HTML, only when there is no plain text. */
  html: string | null;
  attachments: AttachmentInfo[];
}

/** The outcome of parsing one message: never throws, a failure is data. */
export type ParseOutcome = { ok: true; parsed: ParsedMessage } | { ok: false; code: 'MESSAGE_PARSE_FAILED' | 'MESSAGE_PARSE_TIMEOUT'; error: string };

/** What the import stores about one message, beyond where it came from. */
export interface MessageSummary {
  status: 'imported' | 'failed';
  messageId: string | null;
  /** What makes it the same message as another: see `contentKey` in store/inbox-content.ts. */
  contentKey: string;
  /** SHA-256 of the exact bytes, the key of the stored copy (see `rawDigest` in store/inbox-content.ts). */
  rawSha256: string;
  from: string | null;
  to: string | null;
  cc: string | null;
  subject: string | null;
  sentAt: number | null;
  attachments: AttachmentInfo[];
  warnings: string[];
  snippet: string;
  errorCode: string | null;
  error: string | null;
}

/** Longest Message-ID kept (RFC 5322 lines are at most 998 characters). */
const MAX_MESSAGE_ID = 998;
/** Longest subject or address text kept for the list. */
const MAX_HEADER_TEXT = 2000;
/** Characters of body text in the list's snippet. */
export const SNIPPET_CHARS = 200;

/** `<abc@example.com>` -> `abc@example.com`; blank or `<>` -> null. */
export function normalizeMessageId(value: string | null | undefined): string | null {
  if (!value) return null;
  let id = value.trim();
  // Some senders put several ids or comments in the field: the first bracketed one counts.
  const bracketed = /<([^<>\s]+)>/.exec(id);
  if (bracketed) id = bracketed[1]!;
  else id = id.replace(/^<|>$/g, '').trim();
  if (!id || /\s/.test(id)) return null;
  return id.length > MAX_MESSAGE_ID ? id.slice(0, MAX_MESSAGE_ID) : id;
}

/** A stored message (imported or failed, never a duplicate) as the dedupe rule sees it. */
export interface KnownMessage {
  id: number;
  messageId: string | null;
  contentKey: string;
}

/** What the dedupe rule makes of a message found on the server. */
export type DedupeVerdict =
  /** The same message (same content below the trace fields, so also the same Message-ID) is stored as `of`. */
  | { kind: 'duplicate'; of: number }
  /** A message not stored yet; `sharesMessageIdWith` is the first stored message with the same Message-ID and other content. */
  | { kind: 'new'; sharesMessageIdWith: number | null };

/**
 * The dedupe rule over the stored messages of one mailbox, as an index the
 * import fills from one query per batch and from the batch itself.
 *
 * A message is a duplicate only when it is the same message: its content key
 * equals a stored one (identical bytes, or identical below the trace fields
 * servers prepend on delivery, Message-ID field included). Identity is never
 * the Message-ID alone: a different message reusing one is new, and marked as
 * sharing it with the first stored message that has it. (A message already
 * recorded under the same mailbox, folder, UIDVALIDITY and UID is not looked
 * at again at all: the importer skips it before this rule.)
 */
export class DedupeIndex {
  private readonly byContent = new Map<string, number>();
  private readonly byMessageId = new Map<string, number>();

  constructor(known: Iterable<KnownMessage> = []) {
    for (const k of known) this.add(k);
  }

  /** Adds a stored message (the first stored one of each key wins). */
  add(k: KnownMessage): void {
    const content = this.byContent.get(k.contentKey);
    if (content === undefined || k.id < content) this.byContent.set(k.contentKey, k.id);
    if (k.messageId !== null) {
      const first = this.byMessageId.get(k.messageId);
      if (first === undefined || k.id < first) this.byMessageId.set(k.messageId, k.id);
    }
  }

  /** The verdict for a message found on the server. */
  classify(incoming: { messageId: string | null; contentKey: string }): DedupeVerdict {
    const same = this.byContent.get(incoming.contentKey);
    if (same !== undefined) return { kind: 'duplicate', of: same };
    return { kind: 'new', sharesMessageIdWith: incoming.messageId !== null ? (this.byMessageId.get(incoming.messageId) ?? null) : null };
  }
}

function formatOne(a: ParsedAddress): string {
  if (a.group) return `${a.name ?? ''}: ${a.group.map(formatOne).join(', ')};`;
  const name = (a.name ?? '').trim();
  const address = (a.address ?? '').trim();
  if (name && address) return `${name} <${address}>`;
  return address || name;
}

/** Addresses as one line of text: `Ann Lee <ann@example.com>, bob@example.com`. */
export function formatAddresses(list: ParsedAddress[] | null | undefined): string | null {
  if (!list?.length) return null;
  const text = list.map(formatOne).filter(Boolean).join(', ');
  return text ? clip(text, MAX_HEADER_TEXT) : null;
}

function clip(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: ' ' };

/**
 * HTML to plain text for a snippet: drops scripts, styles and tags, decodes
 * the common entities. Only ever used to make text; nothing is rendered.
 */
export function htmlToPlainText(html: string): string {
  return html
    .replace(/<(script|style|head)\b[\s\S]*?<\/\1\s*>/gi, ' ')
    .replace(/<!--[\s\S]*?-->/g, ' ')
    .replace(/<(br|\/p|\/div|\/li|\/tr|\/h[1-6])\b[^>]*>/gi, '\n')
    .replace(/<[^>]*>/g, ' ')
    .replace(/&(#x[0-9a-f]+|#\d+|[a-z]+);/gi, (whole, name: string) => {
      if (name[0] === '#') {
        const code = name[1] === 'x' || name[1] === 'X' ? parseInt(name.slice(2), 16) : parseInt(name.slice(1), 10);
        return Number.isFinite(code) && code > 0 && code < 0x110000 ? String.fromCodePoint(code) : ' ';
      }
      return ENTITIES[name.toLowerCase()] ?? whole;
    });
}

/** The first characters of the body, on one line. */
export function snippetOf(parsed: Pick<ParsedMessage, 'text' | 'html'>): string {
  const source = parsed.text?.trim() ? parsed.text : parsed.html ? htmlToPlainText(parsed.html.slice(0, 20_000)) : '';
  // Most texts give a full snippet from their first characters: only those are folded onto one line.
  const head = source.length > 4 * SNIPPET_CHARS ? oneLine(source.slice(0, 4 * SNIPPET_CHARS)) : '';
  return clip(head.length > SNIPPET_CHARS ? head : oneLine(source), SNIPPET_CHARS);
}

function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}

/** True when the bytes hold nothing but whitespace. */
export function isBlank(raw: Buffer): boolean {
  for (const byte of raw) if (byte !== 0x20 && byte !== 0x09 && byte !== 0x0d && byte !== 0x0a) return false;
  return true;
}

/**
 * Summarises a parsed message for storage, or describes why it counts as
 * unreadable. An unreadable message is still stored raw by the caller.
 */
export function summarize(raw: Buffer, outcome: ParseOutcome): MessageSummary {
  const { contentKey, rawSha256 } = messageDigests(raw);
  const failed = (errorCode: string, error: string, parsed?: ParsedMessage): MessageSummary => {
    const messageId = normalizeMessageId(parsed?.messageId);
    return {
      status: 'failed',
      messageId,
      contentKey,
      rawSha256,
      from: formatAddresses(parsed?.from),
      to: formatAddresses(parsed?.to),
      cc: formatAddresses(parsed?.cc),
      subject: parsed?.subject ? clip(parsed.subject, MAX_HEADER_TEXT) : null,
      sentAt: parsed?.date ?? null,
      attachments: parsed?.attachments ?? [],
      warnings: [],
      snippet: parsed ? snippetOf(parsed) : '',
      errorCode,
      error,
    };
  };
  if (raw.length === 0 || isBlank(raw)) return failed('MESSAGE_EMPTY', `The message is empty (${raw.length} bytes, no headers and no body).`);
  if (!outcome.ok) return failed(outcome.code, outcome.error);
  const parsed = outcome.parsed;
  if (parsed.headerCount === 0) {
    return failed('MESSAGE_NO_HEADERS', 'The message has no header fields (no From, To, Subject or Date), so it cannot be read as an email.', parsed);
  }
  const messageId = normalizeMessageId(parsed.messageId);
  const warnings: string[] = [];
  if (!parsed.from?.length) warnings.push('No From address.');
  if (!messageId) warnings.push('No Message-ID: copies of it are recognised by their content only.');
  if (parsed.date === null) warnings.push(parsed.hasDateHeader ? 'The Date header cannot be read.' : 'No Date header.');
  if (!parsed.text?.trim() && !parsed.html?.trim() && parsed.attachments.length === 0) warnings.push('No body text.');
  return {
    status: 'imported',
    messageId,
    contentKey,
    rawSha256,
    from: formatAddresses(parsed.from),
    to: formatAddresses(parsed.to),
    cc: formatAddresses(parsed.cc),
    subject: parsed.subject ? clip(parsed.subject, MAX_HEADER_TEXT) : null,
    sentAt: parsed.date,
    attachments: parsed.attachments,
    warnings,
    snippet: snippetOf(parsed),
    errorCode: null,
    error: null,
  };
}
