/**
 * One poll of one folder over an open IMAP connection: the import that
 * loses nothing.
 *
 * 1. Select the folder; compare its UIDVALIDITY with the one stored. A
 *    change means the server renumbered the folder: start again from UID 1,
 *    recognising what is already stored by its content (logged as a resync).
 * 2. Finish after-import actions left pending by an earlier poll (a crash
 *    between the commit and the action, or a refusal).
 * 3. List the UIDs above the last committed one (UID SEARCH), fetch them in
 *    streamed FETCHes of up to 1,000, and parse them in the parser workers
 *    as they come.
 * 4. Commit them in batches, each in one transaction flushed to disk: the
 *    rows, every message's own raw bytes (duplicates included), the activity
 *    log entries and the folder's new last UID (every planned UID below it is
 *    stored).
 * 5. Only then run the after-import action (mark seen, move, delete and
 *    expunge) on the committed UIDs, and write the handoff copies.
 *
 * A crash at any point leaves either a batch not committed (fetched again
 * next time, nothing touched on the server) or committed with its action
 * pending (run at step 2). Rows are unique by (mailbox, folder,
 * UIDVALIDITY, UID), and one message per content is imported (the dedupe
 * rule in message-summary.ts): a resend or re-delivery of a stored message is
 * a duplicate, a different message that reuses a Message-ID is imported.
 */
import type { FetchMessageObject, ImapFlow } from 'imapflow';
import type { Mailbox } from '../../shared/mailbox.js';
import type { LogInput } from '../../shared/activity-log.js';
import type { Db } from '../../store/db.js';
import type { InboxRepo, NewMessage } from '../../store/inbox-repo.js';
import type { ActivityLog } from '../activity-log.js';
import type { EventBus } from '../events.js';
import { diagnoseImportError, type ImportDiagnosis, type ImportPhase } from './import-diagnosis.js';
import type { MessageParser } from './message-parser.js';
import { DedupeIndex, summarize, type ParseOutcome } from './message-summary.js';
import { checked } from './imap-client.js';
import { handoffFileName, writeHandoffFile } from './handoff.js';
import { AppError, isAppError } from '../../shared/errors.js';
import { groupDigits } from '../../shared/number-format.js';

/** Most messages committed together. */
export const DEFAULT_BATCH_MESSAGES = 250;
/** Most bytes committed together (a larger message forms a batch of its own). */
export const DEFAULT_BATCH_BYTES = 16 * 1024 * 1024;
/** A handoff copy is tried this many times before it is left as failed. */
export const HANDOFF_MAX_ATTEMPTS = 5;

/** The counts and findings of one poll so far. */
export interface PollStats {
  fetched: number;
  imported: number;
  duplicates: number;
  failed: number;
  uidValidity: number | null;
  resynced: boolean;
  /** The first after-import action the server refused (the poll then reports it). */
  actionError: ImportDiagnosis | null;
  /** The first handoff write that failed. */
  handoffError: ImportDiagnosis | null;
}

/** Everything one poll needs. */
export interface ImportContext {
  db: Db;
  repo: InboxRepo;
  log: ActivityLog;
  events?: EventBus;
  parser: MessageParser;
  mailbox: Mailbox;
  pollId: number;
  handoffDir: string | null;
  clock: () => number;
  /** Where the poll is now, so an error can be placed. */
  phase: ImportPhase;
  stats: PollStats;
  /** A note in the debug transcript. */
  note?: (text: string) => void;
  batchMessages?: number;
  batchBytes?: number;
  /** Messages per FETCH (default FETCH_SLICE). */
  fetchSlice?: number;
  /**
   * True for a round-trip probe: it is left alone (not stored, no after-import
   * action; the probe deletes it itself), also when the probe's sender has not
   * recorded it yet.
   */
  isProbe?: (raw: Buffer) => boolean;
  /** How the log names a message's number: `UID` (IMAP's), or `Graph message` (Mailroom's numbering of a Graph import). */
  uidWord?: string;
}

/** Fresh counts. */
export function emptyStats(): PollStats {
  return { fetched: 0, imported: 0, duplicates: 0, failed: 0, uidValidity: null, resynced: false, actionError: null, handoffError: null };
}

