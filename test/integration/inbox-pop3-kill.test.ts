/**
 * The POP3 kill test: `mailroom inbox poll` importing 1,000 messages from a
 * POP3 mailbox (after import: delete) is killed with SIGKILL twice,
 * mid-import, and run again to the end. At each kill nothing is deleted on
 * the server that is not stored, and nothing is stored twice; at the end
 * every message is stored exactly once and deleted on the server. The
 * shape of test/integration/inbox-kill.test.ts (IMAP).
 */
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openInboxEngine } from '../../src-main/engine/inbox/open-inbox';
import { staticKeyProvider } from '../../src-main/store/secret-box';
import { startDovecot, type Dovecot } from '../helpers/dovecot';
import { CLI } from '../helpers/paths';

const USER = 'pop3kill@example.test';
const PASSWORD = 'kill-pass';
const COUNT = 1000;
const KEY = crypto.randomBytes(32);

function message(i: number): string {
  return [
    `From: Customer ${i} <c${i}@example.test>`,
    `To: ${USER}`,
    `Subject: POP3 kill test ${i}`,
    `Message-ID: <pop3kill-${i}@example.test>`,
    'Date: Tue, 25 Nov 2025 10:00:00 +0000',
    'Content-Type: text/plain; charset=utf-8',
    '',
    `Message ${i}. `.repeat(120),
    '',
  ].join('\r\n');
}

let dovecot: Dovecot;
let dataDir: string;

beforeAll(async () => {
  dovecot = await startDovecot({ users: { [USER]: PASSWORD }, pop3: true, messages: Array.from({ length: COUNT }, (_, i) => ({ user: USER, raw: message(i + 1) })) });
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mailroom-pop3-kill-'));
  const engine = openInboxEngine({ dataDir, keyProvider: staticKeyProvider(KEY) });
  engine.mailboxes.create({
    name: 'Kill',
    address: USER,
    preset: 'generic',
    receiveVia: 'pop3',
    imap: { host: '127.0.0.1', security: 'none' },
    pop3: { host: '127.0.0.1', port: dovecot.pop3Port, security: 'none', afterImport: 'delete' },
    smtp: { host: '127.0.0.1', security: 'none' },
    password: PASSWORD,
  });
  await engine.close();
}, 120_000);

afterAll(async () => {
  await dovecot?.stop();
  if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
});

function readDb<T>(read: (db: Database.Database) => T, fallback: T): T {
  let db: Database.Database;
  try {
    db = new Database(path.join(dataDir, 'mailroom.db'), { readonly: true, fileMustExist: true });
  } catch {
    return fallback;
  }
  try {
    return read(db);
  } finally {
    db.close();
  }
}

/** The Message-IDs stored (not duplicates), read as another process would. */
const storedIds = () => readDb((db) => (db.prepare("SELECT message_id FROM inbox_messages WHERE status != 'duplicate'").pluck().all() as string[]).map((id) => `<${id}>`), []);
const storedCount = () => readDb((db) => db.prepare('SELECT COUNT(*) FROM inbox_messages').pluck().get() as number, 0);

/** The Message-IDs still on the server (its Maildir). */
function serverIds(): string[] {
  return dovecot.inboxMessages(USER).map((raw) => /^Message-ID: (<[^>]+>)/im.exec(raw.toString('latin1'))?.[1] ?? '');
}

function startImporter() {
  const child = spawn(process.execPath, [CLI, 'inbox', 'poll', 'Kill', '--data-dir', dataDir, '--json'], {
    env: { ...process.env, MAILROOM_DATA_DIR: '', MAILROOM_SECRET_KEY: KEY.toString('hex') },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  child.stdout.on('data', (d) => (stdout += d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  return { child, exited, stdout: () => stdout };
}

/** Kills the importer with SIGKILL once at least `rows` rows are committed (bounded wait). */
async function killAt(rows: number): Promise<void> {
  const importer = startImporter();
  const deadline = Date.now() + 90_000;
  let done = false;
  void importer.exited.then(() => (done = true));
  while (!done && storedCount() < rows) {
    if (Date.now() > deadline) throw new Error(`the importer did not reach ${rows} rows in 90 s`);
    await new Promise((r) => setTimeout(r, 5));
  }
  importer.child.kill('SIGKILL');
  const exit = await importer.exited;
  expect(exit.signal, `the importer finished before it could be killed at ${rows} rows`).toBe('SIGKILL');
}

/** Nothing lost, nothing deleted unstored, nothing stored twice. */
function checkInvariants(): { stored: string[]; server: string[] } {
  const stored = storedIds();
  const server = serverIds();
  expect(new Set(stored).size, 'a message was stored twice').toBe(stored.length);
  const everywhere = new Set([...stored, ...server]);
  for (let i = 1; i <= COUNT; i++) expect(everywhere.has(`<pop3kill-${i}@example.test>`), `pop3kill-${i} was deleted on the server without being stored`).toBe(true);
  return { stored, server };
}

describe('POP3 kill test', () => {
  it('survives SIGKILL twice during a 1,000-message import: every message stored once, none deleted on the server before it was stored', async () => {
    await killAt(200);
    const first = checkInvariants();
    expect(first.stored.length).toBeGreaterThanOrEqual(200);
    expect(first.stored.length).toBeLessThan(COUNT);

    await killAt(first.stored.length + 300);
    const second = checkInvariants();
    expect(second.stored.length).toBeGreaterThan(first.stored.length);

    const last = startImporter();
    const exit = await last.exited;
    expect(exit.code).toBe(0);
    const result = JSON.parse(last.stdout());
    expect(result).toMatchObject({ duplicates: 0, failed: 0 });
    expect(result.imported).toBe(COUNT - second.stored.length);

    const final = checkInvariants();
    expect(final.stored).toHaveLength(COUNT);
    expect(final.server).toEqual([]);

    readDb((db) => {
      expect(db.prepare('SELECT COUNT(*) FROM inbox_messages').pluck().get()).toBe(COUNT);
      expect(db.prepare('SELECT COUNT(*) FROM pop3_uidls').pluck().get()).toBe(COUNT);
      expect(db.prepare("SELECT COUNT(*) FROM inbox_messages WHERE action_state != 'done'").pluck().get()).toBe(0);
      expect(db.prepare('SELECT COUNT(*) FROM inbox_blobs').pluck().get()).toBe(COUNT);
      const polls = db.prepare('SELECT outcome, code FROM inbox_polls ORDER BY id').all();
      expect(polls).toEqual([
        { outcome: 'failed', code: 'POLL_INTERRUPTED' },
        { outcome: 'failed', code: 'POLL_INTERRUPTED' },
        { outcome: 'ok', code: null },
      ]);
    }, undefined);
  }, 300_000);
});
