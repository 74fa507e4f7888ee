/**
 * The background importer of one enabled mailbox: one IMAP connection,
 * polled on the mailbox's interval and, where the server offers IDLE,
 * woken by new mail in between. A closed connection is never reused: the
 * next poll opens a new one, after a backoff that grows with each failure.
 */
import type { ImapFlow } from 'imapflow';
import type { PollDetail, PollTrigger } from '../../shared/inbox.js';
import type { Mailbox } from '../../shared/mailbox.js';
import { BACKOFF_FIRST_MS, reconnectDelay } from './backoff.js';
import type { SignInRequirement } from '../auth/sign-in-requirement.js';

/** The connection an importer keeps between polls. */
export interface ImporterSession {
  client: ImapFlow | undefined;
  /** Called when the session opens a new client, to attach listeners. */
  onClient?: (client: ImapFlow) => void;
}

/** What the importer needs from the inbox service. */
export interface ImporterHost {
  /** The mailbox as stored now, or undefined when it is gone. */
  mailbox(id: number): Mailbox | undefined;
  /** Runs one poll over the session's connection (opening one when needed). */
  runPoll(mailbox: Mailbox, trigger: PollTrigger, session: ImporterSession): Promise<PollDetail>;
  /** Closes a client without waiting long. */
  closeClient(client: ImapFlow | undefined): Promise<void>;
  /** The importer's state changed (connected, idling, stopped). */
  changed(mailboxId: number): void;
  /** Why the mailbox cannot sign in to IMAP until someone signs in with Microsoft (null when it can). */
  signInNeeded(mailbox: Mailbox): SignInRequirement | null;
  /** Polling stopped for a sign-in (`requirement`), or resumed after one (null): one log entry each. */
  signInWait(mailbox: Mailbox, requirement: SignInRequirement | null): void;
  clock(): number;
}

/** Failures a retry alone will not fix: the admin has to change something. */
const NEEDS_CHANGE = /^(AUTH_|GRAPH_|BASIC_AUTH_DISABLED|SECURITY_DEFAULTS_BLOCKED|OAUTH_|PASSWORD_MISSING|TLS_|STARTTLS_UNAVAILABLE|DNS_NOT_FOUND|PROTOCOL_MISMATCH|FOLDER_NOT_FOUND|POP3_NO_UIDL)/;

function needsChange(code: string | null): boolean {
  return Boolean(code && NEEDS_CHANGE.test(code));
}

export class MailboxImporter {
  readonly session: ImporterSession;
  /** When the next scheduled poll is due. */
  nextPollAt: number | null = null;
  private stopped = false;
  private requested: PollTrigger | null = null;
  private wake: (() => void) | undefined;
  private failures = 0;
  private loopDone: Promise<void> | undefined;
  /** True while polling is stopped because the mailbox needs a Microsoft sign-in. */
  private waitingForSignIn = false;

  constructor(private readonly host: ImporterHost, readonly mailboxId: number) {
    this.session = {
      client: undefined,
      onClient: (client) => {
        client.on('exists', (event: { count: number; prevCount: number }) => {
          if (event.count > event.prevCount) this.request('idle');
        });
        client.on('close', () => {
          this.host.changed(this.mailboxId);
          this.wakeUp();
        });
        this.host.changed(this.mailboxId);
      },
    };
  }

  /** True while the connection is open and in IDLE. */
  get idling(): boolean {
    return Boolean(this.session.client?.usable && this.session.client.idling);
  }

  start(): void {
    this.loopDone ??= this.loop().catch(() => undefined);
  }

  /** Stops polling and closes the connection. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.nextPollAt = null;
    this.wakeUp();
    await this.loopDone;
    const client = this.session.client;
    this.session.client = undefined;
    await this.host.closeClient(client);
    this.host.changed(this.mailboxId);
  }

  /** True while polling is stopped until someone signs in with Microsoft. */
  get waitingForSignInNow(): boolean {
    return this.waitingForSignIn;
  }

  private async closeSession(): Promise<void> {
    const client = this.session.client;
    this.session.client = undefined;
    if (client) await this.host.closeClient(client);
  }

  /** Asks for a poll as soon as the current one (if any) is over. */
  request(trigger: PollTrigger): void {
    this.requested ??= trigger;
    this.wakeUp();
  }

  private wakeUp(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }

  /** Waits `ms` or until woken; returns what to poll for, or null when stopping. */
  private async waitFor(ms: number): Promise<PollTrigger | null> {
    if (this.stopped) return null;
    if (this.requested) return this.takeRequest();
    this.nextPollAt = this.host.clock() + ms;
    let timer: NodeJS.Timeout | undefined;
    const reason = await new Promise<'timer' | 'woken'>((resolve) => {
      timer = setTimeout(() => resolve('timer'), ms);
      this.wake = () => resolve('woken');
    });
    clearTimeout(timer);
    this.wake = undefined;
    if (this.stopped) return null;
    if (this.requested) return this.takeRequest();
    // Woken without a request: the connection closed; the next poll reconnects.
    return reason === 'timer' ? 'schedule' : this.waitFor(BACKOFF_FIRST_MS);
  }

  private takeRequest(): PollTrigger {
    const trigger = this.requested!;
    this.requested = null;
    return trigger;
  }

  private async loop(): Promise<void> {
    let trigger: PollTrigger | null = 'start';
    while (!this.stopped && trigger) {
      const mailbox = this.host.mailbox(this.mailboxId);
      if (!mailbox?.enabled) break;
      // No poll while nobody can sign in: each would fail the same way (an error in the log every
      // interval). The store is looked at again each interval, and a sign-in here wakes the importer.
      const needed = this.host.signInNeeded(mailbox);
      if (needed) {
        if (!this.waitingForSignIn) {
          this.waitingForSignIn = true;
          await this.closeSession();
          this.host.signInWait(mailbox, needed);
        }
        trigger = await this.waitFor(mailbox.imap.pollIntervalSeconds * 1000);
        continue;
      }
      if (this.waitingForSignIn) {
        this.waitingForSignIn = false;
        this.host.signInWait(mailbox, null);
      }
      this.nextPollAt = null;
      const result = await this.host.runPoll(mailbox, trigger, this.session);
      if (this.stopped) break;
      const connected = Boolean(this.session.client?.usable);
      if (result.outcome === 'ok' || connected) this.failures = 0;
      else this.failures++;
      // A lost connection is retried soon, with a growing backoff; a refusal that needs a change
      // (a wrong password, a bad certificate) waits at least the interval, so a locked-out account
      // is not hammered; otherwise the mailbox's interval applies.
      const interval = mailbox.imap.pollIntervalSeconds * 1000;
      const backoff = reconnectDelay(this.failures);
      const wait = connected || this.failures === 0 ? interval : needsChange(result.code) ? Math.max(interval, backoff) : Math.min(interval, backoff);
      trigger = await this.waitFor(wait);
    }
    this.nextPollAt = null;
  }
}
