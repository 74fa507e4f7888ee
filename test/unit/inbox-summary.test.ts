/**
 * The import's pure parts: what is kept of a parsed message, the content key
 * and the dedupe rule (the same message is a duplicate; a different one that
 * reuses a Message-ID is not), when a message counts as unreadable, UID sets,
 * how far the folder state may advance, the reconnect backoff and handoff
 * file names.
 */
import crypto from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  DedupeIndex,
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
import { contentBelowTrace, contentKey, messageDigests, rawDigest } from '../../src-main/store/inbox-content';

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

});

const MESSAGE = ['From: Ann <ann@example.com>', 'To: support@example.com', 'Subject: Printer', 'Message-ID: <sameid-del@ext.test>', '', 'Body one.', ''].join('\r\n');
const sha = (text: string) => crypto.createHash('sha256').update(text).digest('hex');

describe('content key: what makes two copies the same message', () => {
  it('is the SHA-256 of the bytes below the leading trace fields', () => {
    const delivered = `Return-Path: <ann@example.com>\r\nDelivered-To: support@example.com\r\nReceived: from mx.example.com (mx.example.com [192.0.2.1])\r\n\tby imap.example.test with LMTP; Tue, 25 Nov 2025 10:00:00 +0000\r\nX-Original-To: support@example.com\r\n${MESSAGE}`;
    expect(contentBelowTrace(Buffer.from(delivered)).toString()).toBe(MESSAGE);
    expect(contentKey(Buffer.from(delivered))).toBe(sha(MESSAGE));
    expect(contentKey(Buffer.from(MESSAGE))).toBe(sha(MESSAGE));
    // A re-delivery through other servers: other trace fields, same message.
    const again = `Received: from other.example.net by mx2.example.test; Wed, 26 Nov 2025 09:00:00 +0000\r\nAuthentication-Results: mx2.example.test; spf=pass\r\nReceived : (obsolete spacing)\r\n${MESSAGE}`;
    expect(contentKey(Buffer.from(again))).toBe(contentKey(Buffer.from(delivered)));
    // The raw digest is of the exact bytes: each copy keeps its own.
    expect(rawDigest(Buffer.from(again))).not.toBe(rawDigest(Buffer.from(delivered)));
    expect(rawDigest(Buffer.from(MESSAGE))).toBe(sha(MESSAGE));
  });

  it('gives both keys in one call, hashing once when no trace field is on top', () => {
    for (const text of [MESSAGE, `Received: by mx\r\n${MESSAGE}`, '']) {
      const raw = Buffer.from(text);
      expect(messageDigests(raw)).toEqual({ rawSha256: rawDigest(raw), contentKey: contentKey(raw) });
    }
  });

  it('keeps every byte from the first field that is not a trace field on, trace fields further down included', () => {
    const inner = `Subject: x\r\nReceived: later one\r\n\r\nbody`;
    expect(contentBelowTrace(Buffer.from(`Received: a\r\n${inner}`)).toString()).toBe(inner);
    expect(contentKey(Buffer.from(inner))).not.toBe(contentKey(Buffer.from('Subject: x\r\n\r\nbody')));
    // A body that differs by one byte, or by its line ends, is another message.
    expect(contentKey(Buffer.from(MESSAGE))).not.toBe(contentKey(Buffer.from(MESSAGE.replace('one', 'two'))));
    expect(contentKey(Buffer.from(MESSAGE))).not.toBe(contentKey(Buffer.from(MESSAGE.replace(/\r\n/g, '\n'))));
  });

  it('handles odd starts without skipping content', () => {
    for (const text of ['', 'Received: no line end', 'not a header\r\n', ' folded: first\r\n\r\n', '\r\nbody', 'Received\r\n\r\nbody', 'Recei ved: x\r\n']) {
      const raw = Buffer.from(text);
      expect(contentBelowTrace(raw).toString(), JSON.stringify(text)).toBe(text);
    }
    // Only trace fields and a body: the content is the blank line and the body.
    expect(contentBelowTrace(Buffer.from('Received: a\n\tb\nDelivered-To: c\n\nbody')).toString()).toBe('\nbody');
    // Bytes that are not UTF-8 are compared as bytes.
    const eightBit = Buffer.concat([Buffer.from('Received: \xff\r\n', 'latin1'), Buffer.from('Subject: \xe9\r\n\r\n', 'latin1')]);
    expect(contentBelowTrace(eightBit)).toEqual(Buffer.from('Subject: \xe9\r\n\r\n', 'latin1'));
  });
});

