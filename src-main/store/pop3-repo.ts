/**
 * The UIDLs of the messages each POP3 mailbox has stored (migration 015).
 * A message's inbox row is keyed by (mailbox, POP3_FOLDER, 0, uid = the
 * UIDL row's id); both are written in one transaction by the POP3 import.
 */
import type Database from 'better-sqlite3';
import type { Db } from './db.js';
import { POP3_MAILDROP_FOLDER } from '../shared/inbox.js';

/** The inbox "folder" of messages imported over POP3 (POP3 reads the maildrop, which is the INBOX). */
export const POP3_FOLDER = POP3_MAILDROP_FOLDER;
/** POP3 has no UIDVALIDITY; IMAP's is never 0. */
export const POP3_UID_VALIDITY = 0;

/** A stored message whose POP3 after-import action (delete) is still to do. */
export interface Pop3PendingAction {
  /** The inbox row. */
  id: number;
  uidl: string;
  action: string;
}

export class Pop3Repo {
  private readonly stmts: Record<'known' | 'insert' | 'pending' | 'count' | 'rewriteLast', Database.Statement>;

  constructor(db: Db) {
    this.stmts = {
      known: db.prepare('SELECT uidl FROM pop3_uidls WHERE mailbox_id = ? AND uidl IN (SELECT value FROM json_each(?))').pluck(),
      insert: db.prepare('INSERT INTO pop3_uidls (mailbox_id, uidl, stored_at) VALUES (?, ?, ?)'),
      pending: db.prepare(
        `SELECT m.id AS id, u.uidl AS uidl, m.action AS action FROM inbox_messages m JOIN pop3_uidls u ON u.id = m.uid AND u.mailbox_id = m.mailbox_id
         WHERE m.mailbox_id = ? AND m.folder = ? AND m.uid_validity = ? AND m.action_state IN ('pending', 'failed') AND m.raw_sha256 IS NOT NULL ORDER BY m.uid`,
      ),
      count: db.prepare('SELECT COUNT(*) FROM pop3_uidls WHERE mailbox_id = ?').pluck(),
      rewriteLast: db.prepare('UPDATE pop3_uidls SET stored_at = stored_at WHERE id = (SELECT MAX(id) FROM pop3_uidls WHERE mailbox_id = ?)'),
    };
  }

  /** Which of these UIDLs the mailbox has stored (one query for a whole listing). */
  knownUidls(mailboxId: number, uidls: readonly string[]): Set<string> {
    if (!uidls.length) return new Set();
    return new Set(this.stmts.known.all(mailboxId, JSON.stringify(uidls)) as string[]);
  }

  /** Records a UIDL; returns its id (the inbox row's uid). Call inside the message's transaction. */
  insert(mailboxId: number, uidl: string, at: number): number {
    return Number(this.stmts.insert.run(mailboxId, uidl, at).lastInsertRowid);
  }

  /** Stored messages whose after-import action has not been confirmed by the server. */
  pendingActions(mailboxId: number): Pop3PendingAction[] {
    return this.stmts.pending.all(mailboxId, POP3_FOLDER, POP3_UID_VALIDITY) as Pop3PendingAction[];
  }

  /**
   * Writes the mailbox's last UIDL row again, unchanged: run under
   * synchronous=FULL, its commit flushes the WAL, and with it every earlier
   * commit (of this or another process), to disk.
   */
  rewriteLast(mailboxId: number): void {
    this.stmts.rewriteLast.run(mailboxId);
  }

  /** How many messages of the mailbox are recorded by UIDL. */
  count(mailboxId: number): number {
    return this.stmts.count.get(mailboxId) as number;
  }
}
