/**
 * The activity log's vocabulary: one entry per thing the engine did, with a
 * direction, a level (the colour on screen) and, on failures, a diagnosis code.
 * Imports nothing from node or electron.
 */
import { z } from 'zod';

/** What part of the work an entry belongs to. */
export const LOG_DIRECTIONS = ['send', 'receive', 'test', 'auth', 'system'] as const;
export type LogDirection = (typeof LOG_DIRECTIONS)[number];

/** The outcome colour: success green, warning (deferred, retrying) amber, error red, info neutral. */
export const LOG_LEVELS = ['success', 'warning', 'error', 'info'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** What an entry links to: an outbox message, an imported message, a poll, a connection test. */
export const LOG_REF_KINDS = ['outbox', 'inbox', 'poll', 'connection-test', 'mailbox'] as const;
export type LogRefKind = (typeof LOG_REF_KINDS)[number];

/** One log entry as stored and shown. */
export const LogEntry = z.object({
  id: z.number().int(),
  /** ms UTC. */
  at: z.number().int(),
  mailboxId: z.number().int().nullable(),
  mailboxName: z.string().nullable(),
  direction: z.enum(LOG_DIRECTIONS),
  level: z.enum(LOG_LEVELS),
  /** A diagnosis or error code, when the entry reports a failure. */
  code: z.string().nullable(),
  /** One line in plain words. Never holds a secret. */
  message: z.string(),
  /** The full description: hint, server reply, counts. Never holds a secret. */
  detail: z.string().nullable(),
  refKind: z.enum(LOG_REF_KINDS).nullable(),
  refId: z.number().int().nullable(),
  /** How many times this event happened in a row (1: once); `at` is the last time. */
  repeats: z.number().int().min(1).default(1),
  /** ms UTC of the first time, when it repeated; null when it happened once. */
  firstAt: z.number().int().nullable().default(null),
});
export type LogEntry = z.infer<typeof LogEntry>;

/** What a writer gives; the log adds id, time and the mailbox name. */
export interface LogInput {
  mailboxId?: number | null;
  direction: LogDirection;
  level: LogLevel;
  code?: string | null;
  message: string;
  detail?: string | null;
  refKind?: LogRefKind | null;
  refId?: number | null;
  /** ms UTC; defaults to now. */
  at?: number;
}

/**
 * Whether `next` repeats `previous` (the mailbox's latest entry), so the two
 * are one entry with a count: the same mailbox, direction, level, code and
 * message, about no particular message or test (or about the same one). A
 * poll's entries repeat across polls; "Sent X to Y" for two outbox messages
 * are two events.
 */
export function repeatsEntry(previous: Pick<LogEntry, 'mailboxId' | 'direction' | 'level' | 'code' | 'message' | 'refKind' | 'refId'>, next: LogInput): boolean {
  const sameRef = (previous.refKind ?? null) === (next.refKind ?? null) && ((previous.refKind ?? null) === null || previous.refKind === 'poll' || (previous.refId ?? null) === (next.refId ?? null));
  return (
    previous.mailboxId === (next.mailboxId ?? null) &&
    previous.direction === next.direction &&
    previous.level === next.level &&
    previous.code === (next.code ?? null) &&
    previous.message === next.message &&
    sameRef
  );
}