/** A compact UID set: 1,2,3,7,9,10 -> `1:3,7,9:10`. */
export function uidSet(uids: readonly number[]): string {
  const sorted = [...new Set(uids)].sort((a, b) => a - b);
  const parts: string[] = [];
  for (let i = 0; i < sorted.length; ) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j]! + 1) j++;
    parts.push(i === j ? String(sorted[i]) : `${sorted[i]}:${sorted[j]}`);
    i = j + 1;
  }
  return parts.join(',');
}

/**
 * The highest UID the folder's state may advance to after a commit: every
 * planned UID up to it is recorded. A UID the server listed but did not
 * send (expunged meanwhile, or a server fault) holds it back; the next poll
 * lists again, and a UID that is gone by then no longer counts.
 */
export function committedThrough(planned: readonly number[], recorded: ReadonlySet<number>): number | null {
  const sorted = [...planned].sort((a, b) => a - b);
  let through: number | null = null;
  for (const uid of sorted) {
    if (!recorded.has(uid)) break;
    through = uid;
  }
  return through;
}

function describeMessage(m: { subject: string | null; from: string | null }): string {
  const subject = m.subject ? `"${m.subject.length > 120 ? `${m.subject.slice(0, 119)}…` : m.subject}"` : '(no subject)';
  return m.from ? `${subject} from ${m.from.length > 120 ? `${m.from.slice(0, 119)}…` : m.from}` : subject;
}

/** A failed write to the store, said as such (not as a mail server problem). */
export function storeError(error: unknown): AppError {
  if (isAppError(error)) return error as AppError;
  const text = error instanceof Error ? error.message : String(error);
  const full = /SQLITE_FULL|disk is full|ENOSPC/i.test(`${(error as { code?: string })?.code ?? ''} ${text}`);
  return new AppError('STORE_WRITE_FAILED', `Imported messages could not be stored: ${text}. Nothing was done to them on the server.`, {
    hint: full
      ? 'The disk holding the data folder is full: free some space, then poll again.'
      : 'Check that the data folder is on a local, writable disk and that no other program (antivirus, backup or sync tool) locks mailroom.db; then poll again.',
    cause: error,
  });
}

/** Errors that mean the connection is gone (the poll cannot go on), as opposed to a refused command. */
function isConnectionLoss(error: unknown): boolean {
  const code = (error as { code?: string })?.code;
  return Boolean(code && /^(NoConnection|EConnectionClosed|ECONNRESET|EPIPE|ETIMEOUT|ETIMEDOUT|ECONNABORTED|StateLogout)$/.test(code));
}

/** A message received whole, with its parse under way. */
export interface Received {
  uid: number;
  source: Buffer;
  internalDate: number | null;
  parse: Promise<ParseOutcome>;
}

/** Runs one poll of the mailbox's folder over an open client. Throws when the poll cannot complete. */
export async function importFolder(client: ImapFlow, ctx: ImportContext): Promise<void> {
  const { repo, mailbox, stats } = ctx;
  const folder = mailbox.imap.folder;
  ctx.phase = 'select';
  const lock = await client.getMailboxLock(folder);
  try {
    const box = client.mailbox;
    if (!box) throw Object.assign(new Error(`The folder ${folder} is not open.`), { code: 'NoMailboxSelected' });
    const uidValidity = Number(box.uidValidity);
    stats.uidValidity = uidValidity;
    const lastUid = syncFolderState(ctx, folder, uidValidity);

    ctx.phase = 'action';
    await runPendingActions(client, ctx, folder, uidValidity);
    retryHandoffs(ctx);

    // (UIDNEXT is not used to skip the search: it is only current right after a SELECT, and a
    // connection that stays in the folder between polls learns of new mail by EXISTS alone.)
    if (box.exists === 0) {
      ctx.note?.(`${folder} is empty.`);
      return;
    }
    ctx.phase = 'fetch';
    // UID SEARCH reads only the server's index: the exact list to fetch, cheaply.
    const found = await checked(client, 'the search for new messages', () => client.search({ uid: `${lastUid + 1}:*` }, { uid: true }));
    const already = repo.storedUids(mailbox.id, folder, uidValidity, lastUid);
    const planned = found.filter((uid) => uid > lastUid && !already.has(uid)).sort((a, b) => a - b);
    ctx.note?.(`${planned.length} new message(s) above UID ${lastUid} in ${folder}.`);
    if (!planned.length) {
      // Everything above the last UID is recorded already (an earlier poll was cut): move the mark on.
      if (already.size) repo.advanceLastUid(mailbox.id, folder, uidValidity, [...already].reduce((a, b) => Math.max(a, b), 0), ctx.clock());
      return;
    }
    // Big backlogs go in slices: one FETCH per slice, its commits, then its after-import actions,
    // so a first import of 100,000 messages shows progress on the server and never asks for all at once.
    const recorded = new Set<number>(already);
    const sliceSize = ctx.fetchSlice ?? FETCH_SLICE;
    for (let i = 0; i < planned.length; i += sliceSize) {
      ctx.phase = 'fetch';
      const committed = await fetchAndCommit(client, ctx, folder, uidValidity, planned, planned.slice(i, i + sliceSize), recorded);
      ctx.phase = 'action';
      await runActions(client, ctx, committed);
      writeHandoffs(ctx, committed.filter((r) => r.handoff).map((r) => r.id));
    }
  } finally {
    lock.release();
  }
}

