/**
 * One poll of one folder through Microsoft Graph (a mailbox with
 * `receiveVia: 'graph'`): the IMAP import's guarantees, over Graph's delta
 * query (https://learn.microsoft.com/en-us/graph/delta-query-messages).
 *
 * 1. The folder's delta link is read (graph_sync, migration 014: what the
 *    last UID is to IMAP). None: a full round from the folder's first
 *    message (the folder is looked up: INBOX is the well-known `inbox`).
 * 2. After-import actions left pending by an earlier poll run first.
 * 3. Page by page: the messages listed that are not stored yet (dedupe by
 *    Graph id; a message listed again because its read state changed, or
 *    after a reset, is not fetched again) are fetched whole with `$value`
 *    (the MIME, byte for byte), parsed, and committed with the importer's own
 *    commit (the same rows, content dedupe, logs and handoff copies as IMAP),
 *    their Graph ids and the page's next link in the same transaction.
 * 4. Only then their after-import action runs through Graph: mark read
 *    (PATCH isRead), move (POST move) or delete (DELETE).
 * 5. A delta Graph no longer knows (410 Gone, SyncStateNotFound) is handled
 *    like a changed UIDVALIDITY: logged (GRAPH_DELTA_RESET), the folder is
 *    read again from its first message, and what is already stored is
 *    recognised, not imported twice.
 *
 * A crash leaves the last committed page's link: the next poll reads the
 * next page again from there; nothing is skipped and nothing stored twice.
 */
import { AppError } from '../../shared/errors.js';
import type { Mailbox } from '../../shared/mailbox.js';
import type { Db } from '../../store/db.js';
import type { InboxRepo } from '../../store/inbox-repo.js';
import { GraphSyncRepo, GRAPH_UID_VALIDITY } from '../../store/graph-sync-repo.js';
import { GraphClient, isGraphTokenUnavailable, type GraphExchange, type GraphMailboxRef } from '../graph/graph-client.js';
import { isGraphError, type GraphError } from '../graph/graph-error.js';
import { diagnoseGraphError, type GraphOperation } from '../graph/graph-diagnosis.js';
import { commitBatch, durably, recordActionFailure, retryHandoffs, writeHandoffs, type CommittedRow, type ImportContext, type Received } from './importer.js';
import type { ImportDiagnosis } from './import-diagnosis.js';

/** Messages per delta page (Graph's default is 10; it allows more with Prefer: odata.maxpagesize). */
export const GRAPH_PAGE_SIZE = 50;
/** The most pages one poll reads (a first import of a big folder goes on at the next poll). */
export const GRAPH_MAX_PAGES_PER_POLL = 200;

/** Options of a Graph poll. */
export interface GraphImportOptions {
  client: GraphClient;
  /** Messages per page (tests use small pages). */
  pageSize?: number;
  /** Notes each HTTP exchange in the debug transcript. */
  observe?: (exchange: GraphExchange) => void;
}

/** Is this Graph's "the delta token is no longer known" (a reset)? */
export function isDeltaReset(error: unknown): boolean {
  if (!isGraphError(error)) return false;
  if (error.status === 410) return true;
  return /syncState(NotFound|Invalid)|resyncRequired/i.test(error.graphCode) && (error.status === 400 || error.status === 404);
}

/** The import's diagnosis of a Graph failure, as an error the poll records. */
function graphFailure(error: GraphError, operation: GraphOperation, mailbox: Mailbox, folder: string): AppError {
  const d = diagnoseGraphError(error, { operation, address: mailbox.address, folder, auth: mailbox.imap.auth === 'oauth2-app' ? 'app' : 'delegated' });
  return new AppError(d.code, d.serverReply ? `${d.summary} (Graph: ${d.serverReply})` : d.summary, { hint: d.hint, cause: error });
}

/** Keeps the error of a token that could not be had (its own code and hint), and turns Graph's into a diagnosis. */
function rethrowFor(error: unknown, operation: GraphOperation, mailbox: Mailbox, folder: string): never {
  if (isGraphTokenUnavailable(error)) throw error.tokenError;
  if (isGraphError(error)) throw graphFailure(error, operation, mailbox, folder);
  throw error;
}

function rethrow(error: unknown, operation: GraphOperation, ctx: ImportContext, folder: string): never {
  rethrowFor(error, operation, ctx.mailbox, folder);
}

/** The folder's counts through Graph (what a first import would do), importing nothing. */
export async function graphFolderStatus(client: GraphClient, mailbox: Mailbox): Promise<{ messages: number; unseen: number | null }> {
  try {
    const folder = await client.folder({ id: mailbox.id, address: mailbox.address }, mailbox.imap.folder);
    return { messages: folder.totalItemCount ?? 0, unseen: folder.unreadItemCount };
  } catch (error) {
    rethrowFor(error, 'folder', mailbox, mailbox.imap.folder);
  }
}

