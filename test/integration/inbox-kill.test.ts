/**
 * The kill test: `mailroom inbox poll` importing 1,000 messages (after
 * import: move to Archive) is killed with SIGKILL twice, mid-import, and
 * run again to the end. At each kill, nothing the server moved is missing
 * from the store and nothing is lost; at the end every message is stored
 * exactly once and every one was moved.
 */
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { ImapFlow } from 'imapflow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openInboxEngine } from '../../src-main/engine/inbox/open-inbox';
import { staticKeyProvider } from '../../src-main/store/secret-box';
import { startDovecot, type Dovecot } from '../helpers/dovecot';
import { CLI } from '../helpers/paths';

const USER = 'kill@example.test';
const PASSWORD = 'kill-pass';
const COUNT = 1000;
const KEY = crypto.randomBytes(32);

function message(i: number): string {
  return [
    `From: Customer ${i} <c${i}@example.test>`,
    `To: ${USER}`,
    `Subject: Kill test ${i}`,
    `Message-ID: <kill-${i}@example.test>`,
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
  dovecot = await startDovecot({ users: { [USER]: PASSWORD }, folders: ['Archive'], messages: Array.from({ length: COUNT }, (_, i) => ({ user: USER, raw: message(i + 1) })) });
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mailroom-kill-'));
  const engine = openInboxEngine({ dataDir, keyProvider: staticKeyProvider(KEY) });
  engine.mailboxes.create({ name: 'Kill', address: USER, preset: 'generic', imap: { host: '127.0.0.1', port: dovecot.port, security: 'none', afterImport: 'move:Archive' }, smtp: { host: '127.0.0.1', security: 'none' }, password: PASSWORD });
  await engine.close();
}, 120_000);

afterAll(async () => {
  await dovecot?.stop();
  if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
});

/** The Message-IDs stored, read as another process would (read-only, while the importer may write). */
function storedIds(): string[] {
  const db = new Database(path.join(dataDir, 'mailroom.db'), { readonly: true, fileMustExist: true });
  try {
    return (db.prepare("SELECT message_id FROM inbox_messages WHERE status != 'duplicate'").pluck().all() as string[]).map((id) => `<${id}>`);
  } finally {
    db.close();
  }
}

function storedCount(): number {
  try {
    const db = new Database(path.join(dataDir, 'mailroom.db'), { readonly: true, fileMustExist: true });
    try {
      return db.prepare('SELECT COUNT(*) FROM inbox_messages').pluck().get() as number;
    } finally {
      db.close();
    }
  } catch {
    return 0;
  }
}

async function serverIds(folder: string): Promise<string[]> {
  const client = new ImapFlow({ host: '127.0.0.1', port: dovecot.port, secure: false, doSTARTTLS: false, auth: { user: USER, pass: PASSWORD }, logger: false });
  await client.connect();
  try {
    const lock = await client.getMailboxLock(folder);
    try {
      if (!client.mailbox || client.mailbox.exists === 0) return [];
      return (await client.fetchAll('1:*', { envelope: true })).map((m) => m.envelope?.messageId ?? '');
    } finally {
      lock.release();
    }
  } finally {
    await client.logout().catch(() => client.close());
  }
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

/** Nothing lost, nothing moved unstored, nothing stored twice. */
async function checkInvariants(): Promise<{ stored: string[]; inbox: string[]; archive: string[] }> {
  const stored = storedIds();
  const inbox = await serverIds('INBOX');
  const archive = await serverIds('Archive');
  expect(new Set(stored).size, 'a message was stored twice').toBe(stored.length);
  const storedSet = new Set(stored);
  const movedUnstored = archive.filter((id) => !storedSet.has(id));
  expect(movedUnstored, 'messages moved on the server before they were stored').toEqual([]);
  const everywhere = new Set([...stored, ...inbox, ...archive]);
  for (let i = 1; i <= COUNT; i++) expect(everywhere.has(`<kill-${i}@example.test>`), `kill-${i} is lost`).toBe(true);
  return { stored, inbox, archive };
}

describe('kill test', () => {
  it('survives SIGKILL twice during a 1,000-message import: every message stored once, none moved before it was stored', async () => {
    await killAt(200);
    const first = await checkInvariants();
    expect(first.stored.length).toBeGreaterThanOrEqual(200);
    expect(first.stored.length).toBeLessThan(COUNT);

    await killAt(first.stored.length + 300);
    const second = await checkInvariants();
    expect(second.stored.length).toBeGreaterThan(first.stored.length);

    const last = startImporter();
    const exit = await last.exited;
    expect(exit.code).toBe(0);
    const result = JSON.parse(last.stdout());
    expect(result).toMatchObject({ duplicates: 0, failed: 0 });
    expect(result.imported).toBe(COUNT - second.stored.length);

    const final = await checkInvariants();
    expect(final.stored).toHaveLength(COUNT);
    expect(final.inbox).toEqual([]);
    expect(final.archive.sort()).toEqual([...final.stored].sort());

    const db = new Database(path.join(dataDir, 'mailroom.db'), { readonly: true });
    try {
      expect(db.prepare('SELECT COUNT(*) FROM inbox_messages').pluck().get()).toBe(COUNT);
      expect(db.prepare("SELECT COUNT(*) FROM inbox_messages WHERE action_state != 'done'").pluck().get()).toBe(0);
      // Each message's own bytes are stored (all differ here, so one copy each).
      expect(db.prepare('SELECT COUNT(*) FROM inbox_messages m JOIN inbox_blobs b ON b.sha256 = m.raw_sha256').pluck().get()).toBe(COUNT);
      expect(db.prepare('SELECT COUNT(*) FROM inbox_blobs').pluck().get()).toBe(COUNT);
      // The two killed polls are on record as interrupted; the last one as ok.
      const polls = db.prepare('SELECT outcome, code FROM inbox_polls ORDER BY id').all();
      expect(polls).toEqual([
        { outcome: 'failed', code: 'POLL_INTERRUPTED' },
        { outcome: 'failed', code: 'POLL_INTERRUPTED' },
        { outcome: 'ok', code: null },
      ]);
    } finally {
      db.close();
    }
  }, 300_000);
});
