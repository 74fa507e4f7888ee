/**
 * The token doctor against real peers: oauth2-mock-server over HTTPS issuing
 * tokens with a Graph audience, missing scopes, another account, app-only
 * roles, and refusing token requests with Entra's AADSTS answers; a private
 * Dovecot with an oauth2 passdb; an smtp-server that accepts only Exchange
 * tokens with SMTP.Send (or SMTP.SendAsApp) and answers Microsoft's 535
 * 5.7.139 / 550 5.7.30 when told; a scripted Exchange IMAP server for the
 * app-only refusals. The CLI's JSON shape and exit codes are checked on the
 * built CLI.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { openMailroom, type Mailroom } from '../../src-main/engine/mailroom';
import { TokenDoctor, type DoctorTokenSource } from '../../src-main/engine/auth/token-doctor';
import { classifyTokenError } from '../../src-main/engine/auth/token-errors';
import { staticKeyProvider } from '../../src-main/store/secret-box';
import { TokenDoctorReport } from '../../src-main/shared/token-doctor';
import type { Mailbox } from '../../src-main/shared/mailbox';
import { startDovecot, type Dovecot } from '../helpers/dovecot';
import { startTestIdp, type TestIdp } from '../helpers/oauth-idp';
import { startSmtpPeer, type SmtpPeer, type SmtpPeerOptions } from '../helpers/smtp-peer';
import { startScriptedServer, type ScriptedServer } from '../helpers/scripted-server';
import { runCli } from '../helpers/cli';

const SUPPORT = 'support@contoso.test';
const AGENT = 'agent@contoso.test';
const DOVECOT_PASSWORD = crypto.randomBytes(12).toString('hex');
/** What Entra puts in a token for Exchange Online after a person's sign-in with the right scopes. */
const EXCHANGE_DELEGATED = { aud: 'https://outlook.office.com', scp: 'IMAP.AccessAsUser.All SMTP.Send', ver: '1.0' };
const KEY = crypto.randomBytes(32);

let idp: TestIdp;
let dovecot: Dovecot;
let smtp: SmtpPeer;
const smtpOptions: SmtpPeerOptions = {};
/** Who may send as whom over XOAUTH2: Full Access (and Send As) of a person on a shared mailbox. */
const fullAccess: Record<string, string[]> = { [AGENT]: [SUPPORT] };
let exchangeImap: ScriptedServer;
let dataDir: string;
let engine: Mailroom;
let support: Mailbox;

const claimsOf = (token: string): Record<string, unknown> => JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString('utf8')) as Record<string, unknown>;

/** Exchange Online's SMTP AUTH check, as far as a test can make it: the IdP issued it, for Exchange, with SMTP.Send, for this mailbox. */
function exchangeAccepts(user: string, token: string): true | Record<string, string> {
  const owner = idp.verifyAccessToken(token);
  const claims = owner ? claimsOf(token) : {};
  const exchange = claims.aud === 'https://outlook.office.com' || claims.aud === 'https://outlook.office365.com';
  const roles = Array.isArray(claims.roles) ? (claims.roles as string[]) : [];
  const allowed = String(claims.scp ?? '').split(' ').includes('SMTP.Send') || roles.includes('SMTP.SendAsApp');
  const account = String(claims.upn ?? claims.preferred_username ?? '');
  const mayUse = roles.length > 0 || account.toLowerCase() === user.toLowerCase() || (fullAccess[account] ?? []).includes(user);
  return owner && exchange && allowed && mayUse ? true : { status: '401', schemes: 'bearer', scope: 'https://outlook.office.com/SMTP.Send' };
}

async function signIn(mailboxId: number, allowOtherAccount = false): Promise<void> {
  const started = await engine.oauth.beginSignIn({ mailboxId, allowOtherAccount });
  const answer = await idp.authorize(started.url);
  await fetch(started.redirectUri, { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ code: answer.code!, state: answer.state! }).toString() });
  const done = await engine.oauth.waitForSignIn(started.signInId);
  expect(done.state, JSON.stringify(done.error)).toBe('succeeded');
}

