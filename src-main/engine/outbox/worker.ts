/**
 * A mailbox's sender: claims due messages from the store, spreads them over
 * its lanes (one SMTP connection each), turns each outcome into an attempt
 * record, and pauses itself when the session breaks (a refused sign-in, a
 * server that does not answer) so that one broken setting does not burn a
 * try of every message. While its mailbox needs a Microsoft sign-in it does
 * not try at all: its mail waits for the sign-in (`waiting-sign-in`) and is
 * due the moment the sign-in's generation changes.
 */
import crypto from 'node:crypto';
import type { Mailbox } from '../../shared/mailbox.js';
import type { OutboxError, OutboxSettings, OutboxWorkerState } from '../../shared/outbox.js';
import type { AttemptRecord, ClaimedMessage, OutboxRepo } from '../../store/outbox-repo.js';
import { decideRetry, retryDelayMs } from './backoff.js';
import { classifyRefusals, classifySendFailure, explainRelaySendAs, recipientRefusals, type SendFailure } from './send-failure.js';
import { LANE_DEPTH, SmtpLane, type LaneConfig, type LaneResult, type OutboxLane, type OutboxTokenProvider } from './smtp-lane.js';
import { GraphLane } from './graph-lane.js';
import type { GraphClient } from '../graph/graph-client.js';
import { firstReplyLine, queueIdFromReply } from './smtp-reply.js';
import { formatWait } from './format.js';
import type { SignInRequirement, SignInState } from '../auth/sign-in-requirement.js';

/** What a worker reports back to the service. */
export interface WorkerHost {
  readonly repo: OutboxRepo;
  readonly clock: () => number;
  readonly random: () => number;
  /** Records the outcome of a try (committed in a batch, before anything acts on it); `committed` runs after the commit. */
  record(outcome: TryOutcome, committed?: () => void): void;
  /** Commits the pending outcomes now: a lane waits for them. */
  requestFlush(): void;
  /** Puts claimed messages back, unsent, in one transaction. */
  release(messages: ClaimedMessage[], nextAttemptAt: number, note: string): void;
  /** Makes the mailbox's deferred messages due now (its settings changed). */
  makeDueNow(mailboxId: number, note: string): void;
  /** Claims due messages in one transaction. */
  claim(mailboxId: number, limit: number): ClaimedMessage[];
  /** The worker became idle, paused or busy. */
  stateChanged(worker: MailboxWorker): void;
  /** Writes a log entry about the worker itself. */
  logWorker(mailbox: Mailbox, level: 'warning' | 'info' | 'success', code: string | null, message: string, detail: string | null): void;
  /**
   * Holds the mailbox's mail for a sign-in: its queued and deferred
   * messages, and these claimed ones, wait without spending tries. `first`:
   * the worker has just started waiting (the log says so once). Returns how
   * many were held.
   */
  holdForSignIn(mailbox: Mailbox, claimed: ClaimedMessage[], requirement: SignInRequirement, first: boolean): number;
  /** Makes the mailbox's mail that waited for a sign-in due now; returns how many. */
  releaseSignInWait(mailbox: Mailbox): number;
  /** The mailbox's sign-in requirement as the store says it now (after a token failure). */
  signInRequirement(mailbox: Mailbox): SignInRequirement | null;
}

/** A finished try, ready to be recorded. */
export interface TryOutcome {
  mailbox: Mailbox;
  message: ClaimedMessage;
  record: AttemptRecord;
  /** Set when the try failed or was partial. */
  failure: SendFailure | null;
  /** The worker paused the mailbox because of this try, until then. */
  pausedUntil: number | null;
  /**
   * True when the try ran on a connection opened with settings that have
   * since changed: its failure says nothing about the new settings, so it
   * neither paused the mailbox nor deferred the message into a backoff.
   */
  stale: boolean;
}

/** How often a running worker looks for work queued by another process, ms. */
export const POLL_INTERVAL_MS = 2000;

/** The configuration a worker runs with; a change replaces its lanes. */
export interface WorkerConfig {
  mailbox: Mailbox;
  settings: OutboxSettings;
  password?: string;
  tokens?: OutboxTokenProvider;
  tls?: Record<string, unknown>;
  clientName?: string;
  /** Why the mailbox cannot sign in (see LaneConfig.credentialError). */
  credentialError?: unknown;
  /** The Microsoft sign-in's state, for a mailbox that sends with OAuth 2.0. */
  signIn?: SignInState;
  /** The Graph client, for a mailbox that sends through Microsoft Graph (`sendVia: 'graph'`). */
  graph?: GraphClient;
}

