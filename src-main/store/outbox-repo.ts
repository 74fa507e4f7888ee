/**
 * The outbox tables: messages, bodies, recipients, status history, attempts
 * and per-mailbox settings. Lists page by keyset on indexes, never by
 * OFFSET; the worker claims due messages inside an IMMEDIATE transaction so
 * that a message is never claimed twice, even by two processes.
 */
import type { Db } from './db.js';
import { DEFAULT_OUTBOX_SETTINGS, OUTBOX_STATUSES, PENDING_STATUSES } from '../shared/outbox-constants.js';
import type {
  AttemptOutcome,
  OutboxAttempt,
  OutboxCounts,
  OutboxHistoryEntry,
  OutboxListQuery,
  OutboxRecipient,
  OutboxSettings,
  OutboxSource,
  OutboxStatus,
  OutboxSummary,
  RecipientStatus,
} from '../shared/outbox.js';

interface MessageRow {
  id: number;
  mailbox_id: number;
  mailbox_name: string;
  status: string;
  source: string;
  message_id: string;
  envelope_from: string;
  subject: string;
  recipients_preview: string;
  recipient_count: number;
  size: number;
  attempts: number;
  max_attempts: number;
  next_attempt_at: number | null;
  created_at: number;
  updated_at: number;
  sent_at: number | null;
  last_error_code: string | null;
  last_error_message: string | null;
  last_error_hint: string | null;
  last_error_reply: string | null;
  last_error_stage: string | null;
  last_error_at: number | null;
  accepted_reply: string | null;
  server_queue_id: string | null;
  submitted_by: string | null;
}

const SUMMARY_COLUMNS = `m.id, m.mailbox_id, mb.name AS mailbox_name, m.status, m.source, m.message_id, m.envelope_from, m.subject,
  m.recipients_preview, m.recipient_count, m.size, m.attempts, m.max_attempts, m.next_attempt_at, m.created_at, m.updated_at,
  m.sent_at, m.last_error_code, m.last_error_message, m.last_error_hint, m.last_error_reply, m.last_error_stage, m.last_error_at,
  m.accepted_reply, m.server_queue_id, m.submitted_by`;

function toSummary(r: MessageRow): OutboxSummary {
  return {
    id: r.id,
    mailboxId: r.mailbox_id,
    mailboxName: r.mailbox_name,
    status: r.status as OutboxStatus,
    source: r.source as OutboxSource,
    messageId: r.message_id,
    from: r.envelope_from,
    to: r.recipients_preview,
    recipientCount: r.recipient_count,
    subject: r.subject,
    size: r.size,
    attempts: r.attempts,
    maxAttempts: r.max_attempts,
    nextAttemptAt: r.next_attempt_at,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    sentAt: r.sent_at,
    lastError:
      r.last_error_code !== null
        ? {
            code: r.last_error_code,
            message: r.last_error_message ?? '',
            hint: r.last_error_hint,
            serverReply: r.last_error_reply,
            stage: r.last_error_stage,
            at: r.last_error_at ?? r.updated_at,
          }
        : null,
    acceptedReply: r.accepted_reply,
    serverQueueId: r.server_queue_id,
  };
}

/** A new message to insert. */
export interface NewOutboxMessage {
  mailboxId: number;
  source: OutboxSource;
  messageId: string;
  envelopeFrom: string;
  subject: string;
  recipients: string[];
  raw: Buffer;
  maxAttempts: number;
  submittedBy: string | null;
  /**
   * Set when the mailbox needs a Microsoft sign-in right now: the message is
   * stored as `waiting-sign-in` with this as its last error, not due until
   * the sign-in.
   */
  waitingForSignIn?: SignInWait;
}

/** Why a mailbox's messages wait for a sign-in, as stored on each of them. */
export interface SignInWait {
  code: string;
  message: string;
  hint: string | null;
}

/** A message claimed for sending, with what the worker needs. */
export interface ClaimedMessage {
  id: number;
  mailboxId: number;
  messageId: string;
  envelopeFrom: string;
  subject: string;
  /** Recipients still to send to (pending or deferred). */
  recipients: string[];
  raw: Buffer;
  attempts: number;
  maxAttempts: number;
  /** Who queued it (`relay:<account>` for the relay), for what a failure tells the admin to change. */
  submittedBy: string | null;
  /** The status it had before it was claimed, to put back when it is released unsent. */
  previousStatus: 'queued' | 'deferred';
  previousNextAttemptAt: number | null;
}

