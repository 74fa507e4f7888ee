/**
 * One poll of a POP3 mailbox over a signed-in session: the import that
 * loses nothing and takes each message once.
 *
 * 1. UIDL: the server's unique id of every message in the maildrop. A
 *    server without UIDL is refused (POP3_NO_UIDL): message numbers change
 *    between sessions, so without UIDL an import cannot tell a message it
 *    already has from a new one.
 * 2. Deletions left pending by an earlier poll (a crash or a cut between the
 *    commit and QUIT, or a refusal) are marked again (DELE).
 * 3. Every UIDL not recorded yet is RETRieved (pipelined), parsed in the
 *    parser workers as it comes, and committed in batches: in one
 *    transaction the message's row and bytes (the same recording as IMAP's,
 *    `recordMessages`) and its UIDL (pop3_uidls), so a message is stored
 *    once, whatever is left on the server.
 * 4. With after-import "delete", only once the last batch is flushed to disk:
 *    DELE for each stored message, then QUIT, which is when the server
 *    removes them. The rows' actions are marked done only after QUIT's +OK;
 *    a connection cut before it deletes nothing (RFC 1939: the UPDATE state
 *    is entered only on QUIT), and the next poll marks them again.
 *
 * A crash at any point leaves either a batch not committed (downloaded
 * again next time, nothing deleted on the server) or committed with its
 * deletion pending (step 2).
 */
import { AppError } from '../../shared/errors.js';
import { isOAuthMode, type Mailbox, type Pop3AfterImport, type Pop3Settings } from '../../shared/mailbox.js';
import { groupDigits } from '../../shared/number-format.js';
import { POP3_FOLDER, POP3_UID_VALIDITY, type Pop3Repo } from '../../store/pop3-repo.js';
import { diagnoseImportError } from './import-diagnosis.js';
import {
  DEFAULT_BATCH_BYTES,
  DEFAULT_BATCH_MESSAGES,
  durably,
  recordActionFailure,
  recordMessages,
  retryHandoffs,
  storeError,
  writeHandoffs,
  type CommittedRow,
  type ImportContext,
} from './importer.js';
import type { ParseOutcome } from './message-summary.js';
import type { InboxTokenProvider } from './imap-client.js';
import { Pop3Error, type Pop3Client, type Pop3Credentials, type Pop3Listing } from './pop3-client.js';

/** POP3 credentials with the token's account note (a shared mailbox reached through a person). */
export interface Pop3SignIn extends Pop3Credentials {
  otherAccountAllowed?: boolean;
}

/**
 * The credentials of a POP3 mailbox: the stored password (the incoming
 * password, shared with IMAP), or a fresh access token from the token
 * provider (XOAUTH2). Errors say what to change.
 */
export async function pop3Credentials(
  mailbox: Mailbox,
  settings: Pop3Settings,
  password: (id: number) => string | undefined,
  tokens: InboxTokenProvider | undefined,
  forceRefresh = false,
): Promise<Pop3SignIn> {
  if (isOAuthMode(settings.auth)) {
    if (!tokens) {
      throw new AppError('OAUTH_UNAVAILABLE', `Mailbox ${mailbox.name} signs in to POP3 with OAuth 2.0, but Microsoft sign-in is not available here.`, {
        hint: 'Sign the mailbox in on the Mailboxes screen (Sign in with Microsoft), then poll again.',
      });
    }
    const token = await tokens.getAccessToken(mailbox.id, { forceRefresh });
    return { user: token.user || settings.username, accessToken: token.accessToken, ...(token.otherAccountAllowed ? { otherAccountAllowed: true } : {}) };
  }
  const pass = password(mailbox.id);
  if (!pass) {
    throw new AppError('PASSWORD_MISSING', `Mailbox ${mailbox.name} has no password stored, so it cannot sign in to ${settings.host}.`, {
      hint: `Enter the password (or app password) for ${settings.username}: Mailboxes > ${mailbox.name} > Edit, or "mailroom mailbox update ${mailbox.name} --password-stdin".`,
    });
  }
  return { user: settings.username, pass };
}

interface Retrieved {
  number: number;
  uidl: string;
  source: Buffer;
  parse: Promise<ParseOutcome>;
}

/** A stored message and its number in this session (for DELE). */
interface StoredInSession extends CommittedRow {
  number: number;
}

