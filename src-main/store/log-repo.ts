/**
 * The log_entries table. Pages are read by keyset (`id < ?`) on indexes,
 * never by OFFSET, so a page costs the same at any depth.
 */
import type { Db } from './db.js';
import type { LogDirection, LogEntry, LogInput, LogLevel } from '../shared/activity-log.js';

interface LogRow {
  id: number;
  at: number;
  mailbox_id: number | null;
  mailbox_name: string | null;
  direction: string;
  level: string;
  code: string | null;
  message: string;
  detail: string | null;
  ref_kind: string | null;
  ref_id: number | null;
  repeat_count: number;
  first_at: number | null;
}

function toEntry(r: LogRow): LogEntry {
  return {
    id: r.id,
    at: r.at,
    mailboxId: r.mailbox_id,
    mailboxName: r.mailbox_name,
    direction: r.direction as LogEntry['direction'],
    level: r.level as LogEntry['level'],
    code: r.code,
    message: r.message,
    detail: r.detail,
    refKind: r.ref_kind as LogEntry['refKind'],
    refId: r.ref_id,
    repeats: r.repeat_count ?? 1,
    firstAt: r.first_at ?? null,
  };
}

/** Filters of a log query; all optional. */
export interface LogFilter {
  mailboxId?: number;
  direction?: LogDirection;
  level?: LogLevel;
  code?: string;
  /** ms UTC, inclusive. */
  since?: number;
  /** ms UTC, exclusive. */
  until?: number;
  /** Free text, matched in message and detail. */
  text?: string;
  refKind?: LogEntry['refKind'];
  refId?: number;
  /** Keyset: only entries with a smaller id (the next page). */
  beforeId?: number;
  /** Keyset: only entries with a larger id (the live tail). */
  afterId?: number;
}

export class LogRepo {
  private readonly insertStmt;
  private readonly latestStmt;
  private readonly deleteStmt;
  private getStmt: ReturnType<Db['prepare']> | undefined;

  constructor(private readonly db: Db) {
    this.insertStmt = db.prepare(
      `INSERT INTO log_entries (at, mailbox_id, mailbox_name, direction, level, code, message, detail, ref_kind, ref_id, repeat_count, first_at)
       VALUES (@at, @mailboxId, (SELECT name FROM mailboxes WHERE id = @mailboxId), @direction, @level, @code, @message, @detail, @refKind, @refId, @repeats, @firstAt)
       RETURNING *`,
    );
    // The newest entry of a mailbox (or of no mailbox), from the (mailbox_id, id) index.
    this.latestStmt = db.prepare('SELECT * FROM log_entries WHERE mailbox_id IS @mailboxId ORDER BY id DESC LIMIT 1');
    this.deleteStmt = db.prepare('DELETE FROM log_entries WHERE id = ?');
  }

  /** The newest entry of a mailbox (null: of no mailbox). */
  latestOf(mailboxId: number | null): LogEntry | undefined {
    const row = this.latestStmt.get({ mailboxId }) as LogRow | undefined;
    return row && toEntry(row);
  }

  /**
   * Replaces `previous` by `input` as its repeat: one entry, newest by id (so
   * keyset pages and the live tail see it as new), counting both, with the
   * first time of `previous`. Run inside a transaction.
   */
  insertRepeat(previous: LogEntry, input: LogInput & { at: number }): LogEntry {
    this.deleteStmt.run(previous.id);
    return this.insert(input, { repeats: previous.repeats + 1, firstAt: previous.firstAt ?? previous.at });
  }

  /** Appends an entry and returns it as stored (one statement: the row comes back with RETURNING). */
  insert(input: LogInput & { at: number }, repeat: { repeats: number; firstAt: number | null } = { repeats: 1, firstAt: null }): LogEntry {
    const row = this.insertStmt.get({
      repeats: repeat.repeats,
      firstAt: repeat.firstAt,
      at: input.at,
      mailboxId: input.mailboxId ?? null,
      direction: input.direction,
      level: input.level,
      code: input.code ?? null,
      message: input.message,
      detail: input.detail ?? null,
      refKind: input.refKind ?? null,
      refId: input.refId ?? null,
    }) as LogRow;
    return toEntry(row);
  }

  get(id: number): LogEntry | undefined {
    this.getStmt ??= this.db.prepare('SELECT * FROM log_entries WHERE id = ?');
    const row = this.getStmt.get(id) as LogRow | undefined;
    return row && toEntry(row);
  }

  /** How many entries match a filter (keyset bounds ignored). */
  count(filter: LogFilter): number {
    const { where, params } = this.conditions({ ...filter, beforeId: undefined, afterId: undefined });
    const row = this.db.prepare(`SELECT COUNT(*) AS n FROM log_entries ${where.length ? 'WHERE ' + where.join(' AND ') : ''}`).get(params) as { n: number };
    return row.n;
  }

  /** Newest first (oldest first with `afterId`), at most `limit` entries. */
  query(filter: LogFilter, limit: number): LogEntry[] {
    const { where, params } = this.conditions(filter);
    const order = filter.afterId !== undefined ? 'ASC' : 'DESC';
    const sql = `SELECT * FROM log_entries ${where.length ? 'WHERE ' + where.join(' AND ') : ''} ORDER BY id ${order} LIMIT @limit`;
    return (this.db.prepare(sql).all({ ...params, limit }) as LogRow[]).map(toEntry);
  }

  private conditions(filter: LogFilter): { where: string[]; params: Record<string, unknown> } {
    const where: string[] = [];
    const params: Record<string, unknown> = {};
    if (filter.mailboxId !== undefined) (where.push('mailbox_id = @mailboxId'), (params.mailboxId = filter.mailboxId));
    if (filter.direction) (where.push('direction = @direction'), (params.direction = filter.direction));
    if (filter.level) (where.push('level = @level'), (params.level = filter.level));
    if (filter.code) (where.push('code = @code'), (params.code = filter.code));
    if (filter.since !== undefined) (where.push('at >= @since'), (params.since = filter.since));
    if (filter.until !== undefined) (where.push('at < @until'), (params.until = filter.until));
    if (filter.refKind) (where.push('ref_kind = @refKind'), (params.refKind = filter.refKind));
    if (filter.refId !== undefined) (where.push('ref_id = @refId'), (params.refId = filter.refId));
    if (filter.text) {
      where.push("(message LIKE @text ESCAPE '\\' OR detail LIKE @text ESCAPE '\\')");
      params.text = `%${filter.text.replace(/[\\%_]/g, (c) => '\\' + c)}%`;
    }
    if (filter.beforeId !== undefined) (where.push('id < @beforeId'), (params.beforeId = filter.beforeId));
    if (filter.afterId !== undefined) (where.push('id > @afterId'), (params.afterId = filter.afterId));
    return { where, params };
  }
}
