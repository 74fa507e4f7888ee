/**
 * Microsoft 365 OAuth 2.0 for mailboxes: the app-registration settings, the
 * interactive sign-in (authorization code + PKCE through a loopback redirect),
 * the token provider every IMAP/SMTP connection uses, token health and
 * sign-out.
 *
 * Tokens live only in each mailbox's sealed 'oauth-token-cache' secret; what
 * the rest of Mailroom sees is the health (account, scopes, expiry, last
 * refresh, last error). Refreshes, stores and sign-outs of one mailbox run one
 * at a time, and concurrent callers share one token request.
 */
import crypto from 'node:crypto';
import type { AuthenticationResult, PublicClientApplication } from '@azure/msal-node';
import { AppError } from '../../shared/errors.js';
import type { Mailbox } from '../../shared/mailbox.js';
import {
  BeginSignInInput,
  DEFAULT_AUTHORITY_HOST,
  DEFAULT_SIGN_IN_TIMEOUT_SECONDS,
  GRAPH_DELEGATED_SCOPES,
  GRAPH_SHARED_DELEGATED_SCOPES,
  oauthResourceScopesFor,
  oauthScopesFor,
  OAuthSettingsInput,
  isGuid,
  type OAuthSettings,
  type OAuthSettingsValidation,
  type MailboxSignIn,
  type SettingsCheck,
  type SignInStatus,
  type TokenHealth,
  type TokenResource,
} from '../../shared/oauth.js';
import { GRAPH_APP_SCOPE, OAUTH_APP_SCOPE } from '../../shared/oauth-app.js';
import { parseOrThrow } from '../../shared/validation.js';
import type { Db } from '../../store/db.js';
import { OAuthRepo, type OAuthSettingsRow } from '../../store/oauth-repo.js';
import type { SecretRepo } from '../../store/secret-repo.js';
import type { EventBus } from '../events.js';
import type { LogInput } from '../../shared/activity-log.js';
import type { MailboxService } from '../mailboxes.js';
import { NetworkFailureLog, describeNetworkFailure, globalHttpFetch, readLimited, timeoutSignal, type HttpFetch } from './http.js';
import { KeyedLock } from './keyed-lock.js';
import { startLoopbackListener, type AuthorizationResponse, type LoopbackListener } from './loopback-listener.js';
import { authorityOf, ephemeralClient, loadMsal, mailboxClient, type ClientSettings } from './msal-client.js';
import type { ResultPage } from './pages.js';
import { classifyTokenError, type TokenErrorContext } from './token-errors.js';
import { decodeAccessToken, tokenFindings } from './token-claims.js';
import { SignInStates, signInHint, usesOAuth } from './sign-in-requirement.js';
import { OutboxRepo } from '../../store/outbox-repo.js';
import { usesAppOnly } from '../../shared/mailbox.js';
import { AppOnlyAccess } from './app-only.js';

/** Opens a URL in the system browser (Electron's shell.openExternal in the desktop app). */
export type OpenExternal = (url: string) => Promise<void> | void;

/** An access token for one mailbox, for the engine's own connections only. */
export interface AccessToken {
  /** The bearer token: a secret. Never log it. */
  accessToken: string;
  /** When it expires (ms UTC). */
  expiresAt: number | null;
  /** The account the token belongs to. */
  account: string;
  /** The XOAUTH2 user name for this mailbox: its IMAP user name (delegated), its address (app-only). */
  user: string;
  /** `delegated`: a person's sign-in; `app`: the organisation's app registration (client credentials). */
  kind?: 'delegated' | 'app';
  /**
   * The admin allowed this account to differ from `user` when it signed in
   * (a person with Full Access to a shared mailbox): a token of another
   * account is then no finding for the diagnosis rules or the doctor.
   */
  otherAccountAllowed: boolean;
}

/** What the token provider offers to the connection tests, the outbox and the inbox. */
export interface TokenProvider {
  /**
   * A valid access token; refreshed when expired (or when `forceRefresh`). Concurrent callers share one request.
   * `resource` 'graph' asks the same sign-in for a Microsoft Graph token (default Exchange Online).
   */
  getAccessToken(mailboxId: number, options?: { forceRefresh?: boolean; resource?: TokenResource }): Promise<AccessToken>;
  /**
   * Runs `use` with a token; when the server rejects it (`isRejected`), gets a
   * fresh token and tries once more; a second rejection is OAUTH_TOKEN_REJECTED.
   */
  withAccessToken<T>(mailboxId: number, use: (token: AccessToken) => Promise<T>, isRejected: (error: unknown) => boolean): Promise<T>;
}

/** What the OAuth service is built over; the HTTP seam and timeouts are injectable. */
export interface OAuthServiceOptions {
  db: Db;
  secrets: SecretRepo;
  mailboxes: MailboxService;
  events?: EventBus;
  /**
   * The activity log: every sign-in attempt, refresh and failure appears
   * there (direction `auth`), never a token. Required, so that no surface
   * (the app, the console, `engine run`, `send`, `inbox poll`) can build a
   * token provider whose refreshes go unlogged.
   */
  log: { write(input: LogInput): unknown };
  /** HTTP for msal and the settings check. Default: the global fetch. */
  fetch?: HttpFetch;
  /** Opens the sign-in page in the system browser (desktop app only). */
  openExternal?: OpenExternal;
  /** Default time a sign-in waits for the browser. Default 5 minutes. */
  signInTimeoutMs?: number;
  /** Timeout of one request to the sign-in service. Default 30 s. */
  requestTimeoutMs?: number;
  /** Timeout of the online settings check. Default 8 s. */
  checkTimeoutMs?: number;
  /** The clock of app-only access (the secret's expiry warning). Default Date.now. */
  now?: () => number;
}