/** The result of one try, to record in one go. */
export interface AttemptRecord {
  id: number;
  startedAt: number;
  finishedAt: number;
  outcome: AttemptOutcome;
  /** The message's new status. */
  status: Extract<OutboxStatus, 'sent' | 'deferred' | 'failed'>;
  nextAttemptAt: number | null;
  error: { code: string; message: string; hint: string | null; reply: string | null; stage: string | null } | null;
  acceptedReply: string | null;
  serverQueueId: string | null;
  /** Recipients whose state changed. */
  recipients: { address: string; status: RecipientStatus; reply: string | null }[];
  /** JSON of the redacted transcript, or null. */
  transcript: string | null;
  /** Why the status changed, in a few words. */
  note: string;
}

const PREVIEW_RECIPIENTS = 5;

function encodeCursor(value: number | null, id: number): string {
  return Buffer.from(JSON.stringify([value, id])).toString('base64url');
}

function decodeCursor(cursor: string): { value: number | null; id: number } | undefined {
  try {
    const parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown;
    if (Array.isArray(parsed) && parsed.length === 2 && (parsed[0] === null || typeof parsed[0] === 'number') && Number.isInteger(parsed[1])) {
      return { value: parsed[0] as number | null, id: parsed[1] as number };
    }
  } catch {
    // fall through
  }
  return undefined;
}

const SORT_COLUMN = { created: null, nextAttempt: 'm.next_attempt_at' } as const;

interface SettingsRow {
  max_attempts: number;
  first_retry_seconds: number;
  retry_factor: number;
  max_retry_seconds: number;
  connections: number;
  messages_per_connection: number;
  timeout_seconds: number;
  debug: number;
}

/** The outbox tables. */
export class OutboxRepo {
  private readonly stmt;

