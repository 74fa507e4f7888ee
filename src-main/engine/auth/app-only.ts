/**
 * Microsoft 365 app-only access for shared mailboxes: the organisation's
 * app registration signs in as itself (OAuth 2.0 client credentials, msal's
 * ConfidentialClientApplication) with a client secret or a certificate, and
 * asks for `https://outlook.office365.com/.default`; the mail server checks
 * the token's roles (IMAP.AccessAsApp, POP.AccessAsApp, SMTP.SendAsApp) and
 * the mailbox permission of the service principal. The XOAUTH2 user is the
 * mailbox's address.
 *
 * Tokens are cached per mailbox in its sealed 'oauth-app-token-cache' and
 * got again before they expire (msal refreshes an app token five minutes
 * early). The secret and the private key are sealed in the store and never
 * leave the engine; a PFX's password is used once and never stored.
 */
import type { AuthenticationResult, ConfidentialClientApplication } from '@azure/msal-node';
import { AppError } from '../../shared/errors.js';
import type { LogInput } from '../../shared/activity-log.js';
import type { Mailbox } from '../../shared/mailbox.js';
import { usesAppOnly } from '../../shared/mailbox.js';
import { DEFAULT_AUTHORITY_HOST } from '../../shared/oauth.js';
import {
  OAUTH_APP_SCOPE,
  OAuthAppSettingsInput,
  secretExpiryStatus,
  type OAuthAppSettings,
  type SecretExpiry,
} from '../../shared/oauth-app.js';
import { parseOrThrow } from '../../shared/validation.js';
import type { Db } from '../../store/db.js';
import { OAuthAppRepo, type OAuthAppRow } from '../../store/oauth-app-repo.js';
import { OutboxRepo } from '../../store/outbox-repo.js';
import type { SecretBox } from '../../store/secret-box.js';
import type { SecretRepo } from '../../store/secret-repo.js';
import type { EventBus } from '../events.js';
import type { HttpFetch, NetworkFailureLog } from './http.js';
import { readCertificateCredential } from './app-credential.js';
import { authorityOf, confidentialMailboxClient, type ConfidentialCredential } from './msal-client.js';
import { classifyTokenError } from './token-errors.js';

/** The command that stores the app-only registration, for hints. */
export const APP_ONLY_COMMAND = 'mailroom oauth app --tenant <tenant-id> --client-id <client-id> (--secret-env NAME | --certificate FILE)';

/** What app-only access is built over. */
export interface AppOnlyAccessOptions {
  db: Db;
  box: SecretBox;
  secrets: SecretRepo;
  fetch: HttpFetch;
  requestTimeoutMs: number;
  network: NetworkFailureLog;
  log: (input: LogInput) => void;
  events?: EventBus;
  /** The clock (tests move it to see the expiry warning). Default Date.now. */
  now?: () => number;
  /** The mailboxes, to release their waiting mail when the credential changes. */
  mailboxes: { list(): Mailbox[] };
}

/** A token got with client credentials. */
export interface AppToken {
  accessToken: string;
  expiresAt: number | null;
  clientId: string;
  fromCache: boolean;
}

const DAY_MS = 86_400_000;

/** The organisation's app-only registration and the tokens it gets. */
export class AppOnlyAccess {
  readonly repo: OAuthAppRepo;
  private readonly clients = new Map<number, { key: string; client: ConfidentialClientApplication }>();
  private readonly now: () => number;

  constructor(private readonly options: AppOnlyAccessOptions) {
    this.repo = new OAuthAppRepo(options.db, options.box);
    this.now = options.now ?? Date.now;
  }

  /** The registration as shown: never the secret, the key or the password. */
  getSettings(): OAuthAppSettings {
    const row = this.repo.get();
    if (!row) {
      return {
        configured: false,
        tenant: '',
        clientId: '',
        authorityHost: DEFAULT_AUTHORITY_HOST,
        credential: null,
        secretSet: false,
        certificate: null,
        secretExpiry: null,
        lastError: null,
        credentialRequired: false,
        lastTokenAt: null,
        updatedAt: null,
      };
    }
    return {
      configured: true,
      tenant: row.tenant,
      clientId: row.clientId,
      authorityHost: row.authorityHost,
      credential: row.credential,
      secretSet: row.credential === 'secret',
      certificate: row.certificate,
      secretExpiry: this.expiryOf(row),
      lastError: row.lastError,
      credentialRequired: row.credentialRequired,
      lastTokenAt: row.lastTokenAt,
      updatedAt: row.updatedAt,
    };
  }

