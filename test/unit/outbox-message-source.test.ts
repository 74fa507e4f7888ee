/**
 * What the outbox keeps of a message: composed MIME (nodemailer's
 * MailComposer) or a raw message completed with a fixed Message-ID and a
 * Date, Bcc removed, recipients read from the envelope or the headers; and
 * the queue id in real servers' acceptance replies.
 */
import { describe, expect, it } from 'vitest';
import { composeMessage, decodeEncodedWords, headerBlock, prepareRawMessage } from '../../src-main/engine/outbox/message-source';
import { firstReplyLine, queueIdFromReply } from '../../src-main/engine/outbox/smtp-reply';

const mailbox = { address: 'support@example.test' };

describe('composed messages', () => {
  it('builds MIME with the mailbox as sender, a Message-ID in its domain, and no Bcc header', async () => {
    const m = await composeMessage(mailbox, { to: ['a@example.net'], cc: ['b@example.net'], bcc: ['c@example.net'], subject: 'Grüße', text: 'Hallo', fromName: 'Help Desk' }, Date.UTC(2026, 0, 2));
    const text = m.raw.toString('utf8');
    expect(m.messageId).toMatch(/^[0-9a-f-]{36}@example\.test$/);
    expect(text).toContain(`Message-ID: <${m.messageId}>`);
    expect(text).toMatch(/^From: Help Desk <support@example\.test>/m);
    expect(text).not.toMatch(/^Bcc:/im);
    expect(m.recipients).toEqual(['a@example.net', 'b@example.net', 'c@example.net']);
    expect(text).toContain('Date: Fri, 02 Jan 2026');
    expect(m.subject).toBe('Grüße');
  });
});

describe('raw messages', () => {
  const raw = (text: string) => Buffer.from(text, 'utf8');

  it('keeps an existing Message-ID and every header byte for byte', () => {
    const input = 'From: App <app@example.test>\r\nTo: x@example.net\r\nSubject: Report\r\nMessage-ID: <abc-1@example.test>\r\nDate: Wed, 25 Nov 2026 10:00:00 +0000\r\nX-Custom: keep me\r\n\r\nBody\r\n';
    const m = prepareRawMessage(mailbox, raw(input));
    expect(m.messageId).toBe('abc-1@example.test');
    expect(m.raw.toString('utf8')).toBe(input);
    expect(m.recipients).toEqual(['x@example.net']);
  });

  it('adds a Message-ID, a Date and a From when missing', () => {
    const m = prepareRawMessage(mailbox, raw('To: x@example.net\r\nSubject: s\r\n\r\nb\r\n'), { now: Date.UTC(2026, 10, 25, 10) });
    const text = m.raw.toString('utf8');
    expect(text).toContain(`Message-ID: <${m.messageId}>`);
    expect(text).toContain('Date: Wed, 25 Nov 2026 10:00:00 +0000');
    expect(text).toContain('From: support@example.test');
  });

  it('removes Bcc (also folded) but keeps its addresses as recipients, without duplicates', () => {
    const m = prepareRawMessage(mailbox, raw('To: A <a@example.net>, b@example.net\r\nCc: a@example.net\r\nBcc: hidden@example.net,\r\n  other@example.net\r\nSubject: s\r\n\r\nb\r\n'));
    expect(m.recipients).toEqual(['a@example.net', 'b@example.net', 'hidden@example.net', 'other@example.net']);
    expect(m.raw.toString('utf8')).not.toMatch(/hidden@|^Bcc/im);
  });

  it('uses the envelope recipients when given (a relay submission)', () => {
    const m = prepareRawMessage(mailbox, raw('To: list@example.net\r\nSubject: s\r\n\r\nb\r\n'), { envelopeTo: ['one@example.net', 'two@example.net'] });
    expect(m.recipients).toEqual(['one@example.net', 'two@example.net']);
  });

  it('keeps a file\'s LF line ends as the file has them, and writes what it adds with the same line end', () => {
    const input = 'To: x@example.net\nSubject: s\n\nline one\nline two\n';
    const m = prepareRawMessage(mailbox, raw(input), { now: Date.UTC(2026, 10, 25, 10) });
    expect(m.raw.toString('utf8')).toBe(`Message-ID: <${m.messageId}>\nDate: Wed, 25 Nov 2026 10:00:00 +0000\nFrom: support@example.test\n${input}`);
  });

  it('decodes an encoded subject for display', () => {
    expect(decodeEncodedWords('=?utf-8?B?w5xiZXJzaWNodA==?=')).toBe('Übersicht');
    expect(decodeEncodedWords('=?iso-8859-1?Q?Gr=FC=DFe_aus_K=F6ln?=')).toBe('Grüße aus Köln');
    expect(decodeEncodedWords('=?utf-8?Q?a?= =?utf-8?Q?b?=')).toBe('ab');
  });

  it.each([
    ['an empty file', '', /empty/],
    ['a leading mbox separator', 'From app@example.test Mon Jan  5 10:00:00 2026\r\nTo: x@example.net\r\n\r\nb', /line 1 "From app@example\.test Mon Jan  5 10:00:00 2026" is an mbox separator, not a header/],
    ['a first line that is not a header', 'Hello there\r\nTo: x@example.net\r\n\r\nb', /line 1 "Hello there" is not a header field/],
    ['header lines without an end', `To: x@example.net\r\nX-Big: ${'a'.repeat(300 * 1024)}\r\n\r\nb`, /header lines are longer than 256 KB/],
    ['no recipient', 'Subject: s\r\n\r\nb', /no recipient/],
    ['a broken address', 'To: not an address\r\n\r\nb', /not an email address/],
  ])('refuses %s, naming the file and what to change', (_what, text, message) => {
    let error: { code?: string; message?: string; hint?: string } | undefined;
    try {
      prepareRawMessage(mailbox, raw(text), { sourceName: 'scan.eml' });
    } catch (e) {
      error = e as typeof error;
    }
    expect(error?.code).toBe('MESSAGE_INVALID');
    expect(error?.message).toMatch(/^scan\.eml: /);
    expect(error?.message).toMatch(message);
    expect(error?.hint).toBeTruthy();
  });

  it('shows the header block only', () => {
    expect(headerBlock(raw('To: x@example.net\r\nSubject: s\r\n\r\nsecret body'))).toBe('To: x@example.net\r\nSubject: s\r\n');
  });
});