/** Whether the folder has a Graph import position (a first poll would not import everything). */
export function graphImportStarted(db: Db, mailbox: Mailbox, folder = mailbox.imap.folder): boolean {
  return Boolean(new GraphSyncRepo(db).get(mailbox.id, folder)?.link);
}

/**
 * "Only mail that arrives from now on", through Graph: pages through the
 * folder's delta to its end without fetching a message, and stores the
 * deltaLink as the import position; the messages there now are never
 * imported nor touched. Returns how many were left alone.
 */
export async function graphStartFromNow(db: Db, repo: InboxRepo, client: GraphClient, mailbox: Mailbox, at: () => number): Promise<{ leftAlone: number }> {
  const folder = mailbox.imap.folder;
  const ref: GraphMailboxRef = { id: mailbox.id, address: mailbox.address };
  let folderId: string;
  try {
    folderId = (await client.folder(ref, folder)).id;
  } catch (error) {
    rethrowFor(error, 'folder', mailbox, folder);
  }
  let url = client.deltaStartUrl(ref, folderId);
  let leftAlone = 0;
  let deltaLink: string | null = null;
  // Bounded: a folder of 1,000,000 messages at 200 a page.
  for (let page = 0; page < 5000 && !deltaLink; page++) {
    let delta;
    try {
      delta = await client.delta(ref, url, 200);
    } catch (error) {
      rethrowFor(error, 'delta', mailbox, folder);
    }
    leftAlone += delta.items.filter((m) => !m.removed).length;
    deltaLink = delta.deltaLink;
    if (!delta.nextLink) break;
    url = delta.nextLink;
  }
  if (!deltaLink) throw new AppError('SERVER_TEMPORARY', `Microsoft Graph did not finish listing ${folder}.`, { hint: 'Try again; if it persists, import everything instead.' });
  const sync = new GraphSyncRepo(db);
  const lastUid = repo.folder(mailbox.id, folder)?.uidValidity === GRAPH_UID_VALIDITY ? (repo.folder(mailbox.id, folder)?.lastUid ?? 0) : 0;
  db.transaction(() => {
    sync.setLink(mailbox.id, folder, folderId, deltaLink, true, at());
    repo.resetFolder(mailbox.id, folder, GRAPH_UID_VALIDITY, lastUid, at());
  })();
  return { leftAlone };
}