  /** The expiry of the credential in use: the secret's (entered or learned), or the certificate's "not after". */
  private expiryOf(row: OAuthAppRow): SecretExpiry | null {
    if (row.credential === 'certificate') return row.certificate ? secretExpiryStatus(row.certificate.notAfter, this.now(), 'certificate') : null;
    if (row.secretExpiresAt === null) return null;
    return secretExpiryStatus(row.secretExpiresAt, this.now(), row.secretExpirySource ?? 'entered');
  }

  /**
   * Saves the registration. A new secret or certificate replaces the stored
   * one; absent keeps it (same kind only). The cached app tokens of every
   * mailbox are dropped, and mail that waited for a working credential is
   * released in the same commit.
   */
  saveSettings(input: unknown): OAuthAppSettings {
    const parsed = parseOrThrow(OAuthAppSettingsInput, input, 'app-only settings');
    const current = this.repo.get();
    const sameKind = current?.credential === parsed.credential && this.repo.hasCredential(parsed.credential);
    let secret: string | undefined;
    let certificatePem: string | null = null;
    let certificate: OAuthAppRow['certificate'] = null;
    if (parsed.credential === 'secret') {
      if (parsed.certificatePem !== undefined || parsed.pfxBase64 !== undefined) {
        throw new AppError('VALIDATION_FAILED', 'A client secret and a certificate were both given.', {
          hint: 'Choose one: the secret (--secret-env NAME) or the certificate (--certificate FILE).',
          issues: [{ path: 'credential', message: 'is secret, but a certificate was given too' }],
        });
      }
      secret = parsed.clientSecret;
      if (secret === undefined && !sameKind) {
        throw new AppError('VALIDATION_FAILED', 'The client secret is missing.', {
          hint: 'Give the secret\'s Value (app registration > Certificates & secrets): in the CLI through an environment variable, --secret-env NAME.',
          issues: [{ path: 'clientSecret', message: 'is required: the secret\'s Value (never its Secret ID)' }],
        });
      }
    } else {
      if (parsed.clientSecret !== undefined) {
        throw new AppError('VALIDATION_FAILED', 'A client secret and a certificate were both given.', {
          hint: 'Choose one: the secret (--secret-env NAME) or the certificate (--certificate FILE).',
          issues: [{ path: 'clientSecret', message: 'must not be given with a certificate' }],
        });
      }
      if (parsed.certificatePem !== undefined || parsed.pfxBase64 !== undefined) {
        const read = readCertificateCredential(
          parsed.pfxBase64 !== undefined
            ? { pfx: Buffer.from(parsed.pfxBase64, 'base64'), password: parsed.certificatePassword ?? '' }
            : { pem: parsed.certificatePem ?? '', ...(parsed.certificatePassword ? { password: parsed.certificatePassword } : {}) },
        );
        if (read.info.notAfter <= this.now()) {
          throw new AppError('OAUTH_CLIENT_CERTIFICATE_INVALID', `The certificate expired on ${new Date(read.info.notAfter).toISOString().slice(0, 10)}.`, {
            hint: 'Create a new certificate, upload its public part to the app registration > Certificates & secrets, and give Mailroom the new one.',
          });
        }
        secret = read.privateKeyPem;
        certificatePem = read.certificatePem;
        certificate = read.info;
      } else if (sameKind && current) {
        certificatePem = current.certificatePem;
        certificate = current.certificate;
      } else {
        throw new AppError('VALIDATION_FAILED', 'The certificate is missing.', {
          hint: 'Give the certificate with its private key: a .pfx file (with its password) or a PEM file (--certificate FILE).',
          issues: [{ path: 'certificatePem', message: 'is required: a .pfx or PEM file with the private key' }],
        });
      }
    }
    const secretExpiresAt =
      parsed.credential !== 'secret'
        ? null
        : parsed.secretExpiresOn !== undefined
          ? parsed.secretExpiresOn
          : secret === undefined
            ? (current?.secretExpiresAt ?? null)
            : null; // a new secret: the old one's date does not apply
    const secretExpirySource = secretExpiresAt === null ? null : parsed.secretExpiresOn !== undefined ? 'entered' : (current?.secretExpirySource ?? 'entered');
    const at = this.now();
    const appOnly = this.options.mailboxes.list().filter((m) => usesAppOnly(m));
    let released: number[] = [];
    this.options.db.transaction(() => {
      this.repo.save({
        tenant: parsed.tenant,
        clientId: parsed.clientId,
        authorityHost: parsed.authorityHost ?? current?.authorityHost ?? DEFAULT_AUTHORITY_HOST,
        credential: parsed.credential,
        secret,
        certificatePem,
        certificate,
        secretExpiresAt,
        secretExpirySource,
      });
      const outbox = new OutboxRepo(this.options.db);
      for (const m of appOnly) {
        this.options.secrets.remove(m.id, 'oauth-app-token-cache');
        released = released.concat(outbox.releaseSignInWait(m.id, at, 'due now: the app-only registration was saved'));
      }
    })();
    this.clients.clear();
    const saved = this.getSettings();
    this.options.log({
      direction: 'auth',
      level: 'info',
      message: `Microsoft 365 app-only registration saved (tenant ${saved.tenant}, client id ${saved.clientId}, ${saved.credential === 'secret' ? 'client secret' : `certificate ${saved.certificate?.thumbprintSha256 ?? ''}`}).`,
      detail: [saved.secretExpiry ? saved.secretExpiry.message : null, released.length ? `${released.length} outgoing message(s) that waited for it are due now.` : null].filter(Boolean).join('\n') || null,
    });
    for (const m of appOnly) this.options.events?.emit('oauth.changed', { mailboxId: m.id });
    if (released.length) this.options.events?.emit('outbox.changed', { ids: released, mailboxIds: appOnly.map((m) => m.id) });
    return saved;
  }

