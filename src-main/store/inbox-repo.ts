/**
 * The inbox tables: folder sync state, messages with their raw bytes, polls
 * and each mailbox's receive state. Statements are prepared once; lists are
 * read by keyset (`id < ?`) on indexes, never by OFFSET.
 *
 * Every message keeps its own bytes exactly as the server sent them, in
 * content-addressed storage: `inbox_blobs` holds each distinct byte string
 * once (by SHA-256), and a message row points at its copy. Identical resends
 * share one copy; a re-delivery with other trace fields has its own.
 */
import type { Db } from './db.js';
import { rawDigest } from './inbox-content.js';
import type {
  ActionState,
  AttachmentInfo,
  HandoffState,
  InboxMessageSummary,
  InboxStatus,
  PollOutcome,
  PollRecord,
  PollTrigger,
} from '../shared/inbox.js';
import type { TranscriptLine } from '../shared/diagnosis.js';

/** A folder's sync state. */
export interface FolderState {
  mailboxId: number;
  folder: string;
  uidValidity: number;
  lastUid: number;
}

/** What the importer stores for one message. */
export interface NewMessage {
  mailboxId: number;
  folder: string;
  uidValidity: number;
  uid: number;
  status: InboxStatus;
  messageId: string | null;
  /** See `contentKey` in inbox-content.ts. */
  contentKey: string;
  /**
   * SHA-256 of the raw bytes passed with it, when the caller has it already
   * (`messageDigests` in inbox-content.ts); computed here otherwise.
   */
  rawSha256?: string;
  duplicateOf: number | null;
  sharesMessageIdWith: number | null;
  from: string | null;
  to: string | null;
  cc: string | null;
  subject: string | null;
  sentAt: number | null;
  receivedAt: number | null;
  importedAt: number;
  size: number;
  attachments: AttachmentInfo[];
  warnings: string[];
  snippet: string;
  errorCode: string | null;
  error: string | null;
  action: string;
  actionState: ActionState;
  handoffState: HandoffState;
  pollId: number | null;
}

/** A stored message with the columns the detail view needs beyond the summary. */
export interface StoredMessage extends InboxMessageSummary {
  cc: string | null;
  attachments: AttachmentInfo[];
  warnings: string[];
  actionError: string | null;
  actionAttempts: number;
  handoffPath: string | null;
  handoffError: string | null;
  handoffAttempts: number;
  /** False only for a duplicate recorded before schema 7 (only the first copy's bytes were kept then). */
  rawKept: boolean;
  /** See `contentKey` in inbox-content.ts; null only for a duplicate recorded before schema 7. */
  contentKey: string | null;
}

/** A stored message (not a duplicate) as the dedupe rule sees it. */
export interface KnownMessageRow {
  id: number;
  messageId: string | null;
  contentKey: string;
}

/** A mailbox's receive state row. */
export interface StateRow {
  mailboxId: number;
  lastSuccessAt: number | null;
  lastTryAt: number | null;
  lastErrorCode: string | null;
  lastErrorMessage: string | null;
  lastErrorHint: string | null;
  lastErrorAt: number | null;
  consecutiveFailures: number;
  handoffDir: string | null;
}

/** The list's filters. */
export interface MessageFilter {
  mailboxId?: number;
  status?: InboxStatus;
  beforeId?: number;
}

/** The fields a finished poll records. */
export interface PollFinish {
  outcome: Exclude<PollOutcome, 'running'>;
  finishedAt: number;
  uidValidity: number | null;
  resynced: boolean;
  fetched: number;
  imported: number;
  duplicates: number;
  failed: number;
  ms: number;
  code: string | null;
  message: string | null;
  hint: string | null;
  transcript: TranscriptLine[] | null;
}