  constructor(private readonly db: Db) {
    this.stmt = {
      insertMessage: db.prepare(
        `INSERT INTO outbox_messages (mailbox_id, status, source, message_id, envelope_from, subject, recipients_preview, recipient_count, size,
           attempts, max_attempts, next_attempt_at, created_at, updated_at, submitted_by, last_error_code, last_error_message, last_error_hint, last_error_at)
         VALUES (@mailboxId, @status, @source, @messageId, @envelopeFrom, @subject, @preview, @count, @size, 0, @maxAttempts, @nextAttemptAt, @now, @now, @submittedBy,
           @errorCode, @errorMessage, @errorHint, @errorAt)`,
      ),
      insertBody: db.prepare('INSERT INTO outbox_bodies (outbox_id, raw) VALUES (?, ?)'),
      insertRecipient: db.prepare('INSERT INTO outbox_recipients (outbox_id, position, address) VALUES (?, ?, ?)'),
      insertHistory: db.prepare('INSERT INTO outbox_history (outbox_id, at, status, note) VALUES (?, ?, ?, ?)'),
      due: db.prepare(
        `SELECT id, mailbox_id, status, message_id, envelope_from, subject, attempts, max_attempts, next_attempt_at, submitted_by
         FROM outbox_messages INDEXED BY outbox_due
         WHERE mailbox_id = @mailboxId AND status IN ('queued', 'deferred') AND next_attempt_at <= @now
         ORDER BY next_attempt_at, id LIMIT @limit`,
      ),
      markSending: db.prepare(`UPDATE outbox_messages SET status = 'sending', updated_at = ? WHERE id = ? AND status IN ('queued', 'deferred')`),
      body: db.prepare('SELECT raw FROM outbox_bodies WHERE outbox_id = ?').pluck(),
      bodiesOf: db.prepare('SELECT outbox_id, raw FROM outbox_bodies WHERE outbox_id IN (SELECT value FROM json_each(?))'),
      openRecipientsOf: db.prepare(
        `SELECT outbox_id, address FROM outbox_recipients WHERE outbox_id IN (SELECT value FROM json_each(?)) AND status IN ('pending', 'deferred') ORDER BY outbox_id, position`,
      ),
      applyAttempt: db.prepare(
        `UPDATE outbox_messages SET status = @status, attempts = attempts + 1, next_attempt_at = @nextAttemptAt, updated_at = @finishedAt,
           sent_at = CASE WHEN @status = 'sent' THEN @finishedAt ELSE sent_at END,
           last_error_code = @code, last_error_message = @message, last_error_hint = @hint, last_error_reply = @reply,
           last_error_stage = @stage, last_error_at = CASE WHEN @code IS NULL THEN last_error_at ELSE @finishedAt END,
           accepted_reply = COALESCE(@acceptedReply, accepted_reply), server_queue_id = COALESCE(@serverQueueId, server_queue_id)
         WHERE id = @id`,
      ),
      insertAttempt: db.prepare(
        `INSERT INTO outbox_attempts (outbox_id, number, started_at, finished_at, outcome, code, message, hint, reply, stage, transcript)
         VALUES (@id, (SELECT attempts FROM outbox_messages WHERE id = @id), @startedAt, @finishedAt, @outcome, @code, @message, @hint, @reply, @stage, @transcript)`,
      ),
      clearTranscripts: db.prepare('UPDATE outbox_attempts SET transcript = NULL WHERE outbox_id = ? AND transcript IS NOT NULL'),
      updateRecipient: db.prepare('UPDATE outbox_recipients SET status = @status, reply = @reply, updated_at = @at WHERE outbox_id = @id AND address = @address'),
      acceptOpenRecipients: db.prepare(`UPDATE outbox_recipients SET status = 'accepted', reply = NULL, updated_at = ? WHERE outbox_id = ? AND status IN ('pending', 'deferred')`),
      release: db.prepare(`UPDATE outbox_messages SET status = @status, next_attempt_at = @nextAttemptAt, updated_at = @now WHERE id = @id AND status = 'sending'`),
      earliestDue: db.prepare(`SELECT MIN(next_attempt_at) FROM outbox_messages INDEXED BY outbox_due WHERE mailbox_id = ? AND status IN ('queued', 'deferred')`).pluck(),
      sendingIds: db.prepare(`SELECT id FROM outbox_messages WHERE status = 'sending'`).pluck(),
      recoverOne: db.prepare(`UPDATE outbox_messages SET status = 'queued', next_attempt_at = @now, updated_at = @now WHERE id = @id AND status = 'sending'`),
      getRow: db.prepare(`SELECT ${SUMMARY_COLUMNS} FROM outbox_messages m JOIN mailboxes mb ON mb.id = m.mailbox_id WHERE m.id = ?`),
      recipients: db.prepare('SELECT address, status, reply FROM outbox_recipients WHERE outbox_id = ? ORDER BY position'),
      history: db.prepare('SELECT at, status, note FROM outbox_history WHERE outbox_id = ? ORDER BY id'),
      attempts: db.prepare('SELECT number, started_at, finished_at, outcome, code, message, hint, reply, stage FROM outbox_attempts WHERE outbox_id = ? ORDER BY id'),
      lastTranscript: db.prepare('SELECT transcript FROM outbox_attempts WHERE outbox_id = ? AND transcript IS NOT NULL ORDER BY id DESC LIMIT 1').pluck(),
      setStatus: db.prepare(
        `UPDATE outbox_messages SET status = @status, next_attempt_at = @nextAttemptAt, max_attempts = @maxAttempts, updated_at = @now WHERE id = @id`,
      ),
      delete: db.prepare('DELETE FROM outbox_messages WHERE id = ?'),
      counts: db.prepare('SELECT status, COUNT(*) AS n FROM outbox_messages GROUP BY status'),
      countsByMailbox: db.prepare('SELECT status, COUNT(*) AS n FROM outbox_messages WHERE mailbox_id = ? GROUP BY status'),
      settings: db.prepare('SELECT * FROM outbox_settings WHERE mailbox_id = ?'),
      saveSettings: db.prepare(
        `INSERT INTO outbox_settings (mailbox_id, max_attempts, first_retry_seconds, retry_factor, max_retry_seconds, connections, messages_per_connection, timeout_seconds, debug, updated_at)
         VALUES (@mailboxId, @maxAttempts, @firstRetrySeconds, @retryFactor, @maxRetrySeconds, @connections, @messagesPerConnection, @timeoutSeconds, @debug, @now)
         ON CONFLICT (mailbox_id) DO UPDATE SET max_attempts = excluded.max_attempts, first_retry_seconds = excluded.first_retry_seconds,
           retry_factor = excluded.retry_factor, max_retry_seconds = excluded.max_retry_seconds, connections = excluded.connections,
           messages_per_connection = excluded.messages_per_connection, timeout_seconds = excluded.timeout_seconds, debug = excluded.debug,
           updated_at = excluded.updated_at`,
      ),
    };
  }