/** What identifies a configuration: a change of any of it replaces the lanes. The password only as a digest. */
function configKey(c: WorkerConfig): string {
  const password = c.password === undefined ? null : crypto.createHash('sha256').update(c.password).digest('base64');
  return JSON.stringify([
    c.mailbox.updatedAt,
    c.mailbox.smtp,
    c.mailbox.sendVia,
    c.mailbox.graph,
    c.mailbox.address,
    c.settings,
    password,
    c.credentialError === undefined ? null : String((c.credentialError as Error).message),
    c.signIn?.generation ?? null,
  ]);
}

/** One mailbox's sender. */
export class MailboxWorker {
  /**
   * Each lane with the generation of the configuration it was opened with.
   * A try's outcome is judged against the generation of its lane, never the
   * current one: a try still signing in with an old password must not pause
   * the mailbox after the password was corrected.
   */
  private lanes: { lane: OutboxLane; key: string; generation: number }[] = [];
  /** Goes up by one with every change of configuration. */
  private generation = 0;
  /**
   * Outcomes of each lane not yet committed. They occupy the lane's slots
   * (LANE_DEPTH, with the messages on it), so a crash leaves at most
   * LANE_DEPTH messages per connection delivered but not recorded.
   */
  private uncommitted = new Map<OutboxLane, number>();
  private claimed: ClaimedMessage[] = [];
  private inFlight = 0;
  private running = false;
  private pumping = false;
  private timer: NodeJS.Timeout | undefined;
  private sessionFailures = 0;
  private pausedUntil: number | null = null;
  private lastError: OutboxError | null = null;
  private config: WorkerConfig;
  private key: string;
  private drained: (() => void)[] = [];
  /** Set while the mailbox needs a Microsoft sign-in: nothing is tried until it changes. */
  private signInWait: SignInRequirement | null;
  /** The log has said that this wait began. */
  private signInWaitAnnounced = false;

  constructor(config: WorkerConfig, private readonly host: WorkerHost) {
    this.config = config;
    this.key = configKey(config);
    this.signInWait = config.signIn?.requirement ?? null;
  }

  get mailboxId(): number {
    return this.config.mailbox.id;
  }

  /** Idle: nothing claimed, nothing on the wire, and nothing due (or paused). */
  get idle(): boolean {
    if (this.inFlight > 0 || this.claimed.length > 0) return false;
    if (this.isPaused() || this.signInWait) return true;
    const due = this.host.repo.earliestDue(this.mailboxId);
    return due === null || due > this.host.clock();
  }

  private isPaused(): boolean {
    return this.pausedUntil !== null && this.pausedUntil > this.host.clock();
  }

  /** The state shown on the Outbox screen. */
  state(): OutboxWorkerState {
    const busy = this.inFlight > 0 || this.claimed.length > 0;
    const wait = this.signInWait;
    return {
      mailboxId: this.mailboxId,
      mailboxName: this.config.mailbox.name,
      state: !this.running ? 'stopped' : wait && !busy ? 'waiting-sign-in' : this.isPaused() ? 'paused' : busy ? 'sending' : 'idle',
      pausedUntil: this.isPaused() && !wait ? this.pausedUntil : null,
      lastError: wait ? { code: wait.code, message: wait.message, hint: wait.hint, serverReply: null, stage: 'AUTH', at: wait.since ?? this.host.clock() } : this.lastError,
    };
  }

