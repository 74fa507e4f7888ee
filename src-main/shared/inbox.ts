/**
 * Inbound mail vocabulary shared by the engine, the IPC contract, the CLI and
 * the renderer: imported messages and their statuses, the per-mailbox
 * receive state, per-poll records and the import settings.
 * Imports nothing from node or electron.
 */
import { z } from 'zod';
import { MailboxId } from './mailbox.js';
import { TranscriptLine } from './diagnosis.js';

/**
 * What became of one message found on the server.
 * - `imported`: stored raw and parsed (green).
 * - `duplicate`: the same message is already stored: a resend or
 *   re-delivery with the same content below the trace fields servers add
 *   (Received, Delivered-To...), so also the same Message-ID. Its own bytes
 *   are kept; it is not counted, parsed for the list or handed off again
 *   (neutral). A different message that reuses a Message-ID is `imported`.
 * - `failed`: stored raw but could not be read; logged, never retried (red).
 */
export const INBOX_STATUSES = ['imported', 'duplicate', 'failed'] as const;
/** What became of one message found on the server. */
export type InboxStatus = (typeof INBOX_STATUSES)[number];

/**
 * Where the after-import action (mark seen, move, delete) stands for one
 * message. It only ever runs after the message is committed locally.
 * - `pending`: committed, action not yet confirmed by the server.
 * - `done`: the server confirmed it.
 * - `failed`: the server refused it; retried on the next poll.
 * - `skipped`: the folder was renumbered (UIDVALIDITY changed) before it ran;
 *   the message is matched again by its content on the resync.
 */
export const ACTION_STATES = ['pending', 'done', 'failed', 'skipped'] as const;
/** Where the after-import action stands for one message. */
export type ActionState = (typeof ACTION_STATES)[number];

/** Where the handoff copy (.eml in the handoff folder) stands for one message. */
export const HANDOFF_STATES = ['none', 'pending', 'written', 'failed'] as const;
/** Where the handoff copy stands for one message. */
export type HandoffState = (typeof HANDOFF_STATES)[number];

/** Why a poll ran. */
export const POLL_TRIGGERS = ['schedule', 'idle', 'manual', 'debug', 'cli', 'start'] as const;
/** Why a poll ran. */
export type PollTrigger = (typeof POLL_TRIGGERS)[number];

/** How a poll ended. `running` while it goes on (or when its process was killed). */
export const POLL_OUTCOMES = ['running', 'ok', 'failed'] as const;
/** How a poll ended. */
export type PollOutcome = (typeof POLL_OUTCOMES)[number];

/**
 * A mailbox's receive health, as the Inbox screen colours it:
 * `healthy` (green) the last poll worked, `failing` (red) it did not,
 * `disabled` (grey) the mailbox is switched off, `never` (neutral) not polled yet.
 */
export const RECEIVE_HEALTH = ['healthy', 'failing', 'disabled', 'never'] as const;
/** A mailbox's receive health. */
export type ReceiveHealth = (typeof RECEIVE_HEALTH)[number];

/** Error codes of the import that are not connection diagnoses. */
export const INBOX_ERROR_CODES = [
  /** The message could not be parsed; it is kept raw. */
  'MESSAGE_PARSE_FAILED',
  /** The message took too long to parse (or crashed the parser); it is kept raw. */
  'MESSAGE_PARSE_TIMEOUT',
  /** The message has no content at all; it is kept raw. */
  'MESSAGE_EMPTY',
  /** The message has no header fields; it is kept raw. */
  'MESSAGE_NO_HEADERS',
  /** The folder was renumbered on the server (UIDVALIDITY changed). */
  'UIDVALIDITY_CHANGED',
  /** The after-import action failed on the server. */
  'AFTER_IMPORT_FAILED',
  /** The .eml copy could not be written to the handoff folder. */
  'HANDOFF_FAILED',
  /** A password mailbox has no password stored. */
  'PASSWORD_MISSING',
  /** An OAuth mailbox cannot get a token here (no token provider). */
  'OAUTH_UNAVAILABLE',
  /** A poll was interrupted (the program stopped); nothing committed was lost. */
  'POLL_INTERRUPTED',
  /** Imported messages could not be written to the store (disk full, file locked). */
  'STORE_WRITE_FAILED',
  /** The server listed messages it then did not send. */
  'MESSAGE_NOT_RETURNED',
  /** A message was imported whose Message-ID a different stored message already has (both are kept). */
  'MESSAGE_ID_REUSED',
  /** A duplicate recorded by an earlier Mailroom has no bytes of its own stored (only the first copy's were kept then). */
  'RAW_NOT_KEPT',
] as const;