  /** Runs `fn` in one transaction (IMMEDIATE, so writers never deadlock on upgrade). */
  transaction<T>(fn: () => T): T {
    return this.db.transaction(fn).immediate();
  }

  /** Inserts messages with their bodies, recipients and first history row; returns their ids. Call inside a transaction. */
  insert(message: NewOutboxMessage, now: number, note: string): number {
    const preview = message.recipients.slice(0, PREVIEW_RECIPIENTS).join(', ') + (message.recipients.length > PREVIEW_RECIPIENTS ? ', ...' : '');
    const wait = message.waitingForSignIn;
    const info = this.stmt.insertMessage.run({
      mailboxId: message.mailboxId,
      source: message.source,
      messageId: message.messageId,
      envelopeFrom: message.envelopeFrom,
      subject: message.subject,
      preview,
      count: message.recipients.length,
      size: message.raw.length,
      maxAttempts: message.maxAttempts,
      now,
      submittedBy: message.submittedBy,
      status: wait ? 'waiting-sign-in' : 'queued',
      nextAttemptAt: wait ? null : now,
      errorCode: wait?.code ?? null,
      errorMessage: wait?.message ?? null,
      errorHint: wait?.hint ?? null,
      errorAt: wait ? now : null,
    });
    const id = Number(info.lastInsertRowid);
    this.stmt.insertBody.run(id, message.raw);
    message.recipients.forEach((address, position) => this.stmt.insertRecipient.run(id, position, address));
    this.stmt.insertHistory.run(id, now, 'queued', note);
    if (wait) this.stmt.insertHistory.run(id, now, 'waiting-sign-in', `waiting for a Microsoft sign-in (${wait.code}); no try is spent until then`);
    return id;
  }

  /**
   * Claims up to `limit` due messages of a mailbox, oldest due first: they
   * become `sending`. Call inside an IMMEDIATE transaction, so that no other
   * connection can claim the same rows in between.
   */
  claimDue(mailboxId: number, now: number, limit: number): ClaimedMessage[] {
    const rows = this.stmt.due.all({ mailboxId, now, limit }) as {
      id: number;
      mailbox_id: number;
      status: 'queued' | 'deferred';
      message_id: string;
      envelope_from: string;
      subject: string;
      attempts: number;
      max_attempts: number;
      next_attempt_at: number | null;
      submitted_by: string | null;
    }[];
    const taken = rows.filter((r) => {
      if (!this.stmt.markSending.run(now, r.id).changes) return false;
      this.stmt.insertHistory.run(r.id, now, 'sending', `try ${r.attempts + 1} of ${r.max_attempts}`);
      return true;
    });
    if (!taken.length) return [];
    // Bodies and recipients of the whole batch in two reads.
    const ids = JSON.stringify(taken.map((r) => r.id));
    const bodies = new Map((this.stmt.bodiesOf.all(ids) as { outbox_id: number; raw: Buffer }[]).map((b) => [b.outbox_id, b.raw]));
    const recipients = new Map<number, string[]>();
    for (const r of this.stmt.openRecipientsOf.all(ids) as { outbox_id: number; address: string }[]) {
      const list = recipients.get(r.outbox_id);
      if (list) list.push(r.address);
      else recipients.set(r.outbox_id, [r.address]);
    }
    const claimed: ClaimedMessage[] = taken.map((r) => ({
      id: r.id,
      mailboxId: r.mailbox_id,
      messageId: r.message_id,
      envelopeFrom: r.envelope_from,
      subject: r.subject,
      recipients: recipients.get(r.id) ?? [],
      raw: bodies.get(r.id)!,
      attempts: r.attempts,
      maxAttempts: r.max_attempts,
      submittedBy: r.submitted_by,
      previousStatus: r.status,
      previousNextAttemptAt: r.next_attempt_at,
    }));
    return claimed;
  }