beforeAll(async () => {
  idp = await startTestIdp();
  idp.accessTokenClaims = EXCHANGE_DELEGATED;
  [dovecot, smtp, exchangeImap] = await Promise.all([
    startDovecot({ users: { [SUPPORT]: DOVECOT_PASSWORD }, oauth2IntrospectionUrl: idp.introspectionUrl }),
    startSmtpPeer(Object.assign(smtpOptions, { tls: 'none', allowInsecureAuth: true, users: { [SUPPORT]: DOVECOT_PASSWORD }, checkToken: exchangeAccepts } satisfies SmtpPeerOptions)),
    // Exchange Online's IMAP after an app-only sign-in whose service principal has no permission on the mailbox.
    startScriptedServer({
      script: [
        { send: '* OK The Microsoft Exchange IMAP4 service is ready. [UwBJADIAUABSADAAMQBDAEEAMAAwADQAMgAuAGEAcABjAHAAcgBkADAAMQAuAHAAcgBvAGQALgBlAHgAYwBoAGEAbgBnAGUAbABhAGIAcwAuAGMAbwBtAA==]' },
        { expect: /CAPABILITY/ },
        { send: ['* CAPABILITY IMAP4 IMAP4rev1 AUTH=PLAIN AUTH=XOAUTH2 SASL-IR UIDPLUS ID UNSELECT CHILDREN IDLE NAMESPACE LITERAL+', 'M1 OK CAPABILITY completed.'] },
        { expect: /AUTHENTICATE XOAUTH2/ },
        { send: 'M2 OK AUTHENTICATE completed.' },
        { expect: /EXAMINE|SELECT/ },
        { send: ['M3 BAD User is authenticated but not connected.', '* BYE Connection closed. 14'] },
      ],
    }),
  ]);
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mailroom-doctor-'));
  engine = openMailroom({ dataDir, keyProvider: staticKeyProvider(KEY), fetch: idp.fetch });
  engine.oauth.saveSettings({ tenant: idp.tenantId, clientId: idp.clientId, authorityHost: idp.authorityHost, redirectHost: '127.0.0.1' });
  support = engine.mailboxes.create({
    name: 'Support',
    address: SUPPORT,
    preset: 'microsoft365',
    imap: { host: '127.0.0.1', port: dovecot.port, security: 'none' },
    smtp: { host: '127.0.0.1', port: smtp.port, security: 'none' },
  });
  await signIn(support.id);
}, 90_000);

afterAll(async () => {
  engine?.close();
  await Promise.all([dovecot?.stop(), smtp?.stop(), exchangeImap?.stop(), idp?.stop()]);
  fs.rmSync(dataDir, { recursive: true, force: true });
});

beforeEach(() => {
  idp.accessTokenClaims = EXCHANGE_DELEGATED;
  idp.tokenError = null;
  delete smtpOptions.reject;
});

const codes = (r: TokenDoctorReport) => r.findings.map((f) => f.code);

