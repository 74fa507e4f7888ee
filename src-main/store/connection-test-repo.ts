/**
 * Stored connection-test results. Each row keeps the full (redacted) result
 * as JSON plus the columns the history list filters and sorts on. Only the
 * newest results are kept: CONNECTION_TEST_HISTORY_LIMIT per mailbox, and
 * as many ad-hoc ones (mailbox_id NULL).
 */
import type { Db } from './db.js';
import { ConnectionTestResult, CONNECTION_TEST_HISTORY_LIMIT, type ConnectionTestSummary } from '../shared/contract/connection-tests.js';

interface Row {
  id: number;
  result_json: string;
}

/** A result before it has a row id. */
export type NewConnectionTestResult = Omit<ConnectionTestResult, 'id'>;

export class ConnectionTestRepo {
  constructor(private readonly db: Db, private readonly keep = CONNECTION_TEST_HISTORY_LIMIT) {}

  /** Stores a result and drops the oldest beyond the limit for its mailbox; returns it with its id. */
  insert(result: NewConnectionTestResult): ConnectionTestResult {
    return this.db.transaction(() => {
      const info = this.db
        .prepare(
          `INSERT INTO connection_tests (run_id, mailbox_id, protocol, host, port, security, ok, cancelled, diagnosis_code, started_at, duration_ms, result_json)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, '{}')`,
        )
        .run(
          result.runId,
          result.mailboxId,
          result.protocol,
          result.target.host,
          result.target.port,
          result.target.security,
          result.ok ? 1 : 0,
          result.cancelled ? 1 : 0,
          result.diagnosis?.code ?? null,
          result.startedAt,
          result.durationMs,
        );
      const id = Number(info.lastInsertRowid);
      const stored: ConnectionTestResult = { id, ...result };
      this.db.prepare('UPDATE connection_tests SET result_json = ? WHERE id = ?').run(JSON.stringify(stored), id);
      this.db
        .prepare(
          `DELETE FROM connection_tests WHERE mailbox_id IS ? AND id < (
             SELECT MIN(id) FROM (SELECT id FROM connection_tests WHERE mailbox_id IS ? ORDER BY id DESC LIMIT ?))`,
        )
        .run(result.mailboxId, result.mailboxId, this.keep);
      return stored;
    })();
  }

  /** One result, or undefined. Rows that no longer parse (a damaged file) read as undefined. */
  get(id: number): ConnectionTestResult | undefined {
    const row = this.db.prepare('SELECT id, result_json FROM connection_tests WHERE id = ?').get(id) as Row | undefined;
    return row ? parseRow(row) : undefined;
  }

  /**
   * The newest results of a mailbox (null: the ad-hoc ones), newest first by
   * when they started: rows are not always inserted in that order (a bundle's
   * results are imported newest first, a CLI test is kept after it ran).
   */
  list(mailboxId: number | null, limit: number): ConnectionTestSummary[] {
    const rows = this.db
      .prepare('SELECT id, result_json FROM connection_tests WHERE mailbox_id IS ? ORDER BY started_at DESC, id DESC LIMIT ?')
      .all(mailboxId, Math.max(1, Math.min(limit, this.keep))) as Row[];
    return rows.flatMap((row) => {
      const r = parseRow(row);
      if (!r) return [];
      return [{ id: r.id, runId: r.runId, mailboxId: r.mailboxId, protocol: r.protocol, target: r.target, ok: r.ok, cancelled: r.cancelled, diagnosis: r.diagnosis, warningCodes: (r.warnings ?? []).map((w) => w.code), startedAt: r.startedAt, durationMs: r.durationMs }];
    });
  }

  /** How many results are stored for a mailbox (null: ad-hoc). */
  count(mailboxId: number | null): number {
    return (this.db.prepare('SELECT COUNT(*) AS n FROM connection_tests WHERE mailbox_id IS ?').get(mailboxId) as { n: number }).n;
  }
}

function parseRow(row: Row): ConnectionTestResult | undefined {
  try {
    const parsed = ConnectionTestResult.safeParse({ ...JSON.parse(row.result_json), id: row.id });
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}
