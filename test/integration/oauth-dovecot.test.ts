/**
 * IMAP XOAUTH2 against a private Dovecot whose oauth2 passdb asks the test
 * IdP's introspection endpoint: only live tokens the IdP issued for that user
 * open the mailbox. The token comes from Mailroom's token provider after a
 * real sign-in; imapflow authenticates with it.
 */
import crypto from 'node:crypto';
import { ImapFlow } from 'imapflow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openMailroom, type Mailroom } from '../../src-main/engine/mailroom';
import { staticKeyProvider } from '../../src-main/store/secret-box';
import { isAppError } from '../../src-main/shared/errors';
import { startDovecot, type Dovecot } from '../helpers/dovecot';
import { startTestIdp, type TestIdp } from '../helpers/oauth-idp';
import { tempDir } from '../helpers/temp';

let idp: TestIdp;
let dovecot: Dovecot;
let engine: Mailroom;
let mailboxId: number;

beforeAll(async () => {
  idp = await startTestIdp();
  dovecot = await startDovecot({
    users: { 'support@contoso.test': crypto.randomBytes(12).toString('hex') },
    oauth2IntrospectionUrl: idp.introspectionUrl,
    messages: [{ user: 'support@contoso.test', raw: 'From: customer@example.test\r\nTo: support@contoso.test\r\nSubject: Printer on fire\r\n\r\nHelp.\r\n' }],
  });
  engine = openMailroom({ dataDir: tempDir('mailroom-dovecot-oauth-'), keyProvider: staticKeyProvider(crypto.randomBytes(32)), fetch: idp.fetch });
  engine.oauth.saveSettings({ tenant: idp.tenantId, clientId: idp.clientId, authorityHost: idp.authorityHost, redirectHost: '127.0.0.1' });
  mailboxId = engine.mailboxes.create({ name: 'Support', address: 'support@contoso.test', preset: 'microsoft365', imap: { host: '127.0.0.1', port: dovecot.port, security: 'none' } }).id;
  const started = await engine.oauth.beginSignIn({ mailboxId });
  const answer = await idp.authorize(started.url);
  await fetch(started.redirectUri, { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ code: answer.code!, state: answer.state! }).toString() });
  expect((await engine.oauth.waitForSignIn(started.signInId)).state).toBe('succeeded');
}, 60_000);

afterAll(async () => {
  engine?.close();
  await dovecot?.stop();
  await idp?.stop();
});

async function subjects(user: string, accessToken: string): Promise<string[]> {
  const client = new ImapFlow({ host: '127.0.0.1', port: dovecot.port, secure: false, doSTARTTLS: false, auth: { user, accessToken }, logger: false });
  await client.connect();
  try {
    const lock = await client.getMailboxLock('INBOX');
    try {
      const out: string[] = [];
      for await (const message of client.fetch('1:*', { envelope: true })) out.push(message.envelope?.subject ?? '');
      return out;
    } finally {
      lock.release();
    }
  } finally {
    await client.logout().catch(() => undefined);
  }
}

const rejected = (e: unknown) => Boolean((e as { authenticationFailed?: boolean }).authenticationFailed);

describe('IMAP XOAUTH2 with Dovecot', () => {
  it('opens the mailbox with a token from the token provider', async () => {
    const token = await engine.oauth.getAccessToken(mailboxId);
    expect(await subjects(token.user, token.accessToken)).toEqual(['Printer on fire']);
  });

  it('is refused with a token the IdP did not issue', async () => {
    const error = await subjects('support@contoso.test', 'forged-token').catch((e: unknown) => e);
    expect(rejected(error)).toBe(true);
  });

  it('refreshes once when Dovecot refuses the token, then reads the mailbox', async () => {
    idp.revokeAccessTokens();
    const before = idp.countTokenRequests('refresh_token');
    const result = await engine.oauth.withAccessToken(mailboxId, (t) => subjects(t.user, t.accessToken), rejected);
    expect(result).toEqual(['Printer on fire']);
    expect(idp.countTokenRequests('refresh_token')).toBe(before + 1);
  }, 60_000); // Dovecot's auth penalty delays the next login from 127.0.0.1 after a failed one by a few seconds

  it('ends in "sign in again" when the refresh token is revoked too', async () => {
    idp.revokeAll();
    const error = await engine.oauth.withAccessToken(mailboxId, (t) => subjects(t.user, t.accessToken), rejected).catch((e: unknown) => e);
    expect(isAppError(error) && error.code).toBe('OAUTH_SIGN_IN_REQUIRED');
    expect(engine.oauth.health(mailboxId).state).toBe('sign-in-required');
  });
});
