/**
 * The health overview: one row per mailbox (state, reason, last receive and
 * send with their age, the queue, token and client-secret expiry, last connection test, last
 * round trip) and a summary line. The state follows from the rule table in
 * health-rules.ts; every change of state is written once to the activity log
 * (direction system) and announced as `health.changed`.
 *
 * `watch()` keeps the states current while the engine runs: it evaluates
 * again shortly after anything that can change a state (a poll, a send, a
 * sign-in, a test, a probe) and once a minute, because ages grow on their own
 * (a message that waits 30 minutes turns its mailbox Failing without any event).
 */
import type { Db } from '../../store/db.js';
import { HealthRepo } from '../../store/health-repo.js';
import { usesAppOnly, type Mailbox } from '../../shared/mailbox.js';
import type { MailboxSignIn } from '../../shared/oauth.js';
import { HEALTH_STATE_WORDS, ProbeSettingsInput, worstState, type HealthOverview, type HealthState, type MailboxHealth, type ProbeRecord, type ProbeSettings } from '../../shared/health.js';
import { parseOrThrow } from '../../shared/validation.js';
import type { LogLevel } from '../../shared/activity-log.js';
import type { ActivityLog } from '../activity-log.js';
import type { EventBus } from '../events.js';
import type { EventName } from '../../shared/contract/index.js';
import { evaluateHealth, type HealthFacts } from './health-rules.js';

/** What the service reads from the rest of the engine. */
export interface HealthServiceOptions {
  db: Db;
  mailboxes: { list(): Mailbox[]; get(id: number): Mailbox };
  /** The sign-in state of the Microsoft 365 mailboxes (OAuthService.states). */
  signIns: () => MailboxSignIn[];
  /**
   * When the app-only registration's credential expires (ms UTC) and which
   * credential it is (the client secret, or the certificate), or null (no
   * registration, or a secret's expiry nobody entered). Read once per
   * overview; it counts for the mailboxes that sign in app-only.
   */
  appOnlyCredentialExpiry?: () => { expiresAt: number; credential: 'secret' | 'certificate' } | null;
  log: ActivityLog;
  events?: EventBus;
  clock?: () => number;
  /** How a moment reads in the summary line. Default: local HH:MM today, else the local date too. */
  formatTime?: (ms: number, now: number) => string;
}

const LEVEL_OF: Record<HealthState, LogLevel> = { healthy: 'success', degraded: 'warning', failing: 'error', 'sign-in-needed': 'error', disabled: 'info' };

/** Local HH:MM, with the date when it is not today. */
export function localTime(ms: number, now: number): string {
  const d = new Date(ms);
  const pad = (n: number) => String(n).padStart(2, '0');
  const hm = `${pad(d.getHours())}:${pad(d.getMinutes())}`;
  return new Date(now).toDateString() === d.toDateString() ? hm : `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${hm}`;
}

/** The summary line of some rows: "3 of 4 mailboxes healthy; Support: sign-in needed since 09:14". */
export function summaryLine(rows: readonly Pick<MailboxHealth, 'name' | 'state' | 'since'>[], now: number, formatTime: (ms: number, now: number) => string = localTime): string {
  const enabled = rows.filter((r) => r.state !== 'disabled');
  const disabled = rows.length - enabled.length;
  if (!rows.length) return 'No mailboxes yet.';
  const healthy = enabled.filter((r) => r.state === 'healthy').length;
  const head = !enabled.length ? 'No mailbox is enabled' : `${healthy} of ${enabled.length} mailbox${enabled.length === 1 ? '' : 'es'} healthy`;
  const tail = disabled ? ` (${disabled} disabled)` : '';
  const problems = enabled
    .filter((r) => r.state !== 'healthy')
    .map((r) => `${r.name}: ${HEALTH_STATE_WORDS[r.state].toLowerCase()}${r.since !== null ? ` since ${formatTime(r.since, now)}` : ''}`);
  return `${head}${tail}${problems.length ? `; ${problems.join('; ')}` : ''}`;
}

/** Events after which a state may have changed. */
const WATCHED_EVENTS: EventName[] = ['inbox.changed', 'outbox.changed', 'oauth.changed', 'oauth.signInFinished', 'connectionTests.finished', 'mailboxes.changed', 'probes.finished'];

export class HealthService {
  readonly repo: HealthRepo;
  private readonly clock: () => number;
  private stopWatch: (() => void) | undefined;

  constructor(private readonly options: HealthServiceOptions) {
    this.repo = new HealthRepo(options.db);
    this.clock = options.clock ?? Date.now;
  }