interface SignInSession {
  status: SignInStatus;
  listener: LoopbackListener;
  timer: NodeJS.Timeout;
  done: Promise<SignInStatus>;
  resolveDone: (s: SignInStatus) => void;
}

const TERMINAL: ReadonlySet<SignInStatus['state']> = new Set(['succeeded', 'failed', 'cancelled', 'timed-out']);
const KEEP_FINISHED_MS = 30 * 60_000;

const sameName = (a: string, b: string) => a.trim().toLowerCase() === b.trim().toLowerCase();

/** Settings, sign-in, token provider, health and sign-out of Microsoft 365 mailboxes. */
export class OAuthService implements TokenProvider {
  private readonly repo: OAuthRepo;
  private readonly fetch: HttpFetch;
  private readonly lock = new KeyedLock();
  private readonly pending = new Map<string, Promise<AccessToken>>();
  private readonly clients = new Map<number, { key: string; client: PublicClientApplication }>();
  private readonly sessions = new Map<string, SignInSession>();
  private readonly signInTimeoutMs: number;
  private readonly requestTimeoutMs: number;
  private readonly checkTimeoutMs: number;
  private outboxRepo: OutboxRepo | undefined;
  /** What msal's requests saw fail on the network (msal itself keeps only its own code). */
  private readonly network = new NetworkFailureLog();
  private readonly releasedBySignIn = new Map<string, number>();
  /** App-only access (client credentials): the organisation's app registration signs in as itself. */
  readonly appOnly: AppOnlyAccess;

  constructor(private readonly options: OAuthServiceOptions) {
    this.repo = new OAuthRepo(options.db);
    this.fetch = options.fetch ?? globalHttpFetch;
    this.signInTimeoutMs = options.signInTimeoutMs ?? DEFAULT_SIGN_IN_TIMEOUT_SECONDS * 1000;
    this.requestTimeoutMs = options.requestTimeoutMs ?? 30_000;
    this.checkTimeoutMs = options.checkTimeoutMs ?? 8_000;
    this.appOnly = new AppOnlyAccess({
      db: options.db,
      box: options.secrets.box,
      secrets: options.secrets,
      fetch: this.fetch,
      requestTimeoutMs: this.requestTimeoutMs,
      network: this.network,
      log: (input) => this.record(input),
      mailboxes: options.mailboxes,
      ...(options.events ? { events: options.events } : {}),
      ...(options.now ? { now: options.now } : {}),
    });
  }

  private record(input: LogInput): void {
    try {
      this.options.log.write(input);
    } catch {
      // The log must never break a sign-in or a token request.
    }
  }

  // -------------------------------------------------------------------------
  // Settings

  /** The saved app registration (or an unconfigured placeholder). */
  getSettings(): OAuthSettings {
    const row = this.repo.getSettings();
    const redirectHost = row?.redirectHost ?? 'localhost';
    const authorityHost = row?.authorityHost ?? DEFAULT_AUTHORITY_HOST;
    return {
      configured: Boolean(row),
      tenant: row?.tenant ?? '',
      clientId: row?.clientId ?? '',
      authorityHost,
      authority: row ? authorityOf(row) : '',
      redirectHost,
      redirectUriToRegister: `http://${redirectHost}`,
      updatedAt: row?.updatedAt ?? null,
    };
  }

  /** Saves the app registration after checking its format. */
  saveSettings(input: unknown): OAuthSettings {
    const parsed = parseOrThrow(OAuthSettingsInput, input, 'OAuth settings');
    const current = this.repo.getSettings();
    this.repo.saveSettings({
      tenant: parsed.tenant,
      clientId: parsed.clientId,
      authorityHost: parsed.authorityHost ?? current?.authorityHost ?? DEFAULT_AUTHORITY_HOST,
      redirectHost: parsed.redirectHost ?? current?.redirectHost ?? 'localhost',
    });
    this.clients.clear();
    this.record({ direction: 'auth', level: 'info', message: `Microsoft 365 app registration saved (tenant ${parsed.tenant}, client id ${parsed.clientId}).` });
    return this.getSettings();
  }

