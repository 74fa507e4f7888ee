/**
 * The sending machinery of the outbox, apart from its queueing and admin
 * API: the data folder's lease, crash recovery, one worker per enabled
 * mailbox, and the batched commits of outcomes. Each batch of outcomes is
 * committed in one transaction, in the same turn of the event loop as the
 * replies that produced it, so before any lane can have the next message
 * accepted: a crash leaves at most one message per connection accepted by
 * the server but not recorded as sent.
 *
 * It loads no schema library, so that `mailroom engine run --until-idle`
 * starts fast (see open-sender.ts).
 */
import { AppError } from '../../shared/errors.js';
import type { Mailbox } from '../../shared/mailbox.js';
import { isOAuthMode } from '../../shared/mailbox.js';
import type { LogInput } from '../../shared/activity-log.js';
import type { EngineRunSummary, OutboxEngineState } from '../../shared/outbox.js';
import type { Db } from '../../store/db.js';
import { OutboxRepo, type ClaimedMessage } from '../../store/outbox-repo.js';
import type { EventBus } from '../events.js';
import { EngineLease, type LeaseHolder } from './lease.js';
import type { OutboxTokenProvider } from './smtp-lane.js';
import { MailboxWorker, POLL_INTERVAL_MS, type TryOutcome, type WorkerConfig, type WorkerHost } from './worker.js';
import { formatWait, isoTime } from './format.js';
import { SignInStates, type SignInRequirement } from '../auth/sign-in-requirement.js';
import { stageLabel } from '../../shared/step-words.js';
import { GraphClient, graphBaseUrl } from '../graph/graph-client.js';
import { OAuthRepo } from '../../store/oauth-repo.js';

/**
 * The longest an outcome waits for others to share its transaction, ms. No
 * lane waits this long: one whose slots are all taken by uncommitted
 * outcomes asks for the commit at once.
 */
const GROUP_COMMIT_MS = 20;
/** The most outcomes in one transaction. */
const MAX_BATCH = 64;

/** The mailboxes as the sender reads them (MailboxService, or a lean reader over the store). */
export interface OutboxMailboxes {
  get(id: number): Mailbox;
  resolve(idOrName: string | number): Mailbox;
  list(): Mailbox[];
  /** The password SMTP signs in with (SMTP's own, else the incoming one), for the engine's own connections only. */
  smtpPassword(id: number): string | undefined;
}

/** Where log entries go (the ActivityLog, or a lean writer over the store). */
export interface OutboxLog {
  write(input: LogInput): unknown;
}

/** What the sender needs. */
export interface OutboxSenderOptions {
  db: Db;
  repo?: OutboxRepo;
  mailboxes: OutboxMailboxes;
  log: OutboxLog;
  events?: EventBus;
  /** OAuth access tokens for mailboxes that sign in with XOAUTH2 (engine/auth's OAuthService). */
  tokens?: OutboxTokenProvider;
  clock?: () => number;
  /** A number in [0, 1) for the retry jitter. */
  random?: () => number;
  /** Extra TLS options for every SMTP connection (tests pass their CA). */
  tls?: Record<string, unknown>;
  /** The EHLO name; nodemailer's default is this computer's host name. */
  clientName?: string;
  /**
   * The Microsoft Graph client for mailboxes that send through Graph. Default:
   * one over the global fetch and MAILROOM_GRAPH_URL / graph.microsoft.com,
   * made when such a mailbox first needs it.
   */
  graph?: GraphClient;
}

/** The outbox's sender: workers, lease, recovery, batched commits. */
export class OutboxSender implements WorkerHost {
  readonly repo: OutboxRepo;
  readonly clock: () => number;
  readonly random: () => number;
  private readonly lease: EngineLease;
  private readonly workers = new Map<number, MailboxWorker>();
  private outcomes: TryOutcome[] = [];
  private changedIds = new Set<number>();
  private changedMailboxes = new Set<number>();
  private flushScheduled: 'soon' | 'now' | false = false;
  private flushTimer: NodeJS.Timeout | undefined;
  private committedCallbacks: (() => void)[] = [];
  private sending = false;
  private runtime = 'engine';
  private refreshTimer: NodeJS.Timeout | undefined;
  private unsubscribe: (() => void) | undefined;
  private idleWaiters: (() => void)[] = [];
  private counters = { sent: 0, deferred: 0, failed: 0 };
  private closed = false;
  private readonly signIn: SignInStates;

  constructor(private readonly options: OutboxSenderOptions) {
    this.repo = options.repo ?? new OutboxRepo(options.db);
    this.clock = options.clock ?? Date.now;
    this.random = options.random ?? Math.random;
    this.lease = new EngineLease(options.db, 'outbox', this.clock);
    this.signIn = new SignInStates(options.db);
  }

