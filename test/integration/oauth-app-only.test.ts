/**
 * App-only access (client credentials) end to end, with real peers:
 * oauth2-mock-server issues application tokens (roles, no user) only for
 * the registration's client secret or for a client assertion signed by the
 * registered certificate (the mock verifies the signature); an smtp-server
 * and a private Dovecot (oauth2 passdb through the IdP's introspection)
 * accept only tokens with Exchange Online's audience, the protocol's role
 * and the service principal's mailbox permission. Mailroom gets the tokens
 * through the same token provider as a person's sign-in.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import nodemailer from 'nodemailer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openMailroom, type Mailroom } from '../../src-main/engine/mailroom';
import { EngineRuntime } from '../../src-main/engine/runtime';
import { decodeAccessToken } from '../../src-main/engine/auth/token-claims';
import { staticKeyProvider } from '../../src-main/store/secret-box';
import { isAppError } from '../../src-main/shared/errors';
import { startDovecot, type Dovecot } from '../helpers/dovecot';
import { makeAppCertificate, startTestIdp, type AppCertificate, type TestIdp } from '../helpers/oauth-idp';
import { unzip } from '../helpers/unzip';
import { startOutboxSmtp, type OutboxSmtp } from '../helpers/outbox-smtp';

const MAILBOX = 'support@contoso.test';
let idp: TestIdp;
let dovecot: Dovecot;
let upstream: OutboxSmtp;
let engine: Mailroom;
let runtime: EngineRuntime | undefined;
let mailboxId: number;
let dataDir: string;
let cert: AppCertificate;

beforeAll(async () => {
  idp = await startTestIdp();
  cert = makeAppCertificate();
  dovecot = await startDovecot({
    users: { [MAILBOX]: crypto.randomBytes(12).toString('hex') },
    // The IdP's introspection answers an app token with the mailbox its service principal may open.
    oauth2IntrospectionUrl: idp.introspectionUrl,
    messages: [{ user: MAILBOX, raw: 'From: customer@example.test\r\nTo: support@contoso.test\r\nSubject: Printer on fire\r\n\r\nHelp.\r\n' }],
  });
  upstream = await startOutboxSmtp({ checkToken: (user, token) => idp.checkAppToken(token, user, 'smtp') === null });
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mailroom-app-only-'));
  engine = openMailroom({ dataDir, keyProvider: staticKeyProvider(crypto.randomBytes(32)), fetch: idp.fetch });
  mailboxId = engine.mailboxes.create({
    name: 'Support',
    address: MAILBOX,
    preset: 'microsoft365',
    imap: { host: '127.0.0.1', port: dovecot.port, security: 'none', auth: 'oauth2-app' },
    smtp: { host: '127.0.0.1', port: upstream.port, security: 'none', auth: 'oauth2-app' },
  }).id;
  idp.app.fullAccess.add(MAILBOX);
  idp.app.sendAs.add(MAILBOX);
}, 60_000);

afterAll(async () => {
  await runtime?.stop(1000);
  await engine?.inbox.close();
  engine?.close();
  await upstream?.stop();
  await dovecot?.stop();
  await idp?.stop();
  cert?.remove();
  if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
});

const saveSecret = (secret: string, extra: Record<string, unknown> = {}) =>
  engine.oauth.appOnly.saveSettings({ tenant: idp.tenantId, clientId: idp.clientId, authorityHost: idp.authorityHost, credential: 'secret', clientSecret: secret, ...extra });

describe('app-only access with a client secret', () => {
  it('refuses to get a token before the registration is entered, and says where to enter it', async () => {
    const error = await engine.oauth.getAccessTokenForMailbox(mailboxId).catch((e: unknown) => e);
    expect(isAppError(error) && error.code).toBe('OAUTH_NOT_CONFIGURED');
    expect((error as Error & { hint: string }).hint).toContain('mailroom oauth app');
  });

  it('gets an application token for Exchange Online: roles, no user; the XOAUTH2 user is the mailbox address', async () => {
    const saved = saveSecret(idp.app.clientSecret, { secretExpiresOn: '2099-12-31' });
    expect(saved).toMatchObject({ configured: true, credential: 'secret', secretSet: true, secretExpiry: { state: 'ok' } });
    expect(JSON.stringify(saved)).not.toContain(idp.app.clientSecret);
    const token = await engine.oauth.getAccessTokenForMailbox(mailboxId);
    expect(token).toMatchObject({ kind: 'app', user: MAILBOX, account: idp.clientId });
    const decoded = decodeAccessToken(token.accessToken);
    expect(decoded.readable && decoded.claims).toMatchObject({ kind: 'app', audienceKind: 'exchange', roles: ['IMAP.AccessAsApp', 'POP.AccessAsApp', 'SMTP.SendAsApp'], upn: null });
    expect(idp.issuedAppTokens().get(token.accessToken)?.via).toBe('secret');
    // Cached (sealed in the store) until it is due: a second call asks the IdP nothing.
    const before = idp.countTokenRequests('client_credentials');
    expect((await engine.oauth.getAccessTokenForMailbox(mailboxId)).accessToken).toBe(token.accessToken);
    expect(idp.countTokenRequests('client_credentials')).toBe(before);
    expect(engine.oauth.health(mailboxId)).toMatchObject({ kind: 'app', state: 'signed-in', appOnly: { clientId: idp.clientId, credential: 'secret' } });
  });

  it('imports from Dovecot over IMAP XOAUTH2 with the app token', async () => {
    expect(await engine.inbox.pollNow(mailboxId)).toMatchObject({ outcome: 'ok', imported: 1 });
  });

  it('sends through SMTP XOAUTH2 with the app token (connection test and the outbox)', async () => {
    const [smtp] = await engine.connectionTests.run({ mailboxId, direction: 'outgoing', timeoutMs: 10_000 });
    expect(smtp!.ok).toBe(true);
    expect(upstream.authAttempts.at(-1)).toEqual({ method: 'XOAUTH2', username: MAILBOX, ok: true });
    runtime = new EngineRuntime(engine, { runtime: 'test', relay: false, inbox: false });
    await runtime.start();
    const queued = (await engine.outbox.compose({ mailboxId, to: ['customer@example.net'], subject: 'Ticket #1 received', text: 'We are on it.' })).messages[0]!;
    await expect.poll(() => engine.outbox.get(queued.id).status, { timeout: 15_000 }).toBe('sent');
    expect(upstream.messages.at(-1)).toMatchObject({ user: MAILBOX, to: ['customer@example.net'] });
  }, 60_000);

  it('is refused by Dovecot and smtp-server with a token for Microsoft Graph or without the AsApp roles', async () => {
    for (const change of [() => (idp.app.audience = 'https://graph.microsoft.com'), () => (idp.app.roles = ['Mail.Read'])]) {
      change();
      try {
        const token = await engine.oauth.getAccessTokenForMailbox(mailboxId, { forceRefresh: true });
        expect(idp.checkAppToken(token.accessToken, MAILBOX, 'imap')).not.toBeNull();
        expect((await engine.inbox.pollNow(mailboxId)).outcome).not.toBe('ok');
        const [smtp] = await engine.connectionTests.run({ mailboxId, direction: 'outgoing', timeoutMs: 10_000 });
        expect(smtp!.ok).toBe(false);
      } finally {
        idp.app.audience = 'https://outlook.office365.com';
        idp.app.roles = ['IMAP.AccessAsApp', 'POP.AccessAsApp', 'SMTP.SendAsApp'];
      }
    }
    await engine.oauth.getAccessTokenForMailbox(mailboxId, { forceRefresh: true });
  }, 60_000);

  it('is refused by Exchange without the mailbox permission, with the service principal hint', async () => {
    idp.app.fullAccess.delete(MAILBOX);
    try {
      const poll = await engine.inbox.pollNow(mailboxId);
      expect(poll.outcome).not.toBe('ok');
      const error = await engine.oauth.withAccessToken(mailboxId, async (t) => {
        if (idp.checkAppToken(t.accessToken, t.user, 'imap')) throw Object.assign(new Error('NO AUTHENTICATE failed'), { authenticationFailed: true });
        return 'opened';
      }, (e) => Boolean((e as { authenticationFailed?: boolean }).authenticationFailed)).catch((e: unknown) => e);
      expect(isAppError(error) && error.code).toBe('OAUTH_TOKEN_REJECTED');
      expect((error as Error & { hint: string }).hint).toMatch(/New-ServicePrincipal.*Enterprise application.*Add-MailboxPermission/s);
    } finally {
      idp.app.fullAccess.add(MAILBOX);
    }
  }, 60_000);

  it('names a wrong secret OAUTH_CLIENT_SECRET_INVALID, holds the mail, and releases it when the right one is saved', async () => {
    saveSecret('the-secret-ID-not-its-value');
    const error = await engine.oauth.getAccessTokenForMailbox(mailboxId).catch((e: unknown) => e);
    expect(isAppError(error) && error.code).toBe('OAUTH_CLIENT_SECRET_INVALID');
    expect(engine.oauth.appOnly.getSettings()).toMatchObject({ credentialRequired: true, lastError: { code: 'OAUTH_CLIENT_SECRET_INVALID' } });
    expect(engine.oauth.states().find((s) => s.mailboxId === mailboxId)?.needed?.code).toBe('OAUTH_CLIENT_SECRET_INVALID');
    const queued = (await engine.outbox.compose({ mailboxId, to: ['customer@example.net'], subject: 'Ticket #2 received', text: 'Soon.' })).messages[0]!;
    await expect.poll(() => engine.outbox.get(queued.id).status, { timeout: 15_000 }).toBe('waiting-sign-in');
    expect(engine.outbox.get(queued.id).attempts).toBe(0);
    saveSecret(idp.app.clientSecret);
    await expect.poll(() => engine.outbox.get(queued.id).status, { timeout: 15_000 }).toBe('sent');
  }, 60_000);

  it('learns the expiry from AADSTS7000222 and warns in the log at most once a day', async () => {
    idp.app.secretExpired = true;
    try {
      saveSecret(idp.app.clientSecret);
      const error = await engine.oauth.getAccessTokenForMailbox(mailboxId).catch((e: unknown) => e);
      expect(isAppError(error) && error.code).toBe('OAUTH_CLIENT_SECRET_EXPIRED');
      const settings = engine.oauth.appOnly.getSettings();
      expect(settings.secretExpiry).toMatchObject({ state: 'expired', source: 'learned' });
      engine.oauth.appOnly.checkSecretExpiry();
      engine.oauth.appOnly.checkSecretExpiry();
      const warnings = engine.log.query({}, 500).filter((e) => e.level === 'warning' && e.code === 'OAUTH_CLIENT_SECRET_EXPIRED');
      expect(warnings).toHaveLength(1);
    } finally {
      idp.app.secretExpired = false;
    }
  });

  it('keeps the secret out of every log entry, the health and the diagnostics scrub list', async () => {
    saveSecret(idp.app.clientSecret);
    await engine.oauth.getAccessTokenForMailbox(mailboxId);
    const everything = JSON.stringify([engine.log.query({}, 1000), engine.oauth.health(mailboxId), engine.oauth.appOnly.getSettings()]);
    expect(everything).not.toContain(idp.app.clientSecret);
    for (const token of idp.issuedAccessTokens()) expect(everything).not.toContain(token);
    expect(engine.oauth.appOnly.credentialsForScrubbing()).toContain(idp.app.clientSecret);
  });
});

describe('the relay and diagnostics with app-only access', () => {
  it('sends a relay submission upstream through the app-only mailbox (XOAUTH2 as the mailbox)', async () => {
    saveSecret(idp.app.clientSecret);
    await engine.relay.saveSettings({ addAccounts: [{ username: 'erp', mailboxId, password: 'Line-of-business-app-1' }] });
    const relayPort = (await engine.relay.start(0)).port;
    try {
      const client = nodemailer.createTransport({ host: '127.0.0.1', port: relayPort, secure: false, ignoreTLS: true, auth: { user: 'erp', pass: 'Line-of-business-app-1' } });
      const info = await client.sendMail({ from: 'erp@contoso.test', to: 'customer@example.net', subject: 'Invoice 2026-0001', text: 'Attached.' });
      const id = Number(/Queued as (\d+)/.exec(info.response)![1]);
      await expect.poll(() => engine.outbox.get(id).status, { timeout: 15_000 }).toBe('sent');
      expect(upstream.authAttempts.at(-1)).toEqual({ method: 'XOAUTH2', username: MAILBOX, ok: true });
    } finally {
      await engine.relay.stop();
    }
  }, 60_000);

  it('scrubs the client secret and the private key from a diagnostics bundle, even where a log entry carried them', async () => {
    const bundleHolds = async (needle: string) => {
      const bundle = path.join(dataDir, `bundle-${crypto.randomUUID()}.zip`);
      await engine.diagnostics.createBundle(bundle, { runtime: 'test' });
      return [...(await unzip(bundle)).entries()].filter(([, bytes]) => bytes.includes(needle)).map(([name]) => name);
    };
    // A secret pasted into the wrong field ends up in a message: the bundle must still not carry it.
    engine.oauth.appOnly.saveSettings({ tenant: idp.tenantId, clientId: idp.clientId, authorityHost: idp.authorityHost, credential: 'certificate', certificatePem: cert.combinedPem });
    const stored = engine.oauth.appOnly.credentialsForScrubbing()[0]!;
    const keyLine = stored.split('\n')[3]!;
    engine.log.write({ direction: 'auth', level: 'info', message: `pasted by mistake: ${keyLine}` });
    engine.log.write({ direction: 'auth', level: 'info', message: 'control: not a secret 7f3a' });
    expect(await bundleHolds('control: not a secret 7f3a')).not.toEqual([]); // the log is in the bundle
    expect(await bundleHolds(keyLine)).toEqual([]);
    saveSecret(idp.app.clientSecret);
    engine.log.write({ direction: 'auth', level: 'info', message: `pasted by mistake: ${idp.app.clientSecret}` });
    expect(await bundleHolds(idp.app.clientSecret)).toEqual([]);
  }, 60_000);
});

describe('app-only access with a certificate', () => {
  it.each([
    ['a PEM file', () => ({ certificatePem: cert.combinedPem })],
    ['a PFX (AES) with its password', () => ({ pfxBase64: cert.pfxAes.toString('base64'), certificatePassword: cert.pfxPassword })],
    ['a PFX (3DES, older Windows) with its password', () => ({ pfxBase64: cert.pfx3des.toString('base64'), certificatePassword: cert.pfxPassword })],
  ])('signs the client assertion with the key from %s, which the IdP verifies against the registered certificate', async (_what, input) => {
    idp.app.certificatePem = cert.certPem;
    const saved = engine.oauth.appOnly.saveSettings({ tenant: idp.tenantId, clientId: idp.clientId, authorityHost: idp.authorityHost, credential: 'certificate', ...input() });
    expect(saved).toMatchObject({ credential: 'certificate', secretSet: false, certificate: { thumbprintSha256: cert.thumbprintSha256 } });
    const token = await engine.oauth.getAccessTokenForMailbox(mailboxId);
    expect(idp.issuedAppTokens().get(token.accessToken)?.via).toBe('certificate');
    expect(await engine.inbox.pollNow(mailboxId)).toMatchObject({ outcome: 'ok' });
    expect(JSON.stringify(engine.log.query({}, 1000))).not.toContain(cert.keyPem.split('\n')[1]);
  }, 60_000);

  it('is refused by the IdP when another certificate signs (the mock checks the signature): OAUTH_CLIENT_CERTIFICATE_INVALID', async () => {
    const other = makeAppCertificate('/CN=Not registered');
    try {
      idp.app.certificatePem = cert.certPem;
      engine.oauth.appOnly.saveSettings({ tenant: idp.tenantId, clientId: idp.clientId, authorityHost: idp.authorityHost, credential: 'certificate', certificatePem: other.combinedPem });
      const error = await engine.oauth.getAccessTokenForMailbox(mailboxId).catch((e: unknown) => e);
      expect(isAppError(error) && error.code).toBe('OAUTH_CLIENT_CERTIFICATE_INVALID');
      expect(idp.refusedClientCredentials.at(-1)).toMatch(/AADSTS700027/);
    } finally {
      other.remove();
    }
  });

  it('warns 30 days before the certificate expires, like a secret: screens, health, log once a day', () => {
    const soon = makeAppCertificate('/CN=Expires soon', 10);
    try {
      const saved = engine.oauth.appOnly.saveSettings({ tenant: idp.tenantId, clientId: idp.clientId, authorityHost: idp.authorityHost, credential: 'certificate', certificatePem: soon.combinedPem });
      expect(saved.secretExpiry).toMatchObject({ credential: 'certificate', source: 'certificate', state: 'soon', daysLeft: 9 });
      expect(saved.secretExpiry!.message).toMatch(/The certificate of the app-only registration expires in 9 days .*Certificates & secrets > Certificates/);
      expect(engine.oauth.health(mailboxId).appOnly?.secretExpiry).toMatchObject({ credential: 'certificate', state: 'soon' });
      const row = engine.health.overview().mailboxes.find((r) => r.mailboxId === mailboxId)!;
      expect(row).toMatchObject({ clientCredential: 'certificate', clientSecretExpiresAt: saved.certificate!.notAfter });
      // (Its words are the rule table's, tested in health-rules.test.ts; here an older failed test outranks them.)
      engine.oauth.appOnly.checkSecretExpiry();
      engine.oauth.appOnly.checkSecretExpiry();
      const warnings = engine.log.query({}, 500).filter((e) => e.code === 'OAUTH_CLIENT_CERTIFICATE_EXPIRING');
      expect(warnings).toHaveLength(1);
      expect(warnings[0]!.detail).toContain('read from the certificate');
    } finally {
      soon.remove();
    }
  });

  it('says a wrong PFX password is wrong, and stores nothing', async () => {
    const before = engine.oauth.appOnly.getSettings();
    let error: unknown;
    try {
      engine.oauth.appOnly.saveSettings({ tenant: idp.tenantId, clientId: idp.clientId, authorityHost: idp.authorityHost, credential: 'certificate', pfxBase64: cert.pfxAes.toString('base64'), certificatePassword: 'wrong' });
    } catch (e) {
      error = e;
    }
    expect(isAppError(error) && error.code).toBe('CERTIFICATE_PASSWORD_WRONG');
    expect(engine.oauth.appOnly.getSettings()).toEqual(before);
  });
});