/** One attachment as listed (never its content). */
export const AttachmentInfo = z.object({
  /** File name as the sender gave it, or a made-up `attachment-N` when it has none. */
  filename: z.string(),
  contentType: z.string(),
  /** Decoded size in bytes. */
  size: z.number().int().nonnegative(),
  /** `inline` parts are images shown in the body; `attachment` parts are files. */
  disposition: z.string().nullable(),
});
/** One attachment as listed. */
export type AttachmentInfo = z.infer<typeof AttachmentInfo>;

/** One imported message as listed (no body). */
export const InboxMessageSummary = z.object({
  id: z.number().int(),
  /** Null once the mailbox was deleted (its messages are kept). */
  mailboxId: z.number().int().nullable(),
  /** The mailbox's name (kept when the mailbox is deleted later). */
  mailboxName: z.string().nullable(),
  status: z.enum(INBOX_STATUSES),
  folder: z.string(),
  uidValidity: z.number().int(),
  uid: z.number().int(),
  /** Message-ID without angle brackets; null when the message has none. */
  messageId: z.string().nullable(),
  /** The From header as text, e.g. `Ann Lee <ann@example.com>`. */
  from: z.string().nullable(),
  /** The To header as text. */
  to: z.string().nullable(),
  subject: z.string().nullable(),
  /** The Date header, ms UTC; null when missing or unreadable. */
  sentAt: z.number().int().nullable(),
  /** When the server received it (IMAP INTERNALDATE), ms UTC. */
  receivedAt: z.number().int().nullable(),
  /** When Mailroom stored it, ms UTC. */
  importedAt: z.number().int(),
  /** Size of the raw message in bytes. */
  size: z.number().int().nonnegative(),
  attachmentCount: z.number().int().nonnegative(),
  /** The first characters of the plain text, for the list. */
  snippet: z.string(),
  /** The after-import action that applies to it, e.g. `mark-seen`, `move:Archive`, `delete`. */
  action: z.string(),
  actionState: z.enum(ACTION_STATES),
  handoffState: z.enum(HANDOFF_STATES),
  /** For `failed` messages: the code and the reason. */
  errorCode: z.string().nullable(),
  error: z.string().nullable(),
  /** For `duplicate` messages: the stored message it repeats. */
  duplicateOf: z.number().int().nullable(),
  /**
   * For a message whose Message-ID an earlier, different stored message of
   * the same mailbox also has: that message. Both are kept; neither is a
   * duplicate of the other.
   */
  sharesMessageIdWith: z.number().int().nullable(),
  /** The poll that found it. */
  pollId: z.number().int().nullable(),
});
/** One imported message as listed. */
export type InboxMessageSummary = z.infer<typeof InboxMessageSummary>;

/** One header field as it appears in the message (decoded to text). */
export const HeaderField = z.object({ name: z.string(), value: z.string() });
/** One header field. */
export type HeaderField = z.infer<typeof HeaderField>;

