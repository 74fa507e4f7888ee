/**
 * The import's pure parts: what is kept of a parsed message, the dedupe key,
 * when a message counts as unreadable, UID sets, how far the folder state
 * may advance, the reconnect backoff and handoff file names.
 */
import { describe, expect, it } from 'vitest';
import {
  dedupeKey,
  formatAddresses,
  htmlToPlainText,
  normalizeMessageId,
  snippetOf,
  summarize,
  type ParsedMessage,
} from '../../src-main/engine/inbox/message-summary';
import { committedThrough, uidSet } from '../../src-main/engine/inbox/importer';
import { BACKOFF_FIRST_MS, BACKOFF_MAX_MS, reconnectDelay } from '../../src-main/engine/inbox/backoff';
import { handoffFileName } from '../../src-main/engine/inbox/handoff';

function parsed(over: Partial<ParsedMessage> = {}): ParsedMessage {
  return {
    headerCount: 5,
    hasDateHeader: true,
    from: [{ name: 'Ann Lee', address: 'ann@example.com' }],
    to: [{ name: '', address: 'support@example.com' }],
    cc: null,
    subject: 'Printer broken',
    date: Date.UTC(2025, 10, 25, 10, 0, 0),
    messageId: '<abc@example.com>',
    text: 'Hello,\n\nthe printer   is broken.',
    html: null,
    attachments: [],
    ...over,
  };
}

describe('Message-ID and dedupe key', () => {
  it('strips angle brackets and keeps the first bracketed id', () => {
    expect(normalizeMessageId('<abc@example.com>')).toBe('abc@example.com');
    expect(normalizeMessageId('  <a@b> (comment) <c@d>')).toBe('a@b');
    expect(normalizeMessageId('plain@id')).toBe('plain@id');
  });

  it('treats blank, <> and ids with spaces as missing', () => {
    for (const value of [undefined, null, '', '   ', '<>', 'has space@x']) expect(normalizeMessageId(value)).toBeNull();
  });

  it('keys by Message-ID, else by the exact bytes', () => {
    expect(dedupeKey('abc@example.com', Buffer.from('x'))).toBe('mid:abc@example.com');
    const a = dedupeKey(null, Buffer.from('same bytes'));
    expect(a).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(dedupeKey(null, Buffer.from('same bytes'))).toBe(a);
    expect(dedupeKey(null, Buffer.from('other bytes'))).not.toBe(a);
  });
});

describe('addresses and text', () => {
  it('formats names, bare addresses and groups', () => {
    expect(formatAddresses([{ name: 'Ann Lee', address: 'ann@example.com' }, { name: '', address: 'bob@example.com' }])).toBe('Ann Lee <ann@example.com>, bob@example.com');
    expect(formatAddresses([{ name: 'Team', group: [{ name: '', address: 'a@x' }, { name: 'B', address: 'b@x' }] }])).toBe('Team: a@x, B <b@x>;');
    expect(formatAddresses([])).toBeNull();
    expect(formatAddresses(null)).toBeNull();
  });

  it('turns HTML into text without scripts, styles or tags', () => {
    const text = htmlToPlainText('<html><head><style>p{color:red}</style></head><body><script>alert(1)</script><p>Caf&eacute;? &amp; tea &#8364;5 &#x41;</p><br>next</body></html>');
    expect(text).not.toMatch(/alert|color|<|>/);
    expect(text).toContain('& tea €5 A');
    expect(text).toContain('next');
  });

  it('makes a one-line snippet from the text, else from the HTML', () => {
    expect(snippetOf({ text: 'Hello,\n\nthe   printer', html: null })).toBe('Hello, the printer');
    expect(snippetOf({ text: '  ', html: '<p>From <b>HTML</b></p>' })).toBe('From HTML');
    expect(snippetOf({ text: 'x'.repeat(500), html: null })).toHaveLength(200);
  });
});

