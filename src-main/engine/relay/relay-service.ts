/**
 * The local submission relay, for legacy applications (scanners,
 * line-of-business tools) that speak only plain SMTP: an smtp-server bound
 * to 127.0.0.1 only, with its own accounts, STARTTLS when a certificate is
 * stored, mapping each submission to a mailbox by its account or (when
 * allowed) by its sender address. A message gets 250 only once it is
 * committed to the outbox; from there the mailbox's sender delivers it with
 * the mailbox's own sign-in (password or Microsoft 365 OAuth).
 */
import type { SMTPServer, SMTPServerAuthentication, SMTPServerDataStream, SMTPServerSession } from 'smtp-server';
import type { AddressInfo } from 'node:net';
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { AppError, isAppError } from '../../shared/errors.js';
import type { Mailbox } from '../../shared/mailbox.js';
import { RelaySettingsInput, type RelaySettings, type RelayWarning } from '../../shared/outbox.js';
import { parseOrThrow } from '../../shared/validation.js';
import type { Db } from '../../store/db.js';
import { RelayRepo, type RelaySettingsRow } from '../../store/relay-repo.js';
import { OAuthRepo } from '../../store/oauth-repo.js';
import { OAuthAppRepo } from '../../store/oauth-app-repo.js';
import { appRequirementOf } from '../auth/sign-in-requirement.js';
import type { SecretBox } from '../../store/secret-box.js';
import type { ActivityLog } from '../activity-log.js';
import type { MailboxService } from '../mailboxes.js';
import type { OutboxService } from '../outbox/outbox-service.js';
import { MAX_RECIPIENTS, rfc5322Date } from '../outbox/message-source.js';
import { hashPassword, verifyPassword } from './password-hash.js';

/** The only address the relay ever listens on. */
export const RELAY_HOST = '127.0.0.1';
/** The relay's name in its greeting and its Received field. */
const RELAY_NAME = 'mailroom-relay.localhost';
const TLS_KEY_CONTEXT = 'mailroom/relay/tls-key';

/** What the relay needs from the engine. */
export interface RelayServiceOptions {
  db: Db;
  box: SecretBox;
  mailboxes: MailboxService;
  outbox: OutboxService;
  log: ActivityLog;
  clock?: () => number;
}

/** The relay's session state, kept on smtp-server's session object. */
interface RelayUser {
  accountId: number;
  username: string;
  mailboxId: number;
}

