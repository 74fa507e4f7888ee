/**
 * One lane of a mailbox's sender: a pooled nodemailer transport holding one
 * long-lived SMTP connection, sending one message at a time. A mailbox has
 * as many lanes as its settings allow connections. One connection per lane
 * means the lane always knows which message is on the wire, how far its
 * session got (for the diagnosis of a drop or a timeout), and which
 * transcript lines belong to which message.
 */
import nodemailer from 'nodemailer';
import type { Transporter } from 'nodemailer';
import type { Mailbox } from '../../shared/mailbox.js';
import type { OutboxSettings } from '../../shared/outbox.js';
import type { TranscriptLine } from '../../shared/diagnosis.js';
import { Redactor, Transcript } from '../connection-test/transcript.js';
import type { LanePhase } from './send-failure.js';
import { AppError, isAppError } from '../../shared/errors.js';
import { RawMessage, smtpEnvelope } from './raw-message.js';
import { tokenFailureFacts, type TokenFailureFacts } from '../diagnose/token-facts.js';
import { MINIMUM_TLS_VERSION } from '../tls-policy.js';

/** The step a client line starts (AUTH continuation lines belong to the step before). */
function stepOfCommand(line: string, previous: LanePhase): LanePhase {
  const verb = /^[A-Za-z]+(?: (?:FROM|TO))?/.exec(line)?.[0]?.toUpperCase() ?? '';
  if (verb === 'EHLO' || verb === 'HELO' || verb === 'LHLO') return 'ehlo';
  if (verb === 'STARTTLS') return 'starttls';
  if (verb === 'AUTH') return 'auth';
  if (verb === 'MAIL FROM') return 'mail-from';
  if (verb === 'RCPT TO') return 'rcpt-to';
  if (verb === 'DATA') return 'data';
  if (verb === 'RSET' || verb === 'QUIT' || verb === 'NOOP') return previous === 'tcp' || previous === 'greeting' ? 'ehlo' : previous;
  // A SASL continuation (user name, password, empty line) answers the server's 334.
  return previous === 'tcp' || previous === 'greeting' || previous === 'ehlo' ? 'auth' : previous;
}

/** An OAuth access token source, as engine/auth's TokenProvider offers it (Exchange's by default, Graph's with `resource`). */
export interface OutboxTokenProvider {
  getAccessToken(mailboxId: number, options?: { forceRefresh?: boolean; resource?: 'exchange' | 'graph' }): Promise<{ accessToken: string; expiresAt: number | null; user?: string; otherAccountAllowed?: boolean }>;
}

/**
 * What the worker drives: an SMTP lane (one connection) or a Graph lane
 * (graph-lane.ts, one sendMail at a time). Both answer every message with a
 * LaneResult and never reject for a mail failure.
 */
export interface OutboxLane {
  /** Messages on the lane (on the wire or queued behind it). */
  readonly load: number;
  readonly busy: boolean;
  send(envelope: { from: string; to: string[] }, raw: Buffer, messageId: string): Promise<LaneResult>;
  /** Pulls back the messages queued behind the one on the wire; they come back `untried`. */
  abortQueued(): void;
  close(force?: boolean): void;
}

/** What a lane needs to connect and sign in. */
export interface LaneConfig {
  mailbox: Mailbox;
  settings: OutboxSettings;
  /** The stored password, when the mailbox signs in with one. A secret: never logged. */
  password?: string;
  tokens?: OutboxTokenProvider;
  /** Extra TLS options (tests pass their CA). */
  tls?: Record<string, unknown>;
  /** EHLO name; nodemailer's default is this computer's host name. */
  clientName?: string;
  /**
   * Why the lane cannot sign in at all (no password stored, a secret that
   * cannot be decrypted): every try then fails at once with this error, and
   * no connection is made.
   */
  credentialError?: unknown;
}

