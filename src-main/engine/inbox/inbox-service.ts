/**
 * The inbox: imports mail from each mailbox's IMAP folder, keeps every
 * message (raw and summarised), and keeps the receive log (per-poll
 * records, per-mailbox state, activity log entries).
 *
 * `start()` runs a background importer per enabled mailbox (one IMAP
 * connection each, polled on the interval and woken by IDLE); `stop()` ends
 * them. The outbound runtime starts and stops it with the rest of the
 * engine's background work. Polls of one mailbox never overlap in one
 * process; across processes the store's unique keys keep each message once.
 */
import fs from 'node:fs';
import { ProbeMarker } from '../health/probe-marker.js';
import type { ImapFlow, ImapFlowOptions } from 'imapflow';
import { AppError } from '../../shared/errors.js';
import type { Mailbox, Pop3Settings } from '../../shared/mailbox.js';
import { isOAuthMode } from '../../shared/mailbox.js';
import {
  afterImportWords,
  type FirstImportLook,
  type StartFromNowResult,
  InboxListInput,
  InboxSettingsInput,
  type InboxMessageDetail,
  type InboxPage,
  type InboxSettings,
  type PollDetail,
  type PollRecord,
  type PollTrigger,
  type RawMessage,
  type ReceiveHealth,
  type ReceiveState,
} from '../../shared/inbox.js';
import { parseOrThrow } from '../../shared/validation.js';
import type { Db } from '../../store/db.js';
import { InboxRepo, toSummary } from '../../store/inbox-repo.js';
import type { LogInput } from '../../shared/activity-log.js';
import type { ActivityLog } from '../activity-log.js';
import type { EventBus } from '../events.js';
import type { MailboxService } from '../mailboxes.js';
import { Redactor } from '../connection-test/transcript.js';
import { buildXOAuth2 } from '../auth/xoauth2.js';
import { SignInStates } from '../auth/sign-in-requirement.js';
import { checked, closeClient, credentialsFor, openClient, type ConnectOptions, type ImapCredentials, type InboxTokenProvider } from './imap-client.js';
import { diagnoseImportError, diagnosisError, type ImportDiagnosis, type ImportFailureContext } from './import-diagnosis.js';
import { tokenFailureFacts } from '../diagnose/token-facts.js';
import { emptyStats, importFolder, type ImportContext } from './importer.js';
import { MailboxImporter, type ImporterHost, type ImporterSession } from './mailbox-importer.js';
import { DEFAULT_PARSE_TIMEOUT_MS, WorkerParser, defaultWorkerCount, type MessageParser } from './message-parser.js';
import { messageDetail } from './message-detail.js';
import { Pop3Client, Pop3Error, type Pop3ConnectOptions } from './pop3-client.js';
import { importMaildrop, pop3Credentials } from './pop3-importer.js';
import { POP3_FOLDER, POP3_UID_VALIDITY, Pop3Repo } from '../../store/pop3-repo.js';
import { ImapTranscriptRecorder } from './transcript-capture.js';
import { GraphClient, graphBaseUrl } from '../graph/graph-client.js';
import { OAuthRepo } from '../../store/oauth-repo.js';
import { graphFolderStatus, graphImportStarted, graphStartFromNow, importGraphFolder } from './graph-importer.js';

/** How much of a raw message `raw` returns as text. */
const RAW_TEXT_BYTES = 2 * 1024 * 1024;

export interface InboxServiceOptions {
  db: Db;
  mailboxes: MailboxService;
  log: ActivityLog;
  events?: EventBus;
  /** Access tokens for OAuth 2.0 mailboxes (the OAuth service). */
  tokens?: InboxTokenProvider;
  /** Microsoft Graph, for mailboxes that receive through it. Default: a client over the token provider, made on first use. */
  graph?: GraphClient;
  /** Messages per Graph delta page (tests use small pages). */
  graphPageSize?: number;
  /**
   * Parses messages; default: a worker-thread parser. One given here (the
   * CLI's poll starts its worker first, so that it loads while the rest of
   * the program does) is the service's own: it logs when the parser's workers
   * cannot run, and closes it.
   */
  parser?: MessageParser;
  /** The default parser's worker file (tests point it at a missing file); default: the one beside this bundle. */
  parserWorkerFile?: string;
  /** Extra TLS options for IMAP connections (tests pass their CA). */
  tls?: ImapFlowOptions['tls'];
  /** Messages per commit (tests use small batches). */
  batchMessages?: number;
  /** Messages per FETCH (tests use small slices). */
  fetchSlice?: number;
  clock?: () => number;
  /**
   * True for a round-trip probe of this data folder: never imported (the probe
   * deletes it itself). Default: the folder's probe marker, so that every
   * importer (desktop, console, `mailroom inbox poll`, `engine run`) knows probes.
   */
  isProbe?: (raw: Buffer) => boolean;
}

/**
 * The activity-log entry that says parser workers cannot start here: written
 * once per process, not once per message.
 */
export function parserWorkersUnavailableEntry(reason: string): LogInput {
  return {
    direction: 'system',
    level: 'warning',
    code: 'PARSER_WORKERS_UNAVAILABLE',
    message: 'Imported messages are parsed on the main thread: parser workers cannot start here',
    detail:
      `Why: ${reason}. Imports still work, but parsing now shares the thread that reads IMAP and answers the window, so a large import is slower and a message that hangs the parser is no longer contained. ` +
      'Hint: reinstall Mailroom (from a source folder: run "npm run build") so the parser worker file is back beside the program.',
  };
}

