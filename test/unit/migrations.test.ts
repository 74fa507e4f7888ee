/**
 * The store's migrations against real SQLite files: a fresh database, an
 * upgrade that keeps data, a database from a newer Mailroom refused and left
 * byte-for-byte untouched, a failing migration rolled back completely.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { openDatabase, SCHEMA_VERSION, type Db } from '../../src-main/store/db';
import { MIGRATIONS, type Migration } from '../../src-main/store/migrations/index';
import { isAppError, type AppError } from '../../src-main/shared/errors';
import { tempDir } from '../helpers/temp';

const NOTES_V1: Migration = { version: 1, name: '001-notes', sql: 'CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL) STRICT;' };
const NOTES_V2: Migration = {
  version: 2,
  name: '002-note-tags',
  sql: `ALTER TABLE notes ADD COLUMN created_at INTEGER NOT NULL DEFAULT 0;
        CREATE TABLE tags (note_id INTEGER NOT NULL REFERENCES notes(id) ON DELETE CASCADE, tag TEXT NOT NULL) STRICT;
        UPDATE notes SET created_at = 1700000000000;`,
};

function dbFile(): string {
  return path.join(tempDir(), 'mailroom.db');
}

function userVersion(db: Db): number {
  return db.pragma('user_version', { simple: true }) as number;
}

function tables(db: Db): Map<string, { strict: boolean }> {
  const rows = db.prepare("SELECT name, strict FROM pragma_table_list WHERE schema = 'main' AND type = 'table' AND name NOT LIKE 'sqlite_%'").all() as Array<{ name: string; strict: number }>;
  return new Map(rows.map((r) => [r.name, { strict: r.strict === 1 }]));
}

/** The tables a list of migrations leaves, read from their SQL (a rebuild's temporary copy is renamed away). */
function tablesCreatedBy(migrations: readonly Migration[]): string[] {
  const sql = migrations.map((m) => m.sql).join('\n');
  const renamedAway = new Set([...sql.matchAll(/ALTER TABLE\s+["`]?(\w+)["`]?\s+RENAME TO/gi)].map((x) => x[1]!));
  return [...new Set([...sql.matchAll(/CREATE TABLE\s+(?:IF NOT EXISTS\s+)?["`]?(\w+)/gi)].map((x) => x[1]!))].filter((name) => !renamedAway.has(name));
}

/** SHA-256 of every file of a database (main, -wal, -shm, -journal): absent files hash as "absent". */
function snapshot(file: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const suffix of ['', '-wal', '-shm', '-journal']) {
    const f = file + suffix;
    out[suffix || 'db'] = fs.existsSync(f) ? crypto.createHash('sha256').update(fs.readFileSync(f)).digest('hex') : 'absent';
  }
  return out;
}

function catchAppError(fn: () => unknown): AppError {
  try {
    fn();
  } catch (error) {
    if (isAppError(error)) return error;
    throw error;
  }
  throw new Error('expected an AppError, but nothing was thrown');
}

describe('a fresh database', () => {
  it('gets every table of every migration, STRICT, and the latest user_version', () => {
    const db = openDatabase(dbFile());
    try {
      expect(userVersion(db)).toBe(SCHEMA_VERSION);
      expect(SCHEMA_VERSION).toBe(MIGRATIONS.length);
      const have = tables(db);
      const expected = tablesCreatedBy(MIGRATIONS);
      expect(expected).toEqual(expect.arrayContaining(['mailboxes', 'mailbox_secrets', 'app_settings']));
      for (const name of expected) {
        expect(have.has(name), `table ${name}`).toBe(true);
        expect(have.get(name)!.strict, `table ${name} is STRICT`).toBe(true);
      }
    } finally {
      db.close();
    }
  });

  it('numbers its migrations 1, 2, 3... with unique names', () => {
    expect(MIGRATIONS.map((m) => m.version)).toEqual(MIGRATIONS.map((_, i) => i + 1));
    for (const m of MIGRATIONS) expect(m.name).toMatch(new RegExp(`^${String(m.version).padStart(3, '0')}-[a-z0-9-]+$`));
  });

  it('runs in WAL mode with foreign keys enforced', () => {
    const db = openDatabase(dbFile());
    try {
      expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
      expect(db.pragma('foreign_keys', { simple: true })).toBe(1);
      // A secret for a mailbox that does not exist is refused by the foreign key.
      expect(() => db.prepare("INSERT INTO mailbox_secrets (mailbox_id, name, ciphertext, updated_at) VALUES (999, 'password', x'00', 0)").run()).toThrow(/FOREIGN KEY/);
    } finally {
      db.close();
    }
  });

  it('refuses values of the wrong type (STRICT), so nothing silently becomes text', () => {
    const db = openDatabase(dbFile());
    try {
      expect(() => db.prepare("INSERT INTO app_settings (key, value) VALUES ('k', x'00')").run()).toThrow(/cannot store BLOB value in TEXT column/);
    } finally {
      db.close();
    }
  });

  it.each(MIGRATIONS.map((m) => [m.name, m] as const))('migration %s applies on top of the ones before it', (_name, migration) => {
    const upTo = MIGRATIONS.filter((m) => m.version <= migration.version);
    const db = openDatabase(dbFile(), { migrations: upTo });
    try {
      expect(userVersion(db)).toBe(migration.version);
      for (const name of tablesCreatedBy([migration])) expect(tables(db).has(name), `table ${name}`).toBe(true);
    } finally {
      db.close();
    }
  });
});

