/**
 * A lean engine for the CLI's inbox commands: the store, mailboxes, the
 * activity log and the inbox, and nothing else. `mailroom inbox poll` is
 * run by schedulers and scripts, often, so it does not load the code of
 * sign-in pages, exports, diagnostics bundles or site setup; the OAuth
 * service is loaded only when a mailbox signs in with OAuth 2.0.
 */
import fs from 'node:fs';
import { openDatabase, type Db } from '../../store/db.js';
import { SecretBox, type KeyProvider } from '../../store/secret-box.js';
import { SecretRepo } from '../../store/secret-repo.js';
import { ActivityLog } from '../activity-log.js';
import { databaseFile } from '../data-dir.js';
import { EventBus } from '../events.js';
import { defaultKeyProvider } from '../keys.js';
import { MailboxService } from '../mailboxes.js';
import type { InboxTokenProvider } from './imap-client.js';
import { InboxService, type InboxServiceOptions } from './inbox-service.js';

/** The services the inbox commands use. */
export interface InboxEngine {
  readonly dataDir: string;
  readonly db: Db;
  readonly mailboxes: MailboxService;
  readonly log: ActivityLog;
  readonly inbox: InboxService;
  /** Stops the inbox (parser worker, connections) and closes the store. */
  close(): Promise<void>;
}

/** Opens the lean inbox engine over a data folder. `inbox` tunes the inbox service (tests: batch size, TLS trust). */
export function openInboxEngine(options: {
  dataDir: string;
  keyProvider?: KeyProvider;
  inbox?: Pick<InboxServiceOptions, 'batchMessages' | 'fetchSlice' | 'tls' | 'parser' | 'parserWorkerFile' | 'clock'>;
}): InboxEngine {
  fs.mkdirSync(options.dataDir, { recursive: true });
  const db = openDatabase(databaseFile(options.dataDir));
  const events = new EventBus();
  const secrets = new SecretRepo(db, new SecretBox(options.keyProvider ?? defaultKeyProvider(options.dataDir)));
  const mailboxes = new MailboxService(db, secrets, events);
  const log = new ActivityLog(db, events);
  let oauth: Promise<{ getAccessToken: InboxTokenProvider['getAccessToken']; close(): Promise<void> | void }> | undefined;
  const tokens: InboxTokenProvider = {
    async getAccessToken(mailboxId, tokenOptions) {
      oauth ??= import('../auth/index.js').then(({ OAuthService }) => new OAuthService({ db, secrets, mailboxes, events, log }));
      return (await oauth).getAccessToken(mailboxId, tokenOptions);
    },
  };
  const inbox = new InboxService({ ...options.inbox, db, mailboxes, log, events, tokens });
  return {
    dataDir: options.dataDir,
    db,
    mailboxes,
    log,
    inbox,
    async close() {
      await inbox.close();
      if (oauth) await (await oauth).close();
      db.close();
    },
  };
}
