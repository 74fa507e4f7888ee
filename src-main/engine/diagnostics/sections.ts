/**
 * The bundle sections of the engine's areas: connection tests, the outbox and
 * the inbox. The bundle service scrubs secrets from all of them; these only
 * choose what is useful to someone helping offline (no message bodies).
 */
import { ConnectionTestResult } from '../../shared/contract/connection-tests.js';
import { ConnectionTestRepo } from '../../store/connection-test-repo.js';
import type { Mailroom } from '../mailroom.js';
import { registerSectionImporter } from './viewer.js';

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
        (r) => `${new Date(r.startedAt).toISOString()} ${r.protocol.toUpperCase()} ${r.target.host}:${r.target.port} ${r.target.security}: ${r.ok ? 'passed' : r.cancelled ? 'cancelled' : `failed, ${r.diagnosis?.code ?? ''} at ${r.diagnosis?.step ?? ''}`}`,
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
    summarize: (data) => [`Counts by status: ${JSON.stringify((data as { counts: unknown }).counts)}`],
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
  for (const raw of Array.isArray(data) ? data : []) {
    const parsed = ConnectionTestResult.safeParse(raw);
    if (!parsed.success) continue;
    const { id: _id, ...rest } = parsed.data;
    if (rest.mailboxId !== null && !engine.mailboxes.list().some((m) => m.id === rest.mailboxId)) continue;
    repo.insert(rest);
  }
});