describe('an upgrade', () => {
  it('applies only the missing migrations and keeps the data', () => {
    const file = dbFile();
    const v1 = openDatabase(file, { migrations: [NOTES_V1] });
    v1.prepare('INSERT INTO notes (id, body) VALUES (1, ?), (2, ?)').run('first', 'second');
    expect(userVersion(v1)).toBe(1);
    v1.close();

    const v2 = openDatabase(file, { migrations: [NOTES_V1, NOTES_V2] });
    try {
      expect(userVersion(v2)).toBe(2);
      expect(v2.prepare('SELECT id, body, created_at FROM notes ORDER BY id').all()).toEqual([
        { id: 1, body: 'first', created_at: 1700000000000 },
        { id: 2, body: 'second', created_at: 1700000000000 },
      ]);
      expect(tables(v2).has('tags')).toBe(true);
    } finally {
      v2.close();
    }
  });

  it('leaves an up-to-date database as it is when opened again', () => {
    const file = dbFile();
    openDatabase(file, { migrations: [NOTES_V1, NOTES_V2] }).close();
    // Applying NOTES_V2 twice would fail (duplicate column): opening again must not re-run it.
    const again = openDatabase(file, { migrations: [NOTES_V1, NOTES_V2] });
    try {
      expect(userVersion(again)).toBe(2);
    } finally {
      again.close();
    }
  });

  it('keeps mailboxes when the app\'s own later migrations run', () => {
    const file = dbFile();
    const first = openDatabase(file, { migrations: MIGRATIONS.slice(0, 1) });
    first
      .prepare(
        `INSERT INTO mailboxes (name, address, imap_host, imap_port, imap_security, imap_username, imap_auth, smtp_host, smtp_port, smtp_security, smtp_username, smtp_auth, created_at, updated_at)
         VALUES ('Support', 'support@example.com', 'imap.example.com', 993, 'tls', 'support@example.com', 'password', 'smtp.example.com', 587, 'starttls', 'support@example.com', 'password', 1, 1)`,
      )
      .run();
    first.close();
    const latest = openDatabase(file);
    try {
      expect(userVersion(latest)).toBe(SCHEMA_VERSION);
      expect(latest.prepare('SELECT name, address, imap_port FROM mailboxes').all()).toEqual([{ name: 'Support', address: 'support@example.com', imap_port: 993 }]);
    } finally {
      latest.close();
    }
  });
});

describe('a database from a newer Mailroom', () => {
  it('is refused with DATABASE_TOO_NEW and its files are left exactly as they were', () => {
    const file = dbFile();
    const newer = openDatabase(file, { migrations: [NOTES_V1, NOTES_V2] });
    newer.prepare("INSERT INTO notes (id, body) VALUES (1, 'written by the newer version')").run();
    newer.close();
    const before = snapshot(file);
    expect(before['-wal']).toBe('absent');

    const error = catchAppError(() => openDatabase(file, { migrations: [NOTES_V1] }));
    expect(error.code).toBe('DATABASE_TOO_NEW');
    expect(error.message).toContain('schema 2');
    expect(error.message).toContain('up to 1');
    expect(error.message).toContain('not changed');
    expect(error.hint).toMatch(/newer Mailroom|--data-dir|MAILROOM_DATA_DIR/);
    expect(snapshot(file)).toEqual(before);
  });

  it('is refused by the real app as well (user_version above SCHEMA_VERSION)', () => {
    const file = dbFile();
    const db = openDatabase(file);
    db.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
    db.close();
    const before = snapshot(file);
    expect(catchAppError(() => openDatabase(file)).code).toBe('DATABASE_TOO_NEW');
    expect(snapshot(file)).toEqual(before);
  });
});

