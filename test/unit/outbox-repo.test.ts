/**
 * The outbox tables: migration 006 on a fresh and on an upgraded store,
 * keyset pages that neither skip nor repeat a row in any order, filters,
 * counts, claims that never take a row twice, crash recovery, and pages
 * served from indexes at 30,000 rows.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import path from 'node:path';
import { openDatabase, type Db } from '../../src-main/store/db';
import { MIGRATIONS } from '../../src-main/store/migrations/index';
import { OutboxRepo } from '../../src-main/store/outbox-repo';
import { tempDir } from '../helpers/temp';

let db: Db;
let repo: OutboxRepo;
const T0 = Date.UTC(2026, 0, 1);

function mailbox(name: string): number {
  return Number(
    db
      .prepare(
        `INSERT INTO mailboxes (name, address, imap_host, imap_port, imap_security, imap_username, imap_auth, smtp_host, smtp_port, smtp_security, smtp_username, smtp_auth, created_at, updated_at)
         VALUES (?, ?, 'h', 993, 'tls', 'u', 'password', 'h', 587, 'starttls', 'u', 'password', 0, 0)`,
      )
      .run(name, `${name.toLowerCase()}@example.test`).lastInsertRowid,
  );
}

function queue(mailboxId: number, n: number, at = T0, subject = (i: number) => `Subject ${i}`): number[] {
  return repo.transaction(() =>
    Array.from({ length: n }, (_, i) =>
      repo.insert({ mailboxId, source: 'eml', messageId: `m${mailboxId}-${i}-${at}@example.test`, envelopeFrom: 'x@example.test', subject: subject(i), recipients: [`r${i}@example.net`], raw: Buffer.from('To: r@example.net\r\n\r\nb'), maxAttempts: 8, submittedBy: null }, at + i, 'queued'),
    ),
  );
}

beforeEach(() => {
  db = openDatabase(path.join(tempDir(), 'm.db'));
  repo = new OutboxRepo(db);
});
afterEach(() => db.close());

describe('migration 006-outbox', () => {
  it('is listed after the inbox and creates the tables STRICT', () => {
    const names = MIGRATIONS.map((m) => m.name);
    expect(names.indexOf('006-outbox')).toBe(names.indexOf('005-inbox') + 1);
    for (const table of ['outbox_messages', 'outbox_bodies', 'outbox_recipients', 'outbox_history', 'outbox_attempts', 'outbox_settings', 'relay_settings', 'relay_accounts', 'engine_lease']) {
      const sql = (db.prepare("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?").get(table) as { sql: string } | undefined)?.sql;
      expect(sql, table).toMatch(/STRICT$/);
    }
  });

  it('upgrades a store at schema 5 without touching its rows', () => {
    const file = path.join(tempDir(), 'old.db');
    const old = openDatabase(file, { migrations: MIGRATIONS.filter((m) => m.version <= 5) });
    old.prepare("INSERT INTO app_settings (key, value) VALUES ('k', 'v')").run();
    old.close();
    const upgraded = openDatabase(file, { migrations: MIGRATIONS.filter((m) => m.version <= 6) });
    expect(upgraded.pragma('user_version', { simple: true })).toBe(6);
    expect(upgraded.prepare('SELECT value FROM app_settings WHERE key = ?').pluck().get('k')).toBe('v');
    upgraded.close();
  });

  it('deletes a mailbox\'s messages, bodies and history with the mailbox', () => {
    const id = mailbox('Support');
    queue(id, 3);
    db.prepare('DELETE FROM mailboxes WHERE id = ?').run(id);
    for (const table of ['outbox_messages', 'outbox_bodies', 'outbox_recipients', 'outbox_history']) expect(db.prepare(`SELECT COUNT(*) FROM ${table}`).pluck().get()).toBe(0);
  });
});

describe('outbox repo', () => {
  it('pages by keyset in every order without skipping or repeating a row', () => {
    const a = mailbox('Support');
    const ids = queue(a, 257);
    // Give half of them a next try, with ties, to exercise the (value, id) keyset and NULLs.
    db.prepare('UPDATE outbox_messages SET next_attempt_at = CASE WHEN id % 2 = 0 THEN NULL ELSE 1000 + (id % 7) END').run();
    for (const sort of ['created', 'nextAttempt'] as const) {
      for (const direction of ['asc', 'desc'] as const) {
        const seen: number[] = [];
        let cursor: string | undefined;
        for (let guard = 0; guard < 100; guard++) {
          const page = repo.list({ view: 'all', sort, direction, limit: 50, ...(cursor ? { cursor } : {}) });
          seen.push(...page.items.map((m) => m.id));
          if (!page.nextCursor) break;
          cursor = page.nextCursor;
        }
        expect(new Set(seen).size, `${sort} ${direction}`).toBe(ids.length);
        expect(seen.length, `${sort} ${direction}`).toBe(ids.length);
      }
    }
  });

  it('filters by mailbox, status, text (also deep recipients) and time', () => {
    const a = mailbox('Support');
    const b = mailbox('Sales');
    queue(a, 5, T0, (i) => (i === 3 ? 'Printer on floor 3' : `Ticket ${i}`));
    queue(b, 4, T0 + 60_000);
    expect(repo.list({ view: 'all', mailboxId: b, sort: 'created', direction: 'desc', limit: 100 }).items).toHaveLength(4);
    expect(repo.list({ view: 'all', text: 'floor 3', sort: 'created', direction: 'desc', limit: 100 }).items.map((m) => m.subject)).toEqual(['Printer on floor 3']);
    expect(repo.list({ view: 'all', text: 'r2@example', sort: 'created', direction: 'desc', limit: 100 }).items).toHaveLength(2);
    expect(repo.list({ view: 'all', since: T0 + 60_000, sort: 'created', direction: 'desc', limit: 100 }).items).toHaveLength(4);
    expect(repo.list({ view: 'all', text: '100%', sort: 'created', direction: 'desc', limit: 100 }).items).toHaveLength(0);
    db.prepare("UPDATE outbox_messages SET status = 'sent' WHERE mailbox_id = ?").run(b);
    expect(repo.list({ view: 'pending', sort: 'created', direction: 'desc', limit: 100 }).items).toHaveLength(5);
    expect(repo.list({ view: 'pending', statuses: ['sent'], sort: 'created', direction: 'desc', limit: 100 }).items).toHaveLength(4);
    expect(repo.counts()).toMatchObject({ queued: 5, sent: 4, failed: 0 });
    expect(repo.counts(a)).toMatchObject({ queued: 5, sent: 0 });
  });

  it('claims due messages once, oldest due first, and recovery queues again what was left sending', () => {
    const a = mailbox('Support');
    queue(a, 10);
    db.prepare('UPDATE outbox_messages SET next_attempt_at = ? WHERE id > 5').run(T0 + 3_600_000);
    const first = repo.transaction(() => repo.claimDue(a, T0 + 1000, 3));
    const second = repo.transaction(() => repo.claimDue(a, T0 + 1000, 10));
    expect(first.map((m) => m.id)).toEqual([1, 2, 3]);
    expect(second.map((m) => m.id)).toEqual([4, 5]);
    expect(repo.earliestDue(a)).toBe(T0 + 3_600_000);
    const recovered = repo.transaction(() => repo.recoverSending(T0 + 2000, 'queued again'));
    expect(recovered).toEqual([1, 2, 3, 4, 5]);
    expect(repo.history(1).map((h) => h.status)).toEqual(['queued', 'sending', 'queued']);
    expect(repo.counts(a)).toMatchObject({ queued: 10, sending: 0 });
  });

  it('serves pages of 30,000 rows from indexes, each in a few milliseconds', () => {
    const a = mailbox('Support');
    const b = mailbox('Sales');
    queue(a, 20_000);
    queue(b, 10_000, T0 + 1);
    db.prepare("UPDATE outbox_messages SET status = 'sent', next_attempt_at = NULL WHERE id % 3 <> 0").run();
    db.exec('ANALYZE');
    const plan = (sql: string) => (db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all() as { detail: string }[]).map((r) => r.detail).join(' | ');
    // The pending view reads the status index (the pending rows only, however many were sent), never the whole table.
    expect(plan("SELECT id FROM outbox_messages m WHERE m.status IN ('queued', 'sending', 'deferred', 'failed') ORDER BY m.id DESC LIMIT 201")).toMatch(/USING (COVERING )?INDEX outbox_by_status/);
    // One status, or everything: walked in order, no sort at all.
    expect(plan("SELECT id FROM outbox_messages m WHERE m.status = 'failed' AND m.id < 900 ORDER BY m.id DESC LIMIT 201")).not.toMatch(/TEMP B-TREE/);
    expect(plan('SELECT id FROM outbox_messages m WHERE m.id < 900 ORDER BY m.id DESC LIMIT 201')).not.toMatch(/TEMP B-TREE/);
    expect(plan("SELECT id FROM outbox_messages m WHERE m.mailbox_id = 1 AND m.status IN ('queued','deferred') AND m.next_attempt_at <= 5 ORDER BY m.next_attempt_at, m.id LIMIT 5")).toMatch(/USING INDEX outbox_due|USING INDEX outbox_by_mailbox/);
    let cursor: string | undefined;
    let pages = 0;
    const started = performance.now();
    for (; pages < 20; pages++) {
      const page = repo.list({ view: 'all', sort: 'created', direction: 'desc', limit: 200, ...(cursor ? { cursor } : {}) });
      cursor = page.nextCursor ?? undefined;
    }
    const perPage = (performance.now() - started) / pages;
    expect(perPage).toBeLessThan(50);
    const deep = performance.now();
    repo.list({ view: 'pending', mailboxId: b, sort: 'nextAttempt', direction: 'asc', limit: 200 });
    expect(performance.now() - deep).toBeLessThan(100);
  });
});
