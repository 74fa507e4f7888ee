/**
 * Identity is not a header (issue 12, item 1), against a private Dovecot:
 *
 * - the report: two different messages with `Message-ID: <sameid-del@ext.test>`
 *   among twelve, after-import delete. Both are imported and stored, each
 *   `inbox show --raw` prints its own bytes, the second is marked as sharing
 *   its Message-ID with the first, and the server folder is emptied only of
 *   messages whose bytes are stored;
 * - an identical resend and a re-delivery (other trace fields) of a stored
 *   message are duplicates, each with its own bytes; a third message reusing
 *   the Message-ID is imported;
 * - a data folder of the previous version, left with a "duplicate" whose
 *   after-import action had not run yet: after the upgrade the next poll
 *   downloads it again and imports it with its bytes before deleting it.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ImapFlow } from 'imapflow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openInboxEngine } from '../../src-main/engine/inbox/open-inbox';
import { databaseFile } from '../../src-main/engine/data-dir';
import { openDatabase } from '../../src-main/store/db';
import { MIGRATIONS } from '../../src-main/store/migrations/index';
import { SecretBox, staticKeyProvider } from '../../src-main/store/secret-box';
import { SecretRepo } from '../../src-main/store/secret-repo';
import { startDovecot, type Dovecot } from '../helpers/dovecot';
import { runCli } from '../helpers/cli';

const PASSWORD = 'Identity-Pa55';
const REPORT = 'report@example.test';
const RESEND = 'resend@example.test';
const UPGRADE = 'upgrade@example.test';
const KEY = crypto.randomBytes(32);
const SAME_ID = 'sameid-del@ext.test';

function message(user: string, i: number, options: { messageId?: string; body?: string; trace?: string } = {}): string {
  return [
    ...(options.trace ? [options.trace] : []),
    `From: Customer ${i} <customer${i}@ext.test>`,
    `To: ${user}`,
    `Subject: Ticket ${i}`,
    `Message-ID: <${options.messageId ?? `${user.split('@')[0]}-${i}@ext.test`}>`,
    'Date: Tue, 25 Nov 2025 10:00:00 +0000',
    'Content-Type: text/plain; charset=us-ascii',
    '',
    options.body ?? `Message ${i}: please help with ticket ${i}.`,
    '',
  ].join('\r\n');
}

// The report: ten messages, and two different ones that reuse one Message-ID.
const reportMessages = [
  ...Array.from({ length: 5 }, (_, i) => message(REPORT, i + 1)),
  message(REPORT, 6, { messageId: SAME_ID, body: 'First message with this Message-ID: the printer is broken.' }),
  ...Array.from({ length: 5 }, (_, i) => message(REPORT, i + 7)),
  message(REPORT, 12, { messageId: SAME_ID, body: 'A different message with the same Message-ID: the VPN is down.' }),
];

let dovecot: Dovecot;
const dirs: string[] = [];

beforeAll(async () => {
  dovecot = await startDovecot({
    users: { [REPORT]: PASSWORD, [RESEND]: PASSWORD, [UPGRADE]: PASSWORD },
    messages: [
      ...reportMessages.map((raw) => ({ user: REPORT, raw })),
      { user: RESEND, raw: message(RESEND, 1, { messageId: SAME_ID, body: 'The original.' }) },
    ],
  });
}, 60_000);

afterAll(async () => {
  await dovecot?.stop();
  for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
});

function dataDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mailroom-identity-'));
  dirs.push(dir);
  return dir;
}

async function withClient<T>(user: string, use: (client: ImapFlow) => Promise<T>): Promise<T> {
  const client = new ImapFlow({ host: '127.0.0.1', port: dovecot.port, secure: false, doSTARTTLS: false, auth: { user, pass: PASSWORD }, logger: false });
  await client.connect();
  try {
    return await use(client);
  } finally {
    await client.logout().catch(() => client.close());
  }
}

/** The messages in a folder on the server: UID and exact bytes. */
async function serverFolder(user: string, folder = 'INBOX'): Promise<{ uid: number; source: string }[]> {
  return withClient(user, async (client) => {
    const lock = await client.getMailboxLock(folder);
    try {
      if (!client.mailbox || client.mailbox.exists === 0) return [];
      return (await client.fetchAll('1:*', { uid: true, source: true })).map((m) => ({ uid: m.uid, source: m.source!.toString('latin1') }));
    } finally {
      lock.release();
    }
  });
}

