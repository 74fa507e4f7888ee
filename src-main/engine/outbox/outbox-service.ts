/**
 * The outbox: queues messages durably (a caller hears "queued" only after
 * the commit), lists and shows them, carries out an admin's actions, and
 * runs one sender per enabled mailbox. Outcomes of tries are committed in
 * small batches, each before anything acts on it; a message is at least
 * once on the wire, and after a crash the ones left `sending` are queued
 * again.
 */
import crypto from 'node:crypto';
import { AppError } from '../../shared/errors.js';
import type { Mailbox } from '../../shared/mailbox.js';
import {
  ComposeInput,
  OutboxListInput,
  OutboxSettingsInput,
  type EngineRunSummary,
  type OutboxCounts,
  type OutboxDetail,
  type OutboxEngineState,
  type OutboxPage,
  type OutboxSettings,
  type OutboxSource,
  type OutboxSummary,
  type QueueResult,
} from '../../shared/outbox.js';
import { TranscriptLine } from '../../shared/diagnosis.js';
import { parseOrThrow } from '../../shared/validation.js';
import type { Db } from '../../store/db.js';
import { OutboxRepo, type ClaimedMessage } from '../../store/outbox-repo.js';
import type { ActivityLog } from '../activity-log.js';
import type { EventBus } from '../events.js';
import type { MailboxService } from '../mailboxes.js';
import { EngineLease, type LeaseHolder } from './lease.js';
import { composeMessage, headerBlock, prepareRawMessage, type PreparedMessage } from './message-source.js';
import type { OutboxTokenProvider } from './smtp-lane.js';
import { MailboxWorker, POLL_INTERVAL_MS, type TryOutcome, type WorkerConfig, type WorkerHost } from './worker.js';
import { formatWait, isoTime } from './format.js';

/** What the outbox needs from the rest of the engine. */
export interface OutboxServiceOptions {
  db: Db;
  mailboxes: MailboxService;
  log: ActivityLog;
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
}

/** One raw message to queue. */
export interface RawSubmission {
  raw: Buffer;
  /** Names the source in errors (a file name). */
  sourceName?: string;
  /** Envelope recipients, when known (relay); else read from To, Cc and Bcc. */
  envelopeTo?: string[];
}

const SUBMITTER = /^[\w .@:+-]{1,100}$/;

/** The outbox service. */
export class OutboxService implements WorkerHost {
  readonly repo: OutboxRepo;
  readonly clock: () => number;
  readonly random: () => number;
  private readonly lease: EngineLease;
  private readonly workers = new Map<number, MailboxWorker>();
  private outcomes: TryOutcome[] = [];
  private changedIds = new Set<number>();
  private changedMailboxes = new Set<number>();
  private flushScheduled = false;
  private sending = false;
  private runtime = 'engine';
  private refreshTimer: NodeJS.Timeout | undefined;
  private unsubscribe: (() => void) | undefined;
  private idleWaiters: (() => void)[] = [];
  private counters = { sent: 0, deferred: 0, failed: 0 };
  private closed = false;

  constructor(private readonly options: OutboxServiceOptions) {
    this.repo = new OutboxRepo(options.db);
    this.clock = options.clock ?? Date.now;
    this.random = options.random ?? Math.random;
    this.lease = new EngineLease(options.db, 'outbox', this.clock);
  }

  // ---- Queueing ----------------------------------------------------------

  private insertPrepared(mailbox: Mailbox, prepared: PreparedMessage[], source: OutboxSource, submittedBy: string | null): number[] {
    const maxAttempts = this.repo.settings(mailbox.id).maxAttempts;
    const now = this.clock();
    const who = submittedBy && SUBMITTER.test(submittedBy) ? submittedBy : null;
    const note = `queued from ${source === 'compose' ? 'the compose form' : source === 'cli' ? 'the command line' : source === 'eml' ? 'an .eml file' : 'the local relay'}${who ? ` by ${who}` : ''}`;
    const ids = this.repo.transaction(() =>
      prepared.map((p) =>
        this.repo.insert({ mailboxId: mailbox.id, source, messageId: p.messageId, envelopeFrom: mailbox.address, subject: p.subject, recipients: p.recipients, raw: p.raw, maxAttempts, submittedBy: who }, now, note),
      ),
    );
    for (const id of ids) this.changedIds.add(id);
    this.changedMailboxes.add(mailbox.id);
    this.scheduleFlush();
    this.workers.get(mailbox.id)?.kick();
    return ids;
  }