/** Most messages asked for in one FETCH, and named in one after-import command. */
export const FETCH_SLICE = 1000;

/**
 * Streams one slice of the planned messages in one FETCH and commits them in
 * batches as they arrive: each batch is committed once its messages are
 * parsed, in order, while the next ones stream in. A cut connection still
 * commits what arrived whole, then the error is raised. `recorded` holds
 * every UID of the poll recorded so far (the folder mark moves over a
 * gap-free prefix of all `planned`).
 */
async function fetchAndCommit(
  client: ImapFlow,
  ctx: ImportContext,
  folder: string,
  uidValidity: number,
  planned: readonly number[],
  slice: readonly number[],
  recorded: Set<number>,
): Promise<CommittedRow[]> {
  const maxMessages = ctx.batchMessages ?? DEFAULT_BATCH_MESSAGES;
  const maxBytes = ctx.batchBytes ?? DEFAULT_BATCH_BYTES;
  const committed: CommittedRow[] = [];
  let chain: Promise<void> = Promise.resolve();
  let commitError: unknown;
  let batch: Received[] = [];
  let batchBytes = 0;
  // Received but not committed yet: bounded, so a slow parse or disk holds the download back
  // (imapflow reads the next message only when the loop asks for it) instead of filling memory.
  let waitingCount = 0;
  let waitingBytes = 0;
  // Each flushed batch's commit, oldest first: the download waits for the oldest only, so the
  // parser always has the next batches to work on.
  const batches: Promise<void>[] = [];
  const flush = (last: boolean) => {
    const items = batch;
    const itemsBytes = batchBytes;
    batch = [];
    batchBytes = 0;
    chain = chain.then(async () => {
      const outcomes = await Promise.all(items.map((r) => r.parse));
      waitingCount -= items.length;
      waitingBytes -= itemsBytes;
      if (commitError !== undefined) return;
      try {
        for (const r of items) recorded.add(r.uid);
        committed.push(...commitBatch(ctx, folder, uidValidity, planned, items, outcomes, recorded, last));
        ctx.events?.emit('inbox.changed', { mailboxId: ctx.mailbox.id, reason: 'messages', pollId: ctx.pollId });
      } catch (error) {
        commitError = storeError(error);
      }
    });
    batches.push(chain);
  };
  let fetchError: unknown;
  try {
    for await (const msg of client.fetch(uidSet(slice), { uid: true, source: true, internalDate: true }, { uid: true })) {
      if (commitError !== undefined) break;
      const item = toReceived(msg, ctx.parser);
      if (!item) continue;
      batch.push(item);
      batchBytes += item.source.length;
      waitingCount++;
      waitingBytes += item.source.length;
      if (batch.length >= maxMessages || batchBytes >= maxBytes) {
        flush(false);
        while ((waitingCount >= 3 * maxMessages || waitingBytes >= 3 * maxBytes) && batches.length) await batches.shift();
      }
    }
  } catch (error) {
    fetchError = error;
  }
  // The last commit is flushed to disk, and with it every batch before it (the WAL is one file,
  // written in order): the after-import actions run only after that.
  flush(true);
  await chain;
  if (commitError !== undefined) throw commitError;
  if (fetchError !== undefined) throw fetchError;
  const missing = slice.filter((uid) => !recorded.has(uid));
  if (missing.length) {
    ctx.log.write({
      mailboxId: ctx.mailbox.id,
      direction: 'receive',
      level: 'warning',
      code: 'MESSAGE_NOT_RETURNED',
      message: `The server listed ${missing.length} message(s) in ${folder} but did not send them (UID ${uidSet(missing).slice(0, 200)}).`,
      detail: 'They were probably deleted or moved by another program meanwhile. If they are still there, the next poll asks for them again; nothing is skipped.',
      refKind: 'poll',
      refId: ctx.pollId,
    });
  }
  return committed;
}

