/**
 * The relay account's From choice end to end (issue 18 item 7), against a
 * Microsoft-365-shaped peer: sign-in through XOAUTH2 with tokens from
 * oauth2-mock-server, and Exchange Online's SendAsDenied reply to a message
 * whose From the mailbox may not send as. An account that keeps the
 * application's From is warned about (relay show, the connection test) and
 * its refused message names the account and the setting; switched to
 * `mailbox` (CLI), the From becomes the mailbox's address, the application's
 * From the Reply-To, and the change is logged.
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
import { runCli } from '../helpers/cli';

const RELAY_PASSWORD = 'Scanner-floor-3-pw';
const MAILBOX = 'support@contoso.test';
const KEY = crypto.randomBytes(32);
let idp: TestIdp;
let upstream: OutboxSmtp;
let engine: Mailroom;
let runtime: EngineRuntime | undefined;
let relayPort: number;
let mailboxId: number;
let dataDir: string;

/** Exchange Online's reply to a From the signed-in mailbox may not send as (gophish/gophish#2900). */
const sendAsDenied = (from: string) => ({
  code: 554,
  message: `5.2.252 SendAsDenied; ${MAILBOX} not allowed to send as ${from}; STOREDRV.Submission.Exception:SendAsDeniedException.MapiExceptionSendAsDenied; Failed to process message due to a permanent exception with message [BeginDiagnosticData]Cannot submit message.`,
});

function headerOf(raw: Buffer, name: string): string | undefined {
  const head = raw.toString('latin1').split('\r\n\r\n')[0]!.replace(/\r\n[ \t]+/g, ' ');
  return new RegExp(`^${name}:[ \\t]*(.*)$`, 'im').exec(head)?.[1];
}

async function submit(subject: string, extra: Record<string, unknown> = {}): Promise<{ id: number; response: string }> {
  const client = nodemailer.createTransport({ host: '127.0.0.1', port: relayPort, secure: false, ignoreTLS: true, auth: { user: 'scanner', pass: RELAY_PASSWORD } });
  const info = await client.sendMail({ from: '"Scanner, 3rd floor" <scanner@printer.local>', to: 'customer@example.net', subject, text: 'Scan attached.', ...extra });
  client.close();
  return { id: Number(/Queued as (\d+)/.exec(info.response)![1]), response: info.response };
}

async function startEngine(): Promise<void> {
  engine = openMailroom({ dataDir, keyProvider: staticKeyProvider(KEY), fetch: idp.fetch });
  runtime = new EngineRuntime(engine, { runtime: 'test', relay: false, inbox: false });
  await runtime.start();
  relayPort = (await engine.relay.start(0)).port;
}

async function stopEngine(): Promise<void> {
  await runtime?.stop(1000);
  runtime = undefined;
  await engine.relay.stop();
  engine.close();
}

beforeAll(async () => {
  idp = await startTestIdp();
  upstream = await startOutboxSmtp({
    checkToken: (user, token) => idp.verifyAccessToken(token)?.toLowerCase() === user.toLowerCase(),
    // Exchange checks the From field against the signed-in mailbox after DATA.
    onData: (raw) => {
      const from = /<([^>]+)>|(\S+@\S+)/.exec(headerOf(raw, 'From') ?? '');
      const address = (from?.[1] ?? from?.[2] ?? '').toLowerCase();
      return address === MAILBOX ? undefined : sendAsDenied(address);
    },
  });
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mailroom-relay-from-'));
  await startEngine();
  engine.oauth.saveSettings({ tenant: idp.tenantId, clientId: idp.clientId, authorityHost: idp.authorityHost, redirectHost: '127.0.0.1' });
  mailboxId = engine.mailboxes.create({ name: 'Support', address: MAILBOX, preset: 'microsoft365', smtp: { host: '127.0.0.1', port: upstream.port, security: 'none' }, imap: { host: '127.0.0.1', port: 1, security: 'none' } }).id;
  const started = await engine.oauth.beginSignIn({ mailboxId });
  const answer = await idp.authorize(started.url);
  await fetch(started.redirectUri, { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ code: answer.code!, state: answer.state! }).toString() });
  expect((await engine.oauth.waitForSignIn(started.signInId)).state).toBe('succeeded');
  await engine.relay.saveSettings({ addAccounts: [{ username: 'scanner', mailboxId, password: RELAY_PASSWORD }] });
});

afterAll(async () => {
  if (runtime) await stopEngine();
  await upstream?.stop();
  await idp?.stop();
  if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
});

