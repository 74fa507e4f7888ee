/**
 * The outbox's vocabulary, shared by the engine, the IPC contract, the CLI
 * and the renderer: statuses, the retry policy's settings, the shapes of a
 * queued message and of the local relay's settings. Imports nothing from
 * node or electron.
 */
import { z } from 'zod';
import { EmailAddress, MailboxId, Port } from './mailbox.js';
import { TranscriptLine } from './diagnosis.js';

import {
  ATTEMPT_OUTCOMES,
  DEFAULT_OUTBOX_SETTINGS,
  OUTBOX_SOURCES,
  OUTBOX_STATUSES,
  PENDING_STATUSES,
  RECIPIENT_STATUSES,
  type AttemptOutcome,
  type OutboxSource,
  type OutboxStatus,
  type RecipientStatus,
} from './outbox-constants.js';

export { ATTEMPT_OUTCOMES, DEFAULT_OUTBOX_SETTINGS, OUTBOX_SOURCES, OUTBOX_STATUSES, PENDING_STATUSES, RECIPIENT_STATUSES };
export type { AttemptOutcome, OutboxSource, OutboxStatus, RecipientStatus };

const enumError = (allowed: readonly string[]) => ({ error: `must be one of: ${allowed.join(', ')}` });
/** A status, validated with a message naming the allowed values. */
export const OutboxStatusSchema = z.enum(OUTBOX_STATUSES, enumError(OUTBOX_STATUSES));

/** An outbox message id. */
export const OutboxId = z.coerce
  .number({ error: 'must be an outbox message id (a positive whole number)' })
  .int({ error: 'must be an outbox message id (a positive whole number)' })
  .positive({ error: 'must be an outbox message id (a positive whole number)' });

/** Why the last try failed: the diagnosis code, a sentence, what to change, and what the server said. */
export const OutboxError = z.object({
  /** A diagnosis code (see shared/diagnosis.ts) or an engine error code. */
  code: z.string(),
  /** One sentence in plain words. */
  message: z.string(),
  /** What to change. */
  hint: z.string().nullable(),
  /** The server's reply (redacted), or null when there was none (a timeout, a refused connection). */
  serverReply: z.string().nullable(),
  /** The SMTP stage that failed: CONN, GREETING, EHLO, STARTTLS, AUTH, MAIL FROM, RCPT TO, DATA, MESSAGE. */
  stage: z.string().nullable(),
  /** ms UTC. */
  at: z.number().int(),
});
/** Why the last try failed. */
export type OutboxError = z.infer<typeof OutboxError>;

/** One line of the outbox list. */
export const OutboxSummary = z.object({
  id: z.number().int(),
  mailboxId: z.number().int(),
  mailboxName: z.string(),
  status: z.enum(OUTBOX_STATUSES),
  source: z.enum(OUTBOX_SOURCES),
  /** The Message-ID header, without angle brackets; the same on every try. */
  messageId: z.string(),
  from: z.string(),
  /** The first recipients, comma-separated; `recipientCount` says how many there are. */
  to: z.string(),
  recipientCount: z.number().int(),
  subject: z.string(),
  /** Bytes of MIME. */
  size: z.number().int(),
  attempts: z.number().int(),
  maxAttempts: z.number().int(),
  /** ms UTC; null once nothing more will be tried. */
  nextAttemptAt: z.number().int().nullable(),
  createdAt: z.number().int(),
  updatedAt: z.number().int(),
  sentAt: z.number().int().nullable(),
  lastError: OutboxError.nullable(),
  /** The server's acceptance reply, once sent. */
  acceptedReply: z.string().nullable(),
  /** The queue id in the acceptance reply, when the server gave one. */
  serverQueueId: z.string().nullable(),
});
/** One line of the outbox list. */
export type OutboxSummary = z.infer<typeof OutboxSummary>;

/** One envelope recipient of a message. */
export const OutboxRecipient = z.object({
  address: z.string(),
  status: z.enum(RECIPIENT_STATUSES),
  /** The server's reply to RCPT TO (or for the message) when it refused or deferred this recipient. */
  reply: z.string().nullable(),
});
/** One envelope recipient. */
export type OutboxRecipient = z.infer<typeof OutboxRecipient>;

