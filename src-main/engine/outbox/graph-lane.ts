/**
 * One lane of a mailbox's sender that sends through Microsoft Graph instead
 * of SMTP (a mailbox with `sendVia: 'graph'`): each message's queued MIME is
 * posted as it is, base64, to sendMail (so the message sent is byte for byte
 * the one queued, its Message-ID kept), one request at a time per lane. The
 * worker treats it like an SMTP lane: same outcomes, same records, same
 * backoff; a Graph failure is judged by the Graph diagnosis rules
 * (send-failure.ts), a token that cannot be had by the sign-in's own error.
 *
 * Sent Items: the MIME form of sendMail always saves a copy (it has no
 * saveToSentItems; microsoftgraph/microsoft-graph-docs#18698). For a mailbox
 * whose Graph settings say not to keep copies, the lane removes the copy by
 * its Message-ID right after the send (twice at most, a few seconds apart);
 * when Exchange has not filed it by then it stays, and the try's transcript
 * says so. The send itself is never undone by that.
 */
import type { TranscriptLine } from '../../shared/diagnosis.js';
import { AppError } from '../../shared/errors.js';
import { Redactor, Transcript } from '../connection-test/transcript.js';
import { GraphClient, isGraphTokenUnavailable, type GraphExchange } from '../graph/graph-client.js';
import type { LaneConfig, LaneResult } from './smtp-lane.js';

/** How long the lane waits before looking for the Sent Items copy a second time, ms. */
export const SENT_COPY_RETRY_MS = 3000;

interface PendingGraphSend {
  raw: Buffer;
  messageId: string;
  recipients: string[];
  startedAt: number;
  onWire: boolean;
  transcript: Transcript | null;
  resolve: (result: LaneResult) => void;
}

/** A Graph sendMail lane (see the module comment). */
export class GraphLane {
  private readonly redactor = new Redactor();
  private pending: PendingGraphSend[] = [];
  private closed = false;
  private running = false;

  constructor(
    private readonly config: LaneConfig,
    private readonly client: GraphClient | null,
    private readonly clock: () => number = Date.now,
    private readonly wait: (ms: number) => Promise<void> = (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  ) {}

  /** Messages on this lane (being sent or queued behind). */
  get load(): number {
    return this.pending.length;
  }

  get busy(): boolean {
    return this.pending.length > 0;
  }

  /** Sends one message's MIME as it is. Never rejects: failures come back in the result. */
  send(envelope: { from: string; to: string[] }, raw: Buffer, messageId: string): Promise<LaneResult> {
    if (this.closed) return Promise.reject(new Error('lane closed'));
    return new Promise((resolve) => {
      const startedAt = this.clock();
      this.pending.push({
        raw,
        messageId,
        recipients: envelope.to,
        startedAt,
        onWire: false,
        transcript: this.config.settings.debug ? new Transcript(startedAt, this.redactor, this.clock) : null,
        resolve,
      });
      void this.pump();
    });
  }

  private async pump(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      while (this.pending.length && !this.closed) {
        const entry = this.pending[0]!;
        entry.onWire = true;
        entry.startedAt = this.clock();
        const result = await this.sendOne(entry);
        this.pending.shift();
        entry.resolve(result);
      }
    } finally {
      this.running = false;
    }
  }

  private observer(entry: PendingGraphSend): ((exchange: GraphExchange) => void) | undefined {
    const transcript = entry.transcript;
    if (!transcript) return undefined;
    return (x) => {
      transcript.client(`${x.method} ${x.url}${x.requestSummary ? ` [${x.requestSummary}]` : ''}`);
      if (x.status === null) transcript.info(`No answer: ${x.responseSummary}`);
      else transcript.server(`HTTP ${x.status} ${x.responseSummary} (${x.ms} ms)`);
    };
  }

