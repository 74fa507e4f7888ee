/**
 * One test per diagnosis rule, each fed with the failure the rule is for:
 * the real reply text its `source` cites (Microsoft 365, Gmail, Dovecot,
 * Postfix, smtp-server) or the socket/TLS error Node reports. Also checks
 * that every rule is covered here and every code has a rule.
 */
import { describe, expect, it } from 'vitest';
import { DIAGNOSIS_CODES } from '../../src-main/shared/diagnosis';
import { DIAGNOSIS_RULES, diagnose, fillTemplate, findRule, type FailureFacts } from '../../src-main/engine/diagnose/diagnose';
import { toCliWords } from '../../src-main/shared/setting-words';

const base = (over: Partial<FailureFacts>): FailureFacts => ({
  protocol: 'smtp',
  step: 'auth',
  kind: 'reply',
  auth: 'password',
  security: 'starttls',
  host: 'smtp.example.test',
  port: 587,
  user: 'support@example.test',
  ...over,
});

/** A failed POP3 step (Dovecot's ports: 995 implicit TLS). */
const pop3 = (over: Partial<FailureFacts>): FailureFacts => base({ protocol: 'pop3', security: 'tls', host: 'pop.example.test', port: 995, ...over });

/** rule id -> a failure it must diagnose (and, implicitly, that no earlier rule catches). */
const CASES: Record<string, FailureFacts> = {
  'dns-name-not-found': base({ step: 'dns', kind: 'dns', errorCode: 'ENOTFOUND', resolver: 'DNS server 127.0.0.1:5353' }),
  'dns-no-answer': base({ step: 'dns', kind: 'timeout', errorCode: 'ETIMEOUT' }),
  'tcp-refused': base({ step: 'tcp', kind: 'connect', errorCode: 'ECONNREFUSED' }),
  'tcp-timeout': base({ step: 'tcp', kind: 'timeout', errorCode: 'ETIMEDOUT' }),
  'tcp-unreachable': base({ step: 'tcp', kind: 'connect', errorCode: 'ENETUNREACH' }),
  'tcp-reset': base({ step: 'tcp', kind: 'closed', errorCode: 'ECONNRESET' }),
  'port-speaks-tls-only': base({ step: 'greeting', kind: 'timeout', detected: 'tls', port: 465 }),
  // A Dovecot greeting read by a TLS client (seen in this project's tests).
  'port-speaks-plaintext': base({ protocol: 'imap', step: 'tls', kind: 'tls', security: 'tls', port: 143, errorCode: 'ERR_SSL_WRONG_VERSION_NUMBER', detected: 'imap', reply: '* OK [CAPABILITY IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE LITERAL+ STARTTLS AUTH=PLAIN AUTH=LOGIN] Dovecot ready.' }),
  'port-speaks-other-protocol': base({ step: 'greeting', kind: 'unexpected', detected: 'http', port: 8080 }),
  'tls-cert-expired': base({ step: 'starttls', kind: 'tls', errorCode: 'CERT_HAS_EXPIRED', certificateValidTo: '2020-02-01T00:00:00.000Z' }),
  'tls-cert-not-yet-valid': base({ step: 'starttls', kind: 'tls', errorCode: 'CERT_NOT_YET_VALID' }),
  'tls-cert-hostname': base({ step: 'tls', kind: 'tls', security: 'tls', port: 465, errorCode: 'ERR_TLS_CERT_ALTNAME_INVALID', certificateNames: ['wrong.example.test'] }),
  'tls-cert-untrusted': base({ step: 'tls', kind: 'tls', security: 'tls', port: 993, errorCode: 'DEPTH_ZERO_SELF_SIGNED_CERT' }),
  // What an engine (no first bytes kept) sees when security tls meets a plaintext port.
  'tls-answered-in-plaintext': base({ protocol: 'imap', step: 'tls', kind: 'tls', security: 'tls', port: 143, errorCode: 'ERR_SSL_WRONG_VERSION_NUMBER' }),
  // Node's TLS client against Node's tls server limited to TLSv1 (measured in this project's tests).
  'tls-version-unsupported': base({ step: 'tls', kind: 'tls', security: 'tls', port: 465, errorCode: 'ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION', serverTls: { version: 'TLSv1', cipher: 'TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA' } }),
  'tls-no-shared-cipher': base({ step: 'tls', kind: 'tls', security: 'tls', errorCode: 'ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE' }),
  'tls-handshake-dropped': base({ step: 'starttls', kind: 'closed', errorCode: 'ECONNRESET' }),
  'tls-handshake-timeout': base({ step: 'tls', kind: 'timeout', security: 'tls' }),
  'greeting-timeout-on-tls-port': base({ step: 'greeting', kind: 'timeout', security: 'starttls', port: 993, protocol: 'imap' }),
  'greeting-timeout': base({ step: 'greeting', kind: 'timeout' }),
  // Gmail's real 421 at the greeting (gist chrisjimallen/8972272).
  'smtp-greeting-rejected': base({ step: 'greeting', kind: 'reply', replyCode: 421, reply: '421 4.4.5 Server busy, try again later. (mx.google.com) g4sm55605691obe.5 - gsmtp' }),
  // Microsoft 365's BYE (jstedfast/MailKit#1496), here as the greeting.
  'imap-greeting-bye': base({ protocol: 'imap', step: 'greeting', kind: 'reply', reply: '* BYE Connection closed. 14' }),
  'greeting-dropped': base({ step: 'greeting', kind: 'closed' }),
  'greeting-not-protocol': base({ step: 'greeting', kind: 'unexpected', reply: 'garbage' }),
  'starttls-not-offered': base({ step: 'starttls', kind: 'missing', missing: 'STARTTLS' }),
  'm365-smtp-auth-disabled-tenant': base({
    replyCode: 535,
    reply: '535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for the Tenant. Visit https://aka.ms/smtp_auth_disabled for more information. [TY1PR01CA0183.jpnprd01.prod.outlook.com]',
  }),
  'm365-smtp-auth-disabled-mailbox': base({
    auth: 'xoauth2',
    replyCode: 535,
    reply: '535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for the Mailbox. Visit https://aka.ms/smtp_auth_disabled for more information. [AM0PR02CA0123.eurprd02.prod.outlook.com]',
  }),
  // Microsoft's announcement (techcommunity ba-p/4114750, quoted in OpenCTI-Platform/opencti#12069).
  'm365-basic-auth-retired': base({ replyCode: 550, reply: '550 5.7.30 Basic authentication is not supported for Client Submission.' }),
  'm365-security-defaults': base({ replyCode: 535, reply: "535 5.7.139 Authentication unsuccessful, user is locked by your organization's security defaults policy." }),
  'm365-conditional-access': base({ replyCode: 535, reply: '535 5.7.139 Authentication unsuccessful, the request did not meet the criteria to be authenticated successfully. Contact your administrator.' }),
  'm365-basic-auth-disabled': base({ replyCode: 535, reply: '535 5.7.139 Authentication unsuccessful, basic authentication is disabled. [PN0PR01CA0024.INDPRD01.PROD.OUTLOOK.COM 2025-01-26T18:54:30.055Z 08DD3DD7D75D7743]' }),
  'google-app-password-required': base({ replyCode: 534, reply: '534-5.7.9 Application-specific password required. Learn more at\n534 5.7.9 https://support.google.com/mail/?p=InvalidSecondFactor n18sm8811765wru.2 - gsmtp' }),
  // An application token without mailbox permission (javanile/php-imap2#55).
  'm365-app-not-connected': base({ protocol: 'imap', step: 'select', auth: 'xoauth2', tokenKind: 'app', tokenAppId: '11111111-2222-3333-4444-555555555555', reply: 'M3 BAD User is authenticated but not connected.' }),
  'm365-authenticated-not-connected': base({ protocol: 'imap', step: 'select', auth: 'xoauth2', reply: 'M5 BAD User is authenticated but not connected.' }),
  // Exchange's refusal of a token (Microsoft's OAuth page: "535 5.7.3 Authentication unsuccessful [SN2PR00CA0018.namprd00.prod.outlook.com]").
  'oauth-token-graph-audience': base({ auth: 'xoauth2', tokenKind: 'delegated', tokenProblem: 'graph-audience', tokenAudience: '00000003-0000-0000-c000-000000000000', replyCode: 535, reply: '535 5.7.3 Authentication unsuccessful [SN2PR00CA0018.namprd00.prod.outlook.com]' }),
  'oauth-token-wrong-audience': base({ protocol: 'imap', auth: 'xoauth2', tokenKind: 'delegated', tokenProblem: 'wrong-audience', tokenAudience: 'https://management.azure.com', reply: 'A1 NO AUTHENTICATE failed.' }),
  'oauth-app-permission-missing': base({ auth: 'xoauth2', tokenKind: 'app', tokenProblem: 'permission-missing', tokenPermission: 'SMTP.SendAsApp', replyCode: 535, reply: '535 5.7.3 Authentication unsuccessful [SN2PR00CA0018.namprd00.prod.outlook.com]' }),
  'oauth-token-permission-missing': base({ auth: 'xoauth2', tokenKind: 'delegated', tokenProblem: 'permission-missing', tokenPermission: 'SMTP.Send', replyCode: 535, reply: '535 5.7.3 Authentication unsuccessful [SN2PR00CA0018.namprd00.prod.outlook.com]' }),
  'oauth-app-token-rejected': base({ protocol: 'imap', auth: 'xoauth2', tokenKind: 'app', tokenAppId: '11111111-2222-3333-4444-555555555555', reply: 'A1 NO AUTHENTICATE failed.' }),
  'oauth-token-other-account': base({ auth: 'xoauth2', tokenProblem: 'other-account', tokenAccount: 'someone.else@example.test', replyCode: 535, reply: '535 5.7.3 Authentication unsuccessful [SN4PR0201CA0065.namprd02.prod.outlook.com]' }),
  'oauth-token-expired': base({ auth: 'xoauth2', tokenProblem: 'expired', tokenExpiredAt: '2024-01-01T10:00:00.000Z', replyCode: 535, reply: '535 5.7.3 Authentication unsuccessful' }),
  // Microsoft 365 IMAP's answer to a bad token (MicrosoftDocs/office-developer-exchange-docs#87).
  'oauth-token-rejected': base({ protocol: 'imap', auth: 'xoauth2', reply: 'A00000001 NO AUTHENTICATE failed.' }),
  'auth-requires-tls': base({ security: 'none', replyCode: 538, reply: '538 Error: Must issue a STARTTLS command first' }),
  'auth-logindisabled': base({ protocol: 'imap', security: 'none', kind: 'missing', missing: 'LOGINDISABLED' }),
  'auth-method-missing': base({ kind: 'missing', missing: 'XOAUTH2', auth: 'xoauth2' }),
  'auth-method-rejected': base({ replyCode: 504, reply: '504 Error: Unrecognized authentication type' }),
  // A Dovecot whose oauth2 passdb cannot reach its token check (produced by this project's tests).
  'dovecot-auth-temporary': base({ protocol: 'imap', auth: 'xoauth2', reply: 'M3 NO [UNAVAILABLE] Temporary authentication failure. [mail.example.test:2026-11-25 10:00:00]' }),
  'auth-temporary': base({ protocol: 'imap', reply: 'A1 NO [UNAVAILABLE] Maximum number of connections from user+IP exceeded (mail_max_userip_connections=16)' }),
  'google-bad-credentials': base({ replyCode: 535, reply: '535-5.7.8 Username and Password not accepted. For more information, go to\n535 5.7.8  https://support.google.com/mail/?p=BadCredentials' }),
  'm365-auth-unsuccessful': base({ replyCode: 535, reply: '535 5.7.139 Authentication unsuccessful, the user credentials were incorrect. [PH0PR07CA0004.namprd07.prod.outlook.com]' }),
  // Dovecot's real answer (seen in this project's tests).
  'auth-failed': base({ protocol: 'imap', reply: 'M4 NO [AUTHENTICATIONFAILED] Authentication failed.' }),
  'm365-send-as-denied': base({ step: 'data', replyCode: 550, reply: '550 5.7.60 SMTP; Client does not have permissions to send as this sender [MW2PR1901MB2155.namprd19.prod.outlook.com]', from: 'other@example.test' }),
  'not-signed-in': base({ step: 'mail-from', auth: 'none', replyCode: 530, reply: '530 5.7.57 Client not authenticated to send mail. [DM6PR11CA0001.namprd11.prod.outlook.com]' }),
  'relay-denied': base({ step: 'rcpt-to', replyCode: 554, reply: '554 5.7.1 <someone@example.org>: Relay access denied', to: 'someone@example.org' }),
  'm365-concurrent-connections': base({ step: 'data', replyCode: 432, reply: '432 4.3.2 Concurrent connections limit exceeded. Visit https://aka.ms/concurrent_sending for more information. [Hostname=OS0PR01MB6099.jpnprd01.prod.outlook.com]' }),
  'm365-temporary-server-error': base({ step: 'data', replyCode: 451, reply: '451 4.7.0 Temporary server error. Please try again later. PRX4 [AM5PR0701CA0008.eurprd07.prod.outlook.com]' }),
  'gmail-daily-limit': base({
    step: 'mail-from',
    replyCode: 550,
    reply: '550-5.4.5 Daily user sending limit exceeded. For more information on Gmail\n550-5.4.5 sending limits go to\n550 5.4.5  https://support.google.com/a/answer/166852 d2e1a72fcca58-76e7d551493sm9728466b3a.112 - gsmtp',
  }),
  'm365-bad-outbound-sender': base({ step: 'data', replyCode: 550, reply: '550 5.1.8 Access denied, bad outbound sender AS(42004)' }),
  'm365-tenant-blocked': base({ step: 'mail-from', replyCode: 550, reply: '550 5.7.708 Service unavailable. Access denied, traffic not accepted from this IP. For more information please go to http://go.microsoft.com/fwlink/?LinkId=526653 AS(7171)' }),
  'm365-unregistered-domain': base({ step: 'data', replyCode: 550, reply: '550 5.7.750 Service unavailable. Client blocked from sending from unregistered domains. For more information please go to http://go.microsoft.com/fwlink/?LinkId=526653', from: 'news@unregistered.example' }),
  'm365-submission-quota': base({ step: 'data', replyCode: 554, reply: '554 5.2.0 STOREDRV.Submission.Exception:SubmissionQuotaExceededException' }),
  'm365-outbound-spam': base({ step: 'data', replyCode: 554, reply: '554 5.2.0 STOREDRV.Submission.Exception:OutboundSpamException;' }),
  // Postgrey behind Postfix (greylisting).
  'sender-temporary': base({ step: 'rcpt-to', replyCode: 450, reply: '450 4.7.25 Client host rejected: cannot find your hostname, [192.0.2.22]' }),
  'sender-rejected': base({ step: 'mail-from', replyCode: 553, reply: '553 5.7.1 <ceo@example.test>: Sender address rejected: not owned by user support@example.test', from: 'ceo@example.test' }),
  'recipient-rejected': base({ step: 'rcpt-to', replyCode: 550, reply: '550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP address lookup', to: 'nobody@example.test' }),
  'message-rejected': base({ step: 'data', replyCode: 552, reply: '552 Error: message exceeds fixed maximum message size 10' }),
  // Dovecot's real answer (seen in this project's tests).
  'folder-not-found': base({ protocol: 'imap', step: 'select', reply: "M5 NO Mailbox doesn't exist: Support (0.004 + 0.000 + 0.003 secs).", folder: 'Support' }),
  'ehlo-rejected': base({ step: 'ehlo', replyCode: 550, reply: '550 5.7.1 Client host rejected: Access denied' }),
  // Microsoft 365's throttling reply.
  'reply-temporary': base({ step: 'ehlo', replyCode: 421, reply: '421 4.3.2 Service not available' }),
  'imap-temporary': base({ protocol: 'imap', step: 'select', reply: 'M5 NO [INUSE] Mailbox is locked by another process' }),
  'step-timeout': base({ step: 'ehlo', kind: 'timeout' }),
  'connection-dropped': base({ step: 'ehlo', kind: 'closed', errorCode: 'ECONNRESET' }),
  'unexpected-reply': base({ step: 'ehlo', kind: 'unexpected', reply: 'HELLO?' }),
  'fallback-reply': base({ protocol: 'imap', step: 'capability', reply: 'M1 BAD Error in IMAP command CAPABILITY: Unknown command.' }),

  // ---- POP3: the real replies each rule cites.
  'pop3-greeting-err': pop3({ step: 'greeting', reply: '-ERR [SYS/PERM] Too many connections, try again later' }),
  // Dovecot pop3 with pop3_lock_session = yes, a second session on the same maildrop.
  'pop3-maildrop-locked': pop3({ reply: '-ERR [IN-USE] Mailbox is locked by another POP3 session.' }),
  'pop3-temporary': pop3({ step: 'stat', reply: '-ERR [SYS/TEMP] Temporary system problem. Please try again later.' }),
  'pop3-auth-requires-tls': pop3({ security: 'none', port: 110, reply: '-ERR [AUTH] Plaintext authentication disallowed on non-secure (SSL/TLS) connections.' }),
  'gmail-pop3-web-login': pop3({ host: 'pop.gmail.com', reply: '-ERR [AUTH] Web login required: https://support.google.com/mail/answer/78754' }),
  'm365-pop3-oauth-rejected': pop3({ host: 'outlook.office365.com', auth: 'xoauth2', reply: '-ERR Authentication failure: unknown user name or bad password.' }),
  'gmail-pop3-bad-credentials': pop3({ host: 'pop.gmail.com', reply: '-ERR [AUTH] Username and password not accepted.' }),
  'exchange-pop3-logon-failure': pop3({ host: 'exchange.example.test', reply: '-ERR Logon failure: unknown user name or bad password.' }),
  'pop3-no-uidl': pop3({ step: 'stat', kind: 'missing', missing: 'UIDL', reply: '-ERR Unknown command: UIDL' }),
};