  /** Records one try: message row, recipients, attempt row, history row. Call inside a transaction. */
  recordAttempt(record: AttemptRecord): void {
    const e = record.error;
    this.stmt.applyAttempt.run({
      id: record.id,
      status: record.status,
      nextAttemptAt: record.nextAttemptAt,
      finishedAt: record.finishedAt,
      code: e?.code ?? null,
      message: e?.message ?? null,
      hint: e?.hint ?? null,
      reply: e?.reply ?? null,
      stage: e?.stage ?? null,
      acceptedReply: record.acceptedReply,
      serverQueueId: record.serverQueueId,
    });
    if (record.status === 'sent' && !record.recipients.length) {
      this.stmt.acceptOpenRecipients.run(record.finishedAt, record.id);
    } else {
      for (const r of record.recipients) this.stmt.updateRecipient.run({ id: record.id, address: r.address, status: r.status, reply: r.reply, at: record.finishedAt });
    }
    if (record.transcript !== null) this.stmt.clearTranscripts.run(record.id);
    this.stmt.insertAttempt.run({
      id: record.id,
      startedAt: record.startedAt,
      finishedAt: record.finishedAt,
      outcome: record.outcome,
      code: e?.code ?? null,
      message: e?.message ?? null,
      hint: e?.hint ?? null,
      reply: e?.reply ?? null,
      stage: e?.stage ?? null,
      transcript: record.transcript,
    });
    this.stmt.insertHistory.run(record.id, record.finishedAt, record.status, record.note);
  }

  /** Puts a claimed message back unsent (its try never started). Call inside a transaction. */
  release(message: Pick<ClaimedMessage, 'id' | 'previousStatus'>, nextAttemptAt: number, now: number, note: string): boolean {
    const changed = this.stmt.release.run({ id: message.id, status: message.previousStatus, nextAttemptAt, now }).changes > 0;
    if (changed) this.stmt.insertHistory.run(message.id, now, message.previousStatus, note);
    return changed;
  }

  /**
   * Holds a mailbox's mail for a sign-in: its queued and deferred messages,
   * and the given ones it claimed (`sending`, never on the wire), become
   * `waiting-sign-in` with the reason as their last error. Tries are left
   * as they are. Returns the ids. Call inside a transaction.
   */
  holdForSignIn(mailboxId: number, claimedIds: number[], wait: SignInWait, now: number, note: string): number[] {
    const rows = this.db
      .prepare(
        `SELECT id FROM outbox_messages INDEXED BY outbox_by_mailbox WHERE mailbox_id = @mailboxId AND status IN ('queued', 'deferred')
         UNION SELECT id FROM outbox_messages WHERE id IN (SELECT value FROM json_each(@claimed)) AND mailbox_id = @mailboxId AND status = 'sending'`,
      )
      .pluck()
      .all({ mailboxId, claimed: JSON.stringify(claimedIds) }) as number[];
    const hold = this.db.prepare(
      `UPDATE outbox_messages SET status = 'waiting-sign-in', next_attempt_at = NULL, updated_at = @now,
         last_error_code = @code, last_error_message = @message, last_error_hint = @hint, last_error_reply = NULL, last_error_stage = 'AUTH', last_error_at = @now
       WHERE id = @id`,
    );
    for (const id of rows) {
      hold.run({ id, now, code: wait.code, message: wait.message, hint: wait.hint });
      this.stmt.insertHistory.run(id, now, 'waiting-sign-in', note);
    }
    return rows;
  }

  /**
   * Releases a mailbox's mail that waits for a sign-in: due now, `queued`
   * when it was never tried, else `deferred` with its tries as they were.
   * Returns the ids. Call inside a transaction.
   */
  releaseSignInWait(mailboxId: number, now: number, note: string): number[] {
    const rows = this.db
      .prepare(`SELECT id, attempts FROM outbox_messages INDEXED BY outbox_by_mailbox WHERE mailbox_id = ? AND status = 'waiting-sign-in'`)
      .all(mailboxId) as { id: number; attempts: number }[];
    const release = this.db.prepare(`UPDATE outbox_messages SET status = ?, next_attempt_at = ?, updated_at = ? WHERE id = ? AND status = 'waiting-sign-in'`);
    for (const r of rows) {
      const status = r.attempts === 0 ? 'queued' : 'deferred';
      release.run(status, now, now, r.id);
      this.stmt.insertHistory.run(r.id, now, status, note);
    }
    return rows.map((r) => r.id);
  }

  /** How many messages wait for a sign-in, of one mailbox or all. */
  countWaitingForSignIn(mailboxId?: number): number {
    return mailboxId === undefined
      ? (this.db.prepare(`SELECT COUNT(*) FROM outbox_messages INDEXED BY outbox_by_status WHERE status = 'waiting-sign-in'`).pluck().get() as number)
      : (this.db.prepare(`SELECT COUNT(*) FROM outbox_messages INDEXED BY outbox_by_mailbox WHERE mailbox_id = ? AND status = 'waiting-sign-in'`).pluck().get(mailboxId) as number);
  }

