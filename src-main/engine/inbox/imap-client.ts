/**
 * Makes and opens the imapflow client of a mailbox: server settings, the
 * password or an OAuth 2.0 access token (XOAUTH2), timeouts, IDLE. Every
 * connection gets a new client: imapflow clients are never reused once
 * closed.
 */
import net from 'node:net';
import type { ImapFlow, ImapFlowOptions, Logger } from 'imapflow';
import { AppError } from '../../shared/errors.js';
import type { Mailbox } from '../../shared/mailbox.js';
import { isOAuthMode } from '../../shared/mailbox.js';
import { APP_VERSION } from '../version.js';
import { nodeRequire } from '../node-require.js';
import { MINIMUM_TLS_VERSION } from '../tls-policy.js';

/**
 * IDLE is restarted this often. Servers drop an IDLE session after about
 * 29 minutes of silence (RFC 9051 allows 30): 10 minutes is well inside.
 */
export const IDLE_RESTART_MS = 10 * 60_000;
/** How long after the last command the client goes back to IDLE. */
const AUTO_IDLE_DELAY_MS = 2_000;

/** An OAuth 2.0 access token for one mailbox (the OAuth service's token provider returns these). */
export interface InboxAccessToken {
  /** The bearer token: a secret. */
  accessToken: string;
  /** The XOAUTH2 user name. */
  user: string;
  /** The admin allowed the token's account to differ from `user` (a shared mailbox through a person with Full Access). */
  otherAccountAllowed?: boolean;
}

/** Gives access tokens for XOAUTH2 (the OAuth service implements it). */
export interface InboxTokenProvider {
  getAccessToken(mailboxId: number, options?: { forceRefresh?: boolean; resource?: 'exchange' | 'graph' }): Promise<InboxAccessToken>;
}

/** What a connection signs in with. Secrets: never log them. */
export interface ImapCredentials {
  user: string;
  pass?: string;
  accessToken?: string;
  /** The admin allowed the token's account to differ from `user` (a shared mailbox). */
  otherAccountAllowed?: boolean;
}

/** Options of one connection. */
export interface ConnectOptions {
  /** Keep the connection and IDLE when nothing else runs (the background importer). */
  idle?: boolean;
  /** A logger (the debug transcript); with `logRaw` every byte is reported. */
  logger?: Logger;
  logRaw?: boolean;
  /** Extra TLS options (tests pass their CA). */
  tls?: ImapFlowOptions['tls'];
}

/**
 * imapflow answers a refused STORE, MOVE, EXPUNGE or SEARCH with `false` and
 * reports the server's reply only to its logger: the trap keeps the last
 * one, so a failure can be diagnosed with the server's own words.
 */
export interface CommandErrorTrap {
  last: (Error & Record<string, unknown>) | undefined;
}

interface ClientContext {
  trap: CommandErrorTrap;
}

/** The error trap of a client made by `imapOptions`. */
export function errorTrap(client: ImapFlow): CommandErrorTrap {
  return (client.context as ClientContext | undefined)?.trap ?? { last: undefined };
}

/**
 * A logger that keeps the last command error and passes everything on to
 * `next` (the debug transcript). It says which levels anyone reads:
 * imapflow otherwise serialises every FETCH response into a trace entry
 * (measured: a fifth of the main thread's time in a 1,000-message import),
 * so without a transcript only warnings and errors (the trap) are enabled.
 */
function trappingLogger(trap: CommandErrorTrap, next: Logger | undefined): Logger & { isLevelEnabled(level: string): boolean } {
  const keep = (entry: unknown) => {
    const err = (entry as { err?: unknown } | undefined)?.err;
    if (err instanceof Error) trap.last = err as CommandErrorTrap['last'];
  };
  return {
    isLevelEnabled: (level) => Boolean(next) || level === 'warn' || level === 'error' || level === 'fatal',
    trace: (entry) => next?.trace?.(entry),
    debug: (entry) => next?.debug(entry),
    info: (entry) => next?.info(entry),
    warn: (entry) => {
      keep(entry);
      next?.warn(entry);
    },
    error: (entry) => {
      keep(entry);
      next?.error(entry);
    },
    fatal: (entry) => {
      keep(entry);
      next?.fatal?.(entry);
    },
  };
}

