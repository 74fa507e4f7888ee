/**
 * The POP3 import's pure pieces: dot-stuffing undone byte for byte, and
 * POP3 errors diagnosed by the connection test's rules (the same code for
 * the same fault in a test and an import), fed with real server replies.
 */
import { describe, expect, it } from 'vitest';
import type { Mailbox } from '../../src-main/shared/mailbox';
import { diagnoseImportError } from '../../src-main/engine/inbox/import-diagnosis';
import { Pop3Error, unstuff } from '../../src-main/engine/inbox/pop3-client';

const mailbox: Mailbox = {
  id: 1,
  name: 'Support',
  address: 'support@example.test',
  enabled: true,
  preset: 'generic',
  imap: { host: 'imap.example.test', port: 993, security: 'tls', username: 'support@example.test', auth: 'password', folder: 'INBOX', afterImport: 'mark-seen', pollIntervalSeconds: 60 },
  smtp: { host: 'smtp.example.test', port: 587, security: 'starttls', username: 'support@example.test', auth: 'password' },
  receiveVia: 'pop3',
  sendVia: 'smtp',
  pop3: { host: 'pop.example.test', port: 995, security: 'tls', username: 'support@example.test', auth: 'password', afterImport: 'leave' },
  graph: { saveToSentItems: true },
  passwordSet: true,
  smtpPasswordSet: false,
  createdAt: 0,
  updatedAt: 0,
};

describe('POP3 dot-stuffing', () => {
  it.each([
    ['no dots', 'a\r\nb\r\n', 'a\r\nb\r\n'],
    ['a stuffed first line', '..a\r\nb\r\n', '.a\r\nb\r\n'],
    ['a stuffed later line', 'a\r\n..b\r\n', 'a\r\n.b\r\n'],
    ['a line that was a lone dot', 'a\r\n..\r\nb\r\n', 'a\r\n.\r\nb\r\n'],
    ['several in a row', '...\r\n..\r\n..x\r\n', '..\r\n.\r\n.x\r\n'],
    ['a dot inside a line', 'a.b\r\nc .\r\n', 'a.b\r\nc .\r\n'],
    ['empty', '', ''],
  ])('%s', (_name, wire, message) => {
    expect(unstuff(Buffer.from(wire, 'latin1')).toString('latin1')).toBe(message);
  });

  it('keeps 8-bit bytes as they are', () => {
    const wire = Buffer.concat([Buffer.from('..'), Buffer.from([0xe9, 0xff, 0x00, 0x80]), Buffer.from('\r\n')]);
    expect([...unstuff(wire)]).toEqual([0x2e, 0xe9, 0xff, 0x00, 0x80, 0x0d, 0x0a]);
  });
});

describe('POP3 import diagnosis (the connection test\'s rules)', () => {
  it.each([
    ['a server without UIDL', new Pop3Error('missing', 'uidl', 'no UIDL', { code: 'POP3_NO_UIDL', reply: '-ERR Unknown command: UIDL', missing: 'UIDL' }), 'select', 'POP3_NO_UIDL'],
    ['Dovecot refusing the password', new Pop3Error('reply', 'auth', 'refused', { reply: '-ERR [AUTH] Authentication failed.' }), 'connect', 'AUTH_FAILED'],
    ['Exchange refusing the password', new Pop3Error('reply', 'auth', 'refused', { reply: '-ERR Logon failure: unknown user name or bad password.' }), 'connect', 'AUTH_FAILED'],
    ['a maildrop locked by another client', new Pop3Error('reply', 'auth', 'refused', { reply: "-ERR [IN-USE] Couldn't open INBOX: Mailbox is locked" }), 'connect', 'MAILDROP_LOCKED'],
    ['plaintext refused before STLS', new Pop3Error('reply', 'auth', 'refused', { reply: '-ERR [AUTH] Plaintext authentication disallowed on non-secure (SSL/TLS) connections.' }), 'connect', 'AUTH_REQUIRES_TLS'],
    ['a temporary failure', new Pop3Error('reply', 'auth', 'refused', { reply: '-ERR [SYS/TEMP] Temporary system problem. Please try again later.' }), 'connect', 'SERVER_TEMPORARY'],
    ['a connection refused', new Pop3Error('connect', 'tcp', 'connect ECONNREFUSED', { code: 'ECONNREFUSED' }), 'connect', 'TCP_REFUSED'],
    ['an expired certificate', new Pop3Error('tls', 'tls', 'certificate has expired', { code: 'CERT_HAS_EXPIRED' }), 'connect', 'TLS_CERT_EXPIRED'],
    ['a connection cut during RETR', new Pop3Error('closed', 'retr', 'The server closed the connection.', { code: 'ECONNRESET' }), 'fetch', 'CONNECTION_DROPPED'],
    ['a server that stops answering during RETR', new Pop3Error('timeout', 'retr', 'silent', { code: 'ETIMEDOUT' }), 'fetch', 'TIMEOUT'],
  ] as const)('%s', (_name, error, phase, code) => {
    const d = diagnoseImportError(error, phase, mailbox);
    expect(d.code).toBe(code);
    expect(d.message).not.toMatch(/the (select|stat) step/);
  });

  it('names the POP3 server and the phase of the import', () => {
    const d = diagnoseImportError(new Pop3Error('closed', 'retr', 'closed', { code: 'ECONNRESET' }), 'fetch', mailbox);
    expect(d.message).toMatch(/while downloading messages/);
    const auth = diagnoseImportError(new Pop3Error('reply', 'auth', 'refused', { reply: '-ERR [AUTH] Authentication failed.' }), 'connect', mailbox);
    expect(auth.message).toContain('support@example.test');
    expect(auth.serverReply).toBe('-ERR [AUTH] Authentication failed.');
  });
});
