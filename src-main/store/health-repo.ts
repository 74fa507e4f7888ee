/**
 * The mail-flow tables (migration 012): probe settings, the probe history,
 * each mailbox's last health state; and the few indexed reads the health
 * facts need from the inbox, outbox and connection-test tables (one short
 * query each per mailbox, so an overview of 50 mailboxes stays fast).
 */
import type { Db } from './db.js';
import type { HealthState, ProbeRecord, ProbeSettings } from '../shared/health.js';
import { DEFAULT_PROBE_INTERVAL_SECONDS, DEFAULT_PROBE_SLOW_MS, DEFAULT_PROBE_TIMEOUT_SECONDS } from '../shared/health.js';

interface ProbeRow {
  id: number;
  mailbox_id: number;
  target: string;
  trigger: ProbeRecord['trigger'];
  status: ProbeRecord['status'];
  started_at: number;
  finished_at: number | null;
  send_ms: number | null;
  deliver_ms: number | null;
  total_ms: number | null;
  folder: string | null;
  code: string | null;
  message: string | null;
  hint: string | null;
}

const PROBE_COLUMNS = 'id, mailbox_id, target, trigger, status, started_at, finished_at, send_ms, deliver_ms, total_ms, folder, code, message, hint';

function toProbe(r: ProbeRow): ProbeRecord {
  return {
    id: r.id,
    mailboxId: r.mailbox_id,
    target: r.target,
    trigger: r.trigger,
    status: r.status,
    startedAt: r.started_at,
    finishedAt: r.finished_at,
    sendMs: r.send_ms,
    deliverMs: r.deliver_ms,
    totalMs: r.total_ms,
    folder: r.folder,
    diagnosis: r.code ? { code: r.code, message: r.message ?? '', hint: r.hint ?? '' } : null,
  };
}

/** How a probe ended. */
export interface ProbeOutcome {
  status: 'delivered' | 'failed';
  finishedAt: number;
  sendMs: number | null;
  deliverMs: number | null;
  totalMs: number | null;
  folder: string | null;
  diagnosis: { code: string; message: string; hint: string } | null;
}

/** A stored health state. */
export interface StoredHealthState {
  state: HealthState;
  reason: string;
  since: number;
}

export class HealthRepo {
  constructor(private readonly db: Db) {}

  // ---- probe settings ---------------------------------------------------

  /** A mailbox's probe settings (the defaults when none are stored). */
  probeSettings(mailboxId: number): ProbeSettings {
    return this.allProbeSettings().get(mailboxId) ?? defaultProbeSettings(mailboxId);
  }

  /** Every stored probe settings row, by mailbox. */
  allProbeSettings(): Map<number, ProbeSettings> {
    const rows = this.db.prepare('SELECT mailbox_id, enabled, interval_seconds, timeout_seconds, target_address, slow_threshold_ms FROM probe_settings').all() as {
      mailbox_id: number;
      enabled: number;
      interval_seconds: number;
      timeout_seconds: number;
      target_address: string | null;
      slow_threshold_ms: number;
    }[];
    return new Map(
      rows.map((r) => [
        r.mailbox_id,
        { mailboxId: r.mailbox_id, enabled: r.enabled === 1, intervalSeconds: r.interval_seconds, timeoutSeconds: r.timeout_seconds, targetAddress: r.target_address, slowThresholdMs: r.slow_threshold_ms },
      ]),
    );
  }

  saveProbeSettings(s: ProbeSettings, now: number): void {
    this.db
      .prepare(
        `INSERT INTO probe_settings (mailbox_id, enabled, interval_seconds, timeout_seconds, target_address, slow_threshold_ms, updated_at)
         VALUES (@mailboxId, @enabled, @intervalSeconds, @timeoutSeconds, @targetAddress, @slowThresholdMs, @now)
         ON CONFLICT (mailbox_id) DO UPDATE SET enabled = excluded.enabled, interval_seconds = excluded.interval_seconds, timeout_seconds = excluded.timeout_seconds,
           target_address = excluded.target_address, slow_threshold_ms = excluded.slow_threshold_ms, updated_at = excluded.updated_at`,
      )
      .run({ ...s, enabled: s.enabled ? 1 : 0, now });
  }