/** One message in full: headers, plain text, the HTML source as text, attachments. */
export const InboxMessageDetail = InboxMessageSummary.extend({
  /** Every header field in order (long values cut at 4000 characters). */
  headers: z.array(HeaderField),
  /** The plain-text body (from the HTML part, converted to text, when there is no plain part). Cut at 200,000 characters. */
  text: z.string(),
  /** The HTML part's source, to show as text only. Never render it. Null when there is none. Cut at 200,000 characters. */
  htmlSource: z.string().nullable(),
  /** True when `text` or `htmlSource` was cut. */
  truncated: z.boolean(),
  attachments: z.array(AttachmentInfo),
  /** The Cc header as text. */
  cc: z.string().nullable(),
  /** Things that are odd about the message but did not stop the import (no Message-ID, no Date...). */
  warnings: z.array(z.string()),
  /** Where the .eml copy was written, when it was. */
  handoffPath: z.string().nullable(),
  /** The last error of the after-import action or the handoff, when there is one. */
  actionError: z.string().nullable(),
  handoffError: z.string().nullable(),
  /**
   * The other stored messages of the mailbox (not duplicates) with the same
   * Message-ID and different content, oldest first.
   */
  sameMessageIdAs: z.array(z.number().int()),
  /**
   * Whether this message's own bytes are stored. Always true, except for a
   * duplicate recorded by an earlier Mailroom (store schema 6 or older), which
   * kept only the first copy's bytes.
   */
  rawKept: z.boolean(),
});
/** One message in full. */
export type InboxMessageDetail = z.infer<typeof InboxMessageDetail>;

/** The raw message. */
export const RawMessage = z.object({
  id: z.number().int(),
  size: z.number().int().nonnegative(),
  /** `text`: the bytes as UTF-8 text (bytes that are not UTF-8 shown as U+FFFD); `base64`: the exact bytes. */
  encoding: z.enum(['text', 'base64']),
  content: z.string(),
  /** True when the text was cut at 2 MB (base64 is never cut). */
  truncated: z.boolean(),
  /** A file name for saving it, e.g. `mailroom-Support-42.eml`. */
  fileName: z.string(),
});
/** The raw message. */
export type RawMessage = z.infer<typeof RawMessage>;

/** The counts of one poll, exactly as `mailroom inbox poll --json` prints them. */
export const PollCounts = z.object({
  /** Messages downloaded from the server. */
  fetched: z.number().int().nonnegative(),
  /** Messages stored as new. */
  imported: z.number().int().nonnegative(),
  /** Messages already stored (the same message again: same Message-ID and content), recorded with their bytes and skipped. */
  duplicates: z.number().int().nonnegative(),
  /** Messages stored raw that could not be read. */
  failed: z.number().int().nonnegative(),
  /** How long the poll took. */
  ms: z.number().int().nonnegative(),
});
/** The counts of one poll. */
export type PollCounts = z.infer<typeof PollCounts>;

/** One poll of one mailbox, as the receive log records it. */
export const PollRecord = PollCounts.extend({
  id: z.number().int(),
  mailboxId: z.number().int(),
  trigger: z.enum(POLL_TRIGGERS),
  outcome: z.enum(POLL_OUTCOMES),
  startedAt: z.number().int(),
  finishedAt: z.number().int().nullable(),
  folder: z.string(),
  /** The folder's UIDVALIDITY seen by this poll. */
  uidValidity: z.number().int().nullable(),
  /** True when this poll found the folder renumbered and resynchronised it. */
  resynced: z.boolean(),
  /** On failure: the diagnosis code, the one-line reason and what to change. */
  code: z.string().nullable(),
  message: z.string().nullable(),
  hint: z.string().nullable(),
  /** Whether a full protocol transcript was kept (Import with debug). */
  hasTranscript: z.boolean(),
});
/** One poll of one mailbox. */
export type PollRecord = z.infer<typeof PollRecord>;

/** A poll with its redacted IMAP transcript, when one was kept. */
export const PollDetail = PollRecord.extend({ transcript: z.array(TranscriptLine) });
/** A poll with its transcript. */
export type PollDetail = z.infer<typeof PollDetail>;

/** The last error of a mailbox's import. */
export const ReceiveError = z.object({
  code: z.string(),
  message: z.string(),
  hint: z.string().nullable(),
  at: z.number().int(),
});
/** The last error of a mailbox's import. */
export type ReceiveError = z.infer<typeof ReceiveError>;