describe('token doctor, a person\'s sign-in', () => {
  it('finds nothing wrong with a token Exchange accepts, and says so after real IMAP and SMTP sign-ins', async () => {
    const report = await engine.doctor.examine(support);
    expect(TokenDoctorReport.parse(report)).toEqual(report);
    expect(report.findings).toEqual([]);
    expect(report.ok).toBe(true);
    expect(report.tokenSource).toBe('delegated');
    expect(report.claims).toMatchObject({ aud: 'https://outlook.office.com', kind: 'delegated', scp: ['IMAP.AccessAsUser.All', 'SMTP.Send'], upn: SUPPORT, tid: idp.tenantId, roles: null });
    expect(report.claims!.exp).toMatch(/^\d{4}-\d\d-\d\dT/);
    expect(report.probes.map((p) => [p.protocol, p.auth, p.ok])).toEqual([['imap', 'xoauth2', true], ['smtp', 'xoauth2', true]]);
    // The token itself is never in the report, nor in the log.
    const json = JSON.stringify(report) + JSON.stringify(engine.log.query({ mailboxId: support.id }, 1000));
    for (const token of idp.issuedAccessTokens()) expect(json).not.toContain(token);
  }, 60_000);

  it('names a Microsoft Graph audience and why it happens, and does not repeat the server\'s refusal as another finding', async () => {
    idp.accessTokenClaims = { ...EXCHANGE_DELEGATED, aud: 'https://graph.microsoft.com' };
    const report = await engine.doctor.examine(support);
    expect(codes(report)).toEqual(['TOKEN_AUDIENCE_GRAPH']);
    const [graph] = report.findings;
    expect(graph!.summary).toContain('Microsoft Graph (https://graph.microsoft.com)');
    expect(graph!.hint).toContain('without their resource');
    expect(graph!.hint).toContain('https://outlook.office.com/SMTP.Send');
    // The SMTP server did refuse it: the probe says so.
    expect(report.probes.find((p) => p.protocol === 'smtp')).toMatchObject({ ok: false, step: 'auth', code: 'OAUTH_TOKEN_REJECTED' });
  }, 60_000);

  it('a fresh token the server refuses too: OAUTH_TOKEN_REJECTED says what its claims say', async () => {
    idp.accessTokenClaims = { ...EXCHANGE_DELEGATED, aud: 'https://graph.microsoft.com' };
    const error = await engine.oauth
      .withAccessToken(support.id, async (t) => {
        if (exchangeAccepts(t.user, t.accessToken) !== true) throw Object.assign(new Error('535 5.7.3 Authentication unsuccessful'), { responseCode: 535 });
      }, (e) => (e as { responseCode?: number }).responseCode === 535)
      .then(() => ({ code: 'none', message: '', hint: '' }), (e: unknown) => e as { code: string; message: string; hint: string });
    expect(error).toMatchObject({ code: 'OAUTH_TOKEN_REJECTED' });
    expect(error.message).toContain('Microsoft Graph');
    expect(error.hint).toContain('without their resource');
    expect(error.hint).toContain('mailroom oauth doctor "Support"');
  });

  it('names a missing SMTP.Send scope', async () => {
    idp.accessTokenClaims = { ...EXCHANGE_DELEGATED, scp: 'IMAP.AccessAsUser.All' };
    const report = await engine.doctor.examine(support);
    expect(codes(report)).toEqual(['TOKEN_SCOPE_MISSING']);
    expect(report.findings[0]!.summary).toContain('SMTP.Send');
    expect(report.findings[0]!.hint).toContain('Office 365 Exchange Online');
  }, 60_000);

  it('names a token for another account', async () => {
    idp.accessTokenClaims = { ...EXCHANGE_DELEGATED, upn: 'someone@contoso.test', preferred_username: 'someone@contoso.test' };
    const report = await engine.doctor.examine(support, { probe: false });
    expect(codes(report)).toEqual(['TOKEN_OTHER_ACCOUNT']);
    expect(report.findings[0]!.summary).toBe(`The token was issued to someone@contoso.test, but it is used to sign in as ${SUPPORT}.`);
    expect(report.probes).toEqual([]);
  });

  it('reports SMTP AUTH turned off (535 5.7.139) from a real sign-in', async () => {
    smtpOptions.reject = { AUTH: { code: 535, message: '5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for the Tenant. Visit https://aka.ms/smtp_auth_disabled for more information.' } };
    const report = await engine.doctor.examine(support);
    // No token turns SMTP AUTH back on: the doctor also says Microsoft Graph sends without it (issue 16).
    expect(codes(report)).toEqual(['SMTP_AUTH_DISABLED', 'GRAPH_SUGGESTED_FOR_SENDING']);
    expect(report.findings[1]!.hint).toContain(`--send-via graph`);
    expect(report.findings[1]!.hint).toContain('Mail.Send');
    expect(report.findings[0]!.summary).toMatch(/^SMTP sign-in at 127\.0\.0\.1:\d+: /);
    expect(report.findings[0]!.hint).toMatch(/SMTP AUTH/);
    expect(report.probes.find((p) => p.protocol === 'smtp')!.serverReply).toContain('5.7.139');
  }, 60_000);

  it.each([
    ['invalid_grant', 'AADSTS65001: The user or administrator has not consented to use the application with ID \'x\' named \'Mailroom\'.', 'OAUTH_CONSENT_REQUIRED'],
    ['invalid_request', 'AADSTS50011: The redirect URI \'http://127.0.0.1:5000\' specified in the request does not match the redirect URIs configured for the application.', 'OAUTH_NOT_CONFIGURED'],
    ['unauthorized_client', 'AADSTS700016: Application with identifier \'x\' was not found in the directory \'Contoso\'.', 'OAUTH_NOT_CONFIGURED'],
    ['invalid_request', 'AADSTS90002: Tenant \'contoso.test\' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.', 'OAUTH_TENANT_NOT_FOUND'],
    ['invalid_client', 'AADSTS7000215: Invalid client secret provided.', 'OAUTH_NOT_CONFIGURED'],
  ])('reports Entra\'s %s answer %s as %s when no token can be had', async (error, description, code) => {
    idp.tokenError = { error, description };
    try {
      const report = await engine.doctor.examine(support);
      expect(codes(report)).toEqual([code]);
      expect(report.findings[0]!.summary).toContain(description.slice(0, 14));
      expect(report.claims).toBeNull();
      expect(report.ok).toBe(false);
      // The doctor asks again later with the stored failure's own code, not only "sign in again".
      const again = await engine.doctor.examine(support, { probe: false });
      expect(codes(again)[0]).toBe(code);
    } finally {
      idp.tokenError = null;
      await signIn(support.id);
    }
  }, 60_000);

  it('warns when a relay account would send as an address the mailbox cannot (SendAsDenied), naming the command', async () => {
    await engine.relay.saveSettings({ addAccounts: [{ username: 'scanner', mailboxId: support.id, password: 'scanner-password-1' }] });
    try {
      const report = await engine.doctor.examine(support, { probe: false });
      expect(codes(report)).toEqual(['RELAY_FROM_NOT_ALLOWED']);
      expect(report.findings[0]!.summary).toContain('SendAsDenied');
      expect(report.findings[0]!.hint).toContain('mailroom relay account update scanner --from mailbox');
      await engine.relay.saveSettings({ updateAccounts: [{ username: 'scanner', fromMode: 'mailbox' }] });
      expect((await engine.doctor.examine(support, { probe: false })).findings).toEqual([]);
    } finally {
      await engine.relay.saveSettings({ removeAccounts: ['scanner'] });
    }
  });

  it('reports basic authentication retired (550 5.7.30) for a side that still signs in with a password', async () => {
    const scanner = engine.mailboxes.create({
      name: 'Scanner',
      address: SUPPORT,
      imap: { host: '127.0.0.1', port: dovecot.port, security: 'none', auth: 'password' },
      smtp: { host: '127.0.0.1', port: smtp.port, security: 'none', auth: 'password' },
      password: DOVECOT_PASSWORD,
    });
    smtpOptions.reject = { AUTH: { code: 550, message: '5.7.30 Basic authentication is not supported for Client Submission.' } };
    try {
      const report = await engine.doctor.examine(scanner);
      expect(report.tokenSource).toBeNull();
      expect(report.claims).toBeNull();
      expect(codes(report)).toEqual(['BASIC_AUTH_RETIRED']);
      expect(report.probes.map((p) => [p.protocol, p.auth, p.ok])).toEqual([['imap', 'password', true], ['smtp', 'password', false]]);
    } finally {
      engine.mailboxes.remove(scanner.id);
    }
  }, 60_000);
});