interface MessageRow {
  id: number;
  mailbox_id: number | null;
  mailbox_name: string | null;
  folder: string;
  uid_validity: number;
  uid: number;
  status: string;
  message_id: string | null;
  duplicate_of: number | null;
  shares_message_id_with: number | null;
  raw_kept: number;
  content_key: string | null;
  from_text: string | null;
  to_text: string | null;
  cc_text: string | null;
  subject: string | null;
  sent_at: number | null;
  received_at: number | null;
  imported_at: number;
  size: number;
  attachment_count: number;
  attachments: string;
  warnings: string;
  snippet: string;
  error_code: string | null;
  error: string | null;
  action: string;
  action_state: string;
  action_error: string | null;
  action_attempts: number;
  handoff_state: string;
  handoff_path: string | null;
  handoff_error: string | null;
  handoff_attempts: number;
  poll_id: number | null;
}

interface PollRow {
  id: number;
  mailbox_id: number;
  trigger: string;
  outcome: string;
  started_at: number;
  finished_at: number | null;
  folder: string;
  uid_validity: number | null;
  resynced: number;
  fetched: number;
  imported: number;
  duplicates: number;
  failed: number;
  ms: number;
  code: string | null;
  message: string | null;
  hint: string | null;
  has_transcript: number;
}

const SUMMARY_COLUMNS = `id, mailbox_id, mailbox_name, folder, uid_validity, uid, status, message_id, duplicate_of, shares_message_id_with,
  raw_sha256 IS NOT NULL AS raw_kept, content_key, from_text, to_text, cc_text,
  subject, sent_at, received_at, imported_at, size, attachment_count, attachments, warnings, snippet, error_code, error, action,
  action_state, action_error, action_attempts, handoff_state, handoff_path, handoff_error, handoff_attempts, poll_id`;

const POLL_COLUMNS = `id, mailbox_id, trigger, outcome, started_at, finished_at, folder, uid_validity, resynced, fetched, imported, duplicates,
  failed, ms, code, message, hint, transcript IS NOT NULL AS has_transcript`;

function parseJsonArray<T>(text: string): T[] {
  try {
    const value = JSON.parse(text) as unknown;
    return Array.isArray(value) ? (value as T[]) : [];
  } catch {
    return [];
  }
}

function toStored(r: MessageRow): StoredMessage {
  return {
    id: r.id,
    mailboxId: r.mailbox_id,
    mailboxName: r.mailbox_name,
    status: r.status as InboxStatus,
    folder: r.folder,
    uidValidity: r.uid_validity,
    uid: r.uid,
    messageId: r.message_id,
    from: r.from_text,
    to: r.to_text,
    cc: r.cc_text,
    subject: r.subject,
    sentAt: r.sent_at,
    receivedAt: r.received_at,
    importedAt: r.imported_at,
    size: r.size,
    attachmentCount: r.attachment_count,
    attachments: parseJsonArray<AttachmentInfo>(r.attachments),
    warnings: parseJsonArray<string>(r.warnings),
    snippet: r.snippet,
    action: r.action,
    actionState: r.action_state as ActionState,
    actionError: r.action_error,
    actionAttempts: r.action_attempts,
    handoffState: r.handoff_state as HandoffState,
    handoffPath: r.handoff_path,
    handoffError: r.handoff_error,
    handoffAttempts: r.handoff_attempts,
    errorCode: r.error_code,
    error: r.error,
    duplicateOf: r.duplicate_of,
    sharesMessageIdWith: r.shares_message_id_with,
    pollId: r.poll_id,
    rawKept: r.raw_kept === 1,
    contentKey: r.content_key,
  };
}

/** The summary fields only (what lists and the CLI print). */
export function toSummary(m: StoredMessage): InboxMessageSummary {
  return {
    id: m.id,
    mailboxId: m.mailboxId,
    mailboxName: m.mailboxName,
    status: m.status,
    folder: m.folder,
    uidValidity: m.uidValidity,
    uid: m.uid,
    messageId: m.messageId,
    from: m.from,
    to: m.to,
    subject: m.subject,
    sentAt: m.sentAt,
    receivedAt: m.receivedAt,
    importedAt: m.importedAt,
    size: m.size,
    attachmentCount: m.attachmentCount,
    snippet: m.snippet,
    action: m.action,
    actionState: m.actionState,
    handoffState: m.handoffState,
    errorCode: m.errorCode,
    error: m.error,
    duplicateOf: m.duplicateOf,
    sharesMessageIdWith: m.sharesMessageIdWith,
    pollId: m.pollId,
  };
}