const mailboxArgs = (user: string, name: string) => [
  'mailbox', 'add', '--name', name, '--address', user, '--preset', 'generic', '--imap-host', '127.0.0.1', '--imap-port', String(dovecot.port),
  '--imap-security', 'none', '--smtp-host', '127.0.0.1', '--smtp-security', 'none', '--after-import', 'delete', '--password-env', 'IMAP_PASSWORD', '--json',
  // The folder holds mail already: importing it is the choice these tests make (issue 13.13).
  '--import-existing', 'yes',
];

describe('a different message with the same Message-ID', () => {
  it('is imported and kept with its own bytes, and the folder is emptied only of stored messages (the report, through the CLI)', async () => {
    const dir = dataDir();
    const env = { MAILROOM_SECRET_KEY: KEY.toString('hex'), IMAP_PASSWORD: PASSWORD };
    const cli = (args: string[]) => runCli([...args, '--data-dir', dir], { env, timeoutMs: 60_000 });
    const onServer = await serverFolder(REPORT);
    expect(onServer).toHaveLength(12);
    expect((await cli(mailboxArgs(REPORT, 'Report'))).code).toBe(0);

    const poll = await cli(['inbox', 'poll', 'Report', '--json']);
    expect(poll.code).toBe(0);
    expect(poll.json).toMatchObject({ fetched: 12, imported: 12, duplicates: 0, failed: 0 });

    const list = await cli(['inbox', 'list', '--mailbox', 'Report', '--json']);
    const rows = list.json as { id: number; uid: number; status: string; messageId: string; sharesMessageIdWith: number | null; actionState: string }[];
    expect(rows).toHaveLength(12);
    expect(rows.every((r) => r.status === 'imported' && r.actionState === 'done')).toBe(true);
    const same = rows.filter((r) => r.messageId === SAME_ID).sort((a, b) => a.uid - b.uid);
    expect(same).toHaveLength(2);
    const [first, second] = same as [(typeof same)[0], (typeof same)[0]];
    expect(first.sharesMessageIdWith).toBeNull();
    expect(second.sharesMessageIdWith).toBe(first.id);

    // `--raw` prints each message's own bytes exactly as the server sent them, both as text and as exact base64.
    const byUid = new Map(onServer.map((m) => [m.uid, m.source]));
    for (const row of same) {
      const raw = await cli(['inbox', 'show', String(row.id), '--raw']);
      expect(raw.code).toBe(0);
      expect(raw.stdout, `message #${row.id} (UID ${row.uid})`).toBe(byUid.get(row.uid));
      const exact = await cli(['inbox', 'show', String(row.id), '--raw', '--json']);
      expect(Buffer.from(exact.json.content, 'base64').toString('latin1')).toBe(byUid.get(row.uid));
    }
    expect(byUid.get(first.uid)).toContain('the printer is broken');
    expect(byUid.get(second.uid)).toContain('the VPN is down');
    // The other ten too, read through the same service the CLI uses (one process, not twenty).
    const engine = openInboxEngine({ dataDir: dir, keyProvider: staticKeyProvider(KEY) });
    try {
      for (const row of rows) expect(engine.inbox.rawBytes(row.id).toString('latin1'), `message #${row.id} (UID ${row.uid})`).toBe(byUid.get(row.uid));
    } finally {
      await engine.close();
    }

    // The detail says which message shares the Message-ID, both ways, in JSON and in text.
    const shown = await cli(['inbox', 'show', String(second.id), '--json']);
    expect(shown.json).toMatchObject({ id: second.id, status: 'imported', sharesMessageIdWith: first.id, sameMessageIdAs: [first.id], rawKept: true });
    expect(shown.json.text).toContain('the VPN is down');
    expect((await cli(['inbox', 'show', String(first.id), '--json'])).json).toMatchObject({ sharesMessageIdWith: null, sameMessageIdAs: [second.id] });
    expect((await cli(['inbox', 'show', String(second.id)])).stdout).toContain(`Shares its Message-ID with message #${first.id} (different content: each is kept).`);

    // And it is logged.
    const logs = await cli(['logs', '--direction', 'receive', '--json']);
    const entries = logs.json as { code: string | null; level: string; message: string; detail: string | null }[];
    const reused = entries.filter((e) => e.code === 'MESSAGE_ID_REUSED');
    expect(reused).toHaveLength(1);
    expect(reused[0]).toMatchObject({ level: 'warning' });
    expect(reused[0]!.detail).toContain(`Its Message-ID <${SAME_ID}> is also used by message #${first.id}, a different message: both are kept.`);

    // Deleted on the server only once stored: the folder is empty and every message it had is stored.
    expect(await serverFolder(REPORT)).toEqual([]);
    expect(new Set(rows.map((r) => r.uid))).toEqual(new Set(onServer.map((m) => m.uid)));
  }, 180_000);

  it('counts an identical resend and a re-delivery as duplicates, each with its own bytes, and imports a third different message', async () => {
    const engine = openInboxEngine({ dataDir: dataDir(), keyProvider: staticKeyProvider(KEY), inbox: { batchMessages: 2 } });
    try {
      const m = engine.mailboxes.create({ name: 'Resend', address: RESEND, preset: 'generic', imap: { host: '127.0.0.1', port: dovecot.port, security: 'none', afterImport: 'mark-seen' }, smtp: { host: '127.0.0.1', security: 'none' }, password: PASSWORD });
      expect(await engine.inbox.pollNow(m.id)).toMatchObject({ outcome: 'ok', imported: 1, duplicates: 0 });
      const [original] = engine.inbox.list({ mailboxId: m.id }).messages;
      const originalBytes = message(RESEND, 1, { messageId: SAME_ID, body: 'The original.' });

      const resend = originalBytes;
      const redelivery = `Return-Path: <customer1@ext.test>\r\nDelivered-To: ${RESEND}\r\nReceived: from mx2.ext.test (mx2.ext.test [192.0.2.7])\r\n\tby imap.example.test with LMTP; Wed, 26 Nov 2025 09:00:00 +0000\r\n${originalBytes}`;
      const different = message(RESEND, 1, { messageId: SAME_ID, body: 'Not the original: another message that reuses its Message-ID.' });
      const differentResent = `Received: by mx3.ext.test; Wed, 26 Nov 2025 09:05:00 +0000\r\n${different}`;
      for (const raw of [resend, redelivery, different, differentResent]) await dovecot.append(RESEND, 'INBOX', raw);

      const poll = await engine.inbox.pollNow(m.id);
      expect(poll).toMatchObject({ outcome: 'ok', fetched: 4, imported: 1, duplicates: 3 });
      const rows = engine.inbox.list({ mailboxId: m.id }).messages.sort((a, b) => a.uid - b.uid);
      expect(rows.map((r) => [r.status, r.duplicateOf, r.sharesMessageIdWith])).toEqual([
        ['imported', null, null],
        ['duplicate', original!.id, null],
        ['duplicate', original!.id, null],
        ['imported', null, original!.id],
        ['duplicate', rows[3]!.id, null],
      ]);
      const expected = [originalBytes, resend, redelivery, different, differentResent];
      rows.forEach((row, i) => expect(engine.inbox.rawBytes(row.id).toString('latin1'), `UID ${row.uid}`).toBe(expected[i]));
      // A duplicate's detail is read from its own bytes too (the trace fields it arrived with).
      const detail = await engine.inbox.get(rows[2]!.id);
      expect(detail.headers.filter((h) => h.name === 'Received')).toHaveLength(1);
      expect(detail.rawKept).toBe(true);
      // Identical bytes are stored once.
      expect(engine.db.prepare('SELECT COUNT(*) FROM inbox_blobs').pluck().get()).toBe(4);
      const log = engine.log.query({ mailboxId: m.id, refKind: 'inbox', level: 'info' }, 10).map((l) => l.detail);
      expect(log).toContain(`Same Message-ID <${SAME_ID}> and the same content, apart from the trace fields servers add on delivery (Received, Delivered-To...). This copy's own bytes are kept as message #${rows[2]!.id}.`);
      const server = await withClient(RESEND, async (client) => {
        const lock = await client.getMailboxLock('INBOX');
        try {
          return (await client.fetchAll('1:*', { uid: true, flags: true })).map((x) => x.flags?.has('\\Seen'));
        } finally {
          lock.release();
        }
      });
      expect(server).toEqual([true, true, true, true, true]);
    } finally {
      await engine.close();
    }
  });
});

