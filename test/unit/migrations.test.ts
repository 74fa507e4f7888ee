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
import { contentKey, rawDigest } from '../../src-main/store/inbox-content';
import { InboxRepo } from '../../src-main/store/inbox-repo';
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

/** The tables a list of migrations leaves, read from their SQL: created, minus those a later one drops or renames away (a rebuild's temporary copy). */
function tablesCreatedBy(migrations: readonly Migration[]): string[] {
  const tables = new Set<string>();
  for (const m of migrations) {
    for (const x of m.sql.matchAll(/(CREATE|DROP) TABLE\s+(?:IF (?:NOT )?EXISTS\s+)?["`]?(\w+)|ALTER TABLE\s+["`]?(\w+)["`]?\s+RENAME TO\s+["`]?(\w+)/gi)) {
      if (x[3]) {
        tables.delete(x[3]);
        tables.add(x[4]!);
      } else if (x[1]!.toUpperCase() === 'CREATE') tables.add(x[2]!);
      else tables.delete(x[2]!);
    }
  }
  return [...tables];
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
      expect(SCHEMA_VERSION).toBe(MIGRATIONS[MIGRATIONS.length - 1]!.version);
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

  it('numbers its migrations 1, 2, 3... in order, with unique names', () => {
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

describe('007-inbox-identity on a data folder of the previous version', () => {
  const MAILBOX = `INSERT INTO mailboxes (id, name, address, imap_host, imap_port, imap_security, imap_username, imap_auth, smtp_host, smtp_port, smtp_security, smtp_username, smtp_auth, created_at, updated_at)
    VALUES (?, ?, 'support@example.com', 'imap.example.com', 993, 'tls', 'support@example.com', 'password', 'smtp.example.com', 587, 'starttls', 'support@example.com', 'password', 1, 1)`;
  const MESSAGE = `INSERT INTO inbox_messages (id, mailbox_id, mailbox_name, folder, uid_validity, uid, status, message_id, dedupe_key, duplicate_of, imported_at, size, action, action_state, handoff_state)
    VALUES (@id, @mailboxId, 'Support', 'INBOX', @uidValidity, @uid, @status, @messageId, @dedupeKey, @duplicateOf, 1, @size, @action, @actionState, @handoffState)`;
  const body = (id: string | null, text: string, trace = '') =>
    Buffer.from(`${trace}From: a@example.com\r\nSubject: ${text}\r\n${id ? `Message-ID: <${id}>\r\n` : ''}\r\n${text}\r\n`, 'latin1');

  /** A schema-6 database as the previous version left it, with every kind of inbox row. */
  function previousVersion(file: string) {
    const v6 = openDatabase(file, { migrations: MIGRATIONS.slice(0, 6) });
    expect(userVersion(v6)).toBe(6);
    v6.prepare(MAILBOX).run(1, 'Support');
    v6.prepare(MAILBOX).run(2, 'Sales');
    v6.prepare("INSERT INTO inbox_folders (mailbox_id, folder, uid_validity, last_uid, updated_at) VALUES (1, 'INBOX', 7, 40, 1)").run();
    const raw = {
      first: body('sameid-del@ext.test', 'first'),
      plain: body('plain@x', 'plain', 'Received: by mx\r\n'),
      noIdA: body(null, 'no id', 'Received: by mx1\r\n'),
      noIdB: body(null, 'no id', 'Received: by mx2\r\n'),
      failed: Buffer.from('\x00\x01 not mail', 'latin1'),
      sales: body('sameid-del@ext.test', 'first'),
    };
    const insert = v6.prepare(MESSAGE);
    const rawInsert = v6.prepare('INSERT INTO inbox_raw (message_id, raw) VALUES (?, ?)');
    const row = (o: Record<string, unknown>) => ({ mailboxId: 1, uidValidity: 7, messageId: null, duplicateOf: null, dedupeKey: null, size: 10, action: 'delete', actionState: 'done', handoffState: 'none', ...o });
    v6.transaction(() => {
      insert.run(row({ id: 3, uid: 10, status: 'imported', messageId: 'sameid-del@ext.test', dedupeKey: 'mid:sameid-del@ext.test' }));
      rawInsert.run(3, raw.first);
      insert.run(row({ id: 4, uid: 11, status: 'imported', messageId: 'plain@x', dedupeKey: 'mid:plain@x', handoffState: 'written' }));
      rawInsert.run(4, raw.plain);
      // The bug: another message with the same Message-ID, recorded as a duplicate without its bytes, deleted on the server.
      insert.run(row({ id: 5, uid: 12, status: 'duplicate', messageId: 'sameid-del@ext.test', duplicateOf: 3 }));
      // Two re-deliveries of a message without a Message-ID (keyed by exact bytes then): both imported.
      insert.run(row({ id: 6, uid: 13, status: 'imported', dedupeKey: `sha256:${rawDigest(raw.noIdA)}` }));
      rawInsert.run(6, raw.noIdA);
      insert.run(row({ id: 7, uid: 14, status: 'imported', dedupeKey: `sha256:${rawDigest(raw.noIdB)}`, handoffState: 'pending', actionState: 'pending' }));
      rawInsert.run(7, raw.noIdB);
      insert.run(row({ id: 8, uid: 15, status: 'failed', dedupeKey: `sha256:${rawDigest(raw.failed)}` }));
      rawInsert.run(8, raw.failed);
      // Duplicates whose action had not run yet (a crash, or a refused move): still untouched on the server.
      insert.run(row({ id: 9, uid: 20, status: 'duplicate', messageId: 'sameid-del@ext.test', duplicateOf: 3, actionState: 'pending' }));
      insert.run(row({ id: 10, uid: 30, status: 'duplicate', messageId: 'plain@x', duplicateOf: 4, action: 'move:Gone', actionState: 'failed' }));
      // One under an older numbering of the folder: its UID means nothing now.
      insert.run(row({ id: 11, uid: 2, uidValidity: 6, status: 'duplicate', messageId: 'plain@x', duplicateOf: 4, actionState: 'pending' }));
      // The same bytes in another mailbox: stored again there.
      insert.run(row({ id: 12, mailboxId: 2, uid: 1, status: 'imported', messageId: 'sameid-del@ext.test', dedupeKey: 'mid:sameid-del@ext.test' }));
      rawInsert.run(12, raw.sales);
    })();
    v6.close();
    return raw;
  }

  it('keeps every stored message\'s id and bytes, content-addressed, and keys each by its content', () => {
    const file = dbFile();
    const raw = previousVersion(file);
    const db = openDatabase(file);
    try {
      expect(userVersion(db)).toBe(SCHEMA_VERSION);
      expect(tables(db).has('inbox_raw')).toBe(false);
      expect(tables(db).get('inbox_blobs')).toEqual({ strict: true });
      const repo = new InboxRepo(db);
      for (const [id, bytes] of [[3, raw.first], [4, raw.plain], [6, raw.noIdA], [7, raw.noIdB], [8, raw.failed], [12, raw.sales]] as const) {
        expect(repo.raw(id), `message ${id}`).toEqual(bytes);
        expect(repo.get(id)).toMatchObject({ id, rawKept: true, contentKey: contentKey(bytes) });
      }
      // The same bytes in two mailboxes are stored once.
      expect(db.prepare('SELECT COUNT(*) FROM inbox_blobs').pluck().get()).toBe(5);
      expect(repo.get(3)).toMatchObject({ status: 'imported', sharesMessageIdWith: null });
      expect(repo.get(4)).toMatchObject({ status: 'imported', handoffState: 'written' });
      // The two re-deliveries without a Message-ID are one message: the later one is its duplicate, with its own bytes.
      expect(repo.get(6)).toMatchObject({ status: 'imported' });
      expect(repo.get(7)).toMatchObject({ status: 'duplicate', duplicateOf: 6, handoffState: 'none', rawKept: true });
      expect(repo.get(8)).toMatchObject({ status: 'failed', rawKept: true });
    } finally {
      db.close();
    }
  });

  it('never runs an action on an old duplicate without bytes: done ones stay as records, pending ones are downloaded again', () => {
    const file = dbFile();
    previousVersion(file);
    const db = openDatabase(file);
    try {
      const repo = new InboxRepo(db);
      // Its action already ran under the old version: kept as a record, with no bytes to show.
      expect(repo.get(5)).toMatchObject({ status: 'duplicate', duplicateOf: 3, rawKept: false, contentKey: null, actionState: 'done' });
      expect(repo.raw(5)).toBeUndefined();
      // Not run yet: forgotten, and the folder mark moves back below them so the next poll fetches them again.
      expect(repo.get(9)).toBeUndefined();
      expect(repo.get(10)).toBeUndefined();
      expect(repo.folder(1, 'INBOX')).toMatchObject({ uidValidity: 7, lastUid: 19 });
      // Under an older numbering: cannot be found again by UID; skipped, never run.
      expect(repo.get(11)).toMatchObject({ actionState: 'skipped', actionError: expect.stringContaining('not run') });
      expect(repo.pendingActions(1, 'INBOX', 7).map((p) => p.id)).toEqual([7]);
      expect(repo.pendingActions(1, 'INBOX', 6)).toEqual([]);
    } finally {
      db.close();
    }
  });

  it('enforces one stored message per mailbox and content, and lets a reused Message-ID in', () => {
    const file = dbFile();
    const raw = previousVersion(file);
    const db = openDatabase(file);
    try {
      const repo = new InboxRepo(db);
      const base = {
        mailboxId: 1, folder: 'INBOX', uidValidity: 7, messageId: 'sameid-del@ext.test', duplicateOf: null, sharesMessageIdWith: null, from: null, to: null, cc: null,
        subject: null, sentAt: null, receivedAt: null, importedAt: 2, size: 1, attachments: [], warnings: [], snippet: '', errorCode: null, error: null,
        action: 'delete', actionState: 'pending' as const, handoffState: 'none' as const, pollId: null,
      };
      expect(() => repo.insertMessage({ ...base, uid: 50, status: 'imported', contentKey: contentKey(raw.first) }, raw.first)).toThrow(/UNIQUE/);
      const other = body('sameid-del@ext.test', 'second');
      const id = repo.insertMessage({ ...base, uid: 51, status: 'imported', contentKey: contentKey(other), sharesMessageIdWith: 3 }, other);
      expect(repo.sameMessageIdAs(repo.get(3)!)).toEqual([id]);
      expect(repo.raw(id)).toEqual(other);
      expect(() => db.prepare("INSERT INTO inbox_blobs (sha256, raw) VALUES ('short', x'00')").run()).toThrow(/CHECK/);
    } finally {
      db.close();
    }
  });

  it('rolls back whole when it fails half-way: schema 6, inbox_raw and every row as they were', () => {
    const file = dbFile();
    previousVersion(file);
    const broken: Migration = { ...MIGRATIONS[6]!, sql: `${MIGRATIONS[6]!.sql}\nINSERT INTO no_such_table VALUES (1);` };
    expect(catchAppError(() => openDatabase(file, { migrations: [...MIGRATIONS.slice(0, 6), broken] })).code).toBe('DATABASE_UPGRADE_FAILED');
    const v6 = openDatabase(file, { migrations: MIGRATIONS.slice(0, 6) });
    try {
      expect(userVersion(v6)).toBe(6);
      expect(tables(v6).has('inbox_blobs')).toBe(false);
      expect(v6.prepare('SELECT COUNT(*) FROM inbox_raw').pluck().get()).toBe(6);
      expect(v6.prepare('SELECT COUNT(*) FROM inbox_messages').pluck().get()).toBe(10);
    } finally {
      v6.close();
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

describe('009-relay-from', () => {
  it('gives every relay account a From choice (existing ones keep the From) and removes user names an older Mailroom logged', () => {
    const file = dbFile();
    const before = MIGRATIONS.filter((m) => m.version < 9);
    const old = openDatabase(file, { migrations: before });
    old
      .prepare(
        `INSERT INTO mailboxes (id, name, address, imap_host, imap_port, imap_security, imap_username, imap_auth, smtp_host, smtp_port, smtp_security, smtp_username, smtp_auth, created_at, updated_at)
         VALUES (1, 'Support', 'support@example.test', 'imap.example.test', 993, 'tls', 'u', 'password', 'smtp.example.test', 587, 'starttls', 'u', 'password', 0, 0)`,
      )
      .run();
    old.prepare("INSERT INTO relay_accounts (username, mailbox_id, password_hash, created_at, updated_at) VALUES ('scanner', 1, 'scrypt$x', 0, 0)").run();
    const insertLog = old.prepare("INSERT INTO log_entries (at, direction, level, code, message, detail) VALUES (0, 'send', 'warning', ?, ?, NULL)");
    insertLog.run('RELAY_AUTH_FAILED', 'Relay sign-in refused for "Sup3r-Secret-Pa55" from 127.0.0.1');
    insertLog.run('RELAY_SENDER_UNKNOWN', 'Relay refused sender app@example.test: no mailbox has this address');
    old.close();
    const db = openDatabase(file, { migrations: MIGRATIONS.filter((m) => m.version <= 9) });
    try {
      expect(db.prepare('SELECT username, from_mode FROM relay_accounts').all()).toEqual([{ username: 'scanner', from_mode: 'keep' }]);
      expect(() => db.prepare("UPDATE relay_accounts SET from_mode = 'other'").run()).toThrow(/CHECK constraint/);
      const messages = (db.prepare('SELECT message FROM log_entries ORDER BY id').all() as { message: string }[]).map((r) => r.message);
      expect(messages[0]).toMatch(/^Relay sign-in refused \(the user name an older Mailroom logged here was removed/);
      expect(messages[1]).toBe('Relay refused sender app@example.test: no mailbox has this address');
      expect(JSON.stringify(db.prepare('SELECT * FROM log_entries').all())).not.toContain('Sup3r-Secret-Pa55');
    } finally {
      db.close();
    }
  });
});

describe('011-log-repeats', () => {
  it('keeps every log entry as one that happened once, and refuses a count below 1', () => {
    const file = dbFile();
    const old = openDatabase(file, { migrations: MIGRATIONS.filter((m) => m.version < 11) });
    const insertLog = old.prepare("INSERT INTO log_entries (at, direction, level, code, message) VALUES (?, 'receive', 'error', 'AUTH_FAILED', 'Poll failed')");
    for (const at of [1000, 2000, 3000]) insertLog.run(at);
    old.close();
    const db = openDatabase(file, { migrations: MIGRATIONS.filter((m) => m.version <= 11) });
    try {
      expect(db.prepare('SELECT at, repeat_count, first_at FROM log_entries ORDER BY id').all()).toEqual([
        { at: 1000, repeat_count: 1, first_at: null },
        { at: 2000, repeat_count: 1, first_at: null },
        { at: 3000, repeat_count: 1, first_at: null },
      ]);
      expect(() => db.prepare('UPDATE log_entries SET repeat_count = 0').run()).toThrow(/CHECK constraint/);
    } finally {
      db.close();
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

describe('010-app-only', () => {
  it('keeps every mailbox and its sign-in as it was (no app-only flag set), and stores app-only as oauth2 plus the flag', async () => {
    const { MailboxRepo } = await import('../../src-main/store/mailbox-repo');
    const file = dbFile();
    const old = openDatabase(file, { migrations: MIGRATIONS.filter((m) => m.version < 10) });
    old
      .prepare(
        `INSERT INTO mailboxes (id, name, address, imap_host, imap_port, imap_security, imap_username, imap_auth, smtp_host, smtp_port, smtp_security, smtp_username, smtp_auth, created_at, updated_at)
         VALUES (1, 'Support', 'support@example.test', 'outlook.office365.com', 993, 'tls', 'u', 'oauth2', 'smtp.office365.com', 587, 'starttls', 'u', 'oauth2', 0, 0)`,
      )
      .run();
    old.close();
    const db = openDatabase(file, { migrations: MIGRATIONS.filter((m) => m.version <= 10) });
    try {
      const repo = new MailboxRepo(db);
      expect(repo.get(1)).toMatchObject({ imap: { auth: 'oauth2' }, smtp: { auth: 'oauth2' } });
      db.prepare('UPDATE mailboxes SET imap_app_only = 1, smtp_app_only = 1 WHERE id = 1').run();
      expect(repo.get(1)).toMatchObject({ imap: { auth: 'oauth2-app' }, smtp: { auth: 'oauth2-app' } });
      expect(() => db.prepare('UPDATE mailboxes SET imap_app_only = 2').run()).toThrow(/CHECK constraint/);
      expect(tables(db).get('oauth_app_settings')).toEqual({ strict: true });
      expect(() => db.prepare("INSERT INTO oauth_app_settings (id, tenant, client_id, authority_host, credential, credential_sealed, updated_at) VALUES (2, 't', 'c', 'h', 'secret', x'00', 0)").run()).toThrow(/CHECK constraint/);
    } finally {
      db.close();
    }
  });
});

describe('017-pop3-tests on a data folder of the previous version', () => {
  it('keeps every stored connection test (ids, mailbox, result) and its index, and accepts POP3 results from then on', () => {
    const file = dbFile();
    const before = MIGRATIONS.filter((m) => m.version < 17);
    const old = openDatabase(file, { migrations: before });
    old
      .prepare(
        `INSERT INTO mailboxes (id, name, address, imap_host, imap_port, imap_security, imap_username, imap_auth, smtp_host, smtp_port, smtp_security, smtp_username, smtp_auth, created_at, updated_at)
         VALUES (1, 'Support', 'support@example.com', 'imap.example.com', 993, 'tls', 'support@example.com', 'password', 'smtp.example.com', 587, 'starttls', 'support@example.com', 'password', 1, 1)`,
      )
      .run();
    const insert = old.prepare(
      `INSERT INTO connection_tests (id, run_id, mailbox_id, protocol, host, port, security, ok, cancelled, diagnosis_code, started_at, duration_ms, result_json)
       VALUES (?, ?, ?, ?, 'mail.example.com', ?, 'tls', ?, 0, ?, ?, 10, ?)`,
    );
    insert.run(5, 'run-a', 1, 'imap', 993, 1, null, 100, '{"ok":true}');
    insert.run(9, 'run-b', null, 'smtp', 465, 0, 'AUTH_FAILED', 200, '{"ok":false}');
    // Before 017 the table refuses POP3.
    expect(() => insert.run(10, 'run-c', 1, 'pop3', 995, 1, null, 300, '{}')).toThrow(/CHECK constraint/);
    const rowsBefore = old.prepare('SELECT * FROM connection_tests ORDER BY id').all();
    old.close();

    const latest = openDatabase(file);
    try {
      expect(latest.prepare('SELECT * FROM connection_tests ORDER BY id').all()).toEqual(rowsBefore);
      latest.prepare(
        `INSERT INTO connection_tests (run_id, mailbox_id, protocol, host, port, security, ok, cancelled, diagnosis_code, started_at, duration_ms, result_json)
         VALUES ('run-c', 1, 'pop3', 'pop.example.com', 995, 'tls', 1, 0, NULL, 300, 10, '{}')`,
      ).run();
      expect(() => latest.prepare(`INSERT INTO connection_tests (run_id, protocol, host, port, security, ok, started_at, duration_ms, result_json) VALUES ('x', 'ftp', 'h', 1, 'tls', 1, 1, 1, '{}')`).run()).toThrow(/CHECK constraint/);
      expect(latest.prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'connection_tests'").all()).toEqual([{ name: 'connection_tests_by_mailbox' }]);
      // Deleting the mailbox still removes its results (the foreign key survived the rebuild).
      latest.prepare('DELETE FROM mailboxes WHERE id = 1').run();
      expect(latest.prepare('SELECT id FROM connection_tests ORDER BY id').all()).toEqual([{ id: 9 }]);
    } finally {
      latest.close();
    }
  });
});