/** The values of a `json_each(?)` list. */
function jsonList(values: readonly (string | number)[]): string {
  return JSON.stringify(values);
}

function toPoll(r: PollRow): PollRecord {
  return {
    id: r.id,
    mailboxId: r.mailbox_id,
    trigger: r.trigger as PollTrigger,
    outcome: r.outcome as PollOutcome,
    startedAt: r.started_at,
    finishedAt: r.finished_at,
    folder: r.folder,
    uidValidity: r.uid_validity,
    resynced: r.resynced === 1,
    fetched: r.fetched,
    imported: r.imported,
    duplicates: r.duplicates,
    failed: r.failed,
    ms: r.ms,
    code: r.code,
    message: r.message,
    hint: r.hint,
    hasTranscript: r.has_transcript === 1,
  };
}

export class InboxRepo {
  private readonly stmts;

  constructor(private readonly db: Db) {
    this.stmts = {
      getFolder: db.prepare('SELECT mailbox_id, folder, uid_validity, last_uid FROM inbox_folders WHERE mailbox_id = ? AND folder = ?'),
      upsertFolder: db.prepare(
        `INSERT INTO inbox_folders (mailbox_id, folder, uid_validity, last_uid, updated_at)
         VALUES (@mailboxId, @folder, @uidValidity, @lastUid, @at)
         ON CONFLICT (mailbox_id, folder) DO UPDATE SET uid_validity = excluded.uid_validity, last_uid = excluded.last_uid, updated_at = excluded.updated_at`,
      ),
      advanceLastUid: db.prepare(
        `UPDATE inbox_folders SET last_uid = MAX(last_uid, @lastUid), updated_at = @at
         WHERE mailbox_id = @mailboxId AND folder = @folder AND uid_validity = @uidValidity`,
      ),
      storedUids: db.prepare('SELECT uid FROM inbox_messages WHERE mailbox_id = ? AND folder = ? AND uid_validity = ? AND uid > ?').pluck(),
      byUid: db.prepare('SELECT id FROM inbox_messages WHERE mailbox_id = ? AND folder = ? AND uid_validity = ? AND uid = ?').pluck(),
      recordedUids: db
        .prepare('SELECT uid FROM inbox_messages WHERE mailbox_id = ? AND folder = ? AND uid_validity = ? AND uid IN (SELECT value FROM json_each(?))')
        .pluck(),
      // Each half is held to its index (INDEXED BY fails to prepare if it cannot be used): the planner
      // otherwise picks the mailbox index for the union, a scan of the whole mailbox per batch.
      known: db.prepare(
        `SELECT id, message_id, content_key FROM inbox_messages INDEXED BY inbox_messages_by_content
           WHERE mailbox_id = @mailboxId AND content_key IN (SELECT value FROM json_each(@contentKeys)) AND content_key IS NOT NULL AND status != 'duplicate'
         UNION ALL
         SELECT id, message_id, content_key FROM inbox_messages INDEXED BY inbox_messages_by_message_id
           WHERE mailbox_id = @mailboxId AND message_id IN (SELECT value FROM json_each(@messageIds)) AND message_id IS NOT NULL
             AND content_key IS NOT NULL AND status != 'duplicate'`,
      ),
      sameMessageId: db
        .prepare(
          `SELECT id FROM inbox_messages WHERE mailbox_id = ? AND message_id = ? AND id != ? AND status != 'duplicate'
             AND (content_key IS NULL OR content_key != ?) ORDER BY id LIMIT 100`,
        )
        .pluck(),
      insertBlob: db.prepare('INSERT INTO inbox_blobs (sha256, raw) VALUES (?, ?) ON CONFLICT (sha256) DO NOTHING'),
      insertMessage: db.prepare(
        `INSERT INTO inbox_messages (mailbox_id, mailbox_name, folder, uid_validity, uid, status, message_id, content_key, duplicate_of,
           shares_message_id_with, raw_sha256, from_text, to_text, cc_text, subject, sent_at, received_at, imported_at, size, attachment_count,
           attachments, warnings, snippet, error_code, error, action, action_state, handoff_state, poll_id)
         VALUES (@mailboxId, (SELECT name FROM mailboxes WHERE id = @mailboxId), @folder, @uidValidity, @uid, @status, @messageId, @contentKey,
           @duplicateOf, @sharesMessageIdWith, @rawSha256, @from, @to, @cc, @subject, @sentAt, @receivedAt, @importedAt, @size, @attachmentCount,
           @attachments, @warnings, @snippet, @errorCode, @error, @action, @actionState, @handoffState, @pollId)`,
      ),
      getMessage: db.prepare(`SELECT ${SUMMARY_COLUMNS} FROM inbox_messages WHERE id = ?`),
      getRaw: db.prepare('SELECT b.raw FROM inbox_messages m JOIN inbox_blobs b ON b.sha256 = m.raw_sha256 WHERE m.id = ?').pluck(),
      // Only messages whose own bytes are stored: an action never runs on one whose bytes are not.
      pendingActions: db.prepare(
        `SELECT id, uid, action, action_attempts FROM inbox_messages
         WHERE mailbox_id = ? AND folder = ? AND uid_validity = ? AND action_state IN ('pending', 'failed') AND raw_sha256 IS NOT NULL ORDER BY uid`,
      ),
      skipStaleActions: db.prepare(
        `UPDATE inbox_messages SET action_state = 'skipped', action_error = @reason
         WHERE mailbox_id = @mailboxId AND folder = @folder AND uid_validity != @uidValidity AND action_state IN ('pending', 'failed')`,
      ),
      setAction: db.prepare(
        `UPDATE inbox_messages SET action = @action, action_state = @state, action_error = @error, action_attempts = action_attempts + 1 WHERE id = @id`,
      ),
      pendingHandoffs: db.prepare(
        `SELECT id FROM inbox_messages WHERE mailbox_id = ? AND handoff_state IN ('pending', 'failed') AND handoff_attempts < ? ORDER BY id LIMIT ?`,
      ).pluck(),
      setHandoff: db.prepare(
        `UPDATE inbox_messages SET handoff_state = @state, handoff_path = @path, handoff_error = @error, handoff_attempts = handoff_attempts + 1 WHERE id = @id`,
      ),
      counts: db.prepare('SELECT mailbox_id, status, COUNT(*) AS n FROM inbox_messages WHERE mailbox_id IS NOT NULL GROUP BY mailbox_id, status'),
      insertPoll: db.prepare(
        `INSERT INTO inbox_polls (mailbox_id, trigger, outcome, started_at, folder, pid) VALUES (@mailboxId, @trigger, 'running', @startedAt, @folder, @pid)`,
      ),
      runningPolls: db.prepare(`SELECT id, pid FROM inbox_polls WHERE mailbox_id = ? AND outcome = 'running'`),
      interruptPoll: db.prepare(
        `UPDATE inbox_polls SET outcome = 'failed', finished_at = @at, code = 'POLL_INTERRUPTED', message = @message, hint = @hint WHERE id = @id AND outcome = 'running'`,
      ),
      progressPoll: db.prepare(
        `UPDATE inbox_polls SET uid_validity = @uidValidity, resynced = @resynced, fetched = @fetched, imported = @imported, duplicates = @duplicates, failed = @failed WHERE id = @id`,
      ),
      finishPoll: db.prepare(
        `UPDATE inbox_polls SET outcome = @outcome, finished_at = @finishedAt, uid_validity = @uidValidity, resynced = @resynced, fetched = @fetched,
           imported = @imported, duplicates = @duplicates, failed = @failed, ms = @ms, code = @code, message = @message, hint = @hint, transcript = @transcript
         WHERE id = @id`,
      ),
      getPoll: db.prepare(`SELECT ${POLL_COLUMNS} FROM inbox_polls WHERE id = ?`),
      getTranscript: db.prepare('SELECT transcript FROM inbox_polls WHERE id = ?').pluck(),
      pollsBefore: db.prepare(`SELECT ${POLL_COLUMNS} FROM inbox_polls WHERE mailbox_id = ? AND id < ? ORDER BY id DESC LIMIT ?`),
      getState: db.prepare('SELECT * FROM inbox_state WHERE mailbox_id = ?'),
      allStates: db.prepare('SELECT * FROM inbox_state'),
      ensureState: db.prepare('INSERT INTO inbox_state (mailbox_id) VALUES (?) ON CONFLICT (mailbox_id) DO NOTHING'),
      stateTry: db.prepare('UPDATE inbox_state SET last_try_at = ? WHERE mailbox_id = ?'),
      stateSuccess: db.prepare('UPDATE inbox_state SET last_success_at = @at, last_try_at = @at, consecutive_failures = 0 WHERE mailbox_id = @mailboxId'),
      stateFailure: db.prepare(
        `UPDATE inbox_state SET last_try_at = @at, last_error_code = @code, last_error_message = @message, last_error_hint = @hint, last_error_at = @at,
           consecutive_failures = consecutive_failures + 1 WHERE mailbox_id = @mailboxId`,
      ),
      setHandoffDir: db.prepare('UPDATE inbox_state SET handoff_dir = ? WHERE mailbox_id = ?'),
    };
  }

