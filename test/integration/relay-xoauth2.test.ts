/**
 * The point of the relay for Microsoft 365: a legacy application submits
 * with a plain SMTP password to 127.0.0.1, and the message goes upstream
 * through the mailbox's OAuth sign-in (XOAUTH2), after a real sign-in
 * against the test identity provider (oauth2-mock-server over HTTPS). A
 * rejected access token is refreshed once before the try counts; a refresh
 * that fails because the sign-in was revoked makes the mail wait for a new
 * sign-in (no try spent), with the OAuth module's own diagnosis.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import nodemailer from 'nodemailer';
import { openMailroom, type Mailroom } from '../../src-main/engine/mailroom';
import { EngineRuntime } from '../../src-main/engine/runtime';
import { staticKeyProvider } from '../../src-main/store/secret-box';
import { startTestIdp, type TestIdp } from '../helpers/oauth-idp';
import { startOutboxSmtp, type OutboxSmtp } from '../helpers/outbox-smtp';

const RELAY_PASSWORD = 'Line-of-business-app-1';
let idp: TestIdp;
let upstream: OutboxSmtp;
let engine: Mailroom;
let runtime: EngineRuntime;
let relayPort: number;
let mailboxId: number;
let dataDir: string;

/** Ends the open upstream connection, so that the next message signs in again. */
async function restartSender(): Promise<void> {
  await engine.outbox.stopSending(1000);
  expect(engine.outbox.startSending('test')).toBeNull();
}

async function submit(subject: string): Promise<number> {
  const client = nodemailer.createTransport({ host: '127.0.0.1', port: relayPort, secure: false, ignoreTLS: true, auth: { user: 'erp', pass: RELAY_PASSWORD } });
  const info = await client.sendMail({ from: 'erp@contoso.test', to: 'customer@example.net', subject, text: 'Invoice attached.' });
  return Number(/Queued as (\d+)/.exec(info.response)![1]);
}

beforeAll(async () => {
  idp = await startTestIdp();
  upstream = await startOutboxSmtp({ checkToken: (user, token) => idp.verifyAccessToken(token)?.toLowerCase() === user.toLowerCase() });
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mailroom-relay-oauth-'));
  engine = openMailroom({ dataDir, keyProvider: staticKeyProvider(crypto.randomBytes(32)), fetch: idp.fetch });
  engine.oauth.saveSettings({ tenant: idp.tenantId, clientId: idp.clientId, authorityHost: idp.authorityHost, redirectHost: '127.0.0.1' });
  mailboxId = engine.mailboxes.create({ name: 'Support', address: 'support@contoso.test', preset: 'microsoft365', smtp: { host: '127.0.0.1', port: upstream.port, security: 'none' } }).id;
  const started = await engine.oauth.beginSignIn({ mailboxId });
  const answer = await idp.authorize(started.url);
  await fetch(started.redirectUri, { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ code: answer.code!, state: answer.state! }).toString() });
  expect((await engine.oauth.waitForSignIn(started.signInId)).state).toBe('succeeded');
  await engine.relay.saveSettings({ addAccounts: [{ username: 'erp', mailboxId, password: RELAY_PASSWORD }] });
  runtime = new EngineRuntime(engine, { runtime: 'test', relay: false, inbox: false });
  await runtime.start();
  relayPort = (await engine.relay.start(0)).port;
});

afterAll(async () => {
  await runtime?.stop(1000);
  await engine?.relay.stop();
  engine?.close();
  await upstream?.stop();
  await idp?.stop();
  if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
});

describe('relay to Microsoft 365 through OAuth (XOAUTH2)', () => {
  it('delivers a password-authenticated submission upstream with the mailbox\'s OAuth token', async () => {
    const id = await submit('Invoice 2026-0001');
    await expect.poll(() => engine.outbox.get(id).status, { timeout: 15_000 }).toBe('sent');
    expect(upstream.messages.at(-1)).toMatchObject({ from: 'support@contoso.test', to: ['customer@example.net'], user: 'support@contoso.test' });
    expect(upstream.authAttempts.at(-1)).toEqual({ method: 'XOAUTH2', username: 'support@contoso.test', ok: true });
  });

  it('refreshes a rejected token once and sends on the same try', async () => {
    // The connection of the first message is still open: close it so the next one signs in again.
    await restartSender();
    idp.revokeAccessTokens();
    const refreshesBefore = idp.countTokenRequests('refresh_token');
    const id = await submit('Invoice 2026-0002');
    await expect.poll(() => engine.outbox.get(id).status, { timeout: 15_000 }).toBe('sent');
    const m = engine.outbox.get(id);
    expect(m.attempts).toBe(1);
    expect(m.attemptLog.map((a) => a.outcome)).toEqual(['sent']);
    expect(idp.countTokenRequests('refresh_token')).toBe(refreshesBefore + 1);
    expect(upstream.authAttempts.slice(-2).map((a) => a.ok)).toEqual([false, true]);
  });

  it('waits for a sign-in, spending no try, with the OAuth diagnosis when the sign-in is revoked, and keeps tokens out of every record', async () => {
    await restartSender();
    idp.revokeAll();
    const id = await submit('Invoice 2026-0003');
    await expect.poll(() => engine.outbox.get(id).status, { timeout: 15_000 }).toBe('waiting-sign-in');
    const m = engine.outbox.get(id);
    expect(m.attempts).toBe(0);
    expect(m.lastError!.code).toBe('OAUTH_SIGN_IN_REQUIRED');
    expect(m.lastError!.hint).toContain('Sign in again');
    expect(m.lastError!.stage).toBe('AUTH');
    const records = JSON.stringify([m, engine.log.query({}, 2000)]);
    for (const token of [...idp.issuedAccessTokens(), ...idp.issuedRefreshTokens()]) expect(records).not.toContain(token);
  });

  it('keeps accepting while the mailbox needs a Microsoft sign-in, and says so in the reply, on the relay and in the log', async () => {
    // After the revoked sign-in above, the mailbox waits for a new one.
    expect(engine.oauth.health(mailboxId).state).toBe('sign-in-required');
    const client = nodemailer.createTransport({ host: '127.0.0.1', port: relayPort, secure: false, ignoreTLS: true, auth: { user: 'erp', pass: RELAY_PASSWORD } });
    const info = await client.sendMail({ from: 'erp@contoso.test', to: 'customer@example.net', subject: 'Invoice 2026-0004', text: 'Invoice attached.' });
    const id = Number(/Queued as (\d+)/.exec(info.response)![1]);
    expect(info.response).toBe(`250 2.0.0 Queued as ${id}; Support needs a Microsoft sign-in before it can send`);
    // Stored, nothing lost.
    expect(engine.outbox.get(id)).toMatchObject({ subject: 'Invoice 2026-0004', source: 'relay' });
    const warning = engine.relay.settings().warnings.find((w) => w.code === 'OAUTH_SIGN_IN_REQUIRED');
    expect(warning).toMatchObject({ mailboxId, accounts: ['erp'] });
    expect(warning!.message).toContain('Support needs a Microsoft sign-in');
    const logged = engine.log.query({ refKind: 'outbox', refId: id });
    expect(logged.find((l) => /^Relay accepted/.test(l.message))).toMatchObject({ level: 'warning', code: 'OAUTH_SIGN_IN_REQUIRED' });
    expect(logged.find((l) => /^Relay accepted/.test(l.message))!.message).toContain('Support needs a Microsoft sign-in before it can send');
  });
});