  /** Announces changed messages (batched with the next commit). */
  changed(ids: number[], mailboxId?: number): void {
    for (const id of ids) this.changedIds.add(id);
    if (mailboxId !== undefined) this.changedMailboxes.add(mailboxId);
    this.scheduleFlush();
  }

  /** Looks for due work of a mailbox now (a message was queued). */
  kick(mailboxId: number): void {
    this.workers.get(mailboxId)?.kick();
  }

  /** Ends a mailbox's pause and looks for due work (Send now, Retry). */
  resume(mailboxId: number): void {
    this.workers.get(mailboxId)?.resume();
  }

  /** Settings changed: reconfigure the workers. */
  settingsChanged(mailboxId: number): void {
    this.refreshWorkers();
    this.changedMailboxes.add(mailboxId);
    this.scheduleFlush();
  }

  /** Who sends, and each mailbox's sender state. */
  engineState(): OutboxEngineState {
    const heldBy = this.sending ? null : this.lease.otherHolder();
    return { running: this.sending, heldBy, workers: [...this.workers.values()].map((w) => w.state()) };
  }

  /** The end of each paused mailbox's pause (ms UTC), by mailbox id: what its waiting messages wait for. */
  pauses(): Map<number, number> {
    const out = new Map<number, number>();
    for (const w of this.workers.values()) {
      const state = w.state();
      if (state.pausedUntil !== null) out.set(state.mailboxId, state.pausedUntil);
    }
    return out;
  }

  /** True while this process sends the outbox. */
  get isSending(): boolean {
    return this.sending;
  }

  private graphClient: GraphClient | undefined;

  /** The Graph client (the given one, or one made on first use). */
  private graph(): GraphClient | undefined {
    if (this.options.graph) return this.options.graph;
    if (!this.options.tokens) return undefined;
    const oauthSettings = new OAuthRepo(this.options.db);
    this.graphClient ??= new GraphClient({ tokens: this.options.tokens, baseUrl: () => graphBaseUrl({ authorityHost: oauthSettings.getSettings()?.authorityHost ?? null }) });
    return this.graphClient;
  }

  private workerConfig(mailbox: Mailbox): WorkerConfig {
    const graph = mailbox.sendVia === 'graph' ? this.graph() : undefined;
    const config: WorkerConfig = {
      mailbox,
      settings: this.repo.settings(mailbox.id),
      ...(this.options.tokens ? { tokens: this.options.tokens } : {}),
      ...(graph ? { graph } : {}),
      ...(this.options.tls ? { tls: this.options.tls } : {}),
      ...(this.options.clientName ? { clientName: this.options.clientName } : {}),
    };
    // Read from the store on every look, so that a sign-in made by another process counts within seconds.
    if (isOAuthMode(mailbox.smtp.auth)) config.signIn = this.signIn.of(mailbox, 'smtp');
    if (mailbox.smtp.auth === 'password') {
      try {
        const password = this.options.mailboxes.smtpPassword(mailbox.id);
        if (password) config.password = password;
        else {
          config.credentialError = new AppError('PASSWORD_NOT_SET', `Mailbox ${mailbox.name} signs in to SMTP with a password, but none is stored.`, {
            hint: 'Enter the password or app password (Mailboxes > Edit, or mailroom mailbox update --password-stdin; SMTP\'s own: --smtp-password-stdin), or set SMTP sign-in to OAuth or none.',
          });
        }
      } catch (error) {
        config.credentialError = error;
      }
    }
    return config;
  }

  /** Starts, reconfigures and stops mailbox senders to match the enabled mailboxes. */
  private refreshWorkers(): void {
    if (!this.sending) return;
    const enabled = new Map(this.options.mailboxes.list().filter((m) => m.enabled).map((m) => [m.id, m]));
    for (const [id, worker] of this.workers) {
      if (!enabled.has(id)) {
        this.workers.delete(id);
        void worker.stop();
      }
    }
    for (const mailbox of enabled.values()) {
      const config = this.workerConfig(mailbox);
      const existing = this.workers.get(mailbox.id);
      if (existing) existing.reconfigure(config);
      else {
        const worker = new MailboxWorker(config, this);
        this.workers.set(mailbox.id, worker);
        worker.start();
      }
    }
    this.checkIdle();
  }