/** Runs one poll of the mailbox's folder through Graph. Throws when the poll cannot complete. */
export async function importGraphFolder(ctx: ImportContext, options: GraphImportOptions): Promise<void> {
  const { repo, mailbox, stats, db } = ctx;
  const client = options.client;
  const sync = new GraphSyncRepo(db);
  const folder = mailbox.imap.folder;
  const ref: GraphMailboxRef = { id: mailbox.id, address: mailbox.address };
  const observe = options.observe;
  const pageSize = options.pageSize ?? GRAPH_PAGE_SIZE;
  ctx.uidWord = 'Graph message';
  stats.uidValidity = null;

  // 1. Where the folder's delta stands; the folder itself when a round starts.
  ctx.phase = 'select';
  let state = sync.get(mailbox.id, folder);
  const folderState = repo.folder(mailbox.id, folder);
  if (!folderState || folderState.uidValidity !== GRAPH_UID_VALIDITY) {
    // The folder's numbering is Mailroom's own for a Graph import (an IMAP position of the same folder is not Graph's).
    repo.resetFolder(mailbox.id, folder, GRAPH_UID_VALIDITY, 0, ctx.clock());
  }
  let folderId = state?.folderId ?? '';
  if (!state?.link) {
    try {
      folderId = (await client.folder(ref, folder, observe)).id;
    } catch (error) {
      rethrow(error, 'folder', ctx, folder);
    }
  }

  // 2. Actions left from an earlier poll, then handoff copies to retry.
  ctx.phase = 'action';
  const pending = repo.pendingActions(mailbox.id, folder, GRAPH_UID_VALIDITY);
  if (pending.length) {
    durably(db, () => repo.advanceLastUid(mailbox.id, folder, GRAPH_UID_VALIDITY, 0, ctx.clock()));
    ctx.note?.(`${pending.length} after-import action(s) left from an earlier poll.`);
    await runGraphActions(ctx, client, sync, ref, pending.map((p) => ({ id: p.id, uid: p.uid, action: mailbox.imap.afterImport, handoff: false })), observe);
  }
  retryHandoffs(ctx);

  // 3. The delta, page by page.
  ctx.phase = 'fetch';
  let url = state?.link ?? client.deltaStartUrl(ref, folderId);
  let resetThisPoll = false;
  for (let page = 0; page < GRAPH_MAX_PAGES_PER_POLL; page++) {
    let delta;
    try {
      delta = await client.delta(ref, url, pageSize, observe);
    } catch (error) {
      if (isDeltaReset(error) && !resetThisPoll) {
        resetThisPoll = true;
        const reply = isGraphError(error) ? error.serverReply : null;
        handleReset(ctx, sync, folder, reply);
        try {
          folderId = (await client.folder(ref, folder, observe)).id;
        } catch (folderError) {
          rethrow(folderError, 'folder', ctx, folder);
        }
        state = undefined;
        url = client.deltaStartUrl(ref, folderId);
        page--;
        continue;
      }
      rethrow(error, 'delta', ctx, folder);
    }
    const listed = delta.items.filter((m) => !m.removed);
    const known = sync.knownIds(mailbox.id, folder, listed.map((m) => m.id));
    const fresh = listed.filter((m) => !known.has(m.id));
    const nextLink = delta.nextLink ?? delta.deltaLink;
    const roundDone = delta.nextLink === null && delta.deltaLink !== null;
    ctx.note?.(`Delta page ${page + 1}: ${delta.items.length} listed, ${fresh.length} new${known.size ? `, ${known.size} already stored` : ''}.`);

    // Each new message whole ($value); the limiter keeps at most 4 requests of the mailbox in flight.
    const lastUid = repo.folder(mailbox.id, folder)?.lastUid ?? 0;
    const fetched = await Promise.all(
      fresh.map(async (item) => {
        try {
          return { item, source: await client.mime(ref, item.id, observe) };
        } catch (error) {
          // Gone since it was listed (deleted or moved by someone else): nothing to import.
          if (isGraphError(error) && error.status === 404) return { item, source: null };
          return { item, error };
        }
      }),
    );
    const failed = fetched.find((f) => 'error' in f);
    if (failed && 'error' in failed) rethrow(failed.error, 'fetch', ctx, folder);
    const gone = fetched.filter((f) => 'source' in f && f.source === null).map((f) => f.item.id);
    if (gone.length) {
      ctx.log.write({
        mailboxId: mailbox.id,
        direction: 'receive',
        level: 'warning',
        code: 'MESSAGE_NOT_RETURNED',
        message: `Microsoft Graph listed ${gone.length} message(s) in ${folder} but did not send them.`,
        detail: 'They were probably deleted or moved by another program meanwhile; nothing is skipped: if they come back, the next poll imports them.',
        refKind: 'poll',
        refId: ctx.pollId,
      });
    }
    const received: Array<Received & { graphId: string }> = [];
    for (const f of fetched) {
      if (!('source' in f) || !f.source) continue;
      const uid = lastUid + received.length + 1;
      const date = f.item.receivedDateTime ? Date.parse(f.item.receivedDateTime) : NaN;
      received.push({ uid, source: f.source, internalDate: Number.isFinite(date) ? date : null, parse: ctx.parser.parse(f.source), graphId: f.item.id });
    }
    const outcomes = await Promise.all(received.map((r) => r.parse));
    const at = ctx.clock();
    let committed: CommittedRow[] = [];
    try {
      if (received.length) {
        const uids = received.map((r) => r.uid);
        const graphIdOf = new Map(received.map((r) => [r.uid, r.graphId]));
        committed = commitBatch(ctx, folder, GRAPH_UID_VALIDITY, uids, received, outcomes, new Set(uids), true, (rows) => {
          for (const row of rows) sync.remember(row.id, mailbox.id, folder, graphIdOf.get(row.uid)!);
          sync.setLink(mailbox.id, folder, folderId, nextLink, roundDone, at);
        });
        ctx.events?.emit('inbox.changed', { mailboxId: mailbox.id, reason: 'messages', pollId: ctx.pollId });
      } else {
        durably(db, () => db.transaction(() => sync.setLink(mailbox.id, folder, folderId, nextLink, roundDone, at)).immediate());
      }
    } catch (error) {
      if (error instanceof AppError) throw error;
      const text = error instanceof Error ? error.message : String(error);
      throw new AppError('STORE_WRITE_FAILED', `Imported messages could not be stored: ${text}. Nothing was done to them on the server.`, {
        hint: /SQLITE_FULL|disk is full|ENOSPC/i.test(text) ? 'The disk holding the data folder is full: free some space, then poll again.' : 'Check that the data folder is on a local, writable disk and that no other program locks mailroom.db; then poll again.',
        cause: error,
      });
    }

    // 4. The after-import actions of what this page stored, and its handoff copies.
    ctx.phase = 'action';
    await runGraphActions(ctx, client, sync, ref, committed, observe);
    writeHandoffs(ctx, committed.filter((r) => r.handoff).map((r) => r.id));
    ctx.phase = 'fetch';
    if (roundDone || !delta.nextLink) break;
    url = delta.nextLink;
  }
}

