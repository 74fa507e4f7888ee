/**
 * The organisation's app-only registration (oauth_app_settings, one row):
 * tenant, client id, the credential (client secret or certificate private
 * key) sealed with the data key, the certificate's public facts, the
 * secret's expiry and the last failure. The sealed credential is only ever
 * opened through `credential()`.
 */
import type { Db } from './db.js';
import { now } from './db.js';
import type { SecretBox } from './secret-box.js';
import type { AppCertificateInfo, AppCredentialKind } from '../shared/oauth-app.js';
import type { StoredError } from '../shared/oauth.js';

const CONTEXT = 'mailroom/oauth-app/credential';

/** The row, without the sealed credential. */
export interface OAuthAppRow {
  tenant: string;
  clientId: string;
  authorityHost: string;
  credential: AppCredentialKind;
  certificatePem: string | null;
  certificate: AppCertificateInfo | null;
  secretExpiresAt: number | null;
  secretExpirySource: 'entered' | 'learned' | null;
  expiryWarnedAt: number | null;
  generation: number;
  credentialRequired: boolean;
  lastError: StoredError | null;
  lastTokenAt: number | null;
  updatedAt: number;
}

interface Record_ {
  tenant: string;
  client_id: string;
  authority_host: string;
  credential: string;
  certificate_pem: string | null;
  thumbprint_sha256: string | null;
  thumbprint_sha1: string | null;
  certificate_subject: string | null;
  certificate_not_before: number | null;
  certificate_not_after: number | null;
  secret_expires_at: number | null;
  secret_expiry_source: string | null;
  expiry_warned_at: number | null;
  generation: number;
  credential_required: number;
  last_error_code: string | null;
  last_error_message: string | null;
  last_error_hint: string | null;
  last_error_at: number | null;
  last_token_at: number | null;
  updated_at: number;
}

/** What saving writes. `sealedSecret` undefined keeps the stored one (same credential kind only). */
export interface OAuthAppSave {
  tenant: string;
  clientId: string;
  authorityHost: string;
  credential: AppCredentialKind;
  /** The client secret, or the certificate's private key PEM; undefined keeps the stored one. */
  secret: string | undefined;
  certificatePem: string | null;
  certificate: AppCertificateInfo | null;
  secretExpiresAt: number | null;
  secretExpirySource: 'entered' | 'learned' | null;
}

/** Reads and writes oauth_app_settings. */
export class OAuthAppRepo {
  /** Without a box it reads only the public columns (the sign-in state); `credential()` and `save()` need the box. */
  constructor(private readonly db: Db, private readonly box?: SecretBox) {}

  private sealer(): SecretBox {
    if (!this.box) throw new Error('OAuthAppRepo opened without a SecretBox');
    return this.box;
  }

  get(): OAuthAppRow | undefined {
    const r = this.db.prepare('SELECT * FROM oauth_app_settings WHERE id = 1').get() as Record_ | undefined;
    if (!r) return undefined;
    return {
      tenant: r.tenant,
      clientId: r.client_id,
      authorityHost: r.authority_host,
      credential: r.credential as AppCredentialKind,
      certificatePem: r.certificate_pem,
      certificate:
        r.thumbprint_sha256 && r.certificate_not_after !== null
          ? {
              thumbprintSha256: r.thumbprint_sha256,
              thumbprintSha1: r.thumbprint_sha1 ?? '',
              subject: r.certificate_subject ?? '',
              notBefore: r.certificate_not_before ?? 0,
              notAfter: r.certificate_not_after,
            }
          : null,
      secretExpiresAt: r.secret_expires_at,
      secretExpirySource: (r.secret_expiry_source as 'entered' | 'learned' | null) ?? null,
      expiryWarnedAt: r.expiry_warned_at,
      generation: r.generation,
      credentialRequired: r.credential_required === 1,
      lastError:
        r.last_error_code && r.last_error_message && r.last_error_at !== null
          ? { code: r.last_error_code, message: r.last_error_message, ...(r.last_error_hint ? { hint: r.last_error_hint } : {}), at: r.last_error_at }
          : null,
      lastTokenAt: r.last_token_at,
      updatedAt: r.updated_at,
    };
  }

  /** True when a sealed credential of this kind is stored. */
  hasCredential(kind: AppCredentialKind): boolean {
    return this.db.prepare('SELECT 1 FROM oauth_app_settings WHERE id = 1 AND credential = ?').get(kind) !== undefined;
  }

  /** The client secret or the private key PEM: a secret, for msal only. */
  credential(): string | undefined {
    const r = this.db.prepare('SELECT credential_sealed FROM oauth_app_settings WHERE id = 1').get() as { credential_sealed: Buffer } | undefined;
    return r ? this.sealer().open(r.credential_sealed, CONTEXT) : undefined;
  }