/** One status transition. */
export const OutboxHistoryEntry = z.object({
  at: z.number().int(),
  status: z.string(),
  note: z.string().nullable(),
});
/** One status transition. */
export type OutboxHistoryEntry = z.infer<typeof OutboxHistoryEntry>;

/** One try. */
export const OutboxAttempt = z.object({
  number: z.number().int(),
  startedAt: z.number().int(),
  finishedAt: z.number().int(),
  outcome: z.enum(ATTEMPT_OUTCOMES),
  code: z.string().nullable(),
  message: z.string().nullable(),
  hint: z.string().nullable(),
  serverReply: z.string().nullable(),
  stage: z.string().nullable(),
});
/** One try. */
export type OutboxAttempt = z.infer<typeof OutboxAttempt>;

/** A message with everything the detail panel and `outbox show` need. */
export const OutboxDetail = OutboxSummary.extend({
  recipients: z.array(OutboxRecipient),
  history: z.array(OutboxHistoryEntry),
  attemptLog: z.array(OutboxAttempt),
  /** The redacted SMTP transcript of the last try, when the mailbox's debug setting was on. */
  transcript: z.array(TranscriptLine).nullable(),
  /** Who queued it: a relay account, `cli`, `console`, `desktop`. */
  submittedBy: z.string().nullable(),
  /** The message's header block (at most 16 KB), for a look at what will be sent. */
  headers: z.string(),
});
/** A message with its recipients, history, attempts and transcript. */
export type OutboxDetail = z.infer<typeof OutboxDetail>;

/** The orders the list can be read in; each is served from an index. */
export const OUTBOX_SORTS = ['created', 'nextAttempt'] as const;
/** A list order. */
export type OutboxSort = (typeof OUTBOX_SORTS)[number];

/** The most rows one page may hold. */
export const OUTBOX_PAGE_MAX = 1000;

/** ms UTC as a whole number. */
const Millis = z.coerce.number({ error: 'must be a time in ms since 1970 (UTC)' }).int({ error: 'must be a whole number of ms' }).nonnegative();

/** Filters, order and keyset cursor of a list request. */
export const OutboxListInput = z
  .object({
    mailboxId: MailboxId.optional(),
    /** Only these statuses. When absent, `view` decides. */
    statuses: z.array(OutboxStatusSchema).max(OUTBOX_STATUSES.length).optional(),
    /** `pending` (default): everything not yet sent or cancelled; `all`: sent and cancelled too. */
    view: z.enum(['pending', 'all'], enumError(['pending', 'all'])).default('pending'),
    /** Free text, matched in subject, recipients, sender and Message-ID. */
    text: z.string().trim().max(200, { error: 'must be at most 200 characters' }).optional(),
    /** Created at or after (ms UTC). */
    since: Millis.optional(),
    /** Created before (ms UTC). */
    until: Millis.optional(),
    sort: z.enum(OUTBOX_SORTS, enumError(OUTBOX_SORTS)).default('created'),
    direction: z.enum(['asc', 'desc'], enumError(['asc', 'desc'])).default('desc'),
    /** The `nextCursor` of the previous page. */
    cursor: z.string().max(200).optional(),
    limit: z.coerce
      .number({ error: `must be a whole number from 1 to ${OUTBOX_PAGE_MAX}` })
      .int({ error: `must be a whole number from 1 to ${OUTBOX_PAGE_MAX}` })
      .min(1, { error: `must be a whole number from 1 to ${OUTBOX_PAGE_MAX}` })
      .max(OUTBOX_PAGE_MAX, { error: `must be at most ${OUTBOX_PAGE_MAX}` })
      .default(100),
  })
  .strict();
/** A list request as a caller writes it. */
export type OutboxListInput = z.input<typeof OutboxListInput>;
/** A list request after defaults. */
export type OutboxListQuery = z.output<typeof OutboxListInput>;

/** One page of the list. */
export const OutboxPage = z.object({
  items: z.array(OutboxSummary),
  /** Pass as `cursor` for the next page; null on the last page. */
  nextCursor: z.string().nullable(),
});
/** One page of the list. */
export type OutboxPage = z.infer<typeof OutboxPage>;

