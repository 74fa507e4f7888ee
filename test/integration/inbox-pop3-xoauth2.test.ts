/**
 * POP3 import from a Microsoft-365-style mailbox: XOAUTH2 against a private
 * Dovecot's POP3 service whose oauth2 passdb asks the test IdP, with a token
 * from the OAuth service after a real sign-in that asked for Exchange's
 * POP scope (POP.AccessAsUser.All). A token the server stops accepting is
 * refreshed once and the poll goes on; the debug transcript never holds the
 * token or the XOAUTH2 blob.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openMailroom, type Mailroom } from '../../src-main/engine/mailroom';
import { staticKeyProvider } from '../../src-main/store/secret-box';
import { startDovecot, type Dovecot } from '../helpers/dovecot';
import { startTestIdp, type TestIdp } from '../helpers/oauth-idp';

const USER = 'helpdesk@contoso.test';

function message(i: number): string {
  return [`From: Customer ${i} <c${i}@example.test>`, `To: ${USER}`, `Subject: POP3 OAuth ticket ${i}`, `Message-ID: <pop3-oauth-${i}@example.test>`, 'Date: Tue, 25 Nov 2025 10:00:00 +0000', '', `Body ${i}`, ''].join('\r\n');
}

let idp: TestIdp;
let dovecot: Dovecot;
let engine: Mailroom;
let dataDir: string;
let mailboxId: number;
let signInUrl: URL;

beforeAll(async () => {
  idp = await startTestIdp({ user: { username: USER } });
  dovecot = await startDovecot({ users: { [USER]: crypto.randomBytes(12).toString('hex') }, pop3: true, oauth2IntrospectionUrl: idp.introspectionUrl, messages: [1, 2, 3].map((i) => ({ user: USER, raw: message(i) })) });
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mailroom-pop3-oauth-'));
  engine = openMailroom({ dataDir, keyProvider: staticKeyProvider(crypto.randomBytes(32)), fetch: idp.fetch });
  engine.oauth.saveSettings({ tenant: idp.tenantId, clientId: idp.clientId, authorityHost: idp.authorityHost, redirectHost: '127.0.0.1' });
  mailboxId = engine.mailboxes.create({
    name: 'Helpdesk',
    address: USER,
    preset: 'microsoft365',
    receiveVia: 'pop3',
    pop3: { host: '127.0.0.1', port: dovecot.pop3Port, security: 'none' },
  }).id;
  const started = await engine.oauth.beginSignIn({ mailboxId });
  signInUrl = new URL(started.url);
  const answer = await idp.authorize(started.url);
  await fetch(started.redirectUri, { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ code: answer.code!, state: answer.state! }).toString() });
  expect((await engine.oauth.waitForSignIn(started.signInId)).state).toBe('succeeded');
}, 60_000);

afterAll(async () => {
  await engine?.inbox.close();
  engine?.close();
  await dovecot?.stop();
  await idp?.stop();
  if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
});

describe('POP3 import with XOAUTH2', () => {
  it('signs in asking for Exchange\'s POP scope, not IMAP\'s', () => {
    const scopes = (signInUrl.searchParams.get('scope') ?? '').split(' ');
    expect(scopes).toContain('https://outlook.office.com/POP.AccessAsUser.All');
    expect(scopes).toContain('https://outlook.office.com/SMTP.Send');
    expect(scopes).not.toContain('https://outlook.office.com/IMAP.AccessAsUser.All');
    expect(engine.mailboxes.get(mailboxId).pop3).toMatchObject({ auth: 'oauth2', afterImport: 'leave' });
  });

  it('imports with a token from the OAuth service', async () => {
    expect(await engine.inbox.pollNow(mailboxId)).toMatchObject({ outcome: 'ok', imported: 3 });
  });

  it('refreshes a token the server stops accepting, once, and goes on; the transcript holds no token', async () => {
    await dovecot.append(USER, 'INBOX', message(4));
    const before = idp.countTokenRequests('refresh_token');
    idp.revokeAccessTokens();
    const poll = await engine.inbox.importWithDebug(mailboxId);
    expect(poll).toMatchObject({ outcome: 'ok', imported: 1 });
    expect(idp.countTokenRequests('refresh_token')).toBe(before + 1);
    const text = JSON.stringify(poll.transcript);
    expect(text).toContain('AUTH XOAUTH2 [redacted XOAUTH2]');
    for (const token of idp.issuedAccessTokens()) expect(text).not.toContain(token);
  });
});

describe('POP3 import with an app-only token (POP.AccessAsApp)', () => {
  it('imports a shared mailbox whose POP3 side signs in as the app, with the mailbox address as the XOAUTH2 user', async () => {
    const shared = 'shared@contoso.test';
    const other = await startDovecot({ users: { [shared]: crypto.randomBytes(12).toString('hex') }, pop3: true, oauth2IntrospectionUrl: idp.introspectionUrl, messages: [{ user: shared, raw: message(9) }] });
    try {
      idp.app.fullAccess.add(shared);
      engine.oauth.appOnly.saveSettings({ tenant: idp.tenantId, clientId: idp.clientId, authorityHost: idp.authorityHost, credential: 'secret', clientSecret: idp.app.clientSecret });
      const id = engine.mailboxes.create({
        name: 'Shared',
        address: shared,
        preset: 'microsoft365',
        receiveVia: 'pop3',
        imap: { auth: 'oauth2-app' },
        smtp: { auth: 'oauth2-app' },
        pop3: { host: '127.0.0.1', port: other.pop3Port, security: 'none', auth: 'oauth2-app' },
      }).id;
      const poll = await engine.inbox.pollNow(id);
      expect(poll).toMatchObject({ outcome: 'ok', imported: 1 });
      expect([...idp.issuedAppTokens().values()].length).toBeGreaterThan(0);
    } finally {
      idp.app.fullAccess.delete('shared@contoso.test');
      await other.stop();
    }
  });
});
