/**
 * How long an importer waits before it connects again after a failure:
 * doubling from 2 s up to 5 minutes, with jitter so that many mailboxes on
 * one server do not reconnect in step.
 */

/** The first wait after a failure. */
export const BACKOFF_FIRST_MS = 2_000;
/** The longest wait. */
export const BACKOFF_MAX_MS = 5 * 60_000;

/**
 * The wait before the next connection after `failures` failures in a row
 * (1 for the first). `random` is in [0, 1); the result varies by ±20 %.
 */
export function reconnectDelay(failures: number, random: number = Math.random()): number {
  if (failures <= 0) return 0;
  const base = Math.min(BACKOFF_MAX_MS, BACKOFF_FIRST_MS * 2 ** Math.min(failures - 1, 20));
  const jitter = 0.8 + 0.4 * Math.min(Math.max(random, 0), 1);
  return Math.min(BACKOFF_MAX_MS, Math.round(base * jitter));
}
