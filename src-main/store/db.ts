/**
 * Opens the SQLite store: WAL, foreign keys, numbered migrations applied in
 * one transaction each. A database written by a newer Mailroom is refused and
 * left untouched.
 */
import Database from 'better-sqlite3';
import fs from 'node:fs';
import path from 'node:path';
import { AppError } from '../shared/errors.js';
import { MIGRATIONS, type Migration } from './migrations/index.js';
import { registerContentFunctions } from './inbox-content.js';
import { nativeModuleError } from './native-module.js';

export type Db = Database.Database;

export interface OpenOptions {
  /** Path of the native better_sqlite3.node to load (Electron's ABI build in the desktop app). */
  nativeBinding?: string;
  /** Migrations to apply; defaults to the app's own. Tests pass their own lists. */
  migrations?: readonly Migration[];
  readonly?: boolean;
}

/** The schema version this build writes. */
export const SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1]!.version;

/** Opens (creating if needed) the database file and brings its schema up to date. */
export function openDatabase(file: string, options: OpenOptions = {}): Db {
  const migrations = options.migrations ?? MIGRATIONS;
  if (file !== ':memory:') fs.mkdirSync(path.dirname(file), { recursive: true });
  let db: Db;
  try {
    db = new Database(file, {
      ...(options.nativeBinding ? { nativeBinding: options.nativeBinding } : {}),
      ...(options.readonly ? { readonly: true, fileMustExist: true } : {}),
      timeout: 5000,
    });
  } catch (error) {
    // A native module built for another runtime (Node vs Electron) is not a data folder problem.
    const native = nativeModuleError(error, 'better-sqlite3');
    if (native) throw native;
    throw new AppError('DATABASE_UNREADABLE', `Cannot open the database ${file}: ${(error as Error).message}`, {
      hint: 'Check that the data folder is writable and not locked by another program (antivirus, backup or sync tools).',
      cause: error,
    });
  }
  try {
    // Check the version before changing anything, so a newer file is never altered.
    const current = db.pragma('user_version', { simple: true }) as number;
    const latest = migrations.length ? migrations[migrations.length - 1]!.version : 0;
    if (current > latest) {
      throw new AppError(
        'DATABASE_TOO_NEW',
        `The database ${file} was written by a newer Mailroom (schema ${current}; this version understands up to ${latest}). It was not changed.`,
        { hint: 'Install the newer Mailroom again, or point --data-dir / MAILROOM_DATA_DIR at another folder.' },
      );
    }
    if (!options.readonly) {
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = NORMAL');
    }
    db.pragma('foreign_keys = ON');
    // Migrations key stored messages by their bytes (007) with these.
    registerContentFunctions(db);
    if (!options.readonly) applyMigrations(db, file, migrations, current);
    return db;
  } catch (error) {
    db.close();
    if (error instanceof AppError) throw error;
    throw new AppError('DATABASE_UNREADABLE', `Cannot read the database ${file}: ${(error as Error).message}`, {
      hint: 'The file may be damaged or not a Mailroom database. Restore it from a backup or use another data folder.',
      cause: error,
    });
  }
}

/**
 * Applies the missing migrations, each in one transaction. Foreign keys are
 * off while they run (SQLite's documented way to rebuild a table: dropping
 * the old copy must not cascade to the rows that point at it) and checked
 * before each commit, so a migration that would leave a dangling reference
 * rolls back instead.
 */
function applyMigrations(db: Db, file: string, migrations: readonly Migration[], current: number): void {
  if (!migrations.some((m) => m.version > current)) return;
  const enforced = db.pragma('foreign_keys', { simple: true }) === 1;
  // Outside any transaction: inside one this pragma does nothing.
  db.pragma('foreign_keys = OFF');
  try {
    applyEach(db, file, migrations, current);
  } finally {
    if (enforced) db.pragma('foreign_keys = ON');
  }
}

function applyEach(db: Db, file: string, migrations: readonly Migration[], current: number): void {
  let reached = current;
  for (const migration of migrations) {
    if (migration.version <= current) continue;
    const apply = db.transaction(() => {
      // Another process opening the same new folder may have applied it since `current` was read:
      // under the write lock, the version read now is the truth.
      if ((db.pragma('user_version', { simple: true }) as number) >= migration.version) return;
      db.exec(migration.sql);
      const dangling = db.pragma('foreign_key_check') as { table: string; rowid: number; parent: string }[];
      if (dangling.length) {
        const first = dangling[0]!;
        throw new Error(`it would leave ${dangling.length} row(s) pointing at rows that do not exist (first: ${first.table} row ${first.rowid} -> ${first.parent})`);
      }
      db.pragma(`user_version = ${migration.version}`);
    });
    try {
      apply.immediate();
    } catch (error) {
      // The transaction rolled back: the file is still a consistent database at `reached`.
      throw new AppError(
        'DATABASE_UPGRADE_FAILED',
        `Cannot upgrade the database ${file} with migration ${migration.name}: ${(error as Error).message}. It was left at schema ${reached}, unchanged by this step.`,
        {
          hint: /locked|busy/i.test((error as Error).message)
            ? 'Another program holds the database: close other Mailroom windows or consoles (and backup or sync tools on the data folder), then start again.'
            : 'Keep a copy of the data folder and report this error; meanwhile run the previous Mailroom version, or point --data-dir / MAILROOM_DATA_DIR at another folder.',
          cause: error,
        },
      );
    }
    reached = migration.version;
  }
}

/** The current time in ms UTC: every timestamp in the store uses this. */
export function now(): number {
  return Date.now();
}