  /** Uses new settings from the next message on; lanes on the wire finish first. */
  reconfigure(config: WorkerConfig): void {
    const key = configKey(config);
    if (key === this.key) {
      this.config = config;
      return;
    }
    this.config = config;
    this.key = key;
    this.generation++;
    const wait = config.signIn?.requirement ?? null;
    if (!wait || !this.signInWait || wait.code !== this.signInWait.code) this.signInWaitAnnounced = false;
    this.signInWait = wait;
    // A changed setting (a new password, another port, a new sign-in)
    // deserves a try at once: of the pause, of the messages it deferred, and
    // of the ones that waited for the sign-in.
    this.pausedUntil = null;
    this.sessionFailures = 0;
    if (!wait) {
      this.host.releaseSignInWait(this.config.mailbox);
      this.host.makeDueNow(this.mailboxId, 'due now: the mailbox\'s settings changed');
    }
    for (const entry of this.lanes) if (!entry.lane.busy) entry.lane.close();
    this.lanes = this.lanes.filter((e) => e.lane.busy);
    this.kick();
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    // Mail held for a sign-in that happened meanwhile (in another process, or
    // before this one started) is due now.
    if (!this.signInWait) this.host.releaseSignInWait(this.config.mailbox);
    this.kick();
  }

  /** Looks for due work now (a message was queued, Send now was pressed). */
  kick(): void {
    if (!this.running) return;
    if (this.isPaused() && this.claimed.length === 0 && !this.signInWait) {
      this.schedule();
      return;
    }
    this.pump();
  }

  /** Makes the mailbox's sender try again now, ending a pause. */
  resume(): void {
    this.pausedUntil = null;
    this.kick();
  }

  private freeLane(): OutboxLane | undefined {
    // Lanes built with an old configuration are closed once idle.
    this.lanes = this.lanes.filter((e) => {
      if (e.key !== this.key && !e.lane.busy) {
        e.lane.close();
        return false;
      }
      return true;
    });
    // An empty lane first, then a new connection, then a place behind a message on the wire.
    const used = (lane: OutboxLane) => lane.load + (this.uncommitted.get(lane) ?? 0);
    const idle = this.lanes.find((e) => e.key === this.key && used(e.lane) === 0);
    if (idle) return idle.lane;
    if (this.lanes.length < this.config.settings.connections) return this.newLane();
    // A lane keeps at most one message queued behind the one on the wire;
    // outcomes waiting for their commit use the remaining slots.
    const behind = this.lanes
      .filter((e) => e.key === this.key && e.lane.load < 2 && used(e.lane) < LANE_DEPTH)
      .sort((a, b) => used(a.lane) - used(b.lane))[0];
    // A lane that would run dry because its slots hold uncommitted outcomes asks for the commit now.
    if (!behind && this.lanes.some((e) => e.lane.load < 2 && (this.uncommitted.get(e.lane) ?? 0) > 0)) this.host.requestFlush();
    return behind?.lane;
  }

  private newLane(): OutboxLane {
    const laneConfig: LaneConfig = {
      mailbox: this.config.mailbox,
      settings: this.config.settings,
      ...(this.config.password !== undefined ? { password: this.config.password } : {}),
      ...(this.config.tokens ? { tokens: this.config.tokens } : {}),
      ...(this.config.tls ? { tls: this.config.tls } : {}),
      ...(this.config.clientName ? { clientName: this.config.clientName } : {}),
      ...(this.config.credentialError !== undefined ? { credentialError: this.config.credentialError } : {}),
    };
    // The one place the transport is chosen: sendMail through Microsoft Graph, or an SMTP connection.
    let lane: OutboxLane;
    switch (this.config.mailbox.sendVia) {
      case 'graph':
        lane = new GraphLane(laneConfig, this.config.graph ?? null, this.host.clock);
        break;
      default:
        lane = new SmtpLane(laneConfig, this.host.clock);
    }
    this.lanes.push({ lane, key: this.key, generation: this.generation });
    return lane;
  }

  /** Holds the mailbox's mail (and what this worker claimed) until the sign-in. */
  private holdForSignIn(extra: ClaimedMessage[] = []): void {
    const wait = this.signInWait;
    if (!wait) return;
    // Messages queued behind others on the lanes come back untried, and are held then.
    for (const { lane } of this.lanes) lane.abortQueued();
    const held = this.host.holdForSignIn(this.config.mailbox, [...this.claimed.splice(0), ...extra], wait, !this.signInWaitAnnounced);
    if (held > 0) this.signInWaitAnnounced = true;
  }

