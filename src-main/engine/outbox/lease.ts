/**
 * One sender per data folder: the process that runs the outbox holds a
 * lease row with a heartbeat. Another process (the desktop app and
 * `mailroom engine run` side by side) sees it and does not send, so two
 * processes never send the same message, and crash recovery never queues
 * again a message that a live process is sending. A holder that died (its
 * process is gone, or its heartbeat stopped) is replaced.
 */
import crypto from 'node:crypto';
import os from 'node:os';
import type { Db } from '../../store/db.js';

/** How often the holder renews the lease, ms. */
export const HEARTBEAT_MS = 5_000;
/** A heartbeat older than this means the holder hung or died, ms. */
export const STALE_MS = 30_000;

/** Who holds the lease. */
export interface LeaseHolder {
  pid: number;
  host: string;
  runtime: string;
  since: number;
}

interface LeaseRow {
  holder: string;
  pid: number;
  host: string;
  runtime: string;
  acquired_at: number;
  heartbeat_at: number;
}

/** True when a process with this id runs on this computer. */
export function processAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The outbox lease of one data folder. */
export class EngineLease {
  private readonly id = crypto.randomUUID();
  private timer: NodeJS.Timeout | undefined;
  private held = false;

  constructor(
    private readonly db: Db,
    private readonly name = 'outbox',
    private readonly clock: () => number = Date.now,
  ) {}

  get isHeld(): boolean {
    return this.held;
  }

  /** The current holder, when another live process holds the lease. */
  otherHolder(): LeaseHolder | null {
    const row = this.db.prepare('SELECT * FROM engine_lease WHERE name = ?').get(this.name) as LeaseRow | undefined;
    if (!row || row.holder === this.id || !this.alive(row)) return null;
    return { pid: row.pid, host: row.host, runtime: row.runtime, since: row.acquired_at };
  }

  private alive(row: LeaseRow): boolean {
    if (this.clock() - row.heartbeat_at > STALE_MS) return false;
    // On this computer a dead process is certain; elsewhere (a shared folder) trust the heartbeat.
    return row.host !== os.hostname() || processAlive(row.pid);
  }

  /** Takes the lease unless a live process holds it; returns that holder when it does. */
  acquire(runtime: string): LeaseHolder | null {
    const now = this.clock();
    const result = this.db
      .transaction(() => {
        const row = this.db.prepare('SELECT * FROM engine_lease WHERE name = ?').get(this.name) as LeaseRow | undefined;
        if (row && row.holder !== this.id && this.alive(row)) return { pid: row.pid, host: row.host, runtime: row.runtime, since: row.acquired_at };
        this.db
          .prepare(
            `INSERT INTO engine_lease (name, holder, pid, host, runtime, acquired_at, heartbeat_at) VALUES (?, ?, ?, ?, ?, ?, ?)
             ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, pid = excluded.pid, host = excluded.host, runtime = excluded.runtime,
               acquired_at = excluded.acquired_at, heartbeat_at = excluded.heartbeat_at`,
          )
          .run(this.name, this.id, process.pid, os.hostname(), runtime, now, now);
        return null;
      })
      .immediate();
    if (result) return result;
    this.held = true;
    this.timer = setInterval(() => this.beat(), HEARTBEAT_MS);
    this.timer.unref();
    return null;
  }

  private beat(): void {
    try {
      const changed = this.db.prepare('UPDATE engine_lease SET heartbeat_at = ? WHERE name = ? AND holder = ?').run(this.clock(), this.name, this.id).changes;
      if (!changed) this.held = false;
    } catch {
      // A busy database skips one beat; the next one catches up well before STALE_MS.
    }
  }

  /** Gives the lease up. */
  release(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    if (!this.held) return;
    this.held = false;
    try {
      this.db.prepare('DELETE FROM engine_lease WHERE name = ? AND holder = ?').run(this.name, this.id);
    } catch {
      // The database may already be closed; the heartbeat then goes stale.
    }
  }
}