/** True when a process with this id is running. */
function processAlive(pid: number | null): boolean {
  if (!pid) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export class InboxService {
  /** The inbox tables. */
  readonly repo: InboxRepo;
  private readonly parser: MessageParser;
  private readonly clock: () => number;
  private readonly importers = new Map<number, MailboxImporter>();
  /** The tail of each mailbox's poll chain: polls of one mailbox run one after another. */
  private readonly chains = new Map<number, Promise<unknown>>();
  private readonly activePolls = new Set<number>();
  private unsubscribe: (() => void) | undefined;
  private running = false;
  private readonly signInStates: SignInStates;
  private readonly isProbe: (raw: Buffer) => boolean;
  /** The POP3 UIDL store, made on the first POP3 poll. */
  private pop3: Pop3Repo | undefined;

  constructor(private readonly options: InboxServiceOptions) {
    this.repo = new InboxRepo(options.db);
    const reportUnavailable = (reason: string) => options.log.write(parserWorkersUnavailableEntry(reason));
    options.parser?.whenUnavailable?.(reportUnavailable);
    this.parser =
      options.parser ??
      new WorkerParser(DEFAULT_PARSE_TIMEOUT_MS, defaultWorkerCount(), {
        ...(options.parserWorkerFile ? { workerFile: options.parserWorkerFile } : {}),
        onUnavailable: reportUnavailable,
      });
    this.clock = options.clock ?? Date.now;
    this.signInStates = new SignInStates(options.db);
    const marker = options.isProbe ? undefined : new ProbeMarker(options.db);
    this.isProbe = options.isProbe ?? ((raw) => marker!.probeTokenOf(raw) !== null);
  }

  // ---- background importers ------------------------------------------------

  /** Starts a background importer for every enabled mailbox, and follows mailbox changes. */
  start(): void {
    if (this.running) return;
    this.running = true;
    for (const mailbox of this.options.mailboxes.list()) if (mailbox.enabled) this.startImporter(mailbox.id);
    const offMailboxes = this.options.events?.on('mailboxes.changed', (payload) => {
      const id = (payload as { id?: number })?.id;
      if (typeof id === 'number') void this.restartImporter(id);
    });
    // A sign-in made in this process wakes an importer that waits for it at once (one made
    // elsewhere is seen at its next look, within the poll interval).
    const offOAuth = this.options.events?.on('oauth.changed', (payload) => {
      const id = (payload as { mailboxId?: number })?.mailboxId;
      const importer = typeof id === 'number' ? this.importers.get(id) : undefined;
      if (importer?.waitingForSignInNow) importer.request('start');
    });
    this.unsubscribe = () => {
      offMailboxes?.();
      offOAuth?.();
    };
  }

  /** Stops every background importer and closes their connections. */
  async stop(): Promise<void> {
    this.running = false;
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    const all = [...this.importers.values()];
    this.importers.clear();
    await Promise.all(all.map((i) => i.stop()));
  }

  /** Stops the importers and the parser. */
  async close(): Promise<void> {
    await this.stop();
    await this.parser.close();
  }

  /** Whether the background importers run in this process. */
  get isRunning(): boolean {
    return this.running;
  }

  private startImporter(mailboxId: number): void {
    if (this.importers.has(mailboxId)) return;
    const importer = new MailboxImporter(this.host(), mailboxId);
    this.importers.set(mailboxId, importer);
    importer.start();
  }

  private async restartImporter(mailboxId: number): Promise<void> {
    const current = this.importers.get(mailboxId);
    if (current) {
      this.importers.delete(mailboxId);
      await current.stop();
    }
    const mailbox = this.mailboxOrUndefined(mailboxId);
    if (this.running && mailbox?.enabled) this.startImporter(mailboxId);
    this.changed(mailboxId, 'state', null);
  }

  private host(): ImporterHost {
    return {
      mailbox: (id) => this.mailboxOrUndefined(id),
      runPoll: (mailbox, trigger, session) => this.runPoll(mailbox, trigger, { session }),
      closeClient: (client) => closeClient(client),
      changed: (id) => this.changed(id, 'state', null),
      clock: () => this.clock(),
      signInNeeded: (mailbox) => this.signInStates.of(mailbox, 'imap').requirement,
      signInWait: (mailbox, requirement) => {
        this.options.log.write(
          requirement
            ? {
                mailboxId: mailbox.id,
                direction: 'receive',
                level: 'warning',
                code: requirement.code,
                message: `Stopped polling ${receiveFolder(mailbox)}: ${mailbox.name} needs a Microsoft sign-in`,
                detail: `${requirement.message} ${requirement.hint} Polling resumes by itself after the sign-in; until then nothing is imported and no error is logged for each poll.`,
              }
            : {
                mailboxId: mailbox.id,
                direction: 'receive',
                level: 'info',
                code: null,
                message: `Resumed polling ${receiveFolder(mailbox)}: ${mailbox.name} is signed in with Microsoft again`,
              },
        );
        this.changed(mailbox.id, 'state', null);
      },
    };
  }

  private mailboxOrUndefined(id: number): Mailbox | undefined {
    try {
      return this.options.mailboxes.get(id);
    } catch {
      return undefined;
    }
  }

  private changed(mailboxId: number, reason: 'poll-started' | 'messages' | 'poll-finished' | 'settings' | 'state', pollId: number | null): void {
    this.options.events?.emit('inbox.changed', { mailboxId, reason, pollId });
  }

  // ---- polls -----------------------------------------------------------------

  /**
   * Polls a mailbox now. Uses the background importer's connection when it
   * has one open; otherwise a connection for this poll only.
   */
  async pollNow(mailboxIdOrName: number | string, trigger: PollTrigger = 'manual'): Promise<PollDetail> {
    const mailbox = this.options.mailboxes.resolve(mailboxIdOrName);
    const importer = this.importers.get(mailbox.id);
    const session = importer?.session.client?.usable ? importer.session : undefined;
    return this.runPoll(mailbox, trigger, session ? { session } : {});
  }

  /** One poll with the full IMAP transcript kept (secrets redacted), on a connection of its own. */
  async importWithDebug(mailboxIdOrName: number | string): Promise<PollDetail> {
    const mailbox = this.options.mailboxes.resolve(mailboxIdOrName);
    return this.runPoll(mailbox, 'debug', { debug: true });
  }

  // ---- first import ------------------------------------------------------------

  /**
   * Whether enabling the mailbox starts a first import: the folder (its own,
   * or `folder` when a form is about to change it) has no import position, so
   * the first poll would import every message in it and run the after-import
   * action on each.
   */
  firstImportNeeded(mailboxId: number, folder?: string): boolean {
    const mailbox = this.options.mailboxes.get(mailboxId);
    if (mailbox.receiveVia === 'graph') return !graphImportStarted(this.options.db, mailbox, folder ?? mailbox.imap.folder);
    // A POP3 mailbox has one maildrop: its import position is POP3_FOLDER's (set by its first poll or "from now on").
    return !this.repo.folder(mailbox.id, mailbox.receiveVia === 'pop3' ? POP3_FOLDER : folder ?? mailbox.imap.folder);
  }

  /**
   * Signs in and asks the folder's counts (IMAP STATUS), importing nothing:
   * what a first import would do. `mailbox` may be unsaved settings (the CLI
   * looks before it saves), with `password` when none is stored yet.
   */
  async lookIntoFolder(mailbox: Mailbox, options: { password?: string } = {}): Promise<FirstImportLook> {
    // Unsaved settings (the CLI looks before it saves) have no Microsoft 365 token yet: tokens belong to a saved mailbox.
    const incomingAuth = mailbox.receiveVia === 'pop3' && mailbox.pop3 ? mailbox.pop3.auth : mailbox.imap.auth;
    if (mailbox.id <= 0 && (isOAuthMode(incomingAuth) || mailbox.receiveVia === 'graph')) {
      throw new AppError('OAUTH_NOT_SIGNED_IN', `${mailbox.name} signs in with Microsoft 365, which it can do only once it is saved`, {
        hint: `Save it, sign it in, then choose: mailroom mailbox update "${mailbox.name}" --import-existing yes|no`,
      });
    }
    if (mailbox.receiveVia === 'pop3' && mailbox.pop3) {
      const pop3 = mailbox.pop3;
      const messages = await this.withMaildrop(mailbox, options.password, async (client) => (await client.stat()).count);
      return {
        mailboxId: mailbox.id,
        folder: POP3_FOLDER,
        messages,
        // POP3 has no read/unread.
        unseen: null,
        afterImport: pop3.afterImport,
        afterImportWords: afterImportWords(pop3.afterImport),
        started: mailbox.id > 0 && Boolean(this.repo.folder(mailbox.id, POP3_FOLDER)),
      };
    }
    const status = await this.folderStatus(mailbox, options.password);
    return {
      mailboxId: mailbox.id,
      folder: mailbox.imap.folder,
      messages: status.messages,
      unseen: status.unseen,
      afterImport: mailbox.imap.afterImport,
      afterImportWords: afterImportWords(mailbox.imap.afterImport),
      started: mailbox.id > 0 && (mailbox.receiveVia === 'graph' ? graphImportStarted(this.options.db, mailbox) : Boolean(this.repo.folder(mailbox.id, mailbox.imap.folder))),
    };
  }

  /**
   * "Only mail that arrives from now on": records the folder's UIDVALIDITY
   * and UIDNEXT - 1 as its import position, so the next poll imports only
   * UIDs above it; the messages there now are never imported nor touched.
   * Runs in the mailbox's poll queue, so it never races a poll of it.
   */
  async startFromNow(mailboxIdOrName: number | string): Promise<StartFromNowResult> {
    const mailbox = this.options.mailboxes.resolve(mailboxIdOrName);
    if (mailbox.receiveVia === 'pop3' && mailbox.pop3) return this.exclusive(mailbox.id, () => this.startMaildropFromNow(mailbox));
    return this.exclusive(mailbox.id, async () => {
      const folder = mailbox.imap.folder;
      if (mailbox.receiveVia === 'graph') {
        const { leftAlone } = await graphStartFromNow(this.options.db, this.repo, this.graph(), mailbox, this.clock);
        this.options.log.write({
          mailboxId: mailbox.id,
          direction: 'receive',
          level: 'info',
          message: `Import of ${folder} starts with mail that arrives from now on: the ${leftAlone} message${leftAlone === 1 ? '' : 's'} already there ${leftAlone === 1 ? 'is' : 'are'} left as ${leftAlone === 1 ? 'it is' : 'they are'}`,
          detail: `The import position is the end of Microsoft Graph's delta of ${folder}: only messages that arrive later are imported and ${afterImportWords(mailbox.imap.afterImport)}.`,
        });
        this.changed(mailbox.id, 'state', null);
        return { mailboxId: mailbox.id, folder, uidValidity: -1, startAfterUid: 0, leftAlone };
      }
      const status = await this.folderStatus(mailbox);
      const startAfterUid = Math.max(0, status.uidNext - 1);
      this.options.db.transaction(() => {
        this.repo.resetFolder(mailbox.id, folder, status.uidValidity, startAfterUid, this.clock());
        this.options.log.write({
          mailboxId: mailbox.id,
          direction: 'receive',
          level: 'info',
          message: `Import of ${folder} starts with mail that arrives from now on: the ${status.messages} message${status.messages === 1 ? '' : 's'} already there ${status.messages === 1 ? 'is' : 'are'} left as ${status.messages === 1 ? 'it is' : 'they are'}`,
          detail: `The import position is UID ${startAfterUid} (UIDVALIDITY ${status.uidValidity}): only messages with a higher UID are imported and ${afterImportWords(mailbox.imap.afterImport)}.`,
        });
      })();
      this.changed(mailbox.id, 'state', null);
      return { mailboxId: mailbox.id, folder, uidValidity: status.uidValidity, startAfterUid, leftAlone: status.messages };
    });
  }

  /**
   * "Only mail that arrives from now on" for a POP3 mailbox: records the
   * UIDLs in the maildrop now as seen, without downloading them, so the
   * next poll imports only messages that arrive later; those there now are
   * never imported nor deleted.
   */
  private async startMaildropFromNow(mailbox: Mailbox): Promise<StartFromNowResult> {
    const listing = await this.withMaildrop(mailbox, undefined, (client) => client.uidl());
    this.pop3 ??= new Pop3Repo(this.options.db);
    const pop3 = this.pop3;
    const at = this.clock();
    const afterImport = mailbox.pop3?.afterImport ?? 'leave';
    let leftAlone = 0;
    this.options.db.transaction(() => {
      const known = pop3.knownUidls(
        mailbox.id,
        listing.map((l) => l.uidl),
      );
      for (const uidl of new Set(listing.map((l) => l.uidl))) {
        if (known.has(uidl)) continue;
        pop3.insert(mailbox.id, uidl, at);
        leftAlone++;
      }
      this.repo.resetFolder(mailbox.id, POP3_FOLDER, POP3_UID_VALIDITY, 0, at);
      this.options.log.write({
        mailboxId: mailbox.id,
        direction: 'receive',
        level: 'info',
        message: `Import of the POP3 maildrop starts with mail that arrives from now on: the ${leftAlone} message${leftAlone === 1 ? '' : 's'} already there ${leftAlone === 1 ? 'is' : 'are'} left as ${leftAlone === 1 ? 'it is' : 'they are'}`,
        detail: `Their UIDLs are recorded as seen: only messages with another UIDL are imported and ${afterImportWords(afterImport)}.`,
      });
    })();
    this.changed(mailbox.id, 'state', null);
    return { mailboxId: mailbox.id, folder: POP3_FOLDER, uidValidity: POP3_UID_VALIDITY, startAfterUid: 0, leftAlone };
  }

  /**
   * Runs `work` on a signed-in POP3 session of its own, then QUITs (nothing
   * is marked deleted in it). Errors carry the import's diagnosis.
   */
  private async withMaildrop<T>(mailbox: Mailbox, password: string | undefined, work: (client: Pop3Client) => Promise<T>): Promise<T> {
    const settings = mailbox.pop3!;
    const seen: ImportFailureContext = {};
    let client: Pop3Client | undefined;
    try {
      client =
        password !== undefined
          ? await this.connectPop3(mailbox, settings, new Redactor(), undefined, seen, () => password)
          : await this.connectPop3(mailbox, settings, new Redactor(), undefined, seen);
      const result = await work(client);
      await client.quit();
      return result;
    } catch (error) {
      if (error instanceof AppError) throw error;
      throw diagnosisError(diagnoseImportError(error, client ? 'select' : 'connect', mailbox, undefined, seen), error);
    } finally {
      client?.destroy();
    }
  }

  /** STATUS of the mailbox's folder on a connection of its own; errors carry the import's diagnosis. */
  private async folderStatus(mailbox: Mailbox, password?: string): Promise<{ messages: number; unseen: number | null; uidNext: number; uidValidity: number }> {
    if (mailbox.receiveVia === 'graph') return { ...(await graphFolderStatus(this.graph(), mailbox)), uidNext: 0, uidValidity: -1 };
    const folder = mailbox.imap.folder;
    let client: ImapFlow | undefined;
    let phase: 'connect' | 'select' = 'connect';
    const seen: ImportFailureContext = {};
    try {
      client = password !== undefined
        ? await openClient(mailbox, { user: mailbox.imap.username, pass: password }, this.options.tls ? { tls: this.options.tls } : {})
        : await this.connect(mailbox, {}, undefined, seen);
      phase = 'select';
      const opened = client;
      const status = await checked(opened, `the STATUS of ${folder}`, () => opened.status(folder, { messages: true, unseen: true, uidNext: true, uidValidity: true }));
      if (status.uidNext === undefined || status.uidValidity === undefined) {
        throw new AppError('SERVER_TEMPORARY', `The server did not say where ${folder} ends (UIDNEXT and UIDVALIDITY).`, { hint: 'Try again; if it persists, import everything instead or tell the server admin.' });
      }
      return { messages: status.messages ?? 0, unseen: status.unseen ?? null, uidNext: Number(status.uidNext), uidValidity: Number(status.uidValidity) };
    } catch (error) {
      if (error instanceof AppError) throw error;
      throw diagnosisError(diagnoseImportError(error, phase, mailbox, folder, seen), error);
    } finally {
      await closeClient(client);
    }
  }

  /** Runs `work` after every earlier poll of the mailbox in this process has finished. */
  private exclusive<T>(mailboxId: number, work: () => Promise<T>): Promise<T> {
    const previous = this.chains.get(mailboxId) ?? Promise.resolve();
    const next = previous.then(work, work);
    const tail = next.catch(() => undefined);
    this.chains.set(mailboxId, tail);
    void tail.then(() => {
      if (this.chains.get(mailboxId) === tail) this.chains.delete(mailboxId);
    });
    return next;
  }

  /**
   * Opens a client for a mailbox, retrying once with a fresh token when an
   * OAuth token is refused. `seen.token` receives the claims of the token
   * used (never the token), for the diagnosis of a refusal.
   */
  private async connect(mailbox: Mailbox, connect: ConnectOptions, redactor: Redactor | undefined, seen: ImportFailureContext = {}): Promise<ImapFlow> {
    const password = (id: number) => this.options.mailboxes.password(id);
    const attempt = async (forceRefresh: boolean) => {
      const credentials = await credentialsFor(mailbox, password, this.options.tokens, forceRefresh);
      registerSecrets(redactor, credentials);
      if (credentials.accessToken) seen.token = tokenFailureFacts(credentials.accessToken, { protocol: 'imap', user: credentials.user, at: this.clock(), ...(credentials.otherAccountAllowed ? { allowOtherAccount: true } : {}) });
      return openClient(mailbox, credentials, { ...connect, ...(this.options.tls ? { tls: this.options.tls } : {}) });
    };
    try {
      return await attempt(false);
    } catch (error) {
      if (isOAuthMode(mailbox.imap.auth) && (error as { authenticationFailed?: boolean }).authenticationFailed) return attempt(true);
      throw error;
    }
  }

  /** One poll: record, connect if needed, import, record the outcome. Never throws for mail problems: the record says what happened. */
  private runPoll(mailbox: Mailbox, trigger: PollTrigger, options: { session?: ImporterSession; debug?: boolean }): Promise<PollDetail> {
    return this.exclusive(mailbox.id, async () => {
      // Read the mailbox again: settings may have changed while this poll waited its turn.
      const current = this.mailboxOrUndefined(mailbox.id) ?? mailbox;
      const folder = receiveFolder(current);
      const startedAt = this.clock();
      this.interruptDeadPolls(current.id, startedAt);
      const pollId = this.repo.startPoll(current.id, trigger, folder, startedAt, process.pid);
      this.activePolls.add(pollId);
      this.repo.recordTry(current.id, startedAt);
      this.changed(current.id, 'poll-started', pollId);
      // Every text this poll records is scrubbed of the credentials it used, transcript or not.
      const redactor = new Redactor();
      const recorder = options.debug ? new ImapTranscriptRecorder(startedAt, redactor, this.clock) : undefined;
      const incoming = current.receiveVia === 'pop3' && current.pop3 ? current.pop3 : current.imap;
      const through =
        current.receiveVia === 'graph'
          ? `Microsoft Graph${this.options.graph ? ` (${this.options.graph.baseUrl})` : ''}, folder ${folder}`
          : `${incoming.host}:${incoming.port} (${incoming.security}), ${current.receiveVia === 'pop3' ? 'POP3 maildrop' : `folder ${folder}`}`;
      recorder?.note(`Import with debug of ${current.name}: ${through}, after import ${incoming.afterImport}.`);
      const ctx: ImportContext = {
        db: this.options.db,
        repo: this.repo,
        log: this.options.log,
        ...(this.options.events ? { events: this.options.events } : {}),
        parser: this.parser,
        mailbox: current,
        pollId,
        handoffDir: this.repo.state(current.id)?.handoffDir ?? null,
        isProbe: this.isProbe,
        clock: this.clock,
        phase: 'connect',
        stats: emptyStats(),
        ...(recorder ? { note: (text: string) => recorder.note(text) } : {}),
        ...(this.options.batchMessages ? { batchMessages: this.options.batchMessages } : {}),
        ...(this.options.fetchSlice ? { fetchSlice: this.options.fetchSlice } : {}),
      };
      // The parser workers load mailparser while the connection is made.
      this.parser.warm?.();
      let ownClient: ImapFlow | undefined;
      let failure: unknown;
      const seen: ImportFailureContext = {};
      try {
        // The one place the receiving transport is chosen.
        switch (current.receiveVia) {
          case 'graph':
            await importGraphFolder(ctx, {
              client: this.graph(),
              ...(this.options.graphPageSize ? { pageSize: this.options.graphPageSize } : {}),
              ...(recorder ? { observe: (x) => recorder.note(`${x.method} ${x.url} -> ${x.status === null ? 'no answer' : `HTTP ${x.status}`}: ${x.responseSummary} (${x.ms} ms)`) } : {}),
            });
            break;
          case 'pop3':
            await this.pop3Poll(current, ctx, redactor, recorder, seen);
            break;
          default:
            await this.imapPoll(current, ctx, options, redactor, recorder, seen, (c) => (ownClient = c));
        }
      } catch (error) {
        failure = error;
        const e = error as { message?: string; responseText?: string; response?: unknown };
        const reason = e?.responseText ?? (typeof e?.response === 'string' ? e.response : undefined) ?? e?.message ?? String(error);
        recorder?.note(`Stopped while ${ctx.phase === 'connect' ? 'connecting' : ctx.phase === 'select' ? 'opening the folder' : ctx.phase === 'fetch' ? 'downloading' : 'running the after-import action'}: ${reason}`);
      } finally {
        if (ownClient) await closeClient(ownClient);
        // A session whose connection broke is closed now; the next poll opens a new one.
        if (options.session?.client && !options.session.client.usable) {
          const broken = options.session.client;
          options.session.client = undefined;
          await closeClient(broken);
        }
      }
      return this.finishPoll(current, pollId, trigger, startedAt, ctx, failure, recorder, redactor, seen);
    });
  }

  /** One IMAP poll: the session's connection (or a new one), then the folder's import. */
  private async imapPoll(
    mailbox: Mailbox,
    ctx: ImportContext,
    options: { session?: ImporterSession; debug?: boolean },
    redactor: Redactor,
    recorder: ImapTranscriptRecorder | undefined,
    seen: ImportFailureContext,
    ownsClient: (client: ImapFlow) => void,
  ): Promise<void> {
    let client = options.session?.client;
    if (!client?.usable) {
      if (options.session?.client) {
        await closeClient(options.session.client);
        options.session.client = undefined;
      }
      client = await this.connect(mailbox, { idle: Boolean(options.session), ...(recorder ? { logger: recorder.logger(), logRaw: true } : {}) }, redactor, seen);
      if (options.session) {
        options.session.client = client;
        options.session.onClient?.(client);
      } else ownsClient(client);
    }
    await importFolder(client, ctx);
  }

  private graphClient: GraphClient | undefined;

  /** The Graph client (the given one, or one over the token provider made on first use). */
  private graph(): GraphClient {
    if (this.options.graph) return this.options.graph;
    if (!this.options.tokens) {
      throw new AppError('OAUTH_NOT_AVAILABLE', 'This mailbox receives through Microsoft Graph, but Microsoft sign-in is not available in this process.', {
        hint: 'Sign the mailbox in with Microsoft 365 (Mailboxes > the mailbox > Sign in), then poll again.',
      });
    }
    const oauthSettings = new OAuthRepo(this.options.db);
    this.graphClient ??= new GraphClient({ tokens: this.options.tokens, baseUrl: () => graphBaseUrl({ authorityHost: oauthSettings.getSettings()?.authorityHost ?? null }) });
    return this.graphClient;
  }

  /**
   * One POP3 poll on a connection of its own: POP3 has no IDLE and a session
   * holds the maildrop, so the schedule polls and each poll ends with QUIT
   * (which commits its deletions). On a failure the connection is dropped
   * without QUIT: the server deletes nothing.
   */
  private async pop3Poll(mailbox: Mailbox, ctx: ImportContext, redactor: Redactor, recorder: ImapTranscriptRecorder | undefined, seen: ImportFailureContext): Promise<void> {
    const settings = mailbox.pop3;
    if (!settings) {
      throw new AppError('VALIDATION_FAILED', `Mailbox ${mailbox.name} reads mail over POP3 but has no POP3 settings.`, {
        hint: `Enter the POP3 server: Mailboxes > ${mailbox.name} > Edit > Incoming.`,
      });
    }
    this.pop3 ??= new Pop3Repo(this.options.db);
    const client = await this.connectPop3(mailbox, settings, redactor, recorder, seen);
    try {
      await importMaildrop(client, ctx, this.pop3, settings.afterImport);
    } finally {
      client.destroy();
    }
  }

  /** Opens and signs in a POP3 session, retrying once with a fresh token when an OAuth token is refused. */
  private async connectPop3(
    mailbox: Mailbox,
    settings: Pop3Settings,
    redactor: Redactor,
    recorder: ImapTranscriptRecorder | undefined,
    seen: ImportFailureContext,
    password: (id: number) => string | undefined = (id) => this.options.mailboxes.password(id),
  ): Promise<Pop3Client> {
    const attempt = async (forceRefresh: boolean) => {
      const credentials = await pop3Credentials(mailbox, settings, password, this.options.tokens, forceRefresh);
      registerSecrets(redactor, credentials);
      if (credentials.accessToken) seen.token = tokenFailureFacts(credentials.accessToken, { protocol: 'pop', user: credentials.user, at: this.clock(), ...(credentials.otherAccountAllowed ? { allowOtherAccount: true } : {}) });
      const client = await Pop3Client.connect({
        host: settings.host,
        port: settings.port,
        security: settings.security,
        ...(this.options.tls ? { tls: this.options.tls as Pop3ConnectOptions['tls'] } : {}),
        ...(recorder ? { onLine: (dir: 'C' | 'S', text: string) => recorder.protocolLine(dir, text) } : {}),
      });
      try {
        await client.signIn(credentials);
        return client;
      } catch (error) {
        client.destroy();
        throw error;
      }
    };
    try {
      return await attempt(false);
    } catch (error) {
      if (isOAuthMode(settings.auth) && error instanceof Pop3Error && error.authenticationFailed) return attempt(true);
      throw error;
    }
  }

  private interruptDeadPolls(mailboxId: number, at: number): void {
    for (const poll of this.repo.runningPolls(mailboxId)) {
      if (this.activePolls.has(poll.id)) continue;
      if (poll.pid !== process.pid && processAlive(poll.pid)) continue;
      this.repo.interruptPoll(
        poll.id,
        at,
        'The poll stopped before it finished: Mailroom was closed or stopped while it ran.',
        'Nothing was lost: every message it committed is stored, and the next poll carried on from there.',
      );
    }
  }

  private finishPoll(
    mailbox: Mailbox,
    pollId: number,
    trigger: PollTrigger,
    startedAt: number,
    ctx: ImportContext,
    failure: unknown,
    recorder: ImapTranscriptRecorder | undefined,
    redactor: Redactor,
    seen: ImportFailureContext = {},
  ): PollDetail {
    const finishedAt = this.clock();
    const ms = Math.max(0, finishedAt - startedAt);
    const stats = ctx.stats;
    const diagnosis: ImportDiagnosis | null = failure !== undefined ? diagnoseImportError(failure, ctx.phase, mailbox, undefined, seen) : stats.actionError ?? stats.handoffError;
    const redact = (text: string | null) => (text ? redactor.redact(text) : text);
    const transcript = recorder?.lines() ?? null;
    this.options.db.transaction(() => {
      this.repo.finishPoll(pollId, {
        outcome: diagnosis ? 'failed' : 'ok',
        finishedAt,
        uidValidity: stats.uidValidity,
        resynced: stats.resynced,
        fetched: stats.fetched,
        imported: stats.imported,
        duplicates: stats.duplicates,
        failed: stats.failed,
        ms,
        code: diagnosis?.code ?? null,
        message: redact(diagnosis?.message ?? null),
        hint: diagnosis?.hint ?? null,
        transcript,
      });
      const counts = `${stats.fetched} fetched, ${stats.imported} imported, ${stats.duplicates} duplicate(s) skipped, ${stats.failed} failed`;
      if (diagnosis) {
        this.repo.recordFailure(mailbox.id, finishedAt, diagnosis.code, redact(diagnosis.message) ?? '', diagnosis.hint);
        this.options.log.write({
          mailboxId: mailbox.id,
          direction: 'receive',
          level: 'error',
          code: diagnosis.code,
          message: `Poll of ${receiveFolder(mailbox)} failed: ${redact(diagnosis.message)}`,
          detail: [diagnosis.hint, `So far: ${counts} (${ms} ms).`, diagnosis.serverReply ? `Server reply: ${redact(diagnosis.serverReply)}` : null].filter(Boolean).join(' '),
          refKind: 'poll',
          refId: pollId,
        });
      } else {
        this.repo.recordSuccess(mailbox.id, finishedAt);
        this.options.log.write({
          mailboxId: mailbox.id,
          direction: 'receive',
          level: stats.failed ? 'warning' : stats.imported ? 'success' : 'info',
          code: null,
          // A poll that found nothing says so in the same words each time (its timing in the detail),
          // so the log counts its repeats in one entry instead of a line a minute.
          message: stats.fetched || stats.resynced ? `Polled ${receiveFolder(mailbox)} (${trigger}): ${counts} in ${ms} ms.` : `Polled ${receiveFolder(mailbox)} (${trigger}): nothing new.`,
          detail: stats.resynced ? `The folder was renumbered on the server (UIDVALIDITY ${stats.uidValidity}) and was resynchronised.` : stats.fetched ? null : `${counts} in ${ms} ms.`,
          refKind: 'poll',
          refId: pollId,
        });
      }
    })();
    this.activePolls.delete(pollId);
    this.changed(mailbox.id, 'poll-finished', pollId);
    return this.poll(pollId);
  }

  // ---- reading ---------------------------------------------------------------

  /** Every mailbox's receive state. */
  states(): ReceiveState[] {
    const states = this.repo.states();
    const counts = this.repo.counts();
    return this.options.mailboxes.list().map((m) => {
      const s = states.get(m.id);
      const importer = this.importers.get(m.id);
      const failing = Boolean(s && s.consecutiveFailures > 0);
      const health: ReceiveHealth = !m.enabled ? 'disabled' : !s?.lastTryAt ? 'never' : failing ? 'failing' : 'healthy';
      return {
        mailboxId: m.id,
        mailboxName: m.name,
        address: m.address,
        enabled: m.enabled,
        health,
        folder: receiveFolder(m),
        afterImport: m.receiveVia === 'pop3' && m.pop3 ? m.pop3.afterImport : m.imap.afterImport,
        pollIntervalSeconds: m.imap.pollIntervalSeconds,
        lastSuccessAt: s?.lastSuccessAt ?? null,
        lastTryAt: s?.lastTryAt ?? null,
        lastError:
          s?.lastErrorCode && s.lastErrorAt !== null
            ? { code: s.lastErrorCode, message: s.lastErrorMessage ?? '', hint: s.lastErrorHint, at: s.lastErrorAt }
            : null,
        consecutiveFailures: s?.consecutiveFailures ?? 0,
        polling: this.chains.has(m.id),
        idling: importer?.idling ?? false,
        nextPollAt: importer?.nextPollAt ?? null,
        counts: counts.get(m.id) ?? { imported: 0, duplicate: 0, failed: 0 },
        handoffDir: s?.handoffDir ?? null,
      };
    });
  }

  /** One page of messages, newest first. */
  list(input: unknown = {}): InboxPage {
    const parsed = parseOrThrow(InboxListInput, input, 'message list filter');
    const rows = this.repo.list(
      { ...(parsed.mailboxId !== undefined ? { mailboxId: parsed.mailboxId } : {}), ...(parsed.status ? { status: parsed.status } : {}), ...(parsed.beforeId !== undefined ? { beforeId: parsed.beforeId } : {}) },
      parsed.limit + 1,
    );
    const page = rows.slice(0, parsed.limit);
    return { messages: page.map(toSummary), nextBeforeId: rows.length > parsed.limit ? page[page.length - 1]!.id : null };
  }

  private stored(id: number) {
    const message = this.repo.get(id);
    if (!message) throw new AppError('NOT_FOUND', `No imported message has id ${id}.`, { hint: 'List the messages ("mailroom inbox list") to see their ids.' });
    return message;
  }

  /**
   * The message's own bytes, exactly as the server sent them, whatever its
   * status (a duplicate's too: never the bytes of the message it repeats).
   */
  rawBytes(id: number): Buffer {
    const message = this.stored(id);
    const raw = message.rawKept ? this.repo.raw(id) : undefined;
    if (!raw) {
      throw new AppError(
        'RAW_NOT_KEPT',
        `Message ${id} was recorded as a duplicate${message.duplicateOf ? ` of message #${message.duplicateOf}` : ''} by an earlier Mailroom, which kept only the first copy's bytes: its own bytes are not stored.`,
        {
          hint:
            message.action.startsWith('move:') && message.actionState === 'done'
              ? `The server may still have it in ${message.action.slice(5)} (UID ${message.uid} was moved there).`
              : `Messages imported by this version always keep their own bytes. The server may still have this one${message.actionState === 'done' && message.action === 'delete' ? ' in a backup' : ''}.`,
        },
      );
    }
    return raw;
  }

  /** One message in full, read from its own bytes. */
  async get(id: number): Promise<InboxMessageDetail> {
    const message = this.stored(id);
    const raw = message.rawKept ? this.repo.raw(id) : undefined;
    return messageDetail(message, raw, this.repo.sameMessageIdAs(message));
  }

  /** The raw message as text (cut at 2 MB) or as exact base64. */
  raw(id: number, encoding: 'text' | 'base64' = 'text'): RawMessage {
    const message = this.stored(id);
    const raw = this.rawBytes(id);
    const safeName = (message.mailboxName ?? 'mailbox').replace(/[\\/:*?"<>|\x00-\x1f\s]+/g, '_');
    const fileName = `mailroom-${safeName}-${id}.eml`;
    if (encoding === 'base64') return { id, size: raw.length, encoding, content: raw.toString('base64'), truncated: false, fileName };
    const truncated = raw.length > RAW_TEXT_BYTES;
    return { id, size: raw.length, encoding, content: raw.subarray(0, RAW_TEXT_BYTES).toString('utf8'), truncated, fileName };
  }

  /** The polls of a mailbox, newest first. */
  polls(mailboxId: number, beforeId?: number, limit = 50): PollRecord[] {
    this.options.mailboxes.get(mailboxId);
    return this.repo.polls(mailboxId, beforeId, Math.max(1, Math.min(limit, 1000)));
  }

  /** One poll with its transcript. */
  poll(id: number): PollDetail {
    const record = this.repo.poll(id);
    if (!record) throw new AppError('NOT_FOUND', `No poll has id ${id}.`, { hint: 'List the polls of the mailbox to see their ids.' });
    return { ...record, transcript: this.repo.transcript(id) };
  }

  // ---- settings --------------------------------------------------------------

  settings(mailboxId: number): InboxSettings {
    this.options.mailboxes.get(mailboxId);
    return { mailboxId, handoffDir: this.repo.state(mailboxId)?.handoffDir ?? null };
  }

  /** Sets or clears the handoff folder. The folder must exist and be writable. */
  saveSettings(input: unknown): InboxSettings {
    const parsed = parseOrThrow(InboxSettingsInput, input, 'inbox settings');
    this.options.mailboxes.get(parsed.mailboxId);
    if (parsed.handoffDir) checkWritableFolder(parsed.handoffDir);
    this.repo.setHandoffDir(parsed.mailboxId, parsed.handoffDir);
    this.changed(parsed.mailboxId, 'settings', null);
    return this.settings(parsed.mailboxId);
  }
}

/** Where a mailbox's mail is imported from, as the poll records and the log name it: the IMAP folder, or POP3's maildrop. */
function receiveFolder(mailbox: Mailbox): string {
  return mailbox.receiveVia === 'pop3' ? POP3_FOLDER : mailbox.imap.folder;
}

/** Registers the secrets of a connection, and the SASL forms built from them, with the poll's redactor. */
function registerSecrets(redactor: Redactor | undefined, credentials: ImapCredentials): void {
  if (!redactor) return;
  if (credentials.pass) redactor.add(credentials.pass, Buffer.from(`\0${credentials.user}\0${credentials.pass}`).toString('base64'));
  if (credentials.accessToken) {
    redactor.add(credentials.accessToken);
    try {
      redactor.add(buildXOAuth2(credentials.user, credentials.accessToken));
    } catch {
      // A malformed token is refused before it is sent.
    }
  }
}

/** Throws VALIDATION_FAILED naming the folder when it does not exist or cannot be written. */
function checkWritableFolder(dir: string): void {
  let isDir = false;
  try {
    isDir = fs.statSync(dir).isDirectory();
  } catch {
    isDir = false;
  }
  if (!isDir) {
    throw new AppError('VALIDATION_FAILED', `Invalid inbox settings: handoffDir: the folder ${dir} does not exist.`, {
      hint: 'Create the folder first, or choose an existing one.',
      issues: [{ path: 'handoffDir', message: `the folder ${dir} does not exist; create it first` }],
    });
  }
  try {
    fs.accessSync(dir, fs.constants.W_OK);
  } catch {
    throw new AppError('VALIDATION_FAILED', `Invalid inbox settings: handoffDir: Mailroom cannot write to ${dir}.`, {
      hint: 'Give the account running Mailroom write permission on the folder (Properties > Security), or choose another folder.',
      issues: [{ path: 'handoffDir', message: `Mailroom cannot write to ${dir}` }],
    });
  }
}
