/**
 * Migration 015 (POP3 UIDLs): an earlier data folder gains the table with
 * its mailboxes and messages intact; a UIDL is recorded once per mailbox
 * (a second process that took the same message stores nothing), the same
 * UIDL may exist in two mailboxes, and a deleted mailbox takes its UIDLs
 * with it. The repository finds which UIDLs of a listing are known.
 */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { openDatabase } from '../../src-main/store/db';
import { MIGRATIONS } from '../../src-main/store/migrations/index';
import { Pop3Repo } from '../../src-main/store/pop3-repo';
import { tempDir } from '../helpers/temp';

const before015 = MIGRATIONS.filter((m) => m.version < 15);

function addMailbox(db: ReturnType<typeof openDatabase>, name: string): number {
  const cols = (db.prepare('PRAGMA table_info(mailboxes)').all() as { name: string; notnull: number; dflt_value: unknown }[]).filter((c) => c.notnull && c.dflt_value === null && c.name !== 'id');
  const values: Record<string, unknown> = {};
  for (const c of cols) values[c.name] = /port|_at$/.test(c.name) ? 1 : c.name === 'name' ? name : c.name === 'address' ? `${name}@example.test` : /security/.test(c.name) ? 'none' : /auth/.test(c.name) ? 'password' : c.name === 'preset' ? 'generic' : 'x';
  const names = Object.keys(values);
  return Number(db.prepare(`INSERT INTO mailboxes (${names.join(', ')}) VALUES (${names.map((n) => `@${n}`).join(', ')})`).run(values).lastInsertRowid);
}

describe('migration 015: POP3 UIDLs', () => {
  it('upgrades an earlier data folder, keeping its mailboxes, and records each UIDL once per mailbox', () => {
    const file = path.join(tempDir(), 'mailroom.db');
    const old = openDatabase(file, { migrations: before015 });
    const a = addMailbox(old, 'a');
    const b = addMailbox(old, 'b');
    old.close();

    const db = openDatabase(file);
    try {
      expect(db.prepare('SELECT COUNT(*) FROM mailboxes').pluck().get()).toBe(2);
      const repo = new Pop3Repo(db);
      const first = repo.insert(a, '000000016b10d3a7', 1);
      expect(() => repo.insert(a, '000000016b10d3a7', 2)).toThrow(/UNIQUE/);
      const other = repo.insert(b, '000000016b10d3a7', 3);
      expect(other).not.toBe(first);
      repo.insert(a, 'UID2-1700000000', 4);
      expect([...repo.knownUidls(a, ['000000016b10d3a7', 'UID2-1700000000', 'never-seen'])].sort()).toEqual(['000000016b10d3a7', 'UID2-1700000000']);
      expect(repo.knownUidls(a, [])).toEqual(new Set());
      expect(() => repo.insert(a, '', 5)).toThrow(/CHECK/);

      db.prepare('DELETE FROM mailboxes WHERE id = ?').run(a);
      expect(repo.count(a)).toBe(0);
      expect(repo.count(b)).toBe(1);
    } finally {
      db.close();
    }
  });
});
