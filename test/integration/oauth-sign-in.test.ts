/**
 * The whole Microsoft sign-in against a real identity provider
 * (oauth2-mock-server over HTTPS with a test CA), driven by a real HTTP
 * client: follow the authorize URL, bring the answer back to the loopback
 * listener (form_post or query), then look at what was stored.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { openMailroom, type Mailroom } from '../../src-main/engine/mailroom';
import { staticKeyProvider } from '../../src-main/store/secret-box';
import type { SignInStatus } from '../../src-main/shared/oauth';
import { isAppError } from '../../src-main/shared/errors';
import { startTestIdp, type TestIdp } from '../helpers/oauth-idp';
import { tempDir } from '../helpers/temp';

let idp: TestIdp;
const engines: Mailroom[] = [];

beforeAll(async () => {
  idp = await startTestIdp();
});
afterAll(async () => {
  await idp.stop();
});
afterEach(() => {
  for (const e of engines.splice(0)) e.close();
  idp.user.username = 'support@contoso.test';
  idp.accessTokenLifetimeSeconds = 3600;
});

function engineWith(options: { signInTimeoutMs?: number; redirectHost?: 'localhost' | '127.0.0.1' } = {}): { engine: Mailroom; dataDir: string; mailboxId: number } {
  const dataDir = tempDir();
  const engine = openMailroom({ dataDir, keyProvider: staticKeyProvider(crypto.randomBytes(32), 'test key'), fetch: idp.fetch, ...(options.signInTimeoutMs ? { signInTimeoutMs: options.signInTimeoutMs } : {}) });
  engines.push(engine);
  engine.oauth.saveSettings({ tenant: idp.tenantId, clientId: idp.clientId, authorityHost: idp.authorityHost, redirectHost: options.redirectHost ?? '127.0.0.1' });
  const mailbox = engine.mailboxes.create({ name: 'Support', address: 'support@contoso.test', preset: 'microsoft365' });
  return { engine, dataDir, mailboxId: mailbox.id };
}

/** Brings the IdP's answer back to the listener as the browser would: a form post (Entra's form_post) or a GET. */
async function deliver(status: SignInStatus, params: Record<string, string>, mode: 'form_post' | 'query' = 'form_post'): Promise<{ status: number; body: string }> {
  const target = new URL(status.redirectUri.replace('localhost', '127.0.0.1'));
  const response =
    mode === 'form_post'
      ? await fetch(target, { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(params).toString() })
      : await fetch(`${target.origin}/?${new URLSearchParams(params).toString()}`);
  return { status: response.status, body: await response.text() };
}

async function signIn(engine: Mailroom, mailboxId: number, mode: 'form_post' | 'query' = 'form_post', extra: { allowOtherAccount?: boolean } = {}) {
  const started = await engine.oauth.beginSignIn({ mailboxId, ...extra });
  const answer = await idp.authorize(started.url);
  const page = await deliver(started, { code: answer.code!, state: answer.state! }, mode);
  const final = await engine.oauth.waitForSignIn(started.signInId);
  return { started, page, final };
}

function portIsClosed(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host });
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(true));
  });
}

/** Every byte of every file in the data folder (database, WAL, logs). */
function dataFolderBytes(dir: string): Buffer {
  const parts: Buffer[] = [];
  for (const entry of fs.readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (entry.isFile()) parts.push(fs.readFileSync(path.join(entry.parentPath, entry.name)));
  }
  return Buffer.concat(parts);
}