/** How many messages are in each status. */
export const OutboxCounts = z.object(Object.fromEntries(OUTBOX_STATUSES.map((s) => [s, z.number().int()])) as Record<OutboxStatus, z.ZodNumber>);
/** How many messages are in each status. */
export type OutboxCounts = z.infer<typeof OutboxCounts>;

const MAX_RECIPIENTS = 500;
const HeaderText = (what: string, max: number) =>
  z
    .string()
    .max(max, { error: `must be at most ${max} characters` })
    .refine((v) => !/[\r\n\0]/.test(v), { error: `must not contain line breaks (${what} is one line)` });

/** A message composed from fields; the engine builds the MIME with nodemailer's composer. */
export const ComposeInput = z
  .object({
    mailboxId: MailboxId,
    to: z.array(EmailAddress).min(1, { error: 'needs at least one recipient address' }).max(MAX_RECIPIENTS, { error: `must have at most ${MAX_RECIPIENTS} recipients` }),
    cc: z.array(EmailAddress).max(MAX_RECIPIENTS).optional(),
    bcc: z.array(EmailAddress).max(MAX_RECIPIENTS).optional(),
    subject: HeaderText('the subject', 998),
    text: z.string().max(5 * 1024 * 1024, { error: 'must be at most 5 MB of text' }),
    html: z.string().max(10 * 1024 * 1024, { error: 'must be at most 10 MB of HTML' }).optional(),
    /** A display name for the From header; the address is always the mailbox's. */
    fromName: HeaderText('the sender name', 200).optional(),
  })
  .strict();
/** A message composed from fields. */
export type ComposeInput = z.input<typeof ComposeInput>;

/** What queueing said: the new rows, committed. */
export const QueueResult = z.object({
  queued: z.number().int(),
  messages: z.array(OutboxSummary),
});
/** What queueing said. */
export type QueueResult = z.infer<typeof QueueResult>;

/** Retry policy and connection settings of one mailbox's outbox. */
export const OutboxSettings = z.object({
  /** Tries before a message that keeps failing temporarily is failed. Default 8. */
  maxAttempts: z.number().int().min(1).max(100),
  /** Wait after the first temporary failure, seconds. Default 240 (4 min). */
  firstRetrySeconds: z.number().int().min(1).max(86_400),
  /** Each wait is this many times the one before. Default 2.45. */
  retryFactor: z.number().min(1).max(10),
  /** No wait is longer than this, seconds. Default 57600 (16 h). */
  maxRetrySeconds: z.number().int().min(1).max(7 * 86_400),
  /** Parallel SMTP connections. Default 3 (Microsoft 365 allows three per mailbox). */
  connections: z.number().int().min(1).max(20),
  /** Messages sent over one connection before it is replaced. Default 100. */
  messagesPerConnection: z.number().int().min(1).max(100_000),
  /** Seconds without an answer before a try is given up (connect, greeting, each reply). Default 60. */
  timeoutSeconds: z.number().int().min(1).max(600),
  /** Keep the redacted SMTP transcript of each message's last try. */
  debug: z.boolean(),
});
/** Retry policy and connection settings of one mailbox's outbox. */
export type OutboxSettings = z.infer<typeof OutboxSettings>;

const intIn = (min: number, max: number, unit: string) =>
  z.coerce
    .number({ error: `must be a whole number of ${unit} from ${min} to ${max}` })
    .int({ error: `must be a whole number of ${unit} from ${min} to ${max}` })
    .min(min, { error: `must be at least ${min} ${unit}` })
    .max(max, { error: `must be at most ${max} ${unit}` });

/** A change to a mailbox's outbox settings: only the fields given change. */
export const OutboxSettingsInput = z
  .object({
    mailboxId: MailboxId,
    maxAttempts: intIn(1, 100, 'tries').optional(),
    firstRetrySeconds: intIn(1, 86_400, 'seconds').optional(),
    retryFactor: z.coerce.number({ error: 'must be a number from 1 to 10' }).min(1, { error: 'must be at least 1' }).max(10, { error: 'must be at most 10' }).optional(),
    maxRetrySeconds: intIn(1, 7 * 86_400, 'seconds').optional(),
    connections: intIn(1, 20, 'connections').optional(),
    messagesPerConnection: intIn(1, 100_000, 'messages').optional(),
    timeoutSeconds: intIn(1, 600, 'seconds').optional(),
    debug: z.boolean().optional(),
  })
  .strict();