  /**
   * Checks settings without saving them: the format of each value, then,
   * online, whether the authority knows the tenant. Offline is a warning.
   */
  async validateSettings(input: unknown): Promise<OAuthSettingsValidation> {
    const parsed = parseOrThrow(OAuthSettingsInput, input, 'OAuth settings');
    const authorityHost = parsed.authorityHost ?? DEFAULT_AUTHORITY_HOST;
    const checks: SettingsCheck[] = [
      { field: 'clientId', status: 'success', message: `Client id ${parsed.clientId} has the right format.` },
    ];
    if (parsed.tenant === 'common' || parsed.tenant === 'consumers') {
      checks.push({
        field: 'tenant',
        status: 'warning',
        message: `"${parsed.tenant}" lets personal Microsoft accounts sign in. For a company mailbox use the Directory (tenant) ID or "organizations".`,
      });
    } else if (parsed.tenant === 'organizations') {
      checks.push({ field: 'tenant', status: 'info', message: '"organizations" accepts any work or school account; the tenant ID restricts sign-in to your own tenant.' });
    } else {
      checks.push({ field: 'tenant', status: 'success', message: `Tenant ${parsed.tenant} has the right format.` });
    }
    const metadataUrl = `${authorityOf({ authorityHost, tenant: parsed.tenant })}/v2.0/.well-known/openid-configuration`;
    let tenantId: string | undefined;
    try {
      const response = await this.fetch(metadataUrl, { signal: timeoutSignal(this.checkTimeoutMs), headers: { Accept: 'application/json' } });
      const text = await readLimited(response, 256 * 1024);
      let body: { issuer?: string; error_description?: string; authorization_endpoint?: string } = {};
      try {
        body = JSON.parse(text) as typeof body;
      } catch {
        // handled below
      }
      if (response.status === 200 && body.authorization_endpoint) {
        const guid = /\/([0-9a-f-]{36})\//i.exec(body.issuer ?? '')?.[1];
        if (guid && isGuid(guid)) tenantId = guid.toLowerCase();
        checks.push({
          field: 'tenant',
          status: 'success',
          message: tenantId ? `${new URL(authorityHost).host} knows the tenant (tenant ID ${tenantId}).` : `${new URL(authorityHost).host} answered for the tenant.`,
        });
      } else if (/AADSTS90002|AADSTS90023|not found/i.test(body.error_description ?? '')) {
        checks.push({ field: 'tenant', status: 'error', message: `The tenant "${parsed.tenant}" does not exist at ${new URL(authorityHost).host}. Copy the Directory (tenant) ID from the app registration's Overview page.` });
      } else {
        checks.push({ field: 'authorityHost', status: 'warning', message: `${new URL(authorityHost).host} answered HTTP ${response.status}; the tenant could not be confirmed.` });
      }
    } catch (error) {
      const failure = describeNetworkFailure(error, new URL(authorityHost).host, this.checkTimeoutMs);
      checks.push({ field: 'authorityHost', status: 'warning', message: `Could not check online: ${failure.message} The values look right; the first sign-in will confirm them.` });
    }
    checks.push({
      field: 'redirectHost',
      status: 'info',
      message: `Register the redirect URI http://${parsed.redirectHost ?? 'localhost'} under "Mobile and desktop applications" (Entra ignores the port of loopback redirects).`,
    });
    return { valid: !checks.some((c) => c.status === 'error'), checks, ...(tenantId ? { tenantId } : {}) };
  }

  private requireSettings(): OAuthSettingsRow {
    const row = this.repo.getSettings();
    if (!row) {
      throw new AppError('OAUTH_NOT_CONFIGURED', 'Microsoft 365 sign-in is not set up: Mailroom needs your organisation\'s app registration.', {
        hint: 'Register an app in the Entra admin center (see "App registration guide" in Mailroom or the README), then enter its tenant and client id: mailroom oauth settings --tenant <tenant-id> --client-id <client-id>.',
      });
    }
    return row;
  }

  // -------------------------------------------------------------------------
  // Sign-in

  /** What a token error is judged with: the sign-in host, and what the network module saw fail since `since`. */
  private errorContext(settings: { authorityHost: string } | undefined, since: number): TokenErrorContext {
    const networkFailure = this.network.since(since);
    return { ...(settings ? { authorityHost: settings.authorityHost } : {}), ...(networkFailure ? { networkFailure } : {}) };
  }

  /**
   * Starts a sign-in for a mailbox and returns the URL to open. Every
   * attempt is in the activity log: its start, and how it ended (or why it
   * could not start).
   */
  async beginSignIn(input: unknown): Promise<SignInStatus> {
    const parsed = parseOrThrow(BeginSignInInput, input, 'sign-in request');
    const mailbox = this.options.mailboxes.get(parsed.mailboxId);
    try {
      return await this.startSignIn(parsed, mailbox);
    } catch (error) {
      const info = error instanceof AppError ? error : new AppError('OAUTH_SIGN_IN_FAILED', `The sign-in could not start: ${(error as Error).message}`);
      this.record({ mailboxId: mailbox.id, direction: 'auth', level: 'error', code: info.code, message: `Microsoft sign-in of ${mailbox.name} could not start: ${info.message}`, detail: [info.hint, info.detail].filter(Boolean).join('\n') || null });
      throw error;
    }
  }