  /**
   * Starts sending in this process: takes the data folder's outbox lease,
   * queues again what a crashed run left `sending`, and starts a sender per
   * enabled mailbox. Returns the other holder when another process sends.
   */
  startSending(runtime: string): LeaseHolder | null {
    if (this.sending) return null;
    if (this.closed) throw new AppError('ENGINE_CLOSED', 'The engine is closing.');
    const holder = this.lease.acquire(runtime);
    if (holder) return holder;
    this.sending = true;
    this.runtime = runtime;
    this.counters = { sent: 0, deferred: 0, failed: 0 };
    const now = this.clock();
    const recovered = this.repo.transaction(() => this.repo.recoverSending(now, 'queued again: Mailroom stopped while it was being sent (it may have reached the server; the server may get it twice)'));
    this.options.log.write({ direction: 'system', level: 'info', code: null, message: `Outbox sender started (${runtime}, process ${process.pid})`, detail: null });
    if (recovered.length) {
      this.options.log.write({
        direction: 'system',
        level: 'warning',
        code: 'OUTBOX_RECOVERED',
        message: `${recovered.length} message${recovered.length === 1 ? ' was' : 's were'} being sent when Mailroom last stopped; queued again`,
        detail: 'Mailroom stopped (crash, power loss, end task) while these messages were on the wire. They are sent again; a recipient may get one of them twice.',
      });
      for (const id of recovered) this.changedIds.add(id);
    }
    const offMailboxes = this.options.events?.on('mailboxes.changed', () => this.refreshWorkers());
    // A sign-in (or a token failure that asks for one) in this process counts at once.
    const offOAuth = this.options.events?.on('oauth.changed', () => this.refreshWorkers());
    this.unsubscribe = () => {
      offMailboxes?.();
      offOAuth?.();
    };
    this.refreshTimer = setInterval(() => this.refreshWorkers(), POLL_INTERVAL_MS);
    this.refreshTimer.unref();
    this.refreshWorkers();
    this.scheduleFlush();
    return null;
  }

  /** Stops sending: senders finish what is on the wire (or are cut after `graceMs`), the lease is released. */
  async stopSending(graceMs = 10_000): Promise<void> {
    if (!this.sending) return;
    this.sending = false;
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    if (this.refreshTimer) clearInterval(this.refreshTimer);
    this.refreshTimer = undefined;
    await Promise.all([...this.workers.values()].map((w) => w.stop(graceMs)));
    this.workers.clear();
    this.flush();
    this.lease.release();
    const { sent, deferred, failed } = this.counters;
    this.options.log.write({ direction: 'system', level: 'info', code: null, message: `Outbox sender stopped (${this.runtime}): ${sent} sent, ${deferred} deferred, ${failed} failed`, detail: null });
    this.changedIds.clear();
    this.emitChanged();
  }

  /**
   * Sends until nothing is queued or due, then stops: `mailroom engine run
   * --until-idle`. Deferred messages due later are left for a later run.
   */
  async runUntilIdle(runtime = 'cli'): Promise<EngineRunSummary> {
    const started = this.clock();
    const holder = this.startSending(runtime);
    if (holder) throw busyError(holder);
    await new Promise<void>((resolve) => {
      this.idleWaiters.push(resolve);
      this.checkIdle();
    });
    await this.stopSending();
    return { ...this.counters, waitingForSignIn: this.repo.countWaitingForSignIn(), ms: Math.max(0, Math.round(this.clock() - started)) };
  }

  /** Counts of this run (since startSending). */
  runCounters(): { sent: number; deferred: number; failed: number } {
    return { ...this.counters };
  }

  /** Makes every paused sender try again now. */
  resumeAll(): void {
    for (const w of this.workers.values()) w.resume();
  }

  // ---- WorkerHost --------------------------------------------------------

  claim(mailboxId: number, limit: number): ClaimedMessage[] {
    if (this.closed) return [];
    const now = this.clock();
    const claimed = this.repo.transaction(() => this.repo.claimDue(mailboxId, now, limit));
    if (claimed.length) {
      for (const c of claimed) this.changedIds.add(c.id);
      this.changedMailboxes.add(mailboxId);
      this.scheduleFlush();
    }
    return claimed;
  }

  release(messages: ClaimedMessage[], nextAttemptAt: number, note: string): void {
    if (this.closed) return;
    this.releaseMessages(messages, nextAttemptAt, note);
  }

  private releaseMessages(messages: ClaimedMessage[], nextAttemptAt: number, note: string): void {
    if (!messages.length) return;
    const now = this.clock();
    this.repo.transaction(() => {
      for (const m of messages) this.repo.release(m, m.previousStatus === 'deferred' ? Math.max(nextAttemptAt, m.previousNextAttemptAt ?? 0) : nextAttemptAt, now, note);
    });
    for (const m of messages) this.changedIds.add(m.id);
    this.scheduleFlush();
  }