  /** Hands claimed messages to free lanes; claims more while there is room. */
  private pump(): void {
    if (this.pumping || !this.running) return;
    this.pumping = true;
    try {
      for (;;) {
        // A sign-in made in another process is seen in the store before the sender's next refresh.
        if (this.signInWait && !this.host.signInRequirement(this.config.mailbox)) {
          this.signInWait = null;
          this.signInWaitAnnounced = false;
          this.host.releaseSignInWait(this.config.mailbox);
        }
        if (this.signInWait) {
          this.holdForSignIn();
          break;
        }
        if (!this.claimed.length && !this.isPaused()) {
          // A few rounds of work per connection: fewer claim transactions, and a
          // crash returns them to the queue untried (they never reached a lane).
          const want = Math.max(32, this.config.settings.connections * 8);
          this.claimed.push(...this.host.claim(this.mailboxId, want));
        }
        if (!this.claimed.length) break;
        if (this.isPaused()) break;
        const lane = this.freeLane();
        if (!lane) break;
        const message = this.claimed.shift()!;
        this.dispatch(lane, message);
      }
    } finally {
      this.pumping = false;
    }
    this.schedule();
    this.host.stateChanged(this);
    if (this.inFlight === 0 && this.claimed.length === 0) this.notifyDrained();
  }

  private dispatch(lane: OutboxLane, message: ClaimedMessage): void {
    this.inFlight++;
    const { mailbox } = this.config;
    const generation = this.lanes.find((e) => e.lane === lane)?.generation ?? this.generation;
    lane.send({ from: mailbox.address, to: message.recipients }, message.raw, message.messageId).then(
      (result) => {
        this.inFlight--;
        if (result.untried && this.signInWait) this.holdForSignIn([message]);
        else if (result.untried) this.host.release([message], this.pausedUntil ?? this.host.clock(), `not tried: sending from this mailbox is paused${this.lastError ? ` after ${this.lastError.code}` : ''}`);
        else if (!this.waitsForSignInAfter(message, result)) this.finish(message, result, lane, generation);
        this.pump();
        if (this.inFlight === 0 && this.claimed.length === 0) this.notifyDrained();
      },
      () => {
        // A lane closed under the message (the engine is stopping): put it back.
        this.inFlight--;
        this.host.release([message], this.host.clock(), 'returned to the queue: the sender stopped before the try began');
        this.pump();
        if (this.inFlight === 0 && this.claimed.length === 0) this.notifyDrained();
      },
    );
  }

  /**
   * A try that could not get a token because the mailbox needs a sign-in
   * (the store says so now) is no try: the message waits for the sign-in
   * with its tries untouched, and so does the rest of the mailbox's mail.
   */
  private waitsForSignInAfter(message: ClaimedMessage, result: LaneResult): boolean {
    if (result.ok || result.tokenError === undefined) return false;
    const requirement = this.host.signInRequirement(this.config.mailbox);
    if (!requirement) return false;
    if (!this.signInWait || this.signInWait.code !== requirement.code) this.signInWaitAnnounced = false;
    this.signInWait = requirement;
    this.holdForSignIn([message]);
    return true;
  }

