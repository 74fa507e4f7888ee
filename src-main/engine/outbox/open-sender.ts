/**
 * The leanest engine there is: the store and the outbox's sender, for
 * `mailroom engine run --until-idle`. That command is run by schedulers and
 * timed as a whole process, so it loads no schema library and none of the
 * screens' services: mailboxes are read straight from the store, log entries
 * written straight to it, and the OAuth service is loaded only when a
 * mailbox signs in with OAuth 2.0.
 */
import fs from 'node:fs';
import { AppError } from '../../shared/errors.js';
import type { LogInput } from '../../shared/activity-log.js';
import type { Mailbox } from '../../shared/mailbox.js';
import { openDatabase, type Db } from '../../store/db.js';
import { LogRepo } from '../../store/log-repo.js';
import { MailboxRepo } from '../../store/mailbox-repo.js';
import { SecretBox, type KeyProvider } from '../../store/secret-box.js';
import { SecretRepo } from '../../store/secret-repo.js';
import { databaseFile } from '../data-dir.js';
import { EventBus } from '../events.js';
import { defaultKeyProvider } from '../keys.js';
import { OutboxSender, type OutboxLog, type OutboxMailboxes } from './sender.js';
import type { OutboxTokenProvider } from './smtp-lane.js';

/** The sender and what it runs on. */
export interface SenderEngine {
  readonly dataDir: string;
  readonly db: Db;
  readonly events: EventBus;
  readonly sender: OutboxSender;
  /** Stops sending and closes the store. */
  close(): Promise<void>;
}

/** Mailboxes read straight from the store, with the same errors as MailboxService. */
export function storeMailboxes(db: Db, secrets: SecretRepo): OutboxMailboxes {
  const repo = new MailboxRepo(db);
  const notFound = (what: string) => new AppError('NOT_FOUND', `No mailbox is named or numbered "${what}".`, { hint: 'Run "mailroom mailbox list" to see the mailboxes.' });
  return {
    get: (id: number): Mailbox => {
      const m = repo.get(id);
      if (!m) throw new AppError('NOT_FOUND', `No mailbox has id ${id}.`, { hint: 'List the mailboxes to see their ids and names.' });
      return m;
    },
    resolve: (idOrName: string | number): Mailbox => {
      const text = String(idOrName).trim();
      const found = /^\d+$/.test(text) ? (repo.get(Number(text)) ?? repo.findByName(text)) : repo.findByName(text);
      if (!found) throw notFound(text);
      return found;
    },
    list: () => repo.list(),
    smtpPassword: (id: number) => secrets.smtpPassword(id),
  };
}

/** Log entries written straight to the store and announced, as ActivityLog.write does. */
export function storeLog(db: Db, events: EventBus): OutboxLog {
  const repo = new LogRepo(db);
  return {
    write(input: LogInput) {
      const entry = repo.insert({ ...input, at: input.at ?? Date.now() });
      events.emit('logs.appended', entry);
      return entry;
    },
  };
}

/** Opens the sender over a data folder. */
export function openSender(options: { dataDir: string; keyProvider?: KeyProvider }): SenderEngine {
  fs.mkdirSync(options.dataDir, { recursive: true });
  const db = openDatabase(databaseFile(options.dataDir));
  // This connection belongs to one sending run: checkpoint the WAL in bigger
  // steps (up to 16 MB) than the default 4 MB, so that a burst of commits is
  // not slowed by a checkpoint every few hundred messages. Closing checkpoints.
  db.pragma('wal_autocheckpoint = 4000');
  const events = new EventBus();
  const secrets = new SecretRepo(db, new SecretBox(options.keyProvider ?? defaultKeyProvider(options.dataDir)));
  const mailboxes = storeMailboxes(db, secrets);
  let oauth: Promise<{ getAccessToken: OutboxTokenProvider['getAccessToken']; close(): Promise<void> | void }> | undefined;
  const log = storeLog(db, events);
  const tokens: OutboxTokenProvider = {
    async getAccessToken(mailboxId, tokenOptions) {
      oauth ??= Promise.all([import('../auth/index.js'), import('../mailboxes.js')]).then(
        ([{ OAuthService }, { MailboxService }]) => new OAuthService({ db, secrets, mailboxes: new MailboxService(db, secrets, events), events, log }),
      );
      return (await oauth).getAccessToken(mailboxId, tokenOptions);
    },
  };
  const sender = new OutboxSender({ db, mailboxes, log, events, tokens });
  return {
    dataDir: options.dataDir,
    db,
    events,
    sender,
    async close() {
      await sender.stopSending(5_000);
      sender.shutdown();
      if (oauth) await (await oauth).close();
      db.close();
    },
  };
}