/** What one try on a lane produced. */
export interface LaneResult {
  ok: boolean;
  /** nodemailer's info on success. */
  info?: {
    response?: string;
    accepted?: string[];
    rejected?: string[];
    rejectedErrors?: { recipient?: string; response?: string; responseCode?: number }[];
  };
  /** nodemailer's error on failure. */
  error?: unknown;
  /** How far the session got when the try ended. */
  phase: LanePhase;
  /** An error the token provider raised during this try. */
  tokenError?: unknown;
  /** What the OAuth token of this session said about itself (claims only), for the diagnosis of a refusal. */
  token?: TokenFailureFacts;
  /** The redacted transcript of this try, when debug is on. */
  transcript: TranscriptLine[] | null;
  /** True when the message never reached the wire (it was pulled back from the lane's queue): not a try. */
  untried: boolean;
  startedAt: number;
  finishedAt: number;
}

/** A message handed to the lane and not yet answered. */
interface PendingSend {
  transcript: Transcript | null;
  startedAt: number;
  /** nodemailer has begun sending it (MAIL FROM is out, or its connection is being made). */
  onWire: boolean;
  /** The pool logged that it sends this one (its MAIL FROM follows). */
  sendLogged: boolean;
  controller: AbortController;
  resolve: (result: LaneResult) => void;
}

/**
 * How many messages a lane holds: one on the wire, one ready to follow it
 * without a gap, and one delivered whose outcome waits for its group commit.
 * A crash can leave at most this many per connection delivered but not
 * recorded: the in-flight pool is connections x LANE_DEPTH.
 */
export const LANE_DEPTH = 3;

type LogFn = (meta: Record<string, unknown>, format?: unknown, ...args: unknown[]) => void;

/** A pooled one-connection transport and what it has seen of its session. */
export class SmtpLane implements OutboxLane {
  private readonly transport: Transporter;
  private readonly redactor = new Redactor();
  private phase: LanePhase = 'tcp';
  /** Steps whose replies are awaited, oldest first (with PIPELINING several are). */
  private awaiting: LanePhase[] = [];
  private greeted = false;
  private pending: PendingSend[] = [];
  private tokenError: unknown;
  /** The claims of the token this session signed in with (never the token). */
  private tokenFacts: TokenFailureFacts | undefined;
  private closed = false;

  constructor(private readonly config: LaneConfig, private readonly clock: () => number = Date.now) {
    const { mailbox, settings } = config;
    const smtp = mailbox.smtp;
    const timeout = settings.timeoutSeconds * 1000;
    const user = smtp.username || mailbox.address;
    if (config.password) this.redactor.add(config.password);
    const auth =
      smtp.auth === 'password' && config.password !== undefined
        ? { user, pass: config.password }
        : smtp.auth === 'oauth2' || smtp.auth === 'oauth2-app'
          ? { type: 'OAuth2' as const, user }
          : undefined;
    this.transport = nodemailer.createTransport({
      pool: true,
      maxConnections: 1,
      maxMessages: settings.messagesPerConnection,
      // A dropped connection is this engine's to retry (with backoff and a
      // record), not the pool's; the one requeue covers an idle connection the
      // server closed before a byte of the message went out.
      maxRequeues: 1,
      idleTimeout: 30_000,
      host: smtp.host,
      port: smtp.port,
      secure: smtp.security === 'tls',
      requireTLS: smtp.security === 'starttls',
      ignoreTLS: smtp.security === 'none',
      ...(auth ? { auth } : {}),
      connectionTimeout: timeout,
      greetingTimeout: timeout,
      socketTimeout: timeout,
      dnsTimeout: Math.min(timeout, 30_000),
      ...(config.clientName ? { name: config.clientName } : {}),
      // The minimum is set here, after any test options, so nothing lowers it (see tls-policy.ts).
      tls: { servername: /^[\d.]+$|:/.test(smtp.host) ? undefined : smtp.host, ...(config.tls ?? {}), minVersion: MINIMUM_TLS_VERSION },
      logger: this.logger(),
      // Commands and replies, never the message itself: what the session
      // tracking and the transcript read.
      transactionLog: true,
      debug: false,
    });
    if (smtp.auth === 'oauth2' || smtp.auth === 'oauth2-app') {
      // nodemailer asks for a token when it signs in, and once more with
      // `renew` when the server rejects it: that is the one refresh before a try counts.
      this.transport.set('oauth2_provision_cb', (_user: string, renew: boolean, callback: (err: Error | null, token?: string, expires?: number) => void) => {
        if (!config.tokens) {
          const error = Object.assign(new Error('This mailbox signs in with OAuth, but sign-in is not available in this process.'), {
            name: 'AppError',
            code: 'OAUTH_NOT_AVAILABLE',
            hint: 'Sign the mailbox in with Microsoft 365 (Mailboxes > the mailbox > Sign in), then send again.',
          });
          this.tokenError = error;
          return callback(error);
        }
        config.tokens.getAccessToken(mailbox.id, { forceRefresh: renew }).then(
          (token) => {
            this.redactor.add(token.accessToken);
            this.tokenFacts = tokenFailureFacts(token.accessToken, { protocol: 'smtp', user, at: this.clock(), ...(token.otherAccountAllowed ? { allowOtherAccount: true } : {}) });
            callback(null, token.accessToken, token.expiresAt ?? undefined);
          },
          (error: unknown) => {
            // nodemailer rewrites the code of the error it is given (to EAUTH): keep a copy.
            this.tokenError = isAppError(error) ? new AppError(error.code, error.message, error.hint !== undefined ? { hint: error.hint } : {}) : error;
            callback(error instanceof Error ? error : new Error(String(error)));
          },
        );
      });
    }
  }

