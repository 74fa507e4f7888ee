/**
 * The outbox: queues messages durably (a caller hears "queued" only after
 * the commit), lists and shows them, carries out an admin's actions, keeps
 * each mailbox's retry settings, and hands the sending to OutboxSender (one
 * worker per enabled mailbox). A message is at least once on the wire; after
 * a crash the ones left `sending` are queued again.
 */
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
  nextTryOf,
} from '../../shared/outbox.js';
import { TranscriptLine } from '../../shared/diagnosis.js';
import { parseOrThrow } from '../../shared/validation.js';
import { OutboxRepo } from '../../store/outbox-repo.js';
import type { LeaseHolder } from './lease.js';
import { composeMessage, headerBlock, prepareRawMessage, type PreparedMessage } from './message-source.js';
import { OutboxSender, busyError, type OutboxSenderOptions } from './sender.js';
import { SignInStates, type SignInRequirement } from '../auth/sign-in-requirement.js';

export { busyError };

/** What the outbox needs from the rest of the engine: the sender's needs. */
export type OutboxServiceOptions = OutboxSenderOptions;

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
export class OutboxService {
  readonly repo: OutboxRepo;
  /** The sending machinery (workers, lease, commits). */
  readonly sender: OutboxSender;
  private readonly clock: () => number;
  private readonly signIn: SignInStates;

  constructor(private readonly options: OutboxServiceOptions) {
    this.repo = new OutboxRepo(options.db);
    this.clock = options.clock ?? Date.now;
    this.sender = new OutboxSender({ ...options, repo: this.repo });
    this.signIn = new SignInStates(options.db);
  }

  /** Why the mailbox cannot send until someone signs in with Microsoft, or null. */
  signInRequirement(mailbox: Mailbox): SignInRequirement | null {
    return this.signIn.of(mailbox, 'smtp').requirement;
  }

  // ---- Queueing ----------------------------------------------------------