/** Logs a reset delta (like a changed UIDVALIDITY) and clears the folder's link. */
function handleReset(ctx: ImportContext, sync: GraphSyncRepo, folder: string, reply: string | null): void {
  const { mailbox } = ctx;
  ctx.stats.resynced = true;
  ctx.db.transaction(() => {
    sync.reset(mailbox.id, folder, ctx.clock());
    ctx.log.write({
      mailboxId: mailbox.id,
      direction: 'receive',
      level: 'warning',
      code: 'GRAPH_DELTA_RESET',
      message: `Microsoft Graph no longer knows where the import of ${folder} stood (its delta was reset): resynchronising from the first message.`,
      detail:
        'Graph drops old delta tokens (after a long pause, or after maintenance of the mailbox). ' +
        `Every message in ${folder} is listed again; those already stored are recognised by their Graph id (or by Message-ID and content) and not imported twice.` +
        (reply ? ` Graph's reply: ${reply}` : ''),
      refKind: 'poll',
      refId: ctx.pollId,
    });
  }).immediate();
  ctx.note?.(`The delta of ${folder} was reset by Graph: resynchronising.`);
}

/** Applies the after-import action through Graph to committed messages. A refusal is recorded and the poll goes on. */
async function runGraphActions(
  ctx: ImportContext,
  client: GraphClient,
  sync: GraphSyncRepo,
  ref: GraphMailboxRef,
  rows: readonly CommittedRow[],
  observe: ((exchange: GraphExchange) => void) | undefined,
): Promise<void> {
  if (!rows.length) return;
  const ids = sync.graphIdsOf(rows.map((r) => r.id));
  const groups = new Map<string, CommittedRow[]>();
  for (const row of rows) groups.set(row.action, [...(groups.get(row.action) ?? []), row]);
  for (const [action, group] of groups) {
    const target = action.startsWith('move:') ? action.slice(5) : undefined;
    const done: number[] = [];
    let failure: ImportDiagnosis | null = null;
    let failedIds: number[] = [];
    let destinationId: string | null = null;
    try {
      if (target) destinationId = (await client.folder(ref, target, observe)).id;
    } catch (error) {
      if (isGraphTokenUnavailable(error)) throw error.tokenError;
      if (!isGraphError(error)) throw error;
      const d = diagnoseGraphError(error, { operation: 'action', address: ref.address, folder: target, auth: ctx.mailbox.imap.auth === 'oauth2-app' ? 'app' : 'delegated' });
      failure = { code: d.code, message: d.summary, hint: d.hint, serverReply: d.serverReply };
      failedIds = group.map((r) => r.id);
    }
    if (!failure) {
      const results = await Promise.all(
        group.map(async (row) => {
          const graphId = ids.get(row.id);
          if (!graphId) return { row, error: null as unknown };
          try {
            if (action === 'mark-seen') await client.markRead(ref, graphId, observe);
            else if (action === 'delete') await client.remove(ref, graphId, observe);
            else if (destinationId) await client.move(ref, graphId, destinationId, observe);
            return { row, error: null as unknown };
          } catch (error) {
            // The message is no longer there: moved or deleted already (by this action in a run that was
            // killed before it recorded it, or by someone else). As IMAP's UID commands on a UID that is
            // gone, there is nothing left to do (the target folder itself was found above).
            if (isGraphError(error) && error.status === 404) return { row, error: null as unknown };
            return { row, error };
          }
        }),
      );
      for (const r of results) {
        if (r.error === null) done.push(r.row.id);
        else {
          if (isGraphTokenUnavailable(r.error)) throw r.error.tokenError;
          if (!isGraphError(r.error)) throw r.error;
          failedIds.push(r.row.id);
          if (!failure) {
            const d = diagnoseGraphError(r.error, { operation: 'action', address: ref.address, folder: target ?? ctx.mailbox.imap.folder, auth: ctx.mailbox.imap.auth === 'oauth2-app' ? 'app' : 'delegated' });
            failure = { code: d.code, message: d.summary, hint: d.hint, serverReply: d.serverReply };
          }
        }
      }
    }
    if (done.length) ctx.repo.setActionState(done, action, 'done', null);
    if (failure && failedIds.length) recordActionFailure(ctx, failedIds, action, failure);
  }
}
