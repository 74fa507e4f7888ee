/**
 * The bundle sections of the engine's areas: connection tests, the outbox and
 * the inbox. The bundle service scrubs secrets from all of them; these only
 * choose what is useful to someone helping offline (no message bodies).
 */
import { ConnectionTestResult } from '../../shared/contract/connection-tests.js';
import { ConnectionTestRepo } from '../../store/connection-test-repo.js';
import { OAuthRepo } from '../../store/oauth-repo.js';
import { isOAuthMode } from '../../shared/mailbox.js';
import type { Mailroom } from '../mailroom.js';
import { registerSectionImporter } from './viewer.js';
import { SECURITY_LABELS } from '../../shared/setting-words.js';
import { OUTBOX_STATUSES } from '../../shared/outbox.js';
import { redactIdentifier } from './scrub.js';
import { STEP_LABELS } from '../../shared/step-words.js';
import { lastErrorWhen } from '../../shared/error-age.js';
import { collectScreenAnswers, type ScreensSection } from './screen-answers.js';
import { HealthRepo } from '../../store/health-repo.js';
import { ProbeRecord } from '../../shared/health.js';

/** The sign-in section: the app registration (identifiers redacted) and each OAuth mailbox's sign-in. */
export interface SignInSection {
  registration: { configured: boolean; authorityHost: string; tenant: string; clientId: string; redirectHost: string };
  mailboxes: {
    mailboxId: number;
    mailboxName: string;
    state: 'signed-in' | 'sign-in-required' | 'not-signed-in';
    /** Why it cannot get tokens, and since when (null while it can). */
    signInNeeded: { code: string; message: string; since: number | null } | null;
    account: string | null;
    tenantId: string | null;
    scopes: string[];
    signedInAt: number | null;
    lastRefreshAt: number | null;
    accessTokenExpiresAt: number | null;
    lastError: { code: string; message: string; hint?: string; at: number } | null;
    waitingMessages: number;
  }[];
}

const iso = (ms: number | null | undefined) => (ms === null || ms === undefined ? 'never' : new Date(ms).toISOString());

/** Plain-words lines of the sign-in section for the summary page. */
export function summarizeSignIn(data: SignInSection): string[] {
  const r = data.registration;
  const lines = [r.configured ? `App registration: tenant ${r.tenant}, client id ${r.clientId}, at ${r.authorityHost} (redirect host ${r.redirectHost})` : 'Microsoft 365 sign-in is not set up (no app registration).'];
  for (const m of data.mailboxes) {
    if (m.signInNeeded) {
      lines.push(
        `${m.mailboxName}: SIGN-IN NEEDED${m.signInNeeded.since !== null ? ` since ${iso(m.signInNeeded.since)}` : ''} (${m.signInNeeded.code}: ${m.signInNeeded.message})` +
          `${m.waitingMessages ? `; ${m.waitingMessages} outgoing message${m.waitingMessages === 1 ? '' : 's'} wait for it` : ''}; last refresh ${iso(m.lastRefreshAt)}`,
      );
    } else {
      lines.push(
        `${m.mailboxName}: signed in as ${m.account ?? '?'} since ${iso(m.signedInAt)}, last refresh ${iso(m.lastRefreshAt)}` +
          `${m.lastError ? `; last error ${m.lastError.code} at ${iso(m.lastError.at)}: ${m.lastError.message}` : ''}`,
      );
    }
  }
  return lines;
}

/** The mail-flow section: the overview as it stood, and the probe history. */
export interface MailFlowSection {
  summary: string;
  mailboxes: { mailboxId: number; name: string; state: string; reason: string; since: number | null; reasons: { rule: string; state: string; text: string }[]; queue: { pending: number; oldestAgeSeconds: number | null }; lastProbe: ProbeRecord | null }[];
  probes: ProbeRecord[];
}

/** Plain-words lines of the mail-flow section for the summary page. */
export function summarizeMailFlow(data: MailFlowSection): string[] {
  const probes = Array.isArray(data?.probes) ? data.probes : [];
  const failed = probes.filter((p) => p.status === 'failed').length;
  return [
    data?.summary ?? 'not collected',
    ...(Array.isArray(data?.mailboxes) ? data.mailboxes : []).map((m) => `${m.name}: ${m.state}${m.since ? ` since ${iso(m.since)}` : ''}: ${m.reason}`),
    `Round-trip probes in the last 7 days: ${probes.length - failed} delivered, ${failed} failed.`,
  ];
}