  // ---- folders -------------------------------------------------------------

  /** The sync state of a folder, or undefined before its first import. */
  folder(mailboxId: number, folder: string): FolderState | undefined {
    const r = this.stmts.getFolder.get(mailboxId, folder) as { mailbox_id: number; folder: string; uid_validity: number; last_uid: number } | undefined;
    return r && { mailboxId: r.mailbox_id, folder: r.folder, uidValidity: r.uid_validity, lastUid: r.last_uid };
  }

  /** Starts (or restarts, after a UIDVALIDITY change) a folder's sync state. */
  resetFolder(mailboxId: number, folder: string, uidValidity: number, lastUid: number, at: number): void {
    this.stmts.upsertFolder.run({ mailboxId, folder, uidValidity, lastUid, at });
  }

  /** Raises the folder's last committed UID (never lowers it). Call inside the batch's transaction. */
  advanceLastUid(mailboxId: number, folder: string, uidValidity: number, lastUid: number, at: number): void {
    this.stmts.advanceLastUid.run({ mailboxId, folder, uidValidity, lastUid, at });
  }

  /** UIDs above `afterUid` already recorded for this folder and UIDVALIDITY. */
  storedUids(mailboxId: number, folder: string, uidValidity: number, afterUid: number): Set<number> {
    return new Set(this.stmts.storedUids.all(mailboxId, folder, uidValidity, afterUid) as number[]);
  }

