/**
 * What a failed try means: nodemailer's errors (the shapes it really
 * produces, as recorded against smtp-server and raw sockets) become the
 * shared diagnosis rules' facts, then a decision: defer or fail, pause the
 * mailbox or not. Every code comes from engine/diagnose.
 */
import { describe, expect, it } from 'vitest';
import { classifyRefusals, classifySendFailure, failureFacts, recipientRefusals, type FailureContext } from '../../src-main/engine/outbox/send-failure';
import { AppError } from '../../src-main/shared/errors';

const mailbox: FailureContext['mailbox'] = {
  address: 'support@example.test',
  smtp: { host: 'smtp.example.test', port: 587, security: 'starttls', username: 'support@example.test', auth: 'password' },
};
const ctx = (phase: FailureContext['phase'], extra: Partial<FailureContext> = {}): FailureContext => ({ mailbox, phase, recipients: ['alice@example.net'], ...extra });
const err = (fields: Record<string, unknown>) => Object.assign(new Error(String(fields.message ?? 'x')), fields);

describe('send failures', () => {
  it('421 at the greeting: temporary, pauses the mailbox, SERVER_REJECTED_CONNECTION', () => {
    const f = classifySendFailure(err({ code: 'EPROTOCOL', command: 'CONN', response: '421 4.3.2 Service not available', responseCode: 421 }), ctx('greeting'));
    expect(f).toMatchObject({ temporary: true, pauseMailbox: true, code: 'SERVER_REJECTED_CONNECTION', stage: 'GREETING', serverReply: '421 4.3.2 Service not available' });
  });

  it('451 to MAIL FROM: temporary, this message only', () => {
    const f = classifySendFailure(err({ code: 'EENVELOPE', command: 'MAIL FROM', response: '451 4.7.500 Server busy. Please try again later', responseCode: 451 }), ctx('mail-from'));
    expect(f).toMatchObject({ temporary: true, pauseMailbox: false, code: 'SERVER_TEMPORARY', stage: 'MAIL FROM' });
  });

  it('554 after DATA: permanent MESSAGE_REJECTED, worded for a real message', () => {
    const f = classifySendFailure(err({ code: 'EMESSAGE', command: 'DATA', response: '554 5.6.0 Invalid message content', responseCode: 554 }), ctx('data'));
    expect(f).toMatchObject({ temporary: false, pauseMailbox: false, code: 'MESSAGE_REJECTED', stage: 'DATA' });
    expect(f.message).not.toContain('test message');
  });

  it('Microsoft 365 refusing to send as another address: SENDER_REJECTED for good', () => {
    const f = classifySendFailure(err({ code: 'EENVELOPE', command: 'MAIL FROM', response: '550 5.7.60 SMTP; Client does not have permissions to send as this sender', responseCode: 550 }), ctx('mail-from'));
    expect(f).toMatchObject({ temporary: false, code: 'SENDER_REJECTED' });
  });

  it('a reset connection in the middle of DATA: CONNECTION_DROPPED at DATA, deferred and paused', () => {
    const f = classifySendFailure(err({ code: 'ESOCKET', originalCode: 'ECONNRESET', command: 'CONN', message: 'read ECONNRESET' }), ctx('data'));
    expect(f).toMatchObject({ temporary: true, pauseMailbox: true, code: 'CONNECTION_DROPPED', stage: 'DATA' });
  });

  it('a server that stops answering after MAIL FROM: TIMEOUT at MAIL FROM', () => {
    const f = classifySendFailure(err({ code: 'ETIMEDOUT', command: 'CONN', timeoutType: 'SOCKET_TIMEOUT', message: 'Timeout' }), ctx('mail-from'));
    expect(f).toMatchObject({ temporary: true, pauseMailbox: true, code: 'TIMEOUT', stage: 'MAIL FROM' });
  });

  it('a refused connection: TCP_REFUSED', () => {
    const f = classifySendFailure(err({ code: 'ESOCKET', originalCode: 'ECONNREFUSED', command: 'CONN', message: 'connect ECONNREFUSED' }), ctx('tcp'));
    expect(f).toMatchObject({ temporary: true, pauseMailbox: true, code: 'TCP_REFUSED', stage: 'CONNECT' });
  });

  it('an untrusted certificate during STARTTLS: TLS_CERT_UNTRUSTED', () => {
    const f = classifySendFailure(err({ code: 'ETLS', originalCode: 'SELF_SIGNED_CERT_IN_CHAIN', command: 'CONN' }), ctx('starttls'));
    expect(f).toMatchObject({ code: 'TLS_CERT_UNTRUSTED', stage: 'STARTTLS', pauseMailbox: true });
  });

  it('535 to AUTH: AUTH_FAILED, deferred (the message is fine, the sign-in is not) and paused', () => {
    const f = classifySendFailure(err({ code: 'EAUTH', command: 'AUTH PLAIN', response: '535 5.7.8 Authentication credentials invalid', responseCode: 535 }), ctx('auth'));
    expect(f).toMatchObject({ temporary: true, pauseMailbox: true, code: 'AUTH_FAILED', stage: 'AUTH' });
  });

  it('SMTP AUTH turned off in Microsoft 365: SMTP_AUTH_DISABLED with the admin-center fix', () => {
    const f = classifySendFailure(
      err({ code: 'EAUTH', command: 'AUTH LOGIN', response: '535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for the Tenant. Visit https://aka.ms/smtp_auth_disabled for more information.', responseCode: 535 }),
      ctx('auth'),
    );
    expect(f.code).toBe('SMTP_AUTH_DISABLED');
    expect(f.hint).toContain('Authenticated SMTP');
  });

  it('a token that could not be had keeps the OAuth module\'s own code and hint', () => {
    const tokenError = new AppError('OAUTH_SIGN_IN_REQUIRED', 'The sign-in of support@example.test expired.', { hint: 'Sign in again.' });
    const f = classifySendFailure(err({ code: 'EAUTH', command: 'AUTH XOAUTH2' }), ctx('auth', { tokenError }));
    expect(f).toMatchObject({ code: 'OAUTH_SIGN_IN_REQUIRED', hint: 'Sign in again.', temporary: true, pauseMailbox: true, stage: 'AUTH' });
  });

  it('a problem nodemailer finds before sending fails the message as MESSAGE_INVALID', () => {
    const f = classifySendFailure(err({ code: 'EENVELOPE', command: 'API', message: 'No recipients defined' }), ctx('mail-from'));
    expect(f).toMatchObject({ temporary: false, code: 'MESSAGE_INVALID' });
  });

  it('Gmail\'s daily sending limit (550 5.4.5 to MAIL FROM): SENDING_LIMIT_EXCEEDED, deferred and paused, not failed', () => {
    const response = '550-5.4.5 Daily user sending limit exceeded. For more information on Gmail\n550-5.4.5 sending limits go to\n550 5.4.5  https://support.google.com/a/answer/166852 d2e1a72fcca58-76e7d551493sm9728466b3a.112 - gsmtp';
    const f = classifySendFailure(err({ code: 'EENVELOPE', command: 'MAIL FROM', response, responseCode: 550 }), ctx('mail-from'));
    expect(f).toMatchObject({ temporary: true, pauseMailbox: true, code: 'SENDING_LIMIT_EXCEEDED', stage: 'MAIL FROM' });
    // The whole multi-line reply is kept.
    expect(f.serverReply).toBe(response);
  });

  it('Microsoft 365\'s bad outbound sender (550 5.1.8 after DATA): SENDING_BLOCKED, deferred and paused', () => {
    const f = classifySendFailure(err({ code: 'EMESSAGE', command: 'DATA', response: '550 5.1.8 Access denied, bad outbound sender AS(42004)', responseCode: 550 }), ctx('data'));
    expect(f).toMatchObject({ temporary: true, pauseMailbox: true, code: 'SENDING_BLOCKED', stage: 'DATA' });
  });

  it('an app-only token refused at AUTH: the hint follows from its claims (service principal and mailbox permission)', () => {
    const xoauth = { ...mailbox, smtp: { ...mailbox.smtp, auth: 'oauth2' as const } };
    const f = classifySendFailure(
      err({ code: 'EAUTH', command: 'AUTH XOAUTH2', response: '535 5.7.3 Authentication unsuccessful [SN2PR00CA0018.namprd00.prod.outlook.com]', responseCode: 535 }),
      { mailbox: xoauth, phase: 'auth', recipients: ['alice@example.net'], token: { tokenKind: 'app', tokenAppId: '6731de76-14a6-49ae-97bc-6eba6914391e' } },
    );
    expect(f.code).toBe('OAUTH_TOKEN_REJECTED');
    expect(f.hint).toContain('New-ServicePrincipal -AppId 6731de76-14a6-49ae-97bc-6eba6914391e');
    // A person's token refused the same way gets the delegated hint.
    const person = classifySendFailure(
      err({ code: 'EAUTH', command: 'AUTH XOAUTH2', response: '535 5.7.3 Authentication unsuccessful', responseCode: 535 }),
      { mailbox: xoauth, phase: 'auth', recipients: [], token: { tokenKind: 'delegated', tokenProblem: 'graph-audience', tokenAudience: 'https://graph.microsoft.com' } },
    );
    expect(person.hint).toContain('without their resource');
  });

  it('reads the facts the rules need from the error', () => {
    const facts = failureFacts(err({ code: 'EENVELOPE', command: 'RCPT TO', response: '550 5.1.1 User unknown', responseCode: 550 }), ctx('rcpt-to'));
    expect(facts).toMatchObject({ protocol: 'smtp', step: 'rcpt-to', kind: 'reply', replyCode: 550, auth: 'password', security: 'starttls', to: 'alice@example.net', from: 'support@example.test' });
  });
});