  private async startSignIn(parsed: ReturnType<typeof BeginSignInInput.parse>, mailbox: Mailbox): Promise<SignInStatus> {
    const settings = this.requireSettings();
    const attemptStarted = Date.now();
    this.pruneSessions();
    for (const session of this.sessions.values()) {
      if (session.status.mailboxId === mailbox.id && !TERMINAL.has(session.status.state)) {
        await this.finishSession(session, 'cancelled', { code: 'OAUTH_SIGN_IN_CANCELLED', message: 'A newer sign-in for this mailbox replaced this one.' });
      }
    }

    const state = crypto.randomBytes(32).toString('base64url');
    const pkce = await new (await loadMsal()).CryptoProvider().generatePkceCodes();
    const client = await ephemeralClient(settings, this.fetch, this.requestTimeoutMs, this.network);
    const signInId = crypto.randomBytes(12).toString('base64url');
    const listener = await startLoopbackListener({ expectedState: state, onRejected: () => this.emitSignInUpdate(signInId) });
    const redirectUri = `http://${settings.redirectHost}:${listener.port}`;
    let url: string;
    try {
      url = await client.getAuthCodeUrl({
        scopes: oauthScopesFor(mailbox),
        redirectUri,
        codeChallenge: pkce.challenge,
        codeChallengeMethod: 'S256',
        state,
        // form_post keeps the code out of the browser's history and address bar.
        responseMode: 'form_post',
        // The hint preselects the mailbox's account (Entra refuses a hint together with prompt=select_account).
        loginHint: mailbox.imap.username || mailbox.address,
        // A mailbox that sends or receives through Microsoft Graph asks consent for Graph's mail permissions
        // in the same sign-in: its refresh token then gets Graph tokens too (one token is for one resource).
        ...(mailbox.sendVia === 'graph' || mailbox.receiveVia === 'graph'
          ? { extraScopesToConsent: [...GRAPH_DELEGATED_SCOPES, ...(parsed.allowOtherAccount ? GRAPH_SHARED_DELEGATED_SCOPES : [])] }
          : {}),
      });
    } catch (error) {
      await listener.close();
      // An unreachable sign-in server is OAUTH_NETWORK naming the host, with the proxy/firewall fix.
      throw classifyTokenError(error, this.errorContext(settings, attemptStarted)).error;
    }

    const timeoutMs = parsed.timeoutSeconds !== undefined ? parsed.timeoutSeconds * 1000 : this.signInTimeoutMs;
    const startedAt = Date.now();
    let resolveDone!: (s: SignInStatus) => void;
    const done = new Promise<SignInStatus>((resolve) => (resolveDone = resolve));
    const session: SignInSession = {
      status: {
        signInId,
        mailboxId: mailbox.id,
        state: 'waiting',
        url,
        redirectUri,
        startedAt,
        deadline: startedAt + timeoutMs,
        opened: false,
        rejectedResponses: 0,
        account: null,
        error: null,
        finishedAt: null,
      },
      listener,
      timer: setTimeout(() => {
        void this.finishSession(session, 'timed-out', {
          code: 'OAUTH_SIGN_IN_TIMEOUT',
          message: `Nobody finished the Microsoft sign-in within ${Math.round(timeoutMs / 1000)} seconds.`,
          hint: 'Start the sign-in again and complete it in the browser that opens (or open the printed address).',
        });
      }, timeoutMs),
      done,
      resolveDone,
    };
    session.timer.unref();
    this.sessions.set(signInId, session);
    this.record({
      mailboxId: mailbox.id,
      direction: 'auth',
      level: 'info',
      message: `Microsoft sign-in of ${mailbox.name} started: waiting for the browser until ${new Date(startedAt + timeoutMs).toISOString()} (expected account ${mailbox.imap.username || mailbox.address}${parsed.allowOtherAccount ? ', or another one allowed' : ''}).`,
      detail: `Sign-in server ${new URL(settings.authorityHost).host}; answers come back to ${redirectUri}.`,
    });

    listener.response.then(
      (response) => this.completeSignIn(session, response, mailbox, settings, client, pkce.verifier, parsed.allowOtherAccount ?? false),
      () => undefined,
    );

    if (parsed.openBrowser && this.options.openExternal && /^https:\/\//i.test(url)) {
      try {
        await this.options.openExternal(url);
        session.status.opened = true;
      } catch {
        // The URL is returned anyway; the caller shows it.
      }
    }
    return { ...session.status };
  }

  /** The current status of a sign-in. */
  signInStatus(signInId: string): SignInStatus {
    const session = this.sessions.get(signInId);
    if (!session) {
      throw new AppError('NOT_FOUND', 'This sign-in is unknown or too old.', { hint: 'Start the sign-in again.' });
    }
    session.status.rejectedResponses = session.listener.rejectedResponses;
    return { ...session.status };
  }

  /** Waits until a sign-in ends (succeeded, failed, cancelled or timed out). */
  async waitForSignIn(signInId: string): Promise<SignInStatus> {
    const session = this.sessions.get(signInId);
    if (!session) throw new AppError('NOT_FOUND', 'This sign-in is unknown or too old.', { hint: 'Start the sign-in again.' });
    await session.done;
    return this.signInStatus(signInId);
  }

  /** Cancels a sign-in: the listener closes and nothing is stored. */
  async cancelSignIn(signInId: string): Promise<SignInStatus> {
    const session = this.sessions.get(signInId);
    if (!session) throw new AppError('NOT_FOUND', 'This sign-in is unknown or too old.', { hint: 'Nothing to cancel.' });
    await this.finishSession(session, 'cancelled', { code: 'OAUTH_SIGN_IN_CANCELLED', message: 'The sign-in was cancelled in Mailroom. Nothing was changed.' });
    return this.signInStatus(signInId);
  }

  private emitSignInUpdate(signInId: string): void {
    const session = this.sessions.get(signInId);
    if (session) session.status.rejectedResponses = session.listener.rejectedResponses;
  }