function toReceived(msg: FetchMessageObject, parser: MessageParser): Received | undefined {
  // A FETCH response without the body is a flag update, not the message (an empty message has an empty body).
  if (!msg.source) return undefined;
  const source = Buffer.isBuffer(msg.source) ? msg.source : Buffer.from(msg.source);
  const date = msg.internalDate instanceof Date ? msg.internalDate.getTime() : typeof msg.internalDate === 'string' ? Date.parse(msg.internalDate) : NaN;
  return { uid: msg.uid, source, internalDate: Number.isFinite(date) ? date : null, parse: parser.parse(source) };
}

/** Reads (or starts) the folder's state; handles a UIDVALIDITY change. Returns the last committed UID. */
function syncFolderState(ctx: ImportContext, folder: string, uidValidity: number): number {
  const { repo, mailbox, stats } = ctx;
  const state = repo.folder(mailbox.id, folder);
  if (!state) {
    repo.resetFolder(mailbox.id, folder, uidValidity, 0, ctx.clock());
    return 0;
  }
  if (state.uidValidity === uidValidity) return state.lastUid;
  stats.resynced = true;
  const reason = `The folder was renumbered (UIDVALIDITY ${state.uidValidity} -> ${uidValidity}) before this action ran.`;
  ctx.db.transaction(() => {
    const skipped = repo.skipStaleActions(mailbox.id, folder, uidValidity, reason);
    repo.resetFolder(mailbox.id, folder, uidValidity, 0, ctx.clock());
    ctx.log.write({
      mailboxId: mailbox.id,
      direction: 'receive',
      level: 'warning',
      code: 'UIDVALIDITY_CHANGED',
      message: `${folder} was renumbered on the server (UIDVALIDITY ${state.uidValidity} -> ${uidValidity}): resynchronising from the first message.`,
      detail:
        `This happens when the folder is deleted and created again, restored from a backup, or moved to another server. ` +
        `Every message in ${folder} is read again; those already stored are recognised by Message-ID and content and recorded as duplicates (with their own bytes), not imported twice. ` +
        `Messages stored up to UID ${state.lastUid} under the old numbering are kept.` +
        (skipped ? ` ${skipped} after-import action(s) still pending under the old numbering were skipped; they run again on the messages as they are found.` : ''),
      refKind: 'poll',
      refId: ctx.pollId,
    });
  }).immediate();
  ctx.note?.(`UIDVALIDITY changed from ${state.uidValidity} to ${uidValidity}: resynchronising.`);
  return 0;
}

/** A stored row whose after-import action (and handoff copy) is due. */
export interface CommittedRow {
  id: number;
  uid: number;
  action: string;
  handoff: boolean;
}

/**
 * Stores one batch in one durable transaction and returns the rows that need
 * their after-import action. `inTransaction` runs inside the same transaction
 * with the rows stored (the Graph import records its ids and its delta link there).
 */