describe('a file that is not a database', () => {
  it('is refused with DATABASE_UNREADABLE and not overwritten', () => {
    const file = dbFile();
    fs.writeFileSync(file, 'these are somebody\'s notes, not SQLite\n'.repeat(200));
    const before = snapshot(file);
    const error = catchAppError(() => openDatabase(file));
    expect(error.code).toBe('DATABASE_UNREADABLE');
    expect(error.message).toContain(file);
    expect(error.hint).toBeTruthy();
    expect(snapshot(file)).toEqual(before);
  });
});

describe('a failing migration', () => {
  const BROKEN_V2: Migration = {
    version: 2,
    name: '002-broken',
    sql: `CREATE TABLE tags (tag TEXT NOT NULL) STRICT;
          INSERT INTO tags (tag) VALUES ('half-done');
          DELETE FROM notes;
          INSERT INTO no_such_table VALUES (1);`,
  };

  it('rolls back completely: no new table, no lost rows, the old user_version', () => {
    const file = dbFile();
    const v1 = openDatabase(file, { migrations: [NOTES_V1] });
    v1.prepare("INSERT INTO notes (id, body) VALUES (1, 'keep me')").run();
    v1.close();

    const error = catchAppError(() => openDatabase(file, { migrations: [NOTES_V1, BROKEN_V2] }));
    expect(error.code).toBe('DATABASE_UPGRADE_FAILED');
    expect(error.message).toContain('002-broken');
    expect(error.message).toContain('no such table: no_such_table');
    expect(error.hint).toBeTruthy();

    const after = openDatabase(file, { migrations: [NOTES_V1] });
    try {
      expect(userVersion(after)).toBe(1);
      expect(tables(after).has('tags')).toBe(false);
      expect(after.prepare('SELECT body FROM notes').all()).toEqual([{ body: 'keep me' }]);
    } finally {
      after.close();
    }
  });

  it('keeps the migrations before it that succeeded', () => {
    const file = dbFile();
    expect(catchAppError(() => openDatabase(file, { migrations: [NOTES_V1, BROKEN_V2] })).code).toBe('DATABASE_UPGRADE_FAILED');
    const after = openDatabase(file, { migrations: [NOTES_V1] });
    try {
      expect(userVersion(after)).toBe(1);
      expect([...tables(after).keys()]).toEqual(['notes']);
    } finally {
      after.close();
    }
  });
});

