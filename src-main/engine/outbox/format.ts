/** Short human-readable forms for log lines and notes. */

/** A wait: "45 s", "4 min", "2.4 h", "1.5 days". */
export function formatWait(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 90) return `${s} s`;
  const min = s / 60;
  if (min < 90) return `${Math.round(min)} min`;
  const h = min / 60;
  if (h < 36) return `${h < 10 ? h.toFixed(1) : Math.round(h)} h`;
  return `${(h / 24).toFixed(1)} days`;
}

/** A time in ms UTC as ISO 8601 (the log's detail lines are read by admins in many time zones). */
export function isoTime(ms: number): string {
  return new Date(ms).toISOString();
}