  private summaries(ids: number[]): OutboxSummary[] {
    return ids.map((id) => this.repo.get(id)!).filter(Boolean);
  }

  /** Composes a message (nodemailer's MailComposer) and queues it; resolves once it is committed. */
  async compose(input: unknown, submittedBy: string | null = null, source: OutboxSource = 'compose'): Promise<QueueResult> {
    const parsed = parseOrThrow(ComposeInput, input, 'message');
    const mailbox = this.options.mailboxes.get(parsed.mailboxId);
    const prepared = await composeMessage(mailbox, parsed, this.clock());
    const ids = this.insertPrepared(mailbox, [prepared], source, submittedBy);
    if (source === 'compose') {
      this.options.log.write({ mailboxId: mailbox.id, direction: 'send', level: 'info', code: null, message: `Queued "${prepared.subject}" to ${prepared.recipients.slice(0, 3).join(', ')}${prepared.recipients.length > 3 ? ', ...' : ''}`, detail: `Message-ID <${prepared.messageId}>`, refKind: 'outbox', refId: ids[0]! });
    }
    return { queued: ids.length, messages: this.summaries(ids) };
  }

  /**
   * Queues raw messages (.eml files) of one mailbox, all or nothing: one bad
   * message queues none and the error names it.
   */
  queueRaw(mailboxIdOrName: string | number, submissions: RawSubmission[], source: OutboxSource, submittedBy: string | null = null): QueueResult {
    const mailbox = this.options.mailboxes.resolve(mailboxIdOrName);
    if (!submissions.length) throw new AppError('USAGE', 'There is no message to queue.', { hint: 'Give at least one .eml file.' });
    const prepared = submissions.map((s) =>
      prepareRawMessage(mailbox, s.raw, { ...(s.sourceName ? { sourceName: s.sourceName } : {}), ...(s.envelopeTo ? { envelopeTo: s.envelopeTo } : {}), now: this.clock() }),
    );
    const ids = this.insertPrepared(mailbox, prepared, source, submittedBy);
    this.options.log.write({
      mailboxId: mailbox.id,
      direction: 'send',
      level: 'info',
      code: null,
      message: ids.length === 1 ? `Queued "${prepared[0]!.subject}" from ${submissions[0]!.sourceName ?? 'a raw message'}` : `Queued ${ids.length} messages from ${source === 'eml' ? '.eml files' : 'raw messages'}`,
      detail: ids.length === 1 ? `Message-ID <${prepared[0]!.messageId}>` : `Outbox ids ${ids[0]}-${ids[ids.length - 1]}`,
      refKind: 'outbox',
      refId: ids[0]!,
    });
    // A large batch answers with its count and first page; `outbox list` has the rest.
    return { queued: ids.length, messages: this.summaries(ids.slice(0, 100)) };
  }

  /** Queues one relay submission; returns once it is committed (then, and only then, the relay answers 250). */
  queueRelaySubmission(mailboxId: number, raw: Buffer, envelopeTo: string[], submittedBy: string): OutboxSummary {
    const mailbox = this.options.mailboxes.get(mailboxId);
    const prepared = prepareRawMessage(mailbox, raw, { envelopeTo, sourceName: 'The submitted message', now: this.clock() });
    const [id] = this.insertPrepared(mailbox, [prepared], 'relay', submittedBy);
    return this.repo.get(id!)!;
  }

  // ---- Reading -----------------------------------------------------------

  list(input: unknown = {}): OutboxPage {
    return this.repo.list(parseOrThrow(OutboxListInput, input, 'outbox query'));
  }

  counts(mailboxId?: number): OutboxCounts {
    return this.repo.counts(mailboxId);
  }

  private mustGet(id: number): OutboxSummary {
    const found = this.repo.get(id);
    if (!found) throw new AppError('NOT_FOUND', `No outbox message has id ${id}.`, { hint: 'Run "mailroom outbox list" (add --status sent to see sent ones) to find the id.' });
    return found;
  }