export function commitBatch(
  ctx: ImportContext,
  folder: string,
  uidValidity: number,
  planned: readonly number[],
  received: Received[],
  outcomes: ParseOutcome[],
  recorded: ReadonlySet<number>,
  /** Flush to disk at commit: the last batch before the after-import actions run. */
  flushToDisk: boolean,
  inTransaction?: (rows: readonly CommittedRow[]) => void,
): CommittedRow[] {
  const { db, repo, mailbox, stats } = ctx;
  const uidWord = ctx.uidWord ?? 'UID';
  const rows: CommittedRow[] = [];
  const commit = db.transaction(() => {
    const now = ctx.clock();
    const order = received.map((r, i) => ({ r, outcome: outcomes[i]! })).sort((a, b) => a.r.uid - b.r.uid);
    // Recorded by another importer of this mailbox meanwhile (another Mailroom process): nothing to do.
    const recordedElsewhere = repo.recordedUids(mailbox.id, folder, uidValidity, order.map((o) => o.r.uid));
    const probes = ctx.isProbe ? order.filter((o) => ctx.isProbe!(o.r.source)) : [];
    if (probes.length) ctx.note?.(`${probes.length} round-trip probe(s) left alone (${uidWord} ${uidSet(probes.map((p) => p.r.uid))}).`);
    const fresh = order.filter((o) => !recordedElsewhere.has(o.r.uid) && !probes.includes(o));
    rows.push(
      ...recordMessages(
        ctx,
        { folder, uidValidity, action: mailbox.imap.afterImport, actionState: 'pending' },
        fresh.map((o) => ({ uid: o.r.uid, where: `${uidWord} ${o.r.uid}`, source: o.r.source, receivedAt: o.r.internalDate, outcome: o.outcome })),
      ),
    );
    const through = committedThrough(planned, recorded);
    if (through !== null) repo.advanceLastUid(mailbox.id, folder, uidValidity, through, now);
    inTransaction?.(rows);
    repo.progressPoll(ctx.pollId, { uidValidity, resynced: stats.resynced, fetched: stats.fetched, imported: stats.imported, duplicates: stats.duplicates, failed: stats.failed });
  });
  if (flushToDisk) durably(db, () => commit.immediate());
  else commit.immediate();
  return rows;
}

/** Where and how a batch of messages is recorded. */
export interface RecordPlace {
  folder: string;
  uidValidity: number;
  /** The after-import action each row carries (`mark-seen`, `delete`, `move:X`, POP3's `leave`). */
  action: string;
  /** 'pending' until the server confirms the action; 'done' for an action that does nothing on the server (`leave`). */
  actionState: 'pending' | 'done';
}

/** One received message to record: its number in `place`, the words that name it in the log, its bytes and parse. */
export interface ReceivedMessage {
  uid: number;
  /** How the log names the message on the server, e.g. `UID 17` or `UIDL 0000000158c9e1f2`. */
  where: string;
  source: Buffer;
  receivedAt: number | null;
  outcome: ParseOutcome;
}

/**
 * Records received messages inside the caller's transaction: the dedupe
 * rule (a duplicate only when the same message), one row per message with
 * its own raw bytes, the activity-log entries, the poll's counts. Shared by
 * the IMAP and POP3 imports, so both decide and say the same things.
 * Returns the rows whose after-import action and handoff copy follow.
 */