  private logger(): Record<'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal', LogFn> {
    const observe: LogFn = (meta, format, ...args) => this.observe(meta, format, args);
    const ignore: LogFn = () => undefined;
    return { trace: ignore, debug: observe, info: observe, warn: observe, error: observe, fatal: observe };
  }

  /** Follows the session from nodemailer's log events; keeps transcript lines when debug is on. */
  private get transcript(): Transcript | null {
    return this.pending[0]?.transcript ?? null;
  }

  private observe(meta: Record<string, unknown>, format: unknown, args: unknown[]): void {
    const tnx = meta.tnx;
    const text = typeof format === 'string' ? format : '';
    if (tnx === 'send') {
      // The pool sends its queue in order: the first message it has not started is this one.
      const next = this.pending.find((p) => !p.sendLogged);
      if (next) {
        if (!next.onWire) next.startedAt = this.clock();
        next.onWire = true;
        next.sendLogged = true;
      }
      return;
    }
    if (tnx === 'pool' && meta.action === 'conection') {
      // The connection is made for the next message: from now on it is on the wire.
      const next = this.pending.find((p) => !p.sendLogged && !p.onWire);
      if (next) {
        next.onWire = true;
        next.startedAt = this.clock();
      }
      // nodemailer spells it this way: a new connection is about to be made.
      this.resetSession();
    } else if (tnx === 'network' && /established/.test(text)) {
      this.phase = 'greeting';
      this.transcript?.info(`Connected to ${String(args[1] ?? '')}:${String(args[2] ?? '')}`);
    } else if (tnx === 'client') {
      const line = text.replace(/\r?\n$/, '');
      this.awaiting.push(stepOfCommand(line, this.awaiting[this.awaiting.length - 1] ?? this.phase));
      this.phase = this.awaiting[0]!;
      this.transcript?.client(line);
    } else if (tnx === 'server') {
      const reply = text.replace(/\r?\n$/, '');
      if (!this.greeted) this.greeted = true;
      else {
        const answered = this.awaiting.shift();
        // 354 to DATA: the message bytes go out now, the final reply is awaited.
        if (answered === 'data' && /^354/.test(reply)) this.awaiting.unshift('data');
      }
      this.phase = this.awaiting[0] ?? (this.phase === 'greeting' ? 'ehlo' : this.phase);
      if (this.transcript) for (const part of reply.split(/\r?\n/)) this.transcript.server(part);
    } else if (tnx === 'message' && meta.outByteCount !== undefined) {
      this.transcript?.client(`<${String(meta.outByteCount)} bytes of message, ending with ".">`);
    } else if (tnx === 'smtp' && meta.action === 'authenticated') {
      this.transcript?.info(`Signed in as ${String(meta.username ?? '')} (${String(meta.method ?? '')})`);
    } else if (this.transcript && tnx === 'connection' && meta.action === 'closed') {
      this.transcript.info('Connection closed');
    }
  }