describe('acceptance replies of real servers', () => {
  it.each([
    ['250 2.6.0 <78B6CE84@9f65051a73e4> [InternalId=130184753713403, Hostname=DBXPR04MB317.eurprd04.prod.outlook.com] 8273 bytes in 0.296, 27.285 KB/sec Queued mail for delivery', '130184753713403'],
    ['250 2.0.0 Ok: queued as E8ABB3AD5C', 'E8ABB3AD5C'],
    ['250 Ok: queued as nhIMmON9SFOPcT0ii4nt2A', 'nhIMmON9SFOPcT0ii4nt2A'],
    ['250 2.0.0 Ok: queued on smtp3m.mail.yandex.net as 1430081058-6ltgNFKSir-iHEKdOrm', '1430081058-6ltgNFKSir-iHEKdOrm'],
    ['250 OK id=1qABCD-000123-AB', '1qABCD-000123-AB'],
    ['250 2.0.0 OK  1563283839 a5sm28465622pfo.178 - gsmtp', 'a5sm28465622pfo.178'],
    ['250 2.0.0 x8ABCDEF012345 Message accepted for delivery', 'x8ABCDEF012345'],
  ])('reads the queue id of %s', (reply, id) => {
    expect(queueIdFromReply(reply)).toBe(id);
  });

  it('gives none when the server names none', () => {
    expect(queueIdFromReply('250 Accepted')).toBeNull();
    expect(queueIdFromReply(null)).toBeNull();
  });

  it('keeps the first line of a multi-line reply', () => {
    expect(firstReplyLine('\n250-first\n250 second')).toBe('250-first');
  });
});

/**
 * What an application or an admin hands over is what goes out: the header
 * lines the outbox cannot read are kept, never dropped; what cannot go out
 * as it is is refused, naming the line (issue 12 item 2).
 */
