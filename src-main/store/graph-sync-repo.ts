/**
 * The Graph import's state (migration 014): each folder's delta link and the
 * Graph id of each message imported through Graph.
 */
import type { Db } from './db.js';
import { GRAPH_IMPORT_UID_VALIDITY } from '../shared/inbox.js';

/** Where a folder's delta query stands. */
export interface GraphSyncState {
  mailboxId: number;
  folder: string;
  folderId: string;
  /** The URL the next poll starts from; null: a full round. */
  link: string | null;
  /** `link` is the deltaLink of a finished round (else a nextLink of one in progress). */
  roundDone: boolean;
  resets: number;
  updatedAt: number;
}

/** The uid_validity of inbox rows imported through Graph (IMAP's UIDVALIDITY is never negative): the screens' and CLI's own. */
export const GRAPH_UID_VALIDITY = GRAPH_IMPORT_UID_VALIDITY;

interface SyncRow {
  mailbox_id: number;
  folder: string;
  folder_id: string;
  link: string | null;
  round_done: number;
  resets: number;
  updated_at: number;
}

/** Repository of graph_sync and graph_messages. */
export class GraphSyncRepo {
  constructor(private readonly db: Db) {}

  /** The folder's state, or undefined before its first poll through Graph. */
  get(mailboxId: number, folder: string): GraphSyncState | undefined {
    const r = this.db.prepare('SELECT * FROM graph_sync WHERE mailbox_id = ? AND folder = ?').get(mailboxId, folder) as SyncRow | undefined;
    return r && { mailboxId: r.mailbox_id, folder: r.folder, folderId: r.folder_id, link: r.link, roundDone: r.round_done === 1, resets: r.resets, updatedAt: r.updated_at };
  }

  /** Records where the next poll starts (call inside the transaction of the page's messages). */
  setLink(mailboxId: number, folder: string, folderId: string, link: string | null, roundDone: boolean, at: number): void {
    this.db
      .prepare(
        `INSERT INTO graph_sync (mailbox_id, folder, folder_id, link, round_done, updated_at) VALUES (@mailboxId, @folder, @folderId, @link, @roundDone, @at)
         ON CONFLICT (mailbox_id, folder) DO UPDATE SET folder_id = excluded.folder_id, link = excluded.link, round_done = excluded.round_done, updated_at = excluded.updated_at`,
      )
      .run({ mailboxId, folder, folderId, link, roundDone: roundDone ? 1 : 0, at });
  }

  /** Graph no longer knows the folder's delta: start a full round, count the reset. */
  reset(mailboxId: number, folder: string, at: number): void {
    this.db.prepare('UPDATE graph_sync SET link = NULL, round_done = 0, resets = resets + 1, updated_at = ? WHERE mailbox_id = ? AND folder = ?').run(at, mailboxId, folder);
  }

  /** Of these Graph ids, the ones already imported from the folder. */
  knownIds(mailboxId: number, folder: string, graphIds: readonly string[]): Set<string> {
    if (!graphIds.length) return new Set();
    const rows = this.db
      .prepare('SELECT graph_id FROM graph_messages WHERE mailbox_id = ? AND folder = ? AND graph_id IN (SELECT value FROM json_each(?))')
      .pluck()
      .all(mailboxId, folder, JSON.stringify(graphIds)) as string[];
    return new Set(rows);
  }

  /** Records the Graph id of an imported message (inside the transaction that stores it). */
  remember(inboxMessageId: number, mailboxId: number, folder: string, graphId: string): void {
    this.db.prepare('INSERT INTO graph_messages (inbox_message_id, mailbox_id, folder, graph_id) VALUES (?, ?, ?, ?)').run(inboxMessageId, mailboxId, folder, graphId);
  }

  /** The Graph ids of stored messages, by inbox message id. */
  graphIdsOf(inboxMessageIds: readonly number[]): Map<number, string> {
    if (!inboxMessageIds.length) return new Map();
    const rows = this.db
      .prepare('SELECT inbox_message_id, graph_id FROM graph_messages WHERE inbox_message_id IN (SELECT value FROM json_each(?))')
      .all(JSON.stringify(inboxMessageIds)) as Array<{ inbox_message_id: number; graph_id: string }>;
    return new Map(rows.map((r) => [r.inbox_message_id, r.graph_id]));
  }
}