  private async completeSignIn(
    session: SignInSession,
    response: AuthorizationResponse,
    mailbox: Mailbox,
    settings: OAuthSettingsRow,
    client: PublicClientApplication,
    codeVerifier: string,
    allowOtherAccount: boolean,
  ): Promise<void> {
    if (TERMINAL.has(session.status.state)) return;
    if (response.error || !response.code) {
      const { error } = classifyTokenError({ errorCode: response.error ?? 'invalid_response', errorMessage: response.errorDescription ?? 'No authorization code came back.' });
      const code = response.error === 'access_denied' ? 'OAUTH_SIGN_IN_CANCELLED' : error.code;
      await this.finishSession(session, 'failed', { code, message: error.message, ...(error.hint ? { hint: error.hint } : {}) });
      return;
    }
    session.status.state = 'exchanging';
    const exchangeStarted = Date.now();
    let result: AuthenticationResult;
    try {
      result = await client.acquireTokenByCode(
        { code: response.code, scopes: oauthScopesFor(this.options.mailboxes.get(session.status.mailboxId)), redirectUri: session.status.redirectUri, codeVerifier, state: response.state },
        { code: response.code, state: response.state },
      );
    } catch (error) {
      const { error: classified } = classifyTokenError(error, this.errorContext(settings, exchangeStarted));
      await this.finishSession(session, 'failed', {
        code: classified.code === 'OAUTH_SIGN_IN_REQUIRED' ? 'OAUTH_SIGN_IN_FAILED' : classified.code,
        message: classified.message,
        ...(classified.hint ? { hint: classified.hint } : {}),
        ...(classified.detail ? { detail: classified.detail } : {}),
      });
      return;
    }
    if (TERMINAL.has(session.status.state)) return; // cancelled or timed out while exchanging: store nothing
    const account = result.account;
    const username = account?.username || (result.idTokenClaims as { preferred_username?: string; upn?: string } | undefined)?.preferred_username || '';
    if (!account || !username) {
      await this.finishSession(session, 'failed', {
        code: 'OAUTH_SIGN_IN_FAILED',
        message: 'Microsoft returned tokens without an account name.',
        hint: 'Check that the app registration asks for the "openid" and "profile" permissions (they are added by default) and sign in again.',
      });
      return;
    }
    const expected = [mailbox.imap.username, mailbox.smtp.username, mailbox.address].filter(Boolean);
    const matches = expected.some((name) => sameName(name, username));
    if (!matches && !allowOtherAccount) {
      session.status.account = username;
      await this.finishSession(session, 'failed', {
        code: 'OAUTH_WRONG_ACCOUNT',
        message: `You signed in as ${username}, but mailbox "${mailbox.name}" signs in as ${mailbox.imap.username || mailbox.address}. Nothing was saved.`,
        hint: `Sign in again as ${mailbox.imap.username || mailbox.address} (choose "Use another account" on the Microsoft page). If ${username} is this mailbox's sign-in name (UPN), enter it as the IMAP and SMTP user name first; for a shared mailbox that ${username} has Full Access to, allow another account and sign in again.`,
      });
      return;
    }

    const scopes = result.scopes ?? [];
    const serialized = client.getTokenCache().serialize();
    let released: number[] = [];
    try {
      await this.lock.run(mailbox.id, async () => {
        this.options.db.transaction(() => {
          this.options.secrets.set(mailbox.id, 'oauth-token-cache', serialized);
          this.repo.saveSignIn({
            mailboxId: mailbox.id,
            homeAccountId: account.homeAccountId,
            username,
            displayName: account.name ?? null,
            tenantId: account.tenantId || null,
            scopes,
            clientId: settings.clientId,
            authority: authorityOf(settings),
            otherAccountAllowed: !matches,
            accessExpiresAt: result.expiresOn ? result.expiresOn.getTime() : null,
          });
          // Mail that waited for this sign-in is due now, in the same commit: whichever
          // process sends (this one, the app, a scheduled engine run) sees it in the store.
          this.outboxRepo ??= new OutboxRepo(this.options.db);
          released = this.outboxRepo.releaseSignInWait(mailbox.id, Date.now(), `due now: signed in with Microsoft as ${username}`);
        })();
        this.clients.delete(mailbox.id);
      });
    } catch (error) {
      await this.finishSession(session, 'failed', {
        code: 'OAUTH_SIGN_IN_FAILED',
        message: `Signed in, but the tokens could not be stored: ${(error as Error).message}`,
        hint: 'Check that the data folder is writable, then sign in again.',
      });
      return;
    }
    session.status.account = username;
    this.releasedBySignIn.set(session.status.signInId, released.length);
    await this.finishSession(session, 'succeeded', null);
    if (released.length) this.options.events?.emit('outbox.changed', { ids: released, mailboxIds: [mailbox.id] });
  }

  /** How many waiting outbox messages a finished sign-in made due. */
  releasedMessages(signInId: string): number {
    return this.releasedBySignIn.get(signInId) ?? 0;
  }

  private async finishSession(session: SignInSession, state: SignInStatus['state'], error: SignInStatus['error']): Promise<void> {
    if (TERMINAL.has(session.status.state)) return;
    clearTimeout(session.timer);
    session.status.state = state;
    session.status.error = error;
    session.status.finishedAt = Date.now();
    session.status.rejectedResponses = session.listener.rejectedResponses;
    const page: ResultPage =
      state === 'succeeded'
        ? {
            kind: 'success',
            title: 'Signed in to Microsoft 365',
            message: `Mailroom is signed in as ${session.status.account}. It can now send and receive for this mailbox; tokens refresh themselves.`,
          }
        : {
            kind: 'failure',
            title: state === 'cancelled' ? 'Sign-in cancelled' : state === 'timed-out' ? 'Sign-in timed out' : 'Sign-in did not complete',
            message: error?.message ?? 'The sign-in did not complete.',
            ...(error?.hint ? { hint: error.hint } : {}),
            ...(error?.code ? { code: error.code } : {}),
          };
    await session.listener.finish(page);
    this.record(
      state === 'succeeded'
        ? {
            mailboxId: session.status.mailboxId,
            direction: 'auth',
            level: 'success',
            message: `Signed in with Microsoft as ${session.status.account}.`,
            detail: this.releasedBySignIn.get(session.status.signInId) ? `${this.releasedBySignIn.get(session.status.signInId)} outgoing message(s) that waited for this sign-in are due now.` : null,
          }
        : {
            mailboxId: session.status.mailboxId,
            direction: 'auth',
            level: state === 'cancelled' ? 'info' : 'error',
            code: error?.code ?? null,
            message: `Microsoft sign-in ${state === 'timed-out' ? 'timed out' : state}: ${error?.message ?? ''}`.trim(),
            detail: [error?.hint, error?.detail].filter(Boolean).join('\n') || null,
          },
    );
    const snapshot = { ...session.status };
    session.resolveDone(snapshot);
    this.options.events?.emit('oauth.signInFinished', snapshot);
    if (state === 'succeeded') this.options.events?.emit('oauth.changed', { mailboxId: session.status.mailboxId });
  }

