/**
 * What the screens showed when a bundle was made: the answers of the reading
 * channels the screens open with (the mailbox list with its "Password set"
 * badges, each mailbox's receive state and sign-in, the Outbox counters and
 * its messages), collected through the same services the router calls. A
 * bundle's read-only view answers those calls from here, so it shows every
 * value exactly as the live screens did; the rest runs against the viewer's
 * store (the log, the connection tests).
 */
import { PENDING_STATUSES } from '../../shared/outbox-constants.js';
import { OUTBOX_PAGE_MAX, OutboxListInput, type OutboxSummary } from '../../shared/outbox.js';
import type { Mailroom } from '../mailroom.js';

/** One call as a screen makes it, and what it answered. */
export interface ScreenAnswer {
  channel: string;
  payload: Record<string, unknown>;
  answer: unknown;
}

/** The section's data. */
export interface ScreensSection {
  answers: ScreenAnswer[];
  /** Every outbox message (newest first, at most OUTBOX_PAGE_MAX), for the Outbox list's filters. */
  outbox: OutboxSummary[];
}

/** Outbox messages whose detail is kept (the newest). */
const OUTBOX_DETAILS = 50;

/** The answers of the screens' reading calls, now. */
export function collectScreenAnswers(engine: Pick<Mailroom, 'mailboxes' | 'inbox' | 'outbox' | 'oauth' | 'relay'>): ScreensSection {
  const answers: ScreenAnswer[] = [];
  const add = (channel: string, payload: Record<string, unknown>, read: () => unknown) => {
    try {
      answers.push({ channel, payload, answer: read() });
    } catch {
      // What cannot be read now is read from the viewer's store instead.
    }
  };
  const mailboxes = engine.mailboxes.list();
  add('mailboxes.list', {}, () => mailboxes);
  add('inbox.states', {}, () => engine.inbox.states());
  add('oauth.states', {}, () => engine.oauth.states());
  add('outbox.counts', {}, () => engine.outbox.counts());
  add('outbox.engineState', {}, () => engine.outbox.engineState());
  add('outbox.relaySettings', {}, () => engine.relay.settings());
  for (const m of mailboxes) {
    add('outbox.counts', { mailboxId: m.id }, () => engine.outbox.counts(m.id));
    add('outbox.settings', { mailboxId: m.id }, () => engine.outbox.settings(m.id));
    if (m.imap.auth === 'oauth2' || m.smtp.auth === 'oauth2') add('oauth.health', { mailboxId: m.id }, () => engine.oauth.health(m.id));
  }
  const outbox = engine.outbox.list({ view: 'all', sort: 'created', direction: 'desc', limit: OUTBOX_PAGE_MAX }).items;
  for (const m of outbox.slice(0, OUTBOX_DETAILS)) add('outbox.get', { id: m.id }, () => engine.outbox.get(m.id));
  return { answers, outbox };
}

/** A payload in one spelling: keys sorted, undefined left out. */
function canonical(payload: unknown): string {
  if (!payload || typeof payload !== 'object') return '{}';
  const entries = Object.entries(payload as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => a.localeCompare(b));
  return JSON.stringify(Object.fromEntries(entries));
}

/** Answers a bundle's screens section holds, looked up by channel and payload. */
export class BundleScreenAnswers {
  private readonly byCall = new Map<string, unknown>();
  private readonly outbox: OutboxSummary[];

  constructor(section: unknown) {
    const data = (section ?? {}) as Partial<ScreensSection>;
    for (const a of Array.isArray(data.answers) ? data.answers : []) {
      if (a && typeof a.channel === 'string') this.byCall.set(`${a.channel} ${canonical(a.payload)}`, a.answer);
    }
    this.outbox = Array.isArray(data.outbox) ? data.outbox : [];
  }

  /** The answer the live screen got for this call, or undefined when the bundle holds none. */
  answer(channel: string, payload: unknown): { value: unknown } | undefined {
    const key = `${channel} ${canonical(payload)}`;
    if (this.byCall.has(key)) return { value: this.byCall.get(key) };
    if (channel === 'outbox.list' && this.byCall.has('outbox.counts {}')) return { value: this.outboxPage(payload) };
    return undefined;
  }

  /** The Outbox list from the bundle's messages, filtered and ordered as the live list would be. */
  private outboxPage(payload: unknown): { items: OutboxSummary[]; nextCursor: null } {
    const parsed = OutboxListInput.safeParse(payload ?? {});
    if (!parsed.success) return { items: [], nextCursor: null };
    const q = parsed.data;
    const statuses = new Set<string>(q.statuses ?? (q.view === 'pending' ? PENDING_STATUSES : []));
    const text = q.text?.toLowerCase();
    const items = this.outbox
      .filter((m) => q.mailboxId === undefined || m.mailboxId === q.mailboxId)
      .filter((m) => !statuses.size || statuses.has(m.status))
      .filter((m) => q.since === undefined || m.createdAt >= q.since)
      .filter((m) => q.until === undefined || m.createdAt < q.until)
      .filter((m) => !text || [m.subject, m.to, m.from, m.messageId].some((v) => v.toLowerCase().includes(text)));
    const key = (m: OutboxSummary) => (q.sort === 'nextAttempt' ? m.nextAttemptAt ?? Number.MAX_SAFE_INTEGER : m.createdAt);
    items.sort((a, b) => (q.direction === 'asc' ? key(a) - key(b) || a.id - b.id : key(b) - key(a) || b.id - a.id));
    return { items: items.slice(0, q.limit), nextCursor: null };
  }
}
