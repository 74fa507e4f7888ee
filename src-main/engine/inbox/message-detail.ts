/**
 * One stored message in full, for the detail panel and `mailroom inbox
 * show`: every header decoded to text, the plain-text body (the HTML part
 * converted to text when there is no plain part), the HTML source as text
 * only, and the attachments listed. Nothing here is ever rendered as HTML.
 */
import type { HeaderField, InboxMessageDetail } from '../../shared/inbox.js';
import type { StoredMessage } from '../../store/inbox-repo.js';
import { toSummary } from '../../store/inbox-repo.js';
import { htmlToPlainText } from './message-summary.js';

/** Longest body text returned. */
export const DETAIL_TEXT_CHARS = 200_000;
/** Longest header value returned. */
const HEADER_VALUE_CHARS = 4000;

/** Decodes RFC 2047 encoded words (libmime's decodeWords). */
export type WordDecoder = (value: string) => string;

/** The name and decoded value of a raw header line (`Subject: =?utf-8?Q?...?=`). */
export function decodeHeaderLine(line: string, decodeWords: WordDecoder): HeaderField {
  const colon = line.indexOf(':');
  const name = colon > 0 ? line.slice(0, colon).trim() : line.trim();
  const rawValue = colon > 0 ? line.slice(colon + 1).replace(/\r?\n[ \t]+/g, ' ').trim() : '';
  let value = rawValue;
  try {
    value = decodeWords(rawValue);
  } catch {
    // Undecodable words stay as sent.
  }
  if (value.length > HEADER_VALUE_CHARS) value = `${value.slice(0, HEADER_VALUE_CHARS)}… (${value.length - HEADER_VALUE_CHARS} more characters)`;
  return { name, value };
}

/**
 * Builds the detail of a stored message from its own raw bytes (undefined
 * only for a duplicate recorded before schema 7, whose bytes were not kept)
 * and the other stored messages that use its Message-ID.
 */
export async function messageDetail(stored: StoredMessage, raw: Buffer | undefined, sameMessageIdAs: number[] = []): Promise<InboxMessageDetail> {
  const base = {
    ...toSummary(stored),
    cc: stored.cc,
    attachments: stored.attachments,
    warnings: stored.warnings,
    handoffPath: stored.handoffPath,
    actionError: stored.actionError,
    handoffError: stored.handoffError,
    sameMessageIdAs,
    rawKept: raw !== undefined,
  };
  if (!raw) return { ...base, headers: [], text: '', htmlSource: null, truncated: false };
  // Loaded here: only the detail view needs the full parser on the main thread.
  const [{ simpleParser }, { default: libmime }] = await Promise.all([import('mailparser'), import('libmime')]);
  const decodeWords: WordDecoder = (value) => libmime.decodeWords(value);
  let headers: HeaderField[] = [];
  let text = '';
  let htmlSource: string | null = null;
  let truncated = false;
  try {
    const parsed = await simpleParser(raw, { skipTextToHtml: true, skipImageLinks: true, keepCidLinks: true, checksumAlgo: false });
    headers = (parsed.headerLines ?? []).map((h) => decodeHeaderLine(h.line, decodeWords));
    const html = typeof parsed.html === 'string' ? parsed.html : null;
    text = parsed.text?.trim() ? parsed.text : html ? htmlToPlainText(html) : '';
    htmlSource = html;
  } catch {
    // A message mailparser cannot read: show its header block as text, the rest is in the raw view.
    const head = raw.subarray(0, Math.min(raw.length, 256 * 1024)).toString('utf8');
    const end = head.search(/\r?\n\r?\n/);
    headers = (end >= 0 ? head.slice(0, end) : head)
      .split(/\r?\n(?![ \t])/)
      .filter((l) => l.includes(':'))
      .map((line) => decodeHeaderLine(line, decodeWords));
    text = '';
  }
  if (text.length > DETAIL_TEXT_CHARS) (text = text.slice(0, DETAIL_TEXT_CHARS)), (truncated = true);
  if (htmlSource && htmlSource.length > DETAIL_TEXT_CHARS) (htmlSource = htmlSource.slice(0, DETAIL_TEXT_CHARS)), (truncated = true);
  return { ...base, headers, text, htmlSource, truncated };
}
