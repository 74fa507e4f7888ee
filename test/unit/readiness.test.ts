/** The readiness rules one by one, with an injected clock (assessSide is pure). */
import { describe, expect, it } from 'vitest';
import { assessSide, isMicrosoft365Host } from '../../src-main/engine/readiness';
import { BASIC_SMTP_AUTH_OFF_AT } from '../../src-main/shared/readiness';
import type { Mailbox } from '../../src-main/shared/mailbox';

const mailbox = (auth: 'password' | 'oauth2' | 'none'): Mailbox =>
  ({
    id: 7,
    name: 'Scanner',
    address: 'scanner@contoso.test',
    enabled: true,
    preset: 'generic',
    imap: { host: 'outlook.office365.com', port: 993, security: 'tls', username: 'scanner@contoso.test', auth: auth === 'none' ? 'password' : auth, folder: 'INBOX', afterImport: 'mark-seen', pollIntervalSeconds: 60 },
    smtp: { host: 'smtp.office365.com', port: 587, security: 'starttls', username: 'scanner@contoso.test', auth },
    passwordSet: true,
    createdAt: 0,
    updatedAt: 0,
  }) as Mailbox;
const quiet = { lastTestCode: null, refusal: null };

describe('readiness rules', () => {
  it('recognises Exchange Online hosts, and nothing else', () => {
    for (const host of ['outlook.office365.com', 'smtp.office365.com', 'smtp-legacy.office365.com', 'outlook.office.com', 'outlook.office365.us', 'partner.outlook.cn']) expect(isMicrosoft365Host(host), host).toBe(true);
    for (const host of ['smtp.gmail.com', 'office365.com.evil.test', 'mail.contoso.com', 'contoso-com.mail.protection.outlook.com']) expect(isMicrosoft365Host(host), host).toBe(false);
  });

  it('SMTP with a password: soon before the end of December 2026, with the days left', () => {
    const r = assessSide(mailbox('password'), 'smtp', 'microsoft365', quiet, BASIC_SMTP_AUTH_OFF_AT - 10 * 86_400_000);
    expect(r.risk).toBe('soon');
    expect(r.reason).toContain('in 10 days');
    expect(r.fix).toEqual({ kind: 'switch-mailbox-to-oauth', mailboxId: 7, account: null, targetMailboxId: null, targetMailbox: null });
    // Without an app-only registration there is one way out in one click; the words still name app-only.
    expect(r.alternativeFix).toBeNull();
    expect(r.action).toContain('or app-only access');
  });

  it.each(['imap', 'smtp'] as const)('%s with a password, the app-only registration set up: "Use app-only" is a second way out, and the action says how', (protocol) => {
    const r = assessSide(mailbox('password'), protocol, 'microsoft365', quiet, BASIC_SMTP_AUTH_OFF_AT - 10 * 86_400_000, { appOnlyConfigured: true });
    expect(r.fix).toMatchObject({ kind: 'switch-mailbox-to-oauth', mailboxId: 7 });
    expect(r.alternativeFix).toEqual({ kind: 'switch-mailbox-to-app-only', mailboxId: 7, account: null, targetMailboxId: null, targetMailbox: null });
    expect(r.action).toContain('mailroom mailbox update "Scanner" --auth oauth2');
    expect(r.action).toContain('Use app-only');
    expect(r.action).toContain('mailroom mailbox update "Scanner" --auth oauth2-app');
    expect(r.action).toContain('App-only set-up');
  });

  it('the app-only registration changes nothing where nothing is at risk', () => {
    expect(assessSide(mailbox('oauth2'), 'smtp', 'microsoft365', quiet, 0, { appOnlyConfigured: true })).toMatchObject({ risk: 'none', fix: null, alternativeFix: null });
    expect(assessSide(mailbox('password'), 'smtp', 'other', quiet, 0, { appOnlyConfigured: true })).toMatchObject({ risk: 'none', alternativeFix: null });
    expect(assessSide(mailbox('password'), 'imap', 'other', { lastTestCode: 'TLS_VERSION_UNSUPPORTED', refusal: null }, 0, { appOnlyConfigured: true })).toMatchObject({ risk: 'broken', fix: null, alternativeFix: null });
  });

  it('SMTP with a password after the date and no refusal seen: still soon, saying it can stop any day', () => {
    const r = assessSide(mailbox('password'), 'smtp', 'microsoft365', quiet, BASIC_SMTP_AUTH_OFF_AT + 86_400_000);
    expect(r.risk).toBe('soon');
    expect(r.reason).toContain('any day');
  });

  it.each(['BASIC_AUTH_RETIRED', 'BASIC_AUTH_DISABLED', 'SMTP_AUTH_DISABLED'])('broken once %s was seen', (code) => {
    const r = assessSide(mailbox('password'), 'smtp', 'microsoft365', { lastTestCode: null, refusal: { code, at: Date.UTC(2026, 10, 30) } }, Date.UTC(2026, 11, 1));
    expect(r.risk).toBe('broken');
    expect(r.reason).toContain(code);
    expect(r.reason).toContain('2026-11-30');
  });

  it('IMAP with a password on Microsoft 365 is broken', () => {
    expect(assessSide(mailbox('password'), 'imap', 'microsoft365', quiet, 0).risk).toBe('broken');
  });

  it('OAuth, no sign-in, or another provider: none', () => {
    expect(assessSide(mailbox('oauth2'), 'smtp', 'microsoft365', quiet, 0)).toMatchObject({ risk: 'none', action: null });
    expect(assessSide(mailbox('none'), 'smtp', 'microsoft365', quiet, 0).reason).toContain('connector or direct send');
    expect(assessSide(mailbox('password'), 'smtp', 'other', quiet, 0).risk).toBe('none');
  });

  it('TLS 1.0/1.1 only in the last test is broken whatever the provider, and the fix is on the server', () => {
    const r = assessSide(mailbox('password'), 'imap', 'other', { lastTestCode: 'TLS_VERSION_UNSUPPORTED', refusal: null }, 0);
    expect(r).toMatchObject({ risk: 'broken', fix: null });
    expect(r.action).toContain('never lowers its minimum');
  });

  it('reads the incoming side of a POP3 mailbox from its POP3 settings: its host in the TLS finding, its sign-in for the password rules', () => {
    const pop3 = (auth: 'password' | 'oauth2'): Mailbox =>
      ({ ...mailbox('password'), receiveVia: 'pop3', pop3: { host: 'pop.old.example.test', port: 995, security: 'tls', username: 'scanner@contoso.test', auth, afterImport: 'leave' } }) as Mailbox;
    const old = assessSide(pop3('password'), 'imap', 'other', { lastTestCode: 'TLS_VERSION_UNSUPPORTED', refusal: null }, BASIC_SMTP_AUTH_OFF_AT - 10 * 86_400_000);
    expect(old.risk).toBe('broken');
    expect(old.reason).toContain('The last POP3 test found that pop.old.example.test speaks only TLS 1.0 or 1.1');
    // POP3 over OAuth while the kept IMAP settings say password: nothing to do.
    expect(assessSide(pop3('oauth2'), 'imap', 'microsoft365', quiet, BASIC_SMTP_AUTH_OFF_AT - 10 * 86_400_000).risk).toBe('none');
    expect(assessSide(pop3('password'), 'imap', 'microsoft365', quiet, BASIC_SMTP_AUTH_OFF_AT - 10 * 86_400_000).risk).toBe('broken');
  });
});

