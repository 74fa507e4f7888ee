/**
 * Turns what an admin or an application hands over into a message the
 * outbox can keep and send: fields composed into MIME with nodemailer's
 * MailComposer, or a raw RFC 5322 message (an .eml file, a relay
 * submission) checked and completed. Either way the Message-ID is fixed
 * here, once, so every try sends the same one.
 */
import crypto from 'node:crypto';
import MailComposer from 'nodemailer/lib/mail-composer';
import addressparser from 'nodemailer/lib/addressparser';
import { AppError } from '../../shared/errors.js';
import type { Mailbox } from '../../shared/mailbox.js';
import { APP_VERSION } from '../version.js';

/** A message ready to be queued. */
export interface PreparedMessage {
  /** The MIME bytes as they will be sent. */
  raw: Buffer;
  /** Without angle brackets. */
  messageId: string;
  subject: string;
  /** Envelope recipients, in order, without duplicates. */
  recipients: string[];
  /** What sending as the mailbox changed (only with `sendAs`), for the log. */
  fromRewrite?: { originalFrom: string; from: string; replyTo: 'added' | 'kept'; senderRemoved: boolean };
}

/** The most a queued message may weigh: beyond what any mail service accepts. */
export const MAX_MESSAGE_BYTES = 150 * 1024 * 1024;
/** The most envelope recipients of one message. */
export const MAX_RECIPIENTS = 1000;
/** The largest header block read from a raw message. */
const MAX_HEADER_BYTES = 256 * 1024;

/** A new Message-ID in the mailbox's domain, without angle brackets. */
export function newMessageId(address: string): string {
  const domain = (address.split('@')[1] ?? 'mailroom.invalid').toLowerCase();
  return `${crypto.randomUUID()}@${domain}`;
}

/** The fields of a composed message. */
export interface ComposeFields {
  to: string[];
  cc?: string[];
  bcc?: string[];
  subject: string;
  text: string;
  html?: string;
  fromName?: string;
}

function unique(addresses: string[]): string[] {
  const seen = new Set<string>();
  const out: string[] = [];
  for (const a of addresses) {
    const key = a.trim().toLowerCase();
    if (key && !seen.has(key)) {
      seen.add(key);
      out.push(a.trim());
    }
  }
  return out;
}

/** Composes fields into MIME with nodemailer's MailComposer. The From address is the mailbox's. */
export async function composeMessage(mailbox: Pick<Mailbox, 'address'>, fields: ComposeFields, now: number = Date.now()): Promise<PreparedMessage> {
  const messageId = newMessageId(mailbox.address);
  const composer = new MailComposer({
    from: fields.fromName ? { name: fields.fromName, address: mailbox.address } : mailbox.address,
    to: fields.to,
    ...(fields.cc?.length ? { cc: fields.cc } : {}),
    ...(fields.bcc?.length ? { bcc: fields.bcc } : {}),
    subject: fields.subject,
    text: fields.text,
    ...(fields.html !== undefined ? { html: fields.html } : {}),
    messageId: `<${messageId}>`,
    date: new Date(now),
    headers: { 'X-Mailer': `Mailroom ${APP_VERSION}` },
  });
  const raw = await composer.compile().build();
  const recipients = unique([...fields.to, ...(fields.cc ?? []), ...(fields.bcc ?? [])]);
  return { raw, messageId, subject: fields.subject, recipients };
}

/** One header field (or a header-block line that is not a field): where it is, and what it says. */
interface HeaderField {
  /**
   * The field name in lower case, when it is one the outbox can read
   * (printable ASCII; the obsolete white space before the colon, as in
   * `Subject : x`, is allowed); null for any other line, which is kept as it
   * is but not read.
   */
  key: string | null;
  /** The unfolded value (latin1 text of the bytes). */
  value: string;
  /** Byte range of the whole field: its first line to the end of its last continuation line, line end included. */
  start: number;
  end: number;
}

/** Where the header block ends: the offset of the blank line and of the body, or -1. */
function headerEnd(raw: Buffer): { headerLength: number; bodyStart: number } {
  const limit = Math.min(raw.length, MAX_HEADER_BYTES);
  for (let i = 0; i < limit; i++) {
    if (raw[i] === 0x0a) {
      // "\n\n" or "\n\r\n" ends the header block.
      if (raw[i + 1] === 0x0a) return { headerLength: i + 1, bodyStart: i + 2 };
      if (raw[i + 1] === 0x0d && raw[i + 2] === 0x0a) return { headerLength: i + 1, bodyStart: i + 3 };
    }
  }
  return { headerLength: -1, bodyStart: -1 };
}