  // ---- probes ---------------------------------------------------------------

  /** Records a probe about to be sent; returns its id. Recorded before the send, so a crash leaves a trace. */
  startProbe(p: { mailboxId: number; token: string; trigger: ProbeRecord['trigger']; target: string; startedAt: number; pid: number }): number {
    return Number(
      this.db
        .prepare(`INSERT INTO probes (mailbox_id, token, trigger, target, status, started_at, pid) VALUES (@mailboxId, @token, @trigger, @target, 'running', @startedAt, @pid)`)
        .run(p).lastInsertRowid,
    );
  }

  finishProbe(id: number, o: ProbeOutcome): void {
    this.db
      .prepare(
        `UPDATE probes SET status = @status, finished_at = @finishedAt, send_ms = @sendMs, deliver_ms = @deliverMs, total_ms = @totalMs, folder = @folder,
           code = @code, message = @message, hint = @hint WHERE id = @id`,
      )
      .run({ id, status: o.status, finishedAt: o.finishedAt, sendMs: o.sendMs, deliverMs: o.deliverMs, totalMs: o.totalMs, folder: o.folder, code: o.diagnosis?.code ?? null, message: o.diagnosis?.message ?? null, hint: o.diagnosis?.hint ?? null });
  }

  /** Marks probes left 'running' by a process that is gone as interrupted. */
  interruptOrphans(isAlive: (pid: number | null) => boolean, now: number): number {
    const rows = this.db.prepare(`SELECT id, pid FROM probes WHERE status = 'running'`).all() as { id: number; pid: number | null }[];
    let n = 0;
    for (const r of rows) {
      if (isAlive(r.pid)) continue;
      this.finishProbe(r.id, {
        status: 'failed',
        finishedAt: now,
        sendMs: null,
        deliverMs: null,
        totalMs: null,
        folder: null,
        diagnosis: { code: 'PROBE_INTERRUPTED', message: 'The program that ran this probe stopped before the probe finished.', hint: 'Nothing to do: the next probe runs on schedule. A probe left on the server is never imported (it carries the X-Mailroom-Probe header).' },
      });
      n++;
    }
    return n;
  }

  probe(id: number): ProbeRecord | null {
    const row = this.db.prepare(`SELECT ${PROBE_COLUMNS} FROM probes WHERE id = ?`).get(id) as ProbeRow | undefined;
    return row ? toProbe(row) : null;
  }

  /** True when a probe with this token was recorded (by any process). */
  hasToken(token: string): boolean {
    return this.db.prepare('SELECT 1 FROM probes WHERE token = ?').get(token) !== undefined;
  }

  /** The newest finished probe of each mailbox (one indexed look per mailbox: the history grows by the minute). */
  lastProbes(mailboxIds: readonly number[]): Map<number, ProbeRecord> {
    const stmt = this.db.prepare(`SELECT ${PROBE_COLUMNS} FROM probes INDEXED BY probes_by_mailbox WHERE mailbox_id = ? AND status != 'running' ORDER BY id DESC LIMIT 1`);
    const out = new Map<number, ProbeRecord>();
    for (const id of mailboxIds) {
      const row = stmt.get(id) as ProbeRow | undefined;
      if (row) out.set(id, toProbe(row));
    }
    return out;
  }

  /** Probes since a moment, oldest first (of one mailbox or all), for the chart. */
  probesSince(since: number, mailboxId?: number, limit = 20_000): ProbeRecord[] {
    const rows = (
      mailboxId === undefined
        ? this.db.prepare(`SELECT ${PROBE_COLUMNS} FROM probes WHERE started_at >= ? ORDER BY started_at, id LIMIT ?`).all(since, limit)
        : this.db.prepare(`SELECT ${PROBE_COLUMNS} FROM probes WHERE mailbox_id = ? AND started_at >= ? ORDER BY id LIMIT ?`).all(mailboxId, since, limit)
    ) as ProbeRow[];
    return rows.map(toProbe);
  }