function smtpError(code: number, message: string): Error {
  return Object.assign(new Error(message), { responseCode: code });
}

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|::ffff:127\.\d+\.\d+\.\d+)$/;
const ADDRESS = /^[^\s@<>()",;:]{1,64}@[A-Za-z0-9.-]{1,253}$/;

/**
 * How a refused sign-in's user name is logged when no account has it: by
 * its length only. What an application sends as its user name may be a
 * password typed in the wrong field, and the log, its exports, the
 * diagnostics bundle and `relay start`'s output must not keep it.
 */
export function describeUnknownUser(username: string): string {
  const length = [...username].length;
  return length === 0 ? 'an empty user name' : `an unknown user name (${length} character${length === 1 ? '' : 's'})`;
}

/** The relay: settings, accounts, and the listener in this process. */
export class RelayService {
  private readonly repo: RelayRepo;
  private readonly oauth: OAuthRepo;
  private readonly clock: () => number;
  private server: SMTPServer | undefined;
  private listeningPort: number | null = null;
  /** When true (a runtime manages the relay), saving the settings starts, restarts or stops it. */
  private managed = false;

  constructor(private readonly options: RelayServiceOptions) {
    this.repo = new RelayRepo(options.db);
    this.oauth = new OAuthRepo(options.db);
    this.clock = options.clock ?? Date.now;
  }

  /** The settings, accounts and state. */
  settings(): RelaySettings {
    const s = this.repo.settings();
    return {
      enabled: s.enabled,
      host: RELAY_HOST,
      port: s.port,
      allowUnauthenticated: s.allowUnauthenticated,
      maxMessageBytes: s.maxMessageBytes,
      starttls: Boolean(s.tlsCertPem && s.tlsKeySealed),
      tlsSubject: s.tlsCertPem ? certificateSubject(s.tlsCertPem) : null,
      accounts: this.repo.accounts().map(({ passwordHash: _hash, ...account }) => account),
      warnings: this.warnings(),
      running: this.server !== undefined,
      listeningPort: this.listeningPort,
    };
  }

  /** Changes the settings (all in one transaction); a managed relay restarts with them. */
  async saveSettings(input: unknown): Promise<RelaySettings> {
    const parsed = parseOrThrow(RelaySettingsInput, input, 'relay settings');
    const current = this.repo.settings();
    const next: RelaySettingsRow = {
      enabled: parsed.enabled ?? current.enabled,
      port: parsed.port ?? current.port,
      allowUnauthenticated: parsed.allowUnauthenticated ?? current.allowUnauthenticated,
      maxMessageBytes: parsed.maxMessageBytes ?? current.maxMessageBytes,
      tlsCertPem: current.tlsCertPem,
      tlsKeySealed: current.tlsKeySealed,
    };
    if (parsed.tls === null) {
      next.tlsCertPem = null;
      next.tlsKeySealed = null;
    } else if (parsed.tls) {
      checkTlsPair(parsed.tls.certPem, parsed.tls.keyPem);
      next.tlsCertPem = parsed.tls.certPem;
      next.tlsKeySealed = this.options.box.seal(parsed.tls.keyPem, TLS_KEY_CONTEXT);
    }
    // Hash outside the transaction (scrypt is slow on purpose); check the mailboxes first.
    const added = await Promise.all(
      (parsed.addAccounts ?? []).map(async (a) => ({
        username: a.username,
        mailboxId: this.options.mailboxes.get(a.mailboxId).id,
        hash: await hashPassword(a.password),
        // A new account keeps the application's From unless told; a changed one keeps its choice.
        fromMode: a.fromMode ?? this.repo.account(a.username)?.fromMode ?? 'keep',
      })),
    );
    const updated = await Promise.all(
      (parsed.updateAccounts ?? []).map(async (a) => ({
        username: a.username,
        ...(a.mailboxId !== undefined ? { mailboxId: this.options.mailboxes.get(a.mailboxId).id } : {}),
        ...(a.password !== undefined ? { passwordHash: await hashPassword(a.password) } : {}),
        ...(a.fromMode !== undefined ? { fromMode: a.fromMode } : {}),
      })),
    );
    const before = new Map(this.repo.accounts().map((a) => [a.username.toLowerCase(), a.fromMode]));
    const now = this.clock();
    this.options.db.transaction(() => {
      this.repo.saveSettings(next, now);
      for (const a of added) this.repo.upsertAccount(a.username, a.mailboxId, a.hash, a.fromMode, now);
      for (const { username, ...changes } of updated) {
        if (!this.repo.updateAccount(username, changes, now)) {
          throw new AppError('NOT_FOUND', `No relay account is named "${username}".`, { hint: 'List the relay accounts to see their names (mailroom relay show), or add it with mailroom relay account add.' });
        }
      }
      for (const username of parsed.removeAccounts ?? []) {
        if (!this.repo.removeAccount(username)) {
          throw new AppError('NOT_FOUND', `No relay account is named "${username}".`, { hint: 'List the relay accounts to see their names.' });
        }
      }
    })();
    // A changed From choice changes what the relay does to submitted mail: say so in the log.
    for (const account of this.repo.accounts()) {
      const was = before.get(account.username.toLowerCase());
      if (was !== undefined && was !== account.fromMode) {
        this.options.log.write({
          mailboxId: account.mailboxId,
          direction: 'system',
          level: 'info',
          code: null,
          message: `Relay account ${account.username} now ${account.fromMode === 'mailbox' ? `sends as ${account.mailboxName}'s address (the application's From goes to Reply-To)` : "keeps the application's From"}`,
          detail: null,
        });
      }
    }
    if (this.managed) {
      if (!next.enabled) await this.stop();
      else if (this.server) {
        await this.stop();
        await this.start();
      } else await this.start();
    }
    return this.settings();
  }

  /**
   * The relay's credentials, for the diagnostics scrubber: the STARTTLS
   * private key and each account's password hash (a hash is enough to try
   * passwords offline, so it never leaves the computer either). Account
   * passwords themselves are never stored, so they are kept out at their
   * source: a refused user name is logged by its length only.
   */
  credentialsForScrubbing(): string[] {
    const s = this.repo.settings();
    const out: string[] = this.repo.accounts().map((a) => a.passwordHash);
    if (s.tlsKeySealed) {
      try {
        out.push(this.options.box.open(s.tlsKeySealed, TLS_KEY_CONTEXT));
      } catch {
        // A key this data key cannot open cannot leak from here either.
      }
    }
    return out;
  }

  /**
   * True when the mailbox sends with Microsoft 365 OAuth and nobody can
   * get a token for it now: never signed in, the sign-in was refused or
   * revoked ("sign-in-required"), or the app registration changed since.
   * Read from the store, so the relay needs no sign-in machinery loaded.
   */
  signInNeeded(mailbox: Mailbox): boolean {
    // App-only: the organisation's registration must be set up and its credential not refused.
    if (mailbox.smtp.auth === 'oauth2-app') return appRequirementOf(mailbox.name, new OAuthAppRepo(this.options.db).get()) !== null;
    if (mailbox.smtp.auth !== 'oauth2') return false;
    const account = this.oauth.getAccount(mailbox.id);
    if (!account || account.state === 'sign-in-required') return true;
    const settings = this.oauth.getSettings();
    return !settings || account.clientId !== settings.clientId || account.authority !== `${settings.authorityHost.replace(/\/+$/, '')}/${settings.tenant}`;
  }

  /** For a connection test of a mailbox's outgoing side: relay accounts that would send as an address the mailbox cannot. */
  fromWarnings(mailbox: Mailbox): RelayWarning[] {
    const keeping = this.repo.accounts().filter((a) => a.mailboxId === mailbox.id && a.fromMode === 'keep').map((a) => a.username);
    return keeping.length && isMicrosoft365(mailbox) ? [fromNotAllowedWarning(mailbox, keeping)] : [];
  }

  /** What would keep the relay's mail from going out, per mailbox that relay accounts send from. */
  warnings(): RelayWarning[] {
    const accounts = this.repo.accounts();
    const out: RelayWarning[] = [];
    const byMailbox = new Map<number, typeof accounts>();
    for (const a of accounts) byMailbox.set(a.mailboxId, [...(byMailbox.get(a.mailboxId) ?? []), a]);
    for (const [mailboxId, list] of byMailbox) {
      let mailbox: Mailbox;
      try {
        mailbox = this.options.mailboxes.get(mailboxId);
      } catch {
        continue;
      }
      const names = list.map((a) => a.username);
      if (this.signInNeeded(mailbox)) {
        out.push({
          code: 'OAUTH_SIGN_IN_REQUIRED',
          message: `${mailbox.name} needs a Microsoft sign-in before it can send: mail from relay account${names.length === 1 ? '' : 's'} ${names.join(', ')} is accepted and waits in the outbox.`,
          hint: `Sign ${mailbox.name} in with Microsoft (Mailboxes > ${mailbox.name} > Sign in, or mailroom oauth login ${mailbox.name}).`,
          mailboxId,
          accounts: names,
        });
      }
      const keeping = list.filter((a) => a.fromMode === 'keep').map((a) => a.username);
      if (keeping.length && isMicrosoft365(mailbox)) out.push(fromNotAllowedWarning(mailbox, keeping));
    }
    return out;
  }

  /** True while the relay listens in this process. */
  get running(): boolean {
    return this.server !== undefined;
  }

  /** Lets saveSettings start and stop the relay (the desktop app, the console, engine run). */
  setManaged(managed: boolean): void {
    this.managed = managed;
  }

  /** Starts listening on 127.0.0.1 (the stored port, or `port`). */
  async start(port?: number): Promise<{ host: string; port: number }> {
    if (this.server && this.listeningPort !== null) return { host: RELAY_HOST, port: this.listeningPort };
    const s = this.repo.settings();
    const tls = s.tlsCertPem && s.tlsKeySealed ? { cert: s.tlsCertPem, key: this.options.box.open(s.tlsKeySealed, TLS_KEY_CONTEXT) } : undefined;
    // Loaded here: most runs never start the relay, and their start-up stays light.
    const { SMTPServer } = await import('smtp-server');
    const server = new SMTPServer({
      name: RELAY_NAME,
      banner: 'Mailroom local relay: mail is queued, then sent through the mailbox\'s own sign-in',
      size: s.maxMessageBytes,
      authMethods: ['PLAIN', 'LOGIN'],
      authOptional: s.allowUnauthenticated,
      // Loopback only: the password never crosses a network, even without STARTTLS.
      allowInsecureAuth: true,
      disabledCommands: tls ? [] : ['STARTTLS'],
      ...(tls ? { cert: tls.cert, key: tls.key } : {}),
      logger: false,
      maxClients: 50,
      socketTimeout: 120_000,
      closeTimeout: 5_000,
      onConnect: (session, callback) => {
        // The socket is bound to 127.0.0.1; this is a second lock on the same door.
        if (!LOOPBACK.test(session.remoteAddress)) return callback(smtpError(554, 'This relay accepts only connections from this computer'));
        callback();
      },
      onAuth: (auth, session, callback) => {
        this.authenticate(auth, session).then(
          (user) => callback(null, { user }),
          (error: unknown) => callback(error instanceof Error ? error : new Error(String(error))),
        );
      },
      onMailFrom: (address, session, callback) => {
        if (session.user) return callback();
        if (!s.allowUnauthenticated) return callback(smtpError(530, '5.7.0 Authentication required: sign in with a relay account'));
        const mailbox = this.mailboxBySender(address.address);
        if (!mailbox) {
          // An address is shown; anything else an unauthenticated client typed is described, never kept.
          const shown = ADDRESS.test(address.address) ? address.address : `that is not an address (${[...address.address].length} characters)`;
          this.logRefusal(null, 'RELAY_SENDER_UNKNOWN', `Relay refused sender ${shown}: no mailbox has this address`, 'Sign in with a relay account, or send from the address of a Mailroom mailbox.');
          return callback(smtpError(550, `5.7.1 Sender ${address.address} is not a Mailroom mailbox; sign in with a relay account`));
        }
        callback();
      },
      onRcptTo: (address, session, callback) => {
        if (session.envelope.rcptTo.length >= MAX_RECIPIENTS) return callback(smtpError(452, `4.5.3 Too many recipients (at most ${MAX_RECIPIENTS} per message)`));
        if (!/^[^\s@<>()",;:]+@[^\s@<>()",;:]+$/.test(address.address)) return callback(smtpError(553, `5.1.3 ${address.address} is not a valid address`));
        callback();
      },
      onData: (stream, session, callback) => {
        this.receive(stream, session).then(
          (reply) => callback(null, reply),
          (error: unknown) => callback(error instanceof Error ? error : new Error(String(error))),
        );
      },
    });
    server.on('error', () => {
      // Per-connection errors (a client that vanished) need no action.
    });
    const wanted = port ?? s.port;
    await new Promise<void>((resolve, reject) => {
      const onError = (error: NodeJS.ErrnoException) => {
        server.server.off('listening', onListening);
        reject(
          error.code === 'EADDRINUSE'
            ? new AppError('RELAY_PORT_IN_USE', `Port ${wanted} on ${RELAY_HOST} is already in use, so the relay cannot listen there.`, {
                hint: `Another program (or another Mailroom) listens on ${wanted}: find it with "netstat -ano | findstr :${wanted}" (Windows), or choose another relay port and point the application at it.`,
              })
            : new AppError('RELAY_START_FAILED', `The relay cannot listen on ${RELAY_HOST}:${wanted}: ${error.message}`, { hint: 'Choose a port from 1024 to 65535 that no other program uses.' }),
        );
      };
      const onListening = () => {
        server.server.off('error', onError);
        resolve();
      };
      server.server.once('error', onError);
      server.server.once('listening', onListening);
      server.listen(wanted, RELAY_HOST);
    });
    this.server = server;
    this.listeningPort = (server.server.address() as AddressInfo).port;
    this.options.log.write({
      direction: 'system',
      level: 'info',
      code: null,
      message: `Local relay listening on ${RELAY_HOST}:${this.listeningPort}${tls ? ' (STARTTLS offered)' : ''}`,
      detail: s.allowUnauthenticated ? 'Sign-in optional: a sender without an account must use a mailbox\'s own address.' : 'Sign-in required (relay accounts).',
    });
    return { host: RELAY_HOST, port: this.listeningPort };
  }

  /** Stops listening; sessions in progress get a few seconds to finish. */
  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    const port = this.listeningPort;
    this.listeningPort = null;
    await new Promise<void>((resolve) => server.close(() => resolve()));
    try {
      this.options.log.write({ direction: 'system', level: 'info', code: null, message: `Local relay on ${RELAY_HOST}:${port} stopped`, detail: null });
    } catch {
      // The database may already be closed.
    }
  }

  private async authenticate(auth: SMTPServerAuthentication, session: SMTPServerSession): Promise<RelayUser> {
    const username = (auth.username ?? '').trim();
    const account = username ? this.repo.account(username) : undefined;
    // Hash even for an unknown name, so timing does not tell which names exist.
    const ok = await verifyPassword(auth.password ?? '', account?.passwordHash ?? 'scrypt$16384$8$1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA');
    if (!account || !ok) {
      this.logRefusal(
        account?.mailboxId ?? null,
        'RELAY_AUTH_FAILED',
        `Relay sign-in refused for ${account ? `account ${account.username} (wrong password)` : describeUnknownUser(username)} from ${session.remoteAddress}`,
        account
          ? `Set the password of ${account.username} in the application again, or give the account a new one: mailroom relay account add ${account.username} --mailbox <mailbox> --password-stdin.`
          : 'Check the user name configured in the application against Outbox > Local relay (mailroom relay show). A password typed in the user-name field looks like this too.',
      );
      throw smtpError(535, '5.7.8 Authentication credentials invalid');
    }
    this.repo.touchAccount(account.id, this.clock());
    return { accountId: account.id, username: account.username, mailboxId: account.mailboxId };
  }

  private mailboxBySender(address: string): Mailbox | undefined {
    const wanted = address.trim().toLowerCase();
    return this.options.mailboxes.list().find((m) => m.enabled && m.address.toLowerCase() === wanted);
  }

  private logRefusal(mailboxId: number | null, code: string, message: string, hint: string): void {
    try {
      this.options.log.write({ mailboxId, direction: 'send', level: 'warning', code, message, detail: `What to change: ${hint}` });
    } catch {
      // Logging must never break the SMTP answer.
    }
  }

  /** Reads a submission and queues it; the reply is sent only after the commit. */
  private async receive(stream: SMTPServerDataStream, session: SMTPServerSession): Promise<string> {
    const chunks: Buffer[] = [];
    for await (const chunk of stream) chunks.push(chunk as Buffer);
    if (stream.sizeExceeded) throw smtpError(552, `5.3.4 Message too big (the relay takes at most ${Math.round(this.repo.settings().maxMessageBytes / 1048576)} MB)`);
    const user = session.user as unknown as RelayUser | undefined;
    const sender = session.envelope.mailFrom ? session.envelope.mailFrom.address : '';
    const mailbox = user ? this.options.mailboxes.get(user.mailboxId) : this.mailboxBySender(sender);
    if (!mailbox) throw smtpError(550, '5.7.1 No mailbox to send this message from');
    const recipients = session.envelope.rcptTo.map((r) => r.address);
    const who = user ? `relay:${user.username}` : `relay:${sender}`;
    // The account's From choice, as it is now (an admin may have changed it since the sign-in).
    const account = user ? this.repo.account(user.username) : undefined;
    const sendAsMailbox = account?.fromMode === 'mailbox';
    try {
      const { message: queued, fromRewrite } = this.options.outbox.queueRelaySubmission(mailbox.id, Buffer.concat(chunks), recipients, who, {
        trace: [receivedField(session, this.clock())],
        sendAsMailbox,
      });
      const needsSignIn = this.signInNeeded(mailbox);
      const waiting = `${mailbox.name} needs a Microsoft sign-in before it can send`;
      const rewrite = fromRewrite
        ? `From "${fromRewrite.originalFrom}" replaced by "${fromRewrite.from}" (account ${user?.username} sends as the mailbox); ${
            fromRewrite.replyTo === 'added' ? 'the original From is the Reply-To' : 'the message\'s own Reply-To is kept'
          }${fromRewrite.senderRemoved ? '; its Sender field was removed' : ''}.`
        : null;
      this.options.log.write({
        mailboxId: mailbox.id,
        direction: 'send',
        level: needsSignIn ? 'warning' : 'info',
        code: needsSignIn ? 'OAUTH_SIGN_IN_REQUIRED' : null,
        message: `Relay accepted "${queued.subject}" from ${user ? `account ${user.username}` : sender} for ${recipients.slice(0, 3).join(', ')}${recipients.length > 3 ? ', ...' : ''}${needsSignIn ? `; ${waiting}` : ''}`,
        detail: [
          `Queued as outbox message ${queued.id}; Message-ID <${queued.messageId}>; ${queued.size} bytes; from ${session.remoteAddress}`,
          rewrite,
          needsSignIn ? `What to change: sign ${mailbox.name} in with Microsoft (Mailboxes > ${mailbox.name} > Sign in, or mailroom oauth login ${mailbox.name}); the message waits in the outbox until then.` : null,
        ]
          .filter(Boolean)
          .join('\n'),
        refKind: 'outbox',
        refId: queued.id,
      });
      // Accepted either way (the mail is stored); the reply says when it cannot go out yet.
      return needsSignIn ? `2.0.0 Queued as ${queued.id}; ${waiting}` : `2.0.0 Queued as ${queued.id} for ${mailbox.name}`;
    } catch (error) {
      if (isAppError(error) && error.code === 'MESSAGE_INVALID') {
        // Refused whole, never queued altered: the application hears which line, and so does the log.
        this.logRefusal(mailbox.id, 'RELAY_MESSAGE_REFUSED', `Relay refused a message from ${user ? `account ${user.username}` : 'an unauthenticated sender'}: ${error.message}`, error.hint ?? 'Correct the message the application sends.');
        throw smtpError(554, `5.6.0 ${error.message}`);
      }
      if (isAppError(error) && error.code === 'NOT_FOUND') throw smtpError(550, `5.7.1 ${error.message}`);
      // The store could not take it (busy, disk full): the application should try again.
      this.logRefusal(mailbox.id, 'RELAY_QUEUE_FAILED', `Relay could not queue a message: ${error instanceof Error ? error.message : String(error)}`, 'Check free disk space and that the data folder is writable.');
      throw smtpError(451, '4.3.0 The message could not be stored; try again later');
    }
  }
}

