/**
 * One fault, one diagnosis: the same socket or TLS failure, as each library
 * hands it over (Node's own error in the connection tests' probes,
 * nodemailer's ESOCKET/ETLS wrapper with `originalCode` in the outbox,
 * imapflow's error in the import), is read by one function and gets the
 * same code on every path. The errors are shaped as those libraries shape
 * them; the integration tests (connection-test-cli, outbox-faults,
 * inbox-tls) get them from real peers.
 */
import { describe, expect, it } from 'vitest';
import { readSocketError, tlsErrorCodeFromMessage } from '../../src-main/engine/diagnose/socket-errors';
import { diagnose } from '../../src-main/engine/diagnose/diagnose';
import { tlsFailure } from '../../src-main/engine/connection-test/probe-connection';
import { SocketFailure } from '../../src-main/engine/connection-test/line-socket';
import { classifySendFailure } from '../../src-main/engine/outbox/send-failure';
import { diagnoseImportError } from '../../src-main/engine/inbox/import-diagnosis';
import type { Mailbox } from '../../src-main/shared/mailbox';

const mailbox: Mailbox = {
  id: 1,
  name: 'Support',
  address: 'support@example.test',
  enabled: true,
  preset: 'generic',
  imap: { host: 'mail.example.test', port: 993, security: 'tls', username: 'support@example.test', auth: 'password', folder: 'INBOX', afterImport: 'mark-seen', pollIntervalSeconds: 60 },
  smtp: { host: 'mail.example.test', port: 465, security: 'tls', username: 'support@example.test', auth: 'password' },
  receiveVia: 'imap',
  sendVia: 'smtp',
  pop3: null,
  graph: { saveToSentItems: true },
  passwordSet: true,
  smtpPasswordSet: false,
  createdAt: 0,
  updatedAt: 0,
};

/** Faults at the TLS handshake of implicit TLS: Node's code and OpenSSL's message. */
const TLS_FAULTS: Array<[string, string, string, string]> = [
  // Measured against Node's tls server limited to TLSv1 (see connection-test-cli.test.ts).
  ['server speaks only TLS 1.0', 'ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION', 'C0D7:error:0A00042E:SSL routines:ssl3_read_bytes:tlsv1 alert protocol version:../deps/openssl/openssl/ssl/record/rec_layer_s3.c:1601:SSL alert number 70', 'TLS_VERSION_UNSUPPORTED'],
  ['server picks TLS 1.0 in its ServerHello', 'ERR_SSL_UNSUPPORTED_PROTOCOL', 'C0D7:error:0A000102:SSL routines:tls_process_server_hello:unsupported protocol', 'TLS_VERSION_UNSUPPORTED'],
  ['plaintext answer to the handshake', 'ERR_SSL_WRONG_VERSION_NUMBER', 'C0D7:error:0A00010B:SSL routines:ssl3_get_record:wrong version number:../deps/openssl/openssl/ssl/record/ssl3_record.c:355:', 'TLS_MODE_MISMATCH'],
  ['self-signed certificate', 'DEPTH_ZERO_SELF_SIGNED_CERT', 'self-signed certificate', 'TLS_CERT_UNTRUSTED'],
  ['expired certificate', 'CERT_HAS_EXPIRED', 'certificate has expired', 'TLS_CERT_EXPIRED'],
  ['no shared cipher', 'ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE', 'C0D7:error:0A000410:SSL routines:ssl3_read_bytes:sslv3 alert handshake failure', 'CONNECTION_DROPPED'],
];

function throughConnectionTest(code: string, message: string): string {
  const failure = tlsFailure(new SocketFailure('error', message, code));
  return diagnose({ protocol: 'smtp', step: 'tls', ...failure.facts, auth: 'password', security: 'tls', host: 'mail.example.test', port: 465 }).code;
}