  holdForSignIn(mailbox: Mailbox, claimed: ClaimedMessage[], requirement: SignInRequirement, first: boolean): number {
    if (this.closed) return 0;
    const now = this.clock();
    const ids = this.repo.transaction(() =>
      this.repo.holdForSignIn(mailbox.id, claimed.map((c) => c.id), { code: requirement.code, message: requirement.message, hint: requirement.hint }, now, `waiting for a Microsoft sign-in (${requirement.code}); no try is spent until then`),
    );
    if (!ids.length) return 0;
    this.changed(ids, mailbox.id);
    const count = `${ids.length} message${ids.length === 1 ? '' : 's'}`;
    this.logWorker(
      mailbox,
      first ? 'warning' : 'info',
      requirement.code,
      first ? `Sending from ${mailbox.name} waits for a Microsoft sign-in: ${count} wait${ids.length === 1 ? 's' : ''}, spending no tries` : `${count} more of ${mailbox.name} wait${ids.length === 1 ? 's' : ''} for its Microsoft sign-in`,
      [requirement.message, `What to change: ${requirement.hint}`].join('\n'),
    );
    return ids.length;
  }

  releaseSignInWait(mailbox: Mailbox): number {
    if (this.closed) return 0;
    const now = this.clock();
    const ids = this.repo.transaction(() => this.repo.releaseSignInWait(mailbox.id, now, 'due now: the mailbox can sign in again'));
    if (!ids.length) return 0;
    this.changed(ids, mailbox.id);
    this.logWorker(mailbox, 'info', null, `${mailbox.name} can sign in again: ${ids.length} message${ids.length === 1 ? '' : 's'} that waited for it ${ids.length === 1 ? 'is' : 'are'} due now`, null);
    return ids.length;
  }

  signInRequirement(mailbox: Mailbox): SignInRequirement | null {
    return this.signIn.of(mailbox, 'smtp').requirement;
  }

  makeDueNow(mailboxId: number, note: string): void {
    if (this.closed) return;
    const now = this.clock();
    // Outcomes decided under the old settings but not yet committed are due now as
    // well: the UPDATE below cannot see them (their messages are still 'sending').
    for (const o of this.outcomes) {
      if (o.mailbox.id === mailboxId && o.record.status === 'deferred' && o.record.nextAttemptAt !== null && o.record.nextAttemptAt > now) {
        o.record.nextAttemptAt = now;
        o.record.note = `${o.record.note}; ${note}`;
      }
    }
    const ids = this.repo.transaction(() => this.repo.makeDueNow(mailboxId, now, note));
    if (ids.length) this.changed(ids, mailboxId);
  }

  record(outcome: TryOutcome, committed?: () => void): void {
    if (this.closed) return;
    this.outcomes.push(outcome);
    if (committed) this.committedCallbacks.push(committed);
    // Group commits: a worker asks for one at once when a lane would wait for it.
    if (this.outcomes.length >= MAX_BATCH) this.requestFlush();
    else this.scheduleFlush();
  }

  /** Commits the pending outcomes in this turn of the event loop (a lane waits for them). */
  requestFlush(): void {
    if (this.closed || this.flushScheduled === 'now') return;
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    this.flushScheduled = 'now';
    setImmediate(() => this.flush());
  }

  stateChanged(_worker: MailboxWorker): void {
    this.checkIdle();
  }

  logWorker(mailbox: Mailbox, level: 'warning' | 'info' | 'success', code: string | null, message: string, detail: string | null): void {
    this.options.log.write({ mailboxId: mailbox.id, direction: 'send', level, code, message, detail, refKind: 'mailbox', refId: mailbox.id });
    this.changedMailboxes.add(mailbox.id);
    this.scheduleFlush();
  }

  private scheduleFlush(): void {
    if (this.flushScheduled || this.closed) return;
    if (!this.outcomes.length) {
      // Only announcements wait: send them at the end of this turn.
      this.flushScheduled = 'now';
      setImmediate(() => this.flush());
      return;
    }
    // Outcomes wait a little for others to join their transaction; no lane
    // waits on them (it asks with requestFlush when it would).
    this.flushScheduled = 'soon';
    this.flushTimer = setTimeout(() => {
      this.flushTimer = undefined;
      this.flush();
    }, GROUP_COMMIT_MS);
  }