/** What a client may put in the Received field: a host name or an address literal, nothing else. */
const TRACE_NAME = /^[A-Za-z0-9._:[\]-]{1,100}$/;

/**
 * The relay's Received field (RFC 5321 4.4), the one line it puts on top of
 * a submission: who handed it over (the EHLO name, loopback address) and when.
 * The relay account's name is not in it: it would go out with the message.
 */
export function receivedField(session: Pick<SMTPServerSession, 'hostNameAppearsAs' | 'remoteAddress' | 'transmissionType' | 'id'>, now: number): string {
  const helo = TRACE_NAME.test(session.hostNameAppearsAs ?? '') ? session.hostNameAppearsAs : 'unknown';
  const address = /^[0-9a-fA-F.:]{1,45}$/.test(session.remoteAddress ?? '') ? session.remoteAddress : 'unknown';
  const via = /^[A-Z]{1,12}$/.test(session.transmissionType ?? '') ? session.transmissionType : 'ESMTP';
  const id = /^[A-Za-z0-9]{1,40}$/.test(session.id ?? '') ? session.id : 'relay';
  return `Received: from ${helo} ([${address}]) by ${RELAY_NAME} (Mailroom relay) with ${via} id ${id}; ${rfc5322Date(now)}`;
}

/** A mailbox that sends through Microsoft 365 (Exchange Online refuses a From it may not send as: SendAsDenied). */
export function isMicrosoft365(mailbox: Pick<Mailbox, 'preset' | 'smtp'>): boolean {
  return mailbox.preset === 'microsoft365' || mailbox.smtp.auth === 'oauth2' || mailbox.smtp.auth === 'oauth2-app' || /(^|\.)(office365\.com|outlook\.com)$/i.test(mailbox.smtp.host);
}