  /**
   * Turns a lane's result into an attempt record. `generation` is the one
   * the lane was opened with: when the configuration changed since, a
   * failure is the old settings' and is judged as such (see `stale`).
   */
  private finish(message: ClaimedMessage, result: LaneResult, lane: OutboxLane, generation: number): void {
    const { mailbox, settings } = this.config;
    const stale = generation !== this.generation;
    const now = result.finishedAt;
    const transcript = result.transcript ? JSON.stringify(result.transcript) : null;
    const base = { id: message.id, startedAt: result.startedAt, finishedAt: now, transcript };
    const ctx = { mailbox, phase: result.phase, recipients: message.recipients, ...(result.tokenError !== undefined ? { tokenError: result.tokenError } : {}), ...(result.token ? { token: result.token } : {}) };
    let record: AttemptRecord;
    let failure: SendFailure | null = null;
    let pausedUntil: number | null = null;
    const attemptNumber = message.attempts + 1;

    if (result.ok) {
      if (!stale) this.sessionFailures = 0;
      const reply = firstReplyLine(result.info?.response);
      const refusals = recipientRefusals(result.info?.rejectedErrors, result.info?.rejected);
      const accepted = result.info?.accepted ?? message.recipients;
      if (!refusals.length) {
        record = { ...base, outcome: 'sent', status: 'sent', nextAttemptAt: null, error: null, acceptedReply: reply, serverQueueId: queueIdFromReply(reply), recipients: [], note: `accepted by the server${reply ? `: ${reply}` : ''}` };
      } else {
        failure = classifyRefusals(refusals, ctx);
        const deferred = refusals.filter((r) => r.status === 'deferred');
        const decision = deferred.length ? decideRetry(settings, attemptNumber, message.maxAttempts, now, this.host.random) : null;
        const status = decision?.retry ? 'deferred' : 'sent';
        const recipients = [
          ...accepted.map((address) => ({ address, status: 'accepted' as const, reply: null })),
          ...refusals.map((r) => ({ address: r.address, status: r.status === 'deferred' && !decision?.retry ? ('rejected' as const) : r.status, reply: r.reply })),
        ];
        record = {
          ...base,
          outcome: 'partial',
          status,
          nextAttemptAt: decision?.retry ? decision.nextAttemptAt : null,
          error: { code: failure.code, message: failure.message, hint: failure.hint, reply: failure.serverReply, stage: failure.stage },
          acceptedReply: reply,
          serverQueueId: queueIdFromReply(reply),
          recipients,
          note: `sent to ${accepted.length} of ${accepted.length + refusals.length} recipients; ${refusals.length} refused${decision?.retry ? `, tried again in ${formatWait(decision.delayMs)}` : ''}`,
        };
        // A refusal that stops the account (a sending limit) holds the mailbox's other messages back too.
        if (failure.pauseMailbox) pausedUntil = this.pause(failure, now);
      }
    } else {
      const error = result.error as { rejectedErrors?: { recipient?: string; response?: string; responseCode?: number }[]; rejected?: string[] } | undefined;
      const refusals = recipientRefusals(error?.rejectedErrors, error?.rejected);
      // Relay mail refused with SendAsDenied names the relay account and the setting that fixes it.
      failure = explainRelaySendAs(refusals.length ? classifyRefusals(refusals, ctx) : classifySendFailure(result.error, ctx), message.submittedBy, mailbox);
      const errorFields = { code: failure.code, message: failure.message, hint: failure.hint, reply: failure.serverReply, stage: failure.stage };
      const recipients = refusals.map((r) => ({ address: r.address, status: r.status, reply: r.reply }));
      // A failure of the old settings (not a refusal of this message's
      // recipients) is tried again at once with the new ones: no pause, no backoff.
      const retryNow = stale && !refusals.length;
      if (!failure.temporary && !retryNow) {
        record = { ...base, outcome: 'failed', status: 'failed', nextAttemptAt: null, error: errorFields, acceptedReply: null, serverQueueId: null, recipients, note: `refused for good: ${failure.code}` };
      } else {
        const decision = decideRetry(settings, attemptNumber, message.maxAttempts, now, this.host.random);
        if (decision.retry && retryNow) {
          record = { ...base, outcome: 'deferred', status: 'deferred', nextAttemptAt: now, error: errorFields, acceptedReply: null, serverQueueId: null, recipients, note: `${failure.code} with the mailbox's previous settings; tried again now with the new ones` };
        } else if (decision.retry && failure.retryAfterMs !== undefined && failure.retryAfterMs !== null) {
          // The server said when (Retry-After of a 429/503): that is the next try.
          const at = now + failure.retryAfterMs;
          record = { ...base, outcome: 'deferred', status: 'deferred', nextAttemptAt: at, error: errorFields, acceptedReply: null, serverQueueId: null, recipients, note: `${failure.code}; next try in ${formatWait(at - now)} (the server's Retry-After)` };
        } else if (decision.retry) {
          record = { ...base, outcome: 'deferred', status: 'deferred', nextAttemptAt: decision.nextAttemptAt, error: errorFields, acceptedReply: null, serverQueueId: null, recipients, note: `${failure.code}; next try in ${formatWait(decision.delayMs)}` };
        } else {
          record = { ...base, outcome: 'failed', status: 'failed', nextAttemptAt: null, error: errorFields, acceptedReply: null, serverQueueId: null, recipients: recipients.map((r) => (r.status === 'deferred' ? { ...r, status: 'rejected' as const } : r)), note: `${failure.code}; ${decision.reason}` };
        }
      }
      if (failure.pauseMailbox && !stale) pausedUntil = this.pause(failure, now);
    }
    // The worker's state (its last error, its run of session failures) is the current settings' only.
    if (!stale) {
      if (failure) this.lastError = { code: failure.code, message: failure.message, hint: failure.hint, serverReply: failure.serverReply, stage: failure.stage, at: now };
      else if (this.lastError && this.sessionFailures === 0) this.lastError = null;
    }
    this.uncommitted.set(lane, (this.uncommitted.get(lane) ?? 0) + 1);
    this.host.record({ mailbox, message, record, failure, pausedUntil, stale }, () => {
      const left = (this.uncommitted.get(lane) ?? 1) - 1;
      if (left > 0) this.uncommitted.set(lane, left);
      else this.uncommitted.delete(lane);
      this.pump();
    });
  }