  // ---- messages ------------------------------------------------------------

  /** The id of the row for a server message, if recorded. */
  idByUid(mailboxId: number, folder: string, uidValidity: number, uid: number): number | undefined {
    return this.stmts.byUid.get(mailboxId, folder, uidValidity, uid) as number | undefined;
  }

  /** Which of these UIDs of the folder and UIDVALIDITY are recorded already (one query for a whole batch). */
  recordedUids(mailboxId: number, folder: string, uidValidity: number, uids: readonly number[]): Set<number> {
    if (!uids.length) return new Set();
    return new Set(this.stmts.recordedUids.all(mailboxId, folder, uidValidity, jsonList(uids)) as number[]);
  }

  /**
   * The stored messages of a mailbox (not duplicates) with one of these
   * content keys or Message-IDs: what the dedupe rule needs for a batch, in
   * one query on indexes (a message may come twice).
   */
  knownMessages(mailboxId: number, contentKeys: readonly string[], messageIds: readonly string[]): KnownMessageRow[] {
    if (!contentKeys.length && !messageIds.length) return [];
    const rows = this.stmts.known.all({ mailboxId, contentKeys: jsonList(contentKeys), messageIds: jsonList(messageIds) }) as {
      id: number;
      message_id: string | null;
      content_key: string;
    }[];
    return rows.map((r) => ({ id: r.id, messageId: r.message_id, contentKey: r.content_key }));
  }

