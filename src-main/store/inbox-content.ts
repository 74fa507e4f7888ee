/**
 * What the store keys imported messages on, computed from their bytes:
 *
 * - the **raw digest**: SHA-256 of the exact bytes the server sent. Raw
 *   bytes are stored once per digest (`inbox_blobs`), so an identical resend
 *   shares its copy and every message, duplicates included, keeps its own
 *   bytes.
 * - the **content key**: SHA-256 of the bytes below the trace header fields
 *   that mail servers prepend on each delivery (Received, Return-Path,
 *   Delivered-To, X-Original-To, ...). Two messages with the same content key
 *   are the same message (a resend or a re-delivery of it); everything below
 *   the trace fields counts, the Message-ID field included, so the same
 *   content always means the same Message-ID too. A different message that
 *   reuses a Message-ID has another content key.
 *
 * Both are registered as SQL functions on every connection (see db.ts), so a
 * migration can compute them for rows stored by an earlier version.
 */
import crypto from 'node:crypto';
import type { Db } from './db.js';

/**
 * Header fields that servers add on top of a message as they deliver it
 * (RFC 5321 section 4.4 trace fields, and the per-hop fields of Postfix,
 * Dovecot, Gmail and Microsoft 365). Only a leading run of them is left out
 * of the content key: the first other field ends it.
 */
export const TRACE_FIELDS: ReadonlySet<string> = new Set([
  'return-path',
  'received',
  'delivered-to',
  'x-original-to',
  'x-received',
  'received-spf',
  'authentication-results',
  'arc-seal',
  'arc-message-signature',
  'arc-authentication-results',
]);

const LF = 0x0a;
const COLON = 0x3a;
const SPACE = 0x20;
const TAB = 0x09;

/** True for a header field name: printable US-ASCII but colon, no spaces (RFC 5322 ftext). */
function isFieldName(raw: Buffer, start: number, end: number): boolean {
  if (end <= start) return false;
  for (let i = start; i < end; i++) {
    const b = raw[i]!;
    if (b < 33 || b > 126) return false;
  }
  return true;
}

/**
 * Where the message's content starts once the leading trace fields are
 * skipped: the byte offset of the first header line that is not a trace
 * field (or of the blank line, or of the body). 0 when the message does not
 * start with a trace field.
 */
export function contentStart(raw: Buffer): number {
  let pos = 0;
  while (pos < raw.length) {
    const lineEnd = raw.indexOf(LF, pos);
    // A field with no line end is the whole rest of the message: it is content.
    if (lineEnd === -1) break;
    // Looked for on this line only (a search of the whole rest could read the body).
    const colonInLine = raw.subarray(pos, lineEnd).indexOf(COLON);
    if (colonInLine === -1) break;
    const colon = pos + colonInLine;
    // "Received :" (obsolete syntax) still names the field: spaces before the colon are allowed.
    let nameEnd = colon;
    while (nameEnd > pos && (raw[nameEnd - 1] === SPACE || raw[nameEnd - 1] === TAB)) nameEnd--;
    if (!isFieldName(raw, pos, nameEnd)) break;
    if (!TRACE_FIELDS.has(raw.toString('latin1', pos, nameEnd).toLowerCase())) break;
    // Skip the field and its folded continuation lines.
    let next = lineEnd + 1;
    while (next < raw.length && (raw[next] === SPACE || raw[next] === TAB)) {
      const end = raw.indexOf(LF, next);
      next = end === -1 ? raw.length : end + 1;
    }
    pos = next;
  }
  return pos;
}

/** The message's bytes below its leading trace fields (a view, not a copy). */
export function contentBelowTrace(raw: Buffer): Buffer {
  return raw.subarray(contentStart(raw));
}

function sha256Hex(bytes: Buffer): string {
  return crypto.createHash('sha256').update(bytes).digest('hex');
}

/** SHA-256 of the exact bytes, lowercase hex: the key of the stored raw copy. */
export function rawDigest(raw: Buffer): string {
  return sha256Hex(raw);
}

/**
 * SHA-256 of the bytes below the leading trace fields, lowercase hex: equal
 * for a resend or a re-delivery of the same message, different for any other
 * message (a reused Message-ID included).
 */
export function contentKey(raw: Buffer): string {
  return sha256Hex(contentBelowTrace(raw));
}

/** Both keys of a message's bytes, hashing them once when no trace field is on top (the raw digest is then the content key). */
export function messageDigests(raw: Buffer): { rawSha256: string; contentKey: string } {
  const start = contentStart(raw);
  const rawSha256 = sha256Hex(raw);
  return { rawSha256, contentKey: start === 0 ? rawSha256 : sha256Hex(raw.subarray(start)) };
}

function asBuffer(value: unknown): Buffer | null {
  if (Buffer.isBuffer(value)) return value;
  if (typeof value === 'string') return Buffer.from(value, 'utf8');
  return null;
}

/**
 * Registers `mailroom_raw_digest(raw)` and `mailroom_content_key(raw)` on a
 * connection, for migrations that key rows stored by an earlier version.
 */
export function registerContentFunctions(db: Db): void {
  db.function('mailroom_raw_digest', { deterministic: true }, (value: unknown) => {
    const raw = asBuffer(value);
    return raw ? rawDigest(raw) : null;
  });
  db.function('mailroom_content_key', { deterministic: true }, (value: unknown) => {
    const raw = asBuffer(value);
    return raw ? contentKey(raw) : null;
  });
}