describe('relay From choice with a Microsoft 365 mailbox', () => {
  it('warns that a kept From will be refused: relay show and the connection test', async () => {
    const warning = engine.relay.settings().warnings.find((w) => w.code === 'RELAY_FROM_NOT_ALLOWED');
    expect(warning).toMatchObject({ mailboxId, accounts: ['scanner'] });
    expect(warning!.hint).toContain('mailroom relay account update scanner --from mailbox');
    const [smtp] = await engine.connectionTests.run({ mailboxId, direction: 'outgoing', timeoutMs: 10_000 });
    // The peer is plain SMTP, so the token also crossed unencrypted (PLAINTEXT_SIGN_IN, issue 13.8).
    expect(smtp!.warnings).toEqual([expect.objectContaining({ code: 'PLAINTEXT_SIGN_IN' }), expect.objectContaining({ code: 'RELAY_FROM_NOT_ALLOWED' })]);
    expect(engine.log.query({ code: 'RELAY_FROM_NOT_ALLOWED' }).length).toBeGreaterThan(0);
  });

  it('keeps the From by default; Exchange refuses it, and the failure names the relay account and the setting', async () => {
    const { id } = await submit('Scan 0001');
    await expect.poll(() => engine.outbox.get(id).status, { timeout: 15_000 }).toBe('failed');
    const m = engine.outbox.get(id);
    expect(m.lastError).toMatchObject({ code: 'SENDER_REJECTED', stage: 'DATA' });
    expect(m.lastError!.message).toContain('relay account scanner');
    expect(m.lastError!.hint).toContain('mailroom relay account update scanner --from mailbox');
    expect(m.lastError!.serverReply).toContain('SendAsDenied');
  });

  it('sends as the mailbox once the admin chooses it (CLI): From is the mailbox, the application\'s From is the Reply-To, and it is logged', async () => {
    await stopEngine();
    const show = async () => runCli(['relay', 'show', '--data-dir', dataDir], { env: { MAILROOM_SECRET_KEY: KEY.toString('base64') } });
    expect((await show()).stdout).toContain('WARNING RELAY_FROM_NOT_ALLOWED');
    const update = await runCli(['relay', 'account', 'update', 'scanner', '--from', 'mailbox', '--json', '--data-dir', dataDir], { env: { MAILROOM_SECRET_KEY: KEY.toString('base64') } });
    expect(update.code, update.stderr).toBe(0);
    expect(update.json).toMatchObject({ username: 'scanner', fromMode: 'mailbox' });
    const bad = await runCli(['relay', 'account', 'update', 'scanner', '--from', 'other', '--data-dir', dataDir], { env: { MAILROOM_SECRET_KEY: KEY.toString('base64') } });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--from');
    expect((await show()).stdout).not.toContain('RELAY_FROM_NOT_ALLOWED');
    await startEngine();

    const { id } = await submit('Scan 0002');
    await expect.poll(() => engine.outbox.get(id).status, { timeout: 15_000 }).toBe('sent');
    const delivered = upstream.messages.at(-1)!;
    expect(headerOf(delivered.bytes, 'From')).toBe(`"Scanner, 3rd floor" <${MAILBOX}>`);
    expect(headerOf(delivered.bytes, 'Reply-To')).toBe('"Scanner, 3rd floor" <scanner@printer.local>');
    expect(headerOf(delivered.bytes, 'Subject')).toBe('Scan 0002');
    const logged = engine.log.query({ refKind: 'outbox', refId: id }).find((l) => /^Relay accepted/.test(l.message))!;
    expect(logged.detail).toContain(`From ""Scanner, 3rd floor" <scanner@printer.local>" replaced by ""Scanner, 3rd floor" <${MAILBOX}>"`);
    expect(logged.detail).toContain('the original From is the Reply-To');
    expect(engine.log.query({}).some((l) => l.message === "Relay account scanner now sends as Support's address (the application's From goes to Reply-To)")).toBe(true);

    // A Reply-To of its own stays as it is.
    const own = await submit('Scan 0003', { replyTo: 'helpdesk@printer.local' });
    await expect.poll(() => engine.outbox.get(own.id).status, { timeout: 15_000 }).toBe('sent');
    expect(headerOf(upstream.messages.at(-1)!.bytes, 'Reply-To')).toBe('helpdesk@printer.local');
    expect(engine.relay.settings().warnings).toEqual([]);
  });
});