  private async sendOne(entry: PendingGraphSend): Promise<LaneResult> {
    const { mailbox } = this.config;
    const ref = { id: mailbox.id, address: mailbox.address };
    const observe = this.observer(entry);
    if (!this.client) {
      const error = new AppError('OAUTH_NOT_AVAILABLE', 'This mailbox sends through Microsoft Graph, but Microsoft sign-in is not available in this process.', {
        hint: 'Sign the mailbox in with Microsoft 365 (Mailboxes > the mailbox > Sign in), then send again.',
      });
      return this.outcome(entry, error, undefined, 'auth', error);
    }
    entry.transcript?.info(`Sending through Microsoft Graph (${this.client.baseUrl}) as ${mailbox.address}: ${entry.raw.length} bytes of MIME, Message-ID <${entry.messageId}>`);
    try {
      // The mailbox's send timeout covers the request (the upload of the message and Graph's answer).
      await this.client.sendMime(ref, entry.raw, observe, this.config.settings.timeoutSeconds * 1000);
    } catch (error) {
      const tokenError = isGraphTokenUnavailable(error) ? error.tokenError : undefined;
      if (tokenError !== undefined) entry.transcript?.info(`No Microsoft Graph token: ${tokenError instanceof Error ? tokenError.message : String(tokenError)}`);
      return this.outcome(entry, tokenError ?? error, undefined, tokenError !== undefined ? 'auth' : 'data', tokenError);
    }
    let note = 'Microsoft Graph accepted the message (202 Accepted, sendMail)';
    if (!mailbox.graph.saveToSentItems) note += await this.removeSentCopy(entry, observe);
    entry.transcript?.info(note);
    return this.outcome(entry, undefined, { response: `202 Accepted: ${note.replace(/^Microsoft Graph accepted the message \(202 Accepted, sendMail\)/, 'sendMail through Microsoft Graph')}`, accepted: entry.recipients, rejected: [] }, 'data', undefined);
  }

  /** Removes the Sent Items copy (see the module comment); returns words for the note. */
  private async removeSentCopy(entry: PendingGraphSend, observe: ((exchange: GraphExchange) => void) | undefined): Promise<string> {
    if (!this.client) return '';
    const ref = { id: this.config.mailbox.id, address: this.config.mailbox.address };
    for (let round = 0; round < 2; round++) {
      if (round > 0) await this.wait(SENT_COPY_RETRY_MS);
      try {
        const removed = await this.client.removeSentCopy(ref, entry.messageId, observe);
        if (removed > 0) return '; its Sent Items copy was removed (the mailbox keeps no copies)';
      } catch (error) {
        return `; its Sent Items copy could not be removed (${error instanceof Error ? error.message : String(error)})`;
      }
    }
    return '; its Sent Items copy was not filed yet and stays (Graph\'s MIME send always keeps one)';
  }

  private outcome(entry: PendingGraphSend, error: unknown, info: LaneResult['info'], phase: LaneResult['phase'], tokenError: unknown): LaneResult {
    const transcript: TranscriptLine[] | null = entry.transcript ? entry.transcript.toJSON() : null;
    return {
      ok: error === undefined,
      ...(info ? { info } : {}),
      ...(error !== undefined ? { error } : {}),
      phase,
      ...(tokenError !== undefined ? { tokenError } : {}),
      transcript,
      untried: false,
      startedAt: entry.startedAt,
      finishedAt: this.clock(),
    };
  }

  /** Pulls back the messages queued behind the one being sent; they come back `untried`. */
  abortQueued(): void {
    const queued = this.pending.filter((p) => !p.onWire);
    this.pending = this.pending.filter((p) => p.onWire);
    for (const p of queued) p.resolve({ ok: false, phase: 'tcp', transcript: null, untried: true, startedAt: p.startedAt, finishedAt: this.clock() });
  }

  /** Stops taking messages; queued ones come back untried (the one being sent finishes). */
  close(_force = false): void {
    if (this.closed) return;
    this.closed = true;
    this.abortQueued();
  }
}