/** Runs one poll of the mailbox's maildrop over a signed-in client, ending with QUIT. Throws when the poll cannot complete. */
export async function importMaildrop(client: Pop3Client, ctx: ImportContext, pop3: Pop3Repo, afterImport: Pop3AfterImport): Promise<void> {
  const { mailbox } = ctx;
  ctx.phase = 'select';
  const listing = uniqueListing(await client.uidl());
  ctx.note?.(`${listing.length} message(s) in the maildrop.`);
  // The import position says the import has started (what "first import" questions ask).
  if (!ctx.repo.folder(mailbox.id, POP3_FOLDER)) ctx.repo.resetFolder(mailbox.id, POP3_FOLDER, POP3_UID_VALIDITY, 0, ctx.clock());
  const numberOf = new Map(listing.map((l) => [l.uidl, l.number]));

  ctx.phase = 'action';
  // Deletions an earlier poll committed to but the server did not confirm (QUIT never came).
  // The action applies as configured now: an admin who switched to "leave" meanwhile keeps them.
  const leftover = pop3.pendingActions(mailbox.id);
  const toDelete: StoredInSession[] = [];
  const gone: number[] = [];
  const nowLeft: number[] = [];
  for (const p of leftover) {
    const number = numberOf.get(p.uidl);
    if (afterImport !== 'delete') nowLeft.push(p.id);
    else if (number === undefined) gone.push(p.id);
    else toDelete.push({ id: p.id, uid: 0, action: 'delete', handoff: false, number });
  }
  if (leftover.length) ctx.note?.(`${leftover.length} after-import action(s) left from an earlier poll.`);
  // Their rows may have been committed by a process that stopped before flushing them to disk: flush first.
  if (toDelete.length) durably(ctx.db, () => pop3.rewriteLast(mailbox.id));
  if (nowLeft.length) ctx.repo.setActionState(nowLeft, 'leave', 'done', null);
  // Not in the maildrop any more: the deletion happened (a QUIT whose answer was lost) or someone else removed it.
  if (gone.length) ctx.repo.setActionState(gone, 'delete', 'done', null);
  retryHandoffs(ctx);

  const known = pop3.knownUidls(
    mailbox.id,
    listing.map((l) => l.uidl),
  );
  const planned = listing.filter((l) => !known.has(l.uidl));
  ctx.note?.(`${planned.length} new message(s) (not recorded by UIDL).`);
  let committed: StoredInSession[] = [];
  if (planned.length) {
    ctx.phase = 'fetch';
    committed = await retrieveAndCommit(client, ctx, pop3, planned, afterImport);
  }

  ctx.phase = 'action';
  if (afterImport === 'delete') toDelete.push(...committed.filter((r) => r.action === 'delete'));
  await deleteAndQuit(client, ctx, toDelete);
  writeHandoffs(
    ctx,
    committed.filter((r) => r.handoff).map((r) => r.id),
  );
}

/** The listing with each UIDL once (a broken server may repeat one: its first number is used). */
function uniqueListing(listing: Pop3Listing[]): Pop3Listing[] {
  const seen = new Set<string>();
  return listing.filter((l) => (seen.has(l.uidl) ? false : (seen.add(l.uidl), true)));
}

/**
 * RETRieves the planned messages and commits them in batches as they arrive,
 * each batch once its messages are parsed, while the next ones stream in. A
 * cut connection still commits what arrived whole, then the error is raised.
 */
async function retrieveAndCommit(client: Pop3Client, ctx: ImportContext, pop3: Pop3Repo, planned: readonly Pop3Listing[], afterImport: Pop3AfterImport): Promise<StoredInSession[]> {
  const maxMessages = ctx.batchMessages ?? DEFAULT_BATCH_MESSAGES;
  const maxBytes = ctx.batchBytes ?? DEFAULT_BATCH_BYTES;
  const uidlOf = new Map(planned.map((l) => [l.number, l.uidl]));
  const committed: StoredInSession[] = [];
  const refused: { number: number; uidl: string; reply: string }[] = [];
  let chain: Promise<void> = Promise.resolve();
  let commitError: unknown;
  let batch: Retrieved[] = [];
  let batchBytes = 0;
  // Received but not committed yet: bounded, so a slow parse or disk holds the download back.
  let waitingCount = 0;
  let waitingBytes = 0;
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
      if (commitError !== undefined || (!items.length && !last)) return;
      try {
        committed.push(...commitBatch(ctx, pop3, items, outcomes, afterImport, last));
        if (items.length) ctx.events?.emit('inbox.changed', { mailboxId: ctx.mailbox.id, reason: 'messages', pollId: ctx.pollId });
      } catch (error) {
        commitError = storeError(error);
      }
    });
    batches.push(chain);
  };
  let fetchError: unknown;
  try {
    for await (const message of client.retrieve(planned.map((l) => l.number))) {
      if (commitError !== undefined) break;
      const uidl = uidlOf.get(message.number)!;
      if (!message.raw) {
        refused.push({ number: message.number, uidl, reply: message.reply });
        continue;
      }
      batch.push({ number: message.number, uidl, source: message.raw, parse: ctx.parser.parse(message.raw) });
      batchBytes += message.raw.length;
      waitingCount++;
      waitingBytes += message.raw.length;
      if (batch.length >= maxMessages || batchBytes >= maxBytes) {
        flush(false);
        while ((waitingCount >= 3 * maxMessages || waitingBytes >= 3 * maxBytes) && batches.length) await batches.shift();
      }
    }
  } catch (error) {
    fetchError = error;
  }
  // The last commit is flushed to disk, and with it every batch before it (the WAL is one file,
  // written in order): deletions on the server happen only after that.
  flush(true);
  await chain;
  if (commitError !== undefined) throw commitError;
  if (fetchError !== undefined) throw fetchError;
  if (refused.length) {
    ctx.log.write({
      mailboxId: ctx.mailbox.id,
      direction: 'receive',
      level: 'warning',
      code: 'MESSAGE_NOT_RETURNED',
      message: `The server listed ${refused.length} message(s) but did not send them (UIDL ${refused
        .map((r) => r.uidl)
        .join(', ')
        .slice(0, 200)}).`,
      detail: `They were probably deleted by another POP3 client meanwhile. If they are still there, the next poll asks for them again; nothing is skipped. Server reply: ${refused[0]!.reply}`,
      refKind: 'poll',
      refId: ctx.pollId,
    });
  }
  return committed;
}