/** A line of a message as an error shows it: printable, at most 60 characters. */
function quoteLine(raw: Buffer, start: number): string {
  let end = raw.indexOf(0x0a, start);
  if (end < 0) end = raw.length;
  const text = raw
    .subarray(start, Math.min(end, start + 240))
    .toString('utf8')
    .replace(/\r$/, '')
    .replace(/[\x00-\x1f\x7f"]/g, (c) => (c === '"' ? "'" : '?'));
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

/** The 1-based number of the line `offset` is on. */
function lineNumberAt(raw: Buffer, offset: number): number {
  let line = 1;
  for (let i = raw.indexOf(0x0a); i >= 0 && i < offset; i = raw.indexOf(0x0a, i + 1)) line++;
  return line;
}

/**
 * The first line end that is not CR LF: an LF without its CR, or a CR
 * without its LF. SMTP carries lines that end in CR LF only (RFC 5321
 * 2.3.8); a bare one that a server reads differently from its client is how
 * SMTP smuggling works, and Exchange Online refuses bare LF outright (5.6.11).
 */
export function findBareLineEnd(raw: Buffer): { offset: number; kind: 'LF' | 'CR' } | null {
  for (let i = raw.indexOf(0x0a); i >= 0; i = raw.indexOf(0x0a, i + 1)) {
    if (i === 0 || raw[i - 1] !== 0x0d) return { offset: i, kind: 'LF' };
  }
  for (let i = raw.indexOf(0x0d); i >= 0; i = raw.indexOf(0x0d, i + 1)) {
    if (raw[i + 1] !== 0x0a) return { offset: i, kind: 'CR' };
  }
  return null;
}

/** A field name the outbox reads: printable ASCII without the colon (RFC 5322 ftext). */
const FIELD_NAME = /^[\x21-\x39\x3b-\x7e]+$/;

/**
 * Reads the header block without changing a byte of it: every line is kept,
 * lines that are not fields too (they are only not read). The first line
 * alone must be a field, or nothing says where the headers are: an mbox
 * separator (`From sender date`) or a message without headers is refused,
 * naming the line. Returns the fields and the line end the message uses.
 */
function readHeaderBlock(raw: Buffer, sourceName: string | undefined): { fields: HeaderField[]; eol: '\r\n' | '\n' } {
  const fields: HeaderField[] = [];
  let offset = 0;
  let eol: '\r\n' | '\n' | undefined;
  let current: HeaderField | undefined;
  let line = 0;
  while (offset < raw.length) {
    line++;
    const lf = raw.indexOf(0x0a, offset);
    const end = lf < 0 ? raw.length : lf + 1;
    const textEnd = lf < 0 ? raw.length : lf > offset && raw[lf - 1] === 0x0d ? lf - 1 : lf;
    if (lf >= 0 && eol === undefined) eol = lf > 0 && raw[lf - 1] === 0x0d ? '\r\n' : '\n';
    // The empty line: the body follows.
    if (textEnd === offset) break;
    if (end > MAX_HEADER_BYTES) {
      throw invalid(sourceName, `the header lines are longer than ${MAX_HEADER_BYTES / 1024} KB, or no empty line ends them.`, 'End the header lines with an empty line before the text; keep large content in the body.');
    }
    const text = raw.subarray(offset, textEnd).toString('latin1');
    if (line === 1) {
      if (text.startsWith('From ')) {
        throw invalid(sourceName, `Line 1 "${quoteLine(raw, 0)}" is an mbox separator, not a header; the message was not queued.`, 'Remove the first line (the "From " line a mailbox file puts between messages), so that the message starts with its header lines.');
      }
      if (/^[ \t]/.test(text) || !/^[^:]+:/.test(text)) {
        throw invalid(sourceName, `Line 1 "${quoteLine(raw, 0)}" is not a header field (Name: value); the message was not queued.`, 'A message starts with header lines such as "From: ...", "To: ..." and "Subject: ...", then an empty line, then the text.');
      }
    }
    if (/^[ \t]/.test(text) && current) {
      // A folded continuation line belongs to the field above it.
      current.value += ' ' + text.trim();
      current.end = end;
    } else {
      const colon = text.indexOf(':');
      const name = colon > 0 ? text.slice(0, colon).replace(/[ \t]+$/, '') : '';
      current = { key: name && FIELD_NAME.test(name) ? name.toLowerCase() : null, value: colon > 0 ? text.slice(colon + 1).trim() : '', start: offset, end };
      fields.push(current);
    }
    offset = end;
  }
  return { fields, eol: eol ?? '\r\n' };
}

function addressesOf(value: string): string[] {
  const out: string[] = [];
  for (const entry of addressparser(value, { flatten: true })) {
    if ('address' in entry && entry.address) out.push(entry.address);
  }
  return out;
}

/** Decodes RFC 2047 encoded words (=?utf-8?B?...?= and =?utf-8?Q?...?=) for display. */
export function decodeEncodedWords(value: string): string {
  return value
    .replace(/\?=\s+=\?/g, '?==?')
    .replace(/=\?([^?\s]+)\?([bBqQ])\?([^?\s]*)\?=/g, (whole, charset: string, encoding: string, text: string) => {
      try {
        const bytes = encoding.toUpperCase() === 'B' ? Buffer.from(text, 'base64') : Buffer.from(text.replace(/_/g, ' ').replace(/=([0-9A-Fa-f]{2})/g, (_m, h: string) => String.fromCharCode(parseInt(h, 16))), 'latin1');
        const label = charset.toLowerCase().split('*')[0]!;
        return new TextDecoder(label === 'utf8' ? 'utf-8' : label, { fatal: false }).decode(bytes);
      } catch {
        return whole;
      }
    });
}

/** Options of `prepareRawMessage`. */
export interface PrepareRawOptions {
  /** The envelope recipients when they are known (a relay submission's RCPT TO); else To, Cc and Bcc are read. */
  envelopeTo?: string[];
  /** Names the source in error messages, e.g. the file name. */
  sourceName?: string;
  now?: number;
  /**
   * `smtp` (a relay submission): every line must end in CR LF; a bare CR or
   * LF is refused, naming its line. `file` (the default): the bytes are kept
   * as the file has them, and SMTP puts each line end on the wire as CR LF.
   */
  lineEnds?: 'smtp' | 'file';
  /** Trace fields to put on top, such as the relay's Received line: whole header fields without their line end. */
  trace?: string[];
  /**
   * Send as this address (a relay account set to `mailbox`): the From
   * becomes it (the display name is kept), the original From becomes the
   * Reply-To unless the message has one, and a Sender field is removed.
   */
  sendAs?: string;
}

function invalid(sourceName: string | undefined, problem: string, hint: string): AppError {
  const message = sourceName ? `${sourceName}: ${problem.replace(/^Line /, 'line ')}` : problem.charAt(0).toUpperCase() + problem.slice(1);
  return new AppError('MESSAGE_INVALID', message, { hint });
}

/**
 * Checks a raw message and keeps its bytes as they are. What may change,
 * and nothing else: trace fields (the relay's Received line) go on top; a
 * Message-ID, a Date and a From go on top when the message has none (the ID
 * is then fixed for every try); Bcc fields are removed so that blind
 * recipients stay blind. Header lines the outbox cannot read are kept, never
 * dropped. What cannot be sent as it is (an mbox separator where the first
 * header should be, a bare line end in an SMTP submission) is refused with
 * MESSAGE_INVALID naming the line. Recipients come from the envelope when
 * given, else from To, Cc and Bcc.
 */
export function prepareRawMessage(mailbox: Pick<Mailbox, 'address'>, input: Buffer, options: PrepareRawOptions = {}): PreparedMessage {
  const { sourceName } = options;
  if (input.length === 0) throw invalid(sourceName, 'the message is empty.', 'Give a complete message: header lines (From, To, Subject), a blank line, then the text.');
  if (input.length > MAX_MESSAGE_BYTES) {
    throw invalid(sourceName, `the message is ${Math.round(input.length / 1048576)} MB; at most ${MAX_MESSAGE_BYTES / 1048576} MB can be queued.`, 'Send large files as a link instead of an attachment; most servers refuse more than 25-35 MB anyway.');
  }
  if (options.lineEnds === 'smtp') {
    const bare = findBareLineEnd(input);
    if (bare) {
      const lineStart = bare.offset === 0 ? 0 : input.lastIndexOf(0x0a, bare.offset - 1) + 1;
      throw invalid(
        sourceName,
        `Line ${lineNumberAt(input, bare.offset)} "${quoteLine(input, lineStart)}" ends with a bare ${bare.kind} (SMTP lines end with CR LF); the message was not queued.`,
        'Configure the application to end every line with CR LF (\\r\\n), as SMTP requires.',
      );
    }
  }
  const { fields, eol } = readHeaderBlock(input, sourceName);
  if (!fields.length) {
    throw invalid(sourceName, 'the message has no header lines.', 'An .eml file starts with header lines such as "From: ..." and "Subject: ...".');
  }
  const get = (name: string) => fields.filter((f) => f.key === name);
  const label = { to: 'To', cc: 'Cc', bcc: 'Bcc' } as Record<string, string>;

  let recipients: string[];
  if (options.envelopeTo) {
    recipients = unique(options.envelopeTo);
  } else {
    recipients = unique([...get('to'), ...get('cc'), ...get('bcc')].flatMap((f) => addressesOf(f.value)));
  }
  if (!recipients.length) {
    const written = [...get('to'), ...get('cc'), ...get('bcc')].find((f) => f.value.trim());
    if (written) throw invalid(sourceName, `"${written.value.slice(0, 100)}" in ${label[written.key!]} is not an email address.`, 'Correct the address in To, Cc or Bcc (for example Name <name@example.com>).');
    throw invalid(sourceName, 'the message has no recipient (no address in To, Cc or Bcc).', 'Add a To: line with at least one address, or pass the recipients with --to.');
  }
  if (recipients.length > MAX_RECIPIENTS) throw invalid(sourceName, `the message has ${recipients.length} recipients; at most ${MAX_RECIPIENTS} are allowed.`, 'Split the recipients over several messages.');
  const badAddress = recipients.find((a) => !/^[^\s@<>()",;:]+@[^\s@<>()",;:]+$/.test(a));
  if (badAddress !== undefined) throw invalid(sourceName, `"${badAddress.slice(0, 100)}" is not an email address.`, 'Correct the address in To, Cc or Bcc.');

  // On top: the trace fields, then what is missing. Below: the message's own bytes, less its Bcc fields.
  const added: string[] = [...(options.trace ?? [])];
  let messageId = get('message-id')[0]?.value.replace(/[<>\s]/g, '') ?? '';
  if (!messageId) {
    messageId = newMessageId(mailbox.address);
    added.push(`Message-ID: <${messageId}>`);
  }
  if (!get('date').length) added.push(`Date: ${rfc5322Date(options.now ?? Date.now())}`);
  if (!get('from').length) added.push(`From: ${options.sendAs ?? mailbox.address}`);
  // Edits by byte range, in order: Bcc fields removed, and (sending as the mailbox) From replaced, Sender removed.
  const edits: { start: number; end: number; replacement?: Buffer }[] = get('bcc').map((f) => ({ start: f.start, end: f.end }));
  let fromRewrite: PreparedMessage['fromRewrite'];
  const froms = get('from');
  if (options.sendAs && froms.length) {
    const original = froms[0]!;
    const named = addressparser(original.value, { flatten: true }).filter((e) => 'address' in e);
    const name = named.length === 1 && named[0]!.name ? displayName(named[0]!.name) : '';
    const from = name ? `${name} <${options.sendAs}>` : options.sendAs;
    const colon = input.indexOf(0x3a, original.start);
    const hasReplyTo = get('reply-to').length > 0;
    const replacement: Buffer[] = [Buffer.from(`From: ${from}${eol}`, 'latin1')];
    // The original value, byte for byte (folding and 8-bit text included).
    if (!hasReplyTo) replacement.push(Buffer.from('Reply-To:'), input.subarray(colon + 1, original.end));
    edits.push({ start: original.start, end: original.end, replacement: Buffer.concat(replacement) });
    for (const extra of [...froms.slice(1), ...get('sender')]) edits.push({ start: extra.start, end: extra.end });
    fromRewrite = { originalFrom: Buffer.from(original.value, 'latin1').toString('utf8'), from, replyTo: hasReplyTo ? 'kept' : 'added', senderRemoved: get('sender').length > 0 };
  }
  edits.sort((a, b) => a.start - b.start);
  const parts: Buffer[] = added.length ? [Buffer.from(added.map((line) => line + eol).join(''), 'latin1')] : [];
  let kept = 0;
  for (const edit of edits) {
    if (edit.start > kept) parts.push(input.subarray(kept, edit.start));
    if (edit.replacement) parts.push(edit.replacement);
    kept = edit.end;
  }
  parts.push(kept ? input.subarray(kept) : input);
  const raw = parts.length === 1 ? parts[0]! : Buffer.concat(parts);
  const subject = decodeEncodedWords(Buffer.from(get('subject')[0]?.value ?? '', 'latin1').toString('utf8'));
  return { raw, messageId, subject, recipients, ...(fromRewrite ? { fromRewrite } : {}) };
}

/** A display name as a From field can carry it: as written when it is atoms (or encoded words), else quoted. */
function displayName(name: string): string {
  if (/^[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~ \x80-\xff]+$/.test(name)) return name.trim();
  return `"${name.replace(/["\\]/g, (c) => `\\${c}`)}"`;
}

/** A date as RFC 5322 writes it, in UTC: `Wed, 25 Nov 2026 10:00:00 +0000`. */
export function rfc5322Date(ms: number): string {
  return new Date(ms).toUTCString().replace('GMT', '+0000');
}

/** The header block of a stored message, for display (at most `limit` bytes). */
export function headerBlock(raw: Buffer, limit = 16 * 1024): string {
  const { headerLength } = headerEnd(raw);
  const end = headerLength < 0 ? Math.min(raw.length, limit) : Math.min(headerLength, limit);
  return raw.subarray(0, end).toString('utf8');
}