/** A mailbox's receive state, as the help-desk system's mail filter records it. */
export const ReceiveState = z.object({
  mailboxId: z.number().int(),
  mailboxName: z.string(),
  address: z.string(),
  enabled: z.boolean(),
  health: z.enum(RECEIVE_HEALTH),
  folder: z.string(),
  afterImport: z.string(),
  pollIntervalSeconds: z.number().int(),
  lastSuccessAt: z.number().int().nullable(),
  lastTryAt: z.number().int().nullable(),
  lastError: ReceiveError.nullable(),
  consecutiveFailures: z.number().int().nonnegative(),
  /** A poll of this mailbox is running in this process now. */
  polling: z.boolean(),
  /** This process keeps an IDLE connection open to this mailbox. */
  idling: z.boolean(),
  /** When the next scheduled poll is due in this process (null when the importer is not running here). */
  nextPollAt: z.number().int().nullable(),
  /** Stored messages by status. */
  counts: z.object({ imported: z.number().int(), duplicate: z.number().int(), failed: z.number().int() }),
  /** Where .eml copies are written, or null when the handoff is off. */
  handoffDir: z.string().nullable(),
});
/** A mailbox's receive state. */
export type ReceiveState = z.infer<typeof ReceiveState>;

/** A message row id. */
export const InboxMessageId = z.coerce
  .number({ error: 'must be a message id (a positive whole number)' })
  .int({ error: 'must be a message id (a positive whole number)' })
  .positive({ error: 'must be a message id (a positive whole number)' });

/** A poll id. */
export const PollId = z.coerce
  .number({ error: 'must be a poll id (a positive whole number)' })
  .int({ error: 'must be a poll id (a positive whole number)' })
  .positive({ error: 'must be a poll id (a positive whole number)' });

/** Most rows one page returns. */
export const INBOX_PAGE_MAX = 1000;

/** A page size. */
export const PageLimit = z.coerce
  .number({ error: `must be a whole number from 1 to ${INBOX_PAGE_MAX}` })
  .int({ error: `must be a whole number from 1 to ${INBOX_PAGE_MAX}` })
  .min(1, { error: 'must be at least 1' })
  .max(INBOX_PAGE_MAX, { error: `must be at most ${INBOX_PAGE_MAX}` });

/** Filters and keyset of the message list. Newest first. */
export const InboxListInput = z
  .object({
    mailboxId: MailboxId.optional(),
    status: z.enum(INBOX_STATUSES, { error: `must be one of: ${INBOX_STATUSES.join(', ')}` }).optional(),
    /** Keyset: only messages with a smaller id (the next page). */
    beforeId: InboxMessageId.optional(),
    limit: PageLimit.default(100),
  })
  .strict();
/** Filters and keyset of the message list. */
export type InboxListInput = z.input<typeof InboxListInput>;

/** One page of messages. */
export const InboxPage = z.object({
  messages: z.array(InboxMessageSummary),
  /** Pass as `beforeId` for the next page; null at the end. */
  nextBeforeId: z.number().int().nullable(),
});
/** One page of messages. */
export type InboxPage = z.infer<typeof InboxPage>;

/**
 * The handoff folder: a local folder path, absolute. Every imported message
 * is also written there as an .eml file (written under a temporary name, then
 * renamed), for the next system to pick up.
 */
export const HandoffDir = z
  .string()
  .trim()
  .min(1, { error: 'must not be empty; give a folder such as C:\\Mailroom\\handoff, or null to switch the handoff off' })
  .max(1024, { error: 'must be at most 1024 characters' })
  .refine((v) => !/[\0\r\n]/.test(v), { error: 'must not contain line breaks or NUL characters' })
  .refine((v) => /^(?:[A-Za-z]:[\\/]|\\\\|\/)/.test(v), { error: 'must be an absolute path, such as C:\\Mailroom\\handoff or \\\\server\\share\\handoff' });

/** The import settings of a mailbox that are not part of its server settings. */
export const InboxSettings = z.object({
  mailboxId: z.number().int(),
  handoffDir: z.string().nullable(),
});
/** The import settings of a mailbox. */
export type InboxSettings = z.infer<typeof InboxSettings>;

/** Input to change the import settings. */
export const InboxSettingsInput = z.object({ mailboxId: MailboxId, handoffDir: HandoffDir.nullable() }).strict();
/** Input to change the import settings. */
export type InboxSettingsInput = z.input<typeof InboxSettingsInput>;