  /** Forgets the registration and every cached app token. */
  remove(): OAuthAppSettings {
    const appOnly = this.options.mailboxes.list().filter((m) => usesAppOnly(m));
    this.options.db.transaction(() => {
      this.repo.remove();
      for (const m of appOnly) this.options.secrets.remove(m.id, 'oauth-app-token-cache');
    })();
    this.clients.clear();
    this.options.log({ direction: 'auth', level: 'info', message: 'Microsoft 365 app-only registration removed: its secret or key is deleted.' });
    return this.getSettings();
  }

  /**
   * The expiry warning: from 30 days before the client secret or the certificate expires, a
   * warning entry in the log at most once a day (across processes: the day
   * is claimed in the store). Returns the expiry either way.
   */
  checkSecretExpiry(): SecretExpiry | null {
    const row = this.repo.get();
    if (!row) return null;
    const expiry = this.expiryOf(row);
    if (!expiry || expiry.state === 'ok') return expiry;
    if (this.repo.claimExpiryWarning(this.now(), DAY_MS)) {
      this.options.log({
        direction: 'auth',
        level: 'warning',
        code:
          expiry.credential === 'certificate'
            ? expiry.state === 'expired' ? 'OAUTH_CLIENT_CERTIFICATE_EXPIRED' : 'OAUTH_CLIENT_CERTIFICATE_EXPIRING'
            : expiry.state === 'expired' ? 'OAUTH_CLIENT_SECRET_EXPIRED' : 'OAUTH_CLIENT_SECRET_EXPIRING',
        message: expiry.message,
        detail: `Client id ${row.clientId}; expiry ${expiry.source === 'learned' ? 'learned from Microsoft (AADSTS7000222)' : expiry.source === 'certificate' ? `read from the certificate${row.certificate ? ` (SHA-1 thumbprint ${row.certificate.thumbprintSha1})` : ''}` : 'as entered'}.`,
      });
    }
    return expiry;
  }

  /** The secret and the private key in plaintext, only to scrub them out of anything that leaves the computer. */
  credentialsForScrubbing(): string[] {
    try {
      const value = this.repo.credential();
      if (!value) return [];
      // The key's base64 body lines too: a PEM can be re-wrapped or quoted line by line.
      const lines = value.includes('-----BEGIN') ? value.split(/\r?\n/).filter((l) => l.length >= 40 && !l.startsWith('-----')) : [];
      return [value, ...lines];
    } catch {
      return [];
    }
  }

  private requireRow(mailbox: Mailbox): OAuthAppRow {
    const row = this.repo.get();
    if (!row) {
      throw new AppError('OAUTH_NOT_CONFIGURED', `Mailbox "${mailbox.name}" signs in app-only, but the organisation's app-only registration is not set up in Mailroom.`, {
        hint: `Enter it on the mailbox (Mailboxes > ${mailbox.name} > App-only set-up) or with: ${APP_ONLY_COMMAND}. Mail waiting for it is sent at once after.`,
      });
    }
    if (row.credentialRequired) {
      throw new AppError(row.lastError?.code ?? 'OAUTH_CLIENT_SECRET_INVALID', row.lastError?.message ?? 'Microsoft refused the app-only credential.', {
        hint: `${row.lastError?.hint ?? 'Enter a new client secret or certificate.'} Then save it again (App-only set-up, or ${APP_ONLY_COMMAND}); waiting mail is sent at once.`,
      });
    }
    return row;
  }