  private insertPrepared(mailbox: Mailbox, prepared: PreparedMessage[], source: OutboxSource, submittedBy: string | null): number[] {
    const maxAttempts = this.repo.settings(mailbox.id).maxAttempts;
    const now = this.clock();
    const who = submittedBy && SUBMITTER.test(submittedBy) ? submittedBy : null;
    const note = `queued from ${source === 'compose' ? 'the compose form' : source === 'cli' ? 'the command line' : source === 'eml' ? 'an .eml file' : 'the local relay'}${who ? ` by ${who}` : ''}`;
    // Mail of a mailbox that needs a sign-in waits for it from the start, whichever process sends.
    const requirement = this.signInRequirement(mailbox);
    const wait = requirement ? { code: requirement.code, message: requirement.message, hint: requirement.hint } : undefined;
    const ids = this.repo.transaction(() =>
      prepared.map((p) =>
        this.repo.insert(
          { mailboxId: mailbox.id, source, messageId: p.messageId, envelopeFrom: mailbox.address, subject: p.subject, recipients: p.recipients, raw: p.raw, maxAttempts, submittedBy: who, ...(wait ? { waitingForSignIn: wait } : {}) },
          now,
          note,
        ),
      ),
    );
    this.sender.changed(ids, mailbox.id);
    this.sender.kick(mailbox.id);
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
      const waits = this.repo.get(ids[0]!)?.status === 'waiting-sign-in';
      this.options.log.write({ mailboxId: mailbox.id, direction: 'send', level: 'info', code: null, message: `Queued "${prepared.subject}" to ${prepared.recipients.slice(0, 3).join(', ')}${prepared.recipients.length > 3 ? ', ...' : ''}${waits ? `; it waits for ${mailbox.name}'s Microsoft sign-in` : ''}`, detail: `Message-ID <${prepared.messageId}>`, refKind: 'outbox', refId: ids[0]! });
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
    const waits = this.repo.get(ids[0]!)?.status === 'waiting-sign-in' ? `; ${ids.length === 1 ? 'it waits' : 'they wait'} for ${mailbox.name}'s Microsoft sign-in` : '';
    this.options.log.write({
      mailboxId: mailbox.id,
      direction: 'send',
      level: 'info',
      code: null,
      message: (ids.length === 1 ? `Queued "${prepared[0]!.subject}" from ${submissions[0]!.sourceName ?? 'a raw message'}` : `Queued ${ids.length} messages from ${source === 'eml' ? '.eml files' : 'raw messages'}`) + waits,
      detail: ids.length === 1 ? `Message-ID <${prepared[0]!.messageId}>` : `Outbox ids ${ids[0]}-${ids[ids.length - 1]}`,
      refKind: 'outbox',
      refId: ids[0]!,
    });
    // A large batch answers with its count and first page; `outbox list` has the rest.
    return { queued: ids.length, messages: this.summaries(ids.slice(0, 100)) };
  }

  /**
   * Queues one relay submission; returns once it is committed (then, and
   * only then, the relay answers 250). Its bytes are kept as submitted, with
   * the relay's trace fields on top; a bare line end is refused (MESSAGE_INVALID).
   */
  queueRelaySubmission(
    mailboxId: number,
    raw: Buffer,
    envelopeTo: string[],
    submittedBy: string,
    options: { trace?: string[]; sendAsMailbox?: boolean } = {},
  ): { message: OutboxSummary; fromRewrite: PreparedMessage['fromRewrite'] } {
    const mailbox = this.options.mailboxes.get(mailboxId);
    const prepared = prepareRawMessage(mailbox, raw, {
      envelopeTo,
      lineEnds: 'smtp',
      now: this.clock(),
      ...(options.trace ? { trace: options.trace } : {}),
      ...(options.sendAsMailbox ? { sendAs: mailbox.address } : {}),
    });
    const [id] = this.insertPrepared(mailbox, [prepared], 'relay', submittedBy);
    return { message: this.repo.get(id!)!, fromRewrite: prepared.fromRewrite };
  }

  // ---- Reading -----------------------------------------------------------

  /** One page of messages (filters, order and keyset cursor as in OutboxListInput). */
  list(input: unknown = {}): OutboxPage {
    const page = this.repo.list(parseOrThrow(OutboxListInput, input, 'outbox query'));
    const pauses = this.sender.pauses();
    return pauses.size ? { ...page, items: page.items.map((m) => nextTryOf(m, pauses.get(m.mailboxId))) } : page;
  }

  /** How many messages are in each status, of one mailbox or all. */
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
    const stored = this.mustGet(id);
    const summary = nextTryOf(stored, this.sender.pauses().get(stored.mailboxId));
    let transcript: OutboxDetail['transcript'] = null;
    const storedTranscript = this.repo.lastTranscript(id);
    if (storedTranscript) {
      const parsed = TranscriptLine.array().safeParse(JSON.parse(storedTranscript));
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
    this.sender.changed([summary.id], summary.mailboxId);
  }

  /** The refusal of Send now (or Retry) while the message's mailbox needs a sign-in: says why and what to do. */
  private waitingError(m: OutboxSummary, requirement: SignInRequirement | null): AppError {
    return new AppError(
      'OUTBOX_WAITING_FOR_SIGN_IN',
      `Message ${m.id} cannot be sent now: ${m.mailboxName} needs a Microsoft sign-in${requirement ? ` (${requirement.code})` : ''}. It keeps its tries (${m.attempts} of ${m.maxAttempts} used) and is sent as soon as someone signs in.`,
      {
        hint: requirement?.hint ?? `Sign in again: "Sign in again" on the mailbox in Mailroom, or mailroom oauth login "${m.mailboxName}". It is sent at once after the sign-in.`,
        ...(requirement ? { detail: requirement.message } : {}),
      },
    );
  }

  /** Makes a queued or deferred message due now (and ends a pause of its mailbox). */
  sendNow(id: number): OutboxSummary {
    const m = this.mustGet(id);
    if (m.status === 'waiting-sign-in' || m.status === 'queued' || m.status === 'deferred') {
      // Never a silent try: a mailbox that needs a sign-in cannot send, and the admin is told why.
      const requirement = this.signInRequirement(this.options.mailboxes.get(m.mailboxId));
      if (requirement || m.status === 'waiting-sign-in') throw this.waitingError(m, requirement);
    }
    if (m.status !== 'queued' && m.status !== 'deferred') {
      throw this.conflict(m, 'sent now', m.status === 'failed' || m.status === 'cancelled' ? 'Use Retry to queue it again.' : m.status === 'sending' ? 'It is being sent right now.' : 'It was already sent.');
    }
    this.repo.transaction(() => this.repo.setStatus(id, 'queued', this.clock(), m.maxAttempts, this.clock(), 'Send now, by an admin'));
    this.announce(m);
    this.sender.resume(m.mailboxId);
    return this.mustGet(id);
  }

  /** Queues a failed, deferred or cancelled message again with a fresh set of tries; refused recipients are tried again. */
  retry(id: number): OutboxSummary {
    const m = this.mustGet(id);
    const recipients = this.repo.recipients(id);
    const sentWithRefusals = m.status === 'sent' && recipients.some((r) => r.status === 'rejected');
    if (m.status === 'waiting-sign-in') throw this.waitingError(m, this.signInRequirement(this.options.mailboxes.get(m.mailboxId)));
    if (m.status !== 'failed' && m.status !== 'deferred' && m.status !== 'cancelled' && !sentWithRefusals) {
      throw this.conflict(m, 'retried', m.status === 'sending' ? 'It is being sent right now.' : m.status === 'queued' ? 'It is already queued; use Send now to send it at once.' : 'It was sent to every recipient.');
    }
    const now = this.clock();
    const tries = this.repo.settings(m.mailboxId).maxAttempts;
    const requirement = this.signInRequirement(this.options.mailboxes.get(m.mailboxId));
    this.repo.transaction(() => {
      this.options.db.prepare(`UPDATE outbox_recipients SET status = 'pending', updated_at = ? WHERE outbox_id = ? AND status IN ('rejected', 'deferred')`).run(now, id);
      this.repo.setStatus(id, 'queued', now, m.attempts + tries, now, sentWithRefusals ? 'Retry of the refused recipients, by an admin' : `Retry, by an admin (${tries} more tries)`);
      // Its mailbox cannot send yet: it waits for the sign-in with the others.
      if (requirement) this.repo.holdForSignIn(m.mailboxId, [], { code: requirement.code, message: requirement.message, hint: requirement.hint }, now, `waiting for a Microsoft sign-in (${requirement.code}); no try is spent until then`);
    });
    this.announce(m);
    this.sender.resume(m.mailboxId);
    return this.mustGet(id);
  }

  /** Stops a message from being sent. */
  cancel(id: number): OutboxSummary {
    const m = this.mustGet(id);
    if (m.status !== 'queued' && m.status !== 'deferred' && m.status !== 'failed' && m.status !== 'waiting-sign-in') {
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

  /** A mailbox's retry policy and connection settings (the defaults until changed). */
  settings(mailboxId: number): OutboxSettings {
    this.options.mailboxes.get(mailboxId);
    return this.repo.settings(mailboxId);
  }

  /** Changes a mailbox's retry policy and connections; the sender uses them from its next message. */
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
    this.sender.settingsChanged(mailbox.id);
    return next;
  }

  // ---- Sending (delegated to the sender) ---------------------------------

  /** Who sends, and each mailbox's sender state. */
  engineState(): OutboxEngineState {
    return this.sender.engineState();
  }

  /** True while this process sends the outbox. */
  get isSending(): boolean {
    return this.sender.isSending;
  }

  /** Starts sending in this process; returns the other holder when another process sends. */
  startSending(runtime: string): LeaseHolder | null {
    return this.sender.startSending(runtime);
  }

  /** Stops sending; messages on the wire finish (or are cut after `graceMs`). */
  stopSending(graceMs = 10_000): Promise<void> {
    return this.sender.stopSending(graceMs);
  }

  /** Sends until nothing is queued or due, then stops (`mailroom engine run --until-idle`). */
  runUntilIdle(runtime = 'cli'): Promise<EngineRunSummary> {
    return this.sender.runUntilIdle(runtime);
  }

  /** Counts of this run (since startSending). */
  runCounters(): { sent: number; deferred: number; failed: number } {
    return this.sender.runCounters();
  }

  /** Makes every paused sender try again now. */
  resumeAll(): void {
    this.sender.resumeAll();
  }

  /** Stops at once, synchronously, because the database is about to close (see OutboxSender.shutdown). */
  shutdown(): void {
    this.sender.shutdown();
  }
}

