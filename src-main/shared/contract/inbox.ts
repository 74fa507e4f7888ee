/**
 * The inbox over IPC: each mailbox's receive state, the imported messages
 * (filters, keyset paging), one message in detail and raw, Poll now, Import
 * with debug, the polls of a mailbox, and the handoff folder. Changes arrive
 * live as `inbox.changed` events.
 */
import { z } from 'zod';
import { channel, eventChannel } from './channel.js';
import { FolderName, MailboxId } from '../mailbox.js';
import {
  FirstImportLook,
  StartFromNowResult,
  InboxChangedEvent,
  InboxListInput,
  InboxMessageDetail,
  InboxMessageId,
  InboxPage,
  InboxSettings,
  InboxSettingsInput,
  PageLimit,
  PollDetail,
  PollId,
  PollRecord,
  RawMessage,
  ReceiveState,
} from '../inbox.js';

/** Inbox channels. */
export const inbox = {
  /** Every mailbox's receive state (healthy, failing, disabled), last success, last try, last error. */
  states: channel(z.object({}).strict(), z.array(ReceiveState)),
  /** One page of imported messages, newest first. */
  list: channel(InboxListInput, InboxPage),
  /** One message: headers, plain-text preview, the HTML source as text, attachments listed. */
  get: channel(z.object({ id: InboxMessageId }).strict(), InboxMessageDetail),
  /** The raw message, as text (cut at 2 MB) or as exact base64. */
  raw: channel(z.object({ id: InboxMessageId, encoding: z.enum(['text', 'base64']).default('text') }).strict(), RawMessage),
  /** Polls a mailbox now and resolves with the poll's record. */
  pollNow: channel(z.object({ mailboxId: MailboxId }).strict(), PollDetail),
  /** One poll with the full IMAP transcript kept (secrets redacted). */
  importWithDebug: channel(z.object({ mailboxId: MailboxId }).strict(), PollDetail),
  /** The polls of a mailbox, newest first (keyset by id). */
  polls: channel(z.object({ mailboxId: MailboxId, beforeId: PollId.optional(), limit: PageLimit.default(50) }).strict(), z.array(PollRecord)),
  /** One poll with its transcript. */
  poll: channel(z.object({ id: PollId }).strict(), PollDetail),
  /** A mailbox's import settings (the handoff folder). */
  settings: channel(z.object({ mailboxId: MailboxId }).strict(), InboxSettings),
  /** Changes a mailbox's import settings; `handoffDir: null` switches the handoff off. */
  saveSettings: channel(InboxSettingsInput, InboxSettings),
  /**
   * Whether enabling the mailbox starts a first import: its folder (or the one
   * given, when the form changes it) has no import position yet. No network.
   */
  firstImportNeeded: channel(z.object({ mailboxId: MailboxId, folder: FolderName.optional() }).strict(), z.object({ needed: z.boolean() })),
  /** Signs in and counts the folder's messages (IMAP STATUS): what a first import would do. Imports nothing. */
  firstImport: channel(z.object({ mailboxId: MailboxId }).strict(), FirstImportLook),
  /** "Only mail that arrives from now on": records the folder's UIDVALIDITY and UIDNEXT - 1 as the import position, importing nothing. */
  startFromNow: channel(z.object({ mailboxId: MailboxId }).strict(), StartFromNowResult),
} as const;

/** Events of the inbox. */
export const inboxEvents = {
  /** A poll started or finished, messages were stored, or an importer changed state. */
  'inbox.changed': eventChannel(InboxChangedEvent),
} as const;
