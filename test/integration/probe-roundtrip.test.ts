/**
 * Round-trip probes that really travel: an in-process smtp-server plays the
 * mail server's MTA and delivers what it accepts into the private Dovecot
 * (IMAP APPEND): to INBOX, to Junk, or nowhere (accepted and dropped), or it
 * refuses the recipient. The probe is sent through the mailbox's SMTP with
 * the outbox's sender code, found over IMAP by its header token, timed and
 * deleted. The importer (another process) never imports a probe, even one
 * no probe row knows of yet, and imports a message whose probe header was
 * not made by this data folder.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ImapFlow } from 'imapflow';
import { SMTPServer } from 'smtp-server';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openMailroom, type Mailroom } from '../../src-main/engine/mailroom';
import { staticKeyProvider } from '../../src-main/store/secret-box';
import { startDovecot, type Dovecot } from '../helpers/dovecot';
import { runCli } from '../helpers/cli';
import { CLI } from '../helpers/paths';
import { spawn } from 'node:child_process';

const PASSWORD = 'Dovecot-Pa55!word';
const USERS = ['inbox', 'junk', 'lost', 'refused', 'importer', 'scheduled'].map((u) => `${u}@example.test`);
const KEY = crypto.randomBytes(32);
const ENV = { MAILROOM_SECRET_KEY: KEY.toString('hex') };

let dovecot: Dovecot;
let mta: { port: number; accepted: string[]; stop(): Promise<void> };
let engine: Mailroom;
let dataDir: string;
let dataRoot: string;

/** The test's MTA: accepts mail for every user but `refused@`, and delivers by the recipient's name. */
async function startMta(): Promise<typeof mta> {
  const accepted: string[] = [];
  const server = new SMTPServer({
    logger: false,
    disableReverseLookup: true,
    authOptional: true,
    hideSTARTTLS: true,
    onRcptTo(address, _session, callback) {
      if (address.address.startsWith('refused@')) return callback(Object.assign(new Error('5.1.1 <refused@example.test>: Recipient address rejected: User unknown'), { responseCode: 550 }));
      callback();
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        const raw = Buffer.concat(chunks).toString('latin1');
        // smtp-server clears the envelope once the 250 is given: read it first.
        const recipients = session.envelope.rcptTo.map((r) => r.address);
        callback();
        // Delivery happens after the 250, as on a real server.
        for (const address of recipients) {
          accepted.push(address);
          const user = address;
          if (user.startsWith('lost@')) continue;
          const folder = user.startsWith('junk@') ? 'Junk' : 'INBOX';
          setTimeout(() => void dovecot.append(user, folder, `Delivered-To: ${user}\r\n${raw}`).catch(() => undefined), 300);
        }
      });
    },
  });
  server.on('error', () => undefined);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return { port: (server.server.address() as AddressInfo).port, accepted, stop: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

function addMailbox(user: string, afterImport = 'mark-seen') {
  return engine.mailboxes.create({
    name: user.split('@')[0]!,
    address: user,
    preset: 'generic',
    imap: { host: '127.0.0.1', port: dovecot.port, security: 'none', afterImport, username: user },
    smtp: { host: '127.0.0.1', port: mta.port, security: 'none', auth: 'none' },
    password: PASSWORD,
  });
}

/** UIDs in a folder of a user whose header X-Mailroom-Probe is set. */
async function probesOnServer(user: string, folder: string): Promise<number> {
  const client = new ImapFlow({ host: '127.0.0.1', port: dovecot.port, secure: false, auth: { user, pass: PASSWORD }, logger: false });
  await client.connect();
  try {
    const lock = await client.getMailboxLock(folder);
    try {
      const uids = await client.search({ header: { 'X-Mailroom-Probe': '' } }, { uid: true });
      return uids ? uids.length : 0;
    } finally {
      lock.release();
    }
  } finally {
    await client.logout();
  }
}

beforeAll(async () => {
  dovecot = await startDovecot({ users: Object.fromEntries(USERS.map((u) => [u, PASSWORD])), folders: ['Junk'] });
  mta = await startMta();
  // Not tempDir(): that one is removed after each test, and this folder serves the whole file.
  dataRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'mailroom-probe-'));
  dataDir = path.join(dataRoot, 'data');
  engine = openMailroom({ dataDir, keyProvider: staticKeyProvider(KEY) });
  for (const user of USERS) addMailbox(user, user.startsWith('importer') ? 'delete' : 'mark-seen');
}, 60_000);

afterAll(async () => {
  engine?.close();
  await mta?.stop();
  await dovecot?.stop();
  if (dataRoot) fs.rmSync(dataRoot, { recursive: true, force: true });
});

