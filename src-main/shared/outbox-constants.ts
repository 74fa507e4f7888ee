/**
 * The outbox's fixed vocabulary without any schema library, so that the
 * sending engine can load it cheaply (`mailroom engine run` is timed as a
 * whole process). shared/outbox.ts re-exports all of it next to the schemas.
 */

/**
 * The life of a message: `queued` (waiting for its first try or sent back
 * by Send now/Retry), `sending` (on the wire), `sent`, `deferred` (a
 * temporary failure; tried again at `nextAttemptAt`), `failed` (permanent,
 * or out of attempts), `cancelled` (by an admin), `waiting-sign-in` (its
 * mailbox needs a Microsoft sign-in: no tries are spent, and it is due the
 * moment someone signs in).
 */
export const OUTBOX_STATUSES = ['queued', 'sending', 'sent', 'deferred', 'failed', 'cancelled', 'waiting-sign-in'] as const;
/** A status of an outbox message. */
export type OutboxStatus = (typeof OUTBOX_STATUSES)[number];
/** The statuses of messages still waiting to go out (or needing attention): the default view. */
export const PENDING_STATUSES = ['queued', 'sending', 'waiting-sign-in', 'deferred', 'failed'] as const satisfies readonly OutboxStatus[];

/** Where a message came from. */
export const OUTBOX_SOURCES = ['compose', 'cli', 'eml', 'relay'] as const;
/** Where a message came from. */
export type OutboxSource = (typeof OUTBOX_SOURCES)[number];

/** How the server answered for one envelope recipient. */
export const RECIPIENT_STATUSES = ['pending', 'accepted', 'deferred', 'rejected'] as const;
/** How the server answered for one envelope recipient. */
export type RecipientStatus = (typeof RECIPIENT_STATUSES)[number];

/** How one try ended: `partial` is sent to some recipients while others were refused or deferred. */
export const ATTEMPT_OUTCOMES = ['sent', 'partial', 'deferred', 'failed'] as const;
/** How one try ended. */
export type AttemptOutcome = (typeof ATTEMPT_OUTCOMES)[number];

/** Retry policy and connection settings of one mailbox's outbox (validated by shared/outbox.ts's OutboxSettings). */
export interface OutboxSettingsValues {
  maxAttempts: number;
  firstRetrySeconds: number;
  retryFactor: number;
  maxRetrySeconds: number;
  connections: number;
  messagesPerConnection: number;
  timeoutSeconds: number;
  debug: boolean;
}

/** The defaults: 8 tries over about 24 hours (4 min, 10 min, 24 min, 1 h, 2.4 h, 5.8 h, 14 h). */
export const DEFAULT_OUTBOX_SETTINGS: OutboxSettingsValues = {
  maxAttempts: 8,
  firstRetrySeconds: 240,
  retryFactor: 2.45,
  maxRetrySeconds: 57_600,
  connections: 3,
  messagesPerConnection: 100,
  timeoutSeconds: 60,
  debug: false,
};