/** The imapflow options of a mailbox and credentials. */
export function imapOptions(mailbox: Mailbox, credentials: ImapCredentials, options: ConnectOptions = {}): ImapFlowOptions {
  const { host, port, security } = mailbox.imap;
  const context: ClientContext = { trap: { last: undefined } };
  return {
    host,
    port,
    secure: security === 'tls',
    // STARTTLS mode must upgrade (never fall back to cleartext sign-in); "none" must not try.
    doSTARTTLS: security === 'starttls' ? true : security === 'none' ? false : undefined,
    ...(net.isIP(host.replace(/^\[|\]$/g, '')) ? {} : { servername: host }),
    auth: credentials.accessToken ? { user: credentials.user, accessToken: credentials.accessToken } : { user: credentials.user, pass: credentials.pass ?? '' },
    clientInfo: { name: 'Mailroom', version: APP_VERSION, vendor: 'Mailroom' },
    logger: trappingLogger(context.trap, options.logger),
    context,
    logRaw: Boolean(options.logRaw),
    emitLogs: false,
    disableAutoIdle: !options.idle,
    autoIdleDelay: AUTO_IDLE_DELAY_MS,
    maxIdleTime: IDLE_RESTART_MS,
    connectionTimeout: 30_000,
    greetingTimeout: 16_000,
    socketTimeout: 5 * 60_000,
    // The minimum goes last, so that no option lowers it (see tls-policy.ts).
    tls: { ...(options.tls ?? {}), minVersion: MINIMUM_TLS_VERSION },
  };
}

/**
 * The credentials of a mailbox: its stored password, or a fresh access
 * token from the token provider. Errors say what to change.
 */
export async function credentialsFor(
  mailbox: Mailbox,
  password: (id: number) => string | undefined,
  tokens: InboxTokenProvider | undefined,
  forceRefresh = false,
): Promise<ImapCredentials> {
  if (isOAuthMode(mailbox.imap.auth)) {
    if (!tokens) {
      throw new AppError('OAUTH_UNAVAILABLE', `Mailbox ${mailbox.name} signs in with OAuth 2.0, but Microsoft sign-in is not available here.`, {
        hint: 'Sign the mailbox in on the Mailboxes screen (Sign in with Microsoft), then poll again.',
      });
    }
    const token = await tokens.getAccessToken(mailbox.id, { forceRefresh });
    return { user: token.user || mailbox.imap.username, accessToken: token.accessToken, ...(token.otherAccountAllowed ? { otherAccountAllowed: true } : {}) };
  }
  const pass = password(mailbox.id);
  if (!pass) {
    throw new AppError('PASSWORD_MISSING', `Mailbox ${mailbox.name} has no password stored, so it cannot sign in to ${mailbox.imap.host}.`, {
      hint: `Enter the password (or app password) for ${mailbox.imap.username}: Mailboxes > ${mailbox.name} > Edit, or "mailroom mailbox update ${mailbox.name} --password-stdin".`,
    });
  }
  return { user: mailbox.imap.username, pass };
}

/**
 * imapflow (and its logger) loads on the first connection, not with the
 * engine: most CLI commands never import mail. Its CommonJS build, which
 * loads in two thirds of the time of its ES module build.
 */
function loadImapFlow(): typeof import('imapflow') {
  return nodeRequire()('imapflow') as typeof import('imapflow');
}

/** Makes a new client and connects it (TCP, TLS, greeting, STARTTLS, sign-in). */
export async function openClient(mailbox: Mailbox, credentials: ImapCredentials, options: ConnectOptions = {}): Promise<ImapFlow> {
  const { ImapFlow } = loadImapFlow();
  const client = new ImapFlow(imapOptions(mailbox, credentials, options));
  // A failure after connect() has resolved is reported on the calls that hit it;
  // an 'error' event without a listener would crash the process.
  client.on('error', () => undefined);
  await client.connect();
  return client;
}

/**
 * Runs a command that imapflow reports as `false` (or nothing) when the
 * server refuses it, and throws instead: the server's error when imapflow
 * reported one, a connection error when the connection is gone.
 */
export async function checked<T>(client: ImapFlow, what: string, run: () => Promise<T | false | undefined>): Promise<T> {
  const trap = errorTrap(client);
  trap.last = undefined;
  const result = await run();
  if (result !== false && result !== undefined) return result;
  if (!client.usable) throw Object.assign(new Error(`The connection closed during ${what}.`), { code: 'NoConnection' });
  throw trap.last ?? Object.assign(new Error(`The server refused ${what}.`), { code: 'CommandFailed' });
}

/** Logs out politely, but never waits long: the connection is closed either way. */
export async function closeClient(client: ImapFlow | undefined, timeoutMs = 3_000): Promise<void> {
  if (!client || client.isClosed) return;
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([client.logout().catch(() => undefined), new Promise((resolve) => (timer = setTimeout(resolve, timeoutMs)))]);
  } finally {
    clearTimeout(timer);
    if (!client.isClosed) client.close();
  }
}