describe('raw messages keep their bytes', () => {
  const bytes = (text: string) => Buffer.from(text, 'latin1');
  const full = 'Message-ID: <keep-1@example.test>\r\nDate: Wed, 25 Nov 2026 10:00:00 +0000\r\nFrom: App <app@example.test>\r\nTo: x@example.net\r\n';

  it.each([
    ['a space before the colon (obsolete syntax)', 'Subject : spaced colon\r\n'],
    ['an X- field with a space before the colon', 'X-Obs : observed value\r\n'],
    ['an 8-bit field name and its continuation line', 'X-Gr\xfc\xdfe: hallo\r\n  continued on the next line\r\n'],
    ['a line that is not a field at all', 'this is not a header\r\n'],
    ['a field of 1200 characters', `X-Long: ${'y'.repeat(1200)}\r\n`],
  ])('keeps %s byte for byte', (_what, extra) => {
    const input = bytes(`${full}${extra}Subject: after\r\n\r\nBody with 8-bit \xe9 text\r\nFrom the start of a line\r\n.\r\n`);
    const m = prepareRawMessage(mailbox, input, { lineEnds: 'smtp' });
    expect(m.raw.equals(input)).toBe(true);
  });

  it('reads a Subject written with a space before the colon', () => {
    const m = prepareRawMessage(mailbox, bytes(`${full}Subject : spaced colon\r\n\r\nb\r\n`));
    expect(m.subject).toBe('spaced colon');
  });

  it('puts the trace fields and only what is missing on top, and removes only Bcc', () => {
    const input = bytes('To: x@example.net\r\nBcc: hidden@example.net,\r\n  other@example.net\r\nX-Odd : v\r\n\r\nb\r\n');
    const m = prepareRawMessage(mailbox, input, { lineEnds: 'smtp', trace: ['Received: from scanner ([127.0.0.1]) by relay; Wed, 25 Nov 2026 10:00:00 +0000'], now: Date.UTC(2026, 10, 25, 10) });
    expect(m.raw.toString('latin1')).toBe(
      `Received: from scanner ([127.0.0.1]) by relay; Wed, 25 Nov 2026 10:00:00 +0000\r\nMessage-ID: <${m.messageId}>\r\nDate: Wed, 25 Nov 2026 10:00:00 +0000\r\nFrom: support@example.test\r\nTo: x@example.net\r\nX-Odd : v\r\n\r\nb\r\n`,
    );
  });

  it.each([
    ['a bare LF in the body', `${full}\r\nline one\nline two\r\n`, /^Line 6 "line one" ends with a bare LF/],
    ['a bare LF in the headers', `${full}Subject: s\n\r\nb\r\n`, /^Line 5 "Subject: s" ends with a bare LF/],
    ['a bare CR', `${full}\r\nline\rmore\r\n`, /^Line 6 "line\?more" ends with a bare CR/],
  ])('refuses %s in an SMTP submission, naming the line', (_what, text, message) => {
    let error: { code?: string; message?: string } | undefined;
    try {
      prepareRawMessage(mailbox, bytes(text), { lineEnds: 'smtp' });
    } catch (e) {
      error = e as typeof error;
    }
    expect(error?.code).toBe('MESSAGE_INVALID');
    expect(error?.message).toMatch(message);
  });
});

describe('sending as the mailbox (a relay account set to "mailbox")', () => {
  const bytes = (text: string) => Buffer.from(text, 'latin1');

  it('replaces only the From: the display name is kept, the original value (folded, 8-bit) becomes the Reply-To, Sender goes', () => {
    const input = bytes('To: x@example.net\r\nFrom: =?utf-8?Q?Scanner_Gr=C3=BC=C3=9Fe?=\r\n <scanner@printer.local>\r\nSender: other@printer.local\r\nSubject : kept\r\n\r\nbody\r\n');
    const m = prepareRawMessage(mailbox, input, { lineEnds: 'smtp', sendAs: 'support@example.test', now: 0 });
    const text = m.raw.toString('latin1');
    expect(text.slice(text.indexOf('To: '))).toBe('To: x@example.net\r\nFrom: =?utf-8?Q?Scanner_Gr=C3=BC=C3=9Fe?= <support@example.test>\r\nReply-To: =?utf-8?Q?Scanner_Gr=C3=BC=C3=9Fe?=\r\n <scanner@printer.local>\r\nSubject : kept\r\n\r\nbody\r\n');
    expect(m.fromRewrite).toMatchObject({ from: '=?utf-8?Q?Scanner_Gr=C3=BC=C3=9Fe?= <support@example.test>', replyTo: 'added', senderRemoved: true });
  });

  it('keeps a Reply-To the message has, and quotes a display name that needs it', () => {
    const input = bytes('From: "Scanner, 3rd floor" <scanner@printer.local>\r\nReply-To: desk@printer.local\r\nTo: x@example.net\r\n\r\nb\r\n');
    const m = prepareRawMessage(mailbox, input, { sendAs: 'support@example.test' });
    expect(m.raw.toString('latin1')).toContain('From: "Scanner, 3rd floor" <support@example.test>\r\nReply-To: desk@printer.local\r\nTo: x@example.net\r\n');
    expect(m.fromRewrite?.replyTo).toBe('kept');
  });

  it('changes nothing of the bytes without the choice', () => {
    const input = bytes('From: scanner@printer.local\r\nSender: other@printer.local\r\nTo: x@example.net\r\nMessage-ID: <a@b>\r\nDate: Wed, 25 Nov 2026 10:00:00 +0000\r\n\r\nb\r\n');
    expect(prepareRawMessage(mailbox, input).raw.equals(input)).toBe(true);
  });
});