/** Stores one batch and its UIDLs in one transaction (flushed to disk for the last batch). */
function commitBatch(ctx: ImportContext, pop3: Pop3Repo, items: Retrieved[], outcomes: ParseOutcome[], afterImport: Pop3AfterImport, flushToDisk: boolean): StoredInSession[] {
  const { db, repo, mailbox, stats } = ctx;
  const stored: StoredInSession[] = [];
  const commit = db.transaction(() => {
    const now = ctx.clock();
    // Recorded by another importer of this mailbox meanwhile (another Mailroom process): nothing to do.
    const elsewhere = pop3.knownUidls(
      mailbox.id,
      items.map((i) => i.uidl),
    );
    const probes = ctx.isProbe ? items.filter((i) => ctx.isProbe!(i.source)) : [];
    if (probes.length) ctx.note?.(`${probes.length} round-trip probe(s) left alone (UIDL ${probes.map((p) => p.uidl).join(', ')}).`);
    const numberOfUid = new Map<number, number>();
    const messages = items.flatMap((item, i) => {
      if (elsewhere.has(item.uidl) || probes.includes(item)) return [];
      const uid = pop3.insert(mailbox.id, item.uidl, now);
      numberOfUid.set(uid, item.number);
      return [{ uid, where: `UIDL ${item.uidl}`, source: item.source, receivedAt: null, outcome: outcomes[i]! }];
    });
    const rows = recordMessages(
      ctx,
      { folder: POP3_FOLDER, uidValidity: POP3_UID_VALIDITY, action: afterImport, actionState: afterImport === 'delete' ? 'pending' : 'done' },
      messages,
    );
    for (const row of rows) stored.push({ ...row, number: numberOfUid.get(row.uid)! });
    repo.progressPoll(ctx.pollId, { uidValidity: null, resynced: false, fetched: stats.fetched, imported: stats.imported, duplicates: stats.duplicates, failed: stats.failed });
  });
  if (flushToDisk) durably(db, () => commit.immediate());
  else commit.immediate();
  return stored;
}

/**
 * DELE for each stored message to delete, then QUIT (which commits them).
 * A refused DELE is recorded (the action is tried again next poll) and the
 * others go on; a refused QUIT leaves every deletion pending.
 */
async function deleteAndQuit(client: Pop3Client, ctx: ImportContext, rows: readonly StoredInSession[]): Promise<void> {
  const refusals = rows.length ? await client.dele(rows.map((r) => r.number)) : new Map<number, string>();
  try {
    await client.quit();
  } catch (error) {
    if (!(error instanceof Pop3Error) || error.kind !== 'reply' || !rows.length) throw error;
    recordDeleteFailure(ctx, rows, error);
    return;
  }
  const done = rows.filter((r) => !refusals.has(r.number));
  if (done.length) {
    ctx.repo.setActionState(
      done.map((r) => r.id),
      'delete',
      'done',
      null,
    );
    ctx.note?.(`${done.length} message(s) deleted on the server (QUIT confirmed).`);
  }
  const failed = rows.filter((r) => refusals.has(r.number));
  if (failed.length) {
    const reply = refusals.get(failed[0]!.number)!;
    recordDeleteFailure(ctx, failed, new Pop3Error('reply', 'dele', `The server refused to delete ${failed.length} message(s): ${reply}`, { reply }));
  }
}

function recordDeleteFailure(ctx: ImportContext, rows: readonly StoredInSession[], error: Pop3Error): void {
  recordActionFailure(
    ctx,
    rows.map((r) => r.id),
    'delete',
    diagnoseImportError(error, 'action', ctx.mailbox),
    'The messages are stored in Mailroom and are still on the server; the deletion is tried again on the next poll.',
    groupDigits(rows.length),
  );
}