describe('Microsoft Graph as the way out (issue 16)', () => {
  const refused = (code: string) => ({ lastTestCode: null, refusal: { code, at: Date.UTC(2026, 10, 30) } });
  const graphFix = { kind: 'use-graph', mailboxId: 7, account: null, targetMailboxId: null, targetMailbox: null };

  it.each(['SMTP_AUTH_DISABLED', 'SECURITY_DEFAULTS_BLOCKED'])('SMTP with OAuth 2.0 refused with %s: broken, SMTP AUTH is off, "Use Microsoft Graph"', (code) => {
    const r = assessSide(mailbox('oauth2'), 'smtp', 'microsoft365', refused(code), Date.UTC(2026, 11, 1));
    expect(r).toMatchObject({ risk: 'broken', fix: null, graphFix });
    expect(r.reason).toContain('SMTP AUTH is turned off for the tenant or the mailbox');
    expect(r.action).toContain('mailroom mailbox update "Scanner" --send-via graph');
    expect(r.action).toContain('Mail.Send');
  });

  it('SMTP with a password refused with 5.7.139: OAuth alone does not help, so Graph is offered beside it', () => {
    const r = assessSide(mailbox('password'), 'smtp', 'microsoft365', refused('SMTP_AUTH_DISABLED'), Date.UTC(2026, 11, 1));
    expect(r.fix).toMatchObject({ kind: 'switch-mailbox-to-oauth' });
    expect(r.graphFix).toEqual(graphFix);
    expect(r.action).toContain('refuses OAuth 2.0 as well');
  });

  it('a password refused with 5.7.30 (basic authentication retired) is fixed by OAuth: no Graph offered', () => {
    expect(assessSide(mailbox('password'), 'smtp', 'microsoft365', refused('BASIC_AUTH_RETIRED'), Date.UTC(2026, 11, 1)).graphFix).toBeNull();
  });

  it('IMAP with OAuth 2.0 whose last test was refused: IMAP may be off, "Use Microsoft Graph" to receive', () => {
    const r = assessSide(mailbox('oauth2'), 'imap', 'microsoft365', { lastTestCode: 'OAUTH_TOKEN_REJECTED', refusal: null }, 0);
    expect(r).toMatchObject({ risk: 'broken', graphFix });
    expect(r.action).toContain('--receive-via graph');
    expect(r.action).toContain('Mail.ReadWrite');
  });

  it('a side that already goes through Microsoft Graph is not affected, whatever SMTP or IMAP saw', () => {
    const viaGraph = { ...mailbox('oauth2'), sendVia: 'graph', receiveVia: 'graph' } as Mailbox;
    expect(assessSide(viaGraph, 'smtp', 'microsoft365', refused('SMTP_AUTH_DISABLED'), 0)).toMatchObject({ risk: 'none', graphFix: null });
    expect(assessSide(viaGraph, 'imap', 'microsoft365', { lastTestCode: 'OAUTH_TOKEN_REJECTED', refusal: null }, 0)).toMatchObject({ risk: 'none', graphFix: null });
  });

  it('nothing at risk, nothing offered', () => {
    expect(assessSide(mailbox('oauth2'), 'smtp', 'microsoft365', quiet, 0).graphFix).toBeNull();
  });
});
