/**
 * The import against a private Dovecot on 127.0.0.1: N messages with each
 * after-import action (mark seen, move, delete and expunge), a second poll
 * that finds nothing new, new mail and a duplicate Message-ID, a move to a
 * folder that does not exist (stored, diagnosed, finished once the folder
 * is there), a refused password, the handoff folder, Import with debug, and
 * the CLI's exact JSON shapes. Every assertion reads the store or the
 * server, never the importer's internals.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { ImapFlow } from 'imapflow';
import MailComposer from 'nodemailer/lib/mail-composer';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { WorkerParser } from '../../src-main/engine/inbox/message-parser';
import { openInboxEngine, type InboxEngine } from '../../src-main/engine/inbox/open-inbox';
import { staticKeyProvider } from '../../src-main/store/secret-box';
import { startDovecot, type Dovecot } from '../helpers/dovecot';
import { runCli } from '../helpers/cli';
import { tempDir } from '../helpers/temp';

const PASSWORD = 'Dovecot-Pa55!word';
const USERS = ['seen', 'move', 'delete', 'more', 'missing', 'wrong', 'handoff', 'debug', 'cli', 'noworker', 'early'].map((u) => `${u}@example.test`);
const KEY = crypto.randomBytes(32);

async function compose(user: string, i: number, extra: Record<string, unknown> = {}): Promise<string> {
  const raw = await new MailComposer({
    from: `Customer ${i} <customer${i}@example.test>`,
    to: user,
    subject: `Ticket ${i} for ${user}`,
    messageId: `<${user.split('@')[0]}-${i}@example.test>`,
    date: new Date(Date.UTC(2025, 10, 25, 8, 0, i)),
    text: `Hello, this is message ${i}.\r\n`.repeat(20),
    attachments: i % 3 === 0 ? [{ filename: `form-${i}.pdf`, content: Buffer.from(`%PDF-1.4 form ${i}\n`.repeat(40)), contentType: 'application/pdf' }] : [],
    ...extra,
  })
    .compile()
    .build();
  return raw.toString('latin1');
}

let dovecot: Dovecot;
const seeded = new Map<string, string[]>();

beforeAll(async () => {
  const messages: { user: string; raw: string }[] = [];
  for (const user of USERS) {
    const raws = await Promise.all(Array.from({ length: 12 }, (_, i) => compose(user, i + 1)));
    seeded.set(user, raws);
    for (const raw of raws) messages.push({ user, raw });
  }
  dovecot = await startDovecot({ users: Object.fromEntries(USERS.map((u) => [u, PASSWORD])), folders: ['Archive'], messages });
});

afterAll(async () => {
  await dovecot?.stop();
});

let engine: InboxEngine | undefined;
afterEach(async () => {
  await engine?.close();
  engine = undefined;
});

function openEngine(dataDir = path.join(tempDir(), 'data'), parserWorkerFile?: string): InboxEngine {
  engine = openInboxEngine({ dataDir, keyProvider: staticKeyProvider(KEY), inbox: { batchMessages: 5, ...(parserWorkerFile ? { parserWorkerFile } : {}) } });
  return engine;
}

/** The activity log's warnings that parser workers cannot start. */
function parserWarnings(e: InboxEngine) {
  return e.log.query({ direction: 'system' }, 100).filter((entry) => entry.code === 'PARSER_WORKERS_UNAVAILABLE');
}

function addMailbox(e: InboxEngine, user: string, afterImport: string, password = PASSWORD) {
  return e.mailboxes.create({
    name: user.split('@')[0]!,
    address: user,
    preset: 'generic',
    imap: { host: '127.0.0.1', port: dovecot.port, security: 'none', afterImport },
    smtp: { host: '127.0.0.1', security: 'none' },
    password,
  });
}

