/**
 * The engine's activity log: every send, receive, poll, test, sign-in and
 * engine event is one entry, announced live as `logs.appended`.
 */
import { repeatsEntry, type LogEntry, type LogInput } from '../shared/activity-log.js';
import { DEFAULT_LOG_RETENTION, LogRetention, type LogFilterInput } from '../shared/contract/logs.js';
import { AppSettingsRepo } from '../store/app-settings-repo.js';
import { LogRepo, type LogFilter } from '../store/log-repo.js';
import type { Db } from '../store/db.js';
import type { EventBus } from './events.js';

const RETENTION_KEY = 'logs.retention';
const DAY_MS = 24 * 60 * 60 * 1000;
/** Rows deleted per transaction while pruning, so the UI and workers never wait long. */
const PRUNE_CHUNK = 5000;

export class ActivityLog {
  private readonly repo: LogRepo;
  private readonly settings: AppSettingsRepo;
  /** The last entry this process wrote per mailbox (null: no mailbox). */
  private readonly lastWritten = new Map<number | null, LogEntry>();

  constructor(private readonly db: Db, private readonly events?: EventBus, private readonly clock: () => number = Date.now) {
    this.repo = new LogRepo(db);
    this.settings = new AppSettingsRepo(db);
  }

  /**
   * Appends an entry and announces it. Messages must already be free of
   * secrets. A repeat of the mailbox's latest entry (see `repeatsEntry`)
   * replaces it, counted, so an event that recurs every minute is one line
   * with a count and its first and last time, not a screenful.
   */
  write(input: LogInput): LogEntry {
    const at = input.at ?? this.clock();
    const key = input.mailboxId ?? null;
    // The store is asked for the mailbox's latest entry only when this process's own last one
    // for it might be repeated (or is unknown): an import's thousand different entries cost one
    // statement each. Another process's entry in between can at worst leave two entries uncounted.
    const own = this.lastWritten.get(key);
    const entry =
      own && !repeatsEntry(own, input)
        ? this.repo.insert({ ...input, at })
        : this.db.transaction(() => {
            const previous = this.repo.latestOf(key);
            return previous && repeatsEntry(previous, input) ? this.repo.insertRepeat(previous, { ...input, at }) : this.repo.insert({ ...input, at });
          })();
    if (this.lastWritten.size > 10_000) this.lastWritten.clear();
    this.lastWritten.set(key, entry);
    this.events?.emit('logs.appended', entry);
    return entry;
  }

  /** A page of entries, newest first; see LogFilter for keyset paging. */
  query(filter: LogFilter = {}, limit = 100): LogEntry[] {
    return this.repo.query(filter, Math.max(1, Math.min(limit, 10_000)));
  }

  /** One page of the Logs screen: newest first, and the keyset of the next page. */
  page(filter: LogFilterInput, beforeId: number | undefined, limit: number): { entries: LogEntry[]; nextBeforeId: number | null } {
    const entries = this.query({ ...filter, ...(beforeId !== undefined ? { beforeId } : {}) }, limit);
    return { entries, nextBeforeId: entries.length === limit ? entries[entries.length - 1]!.id : null };
  }

  /** Every entry matching a filter, newest first, read page by page (for exports). */
  *iterate(filter: LogFilterInput, pageSize = 2000): Generator<LogEntry[]> {
    let beforeId: number | undefined;
    for (;;) {
      const entries = this.query({ ...filter, ...(beforeId !== undefined ? { beforeId } : {}) }, pageSize);
      if (entries.length) yield entries;
      if (entries.length < pageSize) return;
      beforeId = entries[entries.length - 1]!.id;
    }
  }

  /** How many entries match a filter. */
  count(filter: LogFilterInput): number {
    return this.repo.count(filter);
  }

  retention(): LogRetention {
    return this.settings.get(RETENTION_KEY, LogRetention, DEFAULT_LOG_RETENTION);
  }

  setRetention(value: LogRetention): LogRetention {
    const parsed = LogRetention.parse(value);
    this.settings.set(RETENTION_KEY, parsed);
    return parsed;
  }

  /**
   * Removes entries older than the retention's days or beyond its newest rows,
   * a chunk per transaction, yielding between chunks so nothing waits on it.
   */
  async prune(): Promise<number> {
    const { maxDays, maxRows } = this.retention();
    const cutoffTime = this.clock() - maxDays * DAY_MS;
    const newest = this.db.prepare('SELECT id FROM log_entries ORDER BY id DESC LIMIT 1 OFFSET ?').get(maxRows - 1) as { id: number } | undefined;
    const keepFromId = newest?.id ?? 0;
    const chunk = this.db.prepare(
      `DELETE FROM log_entries WHERE id IN (SELECT id FROM log_entries WHERE id < @keepFromId OR at < @cutoffTime ORDER BY id LIMIT ${PRUNE_CHUNK})`,
    );
    let removed = 0;
    for (let i = 0; i < 100_000; i++) {
      const changes = chunk.run({ keepFromId, cutoffTime }).changes;
      removed += changes;
      if (changes < PRUNE_CHUNK) break;
      await new Promise((resolve) => setImmediate(resolve));
    }
    return removed;
  }

  /** Prunes now and then every `intervalMs` (default hourly) until stopped. */
  startRetention(intervalMs = 60 * 60 * 1000): () => void {
    let stopped = false;
    const run = () => {
      if (!stopped) void this.prune().catch(() => undefined);
    };
    const first = setTimeout(run, 5_000);
    const timer = setInterval(run, intervalMs);
    first.unref?.();
    timer.unref?.();
    return () => {
      stopped = true;
      clearTimeout(first);
      clearInterval(timer);
    };
  }
}