describe('round-trip probe', () => {
  it('travels: sent through SMTP, found in INBOX by its token, timed, deleted; `mailroom probe --json` exits 0', async () => {
    const r = await runCli(['probe', 'inbox', '--json', '--timeout', '20', '--data-dir', dataDir], { env: ENV, timeoutMs: 150_000 });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(Object.keys(r.json)).toEqual(['ok', 'mailbox', 'sendMs', 'deliverMs', 'totalMs', 'folder', 'diagnosis']);
    expect(r.json).toMatchObject({ ok: true, mailbox: 'inbox', folder: 'INBOX', diagnosis: null });
    expect(r.json.totalMs).toBe(r.json.sendMs + r.json.deliverMs);
    expect(r.json.deliverMs).toBeGreaterThanOrEqual(0);
    expect(mta.accepted).toContain('inbox@example.test');
    // Deleted from the server, and stored in the history.
    expect(await probesOnServer('inbox@example.test', 'INBOX')).toBe(0);
    const history = engine.health.probes(0, engine.mailboxes.resolve('inbox').id);
    expect(history.at(-1)).toMatchObject({ status: 'delivered', trigger: 'cli', folder: 'INBOX', target: 'inbox@example.test' });
    // The health overview shows it.
    const health = await runCli(['health', '--json', '--data-dir', dataDir], { env: ENV });
    const row = health.json.mailboxes.find((m: { name: string }) => m.name === 'inbox');
    expect(Object.keys(row)).toEqual(['name', 'state', 'reason', 'lastReceiveAt', 'lastSendAt', 'queue', 'tokenExpiresAt', 'clientSecretExpiresAt', 'clientCredential', 'lastProbe']);
    expect(row.clientSecretExpiresAt).toBeNull();
    expect(row.lastProbe).toMatchObject({ ok: true, folder: 'INBOX', totalMs: r.json.totalMs });
    expect(row.state).toBe('healthy');
  }, 180_000);

  it('delivered to Junk: a failure that says so, timed and deleted from Junk', async () => {
    const p = await engine.probes.run('junk', { timeoutSeconds: 20 });
    expect(p).toMatchObject({ status: 'failed', folder: 'Junk', diagnosis: { code: 'PROBE_IN_JUNK' } });
    expect(p.diagnosis!.message).toMatch(/delivered, but to Junk, not to INBOX/);
    expect(p.deliverMs).not.toBeNull();
    expect(await probesOnServer('junk@example.test', 'Junk')).toBe(0);
    const row = engine.health.overview().mailboxes.find((m) => m.name === 'junk')!;
    expect(row).toMatchObject({ state: 'degraded', explain: { kind: 'probe', id: p.id } });
  }, 180_000);

  it('accepted and never delivered: PROBE_NOT_DELIVERED after --timeout, exit 1, the mailbox Failing', async () => {
    const r = await runCli(['probe', 'lost', '--json', '--timeout', '5', '--data-dir', dataDir], { env: ENV, timeoutMs: 60_000 });
    expect(r.code).toBe(1);
    expect(r.json).toMatchObject({ ok: false, mailbox: 'lost', folder: null, deliverMs: null, totalMs: null, diagnosis: { code: 'PROBE_NOT_DELIVERED' } });
    expect(r.json.sendMs).toEqual(expect.any(Number));
    expect(r.json.diagnosis.message).toMatch(/accepted the probe .* but it did not arrive in INBOX or Junk of lost within 5 s/);
    expect(r.json.diagnosis.hint).toMatch(/Message-ID <probe\./);
    const health = await runCli(['health', '--json', '--data-dir', dataDir], { env: ENV });
    expect(health.code).toBe(1);
    expect(health.json.mailboxes.find((m: { name: string }) => m.name === 'lost')).toMatchObject({ state: 'failing', lastProbe: { ok: false, diagnosis: { code: 'PROBE_NOT_DELIVERED' } } });
    expect(health.json.summary).toMatch(/lost: failing since/);
    // The change was logged once, direction system.
    expect(engine.log.query({ direction: 'system' }).filter((e) => e.code === 'HEALTH_FAILING' && e.mailboxName === 'lost')).toHaveLength(1);
  }, 120_000);

  it('refused on sending: the send diagnosis', async () => {
    const r = await runCli(['probe', 'refused', '--json', '--timeout', '5', '--data-dir', dataDir], { env: ENV, timeoutMs: 60_000 });
    expect(r.code).toBe(1);
    expect(r.json).toMatchObject({ ok: false, sendMs: null, folder: null });
    expect(r.json.diagnosis.message).toMatch(/^The probe was refused on sending: /);
    expect(r.json.diagnosis.message).toMatch(/refused@example\.test/);
    expect(r.json.diagnosis.code).not.toBe('PROBE_FAILED');
  }, 120_000);

  it('--timeout is checked before anything is sent (exit 2, names the flag)', async () => {
    const r = await runCli(['probe', 'inbox', '--json', '--timeout', '2', '--data-dir', dataDir], { env: ENV });
    expect(r.code).toBe(2);
    expect(r.json.error.message).toMatch(/^--timeout must be from 5 to 3600 seconds/);
  });
});