describe('Microsoft sign-in through the loopback listener', () => {
  it('signs in (form_post), stores the tokens encrypted, reports health, and closes the listener', async () => {
    const { engine, dataDir, mailboxId } = engineWith();
    const started = await engine.oauth.beginSignIn({ mailboxId });
    const url = new URL(started.url);
    expect(url.origin).toBe(idp.authorityHost);
    expect(url.searchParams.get('code_challenge_method')).toBe('S256');
    expect(url.searchParams.get('response_mode')).toBe('form_post');
    expect(url.searchParams.get('login_hint')).toBe('support@contoso.test');
    expect(url.searchParams.get('scope')).toContain('https://outlook.office.com/IMAP.AccessAsUser.All');
    expect(url.searchParams.get('scope')).toContain('https://outlook.office.com/SMTP.Send');
    expect(url.searchParams.get('scope')).toContain('offline_access');
    expect(started.redirectUri).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const port = Number(new URL(started.redirectUri).port);
    expect(await portIsClosed(port)).toBe(false);

    const answer = await idp.authorize(started.url);
    const page = await deliver(started, { code: answer.code!, state: answer.state! });
    expect(page.status).toBe(200);
    expect(page.body).toContain('Signed in to Microsoft 365');
    const final = await engine.oauth.waitForSignIn(started.signInId);
    expect(final.state).toBe('succeeded');
    expect(final.account).toBe('support@contoso.test');
    expect(await portIsClosed(port)).toBe(true);

    const health = engine.oauth.health(mailboxId);
    expect(health.state).toBe('signed-in');
    expect(health.account).toBe('support@contoso.test');
    expect(health.accountName).toBe('Support Desk');
    expect(health.scopes).toEqual(expect.arrayContaining(['https://outlook.office.com/IMAP.AccessAsUser.All', 'https://outlook.office.com/SMTP.Send']));
    expect(health.missingScopes).toEqual([]);
    expect(health.accessTokenExpiresAt).toBeGreaterThan(Date.now());
    expect(health.lastError).toBeNull();

    const token = await engine.oauth.getAccessToken(mailboxId);
    expect(idp.verifyAccessToken(token.accessToken)).toBe('support@contoso.test');
    expect(token.user).toBe('support@contoso.test');

    // The activity log tells the admin what happened, in words, without any token.
    const entries = engine.log.query({}, 50);
    expect(entries.some((e) => e.direction === 'auth' && e.level === 'success' && e.message === 'Signed in with Microsoft as support@contoso.test.')).toBe(true);
    const logged = JSON.stringify(entries);
    for (const secret of [...idp.issuedAccessTokens(), ...idp.issuedRefreshTokens()]) expect(logged.includes(secret)).toBe(false);

    // Tokens are only ever stored sealed: no access or refresh token appears in any file of the data folder.
    engine.db.pragma('wal_checkpoint(TRUNCATE)');
    const bytes = dataFolderBytes(dataDir);
    for (const secret of [...idp.issuedAccessTokens(), ...idp.issuedRefreshTokens()]) expect(bytes.includes(Buffer.from(secret))).toBe(false);
    expect(bytes.includes(Buffer.from('support@contoso.test'))).toBe(true); // the scan does see plaintext
  });

  it('accepts the answer as a query string too (response_mode=query servers)', async () => {
    const { engine, mailboxId } = engineWith();
    const { page, final } = await signIn(engine, mailboxId, 'query');
    expect(page.status).toBe(200);
    expect(final.state).toBe('succeeded');
  });

  it('binds the listener to 127.0.0.1 only, even when the redirect URI says localhost', async () => {
    const { engine, mailboxId } = engineWith({ redirectHost: 'localhost' });
    const started = await engine.oauth.beginSignIn({ mailboxId });
    expect(started.redirectUri).toMatch(/^http:\/\/localhost:\d+$/);
    const port = Number(new URL(started.redirectUri).port);
    expect(await portIsClosed(port, '127.0.0.1')).toBe(false);
    expect(await portIsClosed(port, '::1')).toBe(true);
    await engine.oauth.cancelSignIn(started.signInId);
  });

  it('ignores an answer with the wrong state and keeps waiting for the right one', async () => {
    const { engine, mailboxId } = engineWith();
    const started = await engine.oauth.beginSignIn({ mailboxId });
    const answer = await idp.authorize(started.url);
    const forged = await deliver(started, { code: answer.code!, state: 'not-the-state' });
    expect(forged.status).toBe(400);
    expect(forged.body).toContain('does not belong to the current sign-in');
    const waiting = engine.oauth.signInStatus(started.signInId);
    expect(waiting.state).toBe('waiting');
    expect(waiting.rejectedResponses).toBe(1);
    expect(engine.oauth.health(mailboxId).state).toBe('not-signed-in');
    await deliver(started, { code: answer.code!, state: answer.state! });
    expect((await engine.oauth.waitForSignIn(started.signInId)).state).toBe('succeeded');
  });

  it('reports a sign-in cancelled at Microsoft (access_denied) and stores nothing', async () => {
    const { engine, mailboxId } = engineWith();
    const started = await engine.oauth.beginSignIn({ mailboxId });
    const state = new URL(started.url).searchParams.get('state')!;
    const page = await deliver(started, { error: 'access_denied', error_description: 'AADSTS65004: User declined to consent to access the app.', state });
    expect(page.status).toBe(400);
    const final = await engine.oauth.waitForSignIn(started.signInId);
    expect(final.state).toBe('failed');
    expect(final.error?.code).toBe('OAUTH_SIGN_IN_CANCELLED');
    expect(page.body).toContain('OAUTH_SIGN_IN_CANCELLED');
    expect(engine.oauth.health(mailboxId).state).toBe('not-signed-in');
  });

  it('cancels from Mailroom: the listener closes and nothing is stored', async () => {
    const { engine, mailboxId } = engineWith();
    const started = await engine.oauth.beginSignIn({ mailboxId });
    const port = Number(new URL(started.redirectUri).port);
    const cancelled = await engine.oauth.cancelSignIn(started.signInId);
    expect(cancelled.state).toBe('cancelled');
    expect(cancelled.error?.code).toBe('OAUTH_SIGN_IN_CANCELLED');
    expect(await portIsClosed(port)).toBe(true);
    expect(engine.oauth.health(mailboxId).state).toBe('not-signed-in');
  });

  it('times out when nobody finishes the sign-in', async () => {
    const { engine, mailboxId } = engineWith({ signInTimeoutMs: 300 });
    const started = await engine.oauth.beginSignIn({ mailboxId });
    expect(started.deadline - started.startedAt).toBe(300);
    const final = await engine.oauth.waitForSignIn(started.signInId);
    expect(final.state).toBe('timed-out');
    expect(final.error?.code).toBe('OAUTH_SIGN_IN_TIMEOUT');
    expect(await portIsClosed(Number(new URL(started.redirectUri).port))).toBe(true);
  });

  it('refuses another account (OAUTH_WRONG_ACCOUNT) and saves nothing, unless the admin allows it', async () => {
    const { engine, mailboxId } = engineWith();
    idp.user.username = 'j.doe@contoso.test';
    const { page, final } = await signIn(engine, mailboxId);
    expect(final.state).toBe('failed');
    expect(final.error?.code).toBe('OAUTH_WRONG_ACCOUNT');
    expect(final.error?.message).toContain('j.doe@contoso.test');
    expect(page.body).toContain('OAUTH_WRONG_ACCOUNT');
    expect(engine.oauth.health(mailboxId).state).toBe('not-signed-in');

    const allowed = await signIn(engine, mailboxId, 'form_post', { allowOtherAccount: true });
    expect(allowed.final.state).toBe('succeeded');
    const health = engine.oauth.health(mailboxId);
    expect(health.account).toBe('j.doe@contoso.test');
    expect(health.otherAccountAllowed).toBe(true);
  });

  it('"Sign in again" signs in again without touching the mailbox\'s settings', async () => {
    const { engine, mailboxId } = engineWith();
    await signIn(engine, mailboxId);
    const before = engine.mailboxes.get(mailboxId);
    const firstSignIn = engine.oauth.health(mailboxId).signedInAt!;
    await new Promise((r) => setTimeout(r, 5));
    const again = await signIn(engine, mailboxId);
    expect(again.final.state).toBe('succeeded');
    expect(engine.mailboxes.get(mailboxId)).toEqual(before);
    expect(engine.oauth.health(mailboxId).signedInAt!).toBeGreaterThan(firstSignIn);
  });
});