  /** Pauses the mailbox after a session failure; claimed messages go back to the queue untried. */
  private pause(failure: SendFailure, now: number): number | null {
    this.sessionFailures++;
    // A server that said how long to wait (Retry-After) is taken at its word; otherwise the backoff.
    const until = now + (failure.retryAfterMs ?? retryDelayMs(this.config.settings, this.sessionFailures, this.host.random));
    const wasPaused = this.isPaused();
    this.pausedUntil = Math.max(this.pausedUntil ?? 0, until);
    if (this.claimed.length) {
      const back = this.claimed.splice(0);
      this.host.release(back, this.pausedUntil, `not tried: sending from this mailbox is paused after ${failure.code}`);
    }
    // Messages queued behind others on the lanes come back untried as well.
    for (const { lane } of this.lanes) lane.abortQueued();
    if (!wasPaused) {
      this.host.logWorker(
        this.config.mailbox,
        'warning',
        failure.code,
        `Sending from ${this.config.mailbox.name} is paused for ${formatWait(this.pausedUntil - now)} after ${failure.code}`,
        [failure.message, failure.hint ? `What to change: ${failure.hint}` : '', 'Press Send now on a message to try again at once.'].filter(Boolean).join('\n'),
      );
    }
    return this.pausedUntil;
  }

  /** Sets the timer for the next look: the pause's end, the next due message, or the poll. */
  private schedule(): void {
    // While messages are on the wire their outcomes drive the worker; the poll timer set then can stay.
    if (this.timer && (this.inFlight > 0 || this.claimed.length > 0) && !this.isPaused()) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (!this.running) return;
    const now = this.host.clock();
    let wake = now + POLL_INTERVAL_MS;
    if (this.isPaused()) wake = Math.min(wake, this.pausedUntil!);
    else if (this.inFlight === 0 && this.claimed.length === 0) {
      const due = this.host.repo.earliestDue(this.mailboxId);
      if (due !== null) wake = Math.min(wake, Math.max(due, now));
    }
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (this.pausedUntil !== null && !this.isPaused()) this.pausedUntil = null;
      this.pump();
    }, Math.max(0, wake - now) + 5);
    this.timer.unref();
  }

  /** Stops at once: timers cleared, connections cut; returns the claimed messages not yet tried (the engine is closing). */
  abandon(): ClaimedMessage[] {
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const untried = this.claimed.splice(0);
    for (const { lane } of this.lanes) lane.close(true);
    this.lanes = [];
    return untried;
  }

  /** Resolves once nothing is claimed or on the wire. */
  whenDrained(): Promise<void> {
    if (this.inFlight === 0 && this.claimed.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.drained.push(resolve));
  }

  private notifyDrained(): void {
    for (const resolve of this.drained.splice(0)) resolve();
  }

  /**
   * Stops: claimed messages not yet on the wire go back to the queue; the
   * ones on the wire get `graceMs` to finish, then their connections are cut
   * (and the tries recorded as failed connections, deferred).
   */
  async stop(graceMs = 10_000): Promise<void> {
    if (!this.running) return;
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.claimed.length) this.host.release(this.claimed.splice(0), this.host.clock(), 'returned to the queue: the sender stopped before the try began');
    if (this.inFlight > 0) {
      let timeout: NodeJS.Timeout | undefined;
      await Promise.race([this.whenDrained(), new Promise<void>((resolve) => (timeout = setTimeout(resolve, graceMs)))]);
      if (timeout) clearTimeout(timeout);
    }
    for (const { lane } of this.lanes) lane.close(true);
    if (this.inFlight > 0) await this.whenDrained();
    this.lanes = [];
    this.host.stateChanged(this);
  }
}