  /** Makes the mailbox's queued and deferred messages that wait for later due now; returns their ids. Call inside a transaction. */
  makeDueNow(mailboxId: number, now: number, note: string): number[] {
    const rows = this.db
      .prepare(`SELECT id, status FROM outbox_messages INDEXED BY outbox_due WHERE mailbox_id = ? AND status IN ('queued', 'deferred') AND next_attempt_at > ?`)
      .all(mailboxId, now) as { id: number; status: string }[];
    const update = this.db.prepare('UPDATE outbox_messages SET next_attempt_at = ?, updated_at = ? WHERE id = ?');
    for (const r of rows) {
      update.run(now, now, r.id);
      this.stmt.insertHistory.run(r.id, now, r.status, note);
    }
    return rows.map((r) => r.id);
  }

  /** The earliest time a queued or deferred message of the mailbox is due, or null when none waits. */
  earliestDue(mailboxId: number): number | null {
    return (this.stmt.earliestDue.get(mailboxId) as number | null) ?? null;
  }

  /**
   * Crash recovery: every message left `sending` (the process that claimed it
   * stopped without recording the outcome) is queued again, due now. Its
   * try is not counted: nobody knows how it ended. Call inside a transaction.
   */
  recoverSending(now: number, note: string): number[] {
    const ids = this.stmt.sendingIds.all() as number[];
    for (const id of ids) {
      if (this.stmt.recoverOne.run({ id, now }).changes) this.stmt.insertHistory.run(id, now, 'queued', note);
    }
    return ids;
  }

  /** One message's list line. */
  get(id: number): OutboxSummary | undefined {
    const row = this.stmt.getRow.get(id) as MessageRow | undefined;
    return row && toSummary(row);
  }

  /** Who queued a message. */
  submittedBy(id: number): string | null {
    return (this.stmt.getRow.get(id) as MessageRow | undefined)?.submitted_by ?? null;
  }

  /** The MIME bytes of a message. */
  body(id: number): Buffer | undefined {
    return this.stmt.body.get(id) as Buffer | undefined;
  }

  recipients(id: number): OutboxRecipient[] {
    return (this.stmt.recipients.all(id) as { address: string; status: RecipientStatus; reply: string | null }[]).map((r) => ({ address: r.address, status: r.status, reply: r.reply }));
  }

  history(id: number): OutboxHistoryEntry[] {
    return this.stmt.history.all(id) as OutboxHistoryEntry[];
  }

  attempts(id: number): OutboxAttempt[] {
    return (
      this.stmt.attempts.all(id) as {
        number: number;
        started_at: number;
        finished_at: number;
        outcome: AttemptOutcome;
        code: string | null;
        message: string | null;
        hint: string | null;
        reply: string | null;
        stage: string | null;
      }[]
    ).map((a) => ({
      number: a.number,
      startedAt: a.started_at,
      finishedAt: a.finished_at,
      outcome: a.outcome,
      code: a.code,
      message: a.message,
      hint: a.hint,
      serverReply: a.reply,
      stage: a.stage,
    }));
  }

  /** The stored transcript JSON of the last try that kept one. */
  lastTranscript(id: number): string | null {
    return (this.stmt.lastTranscript.get(id) as string | undefined) ?? null;
  }

  /** Changes the status by an admin's action, with a history row. Call inside a transaction. */
  setStatus(id: number, status: OutboxStatus, nextAttemptAt: number | null, maxAttempts: number, now: number, note: string): void {
    this.stmt.setStatus.run({ id, status, nextAttemptAt, maxAttempts, now });
    this.stmt.insertHistory.run(id, now, status, note);
  }

  delete(id: number): boolean {
    return this.stmt.delete.run(id).changes > 0;
  }

  counts(mailboxId?: number): OutboxCounts {
    const rows = (mailboxId === undefined ? this.stmt.counts.all() : this.stmt.countsByMailbox.all(mailboxId)) as { status: OutboxStatus; n: number }[];
    const counts = Object.fromEntries(OUTBOX_STATUSES.map((s) => [s, 0])) as OutboxCounts;
    for (const r of rows) counts[r.status] = r.n;
    return counts;
  }