/** A change to a mailbox's outbox settings. */
export type OutboxSettingsInput = z.input<typeof OutboxSettingsInput>;

/** A relay user name: what a scanner or application is configured with. */
export const RelayUserName = z
  .string({ error: 'must be a user name such as scanner' })
  .trim()
  .min(1, { error: 'is required: a user name such as scanner' })
  .max(100, { error: 'must be at most 100 characters' })
  .regex(/^[A-Za-z0-9._@+-]+$/, { error: 'may only contain letters, digits and . _ @ + -' });

/**
 * Which From a relay account's mail goes out with. `keep`: the
 * application's own From, unchanged (for a server that lets the mailbox
 * send as that address). `mailbox`: the mailbox's address becomes the
 * From (the display name is kept) and the application's From becomes the
 * Reply-To, unless the message has a Reply-To already (then that one stays).
 */
export const RELAY_FROM_MODES = ['keep', 'mailbox'] as const;
/** Which From a relay account's mail goes out with. */
export type RelayFromMode = (typeof RELAY_FROM_MODES)[number];
/** Which From a relay account's mail goes out with (validated). */
export const RelayFromMode = z.enum(RELAY_FROM_MODES, { error: 'must be keep (the application\'s From) or mailbox (the mailbox\'s address)' });

/** A relay account as shown: the password never leaves the engine (it is kept only as a hash). */
export const RelayAccount = z.object({
  id: z.number().int(),
  username: z.string(),
  mailboxId: z.number().int(),
  mailboxName: z.string(),
  /** Which From its mail goes out with. */
  fromMode: RelayFromMode,
  createdAt: z.number().int(),
  lastUsedAt: z.number().int().nullable(),
});
/** A relay account as shown. */
export type RelayAccount = z.infer<typeof RelayAccount>;

/** Something that would keep the relay's mail from going out, with what to change. */
export const RelayWarning = z.object({
  /** OAUTH_SIGN_IN_REQUIRED (the mailbox needs a Microsoft sign-in) or RELAY_FROM_NOT_ALLOWED (a kept From the mailbox may not send as). */
  code: z.string(),
  message: z.string(),
  hint: z.string(),
  mailboxId: z.number().int(),
  /** The relay accounts it concerns. */
  accounts: z.array(z.string()),
});
/** Something that would keep the relay's mail from going out. */
export type RelayWarning = z.infer<typeof RelayWarning>;

/** The local submission relay's settings and state. */
export const RelaySettings = z.object({
  enabled: z.boolean(),
  /** Always 127.0.0.1: the relay never listens on a network address. */
  host: z.literal('127.0.0.1'),
  port: z.number().int(),
  /** Accept mail without a sign-in when the sender address is a mailbox's address. */
  allowUnauthenticated: z.boolean(),
  maxMessageBytes: z.number().int(),
  /** STARTTLS is offered when a certificate and key are stored. */
  starttls: z.boolean(),
  /** The certificate's subject, when one is stored. */
  tlsSubject: z.string().nullable(),
  accounts: z.array(RelayAccount),
  /** What would keep the relay's mail from going out: a mailbox that needs a sign-in, a From the mailbox may not send as. */
  warnings: z.array(RelayWarning),
  /** Whether a relay is listening in this process right now, and where. */
  running: z.boolean(),
  listeningPort: z.number().int().nullable(),
});
/** The local submission relay's settings and state. */
export type RelaySettings = z.infer<typeof RelaySettings>;

const Password = z
  .string({ error: 'must be text' })
  .min(8, { error: 'must be at least 8 characters' })
  .max(1024, { error: 'must be at most 1024 characters' })
  .refine((v) => !/[\r\n\0]/.test(v), { error: 'must not contain line breaks or NUL characters' });

