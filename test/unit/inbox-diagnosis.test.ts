/**
 * Import errors get their diagnosis from the one rule set of the connection
 * tests: each error shape imapflow raises (socket, TLS, DNS, a refused
 * sign-in with a real server reply, a missing folder, a dropped connection
 * mid-download) maps to the facts those rules read, and so to one code and
 * a hint. Mailroom's own errors keep their code.
 */
import { describe, expect, it } from 'vitest';
import { AppError } from '../../src-main/shared/errors';
import type { Mailbox } from '../../src-main/shared/mailbox';
import { diagnoseImportError, importFailureFacts } from '../../src-main/engine/inbox/import-diagnosis';

const mailbox: Mailbox = {
  id: 1,
  name: 'Support',
  address: 'support@example.test',
  enabled: true,
  preset: 'generic',
  imap: { host: 'imap.example.test', port: 993, security: 'tls', username: 'support@example.test', auth: 'password', folder: 'INBOX', afterImport: 'mark-seen', pollIntervalSeconds: 60 },
  smtp: { host: 'smtp.example.test', port: 587, security: 'starttls', username: 'support@example.test', auth: 'password' },
  receiveVia: 'imap',
  sendVia: 'smtp',
  pop3: null,
  graph: { saveToSentItems: true },
  passwordSet: true,
  smtpPasswordSet: false,
  createdAt: 0,
  updatedAt: 0,
};

const err = (message: string, fields: Record<string, unknown>) => Object.assign(new Error(message), fields);

describe('import diagnosis', () => {
  it.each([
    ['connection refused', 'connect', err('connect ECONNREFUSED 127.0.0.1:993', { code: 'ECONNREFUSED' }), 'TCP_REFUSED'],
    ['unknown host', 'connect', err('getaddrinfo ENOTFOUND imap.example.test', { code: 'ENOTFOUND' }), 'DNS_NOT_FOUND'],
    ['expired certificate', 'connect', err('certificate has expired', { code: 'CERT_HAS_EXPIRED' }), 'TLS_CERT_EXPIRED'],
    ['self-signed certificate', 'connect', err('self-signed certificate', { code: 'DEPTH_ZERO_SELF_SIGNED_CERT' }), 'TLS_CERT_UNTRUSTED'],
    ['no greeting', 'connect', err('Failed to receive greeting from server in required time', { code: 'GREETING_TIMEOUT' }), 'GREETING_TIMEOUT'],
    [
      'Dovecot refuses the password',
      'connect',
      err('Authentication failed.', { authenticationFailed: true, serverResponseCode: 'AUTHENTICATIONFAILED', response: 'Authentication failed.' }),
      'AUTH_FAILED',
    ],
    [
      'Microsoft 365 refuses basic authentication',
      'connect',
      err('Command failed', { authenticationFailed: true, response: 'AUTHENTICATE failed. basic authentication is disabled.' }),
      'BASIC_AUTH_DISABLED',
    ],
    [
      'Gmail wants an app password',
      'connect',
      err('Command failed', { authenticationFailed: true, response: '[ALERT] Application-specific password required: https://support.google.com/accounts/answer/185833 (Failure)' }),
      'BASIC_AUTH_DISABLED',
    ],
    ['missing folder', 'select', err('Command failed', { responseStatus: 'NO', responseText: "Mailbox doesn't exist: Support", serverResponseCode: 'NONEXISTENT', mailboxMissing: true }), 'FOLDER_NOT_FOUND'],
    ['move to a missing folder', 'action', err('Command failed', { responseStatus: 'NO', responseText: "Mailbox doesn't exist: Archive", serverResponseCode: 'TRYCREATE' }), 'FOLDER_NOT_FOUND'],
    ['connection cut mid-download', 'fetch', err('Connection not available', { code: 'NoConnection' }), 'CONNECTION_DROPPED'],
    ['a server that speaks only TLS 1.0', 'connect', err('C0D7:error:0A00042E:SSL routines:ssl3_read_bytes:tlsv1 alert protocol version', { code: 'ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION' }), 'TLS_VERSION_UNSUPPORTED'],
    ['security tls against a plaintext port', 'connect', err('C0D7:error:0A00010B:SSL routines:ssl3_get_record:wrong version number', { code: 'ERR_SSL_WRONG_VERSION_NUMBER' }), 'TLS_MODE_MISMATCH'],
    [
      'Dovecot cannot check a token right now',
      'connect',
      err('Authentication failed.', { authenticationFailed: true, serverResponseCode: 'UNAVAILABLE', response: 'Temporary authentication failure. [mail:2026-11-25 10:00:00]' }),
      'SERVER_TEMPORARY',
    ],
    ['server silent mid-download', 'fetch', err('Socket timeout', { code: 'ETIMEOUT' }), 'TIMEOUT'],
  ] as const)('%s -> %s', (_name, phase, error, code) => {
    expect(diagnoseImportError(error, phase, mailbox).code).toBe(code);
  });

  it('says what the import was doing, not a connection-test step', () => {
    const d = diagnoseImportError(err('Connection not available', { code: 'NoConnection' }), 'fetch', mailbox);
    expect(d.message).toMatch(/while downloading messages/);
    expect(d.message).not.toMatch(/select step/);
    expect(d.hint).toBeTruthy();
  });

  it('names the target folder of a failed move, and the reply', () => {
    const d = diagnoseImportError(err('Command failed', { responseStatus: 'NO', responseText: "Mailbox doesn't exist: Archive", serverResponseCode: 'TRYCREATE' }), 'action', mailbox, 'Archive');
    expect(d.message).toContain('"Archive"');
    expect(d.serverReply).toBe("NO [TRYCREATE] Mailbox doesn't exist: Archive");
  });

  it('describes the sign-in step with the user and the security mode', () => {
    const facts = importFailureFacts(err('Authentication failed.', { authenticationFailed: true, response: 'Authentication failed.' }), 'connect', mailbox);
    expect(facts).toMatchObject({ protocol: 'imap', step: 'auth', kind: 'reply', auth: 'password', security: 'tls', user: 'support@example.test', reply: 'NO Authentication failed.' });
  });

  it('Microsoft 365 will not open the mailbox for an app-only token: the hint is the app\'s mailbox permission, not another account', () => {
    const oauthBox: Mailbox = { ...mailbox, imap: { ...mailbox.imap, auth: 'oauth2' } };
    const error = err('Command failed', { responseStatus: 'BAD', responseText: 'User is authenticated but not connected.' });
    const app = diagnoseImportError(error, 'select', oauthBox, undefined, { token: { tokenKind: 'app', tokenAppId: '6731de76-14a6-49ae-97bc-6eba6914391e' } });
    expect(app.code).toBe('OAUTH_APP_NO_MAILBOX_ACCESS');
    expect(app.hint).toContain('Add-MailboxPermission -Identity support@example.test');
    // The same reply to a person's token is about that person's access.
    expect(diagnoseImportError(error, 'select', oauthBox, undefined, { token: { tokenKind: 'delegated' } }).code).toBe('OAUTH_WRONG_ACCOUNT');
  });

  it('keeps the code of Mailroom\'s own errors', () => {
    const d = diagnoseImportError(new AppError('PASSWORD_MISSING', 'No password stored.', { hint: 'Enter it.' }), 'connect', mailbox);
    expect(d).toEqual({ code: 'PASSWORD_MISSING', message: 'No password stored.', hint: 'Enter it.', serverReply: null });
  });
});