export function recordMessages(ctx: ImportContext, place: RecordPlace, messages: readonly ReceivedMessage[]): CommittedRow[] {
  const { repo, mailbox, stats } = ctx;
  const now = ctx.clock();
  const rows: CommittedRow[] = [];
  const logs: Omit<LogInput, 'direction' | 'mailboxId' | 'refKind'>[] = [];
  const fresh = messages.map((r) => ({ r, summary: summarize(r.source, r.outcome) }));
  // The stored messages this batch could repeat or share a Message-ID with: one query for the batch.
  const index = new DedupeIndex(
    repo.knownMessages(
      mailbox.id,
      fresh.map((f) => f.summary.contentKey),
      fresh.flatMap((f) => (f.summary.messageId !== null ? [f.summary.messageId] : [])),
    ),
  );
  for (const { r, summary } of fresh) {
    stats.fetched++;
    const verdict = index.classify(summary);
    const duplicateOf = verdict.kind === 'duplicate' ? verdict.of : null;
    const sharesMessageIdWith = verdict.kind === 'new' ? verdict.sharesMessageIdWith : null;
    const handoff = ctx.handoffDir !== null && summary.status === 'imported' && duplicateOf === null;
    const row: NewMessage = {
      mailboxId: mailbox.id,
      folder: place.folder,
      uidValidity: place.uidValidity,
      uid: r.uid,
      status: duplicateOf !== null ? 'duplicate' : summary.status,
      messageId: summary.messageId,
      contentKey: summary.contentKey,
      rawSha256: summary.rawSha256,
      duplicateOf,
      sharesMessageIdWith,
      from: summary.from,
      to: summary.to,
      cc: summary.cc,
      subject: summary.subject,
      sentAt: summary.sentAt,
      receivedAt: r.receivedAt,
      importedAt: now,
      size: r.source.length,
      attachments: summary.attachments,
      warnings: summary.warnings,
      snippet: summary.snippet,
      errorCode: duplicateOf !== null ? null : summary.errorCode,
      error: duplicateOf !== null ? null : summary.error,
      action: place.action,
      actionState: place.actionState,
      handoffState: handoff ? 'pending' : 'none',
      pollId: ctx.pollId,
    };
    // Every message keeps its own bytes, duplicates too: the after-import action runs on it only once they are stored.
    const id = repo.insertMessage(row, r.source);
    if (duplicateOf === null) index.add({ id, messageId: summary.messageId, contentKey: summary.contentKey });
    rows.push({ id, uid: r.uid, action: row.action, handoff });
    const what = describeMessage(summary);
    const shared =
      sharesMessageIdWith !== null
        ? `Its Message-ID <${summary.messageId}> is also used by message #${sharesMessageIdWith}, a different message: both are kept.`
        : null;
    if (duplicateOf !== null) {
      stats.duplicates++;
      logs.push({
        level: 'info',
        message: `Duplicate skipped: ${what} (${r.where}) is already stored as message #${duplicateOf}.`,
        detail: `${
          summary.messageId ? `Same Message-ID <${summary.messageId}> and the same content` : 'The same content (the message has no Message-ID)'
        }, apart from the trace fields servers add on delivery (Received, Delivered-To...). This copy's own bytes are kept as message #${id}.`,
        refId: id,
      });
    } else if (summary.status === 'imported') {
      stats.imported++;
      logs.push({
        level: shared ? 'warning' : 'success',
        ...(shared ? { code: 'MESSAGE_ID_REUSED' } : {}),
        message: `Imported ${what} (${r.where}, ${groupDigits(r.source.length)} bytes${summary.attachments.length ? `, ${summary.attachments.length} attachment(s)` : ''}).`,
        detail: [shared, ...summary.warnings].filter(Boolean).join(' ') || null,
        refId: id,
      });
    } else {
      stats.failed++;
      logs.push({
        level: 'error',
        code: summary.errorCode,
        message: `Could not read message ${r.where} (${groupDigits(r.source.length)} bytes): stored raw as message #${id}, not retried.`,
        detail: `${summary.error ?? ''} The raw message is kept: open it from the Inbox screen or with "mailroom inbox show ${id} --raw".${shared ? ` ${shared}` : ''}`,
        refId: id,
      });
    }
  }
  for (const entry of logs) ctx.log.write({ ...entry, mailboxId: mailbox.id, direction: 'receive', refKind: 'inbox' });
  return rows;
}

/**
 * Runs a write with the WAL flushed at commit (synchronous=FULL), so what
 * the after-import action deletes on the server is on disk here first,
 * also across a power cut. Flushing the WAL makes every earlier commit
 * durable too, so one flush before the actions covers a whole poll. The rest
 * of the store keeps its faster setting.
 */
export function durably<T>(db: Db, run: () => T): T {
  const previous = db.pragma('synchronous', { simple: true }) as number;
  if (previous >= 2) return run();
  db.pragma('synchronous = FULL');
  try {
    return run();
  } finally {
    db.pragma(`synchronous = ${previous}`);
  }
}

/** What an action failure's log entry says happens next, unless the importer says otherwise. */
const ACTION_RETRIED = 'The messages are stored in Mailroom; the action is tried again on the next poll.';

/**
 * Records that an after-import action failed for stored messages, the same
 * for IMAP, POP3 and Graph: their action state (tried again on the next
 * poll), the poll's first action error, and one log entry naming how many
 * (`count`, as the importer words it) and what happens next (`afterward`).
 */
export function recordActionFailure(ctx: ImportContext, ids: readonly number[], action: string, d: ImportDiagnosis, afterward = ACTION_RETRIED, count = String(ids.length)): void {
  ctx.repo.setActionState(ids, action, 'failed', d.message);
  ctx.stats.actionError ??= d;
  ctx.log.write({
    mailboxId: ctx.mailbox.id,
    direction: 'receive',
    level: 'error',
    code: d.code,
    message: `After-import action ${action} failed for ${count} message(s): ${d.message}`,
    detail: `${d.hint ?? ''} ${afterward}${d.serverReply ? ` Server reply: ${d.serverReply}` : ''}`,
    refKind: 'poll',
    refId: ctx.pollId,
  });
}