  private resetSession(): void {
    this.phase = 'tcp';
    this.awaiting = [];
    this.greeted = false;
  }

  /** Messages on this lane (on the wire or queued behind it). */
  get load(): number {
    return this.pending.length;
  }

  get busy(): boolean {
    return this.pending.length > 0;
  }

  /** Sends one message (its MIME as is) to the given envelope. Never rejects: failures come back in the result. */
  send(envelope: { from: string; to: string[] }, raw: Buffer, messageId: string): Promise<LaneResult> {
    if (this.closed) return Promise.reject(new Error('lane closed'));
    return new Promise((resolve) => {
      const startedAt = this.clock();
      const entry: PendingSend = {
        transcript: this.config.settings.debug ? new Transcript(startedAt, this.redactor, this.clock) : null,
        startedAt,
        onWire: false,
        sendLogged: false,
        controller: new AbortController(),
        resolve,
      };
      if (this.config.credentialError !== undefined) {
        entry.transcript?.info('Not connecting: the mailbox has no usable sign-in');
        return resolve(this.outcome(entry, this.config.credentialError, undefined, 'auth', this.config.credentialError));
      }
      if (entry.transcript && this.greeted && !this.pending.length) entry.transcript.info('Reusing the open connection');
      this.pending.push(entry);
      // Straight to the pool (see raw-message.ts); the callback runs before it moves on to the next message.
      const pool = (this.transport as unknown as { transporter: { send(mail: unknown, callback: (error: Error | null, info: unknown) => void): void } }).transporter;
      const message = new RawMessage(smtpEnvelope(envelope.from, envelope.to), raw, `<${messageId}>`);
      pool.send({ message, data: { signal: entry.controller.signal } }, (error, info) => this.settle(entry, error, info as LaneResult['info']));
    });
  }

  private settle(entry: PendingSend, error: Error | null, info: LaneResult['info']): void {
    const head = this.pending[0] === entry;
    const index = this.pending.indexOf(entry);
    if (index >= 0) this.pending.splice(index, 1);
    const tokenError = head ? this.tokenError : undefined;
    if (head) this.tokenError = undefined;
    if (error && head) this.awaiting = [];
    entry.resolve(this.outcome(entry, error ?? undefined, info, head ? this.phase : 'tcp', tokenError, head ? this.tokenFacts : undefined));
  }

  private outcome(entry: PendingSend, error: unknown, info: LaneResult['info'], phase: LanePhase, tokenError: unknown, token?: TokenFailureFacts): LaneResult {
    const aborted = (error as { code?: string } | undefined)?.code === 'EABORT';
    return {
      ok: error === undefined,
      ...(info ? { info } : {}),
      ...(error !== undefined ? { error } : {}),
      phase,
      ...(tokenError !== undefined ? { tokenError } : {}),
      ...(token ? { token } : {}),
      transcript: entry.transcript ? entry.transcript.toJSON() : null,
      untried: aborted && !entry.onWire,
      startedAt: entry.startedAt,
      finishedAt: this.clock(),
    };
  }

  /** Pulls back the messages queued behind the one on the wire; they come back `untried`. */
  abortQueued(): void {
    for (const p of this.pending) if (!p.onWire) p.controller.abort();
  }

  /** Closes the connection; a message on the wire fails (and is recorded by the worker). */
  close(force = false): void {
    if (this.closed) return;
    this.closed = true;
    (this.transport as unknown as { close(options?: { force?: boolean }): void }).close({ force });
  }
}