describe('the importer and probes', () => {
  it('another process never imports a probe of this data folder, even one not recorded yet; a forged header is imported', async () => {
    const user = 'importer@example.test';
    const token = engine.probes.marker.newToken();
    expect(engine.probes.repo.hasToken(token)).toBe(false);
    const message = (subject: string, header: string | null) =>
      [`From: someone@example.test`, `To: ${user}`, `Subject: ${subject}`, `Message-ID: <${crypto.randomUUID()}@example.test>`, ...(header ? [`X-Mailroom-Probe: ${header}`] : []), '', 'Hello.', ''].join('\r\n');
    await dovecot.append(user, 'INBOX', message('probe not yet recorded', token));
    await dovecot.append(user, 'INBOX', message('customer mail', null));
    await dovecot.append(user, 'INBOX', message('forged probe header', `mrp1.${'0'.repeat(32)}.${'1'.repeat(32)}`));
    const poll = await runCli(['inbox', 'poll', 'importer', '--json', '--data-dir', dataDir], { env: ENV, timeoutMs: 60_000 });
    expect(poll.code).toBe(0);
    const subjects = engine.inbox.list({ mailboxId: engine.mailboxes.resolve("importer").id }).messages.map((m) => m.subject).sort();
    expect(subjects).toEqual(['customer mail', 'forged probe header']);
    // The after-import action (delete) did not touch the probe: it is still there for its sender to find.
    expect(await probesOnServer(user, 'INBOX')).toBe(1);
    // A second poll does not import it either.
    await runCli(['inbox', 'poll', 'importer', '--json', '--data-dir', dataDir], { env: ENV, timeoutMs: 60_000 });
    expect(engine.inbox.list({ mailboxId: engine.mailboxes.resolve("importer").id }).messages).toHaveLength(2);
  }, 120_000);
});

describe('scheduled probes', () => {
  it('`mailroom engine run` (without --until-idle) runs a mailbox\'s scheduled probe when probes are on', async () => {
    const m = engine.mailboxes.resolve('scheduled');
    engine.health.saveProbeSettings({ mailboxId: m.id, enabled: true, intervalSeconds: 900, timeoutSeconds: 60 });
    const child = spawn(process.execPath, [CLI, 'engine', 'run', '--data-dir', dataDir], { env: { ...process.env, ...ENV, MAILROOM_DATA_DIR: '' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    try {
      // Bounded: at most 240 looks, a quarter second apart.
      let found: ReturnType<typeof engine.health.probes>[number] | undefined;
      for (let i = 0; i < 240 && !found; i++) {
        found = engine.health.probes(0, m.id).find((p) => p.trigger === 'schedule' && p.status !== 'running');
        if (!found) await new Promise((r) => setTimeout(r, 250));
      }
      expect(found, output).toMatchObject({ status: 'delivered', folder: 'INBOX', trigger: 'schedule' });
      // Only one: the next is due in 15 minutes.
      expect(engine.health.probes(0, m.id).filter((p) => p.trigger === 'schedule')).toHaveLength(1);
    } finally {
      child.kill('SIGINT');
      await exited;
    }
    // The probe was never imported by the engine's own importer.
    expect(engine.inbox.list({ mailboxId: m.id }).messages).toHaveLength(0);
  }, 120_000);

  it('`mailroom probe-schedule` shows and changes the schedule; bad values name their flag (exit 2)', async () => {
    const show = await runCli(['probe-schedule', 'junk', '--json', '--data-dir', dataDir], { env: ENV });
    expect(show.code).toBe(0);
    expect(show.json).toEqual({ mailbox: 'junk', enabled: false, intervalSeconds: 900, timeoutSeconds: 600, targetAddress: null, slowThresholdMs: 120_000 });
    const on = await runCli(['probe-schedule', 'junk', '--on', '--every', '5', '--to', 'alias@example.test', '--json', '--data-dir', dataDir], { env: ENV });
    expect(on.json).toMatchObject({ enabled: true, intervalSeconds: 300, targetAddress: 'alias@example.test' });
    expect(engine.health.probeSettings(engine.mailboxes.resolve('junk').id)).toMatchObject({ enabled: true, intervalSeconds: 300 });
    const back = await runCli(['probe-schedule', 'junk', '--off', '--to-self', '--json', '--data-dir', dataDir], { env: ENV });
    expect(back.json).toMatchObject({ enabled: false, intervalSeconds: 300, targetAddress: null });
    const badEvery = await runCli(['probe-schedule', 'junk', '--every', '0', '--json', '--data-dir', dataDir], { env: ENV });
    expect(badEvery.code).toBe(2);
    expect(badEvery.json.error.message).toMatch(/^--every must be from 1 to 1440 minutes/);
    const badTo = await runCli(['probe-schedule', 'junk', '--to', 'not-an-address', '--json', '--data-dir', dataDir], { env: ENV });
    expect(badTo.code).toBe(2);
    expect(badTo.json.error.message).toContain('--to');
  }, 60_000);
});
