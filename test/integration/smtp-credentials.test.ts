/**
 * SMTP with its own account and password (issue 13, item 7): an smtp-server
 * that accepts only the SMTP account and a private Dovecot that accepts only
 * the IMAP account with another password. The connection test, the outbox
 * and the diagnostics bundle use SMTP's own secret for SMTP and the incoming
 * one for IMAP; without an SMTP password of its own, SMTP signs in with the
 * incoming one (data folders from before keep working). Secrets never appear
 * in any CLI output or IPC answer.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openMailroom } from '../../src-main/engine/mailroom';
import { SecretRepo } from '../../src-main/store/secret-repo';
import { SecretBox } from '../../src-main/store/secret-box';
import { runCli } from '../helpers/cli';
import { startDovecot, type Dovecot } from '../helpers/dovecot';
import { startSmtpPeer, type SmtpPeer } from '../helpers/smtp-peer';
import { startTestConsole, invokeConsole, type ConsoleHandle } from '../helpers/console';
import { tempDir } from '../helpers/temp';
import nodemailer from 'nodemailer';
import { unzip } from '../helpers/unzip';
import { EngineRuntime } from '../../src-main/engine/runtime';

const IMAP_USER = 'support@example.test';
const IMAP_PASSWORD = 'Imap-Only-Secret-7431';
const SMTP_USER = 'mailer@example.test';
const SMTP_PASSWORD = 'Smtp-App-Password-9052';
const SECRETS = [IMAP_PASSWORD, SMTP_PASSWORD];

let dovecot: Dovecot;
let peer: SmtpPeer;

beforeAll(async () => {
  [dovecot, peer] = await Promise.all([
    startDovecot({ users: { [IMAP_USER]: IMAP_PASSWORD } }),
    // Plain SMTP with sign-in allowed: the peer knows only the SMTP account.
    startSmtpPeer({ tls: 'none', users: { [SMTP_USER]: SMTP_PASSWORD }, allowInsecureAuth: true }),
  ]);
}, 60_000);

afterAll(async () => {
  await Promise.all([dovecot?.stop(), peer?.stop()]);
});

function servers(): string[] {
  return [
    '--preset', 'generic',
    '--imap-host', '127.0.0.1', '--imap-port', String(dovecot.port), '--imap-security', 'none', '--imap-user', IMAP_USER,
    '--smtp-host', '127.0.0.1', '--smtp-port', String(peer.port), '--smtp-security', 'none',
  ];
}

function expectNoSecret(text: string, where: string): void {
  for (const secret of SECRETS) expect(text.includes(secret), `${where} holds a secret`).toBe(false);
}

describe('SMTP with its own user and password, from the CLI', () => {
  it('adds, tests, sends, falls back to the incoming password, and bundles no secret', async () => {
    const dir = tempDir();
    const env = { MAILROOM_IMAP_PW: IMAP_PASSWORD, MAILROOM_SMTP_PW: SMTP_PASSWORD };
    const cli = (args: string[], input?: string) => runCli([...args, '--data-dir', dir], { env, ...(input !== undefined ? { input } : {}) });

    const added = await cli(['mailbox', 'add', '--name', 'Support', '--address', IMAP_USER, ...servers(), '--smtp-user', SMTP_USER, '--password-env', 'MAILROOM_IMAP_PW', '--smtp-password-stdin', '--disabled', '--json'], `${SMTP_PASSWORD}\n`);
    expect(added.code, added.stdout + added.stderr).toBe(0);
    expect(added.json).toMatchObject({ passwordSet: true, smtpPasswordSet: true, smtp: { username: SMTP_USER }, imap: { username: IMAP_USER } });
    expectNoSecret(added.stdout + added.stderr, 'mailbox add');
    const shown = await cli(['mailbox', 'show', 'Support']);
    expect(shown.stdout).toContain("smtp password  SMTP's own, set (stored encrypted)");
    expectNoSecret(shown.stdout, 'mailbox show');

    // The connection test signs in to each server with its own account.
    const both = await cli(['test', 'mailbox', 'Support', '--json']);
    expect(both.code, both.stdout).toBe(0);
    expect(both.json.results.map((r: { protocol: string; ok: boolean }) => [r.protocol, r.ok]).sort()).toEqual([['imap', true], ['smtp', true]]);
    expect(peer.authAttempts.at(-1)).toMatchObject({ username: SMTP_USER });
    expectNoSecret(both.stdout + both.stderr, 'test mailbox');
    // Both sign-ins crossed the network unencrypted: passed (exit 0), with a warning in the JSON and the text (issue 13.8).
    for (const result of both.json.results) {
      expect(result.warnings).toEqual([expect.objectContaining({ code: 'PLAINTEXT_SIGN_IN', step: 'auth', message: expect.stringContaining('crossed the network unencrypted') })]);
      expect(result.warnings[0].hint).toContain('Set security to "starttls" or "tls"');
    }
    const text = await cli(['test', 'mailbox', 'Support', '--outgoing']);
    expect(text.code, text.stdout).toBe(0);
    expect(text.stdout).toContain('PASSED WITH A WARNING');
    expect(text.stdout).toContain('WARNING: PLAINTEXT_SIGN_IN at step auth');
    expect(text.stdout).toContain('What to change: Set security to "starttls" or "tls"');
    const logged = await cli(['logs', '--code', 'PLAINTEXT_SIGN_IN', '--json']);
    expect(logged.json.length ?? logged.json.entries?.length).toBeGreaterThan(0);

    // The outbox sends with SMTP's own account.
    await cli(['mailbox', 'update', 'Support', '--enabled']);
    const queued = await cli(['send', '--mailbox', 'Support', '--to', 'customer@example.test', '--subject', 'Own SMTP account', '--text', 'hello', '--json']);
    expect(queued.code, queued.stdout + queued.stderr).toBe(0);
    const run = await cli(['engine', 'run', '--until-idle', '--json']);
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(run.json).toMatchObject({ sent: 1 });
    expect(peer.messages.at(-1)).toMatchObject({ user: SMTP_USER });
    expect(peer.messages.at(-1)!.data).toContain('Own SMTP account');

    // The bundle says which passwords are set and holds neither.
    const zipFile = path.join(tempDir(), 'bundle.zip');
    const exported = await cli(['diagnostics', 'export', '--out', zipFile, '--json']);
    expect(exported.code, exported.stdout + exported.stderr).toBe(0);
    const raw = fs.readFileSync(zipFile);
    for (const secret of SECRETS) expect(raw.includes(Buffer.from(secret))).toBe(false);
    const files = await unzip(zipFile);
    for (const [name, bytes] of files) expectNoSecret(bytes.toString('utf8'), name);
    const section = [...files.entries()].find(([name]) => /mailboxes\.json$/.test(name));
    expect(section, [...files.keys()].join(', ')).toBeDefined();
    expect(section![1].toString('utf8')).toMatch(/"smtpPasswordSet":\s*true/);

    // "Same as incoming": SMTP now signs in with the IMAP password, which the SMTP server refuses.
    const same = await cli(['mailbox', 'update', 'Support', '--smtp-password-same', '--json']);
    expect(same.code, same.stdout + same.stderr).toBe(0);
    expect(same.json).toMatchObject({ passwordSet: true, smtpPasswordSet: false });
    const refused = await cli(['test', 'mailbox', 'Support', '--outgoing', '--json']);
    expect(refused.code).toBe(1);
    expect(refused.json.diagnosis.code).toBe('AUTH_FAILED');
    const imapStill = await cli(['test', 'mailbox', 'Support', '--incoming', '--json']);
    expect(imapStill.code, imapStill.stdout).toBe(0);

    // And back to its own password, from an environment variable.
    const own = await cli(['mailbox', 'update', 'Support', '--smtp-password-env', 'MAILROOM_SMTP_PW', '--json']);
    expect(own.json).toMatchObject({ smtpPasswordSet: true });
    const again = await cli(['test', 'mailbox', 'Support', '--outgoing', '--json']);
    expect(again.code, again.stdout).toBe(0);
  }, 120_000);

  it('refuses an SMTP password as a flag value without repeating it, and two passwords on one stdin', async () => {
    const dir = tempDir();
    const onFlag = await runCli(['mailbox', 'add', '--name', 'S', '--address', IMAP_USER, ...servers(), '--smtp-password', SMTP_PASSWORD, '--json', '--data-dir', dir]);
    expect(onFlag.code).toBe(2);
    expect(onFlag.json.error.message).toContain('--smtp-password is not accepted');
    expectNoSecret(onFlag.stdout + onFlag.stderr, 'refused --smtp-password');
    const twoOnStdin = await runCli(['mailbox', 'add', '--name', 'S', '--address', IMAP_USER, ...servers(), '--password-stdin', '--smtp-password-stdin', '--json', '--data-dir', dir], { input: 'x\n' });
    expect(twoOnStdin.code).toBe(2);
    expect(twoOnStdin.json.error.message).toContain('one password only');
    const list = await runCli(['mailbox', 'list', '--json', '--data-dir', dir]);
    expect(list.json).toEqual([]);
  });

  it('keeps an earlier data folder working: the one stored password serves SMTP too', async () => {
    const dir = tempDir();
    const engine = openMailroom({ dataDir: dir });
    try {
      // As an earlier Mailroom stored it: one password, SMTP user = IMAP user.
      const m = engine.mailboxes.create({ name: 'Old', address: IMAP_USER, preset: 'generic', enabled: false, imap: { host: 'imap.example.test' }, smtp: { host: 'smtp.example.test' }, password: IMAP_PASSWORD });
      expect(m.smtpPasswordSet).toBe(false);
      expect(engine.mailboxes.smtpPassword(m.id)).toBe(IMAP_PASSWORD);
      engine.mailboxes.update({ id: m.id, smtpPassword: SMTP_PASSWORD });
      expect(engine.mailboxes.password(m.id)).toBe(IMAP_PASSWORD);
      expect(engine.mailboxes.smtpPassword(m.id)).toBe(SMTP_PASSWORD);
      // Scrubbing covers the new secret.
      expect(new SecretRepo(engine.db, new SecretBox(engine.keys)).allPlaintexts().sort()).toEqual([IMAP_PASSWORD, SMTP_PASSWORD].sort());
      engine.mailboxes.update({ id: m.id, smtpPassword: null });
      expect(engine.mailboxes.smtpPassword(m.id)).toBe(IMAP_PASSWORD);
    } finally {
      engine.close();
    }
  });
});

describe('SMTP with its own password, over IPC (the form)', () => {
  let console_: ConsoleHandle;
  beforeAll(async () => {
    console_ = await startTestConsole(tempDir());
  });
  afterAll(async () => {
    await console_?.close();
  });

  it('saves and tests both accounts; no answer holds a secret', async () => {
    const answers: unknown[] = [];
    const call = async (channel: string, payload: unknown) => {
      const r = await invokeConsole(console_.server, channel, payload);
      answers.push(r);
      return r;
    };
    const created = await call('mailboxes.create', {
      name: 'Support',
      address: IMAP_USER,
      preset: 'generic',
      enabled: false,
      imap: { host: '127.0.0.1', port: dovecot.port, security: 'none' },
      smtp: { host: '127.0.0.1', port: peer.port, security: 'none', username: SMTP_USER },
      password: IMAP_PASSWORD,
      smtpPassword: SMTP_PASSWORD,
    });
    expect(created.ok, JSON.stringify(created)).toBe(true);
    const id = (created as { value: { id: number } }).value.id;
    expect((created as { value: unknown }).value).toMatchObject({ passwordSet: true, smtpPasswordSet: true });
    const tested = await call('connectionTests.run', { mailboxId: id, direction: 'both' });
    expect(tested.ok, JSON.stringify(tested)).toBe(true);
    expect((tested as { value: Array<{ protocol: string; ok: boolean }> }).value.map((r) => [r.protocol, r.ok]).sort()).toEqual([['imap', true], ['smtp', true]]);
    // Saving the form again without typing keeps SMTP's own password; "Same as incoming" removes it.
    const kept = await call('mailboxes.update', { id, name: 'Support' });
    expect((kept as { value: unknown }).value).toMatchObject({ smtpPasswordSet: true });
    const same = await call('mailboxes.update', { id, smtpPassword: null });
    expect((same as { value: unknown }).value).toMatchObject({ passwordSet: true, smtpPasswordSet: false });
    await call('mailboxes.list', {});
    await call('mailboxes.get', { id });
    await call('mailboxes.exportSettings', {});
    expectNoSecret(JSON.stringify(answers), 'IPC answers');
  }, 60_000);
});

describe('the local relay upstream signs in with SMTP\'s own account', () => {
  it('relays a scanner\'s message through the mailbox with the SMTP user and password', async () => {
    const engine = openMailroom({ dataDir: tempDir() });
    const runtime = new EngineRuntime(engine, { runtime: 'test', relay: false, inbox: false });
    try {
      const m = engine.mailboxes.create({
        name: 'Relay desk',
        address: IMAP_USER,
        preset: 'generic',
        imap: { host: '127.0.0.1', port: dovecot.port, security: 'none' },
        smtp: { host: '127.0.0.1', port: peer.port, security: 'none', username: SMTP_USER },
        password: IMAP_PASSWORD,
        smtpPassword: SMTP_PASSWORD,
      });
      await engine.relay.saveSettings({ enabled: true, port: 2525, addAccounts: [{ username: 'scanner', mailboxId: m.id, password: 'Scanner-Relay-Pw-1' }] });
      await runtime.start();
      const relayPort = (await engine.relay.start(0)).port;
      const before = peer.messages.length;
      const client = nodemailer.createTransport({ host: '127.0.0.1', port: relayPort, secure: false, ignoreTLS: true, auth: { user: 'scanner', pass: 'Scanner-Relay-Pw-1' } });
      await client.sendMail({ from: IMAP_USER, to: 'accounts@example.net', subject: 'Relayed with the SMTP account', text: 'scan' });
      await expect.poll(() => peer.messages.length, { timeout: 30_000 }).toBeGreaterThan(before);
      expect(peer.messages.at(-1)).toMatchObject({ user: SMTP_USER });
      expect(peer.messages.at(-1)!.data).toContain('Relayed with the SMTP account');
    } finally {
      await runtime.stop(1000);
      await engine.relay.stop();
      engine.close();
    }
  }, 60_000);
});