describe('shared mailbox reached through a person with Full Access', () => {
  let shared: Mailbox;
  beforeAll(async () => {
    // support@ is the shared mailbox; agent@ has Full Access (and Send As) to it and signs in.
    shared = engine.mailboxes.create({
      name: 'Shared support',
      address: SUPPORT,
      preset: 'microsoft365',
      imap: { host: '127.0.0.1', port: dovecot.port, security: 'none', auth: 'password' },
      smtp: { host: '127.0.0.1', port: smtp.port, security: 'none', auth: 'oauth2' },
      password: DOVECOT_PASSWORD,
    });
    idp.user = { ...idp.user, username: AGENT };
  });
  afterAll(() => {
    idp.user = { ...idp.user, username: SUPPORT };
  });

  it('refuses the other account at sign-in unless the admin allows it', async () => {
    const started = await engine.oauth.beginSignIn({ mailboxId: shared.id });
    const answer = await idp.authorize(started.url);
    await fetch(started.redirectUri, { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ code: answer.code!, state: answer.state! }).toString() });
    const done = await engine.oauth.waitForSignIn(started.signInId);
    expect(done.error?.code).toBe('OAUTH_WRONG_ACCOUNT');
    expect(engine.oauth.health(shared.id).state).toBe('not-signed-in');
  });

  it('accepts it where the admin allowed it: no finding, the XOAUTH2 user is the shared address, the real sign-in works', async () => {
    idp.accessTokenClaims = { ...EXCHANGE_DELEGATED, upn: AGENT, preferred_username: AGENT };
    await signIn(shared.id, true);
    expect(engine.oauth.health(shared.id)).toMatchObject({ account: AGENT, otherAccountAllowed: true, expectedAccount: SUPPORT });
    const report = await engine.doctor.examine(shared);
    expect(report.claims!.upn).toBe(AGENT);
    expect(report.findings).toEqual([]);
    expect(report.probes.map((p) => [p.protocol, p.auth, p.ok])).toEqual([['imap', 'password', true], ['smtp', 'xoauth2', true]]);
    expect(smtp.authAttempts.at(-1)).toEqual({ method: 'XOAUTH2', username: SUPPORT });
  }, 60_000);

  it('a refused token of an allowed account is never diagnosed as "another account" by the connection test or the outbox', async () => {
    delete fullAccess[AGENT];
    try {
      const [result] = await engine.connectionTests.run({ mailboxId: shared.id, direction: 'outgoing' });
      expect(result!.diagnosis).toMatchObject({ code: 'OAUTH_TOKEN_REJECTED', step: 'auth' });
      // The doctor reads the refusal the same way: the account may not use the mailbox, not a wrong account.
      const report = await engine.doctor.examine(shared);
      expect(codes(report)).toEqual(['TOKEN_REFUSED_MAILBOX_SETTINGS']);
      // The outbox reads a refused token's claims the same way.
      const queued = await engine.outbox.compose({ mailboxId: shared.id, to: ['customer@example.test'], subject: 'Shared', text: 'Hello' });
      const id = queued.messages[0]!.id;
      expect(engine.outbox.startSending('test')).toBeNull();
      try {
        const deadline = Date.now() + 30_000;
        while (!engine.outbox.get(id).lastError && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
        expect(engine.outbox.get(id).lastError).toMatchObject({ code: 'OAUTH_TOKEN_REJECTED' });
      } finally {
        await engine.outbox.stopSending(2000);
        engine.outbox.cancel(id);
      }
    } finally {
      fullAccess[AGENT] = [SUPPORT];
    }
  }, 60_000);

  it('the inbox import reads a refused token of an allowed account the same way', async () => {
    const inboxOnly = engine.mailboxes.create({ name: 'Shared inbox', address: SUPPORT, preset: 'microsoft365', imap: { host: '127.0.0.1', port: dovecot.port, security: 'none' }, smtp: { host: '127.0.0.1', port: smtp.port, security: 'none', auth: 'none' } });
    try {
      await signIn(inboxOnly.id, true);
      // Dovecot knows no Full Access: it refuses agent@'s token for support@.
      const poll = await engine.inbox.pollNow(inboxOnly.id);
      expect(poll.outcome).toBe('failed');
      expect(poll.code).toBe('OAUTH_TOKEN_REJECTED');
    } finally {
      engine.mailboxes.remove(inboxOnly.id);
    }
  }, 60_000);

  it('still names the other account when the admin did not allow it (the user name changed after the sign-in)', async () => {
    const other = engine.mailboxes.create({ name: 'Other', address: 'other@contoso.test', preset: 'microsoft365', imap: { host: '127.0.0.1', port: 1, security: 'none' }, smtp: { host: '127.0.0.1', port: smtp.port, security: 'none' } });
    try {
      idp.accessTokenClaims = { ...EXCHANGE_DELEGATED, upn: 'other@contoso.test', preferred_username: 'other@contoso.test' };
      idp.user = { ...idp.user, username: 'other@contoso.test' };
      await signIn(other.id);
      engine.mailboxes.update({ id: other.id, imap: { username: 'helpdesk@contoso.test' }, smtp: { username: 'helpdesk@contoso.test' } });
      const report = await engine.doctor.examine(engine.mailboxes.get(other.id), { probe: false });
      expect(codes(report)).toEqual(['TOKEN_OTHER_ACCOUNT']);
      const [result] = await engine.connectionTests.run({ mailboxId: other.id, direction: 'outgoing' });
      expect(result!.diagnosis).toMatchObject({ code: 'OAUTH_WRONG_ACCOUNT' });
    } finally {
      idp.user = { ...idp.user, username: AGENT };
      engine.mailboxes.remove(other.id);
    }
  }, 60_000);
});