describe('summarize', () => {
  const raw = Buffer.from('From: a@b\r\n\r\nbody\r\n');

  it('keeps the fields of a readable message', () => {
    const s = summarize(raw, { ok: true, parsed: parsed({ attachments: [{ filename: 'a.pdf', contentType: 'application/pdf', size: 1200, disposition: 'attachment' }] }) });
    expect(s).toMatchObject({
      status: 'imported',
      messageId: 'abc@example.com',
      dedupeKey: 'mid:abc@example.com',
      from: 'Ann Lee <ann@example.com>',
      to: 'support@example.com',
      subject: 'Printer broken',
      sentAt: Date.UTC(2025, 10, 25, 10, 0, 0),
      snippet: 'Hello, the printer is broken.',
      errorCode: null,
      warnings: [],
    });
    expect(s.attachments).toEqual([{ filename: 'a.pdf', contentType: 'application/pdf', size: 1200, disposition: 'attachment' }]);
  });

  it('notes what is odd without failing the message', () => {
    const s = summarize(raw, { ok: true, parsed: parsed({ from: null, messageId: null, date: null, text: null }) });
    expect(s.status).toBe('imported');
    expect(s.dedupeKey).toMatch(/^sha256:/);
    expect(s.warnings.join(' ')).toMatch(/No From/);
    expect(s.warnings.join(' ')).toMatch(/No Message-ID/);
    expect(s.warnings.join(' ')).toMatch(/Date header cannot be read/);
    expect(s.warnings.join(' ')).toMatch(/No body text/);
  });

  it('fails an empty message, a message without headers and a parser error, keeping a key', () => {
    expect(summarize(Buffer.alloc(0), { ok: true, parsed: parsed() })).toMatchObject({ status: 'failed', errorCode: 'MESSAGE_EMPTY' });
    expect(summarize(Buffer.from(' \r\n\t\r\n'), { ok: true, parsed: parsed() })).toMatchObject({ status: 'failed', errorCode: 'MESSAGE_EMPTY' });
    const noHeaders = summarize(Buffer.from('just text\r\n'), { ok: true, parsed: parsed({ headerCount: 0, messageId: null }) });
    expect(noHeaders).toMatchObject({ status: 'failed', errorCode: 'MESSAGE_NO_HEADERS' });
    expect(noHeaders.dedupeKey).toMatch(/^sha256:/);
    const broken = summarize(raw, { ok: false, code: 'MESSAGE_PARSE_FAILED', error: 'mailparser could not read the message: boom' });
    expect(broken).toMatchObject({ status: 'failed', errorCode: 'MESSAGE_PARSE_FAILED', error: expect.stringContaining('boom') });
  });
});

describe('UID bookkeeping', () => {
  it('writes compact UID sets', () => {
    expect(uidSet([1, 2, 3, 7, 9, 10])).toBe('1:3,7,9:10');
    expect(uidSet([5, 3, 4, 4])).toBe('3:5');
    expect(uidSet([42])).toBe('42');
  });

  it('advances only over a gap-free prefix of the planned UIDs', () => {
    expect(committedThrough([10, 11, 12, 13], new Set([10, 11, 13]))).toBe(11);
    expect(committedThrough([10, 11, 12], new Set([10, 11, 12]))).toBe(12);
    expect(committedThrough([10, 11], new Set([11]))).toBeNull();
    expect(committedThrough([], new Set())).toBeNull();
  });
});

describe('reconnect backoff', () => {
  it('doubles from 2 s up to 5 minutes, with ±20 % jitter', () => {
    expect(reconnectDelay(0)).toBe(0);
    expect(reconnectDelay(1, 0.5)).toBe(BACKOFF_FIRST_MS);
    expect(reconnectDelay(2, 0.5)).toBe(2 * BACKOFF_FIRST_MS);
    expect(reconnectDelay(3, 0.5)).toBe(4 * BACKOFF_FIRST_MS);
    expect(reconnectDelay(50, 0.5)).toBe(BACKOFF_MAX_MS);
    expect(reconnectDelay(1, 0)).toBe(0.8 * BACKOFF_FIRST_MS);
    expect(reconnectDelay(1, 0.999999)).toBeLessThanOrEqual(1.2 * BACKOFF_FIRST_MS);
    expect(reconnectDelay(50, 1)).toBe(BACKOFF_MAX_MS);
  });
});

describe('handoff file names', () => {
  it('are unique per message, sortable, and valid on Windows', () => {
    const name = handoffFileName('Support: EU/West*', 42, Date.UTC(2025, 10, 25, 10, 5, 7, 123));
    expect(name).toBe('20251125T100507Z-Support_ EU_West_-42.eml');
    expect(name).not.toMatch(/[\\/:*?"<>|]/);
    expect(handoffFileName(null, 1, 0)).toMatch(/-mailbox-1\.eml$/);
  });
});