  /** The other stored messages (not duplicates) of the mailbox with this Message-ID and other content, oldest first. */
  sameMessageIdAs(m: Pick<StoredMessage, 'id' | 'mailboxId' | 'messageId' | 'contentKey'>): number[] {
    if (m.mailboxId === null || m.messageId === null) return [];
    return this.stmts.sameMessageId.all(m.mailboxId, m.messageId, m.id, m.contentKey ?? '') as number[];
  }

  /**
   * Records a message with its own raw bytes, exactly as the server sent
   * them (stored once per distinct byte string). Call inside a transaction:
   * the row and its bytes commit together.
   */
  insertMessage(m: NewMessage, raw: Buffer): number {
    const rawSha256 = m.rawSha256 ?? rawDigest(raw);
    this.stmts.insertBlob.run(rawSha256, raw);
    const info = this.stmts.insertMessage.run({
      ...m,
      rawSha256,
      attachmentCount: m.attachments.length,
      attachments: JSON.stringify(m.attachments),
      warnings: JSON.stringify(m.warnings),
    });
    return Number(info.lastInsertRowid);
  }

  get(id: number): StoredMessage | undefined {
    const r = this.stmts.getMessage.get(id) as MessageRow | undefined;
    return r && toStored(r);
  }

  /** The message's own raw bytes, exactly as the server sent them (undefined only for a duplicate recorded before schema 7). */
  raw(id: number): Buffer | undefined {
    return this.stmts.getRaw.get(id) as Buffer | undefined;
  }

  /** One page, newest first. */
  list(filter: MessageFilter, limit: number): StoredMessage[] {
    const where: string[] = [];
    const params: Record<string, unknown> = { limit };
    if (filter.mailboxId !== undefined) (where.push('mailbox_id = @mailboxId'), (params.mailboxId = filter.mailboxId));
    if (filter.status) (where.push('status = @status'), (params.status = filter.status));
    if (filter.beforeId !== undefined) (where.push('id < @beforeId'), (params.beforeId = filter.beforeId));
    const sql = `SELECT ${SUMMARY_COLUMNS} FROM inbox_messages ${where.length ? 'WHERE ' + where.join(' AND ') : ''} ORDER BY id DESC LIMIT @limit`;
    return (this.db.prepare(sql).all(params) as MessageRow[]).map(toStored);
  }

  /** Messages of this folder and UIDVALIDITY whose after-import action is still to do. */
  pendingActions(mailboxId: number, folder: string, uidValidity: number): { id: number; uid: number; action: string; attempts: number }[] {
    return (this.stmts.pendingActions.all(mailboxId, folder, uidValidity) as { id: number; uid: number; action: string; action_attempts: number }[]).map((r) => ({
      id: r.id,
      uid: r.uid,
      action: r.action,
      attempts: r.action_attempts,
    }));
  }

  /** Marks actions on UIDs of an older UIDVALIDITY as skipped (those UIDs mean nothing now). Returns how many. */
  skipStaleActions(mailboxId: number, folder: string, uidValidity: number, reason: string): number {
    return this.stmts.skipStaleActions.run({ mailboxId, folder, uidValidity, reason }).changes;
  }

  /** Records the outcome of an attempt of an after-import action on messages. */
  setActionState(ids: readonly number[], action: string, state: ActionState, error: string | null): void {
    const run = this.db.transaction(() => {
      for (const id of ids) this.stmts.setAction.run({ id, action, state, error });
    });
    run();
  }

  /** Messages whose .eml copy is still to write (at most `maxAttempts` tries each). */
  pendingHandoffs(mailboxId: number, maxAttempts: number, limit: number): number[] {
    return this.stmts.pendingHandoffs.all(mailboxId, maxAttempts, limit) as number[];
  }

  setHandoff(id: number, state: HandoffState, filePath: string | null, error: string | null): void {
    this.stmts.setHandoff.run({ id, state, path: filePath, error });
  }

  /** Stored messages by mailbox and status. */
  counts(): Map<number, Record<InboxStatus, number>> {
    const out = new Map<number, Record<InboxStatus, number>>();
    for (const r of this.stmts.counts.all() as { mailbox_id: number; status: InboxStatus; n: number }[]) {
      const c = out.get(r.mailbox_id) ?? { imported: 0, duplicate: 0, failed: 0 };
      c[r.status] = r.n;
      out.set(r.mailbox_id, c);
    }
    return out;
  }