  private pruneSessions(): void {
    const cutoff = Date.now() - KEEP_FINISHED_MS;
    for (const [id, session] of this.sessions) {
      if (session.status.finishedAt !== null && session.status.finishedAt < cutoff) this.sessions.delete(id);
    }
  }

  // -------------------------------------------------------------------------
  // Tokens

  /**
   * A valid access token for a mailbox, whichever way it signs in: a
   * person's sign-in (delegated, refreshed with the stored refresh token) or
   * app-only (client credentials of the organisation's app registration).
   * `kind` says which. The token is a secret: never print or log it.
   * The same as getAccessToken; named for callers outside the token
   * provider (the token doctor).
   */
  getAccessTokenForMailbox(mailboxId: number, options: { forceRefresh?: boolean; resource?: TokenResource } = {}): Promise<AccessToken> {
    return this.getAccessToken(mailboxId, options);
  }

  /**
   * A valid access token for a mailbox (see TokenProvider and getAccessTokenForMailbox).
   * For Microsoft Graph (`resource: 'graph'`) msal-node gets it with the same
   * account's refresh token (acquireTokenSilent with Graph's scopes: Entra's
   * refresh tokens serve every resource the app is consented for), and app-only
   * access asks client credentials for https://graph.microsoft.com/.default.
   */
  getAccessToken(mailboxId: number, options: { forceRefresh?: boolean; resource?: TokenResource } = {}): Promise<AccessToken> {
    const resource = options.resource ?? 'exchange';
    const key = `${mailboxId}:${resource}:${options.forceRefresh ? 'force' : 'cached'}`;
    const existing = this.pending.get(key);
    if (existing) return existing;
    const request = this.lock.run(mailboxId, () => this.acquire(mailboxId, Boolean(options.forceRefresh), resource)).finally(() => {
      if (this.pending.get(key) === request) this.pending.delete(key);
    });
    this.pending.set(key, request);
    return request;
  }

  /** Runs `use` with a token, refreshing once when the server rejects it (see TokenProvider). */
  async withAccessToken<T>(mailboxId: number, use: (token: AccessToken) => Promise<T>, isRejected: (error: unknown) => boolean): Promise<T> {
    const first = await this.getAccessToken(mailboxId);
    try {
      return await use(first);
    } catch (error) {
      if (!isRejected(error)) throw error;
    }
    const fresh = await this.getAccessToken(mailboxId, { forceRefresh: true });
    try {
      return await use(fresh);
    } catch (error) {
      if (!isRejected(error)) throw error;
      if (fresh.kind === 'app') {
        const rejectedApp = new AppError('OAUTH_TOKEN_REJECTED', `The server rejected a fresh app-only token for ${fresh.user} (app ${fresh.account}).`, {
          hint: `An app-only token opens a mailbox only when Exchange knows the app's service principal and it has the mailbox permission: run New-ServicePrincipal with the Object ID of the Enterprise application (not the App registration), then Add-MailboxPermission -AccessRights FullAccess (IMAP, POP) and Add-RecipientPermission -AccessRights SendAs (SMTP) for ${fresh.user}; check that the app has the application permissions IMAP.AccessAsApp / SMTP.SendAsApp with admin consent, and that IMAP / Authenticated SMTP is on for the mailbox. The App-only set-up on the mailbox has these commands filled in.`,
          cause: error,
        });
        this.appOnly.repo.recordError(rejectedApp.toInfo(), false, Date.now());
        this.record({ mailboxId, direction: 'auth', level: 'error', code: rejectedApp.code, message: rejectedApp.message, detail: rejectedApp.hint ?? null });
        this.options.events?.emit('oauth.changed', { mailboxId });
        throw rejectedApp;
      }
      // What the token's own claims say comes first (a Graph audience, a missing scope): the same rules as the doctor.
      const decoded = decodeAccessToken(fresh.accessToken);
      const [claimFinding] = decoded.readable
        ? tokenFindings(decoded.claims, { protocols: ['imap', 'smtp'], mailbox: fresh.user, ...(fresh.otherAccountAllowed ? { allowOtherAccount: true } : {}) })
        : [];
      const rejected = new AppError('OAUTH_TOKEN_REJECTED', `The server rejected a fresh OAuth token for ${fresh.user} (signed in as ${fresh.account}).${claimFinding ? ` ${claimFinding.summary}` : ''}`, {
        hint: claimFinding
          ? `${claimFinding.hint} (The token doctor shows the token's claims: mailroom oauth doctor "${this.options.mailboxes.get(mailboxId).name}".)`
          : fresh.account.toLowerCase() === fresh.user.toLowerCase()
            ? 'Check that IMAP/SMTP AUTH is enabled for the mailbox (Microsoft 365 admin center > Users > Mail > Manage email apps) and that the app registration has IMAP.AccessAsUser.All and SMTP.Send with admin consent; then sign in again.'
            : `The token belongs to ${fresh.account}; give that account Full Access (and Send As) on ${fresh.user}, or sign in as ${fresh.user}.`,
        cause: error,
      });
      this.repo.recordError(mailboxId, rejected.toInfo(), false);
      this.record({ mailboxId, direction: 'auth', level: 'error', code: rejected.code, message: rejected.message, detail: rejected.hint ?? null });
      this.options.events?.emit('oauth.changed', { mailboxId });
      throw rejected;
    }
  }

  private async clientFor(mailboxId: number, settings: ClientSettings): Promise<PublicClientApplication> {
    const key = `${settings.clientId}|${authorityOf(settings)}`;
    const cached = this.clients.get(mailboxId);
    if (cached && cached.key === key) return cached.client;
    const client = await mailboxClient(settings, this.fetch, this.requestTimeoutMs, this.options.secrets, mailboxId, this.network);
    this.clients.set(mailboxId, { key, client });
    return client;
  }