  /** One page of the list, by keyset on the chosen order's index. */
  list(query: OutboxListQuery): { items: OutboxSummary[]; nextCursor: string | null } {
    const where: string[] = [];
    const params: Record<string, unknown> = {};
    if (query.mailboxId !== undefined) (where.push('m.mailbox_id = @mailboxId'), (params.mailboxId = query.mailboxId));
    const statuses = query.statuses?.length ? query.statuses : query.view === 'pending' ? PENDING_STATUSES : undefined;
    if (statuses) {
      const names = statuses.map((s, i) => ((params[`s${i}`] = s), `@s${i}`));
      where.push(`m.status IN (${names.join(', ')})`);
    }
    if (query.since !== undefined) (where.push('m.created_at >= @since'), (params.since = query.since));
    if (query.until !== undefined) (where.push('m.created_at < @until'), (params.until = query.until));
    if (query.text) {
      params.text = `%${query.text.replace(/[\\%_]/g, (c) => '\\' + c)}%`;
      where.push(
        `(m.subject LIKE @text ESCAPE '\\' OR m.recipients_preview LIKE @text ESCAPE '\\' OR m.message_id LIKE @text ESCAPE '\\' OR m.envelope_from LIKE @text ESCAPE '\\'
          OR EXISTS (SELECT 1 FROM outbox_recipients r WHERE r.outbox_id = m.id AND r.address LIKE @text ESCAPE '\\'))`,
      );
      const asId = /^#?(\d{1,15})$/.exec(query.text);
      if (asId) {
        where[where.length - 1] = `(${where[where.length - 1]} OR m.id = @textId)`;
        params.textId = Number(asId[1]);
      }
    }
    const column = SORT_COLUMN[query.sort];
    const desc = query.direction === 'desc';
    const cursor = query.cursor ? decodeCursor(query.cursor) : undefined;
    if (cursor) {
      params.cid = cursor.id;
      if (!column) {
        where.push(desc ? 'm.id < @cid' : 'm.id > @cid');
      } else if (cursor.value === null) {
        // NULLs sort first ascending and last descending, as SQLite orders them.
        where.push(desc ? `(${column} IS NULL AND m.id < @cid)` : `((${column} IS NULL AND m.id > @cid) OR ${column} IS NOT NULL)`);
      } else {
        params.cv = cursor.value;
        where.push(
          desc
            ? `(${column} < @cv OR (${column} = @cv AND m.id < @cid) OR ${column} IS NULL)`
            : `(${column} > @cv OR (${column} = @cv AND m.id > @cid))`,
        );
      }
    }
    const dir = desc ? 'DESC' : 'ASC';
    const order = column ? `${column} ${dir}, m.id ${dir}` : `m.id ${dir}`;
    params.limit = query.limit + 1;
    const sql = `SELECT ${SUMMARY_COLUMNS} FROM outbox_messages m JOIN mailboxes mb ON mb.id = m.mailbox_id
      ${where.length ? 'WHERE ' + where.join(' AND ') : ''} ORDER BY ${order} LIMIT @limit`;
    const rows = this.db.prepare(sql).all(params) as MessageRow[];
    const more = rows.length > query.limit;
    const page = rows.slice(0, query.limit).map(toSummary);
    const last = page[page.length - 1];
    const lastValue = !last ? null : query.sort === 'nextAttempt' ? last.nextAttemptAt : null;
    return { items: page, nextCursor: more && last ? encodeCursor(lastValue, last.id) : null };
  }

  /** A mailbox's outbox settings (the defaults when none are stored). */
  settings(mailboxId: number): OutboxSettings {
    const row = this.stmt.settings.get(mailboxId) as SettingsRow | undefined;
    if (!row) return { ...DEFAULT_OUTBOX_SETTINGS };
    return {
      maxAttempts: row.max_attempts,
      firstRetrySeconds: row.first_retry_seconds,
      retryFactor: row.retry_factor,
      maxRetrySeconds: row.max_retry_seconds,
      connections: row.connections,
      messagesPerConnection: row.messages_per_connection,
      timeoutSeconds: row.timeout_seconds,
      debug: row.debug === 1,
    };
  }

  saveSettings(mailboxId: number, settings: OutboxSettings, now: number): void {
    this.stmt.saveSettings.run({ mailboxId, ...settings, debug: settings.debug ? 1 : 0, now });
  }
}