  /** One message with its recipients, history, tries, last error and transcript. */
  get(id: number): OutboxDetail {
    const summary = this.mustGet(id);
    let transcript: OutboxDetail['transcript'] = null;
    const stored = this.repo.lastTranscript(id);
    if (stored) {
      const parsed = TranscriptLine.array().safeParse(JSON.parse(stored));
      transcript = parsed.success ? parsed.data : null;
    }
    const raw = this.repo.body(id);
    return {
      ...summary,
      recipients: this.repo.recipients(id),
      history: this.repo.history(id),
      attemptLog: this.repo.attempts(id),
      transcript,
      submittedBy: this.repo.submittedBy(id),
      headers: raw ? headerBlock(raw) : '',
    };
  }

  // ---- Admin actions -----------------------------------------------------

  private conflict(summary: OutboxSummary, action: string, hint: string): AppError {
    return new AppError('CONFLICT', `Message ${summary.id} is ${summary.status}: it cannot be ${action}.`, { hint });
  }

  private announce(summary: OutboxSummary): void {
    this.changedIds.add(summary.id);
    this.changedMailboxes.add(summary.mailboxId);
    this.scheduleFlush();
  }

  /** Makes a queued or deferred message due now (and ends a pause of its mailbox). */
  sendNow(id: number): OutboxSummary {
    const m = this.mustGet(id);
    if (m.status !== 'queued' && m.status !== 'deferred') {
      throw this.conflict(m, 'sent now', m.status === 'failed' || m.status === 'cancelled' ? 'Use Retry to queue it again.' : m.status === 'sending' ? 'It is being sent right now.' : 'It was already sent.');
    }
    this.repo.transaction(() => this.repo.setStatus(id, 'queued', this.clock(), m.maxAttempts, this.clock(), 'Send now, by an admin'));
    this.announce(m);
    this.workers.get(m.mailboxId)?.resume();
    return this.mustGet(id);
  }

  /** Queues a failed, deferred or cancelled message again with a fresh set of tries; refused recipients are tried again. */
  retry(id: number): OutboxSummary {
    const m = this.mustGet(id);
    const recipients = this.repo.recipients(id);
    const sentWithRefusals = m.status === 'sent' && recipients.some((r) => r.status === 'rejected');
    if (m.status !== 'failed' && m.status !== 'deferred' && m.status !== 'cancelled' && !sentWithRefusals) {
      throw this.conflict(m, 'retried', m.status === 'sending' ? 'It is being sent right now.' : m.status === 'queued' ? 'It is already queued; use Send now to send it at once.' : 'It was sent to every recipient.');
    }
    const now = this.clock();
    const tries = this.repo.settings(m.mailboxId).maxAttempts;
    this.repo.transaction(() => {
      this.options.db.prepare(`UPDATE outbox_recipients SET status = 'pending', updated_at = ? WHERE outbox_id = ? AND status IN ('rejected', 'deferred')`).run(now, id);
      this.repo.setStatus(id, 'queued', now, m.attempts + tries, now, sentWithRefusals ? 'Retry of the refused recipients, by an admin' : `Retry, by an admin (${tries} more tries)`);
    });
    this.announce(m);
    this.workers.get(m.mailboxId)?.resume();
    return this.mustGet(id);
  }

  /** Stops a message from being sent. */
  cancel(id: number): OutboxSummary {
    const m = this.mustGet(id);
    if (m.status !== 'queued' && m.status !== 'deferred' && m.status !== 'failed') {
      throw this.conflict(m, 'cancelled', m.status === 'sending' ? 'It is on the wire right now; wait for the try to end (at most the send timeout), then cancel it if it was deferred.' : m.status === 'sent' ? 'It was already sent.' : 'It is already cancelled.');
    }
    this.repo.transaction(() => this.repo.setStatus(id, 'cancelled', null, m.maxAttempts, this.clock(), 'cancelled by an admin'));
    this.announce(m);
    this.options.log.write({ mailboxId: m.mailboxId, direction: 'send', level: 'info', code: null, message: `Cancelled "${m.subject}" to ${m.to}`, detail: null, refKind: 'outbox', refId: id });
    return this.mustGet(id);
  }

  /** Deletes a message, its body and its history. */
  delete(id: number): { deleted: boolean; id: number } {
    const m = this.mustGet(id);
    if (m.status === 'sending') throw this.conflict(m, 'deleted', 'It is on the wire right now; wait for the try to end (at most the send timeout).');
    const deleted = this.repo.transaction(() => this.repo.delete(id));
    this.announce(m);
    this.options.log.write({ mailboxId: m.mailboxId, direction: 'send', level: 'info', code: null, message: `Deleted outbox message ${id} ("${m.subject}", ${m.status})`, detail: null, refKind: 'outbox', refId: id });
    return { deleted, id };
  }

