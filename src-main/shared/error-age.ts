/**
 * How old a last error is, and whether a later success resolved it, in the
 * same words on every surface (the Inbox screen, the CLI's `inbox status`,
 * a diagnostics bundle's summary.html): an error from hours ago beside
 * "Healthy" must not read as current. Imports nothing from node or electron.
 */

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/** "just now", "5 min ago", "3 h ago", "2 days ago" (a time in the future reads "just now"). */
export function ageWords(at: number, now: number): string {
  const ms = Math.max(0, now - at);
  if (ms < MINUTE) return 'just now';
  if (ms < HOUR) return `${Math.floor(ms / MINUTE)} min ago`;
  if (ms < DAY) return `${Math.floor(ms / HOUR)} h ago`;
  const days = Math.floor(ms / DAY);
  return `${days} day${days === 1 ? '' : 's'} ago`;
}

/** Where a last error stands: its age, and the later success that resolved it (if one did). */
export interface LastErrorStanding {
  /** "3 h ago". */
  age: string;
  /** True when a success came after the error. */
  resolved: boolean;
  /** The time of that success (ms UTC), or null while the error stands. */
  resolvedAt: number | null;
}

/** Where `lastError` stands, given the time of the last success. */
export function lastErrorStanding(lastError: { at: number }, lastSuccessAt: number | null, now: number): LastErrorStanding {
  const resolved = lastSuccessAt !== null && lastSuccessAt > lastError.at;
  return { age: ageWords(lastError.at, now), resolved, resolvedAt: resolved ? lastSuccessAt : null };
}

/**
 * "3 h ago, resolved by the poll at 14:02" or "3 h ago"; `formatTime` writes
 * the success's time as the surface writes times.
 */
export function lastErrorWhen(lastError: { at: number }, lastSuccessAt: number | null, now: number, formatTime: (ms: number) => string): string {
  const standing = lastErrorStanding(lastError, lastSuccessAt, now);
  return standing.resolvedAt !== null ? `${standing.age}, resolved by the poll at ${formatTime(standing.resolvedAt)}` : standing.age;
}