/** Payload of `inbox.changed`: something about a mailbox's import changed. */
export const InboxChangedEvent = z.object({
  mailboxId: z.number().int(),
  /** `poll-started`, `messages` (a batch was stored), `poll-finished`, `settings`, `state` (the importer connected, idled or stopped). */
  reason: z.enum(['poll-started', 'messages', 'poll-finished', 'settings', 'state']),
  pollId: z.number().int().nullable(),
});
/** Payload of `inbox.changed`. */
export type InboxChangedEvent = z.infer<typeof InboxChangedEvent>;

/**
 * What the first import of a mailbox would do: how many messages its folder
 * holds now and what the after-import action would do to them (issue 13,
 * item 13: saving an enabled mailbox imported all its mail and marked it
 * read before anyone had tested it).
 */
export const FirstImportLook = z.object({
  mailboxId: z.number().int(),
  folder: z.string(),
  /** Messages in the folder now. */
  messages: z.number().int().nonnegative(),
  /** Unread ones among them, when the server says. */
  unseen: z.number().int().nonnegative().nullable(),
  /** The after-import action the import would run on each (`mark-seen`, `delete`, `move:<folder>`). */
  afterImport: z.string(),
  /** What that means, in the form's words: "marked as read on the server". */
  afterImportWords: z.string(),
  /** Whether the folder already has an import position (then nothing is imported at once). */
  started: z.boolean(),
});
/** What the first import of a mailbox would do. */
export type FirstImportLook = z.infer<typeof FirstImportLook>;

/** The import position set by "only mail that arrives from now on". */
export const StartFromNowResult = z.object({
  mailboxId: z.number().int(),
  folder: z.string(),
  uidValidity: z.number().int(),
  /** The import starts with UIDs above this one (the folder's UIDNEXT - 1). */
  startAfterUid: z.number().int().nonnegative(),
  /** Messages left as they are on the server (never imported). */
  leftAlone: z.number().int().nonnegative(),
});
/** The import position set by "only mail that arrives from now on". */
export type StartFromNowResult = z.infer<typeof StartFromNowResult>;

/** The after-import action in words, for "what will happen to them". */
/**
 * The inbox "folder" of messages imported over POP3 (POP3 reads one
 * maildrop, the INBOX); the store keys POP3 rows by it (store/pop3-repo.ts,
 * which takes this one), and the screens name such a message by its
 * maildrop, not a folder, UID and UIDVALIDITY.
 */
export const POP3_MAILDROP_FOLDER = 'INBOX (POP3)';

/** True for a message, poll or receive state of a POP3 mailbox. */
export function isPop3Folder(folder: string): boolean {
  return folder === POP3_MAILDROP_FOLDER;
}

/**
 * The UIDVALIDITY the store gives rows imported through Microsoft Graph
 * (store/graph-sync-repo.ts uses this one): Mailroom numbers them itself,
 * in import order.
 */
export const GRAPH_IMPORT_UID_VALIDITY = -1;

/**
 * Where a stored message came from on the server, in words, the same on the
 * screens and in the CLI: an IMAP folder with its UID and UIDVALIDITY, the
 * POP3 maildrop (taken once by its UIDL), or a folder read through
 * Microsoft Graph (numbered by Mailroom in import order).
 */
export function serverPlaceWords(d: { mailboxName: string | null; folder: string; uid: number; uidValidity: number }): { label: string; text: string } {
  const mailbox = d.mailboxName ?? '(deleted mailbox)';
  if (isPop3Folder(d.folder)) return { label: 'Source', text: `${mailbox} / POP3 maildrop · taken once by its UIDL` };
  if (d.uidValidity === GRAPH_IMPORT_UID_VALIDITY) return { label: 'From folder', text: `${mailbox} / ${d.folder} · Graph message ${d.uid} (imported through Microsoft Graph)` };
  return { label: 'From folder', text: `${mailbox} / ${d.folder} · UID ${d.uid} · UIDVALIDITY ${d.uidValidity}` };
}

export function afterImportWords(action: string): string {
  if (action === 'delete') return 'deleted from the server';
  if (action.startsWith('move:')) return `moved to the folder ${action.slice('move:'.length)} on the server`;
  // POP3's default: the message stays; its UIDL keeps it from being imported again.
  if (action === 'leave') return 'left on the server';
  return 'marked as read on the server';
}