  private fail(mailboxId: number, error: AppError, signInRequired: boolean, what?: string): never {
    this.repo.recordError(mailboxId, error.toInfo(), signInRequired);
    this.record({
      mailboxId,
      direction: 'auth',
      level: 'error',
      code: error.code,
      message: what ? `${what} failed: ${error.message}` : error.message,
      detail: [error.hint ? `What to change: ${error.hint}` : null, error.detail ?? null, signInRequired ? 'Mail of this mailbox waits for the sign-in and spends no tries.' : null].filter(Boolean).join('\n') || null,
    });
    this.options.events?.emit('oauth.changed', { mailboxId });
    throw error;
  }

  private async acquire(mailboxId: number, forceRefresh: boolean, resource: TokenResource = 'exchange'): Promise<AccessToken> {
    const mailbox = this.options.mailboxes.get(mailboxId);
    if (usesAppOnly(mailbox)) {
      const token = await this.appOnly.acquire(mailbox, forceRefresh, resource === 'graph' ? GRAPH_APP_SCOPE : OAUTH_APP_SCOPE);
      // Exchange takes the mailbox's address as the XOAUTH2 user of an app-only token.
      return { accessToken: token.accessToken, expiresAt: token.expiresAt, account: token.clientId, user: mailbox.address, kind: 'app', otherAccountAllowed: false };
    }
    const row = this.repo.getAccount(mailboxId);
    if (!row) {
      throw new AppError('OAUTH_NOT_SIGNED_IN', `Mailbox "${mailbox.name}" has not signed in with Microsoft yet.`, {
        hint: `Use "Sign in with Microsoft" on the mailbox, or run: mailroom oauth login "${mailbox.name}". Mail waiting for it is sent at once after the sign-in.`,
      });
    }
    if (!this.options.secrets.has(mailboxId, 'oauth-token-cache')) {
      // A record without its tokens can never refresh: say so once, in the store, so that mail waits for the sign-in.
      this.fail(mailboxId, new AppError('OAUTH_SIGN_IN_REQUIRED', `The stored sign-in of "${mailbox.name}" is missing.`, { hint: signInHint(mailbox.name) }), true);
    }
    const settings = this.requireSettings();
    if (row.clientId !== settings.clientId || row.authority !== authorityOf(settings)) {
      this.fail(
        mailboxId,
        new AppError('OAUTH_SIGN_IN_REQUIRED', `The OAuth settings (client id or tenant) changed since "${mailbox.name}" signed in.`, {
          hint: signInHint(mailbox.name, 'Sign in again with the new app registration'),
        }),
        true,
      );
    }
    if (row.state === 'sign-in-required') {
      throw new AppError('OAUTH_SIGN_IN_REQUIRED', row.lastError?.message ?? `Mailbox "${mailbox.name}" must sign in with Microsoft again.`, {
        hint: row.lastError?.hint ?? signInHint(mailbox.name),
      });
    }
    const client = await this.clientFor(mailboxId, settings);
    const requestStarted = Date.now();
    let result: AuthenticationResult;
    try {
      const account = await client.getTokenCache().getAccountByHomeId(row.homeAccountId);
      if (!account) {
        this.fail(
          mailboxId,
          new AppError('OAUTH_SIGN_IN_REQUIRED', `The stored sign-in of "${mailbox.name}" is missing or unreadable.`, {
            hint: signInHint(mailbox.name),
          }),
          true,
        );
      }
      // A person signed in for a shared mailbox reaches it in Graph with the .Shared permissions.
      const graphScopes = row.otherAccountAllowed && !sameName(row.username, mailbox.address) ? [...GRAPH_DELEGATED_SCOPES, ...GRAPH_SHARED_DELEGATED_SCOPES] : [...GRAPH_DELEGATED_SCOPES];
      result = await client.acquireTokenSilent({ account, scopes: resource === 'graph' ? graphScopes : oauthResourceScopesFor(mailbox), forceRefresh });
    } catch (error) {
      if (error instanceof AppError && error.code.startsWith('OAUTH_')) throw error;
      const { error: classified, signInRequired } = classifyTokenError(error, this.errorContext(settings, requestStarted));
      this.fail(mailboxId, classified, signInRequired, forceRefresh ? 'Token refresh' : 'Getting a token');
    }
    const refreshed = !result.fromCache;
    // The health shows the Exchange token's scopes and expiry; a Graph token only counts as a refresh.
    if (resource === 'exchange') this.repo.recordToken(mailboxId, { scopes: result.scopes ?? [], accessExpiresAt: result.expiresOn ? result.expiresOn.getTime() : null, refreshed });
    else if (row.lastError) this.repo.recordToken(mailboxId, { scopes: row.scopes, accessExpiresAt: row.accessExpiresAt, refreshed });
    if (refreshed) this.record({ mailboxId, direction: 'auth', level: 'info', message: `${resource === 'graph' ? 'Microsoft Graph access token' : 'Access token'} refreshed for ${row.username}${result.expiresOn ? ` (valid until ${result.expiresOn.toISOString()})` : ''}.` });
    if (refreshed || row.lastError) this.options.events?.emit('oauth.changed', { mailboxId });
    return {
      accessToken: result.accessToken,
      expiresAt: result.expiresOn ? result.expiresOn.getTime() : null,
      account: row.username,
      user: mailbox.imap.username || mailbox.address,
      kind: 'delegated',
      otherAccountAllowed: row.otherAccountAllowed,
    };
  }