/** The warning for relay accounts that keep the application's From on a Microsoft 365 mailbox. */
export function fromNotAllowedWarning(mailbox: Mailbox, accounts: string[]): RelayWarning {
  const many = accounts.length > 1;
  return {
    code: 'RELAY_FROM_NOT_ALLOWED',
    message: `Relay account${many ? 's' : ''} ${accounts.join(', ')} keep${many ? '' : 's'} the application's From, but ${mailbox.name} is a Microsoft 365 mailbox: Exchange Online refuses mail from an address ${mailbox.address} may not send as (SendAsDenied), after the relay has already accepted it.`,
    hint: `Send as the mailbox: mailroom relay account update ${accounts[0]} --from mailbox (Outbox > Local relay > From address). Or give ${mailbox.address} "Send as" permission on the application's address in the Exchange admin center.`,
    mailboxId: mailbox.id,
    accounts,
  };
}

/** Reads a certificate's subject for display, or a plain note when it cannot be read. */
function certificateSubject(pem: string): string {
  try {
    return new X509Certificate(pem).subject.replace(/\n/g, ', ');
  } catch {
    return 'certificate stored';
  }
}

/** Refuses a certificate and key that do not belong together, before they are stored. */
function checkTlsPair(certPem: string, keyPem: string): void {
  try {
    const cert = new X509Certificate(certPem);
    if (!cert.checkPrivateKey(createPrivateKey(keyPem))) throw new Error('the private key does not belong to the certificate');
  } catch (error) {
    throw new AppError('VALIDATION_FAILED', `Invalid relay certificate: ${(error as Error).message}.`, {
      issues: [{ path: 'tls', message: 'must be a PEM certificate and the private key that belongs to it' }],
      hint: 'Export the certificate and its unencrypted private key as PEM files (for example with openssl) and paste both.',
    });
  }
}