describe('token doctor with an app-only token source (client credentials)', () => {
  /** Client credentials against the IdP, as app-only access asks for them; failures classified for a confidential client. */
  const appOnlySource = (roles: string[]): DoctorTokenSource => ({
    kind: 'app',
    async getToken(mailbox) {
      // The IdP issues client-credentials tokens as Entra does (roles, no user): only the roles change per test.
      idp.app.roles = roles;
      const response = await idp.fetch(`${idp.authorityHost}/token`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ grant_type: 'client_credentials', client_id: idp.clientId, client_secret: idp.app.clientSecret, scope: 'https://outlook.office365.com/.default' }).toString(),
      });
      const body = JSON.parse(await response.text()) as { access_token?: string; error?: string; error_description?: string };
      if (!body.access_token) throw classifyTokenError({ errorCode: body.error, errorMessage: body.error_description }, { client: 'confidential' }).error;
      return { accessToken: body.access_token, user: mailbox.address, tenantId: idp.tenantId, clientId: idp.clientId };
    },
  });
  const doctorWith = (source: DoctorTokenSource) => new TokenDoctor({ tokenSourceFor: () => source, password: () => undefined });
  let shared: Mailbox;
  beforeAll(() => {
    shared = engine.mailboxes.create({ name: 'App-only support', address: SUPPORT, preset: 'microsoft365', imap: { host: '127.0.0.1', port: exchangeImap.port, security: 'none' }, smtp: { host: '127.0.0.1', port: smtp.port, security: 'none' } });
  });

  it('reads roles instead of scopes and no user name: never "another account"', async () => {
    const report = await doctorWith(appOnlySource(['IMAP.AccessAsApp', 'SMTP.SendAsApp'])).examine(shared, { probe: false });
    expect(report.tokenSource).toBe('app');
    expect(report.claims).toMatchObject({ kind: 'app', roles: ['IMAP.AccessAsApp', 'SMTP.SendAsApp'], scp: null, upn: null, preferred_username: null, appid: idp.clientId });
    expect(report.findings).toEqual([]);
  });

  it('names a missing application permission (role)', async () => {
    const report = await doctorWith(appOnlySource(['IMAP.AccessAsApp'])).examine(shared, { probe: false });
    expect(codes(report)).toEqual(['TOKEN_APP_ROLE_MISSING']);
    expect(report.findings[0]!.summary).toContain('SMTP.SendAsApp');
  });

  it('names the service principal and the mailbox permission from Exchange\'s real refusals', async () => {
    smtpOptions.reject = { AUTH: { code: 535, message: '5.7.3 Authentication unsuccessful [SN4PR0201CA0045.namprd02.prod.outlook.com]' } };
    const report = await doctorWith(appOnlySource(['IMAP.AccessAsApp', 'SMTP.SendAsApp'])).examine(shared);
    expect(codes(report).sort()).toEqual(['TOKEN_APP_NOT_AUTHORIZED', 'TOKEN_APP_NO_MAILBOX_PERMISSION']);
    const imap = report.findings.find((f) => f.code === 'TOKEN_APP_NO_MAILBOX_PERMISSION')!;
    expect(imap.summary).toContain('User is authenticated but not connected');
    expect(imap.hint).toContain('New-ServicePrincipal');
    expect(imap.hint).toContain('Enterprise applications');
    expect(report.findings.find((f) => f.code === 'TOKEN_APP_NOT_AUTHORIZED')!.hint).toContain('Add-MailboxPermission');
    expect(codes(report)).not.toContain('TOKEN_OTHER_ACCOUNT');
  }, 60_000);

  it.each([
    ['AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID.', 'OAUTH_CLIENT_SECRET_INVALID'],
    ['AADSTS7000222: The provided client secret keys for app \'x\' are expired.', 'OAUTH_CLIENT_SECRET_EXPIRED'],
  ])('reports %s as %s', async (description, code) => {
    idp.tokenError = { error: 'invalid_client', description };
    const report = await doctorWith(appOnlySource(['IMAP.AccessAsApp', 'SMTP.SendAsApp'])).examine(shared, { probe: false });
    expect(codes(report)).toEqual([code]);
  });
});