  private credentialOf(row: OAuthAppRow): ConfidentialCredential {
    const value = this.repo.credential();
    if (!value) throw new AppError('OAUTH_NOT_CONFIGURED', 'The app-only credential is missing from the store.', { hint: `Enter it again: ${APP_ONLY_COMMAND}.` });
    if (row.credential === 'secret') return { kind: 'secret', clientSecret: value };
    return { kind: 'certificate', thumbprintSha256: row.certificate?.thumbprintSha256 ?? '', privateKeyPem: value, certificatePem: row.certificatePem ?? '' };
  }

  /**
   * An app-only token for a mailbox (from its sealed cache while valid).
   * Failures are judged as a confidential client's (AADSTS7000215 is a
   * wrong secret) and stored on the registration; one that needs a new
   * credential holds app-only mail until the credential is saved again.
   */
  async acquire(mailbox: Mailbox, forceRefresh: boolean): Promise<AppToken> {
    this.checkSecretExpiry();
    const row = this.requireRow(mailbox);
    const settings = { clientId: row.clientId, tenant: row.tenant, authorityHost: row.authorityHost };
    const key = `${row.clientId}|${authorityOf(settings)}|${row.generation}`;
    let cached = this.clients.get(mailbox.id);
    if (!cached || cached.key !== key) {
      const client = await confidentialMailboxClient(settings, this.credentialOf(row), this.options.fetch, this.options.requestTimeoutMs, this.options.secrets, mailbox.id, this.options.network);
      cached = { key, client };
      this.clients.set(mailbox.id, cached);
    }
    const started = this.now();
    let result: AuthenticationResult | null;
    try {
      result = await cached.client.acquireTokenByClientCredential({ scopes: [OAUTH_APP_SCOPE], skipCache: forceRefresh });
    } catch (error) {
      const networkFailure = this.options.network.since(started);
      const { error: classified, signInRequired } = classifyTokenError(error, { client: 'confidential', authorityHost: row.authorityHost, ...(networkFailure ? { networkFailure } : {}) });
      const at = this.now();
      this.options.db.transaction(() => {
        if (classified.code === 'OAUTH_CLIENT_SECRET_EXPIRED') this.repo.learnSecretExpired(at);
        this.repo.recordError(classified.toInfo(), signInRequired, at);
      })();
      this.options.log({
        mailboxId: mailbox.id,
        direction: 'auth',
        level: 'error',
        code: classified.code,
        message: `Getting an app-only token for ${mailbox.name} failed: ${classified.message}`,
        detail: [classified.hint ? `What to change: ${classified.hint}` : null, classified.detail ?? null, signInRequired ? 'Mail of the app-only mailboxes waits for a new credential and spends no tries.' : null].filter(Boolean).join('\n') || null,
      });
      for (const m of this.options.mailboxes.list().filter((x) => usesAppOnly(x))) this.options.events?.emit('oauth.changed', { mailboxId: m.id });
      throw classified;
    }
    if (!result?.accessToken) {
      throw new AppError('OAUTH_SIGN_IN_FAILED', 'Microsoft answered the app-only token request without a token.', { hint: 'Try again; check the app registration\'s API permissions and admin consent.' });
    }
    const hadError = row.lastError !== null;
    this.repo.recordToken(this.now());
    if (!result.fromCache) {
      this.options.log({
        mailboxId: mailbox.id,
        direction: 'auth',
        level: 'info',
        message: `App-only access token got for ${mailbox.name} (client id ${row.clientId})${result.expiresOn ? `, valid until ${result.expiresOn.toISOString()}` : ''}.`,
      });
    }
    if (!result.fromCache || hadError) this.options.events?.emit('oauth.changed', { mailboxId: mailbox.id });
    return { accessToken: result.accessToken, expiresAt: result.expiresOn ? result.expiresOn.getTime() : null, clientId: row.clientId, fromCache: Boolean(result.fromCache) };
  }

  /** Drops a mailbox's client (its cache stays sealed in the store). */
  forget(mailboxId: number): void {
    this.clients.delete(mailboxId);
  }
}