  /** When each mailbox's newest probe started (scheduled or not), for the schedule. */
  lastProbeStarts(mailboxIds: readonly number[]): Map<number, number> {
    const stmt = this.db.prepare('SELECT started_at FROM probes INDEXED BY probes_by_mailbox WHERE mailbox_id = ? ORDER BY id DESC LIMIT 1').pluck();
    const out = new Map<number, number>();
    for (const id of mailboxIds) {
      const at = stmt.get(id) as number | undefined;
      if (at !== undefined) out.set(id, at);
    }
    return out;
  }

  /**
   * Probes for the chart since a moment, oldest first: every failure, and the
   * delivered ones averaged per mailbox and time bucket, so that a week of
   * probes every minute stays a few hundred points per mailbox.
   */
  chartProbes(since: number, bucketMs: number, mailboxId?: number): ProbeRecord[] {
    const filter = mailboxId === undefined ? '' : 'AND mailbox_id = @mailboxId';
    const params = { since, bucket: Math.max(1, Math.floor(bucketMs)), ...(mailboxId === undefined ? {} : { mailboxId }) };
    const delivered = this.db
      .prepare(
        `SELECT MIN(id) AS id, mailbox_id, MIN(target) AS target, MIN(trigger) AS trigger, 'delivered' AS status, MIN(started_at) AS started_at, MAX(finished_at) AS finished_at,
                CAST(AVG(send_ms) AS INTEGER) AS send_ms, CAST(AVG(deliver_ms) AS INTEGER) AS deliver_ms, CAST(AVG(total_ms) AS INTEGER) AS total_ms,
                MIN(folder) AS folder, NULL AS code, NULL AS message, NULL AS hint
           FROM probes INDEXED BY probes_by_started WHERE started_at >= @since AND status = 'delivered' ${filter}
          GROUP BY mailbox_id, started_at / @bucket`,
      )
      .all(params) as ProbeRow[];
    const failed = this.db
      .prepare(`SELECT ${PROBE_COLUMNS} FROM probes INDEXED BY probes_by_started WHERE started_at >= @since AND status = 'failed' ${filter} ORDER BY started_at LIMIT 5000`)
      .all(params) as ProbeRow[];
    return [...delivered, ...failed].map(toProbe).sort((a, b) => a.startedAt - b.startedAt || a.id - b.id);
  }

  /** Removes probes older than a moment; returns how many. */
  pruneProbes(before: number): number {
    return this.db.prepare('DELETE FROM probes WHERE started_at < ?').run(before).changes;
  }

  // ---- health states ------------------------------------------------------

  states(): Map<number, StoredHealthState> {
    const rows = this.db.prepare('SELECT mailbox_id, state, reason, since FROM health_states').all() as { mailbox_id: number; state: HealthState; reason: string; since: number }[];
    return new Map(rows.map((r) => [r.mailbox_id, { state: r.state, reason: r.reason, since: r.since }]));
  }

  /**
   * Records a mailbox's state when it differs from the stored one; returns the
   * previous state when it changed (null when it was the first record), or
   * undefined when nothing changed. Compare-and-set in one statement, so two
   * processes noticing the same change log it once.
   */
  recordState(mailboxId: number, state: HealthState, reason: string, now: number): { changed: boolean; previous: StoredHealthState | null } {
    return this.db.transaction(() => {
      const before = this.db.prepare('SELECT state, reason, since FROM health_states WHERE mailbox_id = ?').get(mailboxId) as StoredHealthState | undefined;
      if (before && before.state === state) {
        if (before.reason !== reason) this.db.prepare('UPDATE health_states SET reason = ?, updated_at = ? WHERE mailbox_id = ?').run(reason, now, mailboxId);
        return { changed: false, previous: before };
      }
      this.db
        .prepare(
          `INSERT INTO health_states (mailbox_id, state, reason, since, updated_at) VALUES (?, ?, ?, ?, ?)
           ON CONFLICT (mailbox_id) DO UPDATE SET state = excluded.state, reason = excluded.reason, since = excluded.since, updated_at = excluded.updated_at`,
        )
        .run(mailboxId, state, reason, now, now);
      return { changed: true, previous: before ?? null };
    }).immediate();
  }