/** A change to the relay's settings: only the fields given change. */
export const RelaySettingsInput = z
  .object({
    enabled: z.boolean().optional(),
    port: Port.optional(),
    allowUnauthenticated: z.boolean().optional(),
    maxMessageBytes: intIn(1024, 150 * 1024 * 1024, 'bytes').optional(),
    /** PEM certificate and private key for STARTTLS; `null` removes them. */
    tls: z
      .object({
        certPem: z.string().max(64 * 1024).refine((v) => v.includes('-----BEGIN CERTIFICATE-----'), { error: 'must be a PEM certificate (-----BEGIN CERTIFICATE-----)' }),
        keyPem: z.string().max(64 * 1024).refine((v) => /-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(v), { error: 'must be a PEM private key (-----BEGIN PRIVATE KEY-----)' }),
      })
      .strict()
      .nullable()
      .optional(),
    /** Accounts to add or change (by user name); the password is write-only. */
    addAccounts: z
      .array(z.object({ username: RelayUserName, mailboxId: MailboxId, password: Password, fromMode: RelayFromMode.optional() }).strict())
      .max(100)
      .optional(),
    /** Accounts to change (by user name): only the fields given change. */
    updateAccounts: z
      .array(z.object({ username: RelayUserName, mailboxId: MailboxId.optional(), password: Password.optional(), fromMode: RelayFromMode.optional() }).strict())
      .max(100)
      .optional(),
    /** User names of accounts to remove. */
    removeAccounts: z.array(RelayUserName).max(100).optional(),
  })
  .strict();
/** A change to the relay's settings. */
export type RelaySettingsInput = z.input<typeof RelaySettingsInput>;

/** What `engine run --until-idle --json` prints at the end. Scripts depend on this shape. */
export const EngineRunSummary = z.object({
  sent: z.number().int(),
  deferred: z.number().int(),
  failed: z.number().int(),
  /** Messages left waiting for their mailbox's Microsoft sign-in (of every mailbox, when the run ended). */
  waitingForSignIn: z.number().int(),
  ms: z.number().int(),
});
/** What `engine run --until-idle --json` prints. */
export type EngineRunSummary = z.infer<typeof EngineRunSummary>;

/** The payload of `outbox.changed`: which messages changed, in which mailboxes. */
export const OutboxChangedEvent = z.object({
  ids: z.array(z.number().int()),
  mailboxIds: z.array(z.number().int()),
});
/** The payload of `outbox.changed`. */
export type OutboxChangedEvent = z.infer<typeof OutboxChangedEvent>;

/** The state of one mailbox's sender, for the screen's header. */
export const OutboxWorkerState = z.object({
  mailboxId: z.number().int(),
  mailboxName: z.string(),
  /**
   * `idle`, `sending`, `paused` (after a connection or sign-in failure, until
   * `pausedUntil`), `waiting-sign-in` (the mailbox needs a Microsoft sign-in;
   * `lastError` says why), `stopped`.
   */
  state: z.enum(['idle', 'sending', 'paused', 'waiting-sign-in', 'stopped']),
  pausedUntil: z.number().int().nullable(),
  lastError: OutboxError.nullable(),
});
/** The state of one mailbox's sender. */
export type OutboxWorkerState = z.infer<typeof OutboxWorkerState>;

/** Who is running the outbox for this data folder. */
export const OutboxEngineState = z.object({
  /** True when this process sends the outbox. */
  running: z.boolean(),
  /** Another process that sends it, when one does. */
  heldBy: z.object({ pid: z.number().int(), host: z.string(), runtime: z.string(), since: z.number().int() }).nullable(),
  workers: z.array(OutboxWorkerState),
});
/** Who is running the outbox. */
export type OutboxEngineState = z.infer<typeof OutboxEngineState>;

/**
 * When a waiting message will really be tried. A paused mailbox tries nothing
 * before its pause ends, so a message due earlier is tried when the pause
 * ends: the one time the Outbox's banner, list and detail and the CLI all show
 * (a message's own backoff and the mailbox's pause used to read as two
 * different times for the same try).
 */
export function nextTryOf<T extends Pick<OutboxSummary, 'status' | 'nextAttemptAt'>>(message: T, pausedUntil: number | null | undefined): T {
  if (pausedUntil === null || pausedUntil === undefined || message.nextAttemptAt === null) return message;
  if (message.status !== 'queued' && message.status !== 'deferred') return message;
  return message.nextAttemptAt < pausedUntil ? { ...message, nextAttemptAt: pausedUntil } : message;
}
