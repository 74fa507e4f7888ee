/**
 * The Logs screen over IPC: filtered, keyset-paged queries, exports with
 * progress, and retention settings.
 */
import { z } from 'zod';
import { channel } from './channel.js';
import { LOG_DIRECTIONS, LOG_LEVELS, LogEntry } from '../activity-log.js';
import { MailboxId } from '../mailbox.js';

const enumError = (allowed: readonly string[]) => ({ error: `must be one of: ${allowed.join(', ')}` });
const Millis = z.coerce.number({ error: 'must be a time in ms since 1970 (UTC)' }).int().nonnegative();

/** The filters of the Logs screen, the CLI and exports. All optional. */
export const LogFilterInput = z
  .object({
    mailboxId: MailboxId.optional(),
    direction: z.enum(LOG_DIRECTIONS, enumError(LOG_DIRECTIONS)).optional(),
    level: z.enum(LOG_LEVELS, enumError(LOG_LEVELS)).optional(),
    code: z
      .string()
      .trim()
      .max(64)
      .regex(/^[A-Z0-9_]+$/, { error: 'must be a code such as AUTH_FAILED' })
      .optional(),
    text: z.string().trim().max(200, { error: 'must be at most 200 characters' }).optional(),
    since: Millis.optional(),
    until: Millis.optional(),
  })
  .strict();
export type LogFilterInput = z.infer<typeof LogFilterInput>;

export const LOG_EXPORT_FORMATS = ['xlsx', 'html', 'txt'] as const;
export type LogExportFormat = (typeof LOG_EXPORT_FORMATS)[number];

/** Retention of the log: entries older than `maxDays` or beyond the newest `maxRows` are pruned in the background. */
export const LogRetention = z
  .object({
    maxDays: z.coerce.number({ error: 'must be a number of days from 1 to 3650' }).int().min(1, { error: 'must be at least 1 day' }).max(3650, { error: 'must be at most 3650 days' }),
    maxRows: z.coerce
      .number({ error: 'must be a number of entries from 1000 to 50000000' })
      .int()
      .min(1000, { error: 'must be at least 1000 entries' })
      .max(50_000_000, { error: 'must be at most 50000000 entries' }),
  })
  .strict();
export type LogRetention = z.infer<typeof LogRetention>;

export const DEFAULT_LOG_RETENTION: LogRetention = { maxDays: 90, maxRows: 2_000_000 };

export const LogExportResult = z.object({
  /** Where the file was written (in the data folder's exports folder unless a path was given). */
  path: z.string(),
  /** The file name, for download links. */
  fileName: z.string(),
  rows: z.number().int(),
  bytes: z.number().int(),
  ms: z.number().int(),
});
export type LogExportResult = z.infer<typeof LogExportResult>;

/** Log channels. */
export const logs = {
  /** One page, newest first. Pass the previous page's `nextBeforeId` for the next one. */
  query: channel(
    z
      .object({
        filter: LogFilterInput.default({}),
        beforeId: z.coerce.number().int().positive().optional(),
        limit: z.coerce.number().int().min(1).max(1000).default(200),
      })
      .strict(),
    z.object({ entries: z.array(LogEntry), nextBeforeId: z.number().int().nullable() }),
  ),
  /** Entries newer than `afterId`, oldest first: the live tail. */
  tail: channel(
    z.object({ filter: LogFilterInput.default({}), afterId: z.coerce.number().int().nonnegative(), limit: z.coerce.number().int().min(1).max(1000).default(500) }).strict(),
    z.array(LogEntry),
  ),
  /** Exports the entries matching a filter; progress arrives as `logs.exportProgress` events. */
  export: channel(
    z.object({ filter: LogFilterInput.default({}), format: z.enum(LOG_EXPORT_FORMATS, enumError(LOG_EXPORT_FORMATS)), exportId: z.string().max(100).optional() }).strict(),
    LogExportResult,
  ),
  retention: channel(z.object({}).strict(), LogRetention),
  setRetention: channel(LogRetention, LogRetention),
  /** Prunes now; returns how many entries were removed. */
  prune: channel(z.object({}).strict(), z.object({ removed: z.number().int() })),
} as const;