  /** Saves the registration; a new credential clears the last failure and bumps the generation. */
  save(s: OAuthAppSave): void {
    const t = now();
    const current = this.db.prepare('SELECT credential_sealed FROM oauth_app_settings WHERE id = 1').get() as { credential_sealed: Buffer } | undefined;
    const sealed = s.secret !== undefined ? this.sealer().seal(s.secret, CONTEXT) : current?.credential_sealed;
    if (!sealed) throw new Error('No credential to store');
    this.db
      .prepare(
        `INSERT INTO oauth_app_settings (id, tenant, client_id, authority_host, credential, credential_sealed, certificate_pem, thumbprint_sha256, thumbprint_sha1,
           certificate_subject, certificate_not_before, certificate_not_after, secret_expires_at, secret_expiry_source, expiry_warned_at, generation,
           credential_required, last_error_code, last_error_message, last_error_hint, last_error_at, last_token_at, updated_at)
         VALUES (1, @tenant, @clientId, @authorityHost, @credential, @sealed, @certificatePem, @sha256, @sha1, @subject, @notBefore, @notAfter,
           @expiresAt, @expirySource, NULL, 1, 0, NULL, NULL, NULL, NULL, NULL, @t)
         ON CONFLICT (id) DO UPDATE SET tenant = excluded.tenant, client_id = excluded.client_id, authority_host = excluded.authority_host,
           credential = excluded.credential, credential_sealed = excluded.credential_sealed, certificate_pem = excluded.certificate_pem,
           thumbprint_sha256 = excluded.thumbprint_sha256, thumbprint_sha1 = excluded.thumbprint_sha1, certificate_subject = excluded.certificate_subject,
           certificate_not_before = excluded.certificate_not_before, certificate_not_after = excluded.certificate_not_after,
           secret_expires_at = excluded.secret_expires_at, secret_expiry_source = excluded.secret_expiry_source, expiry_warned_at = NULL,
           generation = generation + 1, credential_required = 0, last_error_code = NULL, last_error_message = NULL, last_error_hint = NULL,
           last_error_at = NULL, updated_at = excluded.updated_at`,
      )
      .run({
        tenant: s.tenant,
        clientId: s.clientId,
        authorityHost: s.authorityHost,
        credential: s.credential,
        sealed,
        certificatePem: s.certificatePem,
        sha256: s.certificate?.thumbprintSha256 ?? null,
        sha1: s.certificate?.thumbprintSha1 ?? null,
        subject: s.certificate?.subject ?? null,
        notBefore: s.certificate?.notBefore ?? null,
        notAfter: s.certificate?.notAfter ?? null,
        expiresAt: s.secretExpiresAt,
        expirySource: s.secretExpirySource,
        t,
      });
  }

  /** Records a token got: clears the last failure. */
  recordToken(at: number): void {
    this.db
      .prepare('UPDATE oauth_app_settings SET last_token_at = ?, credential_required = 0, last_error_code = NULL, last_error_message = NULL, last_error_hint = NULL, last_error_at = NULL WHERE id = 1')
      .run(at);
  }

  /** Records a failure; `credentialRequired` holds app-only mail until the credential changes. */
  recordError(error: { code: string; message: string; hint?: string }, credentialRequired: boolean, at: number): void {
    this.db
      .prepare(
        `UPDATE oauth_app_settings SET credential_required = CASE WHEN @required = 1 THEN 1 ELSE credential_required END,
           last_error_code = @code, last_error_message = @message, last_error_hint = @hint, last_error_at = @at WHERE id = 1`,
      )
      .run({ required: credentialRequired ? 1 : 0, code: error.code, message: error.message, hint: error.hint ?? null, at });
  }

  /** Learns the secret's expiry from Microsoft's AADSTS7000222 when the admin did not enter one. */
  learnSecretExpired(at: number): void {
    this.db.prepare("UPDATE oauth_app_settings SET secret_expires_at = ?, secret_expiry_source = 'learned' WHERE id = 1 AND credential = 'secret' AND (secret_expires_at IS NULL OR secret_expires_at > ?)").run(at, at);
  }

  /** Marks the expiry warning as logged at `at`; false when one was logged less than a day ago (another process may have). */
  claimExpiryWarning(at: number, minIntervalMs: number): boolean {
    return (
      this.db
        .prepare('UPDATE oauth_app_settings SET expiry_warned_at = @at WHERE id = 1 AND (expiry_warned_at IS NULL OR expiry_warned_at <= @cutoff)')
        .run({ at, cutoff: at - minIntervalMs }).changes > 0
    );
  }

  remove(): boolean {
    return this.db.prepare('DELETE FROM oauth_app_settings WHERE id = 1').run().changes > 0;
  }
}