describe('the token provider', () => {
  it('serves a valid cached access token without asking the IdP', async () => {
    const { engine, mailboxId } = engineWith();
    await signIn(engine, mailboxId);
    const before = idp.countTokenRequests();
    const token = await engine.oauth.getAccessToken(mailboxId);
    expect(idp.verifyAccessToken(token.accessToken)).toBe('support@contoso.test');
    expect(idp.countTokenRequests()).toBe(before);
  });

  it('refreshes an expired access token with the refresh token', async () => {
    const { engine, mailboxId } = engineWith();
    idp.accessTokenLifetimeSeconds = 60; // inside msal's 5-minute renewal window: due now
    const { final } = await signIn(engine, mailboxId);
    expect(final.state).toBe('succeeded');
    const before = idp.countTokenRequests('refresh_token');
    const token = await engine.oauth.getAccessToken(mailboxId);
    expect(idp.countTokenRequests('refresh_token')).toBe(before + 1);
    expect(idp.verifyAccessToken(token.accessToken)).toBe('support@contoso.test');
    const health = engine.oauth.health(mailboxId);
    expect(health.state).toBe('signed-in');
    expect(health.lastRefreshAt).toBeGreaterThanOrEqual(health.signedInAt!);
  });

  it('makes one token request for two concurrent refreshes', async () => {
    const { engine, mailboxId } = engineWith();
    idp.accessTokenLifetimeSeconds = 60;
    await signIn(engine, mailboxId);
    const before = idp.countTokenRequests('refresh_token');
    const [a, b] = await Promise.all([engine.oauth.getAccessToken(mailboxId), engine.oauth.getAccessToken(mailboxId)]);
    expect(a.accessToken).toBe(b.accessToken);
    expect(idp.countTokenRequests('refresh_token')).toBe(before + 1);

    const [c, d] = await Promise.all([
      engine.oauth.getAccessToken(mailboxId, { forceRefresh: true }),
      engine.oauth.getAccessToken(mailboxId, { forceRefresh: true }),
    ]);
    expect(c.accessToken).toBe(d.accessToken);
    expect(idp.countTokenRequests('refresh_token')).toBe(before + 2);
  });

  it('puts the mailbox in the "sign in again" state when the refresh token is revoked', async () => {
    const { engine, mailboxId } = engineWith();
    idp.accessTokenLifetimeSeconds = 60;
    await signIn(engine, mailboxId);
    idp.revokeAll();
    const error = await engine.oauth.getAccessToken(mailboxId).catch((e: unknown) => e);
    expect(isAppError(error) && error.code).toBe('OAUTH_SIGN_IN_REQUIRED');
    expect((error as Error).message).toContain('revoked');
    const health = engine.oauth.health(mailboxId);
    expect(health.state).toBe('sign-in-required');
    expect(health.lastError?.code).toBe('OAUTH_SIGN_IN_REQUIRED');
    expect(health.lastError?.hint).toContain('Sign in with Microsoft again');

    // A dead refresh token is not tried again until someone signs in.
    const before = idp.countTokenRequests();
    const again = await engine.oauth.getAccessToken(mailboxId).catch((e: unknown) => e);
    expect(isAppError(again) && again.code).toBe('OAUTH_SIGN_IN_REQUIRED');
    expect(idp.countTokenRequests()).toBe(before);

    const { final } = await signIn(engine, mailboxId);
    expect(final.state).toBe('succeeded');
    expect(engine.oauth.health(mailboxId).state).toBe('signed-in');
  });

  it('asks for a new sign-in when the app registration changes', async () => {
    const { engine, mailboxId } = engineWith();
    await signIn(engine, mailboxId);
    engine.oauth.saveSettings({ tenant: idp.tenantId, clientId: crypto.randomUUID(), authorityHost: idp.authorityHost });
    expect(engine.oauth.health(mailboxId).state).toBe('sign-in-required');
    const error = await engine.oauth.getAccessToken(mailboxId).catch((e: unknown) => e);
    expect(isAppError(error) && error.code).toBe('OAUTH_SIGN_IN_REQUIRED');
  });

  it('signs out: tokens and sign-in record are gone, the mailbox stays', async () => {
    const { engine, mailboxId } = engineWith();
    await signIn(engine, mailboxId);
    const health = await engine.oauth.logout(mailboxId);
    expect(health.state).toBe('not-signed-in');
    expect(engine.mailboxes.get(mailboxId).name).toBe('Support');
    const error = await engine.oauth.getAccessToken(mailboxId).catch((e: unknown) => e);
    expect(isAppError(error) && error.code).toBe('OAUTH_NOT_SIGNED_IN');
  });

  it('says OAUTH_NOT_CONFIGURED before any app registration is saved', async () => {
    const engine = openMailroom({ dataDir: tempDir(), keyProvider: staticKeyProvider(crypto.randomBytes(32)), fetch: idp.fetch });
    engines.push(engine);
    const mailbox = engine.mailboxes.create({ name: 'Support', address: 'support@contoso.test', preset: 'microsoft365' });
    const error = await engine.oauth.beginSignIn({ mailboxId: mailbox.id }).catch((e: unknown) => e);
    expect(isAppError(error) && error.code).toBe('OAUTH_NOT_CONFIGURED');
    expect((error as { hint?: string }).hint).toContain('mailroom oauth settings');
  });
});