describe('mailroom oauth doctor (the built CLI)', () => {
  const env = () => ({ NODE_EXTRA_CA_CERTS: idp.certs.caFile, MAILROOM_SECRET_KEY: KEY.toString('hex') });

  it('prints { ok, claims, findings } and exits 0 when nothing is wrong, without the token', async () => {
    const r = await runCli(['oauth', 'doctor', 'Support', '--json', '--data-dir', dataDir], { env: env(), timeoutMs: 60_000 });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.json).toMatchObject({ ok: true, findings: [], claims: { aud: 'https://outlook.office.com', upn: SUPPORT, scp: ['IMAP.AccessAsUser.All', 'SMTP.Send'] } });
    expect(Object.keys(r.json.claims)).toEqual(expect.arrayContaining(['aud', 'scp', 'roles', 'upn', 'preferred_username', 'tid', 'appid', 'exp']));
    for (const token of idp.issuedAccessTokens()) expect(r.stdout + r.stderr).not.toContain(token);
  }, 60_000);

  it('exits 1 with each finding as { code, summary, hint }, and prints them as text without --json', async () => {
    idp.accessTokenClaims = { ...EXCHANGE_DELEGATED, aud: 'https://graph.microsoft.com' };
    const r = await runCli(['oauth', 'doctor', 'Support', '--json', '--no-probe', '--data-dir', dataDir], { env: env(), timeoutMs: 60_000 });
    expect(r.code, r.stderr).toBe(1);
    expect(r.json.ok).toBe(false);
    expect(r.json.findings).toEqual([{ code: 'TOKEN_AUDIENCE_GRAPH', summary: expect.any(String), hint: expect.stringContaining('https://outlook.office.com/') }]);
    const text = await runCli(['oauth', 'doctor', 'Support', '--no-probe', '--data-dir', dataDir], { env: env(), timeoutMs: 60_000 });
    expect(text.code).toBe(1);
    expect(text.stdout).toContain('aud                https://graph.microsoft.com');
    expect(text.stdout).toContain('[TOKEN_AUDIENCE_GRAPH]');
    expect(text.stdout).toContain('what to change:');
  }, 60_000);

  it('exits 2 for a mailbox that does not exist, as JSON', async () => {
    const r = await runCli(['oauth', 'doctor', 'Nobody', '--json', '--data-dir', dataDir], { env: env() });
    expect(r.code).not.toBe(0);
    expect(r.json).toMatchObject({ ok: false, error: { code: 'NOT_FOUND' } });
  });
});