describe('the dedupe rule', () => {
  const A = { id: 10, messageId: 'sameid-del@ext.test', contentKey: sha('body A') };

  it('calls a message a duplicate only when it is the same message (same content, so the same Message-ID)', () => {
    const index = new DedupeIndex([A]);
    expect(index.classify({ messageId: 'sameid-del@ext.test', contentKey: sha('body A') })).toEqual({ kind: 'duplicate', of: 10 });
  });

  it('imports a different message that reuses a Message-ID, marked as sharing it with the first', () => {
    const index = new DedupeIndex([A, { id: 12, messageId: 'sameid-del@ext.test', contentKey: sha('body C') }]);
    expect(index.classify({ messageId: 'sameid-del@ext.test', contentKey: sha('body B') })).toEqual({ kind: 'new', sharesMessageIdWith: 10 });
    // And its own resend is a duplicate of it, not of the first.
    expect(index.classify({ messageId: 'sameid-del@ext.test', contentKey: sha('body C') })).toEqual({ kind: 'duplicate', of: 12 });
  });

  it('imports a message with a new Message-ID, and dedupes one without any by content alone', () => {
    const index = new DedupeIndex([A, { id: 11, messageId: null, contentKey: sha('no id') }]);
    expect(index.classify({ messageId: 'fresh@x', contentKey: sha('fresh') })).toEqual({ kind: 'new', sharesMessageIdWith: null });
    expect(index.classify({ messageId: null, contentKey: sha('no id') })).toEqual({ kind: 'duplicate', of: 11 });
    expect(index.classify({ messageId: null, contentKey: sha('no id either') })).toEqual({ kind: 'new', sharesMessageIdWith: null });
  });

  it('learns from the batch as it goes: the first stored copy is the original', () => {
    const index = new DedupeIndex();
    const first = { messageId: 'm@x', contentKey: sha('1') };
    expect(index.classify(first)).toEqual({ kind: 'new', sharesMessageIdWith: null });
    index.add({ id: 5, ...first });
    expect(index.classify(first)).toEqual({ kind: 'duplicate', of: 5 });
    expect(index.classify({ messageId: 'm@x', contentKey: sha('2') })).toEqual({ kind: 'new', sharesMessageIdWith: 5 });
    // Whatever order rows arrive in, the lowest id is the one pointed at.
    const out = new DedupeIndex([{ id: 9, messageId: 'm@x', contentKey: sha('1') }, { id: 3, messageId: 'm@x', contentKey: sha('3') }]);
    expect(out.classify({ messageId: 'm@x', contentKey: sha('4') })).toEqual({ kind: 'new', sharesMessageIdWith: 3 });
  });

  it('agrees with the summary: two messages with one Message-ID and different bodies get different keys, a re-delivery the same', () => {
    const other = MESSAGE.replace('Body one.', 'Body two.');
    const ok = (raw: string) => summarize(Buffer.from(raw), { ok: true, parsed: parsed({ messageId: '<sameid-del@ext.test>' }) });
    expect(ok(MESSAGE).messageId).toBe(ok(other).messageId);
    expect(ok(MESSAGE).contentKey).not.toBe(ok(other).contentKey);
    expect(ok(`Received: by mx; Tue, 25 Nov 2025 10:00:00 +0000\r\n${MESSAGE}`).contentKey).toBe(ok(MESSAGE).contentKey);
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
      contentKey: sha('From: a@b\r\n\r\nbody\r\n'),
      rawSha256: sha('From: a@b\r\n\r\nbody\r\n'),
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
    expect(s.contentKey).toBe(sha('From: a@b\r\n\r\nbody\r\n'));
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
    expect(noHeaders.contentKey).toBe(sha('just text\r\n'));
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