/** What the server holds in a folder, by Message-ID. */
async function serverFolder(user: string, folder: string): Promise<{ messageId: string; seen: boolean }[]> {
  const client = new ImapFlow({ host: '127.0.0.1', port: dovecot.port, secure: false, doSTARTTLS: false, auth: { user, pass: PASSWORD }, logger: false });
  await client.connect();
  try {
    const lock = await client.getMailboxLock(folder);
    try {
      if (!client.mailbox || client.mailbox.exists === 0) return [];
      const list = await client.fetchAll('1:*', { uid: true, flags: true, envelope: true });
      return list.map((m) => ({ messageId: m.envelope?.messageId ?? '', seen: m.flags?.has('\\Seen') ?? false }));
    } finally {
      lock.release();
    }
  } finally {
    await client.logout().catch(() => client.close());
  }
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

function storedRows(e: InboxEngine, mailboxId: number) {
  return e.inbox.list({ mailboxId, limit: 1000 }).messages;
}

describe('inbox import against Dovecot', () => {
  it('imports every message once, marks them seen only after storing them, and finds nothing new the second time', async () => {
    const e = openEngine();
    const user = USERS[0]!;
    const m = addMailbox(e, user, 'mark-seen');
    const first = await e.inbox.pollNow(m.id);
    expect(first).toMatchObject({ outcome: 'ok', fetched: 12, imported: 12, duplicates: 0, failed: 0, code: null });
    const rows = storedRows(e, m.id);
    expect(rows).toHaveLength(12);
    expect(new Set(rows.map((r) => r.messageId)).size).toBe(12);
    expect(rows.every((r) => r.status === 'imported' && r.actionState === 'done' && r.action === 'mark-seen')).toBe(true);
    // The raw copy is the server's bytes exactly.
    const byId = new Map(seeded.get(user)!.map((raw) => [/Message-ID: <([^>]+)>/i.exec(raw)![1], raw]));
    for (const row of rows) expect(e.inbox.rawBytes(row.id).toString('latin1')).toBe(byId.get(row.messageId!));
    // Attachments are listed with names and sizes.
    const withPdf = rows.find((r) => r.messageId === `${user.split('@')[0]}-3@example.test`)!;
    expect((await e.inbox.get(withPdf.id)).attachments).toEqual([{ filename: 'form-3.pdf', contentType: 'application/pdf', size: 640, disposition: 'attachment' }]);
    expect((await serverFolder(user, 'INBOX')).every((s) => s.seen)).toBe(true);

    const second = await e.inbox.pollNow(m.id);
    expect(second).toMatchObject({ outcome: 'ok', fetched: 0, imported: 0, duplicates: 0, failed: 0 });
    expect(storedRows(e, m.id)).toHaveLength(12);
    // The receive log: one entry per import and one per poll.
    const log = e.log.query({ mailboxId: m.id, direction: 'receive' }, 100);
    expect(log.filter((l) => l.refKind === 'inbox' && l.level === 'success')).toHaveLength(12);
    expect(log.filter((l) => l.refKind === 'poll' && /^Polled INBOX/.test(l.message))).toHaveLength(2);
    expect(e.inbox.states().find((s) => s.mailboxId === m.id)).toMatchObject({ health: 'healthy', consecutiveFailures: 0, counts: { imported: 12, duplicate: 0, failed: 0 } });
  });

  it('moves messages to another folder after storing them', async () => {
    const e = openEngine();
    const user = USERS[1]!;
    const m = addMailbox(e, user, 'move:Archive');
    expect(await e.inbox.pollNow(m.id)).toMatchObject({ outcome: 'ok', imported: 12 });
    expect(await serverFolder(user, 'INBOX')).toEqual([]);
    const archived = await serverFolder(user, 'Archive');
    expect(archived.map((a) => a.messageId).sort()).toEqual(storedRows(e, m.id).map((r) => `<${r.messageId}>`).sort());
    expect(storedRows(e, m.id).every((r) => r.actionState === 'done')).toBe(true);
  });

  it('deletes and expunges messages after storing them', async () => {
    const e = openEngine();
    const user = USERS[2]!;
    const m = addMailbox(e, user, 'delete');
    expect(await e.inbox.pollNow(m.id)).toMatchObject({ outcome: 'ok', imported: 12 });
    expect(await serverFolder(user, 'INBOX')).toEqual([]);
    const rows = storedRows(e, m.id);
    expect(rows).toHaveLength(12);
    for (const row of rows) expect(e.inbox.rawBytes(row.id).length).toBe(row.size);
  });

  it('imports new mail and records a repeated Message-ID as a duplicate', async () => {
    const e = openEngine();
    const user = USERS[3]!;
    const m = addMailbox(e, user, 'mark-seen');
    await e.inbox.pollNow(m.id);
    await dovecot.append(user, 'INBOX', await compose(user, 100));
    // The same message again (another copy of Message-ID more-1), as a mail loop would deliver it.
    await dovecot.append(user, 'INBOX', seeded.get(user)![0]!);
    const poll = await e.inbox.pollNow(m.id);
    expect(poll).toMatchObject({ outcome: 'ok', fetched: 2, imported: 1, duplicates: 1 });
    const duplicate = e.inbox.list({ mailboxId: m.id, status: 'duplicate' }).messages;
    expect(duplicate).toHaveLength(1);
    expect(duplicate[0]).toMatchObject({ messageId: 'more-1@example.test', actionState: 'done' });
    const original = storedRows(e, m.id).find((r) => r.status === 'imported' && r.messageId === 'more-1@example.test')!;
    expect(duplicate[0]!.duplicateOf).toBe(original.id);
    expect(e.log.query({ mailboxId: m.id, level: 'info', refKind: 'inbox' }, 10)[0]!.message).toMatch(/^Duplicate skipped: .* already stored as message #\d+/);
  });

  it('keeps messages whose move fails, says which folder is missing, and finishes the move once it exists', async () => {
    const e = openEngine();
    const user = USERS[4]!;
    const m = addMailbox(e, user, 'move:Processed');
    const failed = await e.inbox.pollNow(m.id);
    expect(failed).toMatchObject({ outcome: 'failed', code: 'FOLDER_NOT_FOUND', imported: 12 });
    expect(failed.message).toContain('"Processed"');
    expect(failed.hint).toBeTruthy();
    expect(storedRows(e, m.id).every((r) => r.actionState === 'failed')).toBe(true);
    expect(await serverFolder(user, 'INBOX')).toHaveLength(12);
    expect(e.inbox.states().find((s) => s.mailboxId === m.id)).toMatchObject({ health: 'failing', consecutiveFailures: 1, lastError: { code: 'FOLDER_NOT_FOUND' } });

    await withClient(user, (c) => c.mailboxCreate('Processed'));
    const fixed = await e.inbox.pollNow(m.id);
    expect(fixed).toMatchObject({ outcome: 'ok', fetched: 0 });
    expect(await serverFolder(user, 'INBOX')).toEqual([]);
    expect(await serverFolder(user, 'Processed')).toHaveLength(12);
    expect(storedRows(e, m.id).every((r) => r.actionState === 'done')).toBe(true);
    expect(e.inbox.states().find((s) => s.mailboxId === m.id)).toMatchObject({ health: 'healthy', consecutiveFailures: 0 });
  });

  it('diagnoses a refused password with the connection tests\' rules and counts failures in a row', async () => {
    const e = openEngine();
    const m = addMailbox(e, USERS[5]!, 'delete', 'not-the-password');
    for (let i = 1; i <= 2; i++) {
      const poll = await e.inbox.pollNow(m.id);
      expect(poll).toMatchObject({ outcome: 'failed', code: 'AUTH_FAILED', fetched: 0 });
      expect(poll.hint).toBeTruthy();
    }
    expect(storedRows(e, m.id)).toHaveLength(0);
    expect(await serverFolder(USERS[5]!, 'INBOX')).toHaveLength(12);
    expect(e.inbox.states().find((s) => s.mailboxId === m.id)).toMatchObject({ health: 'failing', consecutiveFailures: 2, lastSuccessAt: null });
    const entry = e.log.query({ mailboxId: m.id, level: 'error' }, 1)[0]!;
    expect(entry).toMatchObject({ code: 'AUTH_FAILED', refKind: 'poll' });
    expect(JSON.stringify(e.log.query({ mailboxId: m.id }, 100))).not.toContain('not-the-password');
  });

  it('writes each imported message to the handoff folder, whole, under its final name', async () => {
    const e = openEngine();
    const user = USERS[6]!;
    const m = addMailbox(e, user, 'mark-seen');
    const dir = tempDir();
    e.inbox.saveSettings({ mailboxId: m.id, handoffDir: dir });
    await e.inbox.pollNow(m.id);
    const files = fs.readdirSync(dir).sort();
    expect(files).toHaveLength(12);
    expect(files.every((f) => f.endsWith('.eml') && !f.startsWith('.'))).toBe(true);
    for (const row of storedRows(e, m.id)) {
      const detail = await e.inbox.get(row.id);
      expect(detail.handoffState).toBe('written');
      expect(fs.readFileSync(detail.handoffPath!)).toEqual(e.inbox.rawBytes(row.id));
    }
  });

  it('keeps the full IMAP transcript of Import with debug, with the password nowhere in it', async () => {
    const e = openEngine();
    const user = USERS[7]!;
    const m = addMailbox(e, user, 'mark-seen');
    const poll = await e.inbox.importWithDebug(m.id);
    expect(poll).toMatchObject({ outcome: 'ok', trigger: 'debug', imported: 12, hasTranscript: true });
    const lines = e.inbox.poll(poll.id).transcript;
    const text = lines.map((l) => `${l.dir} ${l.text}`).join('\n');
    expect(text).toMatch(/^S \* OK .*Dovecot ready/m);
    expect(text).toContain('C [sign-in data hidden]');
    expect(text).toMatch(/^C \S+ UID SEARCH UID 1:\*$/m);
    expect(text).toMatch(/^C \S+ UID FETCH 1:12 \(UID INTERNALDATE BODY\.PEEK\[\]/m);
    expect(text).toMatch(/bytes of message data, stored with the message, not repeated here/);
    expect(text).toMatch(/^C \S+ UID STORE 1:12 \+FLAGS \(\\Seen\)/m);
    const everything = JSON.stringify([lines, e.inbox.polls(m.id), e.log.query({ mailboxId: m.id }, 200)]);
    for (const form of [PASSWORD, Buffer.from(PASSWORD).toString('base64'), Buffer.from(`\0${user}\0${PASSWORD}`).toString('base64')]) expect(everything).not.toContain(form);
  });

  it('prints the CLI shapes scripts depend on', async () => {
    const dataDir = path.join(tempDir(), 'cli-data');
    const env = { MAILROOM_SECRET_KEY: KEY.toString('hex'), IMAP_PASSWORD: PASSWORD };
    const user = USERS[8]!;
    const add = await runCli(['mailbox', 'add', '--data-dir', dataDir, '--name', 'Desk', '--address', user, '--preset', 'generic', '--imap-host', '127.0.0.1', '--imap-port', String(dovecot.port), '--imap-security', 'none', '--smtp-host', '127.0.0.1', '--smtp-security', 'none', '--after-import', 'mark-seen', '--password-env', 'IMAP_PASSWORD', '--import-existing', 'yes', '--json'], { env });
    expect(add.code).toBe(0);

    const poll = await runCli(['inbox', 'poll', 'Desk', '--data-dir', dataDir, '--json'], { env, timeoutMs: 60_000 });
    expect(poll.code).toBe(0);
    expect(Object.keys(poll.json)).toEqual(['fetched', 'imported', 'duplicates', 'failed', 'ms']);
    expect(poll.json).toMatchObject({ fetched: 12, imported: 12, duplicates: 0, failed: 0 });
    expect(poll.json.ms).toBeGreaterThan(0);

    const list = await runCli(['inbox', 'list', '--mailbox', 'Desk', '--status', 'imported', '--limit', '5', '--data-dir', dataDir, '--json'], { env });
    expect(list.code).toBe(0);
    expect(list.json).toHaveLength(5);
    expect(list.json[0]).toMatchObject({ mailboxName: 'Desk', status: 'imported', folder: 'INBOX', actionState: 'done' });

    const id = list.json[0].id as number;
    const show = await runCli(['inbox', 'show', String(id), '--data-dir', dataDir, '--json'], { env });
    expect(show.json).toMatchObject({ id, status: 'imported', headers: expect.arrayContaining([{ name: 'Subject', value: list.json[0].subject }]) });
    const raw = await runCli(['inbox', 'show', String(id), '--raw', '--data-dir', dataDir], { env });
    expect(raw.code).toBe(0);
    expect(raw.stdout).toBe(seeded.get(user)!.find((r) => r.includes(`<${list.json[0].messageId}>`)));

    const human = await runCli(['inbox', 'list', '--data-dir', dataDir], { env });
    expect(human.stdout).toMatch(/^ID\s+STATUS\s+IMPORTED\s+MAILBOX\s+FROM\s+SUBJECT/m);

    const badStatus = await runCli(['inbox', 'list', '--status', 'lost', '--data-dir', dataDir, '--json'], { env });
    expect(badStatus.code).toBe(2);
    expect(badStatus.json.error.message).toMatch(/--status must be one of: imported, duplicate, failed/);
    const noSuch = await runCli(['inbox', 'show', '99999', '--data-dir', dataDir, '--json'], { env });
    expect(noSuch.code).toBe(1);
    expect(noSuch.json.error.code).toBe('NOT_FOUND');

    // A failed poll: exit 1, the error with its code and hint, and the counts.
    await runCli(['mailbox', 'update', 'Desk', '--data-dir', dataDir, '--password-env', 'WRONG', '--json'], { env: { ...env, WRONG: 'wrong-password' } });
    const refused = await runCli(['inbox', 'poll', 'Desk', '--data-dir', dataDir, '--json', '--debug'], { env, timeoutMs: 60_000 });
    expect(refused.code).toBe(1);
    expect(refused.json).toMatchObject({ ok: false, error: { code: 'AUTH_FAILED', hint: expect.any(String) }, fetched: 0, imported: 0, duplicates: 0, failed: 0 });
    expect(refused.stderr).toMatch(/C: \[sign-in data hidden\]/);
    expect(refused.stderr).toMatch(/S: \S+ NO \[AUTHENTICATIONFAILED\]/);
    expect(refused.stderr + refused.stdout).not.toContain('wrong-password');

    // The CLI's bundle found its parser worker (dist/cli/parser-worker.cjs, beside main.cjs): nothing was parsed on its main thread.
    expect(parserWarnings(openEngine(dataDir))).toEqual([]);
  });

  it('imports on the main thread when parser workers cannot start, and says so once', async () => {
    const e = openEngine(undefined, path.join(tempDir(), 'no-such-parser-worker.mjs'));
    const user = USERS[9]!;
    const m = addMailbox(e, user, 'mark-seen');
    expect(await e.inbox.pollNow(m.id)).toMatchObject({ outcome: 'ok', fetched: 12, imported: 12, failed: 0 });
    const byId = new Map(seeded.get(user)!.map((raw) => [/Message-ID: <([^>]+)>/i.exec(raw)![1], raw]));
    for (const row of storedRows(e, m.id)) expect(e.inbox.rawBytes(row.id).toString('latin1')).toBe(byId.get(row.messageId!));
    const warnings = parserWarnings(e);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatchObject({ level: 'warning', message: expect.stringContaining('parsed on the main thread'), detail: expect.stringMatching(/no-such-parser-worker\.mjs is missing[\s\S]*Hint: /) });
  });

  it('says so once too for a parser started before the engine opened (as the CLI\'s poll starts it), which found out before there was a log', async () => {
    const parser = new WorkerParser(undefined, undefined, { workerFile: path.join(tempDir(), 'no-such-parser-worker.cjs') });
    parser.warm();
    expect(parser.unavailableReason).toMatch(/is missing/);
    engine = openInboxEngine({ dataDir: path.join(tempDir(), 'data'), keyProvider: staticKeyProvider(KEY), inbox: { batchMessages: 5, parser } });
    const m = addMailbox(engine, USERS[10]!, 'mark-seen');
    expect(await engine.inbox.pollNow(m.id)).toMatchObject({ outcome: 'ok', fetched: 12, imported: 12, failed: 0 });
    const warnings = parserWarnings(engine);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]!.detail).toMatch(/no-such-parser-worker\.cjs is missing/);
  });
});