/** Runs the after-import actions left from earlier polls (a crash before the action, or a refusal). */
async function runPendingActions(client: ImapFlow, ctx: ImportContext, folder: string, uidValidity: number): Promise<void> {
  const pending = ctx.repo.pendingActions(ctx.mailbox.id, folder, uidValidity);
  if (!pending.length) return;
  // Their rows may have been committed by a process that stopped before flushing them to disk: flush first.
  durably(ctx.db, () => ctx.repo.advanceLastUid(ctx.mailbox.id, folder, uidValidity, 0, ctx.clock()));
  ctx.note?.(`${pending.length} after-import action(s) left from an earlier poll.`);
  // The action applies as configured now (the admin may have fixed a missing folder by changing it).
  await runActions(client, ctx, pending.map((p) => ({ id: p.id, uid: p.uid, action: ctx.mailbox.imap.afterImport, handoff: false })));
}

/** Applies the after-import action to committed messages. A refused command is recorded and the poll goes on. */
async function runActions(client: ImapFlow, ctx: ImportContext, rows: readonly CommittedRow[]): Promise<void> {
  const groups = new Map<string, CommittedRow[]>();
  for (const row of rows) groups.set(row.action, [...(groups.get(row.action) ?? []), row]);
  for (const [action, group] of groups) {
    const ids = group.map((r) => r.id);
    const set = uidSet(group.map((r) => r.uid));
    const target = action.startsWith('move:') ? action.slice(5) : undefined;
    try {
      if (action === 'mark-seen') await checked(client, `marking ${group.length} message(s) as seen`, () => client.messageFlagsAdd(set, ['\\Seen'], { uid: true }));
      else if (action === 'delete') await checked(client, `deleting ${group.length} message(s)`, () => client.messageDelete(set, { uid: true }));
      else if (target) await checked(client, `moving ${group.length} message(s) to ${target}`, () => client.messageMove(set, target, { uid: true }));
      ctx.repo.setActionState(ids, action, 'done', null);
    } catch (error) {
      if (isConnectionLoss(error) || isAppError(error)) throw error;
      recordActionFailure(ctx, ids, action, diagnoseImportError(error, 'action', ctx.mailbox, target ?? ctx.mailbox.imap.folder));
    }
  }
}

/** Retries handoff copies that failed or were left by an earlier poll. */
export function retryHandoffs(ctx: ImportContext): void {
  if (!ctx.handoffDir) return;
  const ids = ctx.repo.pendingHandoffs(ctx.mailbox.id, HANDOFF_MAX_ATTEMPTS, 1000);
  if (ids.length) writeHandoffs(ctx, ids);
}

/** Writes the .eml copies of imported messages to the handoff folder. */
export function writeHandoffs(ctx: ImportContext, ids: readonly number[]): void {
  const dir = ctx.handoffDir;
  if (!dir || !ids.length) return;
  let failures = 0;
  let first: ImportDiagnosis | null = null;
  for (const id of ids) {
    const message = ctx.repo.get(id);
    const raw = ctx.repo.raw(id);
    if (!message || !raw) continue;
    try {
      const written = writeHandoffFile(dir, handoffFileName(message.mailboxName, id, message.importedAt), raw);
      ctx.repo.setHandoff(id, 'written', written, null);
    } catch (error) {
      const d = diagnoseImportError(error, 'action', ctx.mailbox);
      ctx.repo.setHandoff(id, 'failed', null, d.message);
      failures++;
      first ??= d;
    }
  }
  if (first) {
    ctx.stats.handoffError ??= first;
    ctx.log.write({
      mailboxId: ctx.mailbox.id,
      direction: 'receive',
      level: 'warning',
      code: first.code,
      message: `${failures} message(s) could not be written to the handoff folder: ${first.message}`,
      detail: `${first.hint ?? ''} The messages are stored in Mailroom; each is tried again on the next polls (up to ${HANDOFF_MAX_ATTEMPTS} times).`,
      refKind: 'poll',
      refId: ctx.pollId,
    });
  }
}