  /** The facts the rules read, for one mailbox. */
  facts(
    m: Mailbox,
    context: { now: number; signIns: Map<number, MailboxSignIn>; receive: ReturnType<HealthRepo['receiveStates']>; lastProbes: Map<number, ProbeRecord>; probeSettings: ProbeSettings; appOnlyExpiry: { expiresAt: number; credential: 'secret' | 'certificate' } | null },
  ): HealthFacts {
    const { now } = context;
    const signIn = context.signIns.get(m.id)?.needed ?? null;
    const receive = context.receive.get(m.id);
    const test = this.repo.lastConnectionTest(m.id);
    const probe = context.lastProbes.get(m.id);
    return {
      now,
      mailboxId: m.id,
      enabled: m.enabled,
      signIn: signIn ? { message: signIn.message, since: signIn.since } : null,
      receive: {
        failuresInRow: receive?.failures ?? 0,
        lastError: receive?.code ? { code: receive.code, message: receive.message ?? '' } : null,
        lastFailedPollId: receive && receive.failures > 0 ? this.repo.lastFailedPoll(m.id) : null,
      },
      queue: this.repo.queue(m.id),
      lastConnectionTest: test ? { id: test.id, ok: test.ok, at: test.at, code: test.code, summary: null } : null,
      lastProbe: probe ? { id: probe.id, status: probe.status, totalMs: probe.totalMs, folder: probe.folder, diagnosis: probe.diagnosis } : null,
      probeSlowMs: context.probeSettings.slowThresholdMs,
      clientSecretExpiresAt: usesAppOnly(m) ? (context.appOnlyExpiry?.expiresAt ?? null) : null,
      clientCredential: context.appOnlyExpiry?.credential ?? 'secret',
    };
  }

  /**
   * The overview now. Records each mailbox's state; a state that differs from
   * the recorded one is logged and announced (pass `record: false` to only read).
   */
  overview(options: { record?: boolean } = {}): HealthOverview {
    const now = this.clock();
    const mailboxes = this.options.mailboxes.list();
    const signIns = new Map(this.options.signIns().map((s) => [s.mailboxId, s]));
    const receive = this.repo.receiveStates();
    const lastProbes = this.repo.lastProbes(mailboxes.map((m) => m.id));
    const settings = this.repo.allProbeSettings();
    const stored = this.repo.states();
    const tokens = this.repo.tokenExpiries();
    const appOnlyExpiry = this.options.appOnlyCredentialExpiry?.() ?? null;
    const rows: MailboxHealth[] = mailboxes.map((m) => {
      const probeSettings = settings.get(m.id) ?? this.defaultSettings(m.id);
      const facts = this.facts(m, { now, signIns, receive, lastProbes, probeSettings, appOnlyExpiry });
      const verdict = evaluateHealth(facts);
      let since = stored.get(m.id)?.state === verdict.state ? stored.get(m.id)!.since : null;
      if (options.record !== false) {
        const recorded = this.record(m, verdict.state, verdict.reason, now);
        since = recorded ?? since;
      }
      // A sign-in knows since when it is needed better than this folder's first look at it.
      if (verdict.state === 'sign-in-needed' && facts.signIn?.since) since = Math.min(since ?? facts.signIn.since, facts.signIn.since);
      const test = facts.lastConnectionTest;
      return {
        mailboxId: m.id,
        name: m.name,
        address: m.address,
        state: verdict.state,
        reason: verdict.reason,
        reasons: verdict.reasons,
        since,
        lastReceiveAt: receive.get(m.id)?.lastSuccessAt ?? null,
        lastSendAt: this.repo.lastSentAt(m.id),
        queue: { pending: facts.queue.pending, oldestAgeSeconds: facts.queue.oldestCreatedAt === null ? null : Math.max(0, Math.floor((now - facts.queue.oldestCreatedAt) / 1000)) },
        tokenExpiresAt: tokens.get(m.id) ?? null,
        clientSecretExpiresAt: facts.clientSecretExpiresAt,
        clientCredential: facts.clientSecretExpiresAt === null ? null : (facts.clientCredential ?? 'secret'),
        lastConnectionTest: test ? { id: test.id, ok: test.ok, at: test.at, code: test.code } : null,
        lastProbe: lastProbes.get(m.id) ?? null,
        probe: probeSettings,
        explain: verdict.explain,
      };
    });
    const enabled = rows.filter((r) => r.state !== 'disabled');
    return {
      summary: summaryLine(rows, now, this.options.formatTime),
      worst: worstState(rows.map((r) => r.state)),
      healthy: enabled.filter((r) => r.state === 'healthy').length,
      enabled: enabled.length,
      at: now,
      mailboxes: rows,
    };
  }