  // ---- Settings ----------------------------------------------------------

  settings(mailboxId: number): OutboxSettings {
    this.options.mailboxes.get(mailboxId);
    return this.repo.settings(mailboxId);
  }

  saveSettings(input: unknown): OutboxSettings {
    const parsed = parseOrThrow(OutboxSettingsInput, input, 'outbox settings');
    const mailbox = this.options.mailboxes.get(parsed.mailboxId);
    const { mailboxId: _id, ...changes } = parsed;
    const next: OutboxSettings = { ...this.repo.settings(mailbox.id), ...Object.fromEntries(Object.entries(changes).filter(([, v]) => v !== undefined)) };
    if (next.maxRetrySeconds < next.firstRetrySeconds) {
      throw new AppError('VALIDATION_FAILED', `Invalid outbox settings: maxRetrySeconds (${next.maxRetrySeconds}) is shorter than firstRetrySeconds (${next.firstRetrySeconds}).`, {
        issues: [{ path: 'maxRetrySeconds', message: `must be at least firstRetrySeconds (${next.firstRetrySeconds})` }],
      });
    }
    this.repo.saveSettings(mailbox.id, next, this.clock());
    this.refreshWorkers();
    this.changedMailboxes.add(mailbox.id);
    this.scheduleFlush();
    return next;
  }

  // ---- Sending -----------------------------------------------------------

  /** Who sends, and each mailbox's sender state. */
  engineState(): OutboxEngineState {
    const heldBy = this.sending ? null : this.lease.otherHolder();
    return { running: this.sending, heldBy, workers: [...this.workers.values()].map((w) => w.state()) };
  }

  /** True while this process sends the outbox. */
  get isSending(): boolean {
    return this.sending;
  }

  private workerConfig(mailbox: Mailbox): WorkerConfig {
    const config: WorkerConfig = {
      mailbox,
      settings: this.repo.settings(mailbox.id),
      ...(this.options.tokens ? { tokens: this.options.tokens } : {}),
      ...(this.options.tls ? { tls: this.options.tls } : {}),
      ...(this.options.clientName ? { clientName: this.options.clientName } : {}),
    };
    if (mailbox.smtp.auth === 'password') {
      try {
        const password = this.options.mailboxes.password(mailbox.id);
        if (password) config.password = password;
        else {
          config.credentialError = new AppError('PASSWORD_NOT_SET', `Mailbox ${mailbox.name} signs in to SMTP with a password, but none is stored.`, {
            hint: 'Enter the password or app password (Mailboxes > Edit, or mailroom mailbox update --password-stdin), or set SMTP sign-in to OAuth or none.',
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
    this.unsubscribe = this.options.events?.on('mailboxes.changed', () => this.refreshWorkers());
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
    return { ...this.counters, ms: Math.max(0, Math.round(this.clock() - started)) };
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

  record(outcome: TryOutcome): void {
    if (this.closed) return;
    this.outcomes.push(outcome);
    this.scheduleFlush();
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
    this.flushScheduled = true;
    setImmediate(() => this.flush());
  }

  /** Commits the batched outcomes (one transaction), then announces them. */
  private flush(): void {
    this.flushScheduled = false;
    if (this.closed) return;
    const outcomes = this.outcomes.splice(0);
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
      failure?.message,
      failure?.hint ? `What to change: ${failure.hint}` : null,
      failure?.serverReply ? `Server reply (${failure.stage}): ${failure.serverReply}` : failure ? `Stage: ${failure.stage}` : null,
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

  /** A random id for things such as relay sessions. */
  static newId(): string {
    return crypto.randomUUID();
  }
}

/** The error for a second sender on the same data folder. */
export function busyError(holder: LeaseHolder): AppError {
  return new AppError('ENGINE_BUSY', `Another Mailroom sends this outbox already (${holder.runtime}, process ${holder.pid} on ${holder.host}, since ${isoTime(holder.since)}).`, {
    hint: 'Let that one send: messages queued here are picked up by it within seconds. To send from here instead, close it first (or point --data-dir at another folder).',
  });
}