describe('a data folder of the previous version', () => {
  it('downloads again a "duplicate" whose action had not run, and imports it with its bytes before deleting it', async () => {
    const first = message(UPGRADE, 1, { messageId: SAME_ID, body: 'First.' });
    const second = message(UPGRADE, 2, { messageId: SAME_ID, body: 'Second, a different message.' });
    await dovecot.append(UPGRADE, 'INBOX', first);
    await dovecot.append(UPGRADE, 'INBOX', second);
    const uidValidity = await withClient(UPGRADE, async (c) => {
      const status = await c.status('INBOX', { uidValidity: true });
      if (!status) throw new Error('STATUS INBOX failed');
      return Number(status.uidValidity);
    });

    // As the previous version left it: the second recorded as a duplicate without bytes, its delete refused or cut off.
    const dir = dataDir();
    const v6 = openDatabase(databaseFile(dir), { migrations: MIGRATIONS.slice(0, 6) });
    // The mailbox row as that version's schema holds it (today's repository writes columns it did not have).
    const mailbox = {
      id: Number(
        v6
          .prepare(
            `INSERT INTO mailboxes (name, address, preset, imap_host, imap_port, imap_security, imap_username, imap_auth, imap_after_import, smtp_host, smtp_port, smtp_security, smtp_username, smtp_auth, created_at, updated_at)
             VALUES ('Upgrade', ?, 'generic', '127.0.0.1', ?, 'none', ?, 'password', 'delete', '127.0.0.1', 25, 'none', ?, 'password', 1, 1)`,
          )
          .run(UPGRADE, dovecot.port, UPGRADE, UPGRADE).lastInsertRowid,
      ),
    };
    new SecretRepo(v6, new SecretBox(staticKeyProvider(KEY))).set(mailbox.id, 'password', PASSWORD);
    v6.prepare("INSERT INTO inbox_folders (mailbox_id, folder, uid_validity, last_uid, updated_at) VALUES (?, 'INBOX', ?, 2, 1)").run(mailbox.id, uidValidity);
    const insert = v6.prepare(
      `INSERT INTO inbox_messages (id, mailbox_id, mailbox_name, folder, uid_validity, uid, status, message_id, dedupe_key, duplicate_of, imported_at, size, action, action_state)
       VALUES (?, ?, 'Upgrade', 'INBOX', ?, ?, ?, ?, ?, ?, 1, ?, 'delete', 'pending')`,
    );
    insert.run(1, mailbox.id, uidValidity, 1, 'imported', SAME_ID, `mid:${SAME_ID}`, null, first.length);
    v6.prepare('INSERT INTO inbox_raw (message_id, raw) VALUES (1, ?)').run(Buffer.from(first, 'latin1'));
    insert.run(2, mailbox.id, uidValidity, 2, 'duplicate', SAME_ID, null, 1, second.length);
    // And one whose delete had already run (the message is gone from the server): a record without bytes.
    v6.prepare(
      `INSERT INTO inbox_messages (id, mailbox_id, mailbox_name, folder, uid_validity, uid, status, message_id, duplicate_of, imported_at, size, action, action_state)
       VALUES (3, ?, 'Upgrade', 'INBOX', ?, 0, 'duplicate', ?, 1, 1, 100, 'delete', 'done')`,
    ).run(mailbox.id, uidValidity - 1, SAME_ID);
    v6.close();

    const engine = openInboxEngine({ dataDir: dir, keyProvider: staticKeyProvider(KEY) });
    try {
      expect(engine.inbox.repo.get(2)).toBeUndefined();
      const poll = await engine.inbox.pollNow(mailbox.id);
      expect(poll).toMatchObject({ outcome: 'ok', fetched: 1, imported: 1, duplicates: 0 });
      const rows = engine.inbox.list({ mailboxId: mailbox.id }).messages.filter((r) => r.uidValidity === uidValidity).sort((a, b) => a.uid - b.uid);
      expect(rows.map((r) => [r.id, r.uid, r.status, r.sharesMessageIdWith, r.actionState])).toEqual([
        [1, 1, 'imported', null, 'done'],
        [rows[1]!.id, 2, 'imported', 1, 'done'],
      ]);
      expect(engine.inbox.rawBytes(1).toString('latin1')).toBe(first);
      expect(engine.inbox.rawBytes(rows[1]!.id).toString('latin1')).toBe(second);
      expect(await serverFolder(UPGRADE)).toEqual([]);

      // The old record whose bytes were never kept says so, with a code, instead of showing another message's bytes.
      expect(() => engine.inbox.rawBytes(3)).toThrow(expect.objectContaining({ code: 'RAW_NOT_KEPT', message: expect.stringContaining('duplicate of message #1'), hint: expect.any(String) }));
      expect(await engine.inbox.get(3)).toMatchObject({ status: 'duplicate', duplicateOf: 1, rawKept: false, headers: [], text: '' });
    } finally {
      await engine.close();
    }
  });
});