describe('migration 008-outbox-wait-sign-in (a table rebuild for a new status)', () => {
  const before008 = MIGRATIONS.filter((m) => m.version < 8);
  const m008 = MIGRATIONS.find((m) => m.name === '008-outbox-wait-sign-in')!;

  /** A store just before 008 with two messages (one deferred for a sign-in) and their bodies, recipients, history and tries. */
  function storeBefore008(): string {
    const file = dbFile();
    const db = openDatabase(file, { migrations: before008 });
    db.prepare(
      `INSERT INTO mailboxes (id, name, address, imap_host, imap_port, imap_security, imap_username, imap_auth, smtp_host, smtp_port, smtp_security, smtp_username, smtp_auth, created_at, updated_at)
       VALUES (1, 'Support', 'support@contoso.test', 'outlook.office365.com', 993, 'tls', 'support@contoso.test', 'oauth2', 'smtp.office365.com', 587, 'starttls', 'support@contoso.test', 'oauth2', 1, 1)`,
    ).run();
    const insert = db.prepare(
      `INSERT INTO outbox_messages (id, mailbox_id, status, source, message_id, envelope_from, subject, recipients_preview, recipient_count, size, attempts, max_attempts,
         next_attempt_at, created_at, updated_at, last_error_code, last_error_message)
       VALUES (?, 1, ?, 'cli', ?, 'support@contoso.test', ?, 'a@example.net', 1, 10, ?, 8, ?, 1, 1, ?, ?)`,
    );
    insert.run(1, 'deferred', 'm1@x', 'Waits for a sign-in', 3, 5_000_000, 'OAUTH_SIGN_IN_REQUIRED', 'Microsoft no longer accepts the stored sign-in.');
    insert.run(2, 'deferred', 'm2@x', 'Server busy', 1, 6_000_000, 'SERVER_TEMPORARY', '451 busy');
    insert.run(3, 'sent', 'm3@x', 'Sent', 1, null, null, null);
    for (const id of [1, 2, 3]) {
      db.prepare('INSERT INTO outbox_bodies (outbox_id, raw) VALUES (?, ?)').run(id, Buffer.from(`body ${id}`));
      db.prepare("INSERT INTO outbox_recipients (outbox_id, position, address) VALUES (?, 0, 'a@example.net')").run(id);
      db.prepare("INSERT INTO outbox_history (outbox_id, at, status, note) VALUES (?, 1, 'queued', 'queued')").run(id);
      db.prepare("INSERT INTO outbox_attempts (outbox_id, number, started_at, finished_at, outcome) VALUES (?, 1, 1, 2, 'deferred')").run(id);
    }
    db.close();
    return file;
  }

  const indexes = (db: Db) => db.prepare("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'outbox_messages' AND sql IS NOT NULL ORDER BY name").all();

  it('keeps every message with its body, recipients, history and tries, and the same indexes', () => {
    const file = storeBefore008();
    const old = openDatabase(file, { migrations: before008 });
    const indexesBefore = indexes(old);
    const rowsBefore = old.prepare('SELECT id, subject, attempts FROM outbox_messages ORDER BY id').all();
    old.close();

    const db = openDatabase(file, { migrations: [...before008, m008] });
    try {
      expect(userVersion(db)).toBe(8);
      expect(db.prepare('SELECT id, subject, attempts FROM outbox_messages ORDER BY id').all()).toEqual(rowsBefore);
      for (const table of ['outbox_bodies', 'outbox_recipients', 'outbox_attempts']) expect(db.prepare(`SELECT COUNT(*) FROM ${table}`).pluck().get(), table).toBe(3);
      expect(db.prepare('SELECT raw FROM outbox_bodies WHERE outbox_id = 2').pluck().get()).toEqual(Buffer.from('body 2'));
      expect(indexes(db)).toEqual(indexesBefore);
      expect(db.pragma('foreign_key_check')).toEqual([]);
      expect(db.pragma('foreign_keys', { simple: true })).toBe(1);
      // The children still point at the rebuilt table: deleting a message still deletes its body.
      db.prepare('DELETE FROM outbox_messages WHERE id = 3').run();
      expect(db.prepare('SELECT COUNT(*) FROM outbox_bodies WHERE outbox_id = 3').pluck().get()).toBe(0);
      expect((db.prepare("SELECT sql FROM sqlite_master WHERE name = 'outbox_bodies'").pluck().get() as string)).toMatch(/REFERENCES outbox_messages\(id\)/);
    } finally {
      db.close();
    }
  });

  it('accepts the new status, and moves what waited only for a sign-in into it with its tries kept', () => {
    const db = openDatabase(storeBefore008(), { migrations: [...before008, m008] });
    try {
      expect(db.prepare('SELECT id, status, attempts, next_attempt_at FROM outbox_messages ORDER BY id').all()).toEqual([
        { id: 1, status: 'waiting-sign-in', attempts: 3, next_attempt_at: null },
        { id: 2, status: 'deferred', attempts: 1, next_attempt_at: 6_000_000 },
        { id: 3, status: 'sent', attempts: 1, next_attempt_at: null },
      ]);
      expect(db.prepare('SELECT status, note FROM outbox_history WHERE outbox_id = 1 ORDER BY id DESC LIMIT 1').get()).toEqual({
        status: 'waiting-sign-in',
        note: 'waiting for a Microsoft sign-in (was deferred for OAUTH_SIGN_IN_REQUIRED)',
      });
      db.prepare("UPDATE outbox_messages SET status = 'waiting-sign-in' WHERE id = 2").run();
      expect(() => db.prepare("UPDATE outbox_messages SET status = 'lost' WHERE id = 2").run()).toThrow(/CHECK constraint/);
    } finally {
      db.close();
    }
  });

  it('runs with foreign keys off and checks them before its commit: a migration that leaves a dangling row rolls back', () => {
    const file = dbFile();
    openDatabase(file, { migrations: [NOTES_V1] }).close();
    const DANGLING: Migration = {
      version: 2,
      name: '002-dangling',
      sql: 'CREATE TABLE tags (note_id INTEGER NOT NULL REFERENCES notes(id), tag TEXT NOT NULL) STRICT; INSERT INTO tags VALUES (42, \'orphan\');',
    };
    const error = catchAppError(() => openDatabase(file, { migrations: [NOTES_V1, DANGLING] }));
    expect(error.code).toBe('DATABASE_UPGRADE_FAILED');
    expect(error.message).toContain('pointing at rows that do not exist');
    const after = openDatabase(file, { migrations: [NOTES_V1] });
    try {
      expect(userVersion(after)).toBe(1);
      expect(tables(after).has('tags')).toBe(false);
      expect(after.pragma('foreign_keys', { simple: true })).toBe(1);
    } finally {
      after.close();
    }
  });
});