describe('diagnosis rules', () => {
  for (const rule of DIAGNOSIS_RULES) {
    it(`${rule.id} -> ${rule.code}`, () => {
      const facts = CASES[rule.id];
      expect(facts, `no test case for rule ${rule.id}`).toBeDefined();
      const found = findRule(facts!);
      expect(found.id).toBe(rule.id);
      const diagnosis = diagnose(facts!);
      expect(diagnosis.code).toBe(rule.code);
      expect(diagnosis.step).toBe(facts!.step);
      // Every placeholder is filled: no "{name}" left for the admin to read.
      expect(diagnosis.summary).not.toMatch(/\{\w+\}/);
      expect(diagnosis.hint).not.toMatch(/\{\w+\}/);
      expect(diagnosis.summary.length).toBeGreaterThan(10);
      expect(diagnosis.hint.length).toBeGreaterThan(10);
      expect(diagnosis.serverReply).toBe(facts!.reply?.trim() ? facts!.reply.trim() : null);
    });
  }

  it('has a case for every rule and no case for a rule that does not exist', () => {
    const ids = new Set(DIAGNOSIS_RULES.map((r) => r.id));
    expect(Object.keys(CASES).filter((id) => !ids.has(id))).toEqual([]);
    expect(ids.size).toBe(DIAGNOSIS_RULES.length);
  });

  it('has at least one rule for every diagnosis code', () => {
    const covered = new Set(DIAGNOSIS_RULES.map((r) => r.code));
    expect(DIAGNOSIS_CODES.filter((c) => !covered.has(c))).toEqual([]);
  });

  it('cites where the server text came from for every rule that matches reply text', () => {
    expect(DIAGNOSIS_RULES.filter((r) => r.reply && !r.source).map((r) => r.id)).toEqual([]);
  });

  it('always gives exactly one diagnosis, even for a failure no rule expected', () => {
    const odd = diagnose(base({ step: 'select', kind: 'reply', protocol: 'imap', reply: undefined }));
    expect(DIAGNOSIS_CODES).toContain(odd.code);
  });

  it('names the Microsoft 365 setting to change for SMTP AUTH, not a generic password hint', () => {
    const d = diagnose(CASES['m365-smtp-auth-disabled-tenant']!);
    expect(d.hint).toContain('Authenticated SMTP');
    expect(d.hint).toContain('Set-CASMailbox -Identity support@example.test -SmtpClientAuthenticationDisabled $false');
  });

  it('points a plaintext port under security tls to starttls, and the reverse to tls, in the words of the screen', () => {
    expect(diagnose(CASES['port-speaks-plaintext']!).hint).toContain('"STARTTLS"');
    expect(diagnose(CASES['port-speaks-tls-only']!).hint).toContain('Set security to "SSL/TLS" for port 465');
  });

  it('names settings by the labels the screen shows, never by the CLI values, in every rule (the CLI turns them back)', () => {
    // Every rule rendered with facts that fill every placeholder, for each security mode.
    for (const rule of DIAGNOSIS_RULES) {
      for (const security of ['tls', 'starttls', 'none'] as const) {
        const facts = base({ security });
        for (const text of [fillTemplate(rule.summary, facts), fillTemplate(rule.hint, facts)]) {
          expect(text, rule.id).not.toMatch(/\{[a-z]+:[a-z0-9]+\}|\{m365OAuth\}|\{moreTime\}|\{threeConnections\}/);
          expect(text, rule.id).not.toMatch(/security (tls|starttls|none)\b|"(tls|starttls|none|password|xoauth2)"|--timeout-ms|auth oauth2/);
          // The CLI's wording of the same text has no screen label left.
          expect(toCliWords(text), rule.id).not.toMatch(/"SSL\/TLS"|"STARTTLS"|"None \(plain text\)"|"Password"|"OAuth 2\.0"|Retry settings/);
        }
      }
    }
    expect(toCliWords(diagnose(CASES['port-speaks-tls-only']!).hint)).toContain('Set security to "tls" for port 465');
  });

  it('SMTP AUTH off: the hint says OAuth needs it on too (it is no way around it)', () => {
    for (const id of ['m365-smtp-auth-disabled-tenant', 'm365-smtp-auth-disabled-mailbox']) {
      const d = diagnose(CASES[id]!);
      expect(d.hint).toContain('OAuth sign-in needs');
      expect(d.hint).not.toMatch(/Better still, sign in with OAuth/);
    }
  });

  it('an old TLS server: named version and cipher, the fix on the server, never a lower minimum', () => {
    const d = diagnose(CASES['tls-version-unsupported']!);
    expect(d.summary).toBe('The server on smtp.example.test port 465 speaks only TLS 1.0 (cipher TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA), an old TLS version Mailroom does not use: it requires TLS 1.2 or later.');
    expect(d.hint).toContain('upgraded or reconfigured to offer TLS 1.2 or later');
    expect(d.hint).toContain('does not lower its minimum');
    // Without the diagnostic handshake's answer it still says what kind of server it is.
    expect(diagnose({ ...CASES['tls-version-unsupported']!, serverTls: undefined }).summary).toContain('speaks only TLS 1.0 or 1.1');
  });

  it('a temporary refusal of XOAUTH2 is temporary, not a rejected token (Microsoft 365 451 4.7.0 PRX4, Dovecot UNAVAILABLE)', () => {
    expect(diagnose(base({ auth: 'xoauth2', replyCode: 451, reply: '451 4.7.0 Temporary server error. Please try again later. PRX4  [server.prod.outlook.com]' })).code).toBe('SERVER_TEMPORARY');
    expect(diagnose(CASES['dovecot-auth-temporary']!).code).toBe('SERVER_TEMPORARY');
  });

  it('a plaintext refusal of XOAUTH2 asks for encryption, not a new token', () => {
    expect(diagnose(base({ auth: 'xoauth2', security: 'none', replyCode: 538, reply: '538 Error: Must issue a STARTTLS command first' })).code).toBe('AUTH_REQUIRES_TLS');
  });

  it('Exchange\'s older sender-thread-limit text and the STOREDRV send-as refusal', () => {
    expect(findRule(base({ step: 'mail-from', replyCode: 432, reply: '432 4.3.2 STOREDRV.ClientSubmit; sender thread limit exceeded [Hostname=DM5SPR00MB2471.namprd08.prod.outlook.com]' })).id).toBe('m365-concurrent-connections');
    expect(diagnose(base({ step: 'data', replyCode: 554, reply: '554 5.2.0 STOREDRV.Submission.Exception:SendAsDeniedException.MapiExceptionSendAsDenied; Failed to process message due to a permanent exception' })).code).toBe('SENDER_REJECTED');
  });

  it('a password refused after 5.7.30 is retirement, not a wrong password; "basic authentication is disabled" stays BASIC_AUTH_DISABLED', () => {
    expect(diagnose(CASES['m365-basic-auth-retired']!).code).toBe('BASIC_AUTH_RETIRED');
    expect(diagnose(CASES['m365-basic-auth-disabled']!).code).toBe('BASIC_AUTH_DISABLED');
  });

  it('"authenticated but not connected": the app\'s mailbox permission for an app-only token, the account\'s access otherwise', () => {
    expect(diagnose(CASES['m365-app-not-connected']!).hint).toContain('New-ServicePrincipal -AppId 11111111-2222-3333-4444-555555555555');
    expect(diagnose({ ...CASES['m365-app-not-connected']!, tokenKind: 'delegated' }).code).toBe('OAUTH_WRONG_ACCOUNT');
  });

  describe('POP3 replies', () => {
    it("Dovecot's -ERR [AUTH] Authentication failed. is a rejected password with the POP3 ports in nothing it says wrongly", () => {
      const d = diagnose(pop3({ reply: '-ERR [AUTH] Authentication failed.' }));
      expect(d.code).toBe('AUTH_FAILED');
      expect(d.serverReply).toBe('-ERR [AUTH] Authentication failed.');
    });

    it("Gmail's application-specific password reply over POP3 asks for an app password", () => {
      const d = diagnose(pop3({ host: 'pop.gmail.com', reply: '-ERR [AUTH] Application-specific password required: http://support.google.com/accounts/bin/answer.py?answer=185833' }));
      expect(d.code).toBe('BASIC_AUTH_DISABLED');
      expect(d.hint).toContain('app password');
    });

    it('a web-login refusal is not a wrong password, whichever protocol', () => {
      expect(diagnose(base({ protocol: 'imap', reply: 'A1 NO [WEBALERT https://accounts.google.com/signin/continue?sarp=1] Web login required.' })).code).toBe('BASIC_AUTH_DISABLED');
    });

    it('Exchange\'s logon failure with a password names POP being off and Exchange Online\'s OAuth; with a token it is the token', () => {
      const password = diagnose(CASES['exchange-pop3-logon-failure']!);
      expect(password.code).toBe('AUTH_FAILED');
      expect(password.hint).toContain('-PopEnabled $true');
      const token = diagnose(CASES['m365-pop3-oauth-rejected']!);
      expect(token.code).toBe('OAUTH_TOKEN_REJECTED');
      expect(token.hint).toContain('POP.AccessAsUser.All');
      expect(token.hint).toContain('POP.AccessAsApp');
    });

    it('[IN-USE] is a locked maildrop, but a proxy\'s [IN-USE] temporary authentication failure stays temporary', () => {
      expect(diagnose(pop3({ reply: '-ERR [IN-USE] Unable to lock maildrop' })).code).toBe('MAILDROP_LOCKED');
      expect(diagnose(pop3({ reply: '-ERR [IN-USE] Temporary authentication failure. [host:2026-01-01 10:00:00]' })).code).toBe('SERVER_TEMPORARY');
      expect(diagnose(pop3({ reply: '-ERR [SYS/TEMP] Temporary authentication failure.' })).code).toBe('SERVER_TEMPORARY');
    });

    it('names the POP3 ports: 995 for implicit TLS, 110 for STLS', () => {
      const d = diagnose(CASES['pop3-auth-requires-tls']!);
      expect(d.hint).toContain('port 110');
      expect(d.hint).toContain('port 995');
      expect(diagnose(pop3({ step: 'tcp', kind: 'connect', errorCode: 'ECONNREFUSED', port: 9995 })).hint).toContain('POP3 normally uses 995');
      expect(diagnose(pop3({ step: 'greeting', kind: 'timeout', security: 'starttls', port: 995 })).code).toBe('TLS_MODE_MISMATCH');
    });

    it('a server without UIDL says the import cannot tell messages apart', () => {
      const d = diagnose(CASES['pop3-no-uidl']!);
      expect(d.summary).toContain('could not tell which messages it already imported');
      expect(d.hint).toContain('IMAP');
    });
  });

  it('fills unknown placeholders with readable defaults', () => {
    expect(fillTemplate('{from} to {to} in {folder}', base({ user: undefined }))).toBe('the sender to the recipient in INBOX');
  });
});