  // ---- facts from the other areas ---------------------------------------------

  /** The outbox's waiting messages of a mailbox: how many, and the oldest. */
  queue(mailboxId: number): { pending: number; oldestCreatedAt: number | null; oldestId: number | null } {
    const row = this.db
      .prepare(
        `SELECT COUNT(*) AS n, MIN(created_at) AS oldest FROM outbox_messages INDEXED BY outbox_by_mailbox
         WHERE mailbox_id = ? AND status IN ('queued', 'sending', 'deferred', 'waiting-sign-in')`,
      )
      .get(mailboxId) as { n: number; oldest: number | null };
    const oldestId =
      row.oldest === null
        ? null
        : ((this.db
            .prepare(`SELECT id FROM outbox_messages INDEXED BY outbox_by_mailbox WHERE mailbox_id = ? AND status IN ('queued', 'sending', 'deferred', 'waiting-sign-in') AND created_at = ? LIMIT 1`)
            .pluck()
            .get(mailboxId, row.oldest) as number | undefined) ?? null);
    return { pending: row.n, oldestCreatedAt: row.oldest, oldestId };
  }

  /** When the mailbox last sent a message (the newest sent row: messages are sent roughly in the order they were queued). */
  lastSentAt(mailboxId: number): number | null {
    const v = this.db.prepare(`SELECT sent_at FROM outbox_messages INDEXED BY outbox_by_mailbox WHERE mailbox_id = ? AND status = 'sent' ORDER BY id DESC LIMIT 1`).pluck().get(mailboxId);
    return (v as number | undefined) ?? null;
  }

  /** The receive state of every mailbox (inbox_state). */
  receiveStates(): Map<number, { lastSuccessAt: number | null; failures: number; code: string | null; message: string | null }> {
    const rows = this.db.prepare('SELECT mailbox_id, last_success_at, consecutive_failures, last_error_code, last_error_message FROM inbox_state').all() as {
      mailbox_id: number;
      last_success_at: number | null;
      consecutive_failures: number;
      last_error_code: string | null;
      last_error_message: string | null;
    }[];
    return new Map(rows.map((r) => [r.mailbox_id, { lastSuccessAt: r.last_success_at, failures: r.consecutive_failures, code: r.last_error_code, message: r.last_error_message }]));
  }

  /** The newest failed poll of a mailbox. */
  lastFailedPoll(mailboxId: number): number | null {
    const v = this.db.prepare(`SELECT id FROM inbox_polls WHERE mailbox_id = ? AND outcome = 'failed' ORDER BY id DESC LIMIT 1`).pluck().get(mailboxId);
    return (v as number | undefined) ?? null;
  }

  /** The newest connection test of a mailbox (either protocol). */
  lastConnectionTest(mailboxId: number): { id: number; ok: boolean; at: number; code: string | null } | null {
    const row = this.db
      .prepare('SELECT id, ok, started_at, diagnosis_code FROM connection_tests WHERE mailbox_id = ? AND cancelled = 0 ORDER BY id DESC LIMIT 1')
      .get(mailboxId) as { id: number; ok: number; started_at: number; diagnosis_code: string | null } | undefined;
    return row ? { id: row.id, ok: row.ok === 1, at: row.started_at, code: row.diagnosis_code } : null;
  }

  /** Access-token expiry of the mailboxes signed in with Microsoft 365. */
  tokenExpiries(): Map<number, number | null> {
    const rows = this.db.prepare('SELECT mailbox_id, access_expires_at FROM oauth_accounts').all() as { mailbox_id: number; access_expires_at: number | null }[];
    return new Map(rows.map((r) => [r.mailbox_id, r.access_expires_at]));
  }
}

/** A mailbox's probe settings before the admin changed any. */
export function defaultProbeSettings(mailboxId: number): ProbeSettings {
  return { mailboxId, enabled: false, intervalSeconds: DEFAULT_PROBE_INTERVAL_SECONDS, timeoutSeconds: DEFAULT_PROBE_TIMEOUT_SECONDS, targetAddress: null, slowThresholdMs: DEFAULT_PROBE_SLOW_MS };
}