  /** Stores a state; logs and announces a change. Returns the `since` of a new state. */
  private record(m: Mailbox, state: HealthState, reason: string, now: number): number | null {
    const { changed, previous } = this.repo.recordState(m.id, state, reason, now);
    if (!changed) return previous?.since ?? null;
    // The first look at a mailbox is not a change, unless something is wrong already.
    if (previous || (state !== 'healthy' && state !== 'disabled')) {
      const from = previous ? HEALTH_STATE_WORDS[previous.state] : null;
      this.options.log.write({
        mailboxId: m.id,
        direction: 'system',
        level: LEVEL_OF[state],
        code: state === 'healthy' || state === 'disabled' ? null : `HEALTH_${state.toUpperCase().replace(/-/g, '_')}`,
        message: `${m.name}: ${from ? `${from} -> ` : ''}${HEALTH_STATE_WORDS[state]}. ${reason}`,
        detail: from ? `Was ${from} since ${new Date(previous!.since).toISOString()}: ${previous!.reason}` : null,
        refKind: 'mailbox',
        refId: m.id,
        at: now,
      });
    }
    this.options.events?.emit('health.changed', { mailboxId: m.id, from: previous?.state ?? null, to: state, reason });
    return now;
  }

  private defaultSettings(mailboxId: number): ProbeSettings {
    return this.repo.probeSettings(mailboxId);
  }

  /** A mailbox's probe settings. */
  probeSettings(mailboxId: number): ProbeSettings {
    this.options.mailboxes.get(mailboxId);
    return this.repo.probeSettings(mailboxId);
  }

  /** Changes a mailbox's probe settings; absent fields keep their value. */
  saveProbeSettings(input: unknown): ProbeSettings {
    const parsed = parseOrThrow(ProbeSettingsInput, input, 'probe settings');
    const mailbox = this.options.mailboxes.get(parsed.mailboxId);
    const current = this.repo.probeSettings(mailbox.id);
    const next: ProbeSettings = {
      mailboxId: mailbox.id,
      enabled: parsed.enabled ?? current.enabled,
      intervalSeconds: parsed.intervalSeconds ?? current.intervalSeconds,
      timeoutSeconds: parsed.timeoutSeconds ?? current.timeoutSeconds,
      targetAddress: parsed.targetAddress !== undefined ? parsed.targetAddress : current.targetAddress,
      slowThresholdMs: parsed.slowThresholdMs ?? current.slowThresholdMs,
    };
    this.repo.saveProbeSettings(next, this.clock());
    this.options.log.write({
      mailboxId: mailbox.id,
      direction: 'system',
      level: 'info',
      message: `${mailbox.name}: round-trip probes ${next.enabled ? `on, every ${Math.round(next.intervalSeconds / 60)} min` : 'off'} (to ${next.targetAddress ?? mailbox.address}, timeout ${next.timeoutSeconds} s).`,
      refKind: 'mailbox',
      refId: mailbox.id,
    });
    this.options.events?.emit('health.changed', { mailboxId: mailbox.id, from: null, to: null, reason: null });
    return next;
  }

  /** Round trips since a moment (oldest first), every one. */
  probes(since: number, mailboxId?: number): ProbeRecord[] {
    return this.repo.probesSince(since, mailboxId);
  }

  /** Round trips for the chart: every failure, the delivered ones averaged into about 200 points per mailbox over the period. */
  chartProbes(since: number, mailboxId?: number): ProbeRecord[] {
    return this.repo.chartProbes(since, Math.max(60_000, (this.clock() - since) / 200), mailboxId);
  }

  /**
   * Keeps the recorded states current while the engine runs: re-evaluates
   * `debounceMs` after a relevant event and every `intervalMs`. Returns a stop function.
   */
  watch(options: { intervalMs?: number; debounceMs?: number } = {}): () => void {
    if (this.stopWatch) return this.stopWatch;
    const events = this.options.events;
    let timer: NodeJS.Timeout | undefined;
    const evaluate = () => {
      timer = undefined;
      try {
        this.overview();
      } catch {
        // A failed read (the database is busy) is retried at the next event or tick.
      }
    };
    const soon = () => {
      timer ??= setTimeout(evaluate, options.debounceMs ?? 500);
      timer.unref?.();
    };
    const offs = events ? WATCHED_EVENTS.map((name) => events.on(name, soon)) : [];
    const tick = setInterval(evaluate, options.intervalMs ?? 60_000);
    tick.unref?.();
    soon();
    this.stopWatch = () => {
      for (const off of offs) off();
      clearInterval(tick);
      if (timer) clearTimeout(timer);
      this.stopWatch = undefined;
    };
    return this.stopWatch;
  }

  /** Stops watching. */
  stop(): void {
    this.stopWatch?.();
  }
}
