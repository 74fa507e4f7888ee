/**
 * The bundle sections of the engine's areas: connection tests, the outbox and
 * the inbox. The bundle service scrubs secrets from all of them; these only
 * choose what is useful to someone helping offline (no message bodies).
 */
import { ConnectionTestResult } from '../../shared/contract/connection-tests.js';
import { ConnectionTestRepo } from '../../store/connection-test-repo.js';
import type { Mailroom } from '../mailroom.js';
import { registerSectionImporter } from './viewer.js';
import { SECURITY_LABELS } from '../../shared/setting-words.js';
import { OUTBOX_STATUSES } from '../../shared/outbox.js';

/** "2 queued, 0 sending, 120 sent, 1 deferred, 0 failed, 0 cancelled". */
export function outboxCountWords(counts: Record<string, number> | undefined): string {
  if (!counts) return 'not collected';
  return OUTBOX_STATUSES.map((status) => `${counts[status] ?? 0} ${status}`).join(', ');
}

/** Full results kept per mailbox in a bundle (the list screen shows the newest). */
const TESTS_PER_MAILBOX = 10;

export function registerEngineSections(engine: Pick<Mailroom, 'diagnostics' | 'mailboxes' | 'connectionTests' | 'outbox' | 'inbox'>): void {
  engine.diagnostics.register({
    name: 'connection-tests',
    title: 'Recent connection tests (transcripts redacted)',
    collect: () => {
      const owners: (number | null)[] = [...engine.mailboxes.list().map((m) => m.id), null];
      return owners.flatMap((id) => engine.connectionTests.history(id, TESTS_PER_MAILBOX).map((summary) => engine.connectionTests.get(summary.id)));
    },
    summarize: (data) =>
      (data as ConnectionTestResult[]).map(
        (r) =>
          `${new Date(r.startedAt).toISOString()} ${r.protocol.toUpperCase()} ${r.target.host}:${r.target.port} ${SECURITY_LABELS[r.target.security]}: ${r.ok ? 'passed' : r.cancelled ? 'cancelled' : `failed, ${r.diagnosis?.code ?? ''} at ${r.diagnosis?.step ?? ''}`}`,
      ),
  });
  engine.diagnostics.register({
    name: 'outbox',
    title: 'Outbox (queue state, no message bodies)',
    collect: () => ({
      engine: engine.outbox.engineState(),
      counts: engine.outbox.counts(),
      pending: engine.outbox.list({ limit: 200 }),
    }),
    // In words, as the Outbox screen counts them, not the section's JSON.
    summarize: (data) => [`Messages by status: ${outboxCountWords((data as { counts?: Record<string, number> }).counts)}`],
  });
  engine.diagnostics.register({
    name: 'inbox',
    title: 'Inbox import (receive state per mailbox, recent polls)',
    collect: () => {
      const states = engine.inbox.states();
      return {
        states,
        polls: Object.fromEntries(engine.mailboxes.list().map((m) => [m.id, engine.inbox.polls(m.id, undefined, 20)])),
      };
    },
    summarize: (data) =>
      ((data as { states: { mailboxName?: string; mailboxId?: number; health?: string; lastError?: { code?: string } | null }[] }).states ?? []).map(
        (s) => `${s.mailboxName ?? `#${s.mailboxId}`}: ${s.health ?? 'unknown'}${s.lastError?.code ? `, last error ${s.lastError.code}` : ''}`,
      ),
  });
}

// In a bundle's read-only view, its connection tests show on the Connection tests screen.
registerSectionImporter('connection-tests', (engine, data) => {
  const repo = new ConnectionTestRepo(engine.db);
  // The bundle lists each mailbox's results newest first; stored oldest first they keep their order by id too.
  for (const raw of (Array.isArray(data) ? data : []).slice().reverse()) {
    const parsed = ConnectionTestResult.safeParse(raw);
    if (!parsed.success) continue;
    const { id: _id, ...rest } = parsed.data;
    if (rest.mailboxId !== null && !engine.mailboxes.list().some((m) => m.id === rest.mailboxId)) continue;
    repo.insert(rest);
  }
});
