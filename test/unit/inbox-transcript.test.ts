/**
 * The debug transcript built from imapflow's raw socket log: lines split
 * across chunks, message literals summarised, small literals shown, hidden
 * sign-in frames marked, and every form of a secret scrubbed. Also the
 * handoff writer and the detail view's header decoding.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Redactor } from '../../src-main/engine/connection-test/transcript';
import { ImapTranscriptRecorder } from '../../src-main/engine/inbox/transcript-capture';
import { writeHandoffFile } from '../../src-main/engine/inbox/handoff';
import { decodeHeaderLine, messageDetail } from '../../src-main/engine/inbox/message-detail';
import type { StoredMessage } from '../../src-main/store/inbox-repo';
import { tempDir } from '../helpers/temp';

const b64 = (s: string | Buffer) => Buffer.from(s).toString('base64');

describe('IMAP transcript', () => {
  it('splits server bytes into lines and summarises message literals', () => {
    let now = 1000;
    const rec = new ImapTranscriptRecorder(1000, new Redactor(), () => now);
    const log = rec.logger();
    const body = 'From: a@b\r\nSubject: hi\r\n\r\n' + 'x'.repeat(3000) + '\r\n';
    const server = `* 1 FETCH (UID 7 BODY[] {${Buffer.byteLength(body)}}\r\n${body} INTERNALDATE "25-Nov-2025 10:00:00 +0000")\r\nA5 OK Fetch completed.\r\n`;
    // Delivered in awkward chunks, as a socket does.
    const bytes = Buffer.from(server);
    for (let i = 0; i < bytes.length; i += 700) {
      now += 1;
      log.trace!({ src: 's', msg: 'read from socket', data: b64(bytes.subarray(i, i + 700)) });
    }
    const lines = rec.lines();
    expect(lines.map((l) => l.text)).toEqual([
      `* 1 FETCH (UID 7 BODY[] {${Buffer.byteLength(body)}}`,
      `[${Buffer.byteLength(body).toLocaleString('en-US')} bytes of message data, stored with the message, not repeated here]`,
      ' INTERNALDATE "25-Nov-2025 10:00:00 +0000")',
      'A5 OK Fetch completed.',
    ]);
    expect(lines.every((l) => l.t >= 1)).toBe(true);
  });

  it('shows small literals, marks hidden sign-in frames, and scrubs secrets in every form', () => {
    const redactor = new Redactor();
    const password = 'Tr0ub4dor&3-very-secret';
    redactor.add(password, b64(`\0user@x\0${password}`));
    const rec = new ImapTranscriptRecorder(0, redactor, () => 5);
    const log = rec.logger();
    log.trace!({ src: 'c', msg: 'write to socket', data: b64('A1 LOGIN user@x "secret"\r\n'), hidden: true });
    log.trace!({ src: 'c', msg: 'write to socket', data: b64(`A2 ECHO ${password} ${b64(password)}\r\n`) });
    log.trace!({ src: 's', msg: 'read from socket', data: b64(`* LIST () "/" {7}\r\nSupport\r\nA3 OK ${b64(`\0user@x\0${password}`)}\r\n`) });
    log.info({ src: 'tls', msg: 'Established TLS session', version: 'TLSv1.3', algo: 'TLS_AES_256_GCM_SHA384' });
    const text = JSON.stringify(rec.lines());
    expect(text).not.toContain(password);
    expect(text).not.toContain(b64(password));
    expect(text).not.toContain(b64(`\0user@x\0${password}`));
    expect(rec.lines().map((l) => `${l.dir} ${l.text}`)).toEqual([
      'C [sign-in data hidden]',
      'C A2 ECHO [redacted] [redacted]',
      'S * LIST () "/" {7}',
      'S Support',
      'S A3 OK [redacted]',
      'info Established TLS session (TLSv1.3, TLS_AES_256_GCM_SHA384)',
    ]);
  });
});

describe('handoff writer', () => {
  it('writes the file whole under its final name and leaves no temporary file', () => {
    const dir = tempDir();
    const raw = Buffer.from('From: a@b\r\n\r\nbody\r\n');
    const written = writeHandoffFile(dir, 'm-1.eml', raw);
    expect(written).toBe(path.join(dir, 'm-1.eml'));
    expect(fs.readFileSync(written)).toEqual(raw);
    expect(fs.readdirSync(dir)).toEqual(['m-1.eml']);
  });

  it('says which folder to create when it is missing', () => {
    const dir = path.join(tempDir(), 'missing');
    expect(() => writeHandoffFile(dir, 'm.eml', Buffer.from('x'))).toThrow(expect.objectContaining({ code: 'HANDOFF_FAILED', hint: expect.stringContaining(`Create the folder ${dir}`) }));
  });
});

describe('message detail', () => {
  const stored = (over: Partial<StoredMessage> = {}): StoredMessage => ({
    id: 1, mailboxId: 1, mailboxName: 'Support', status: 'imported', folder: 'INBOX', uidValidity: 1, uid: 1, messageId: null, from: null, to: null, cc: null,
    subject: null, sentAt: null, receivedAt: null, importedAt: 0, size: 0, attachmentCount: 0, attachments: [], warnings: [], snippet: '', action: 'mark-seen',
    actionState: 'done', actionError: null, actionAttempts: 1, handoffState: 'none', handoffPath: null, handoffError: null, handoffAttempts: 0, errorCode: null,
    error: null, duplicateOf: null, sharesMessageIdWith: null, pollId: null, rawKept: true, contentKey: null, ...over,
  });

  it('decodes encoded words in header lines', () => {
    const decode = (v: string) => v.replace('=?utf-8?Q?caf=C3=A9?=', 'café');
    expect(decodeHeaderLine('Subject: =?utf-8?Q?caf=C3=A9?=\r\n  folded', decode)).toEqual({ name: 'Subject', value: 'café folded' });
  });

  it('gives the HTML only as source text, and text made from it', async () => {
    const raw = Buffer.from('From: a@b\r\nSubject: =?utf-8?B?w6nDqMOg?=\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<p onclick="x()">Hello <b>there</b></p><script>alert(1)</script>\r\n');
    const d = await messageDetail(stored(), raw);
    expect(d.headers).toContainEqual({ name: 'Subject', value: 'éèà' });
    expect(d.htmlSource).toContain('<script>alert(1)</script>');
    expect(d.text).toMatch(/Hello/);
    expect(d.text).not.toMatch(/alert|<b>/);
  });
});
