/**
 * A lean engine for the CLI's outbox commands: the store, mailboxes, the
 * activity log, the outbox and the relay, and nothing else. `mailroom send`
 * and `mailroom engine run --until-idle` are run by scripts and schedulers,
 * often, and their whole process is what an admin waits for, so they do not
 * load sign-in pages, exports, diagnostics or site setup; the OAuth service
 * is loaded only when a mailbox signs in with OAuth 2.0.
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
import { RelayService } from '../relay/relay-service.js';
import { OutboxService } from './outbox-service.js';
import type { OutboxTokenProvider } from './smtp-lane.js';

/** The services the outbox commands use. */
export interface OutboxEngine {
  readonly dataDir: string;
  readonly db: Db;
  readonly events: EventBus;
  readonly mailboxes: MailboxService;
  readonly log: ActivityLog;
  readonly outbox: OutboxService;
  readonly relay: RelayService;
  /** Stops sending and the relay, closes the store. */
  close(): Promise<void>;
}

/** Opens the lean outbox engine over a data folder. */
export function openOutboxEngine(options: { dataDir: string; keyProvider?: KeyProvider }): OutboxEngine {
  fs.mkdirSync(options.dataDir, { recursive: true });
  const db = openDatabase(databaseFile(options.dataDir));
  const events = new EventBus();
  const keys = options.keyProvider ?? defaultKeyProvider(options.dataDir);
  const secrets = new SecretRepo(db, new SecretBox(keys));
  const mailboxes = new MailboxService(db, secrets, events);
  const log = new ActivityLog(db, events);
  let oauth: Promise<{ getAccessToken: OutboxTokenProvider['getAccessToken']; close(): Promise<void> | void }> | undefined;
  const tokens: OutboxTokenProvider = {
    async getAccessToken(mailboxId, tokenOptions) {
      oauth ??= import('../auth/index.js').then(({ OAuthService }) => new OAuthService({ db, secrets, mailboxes, events, log }));
      return (await oauth).getAccessToken(mailboxId, tokenOptions);
    },
  };
  const outbox = new OutboxService({ db, mailboxes, log, events, tokens });
  const relay = new RelayService({ db, box: new SecretBox(keys), mailboxes, outbox, log });
  return {
    dataDir: options.dataDir,
    db,
    events,
    mailboxes,
    log,
    outbox,
    relay,
    async close() {
      await relay.stop();
      await outbox.stopSending(5_000);
      outbox.shutdown();
      if (oauth) await (await oauth).close();
      db.close();
    },
  };
}