describe('recipients refused one by one', () => {
  it('5xx refusals are for good, 4xx ones deferred; the diagnosis names them', () => {
    const refusals = recipientRefusals(
      [
        { recipient: 'nobody@example.net', response: '550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP address lookup', responseCode: 550 },
        { recipient: 'full@example.net', response: '452 4.2.2 Mailbox full', responseCode: 452 },
      ],
      ['nobody@example.net', 'full@example.net'],
    );
    expect(refusals.map((r) => r.status)).toEqual(['rejected', 'deferred']);
    const f = classifyRefusals(refusals, ctx('rcpt-to'));
    expect(f).toMatchObject({ code: 'RECIPIENT_REJECTED', temporary: true, pauseMailbox: false, stage: 'RCPT TO' });
    expect(f.message).toContain('1 refused, 1 deferred: nobody@example.net, full@example.net');
  });

  it('keeps a multi-line refusal whole', () => {
    const [refusal] = recipientRefusals([{ recipient: 'x@example.net', response: '550-5.1.1 The email account that you tried to reach does not exist.\n550 5.1.1 https://support.google.com/mail/?p=NoSuchUser - gsmtp', responseCode: 550 }], ['x@example.net']);
    expect(refusal!.reply).toBe('550-5.1.1 The email account that you tried to reach does not exist.\n550 5.1.1 https://support.google.com/mail/?p=NoSuchUser - gsmtp');
  });

  it('a refusal that stops the whole account is no verdict on the recipient: deferred, and the mailbox pauses', () => {
    const refusals = recipientRefusals([{ recipient: 'x@example.net', response: '550 5.4.5 Daily user sending quota exceeded. o65sm25351206pga.71 - gsmtp', responseCode: 550 }], ['x@example.net']);
    const f = classifyRefusals(refusals, ctx('rcpt-to'));
    expect(f).toMatchObject({ code: 'SENDING_LIMIT_EXCEEDED', temporary: true, pauseMailbox: true });
    expect(refusals[0]!.status).toBe('deferred');
  });
});
