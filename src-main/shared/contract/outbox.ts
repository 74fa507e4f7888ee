/**
 * The outbox over IPC: list (filters, keyset paging), one message in detail,
 * compose, Send now, Retry, Cancel, Delete, per-mailbox retry settings, the
 * local relay's settings, and who is sending. Changes arrive live as
 * `outbox.changed` events.
 */
import { z } from 'zod';
import { channel, eventChannel } from './channel.js';
import { MailboxId } from '../mailbox.js';
import {
  ComposeInput,
  OutboxChangedEvent,
  OutboxCounts,
  OutboxDetail,
  OutboxEngineState,
  OutboxId,
  OutboxListInput,
  OutboxPage,
  OutboxSettings,
  OutboxSettingsInput,
  OutboxSummary,
  QueueResult,
  RelaySettings,
  RelaySettingsInput,
} from '../outbox.js';

const ById = z.object({ id: OutboxId }).strict();

/** Outbox channels. */
export const outbox = {
  /** One page of messages, newest first by default; pending ones unless `view: 'all'`. */
  list: channel(OutboxListInput, OutboxPage),
  /** How many messages are in each status (optionally of one mailbox). */
  counts: channel(z.object({ mailboxId: MailboxId.optional() }).strict(), OutboxCounts),
  /** One message with its recipients, status history, attempts, last error and transcript. */
  get: channel(ById, OutboxDetail),
  /** Composes a message into MIME and queues it; resolves once it is committed. */
  compose: channel(ComposeInput, QueueResult),
  /** Makes a queued or deferred message due now. */
  sendNow: channel(ById, OutboxSummary),
  /** Queues a failed, deferred or cancelled message again, with a fresh set of tries. */
  retry: channel(ById, OutboxSummary),
  /** Stops a message from being sent (not while it is on the wire). */
  cancel: channel(ById, OutboxSummary),
  /** Deletes a message and its history for good (not while it is on the wire). */
  delete: channel(ById, z.object({ deleted: z.boolean(), id: z.number().int() })),
  /** A mailbox's retry policy and connection settings. */
  settings: channel(z.object({ mailboxId: MailboxId }).strict(), OutboxSettings),
  /** Changes a mailbox's retry policy and connection settings. */
  saveSettings: channel(OutboxSettingsInput, OutboxSettings),
  /** Who sends the outbox, and each mailbox's sender state. */
  engineState: channel(z.object({}).strict(), OutboxEngineState),
  /** The local submission relay's settings, accounts and state. */
  relaySettings: channel(z.object({}).strict(), RelaySettings),
  /** Changes the relay's settings; the running relay restarts with them. */
  saveRelaySettings: channel(RelaySettingsInput, RelaySettings),
} as const;

/** Events of the outbox. */
export const outboxEvents = {
  /** Messages were queued, changed status, or were deleted; or a sender changed state (empty ids). */
  'outbox.changed': eventChannel(OutboxChangedEvent),
} as const;