  /** Commits the batched outcomes (one transaction), then announces them. */
  private flush(): void {
    this.flushScheduled = false;
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    if (this.closed) return;
    const outcomes = this.outcomes.splice(0);
    const committed = this.committedCallbacks.splice(0);
    if (outcomes.length) {
      this.repo.transaction(() => {
        for (const o of outcomes) {
          this.repo.recordAttempt(o.record);
          this.logOutcome(o);
        }
      });
      for (const o of outcomes) {
        this.changedIds.add(o.record.id);
        this.changedMailboxes.add(o.mailbox.id);
        if (o.record.status === 'sent') this.counters.sent++;
        else if (o.record.status === 'deferred') this.counters.deferred++;
        else this.counters.failed++;
      }
    }
    // Only now may the lanes that waited for these outcomes take more work.
    for (const done of committed) done();
    this.emitChanged();
    this.checkIdle();
  }

  private emitChanged(): void {
    if (!this.changedIds.size && !this.changedMailboxes.size) return;
    const payload = { ids: [...this.changedIds], mailboxIds: [...this.changedMailboxes] };
    this.changedIds.clear();
    this.changedMailboxes.clear();
    this.options.events?.emit('outbox.changed', payload);
  }

  private logOutcome(o: TryOutcome): void {
    const { record, failure, mailbox, message } = o;
    const to = message.recipients.slice(0, 3).join(', ') + (message.recipients.length > 3 ? ', ...' : '');
    const base = { mailboxId: mailbox.id, direction: 'send' as const, refKind: 'outbox' as const, refId: record.id };
    const subject = message.subject;
    if (record.outcome === 'sent') {
      this.options.log.write({ ...base, level: 'success', code: null, message: `Sent "${subject}" to ${to}`, detail: [record.acceptedReply ? `Server: ${record.acceptedReply}` : null, `Message-ID <${message.messageId}>`, `Try ${message.attempts + 1}`].filter(Boolean).join('\n') });
      return;
    }
    const level = record.status === 'failed' ? 'error' : 'warning';
    const verb = record.outcome === 'partial' ? (record.status === 'deferred' ? 'Partly sent, rest deferred' : 'Partly sent') : record.status === 'failed' ? 'Failed' : 'Deferred';
    const detail = [
      o.stale ? 'This try used the mailbox\'s previous settings (they changed while it was on the wire); it does not pause the mailbox.' : null,
      failure?.message,
      failure?.hint ? `What to change: ${failure.hint}` : null,
      failure?.serverReply ? `Server reply (${stageLabel(failure.stage)}): ${failure.serverReply}` : failure ? `At step: ${stageLabel(failure.stage)}` : null,
      record.nextAttemptAt !== null ? `Next try at ${isoTime(record.nextAttemptAt)} (in ${formatWait(record.nextAttemptAt - record.finishedAt)})` : null,
      `Try ${message.attempts + 1} of ${message.maxAttempts}; Message-ID <${message.messageId}>`,
    ]
      .filter(Boolean)
      .join('\n');
    this.options.log.write({ ...base, level, code: failure?.code ?? null, message: `${verb}: "${subject}" to ${to}${failure ? ` (${failure.code})` : ''}`, detail });
  }

  private checkIdle(): void {
    if (!this.idleWaiters.length || this.flushScheduled || this.outcomes.length) return;
    for (const w of this.workers.values()) if (!w.idle) return;
    for (const resolve of this.idleWaiters.splice(0)) resolve();
  }

  /**
   * Stops at once, synchronously, because the database is about to close:
   * outcomes already in are committed, connections are cut, the lease is
   * released. A message on the wire stays `sending` and is queued again by
   * the next start (at least once). Use stopSending() to wait for it instead.
   */
  shutdown(): void {
    if (this.closed) return;
    this.unsubscribe?.();
    if (this.refreshTimer) clearInterval(this.refreshTimer);
    this.refreshTimer = undefined;
    const wasSending = this.sending;
    this.sending = false;
    const untried = [...this.workers.values()].flatMap((w) => w.abandon());
    this.workers.clear();
    try {
      this.releaseMessages(untried, this.clock(), 'returned to the queue: Mailroom closed before the try began');
      this.flush();
      if (wasSending) this.options.log.write({ direction: 'system', level: 'info', code: null, message: `Outbox sender stopped (${this.runtime}) as Mailroom closed`, detail: null });
    } catch {
      // The database is already closed: what is not committed is recovered at the next start.
    }
    this.closed = true;
    this.lease.release();
  }
}

/** The error for a second sender on the same data folder. */
export function busyError(holder: LeaseHolder): AppError {
  return new AppError('ENGINE_BUSY', `Another Mailroom sends this outbox already (${holder.runtime}, process ${holder.pid} on ${holder.host}, since ${isoTime(holder.since)}).`, {
    hint: 'Let that one send: messages queued here are picked up by it within seconds. To send from here instead, close it first (or point --data-dir at another folder).',
  });
}