/** "2 queued, 0 sending, 120 sent, 1 deferred, 0 failed, 0 cancelled". */
export function outboxCountWords(counts: Record<string, number> | undefined): string {
  if (!counts) return 'not collected';
  return OUTBOX_STATUSES.map((status) => `${counts[status] ?? 0} ${status}`).join(', ');
}

/** Full results kept per mailbox in a bundle (the list screen shows the newest). */
const TESTS_PER_MAILBOX = 10;

export function registerEngineSections(engine: Pick<Mailroom, 'diagnostics' | 'mailboxes' | 'connectionTests' | 'outbox' | 'inbox' | 'oauth' | 'relay' | 'health'>): void {
  engine.diagnostics.register({
    name: 'screens',
    title: 'What the screens showed (for the read-only view of this bundle)',
    collect: () => collectScreenAnswers(engine),
    summarize: (data) => [
      `${(data as Partial<ScreensSection>).answers?.length ?? 0} screen answers and ${(data as Partial<ScreensSection>).outbox?.length ?? 0} outbox messages (no bodies), shown as they were when "Open a diagnostics bundle" opens this file.`,
    ],
  });
  engine.diagnostics.register({
    name: 'sign-in',
    title: 'Microsoft 365 sign-in (per mailbox; no tokens, tenant and client id shortened)',
    collect: (): SignInSection => {
      const settings = engine.oauth.getSettings();
      return {
        registration: {
          configured: settings.configured,
          authorityHost: settings.authorityHost,
          tenant: redactIdentifier(settings.tenant),
          clientId: redactIdentifier(settings.clientId),
          redirectHost: settings.redirectHost,
        },
        mailboxes: engine.oauth.states().map((s) => {
          const h = engine.oauth.health(s.mailboxId);
          return {
            mailboxId: s.mailboxId,
            mailboxName: engine.mailboxes.get(s.mailboxId).name,
            state: s.state,
            signInNeeded: s.needed ? { code: s.needed.code, message: s.needed.message, since: s.needed.since } : null,
            account: h.account,
            tenantId: h.tenantId ? redactIdentifier(h.tenantId) : null,
            scopes: h.scopes,
            signedInAt: h.signedInAt,
            lastRefreshAt: h.lastRefreshAt,
            accessTokenExpiresAt: h.accessTokenExpiresAt,
            lastError: h.lastError,
            waitingMessages: s.waitingMessages,
          };
        }),
      };
    },
    summarize: (data) => summarizeSignIn(data as SignInSection),
  });
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
          `${new Date(r.startedAt).toISOString()} ${r.protocol.toUpperCase()} ${r.target.host}:${r.target.port} ${SECURITY_LABELS[r.target.security]}: ${r.ok ? 'passed' : r.cancelled ? 'cancelled' : `failed, ${r.diagnosis?.code ?? ''} at step: ${r.diagnosis ? STEP_LABELS[r.diagnosis.step] : '?'}`}`,
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
    name: 'mail-flow',
    title: 'Mail flow (each mailbox\'s state and reason, the last 7 days of round-trip probes)',
    collect: (): MailFlowSection => {
      const overview = engine.health.overview({ record: false });
      return {
        summary: overview.summary,
        mailboxes: overview.mailboxes.map((m) => ({ mailboxId: m.mailboxId, name: m.name, state: m.state, reason: m.reason, since: m.since, reasons: m.reasons, queue: m.queue, lastProbe: m.lastProbe })),
        probes: engine.health.probes(Date.now() - 7 * 24 * 3_600_000).slice(-5000),
      };
    },
    summarize: (data) => summarizeMailFlow(data as MailFlowSection),
  });
  engine.diagnostics.register({
    name: 'inbox',
    title: 'Inbox import (receive state per mailbox, recent polls)',
    collect: () => {
      // A mailbox that needs a Microsoft sign-in imports nothing, whatever its last poll said.
      const needed = new Map(engine.oauth.states().map((s) => [s.mailboxId, s.needed]));
      const states = engine.inbox.states().map((s) => {
        const mailbox = engine.mailboxes.get(s.mailboxId);
        const signIn = isOAuthMode(mailbox.imap.auth) ? needed.get(s.mailboxId) : null;
        return { ...s, signInNeeded: signIn ? { code: signIn.code, since: signIn.since } : null };
      });
      return {
        states,
        polls: Object.fromEntries(engine.mailboxes.list().map((m) => [m.id, engine.inbox.polls(m.id, undefined, 20)])),
      };
    },
    summarize: (data, { createdAt }) =>
      (
        (data as {
          states: { mailboxName?: string; mailboxId?: number; health?: string; lastSuccessAt?: number | null; lastError?: { code?: string; at?: number } | null; signInNeeded?: { code: string; since: number | null } | null }[];
        }).states ?? []
      ).map((s) => {
        const name = s.mailboxName ?? `#${s.mailboxId}`;
        if (s.signInNeeded) return `${name}: sign-in needed (${s.signInNeeded.code}${s.signInNeeded.since ? ` since ${iso(s.signInNeeded.since)}` : ''}): nothing is imported until someone signs in`;
        // A last error says how old it is (as of the bundle's time) and, once a later poll worked, that it was resolved.
        const lastError = s.lastError?.code && typeof s.lastError.at === 'number' ? { code: s.lastError.code, at: s.lastError.at } : null;
        const errorWords = lastError ? `last error ${lastError.code} at ${iso(lastError.at)} (${lastErrorWhen(lastError, s.lastSuccessAt ?? null, createdAt, iso)})` : 'no error';
        return `${name}: ${s.health ?? 'unknown'}${s.lastSuccessAt ? `, last poll worked ${iso(s.lastSuccessAt)}` : ''}; ${errorWords}`;
      }),
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

// In a bundle's read-only view, each mailbox's sign-in state shows on the Mailboxes screen ("Sign-in needed").
registerSectionImporter('sign-in', (engine, data) => {
  const section = data as Partial<SignInSection> | null;
  const r = section?.registration;
  if (!r || !Array.isArray(section?.mailboxes)) return;
  const db = engine.db;
  if (r.configured) {
    db.prepare(`INSERT OR REPLACE INTO oauth_settings (id, tenant, client_id, authority_host, redirect_host, updated_at) VALUES (1, ?, ?, ?, ?, 0)`).run(
      String(r.tenant),
      String(r.clientId),
      String(r.authorityHost),
      r.redirectHost === '127.0.0.1' ? '127.0.0.1' : 'localhost',
    );
  }
  const authority = `${String(r.authorityHost).replace(/\/+$/, '')}/${String(r.tenant)}`;
  const repo = new OAuthRepo(db);
  for (const m of section.mailboxes) {
    if (!m || typeof m.mailboxId !== 'number' || m.state === 'not-signed-in' || !engine.mailboxes.list().some((x) => x.id === m.mailboxId)) continue;
    if (repo.getAccount(m.mailboxId)) continue;
    db.prepare(
      `INSERT INTO oauth_accounts (mailbox_id, state, home_account_id, username, display_name, tenant_id, scopes, client_id, authority, other_account_allowed,
         access_expires_at, signed_in_at, last_refresh_at, last_error_code, last_error_message, last_error_hint, last_error_at, updated_at)
       VALUES (?, ?, '', ?, NULL, ?, ?, ?, ?, 0, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ).run(
      m.mailboxId,
      m.state === 'sign-in-required' ? 'sign-in-required' : 'signed-in',
      String(m.account ?? ''),
      m.tenantId ?? null,
      Array.isArray(m.scopes) ? m.scopes.join(' ') : '',
      String(r.clientId),
      authority,
      m.accessTokenExpiresAt ?? null,
      m.signedInAt ?? 0,
      m.lastRefreshAt ?? null,
      m.lastError?.code ?? null,
      m.lastError?.message ?? null,
      m.lastError?.hint ?? null,
      m.lastError?.at ?? null,
      m.signedInAt ?? 0,
    );
  }
});

// In a bundle's read-only view, the probe history shows on the Mail flow screen (its chart and each row's last probe).
registerSectionImporter('mail-flow', (engine, data) => {
  const section = data as Partial<MailFlowSection> | null;
  const repo = new HealthRepo(engine.db);
  const known = new Set(engine.mailboxes.list().map((m) => m.id));
  for (const raw of Array.isArray(section?.probes) ? section.probes : []) {
    const parsed = ProbeRecord.safeParse(raw);
    if (!parsed.success || !known.has(parsed.data.mailboxId) || parsed.data.status === 'running') continue;
    const p = parsed.data;
    const id = repo.startProbe({ mailboxId: p.mailboxId, token: `bundle-${p.id}`, trigger: p.trigger, target: p.target, startedAt: p.startedAt, pid: 0 });
    repo.finishProbe(id, { status: p.status as 'delivered' | 'failed', finishedAt: p.finishedAt ?? p.startedAt, sendMs: p.sendMs, deliverMs: p.deliverMs, totalMs: p.totalMs, folder: p.folder, diagnosis: p.diagnosis });
  }
});