  // ---- polls ---------------------------------------------------------------

  startPoll(mailboxId: number, trigger: PollTrigger, folder: string, startedAt: number, pid: number): number {
    return Number(this.stmts.insertPoll.run({ mailboxId, trigger, startedAt, folder, pid }).lastInsertRowid);
  }

  /** Polls of a mailbox still marked running, with the process that ran them. */
  runningPolls(mailboxId: number): { id: number; pid: number | null }[] {
    return this.stmts.runningPolls.all(mailboxId) as { id: number; pid: number | null }[];
  }

  /** Marks a poll whose process is gone as interrupted. */
  interruptPoll(id: number, at: number, message: string, hint: string): void {
    this.stmts.interruptPoll.run({ id, at, message, hint });
  }

  /** Saves a running poll's counts so far (so a killed poll still shows what it did). */
  progressPoll(id: number, p: { uidValidity: number | null; resynced: boolean; fetched: number; imported: number; duplicates: number; failed: number }): void {
    this.stmts.progressPoll.run({ id, ...p, resynced: p.resynced ? 1 : 0 });
  }

  finishPoll(id: number, f: PollFinish): void {
    this.stmts.finishPoll.run({ id, ...f, resynced: f.resynced ? 1 : 0, transcript: f.transcript ? JSON.stringify(f.transcript) : null });
  }

  poll(id: number): PollRecord | undefined {
    const r = this.stmts.getPoll.get(id) as PollRow | undefined;
    return r && toPoll(r);
  }

  transcript(id: number): TranscriptLine[] {
    const text = this.stmts.getTranscript.get(id) as string | null | undefined;
    return text ? parseJsonArray<TranscriptLine>(text) : [];
  }

  polls(mailboxId: number, beforeId: number | undefined, limit: number): PollRecord[] {
    return (this.stmts.pollsBefore.all(mailboxId, beforeId ?? Number.MAX_SAFE_INTEGER, limit) as PollRow[]).map(toPoll);
  }

  // ---- receive state -------------------------------------------------------

  state(mailboxId: number): StateRow | undefined {
    const r = this.stmts.getState.get(mailboxId) as Record<string, unknown> | undefined;
    return r && toState(r);
  }

  states(): Map<number, StateRow> {
    return new Map((this.stmts.allStates.all() as Record<string, unknown>[]).map((r) => [r.mailbox_id as number, toState(r)]));
  }

  recordTry(mailboxId: number, at: number): void {
    this.stmts.ensureState.run(mailboxId);
    this.stmts.stateTry.run(at, mailboxId);
  }

  recordSuccess(mailboxId: number, at: number): void {
    this.stmts.ensureState.run(mailboxId);
    this.stmts.stateSuccess.run({ mailboxId, at });
  }

  recordFailure(mailboxId: number, at: number, code: string, message: string, hint: string | null): void {
    this.stmts.ensureState.run(mailboxId);
    this.stmts.stateFailure.run({ mailboxId, at, code, message, hint });
  }

  setHandoffDir(mailboxId: number, dir: string | null): void {
    this.stmts.ensureState.run(mailboxId);
    this.stmts.setHandoffDir.run(dir, mailboxId);
  }
}

function toState(r: Record<string, unknown>): StateRow {
  return {
    mailboxId: r.mailbox_id as number,
    lastSuccessAt: (r.last_success_at as number | null) ?? null,
    lastTryAt: (r.last_try_at as number | null) ?? null,
    lastErrorCode: (r.last_error_code as string | null) ?? null,
    lastErrorMessage: (r.last_error_message as string | null) ?? null,
    lastErrorHint: (r.last_error_hint as string | null) ?? null,
    lastErrorAt: (r.last_error_at as number | null) ?? null,
    consecutiveFailures: (r.consecutive_failures as number) ?? 0,
    handoffDir: (r.handoff_dir as string | null) ?? null,
  };
}
