/**
 * The engine's activity log: every send, receive, poll, test, sign-in and
 * engine event is one entry, announced live as `logs.appended`.
 */
import type { LogEntry, LogInput } from '../shared/activity-log.js';
import { LogRepo, type LogFilter } from '../store/log-repo.js';
import type { Db } from '../store/db.js';
import type { EventBus } from './events.js';

export class ActivityLog {
  private readonly repo: LogRepo;

  constructor(db: Db, private readonly events?: EventBus, private readonly clock: () => number = Date.now) {
    this.repo = new LogRepo(db);
  }

  /** Appends an entry and announces it. Messages must already be free of secrets. */
  write(input: LogInput): LogEntry {
    const entry = this.repo.insert({ ...input, at: input.at ?? this.clock() });
    this.events?.emit('logs.appended', entry);
    return entry;
  }

  /** A page of entries, newest first; see LogFilter for keyset paging. */
  query(filter: LogFilter = {}, limit = 100): LogEntry[] {
    return this.repo.query(filter, Math.max(1, Math.min(limit, 10_000)));
  }
}