function throughOutbox(code: string, message: string): string {
  // nodemailer: _onError(err, 'ESOCKET') keeps Node's code as originalCode.
  const error = Object.assign(new Error(message), { code: 'ESOCKET', originalCode: code, command: 'CONN' });
  return classifySendFailure(error, { mailbox, phase: 'tcp', recipients: ['a@example.test'] }).code;
}

function throughImport(code: string, message: string): string {
  // imapflow passes the socket's error on as it is.
  return diagnoseImportError(Object.assign(new Error(message), { code }), 'connect', mailbox).code;
}

describe('one fault, one diagnosis', () => {
  for (const [what, code, message, expected] of TLS_FAULTS) {
    it(`${what}: ${expected} in the connection test, the outbox and the import`, () => {
      expect(throughConnectionTest(code, message)).toBe(expected);
      expect(throughOutbox(code, message)).toBe(expected);
      expect(throughImport(code, message)).toBe(expected);
    });
  }

  it('an OpenSSL failure with only EPROTO is read from its reason, on every path', () => {
    const message = 'write EPROTO C0D7:error:0A00042E:SSL routines:ssl3_read_bytes:tlsv1 alert protocol version';
    expect(throughConnectionTest('EPROTO', message)).toBe('TLS_VERSION_UNSUPPORTED');
    expect(throughOutbox('EPROTO', message)).toBe('TLS_VERSION_UNSUPPORTED');
    expect(throughImport('EPROTO', message)).toBe('TLS_VERSION_UNSUPPORTED');
  });

  it('refused and reset connections, and unknown names, read alike', () => {
    expect(throughOutbox('ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:465')).toBe('TCP_REFUSED');
    expect(throughImport('ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:993')).toBe('TCP_REFUSED');
    expect(throughOutbox('ENOTFOUND', 'getaddrinfo ENOTFOUND mail.example.test')).toBe('DNS_NOT_FOUND');
    expect(throughImport('ENOTFOUND', 'getaddrinfo ENOTFOUND mail.example.test')).toBe('DNS_NOT_FOUND');
  });

  it('imapflow\'s "Server does not support STARTTLS" (marked tlsFailed) is a missing STARTTLS, not a TLS failure', () => {
    const starttlsBox = { ...mailbox, imap: { ...mailbox.imap, security: 'starttls' as const, port: 143 } };
    const error = Object.assign(new Error('Server does not support STARTTLS'), { tlsFailed: true });
    expect(diagnoseImportError(error, 'connect', starttlsBox).code).toBe('STARTTLS_UNAVAILABLE');
  });
});

describe('reading an error', () => {
  it('prefers nodemailer\'s originalCode over its wrapper code', () => {
    expect(readSocketError({ code: 'ETLS', originalCode: 'CERT_HAS_EXPIRED', message: 'certificate has expired' })).toEqual({ kind: 'tls', errorCode: 'CERT_HAS_EXPIRED', tls: 'certificate' });
  });

  it('reads OpenSSL\'s reason when the code says nothing', () => {
    expect(tlsErrorCodeFromMessage('ssl3_get_record:wrong version number')).toBe('ERR_SSL_WRONG_VERSION_NUMBER');
    expect(tlsErrorCodeFromMessage('tls_process_server_hello:version too low')).toBe('ERR_SSL_VERSION_TOO_LOW');
    expect(readSocketError({ code: 'ESOCKET', message: 'ssl3_read_bytes:tlsv1 alert protocol version' })).toMatchObject({ kind: 'tls', tls: 'version' });
  });

  it('leaves timeouts, replies and unknown errors to the caller', () => {
    expect(readSocketError({ code: 'ETIMEDOUT', message: 'Connection timeout' })).toBeUndefined();
    expect(readSocketError({ code: 'EAUTH', message: 'Invalid login: 535 5.7.3 Authentication unsuccessful' })).toBeUndefined();
    expect(readSocketError(undefined)).toBeUndefined();
  });
});