  // -------------------------------------------------------------------------
  // Health and sign-out

  /** The sign-in state of every mailbox that uses OAuth 2.0, with what waits for it. */
  states(): MailboxSignIn[] {
    const states = new SignInStates(this.options.db);
    this.outboxRepo ??= new OutboxRepo(this.options.db);
    const outbox = this.outboxRepo;
    return this.options.mailboxes
      .list()
      .filter((m) => usesOAuth(m))
      .map((m) => {
        const { requirement } = states.of(m);
        const row = this.repo.getAccount(m.id);
        return {
          mailboxId: m.id,
          state: usesAppOnly(m) ? (requirement ? (requirement.code === 'OAUTH_NOT_CONFIGURED' ? 'not-signed-in' : 'sign-in-required') : 'signed-in') : !row ? 'not-signed-in' : requirement ? 'sign-in-required' : row.state,
          needed: requirement,
          waitingMessages: outbox.countWaitingForSignIn(m.id),
        };
      });
  }

  /** Account, scopes, expiry, last refresh and last error of a mailbox. */
  health(mailboxId: number): TokenHealth {
    const mailbox = this.options.mailboxes.get(mailboxId);
    if (usesAppOnly(mailbox)) return this.appHealth(mailbox);
    const row = this.repo.getAccount(mailboxId);
    const expectedAccount = mailbox.imap.username || mailbox.address;
    if (!row) {
      return {
        mailboxId,
        state: 'not-signed-in',
        account: null,
        accountName: null,
        tenantId: null,
        scopes: [],
        missingScopes: oauthResourceScopesFor(mailbox),
        accessTokenExpiresAt: null,
        signedInAt: null,
        lastRefreshAt: null,
        lastError: null,
        expectedAccount,
        otherAccountAllowed: false,
      };
    }
    const settings = this.repo.getSettings();
    const registrationChanged = !settings || row.clientId !== settings.clientId || row.authority !== authorityOf(settings);
    const granted = new Set(row.scopes.map((s) => s.toLowerCase()));
    return {
      mailboxId,
      state: registrationChanged ? 'sign-in-required' : row.state,
      account: row.username,
      accountName: row.displayName,
      tenantId: row.tenantId,
      scopes: row.scopes,
      missingScopes: oauthResourceScopesFor(mailbox).filter((s) => !granted.has(s.toLowerCase())),
      accessTokenExpiresAt: row.accessExpiresAt,
      signedInAt: row.signedInAt,
      lastRefreshAt: row.lastRefreshAt,
      lastError:
        row.lastError ??
        (registrationChanged
          ? { code: 'OAUTH_SIGN_IN_REQUIRED', message: 'The OAuth settings (client id or tenant) changed since this mailbox signed in.', hint: 'Sign in again with the new app registration.', at: row.updatedAt }
          : null),
      expectedAccount,
      otherAccountAllowed: row.otherAccountAllowed,
    };
  }

  private appHealth(mailbox: Mailbox): TokenHealth {
    const app = this.appOnly.getSettings();
    const expiry = app.secretExpiry;
    return {
      mailboxId: mailbox.id,
      state: !app.configured ? 'not-signed-in' : app.credentialRequired ? 'sign-in-required' : 'signed-in',
      account: app.configured ? `app ${app.clientId}` : null,
      accountName: null,
      tenantId: app.configured ? app.tenant : null,
      scopes: app.configured ? ['https://outlook.office365.com/.default'] : [],
      missingScopes: [],
      accessTokenExpiresAt: null,
      signedInAt: app.updatedAt,
      lastRefreshAt: app.lastTokenAt,
      lastError: app.lastError,
      expectedAccount: mailbox.address,
      otherAccountAllowed: false,
      kind: 'app',
      appOnly: { clientId: app.clientId, credential: app.credential, secretExpiry: expiry, certificateNotAfter: app.certificate?.notAfter ?? null },
    };
  }

  /** Gets a token now (refreshing when needed) and returns the health; failures are in `lastError`. */
  async checkToken(mailboxId: number, options: { forceRefresh?: boolean } = {}): Promise<TokenHealth> {
    try {
      await this.getAccessToken(mailboxId, options);
    } catch (error) {
      if (!(error instanceof AppError) || error.code === 'NOT_FOUND' || error.code === 'OAUTH_NOT_SIGNED_IN' || error.code === 'OAUTH_NOT_CONFIGURED') throw error;
    }
    return this.health(mailboxId);
  }

  /** Forgets a mailbox's tokens and sign-in record. Its settings and queued mail are kept. */
  async logout(mailboxId: number): Promise<TokenHealth> {
    this.options.mailboxes.get(mailboxId);
    await this.lock.run(mailboxId, async () => {
      this.options.db.transaction(() => {
        this.options.secrets.remove(mailboxId, 'oauth-token-cache');
        this.options.secrets.remove(mailboxId, 'oauth-app-token-cache');
        this.repo.removeAccount(mailboxId);
      })();
      this.clients.delete(mailboxId);
      this.appOnly.forget(mailboxId);
    });
    this.record({ mailboxId, direction: 'auth', level: 'info', message: 'Signed out of Microsoft: tokens deleted.' });
    this.options.events?.emit('oauth.changed', { mailboxId });
    return this.health(mailboxId);
  }

  /** Cancels every running sign-in (closing their listeners). */
  async close(): Promise<void> {
    await Promise.all(
      [...this.sessions.values()].map((s) => this.finishSession(s, 'cancelled', { code: 'OAUTH_SIGN_IN_CANCELLED', message: 'Mailroom is closing.' })),
    );
  }
}
