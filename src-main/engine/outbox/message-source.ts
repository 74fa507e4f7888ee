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

/** One header field: its name as written and its unfolded value. */
interface HeaderField {
  name: string;
  value: string;
  /** Byte range of the whole field (with its folded lines and line break) in the header block. */
  start: number;
  end: number;
}

/** Where the header block ends: the offset of the body (after the blank line), or -1. */
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

function parseHeaderFields(block: string): HeaderField[] {
  const fields: HeaderField[] = [];
  const lineRe = /[^\n]*\n|[^\n]+$/g;
  let match: RegExpExecArray | null;
  let current: HeaderField | undefined;
  let offset = 0;
  while ((match = lineRe.exec(block)) !== null) {
    const line = match[0];
    if (!line) break;
    const text = line.replace(/\r?\n$/, '');
    if (/^[ \t]/.test(text) && current) {
      current.value += ' ' + text.trim();
      current.end = offset + line.length;
    } else {
      const colon = text.indexOf(':');
      if (colon > 0 && /^[\x21-\x39\x3b-\x7e]+$/.test(text.slice(0, colon))) {
        current = { name: text.slice(0, colon), value: text.slice(colon + 1).trim(), start: offset, end: offset + line.length };
        fields.push(current);
      } else {
        current = undefined;
      }
    }
    offset += line.length;
  }
  return fields;
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
}

function invalid(sourceName: string | undefined, problem: string, hint: string): AppError {
  return new AppError('MESSAGE_INVALID', `${sourceName ? `${sourceName}: ` : ''}${problem}`, { hint });
}

/**
 * Checks a raw message and completes it: a Message-ID and a Date are added
 * when missing (the ID is then fixed for every try), Bcc is removed so that
 * blind recipients stay blind, line endings become CRLF. Recipients come
 * from the envelope when given, else from To, Cc and Bcc.
 */
export function prepareRawMessage(mailbox: Pick<Mailbox, 'address'>, input: Buffer, options: PrepareRawOptions = {}): PreparedMessage {
  const { sourceName } = options;
  if (input.length === 0) throw invalid(sourceName, 'the message is empty.', 'Give a complete message: header lines (From, To, Subject), a blank line, then the text.');
  if (input.length > MAX_MESSAGE_BYTES) {
    throw invalid(sourceName, `the message is ${Math.round(input.length / 1048576)} MB; at most ${MAX_MESSAGE_BYTES / 1048576} MB can be queued.`, 'Send large files as a link instead of an attachment; most servers refuse more than 25-35 MB anyway.');
  }
  const { headerLength, bodyStart } = headerEnd(input);
  if (headerLength < 0) {
    throw invalid(sourceName, 'no header block was found (the header lines must end with a blank line before the text).', 'Save the message as an .eml file (RFC 5322): header lines such as From:, To: and Subject:, a blank line, then the body.');
  }
  const headerText = input.subarray(0, headerLength).toString('latin1');
  const fields = parseHeaderFields(headerText);
  if (!fields.length) {
    throw invalid(sourceName, 'the message has no header lines.', 'An .eml file starts with header lines such as "From: ..." and "Subject: ...".');
  }
  const get = (name: string) => fields.filter((f) => f.name.toLowerCase() === name);

  let recipients: string[];
  if (options.envelopeTo) {
    recipients = unique(options.envelopeTo);
  } else {
    recipients = unique([...get('to'), ...get('cc'), ...get('bcc')].flatMap((f) => addressesOf(f.value)));
  }
  if (!recipients.length) {
    const written = [...get('to'), ...get('cc'), ...get('bcc')].find((f) => f.value.trim());
    if (written) throw invalid(sourceName, `"${written.value.slice(0, 100)}" in ${written.name} is not an email address.`, 'Correct the address in To, Cc or Bcc (for example Name <name@example.com>).');
    throw invalid(sourceName, 'the message has no recipient (no address in To, Cc or Bcc).', 'Add a To: line with at least one address, or pass the recipients with --to.');
  }
  if (recipients.length > MAX_RECIPIENTS) throw invalid(sourceName, `the message has ${recipients.length} recipients; at most ${MAX_RECIPIENTS} are allowed.`, 'Split the recipients over several messages.');
  const badAddress = recipients.find((a) => !/^[^\s@<>()",;:]+@[^\s@<>()",;:]+$/.test(a));
  if (badAddress !== undefined) throw invalid(sourceName, `"${badAddress.slice(0, 100)}" is not an email address.`, 'Correct the address in To, Cc or Bcc.');

  // Rebuild the header block: drop Bcc, add what is missing, keep everything else byte for byte.
  const kept: string[] = [];
  for (const f of fields) {
    if (f.name.toLowerCase() === 'bcc') continue;
    kept.push(headerText.slice(f.start, f.end).replace(/\r?\n/g, '\r\n').replace(/([^\r\n])$/, '$1\r\n'));
  }
  const added: string[] = [];
  let messageId = get('message-id')[0]?.value.replace(/[<>\s]/g, '') ?? '';
  if (!messageId) {
    messageId = newMessageId(mailbox.address);
    added.push(`Message-ID: <${messageId}>\r\n`);
  }
  if (!get('date').length) added.push(`Date: ${new Date(options.now ?? Date.now()).toUTCString().replace('GMT', '+0000')}\r\n`);
  if (!get('from').length) added.push(`From: ${mailbox.address}\r\n`);
  const body = input.subarray(bodyStart);
  const normalisedBody = body.includes(0x0a) && !/\r\n/.test(body.subarray(0, Math.min(body.length, 4096)).toString('latin1')) ? Buffer.from(body.toString('latin1').replace(/\r?\n/g, '\r\n'), 'latin1') : body;
  const raw = Buffer.concat([Buffer.from(added.join('') + kept.join('') + '\r\n', 'latin1'), normalisedBody]);
  const subjectField = get('subject')[0]?.value ?? '';
  const subject = decodeEncodedWords(Buffer.from(subjectField, 'latin1').toString('utf8'));
  return { raw, messageId, subject, recipients };
}

/** The header block of a stored message, for display (at most `limit` bytes). */
export function headerBlock(raw: Buffer, limit = 16 * 1024): string {
  const { headerLength } = headerEnd(raw);
  const end = headerLength < 0 ? Math.min(raw.length, limit) : Math.min(headerLength, limit);
  return raw.subarray(0, end).toString('utf8');
}
