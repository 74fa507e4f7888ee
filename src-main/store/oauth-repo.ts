/**
 * The OAuth tables: the app registration (oauth_settings, one row) and each
 * mailbox's sign-in (oauth_accounts). Tokens are not here: they are sealed in
 * mailbox_secrets as 'oauth-token-cache' and only read through SecretRepo.
 */
import type { Db } from './db.js';
import { now } from './db.js';
import type { RedirectHost, StoredError } from '../shared/oauth.js';

/** The saved app registration. */
export interface OAuthSettingsRow {
  tenant: string;
  clientId: string;
  authorityHost: string;
  redirectHost: RedirectHost;
  updatedAt: number;
}

/** A mailbox's sign-in record. */
export interface OAuthAccountRow {
  mailboxId: number;
  state: 'signed-in' | 'sign-in-required';
  homeAccountId: string;
  username: string;
  displayName: string | null;
  tenantId: string | null;
  scopes: string[];
  clientId: string;
  authority: string;
  otherAccountAllowed: boolean;
  accessExpiresAt: number | null;
  signedInAt: number;
  lastRefreshAt: number | null;
  lastError: StoredError | null;
  updatedAt: number;
}

interface AccountRecord {
  mailbox_id: number;
  state: string;
  home_account_id: string;
  username: string;
  display_name: string | null;
  tenant_id: string | null;
  scopes: string;
  client_id: string;
  authority: string;
  other_account_allowed: number;
  access_expires_at: number | null;
  signed_in_at: number;
  last_refresh_at: number | null;
  last_error_code: string | null;
  last_error_message: string | null;
  last_error_hint: string | null;
  last_error_at: number | null;
  updated_at: number;
}

function toAccount(r: AccountRecord): OAuthAccountRow {
  return {
    mailboxId: r.mailbox_id,
    state: r.state as OAuthAccountRow['state'],
    homeAccountId: r.home_account_id,
    username: r.username,
    displayName: r.display_name,
    tenantId: r.tenant_id,
    scopes: r.scopes ? r.scopes.split(' ') : [],
    clientId: r.client_id,
    authority: r.authority,
    otherAccountAllowed: r.other_account_allowed === 1,
    accessExpiresAt: r.access_expires_at,
    signedInAt: r.signed_in_at,
    lastRefreshAt: r.last_refresh_at,
    lastError:
      r.last_error_code && r.last_error_message && r.last_error_at !== null
        ? { code: r.last_error_code, message: r.last_error_message, ...(r.last_error_hint ? { hint: r.last_error_hint } : {}), at: r.last_error_at }
        : null,
    updatedAt: r.updated_at,
  };
}

/** Reads and writes oauth_settings and oauth_accounts. */
export class OAuthRepo {
  constructor(private readonly db: Db) {}

  /** The saved app registration, or undefined before the admin saves one. */
  getSettings(): OAuthSettingsRow | undefined {
    const r = this.db.prepare('SELECT tenant, client_id, authority_host, redirect_host, updated_at FROM oauth_settings WHERE id = 1').get() as
      | { tenant: string; client_id: string; authority_host: string; redirect_host: RedirectHost; updated_at: number }
      | undefined;
    return r && { tenant: r.tenant, clientId: r.client_id, authorityHost: r.authority_host, redirectHost: r.redirect_host, updatedAt: r.updated_at };
  }

  saveSettings(s: Omit<OAuthSettingsRow, 'updatedAt'>): void {
    this.db
      .prepare(
        `INSERT INTO oauth_settings (id, tenant, client_id, authority_host, redirect_host, updated_at) VALUES (1, ?, ?, ?, ?, ?)
         ON CONFLICT (id) DO UPDATE SET tenant = excluded.tenant, client_id = excluded.client_id, authority_host = excluded.authority_host,
           redirect_host = excluded.redirect_host, updated_at = excluded.updated_at`,
      )
      .run(s.tenant, s.clientId, s.authorityHost, s.redirectHost, now());
  }

  getAccount(mailboxId: number): OAuthAccountRow | undefined {
    const r = this.db.prepare('SELECT * FROM oauth_accounts WHERE mailbox_id = ?').get(mailboxId) as AccountRecord | undefined;
    return r && toAccount(r);
  }

  /** Records a completed sign-in: replaces any earlier record of the mailbox. */
  saveSignIn(a: {
    mailboxId: number;
    homeAccountId: string;
    username: string;
    displayName: string | null;
    tenantId: string | null;
    scopes: string[];
    clientId: string;
    authority: string;
    otherAccountAllowed: boolean;
    accessExpiresAt: number | null;
  }): void {
    const t = now();
    this.db
      .prepare(
        `INSERT INTO oauth_accounts (mailbox_id, state, home_account_id, username, display_name, tenant_id, scopes, client_id, authority,
           other_account_allowed, access_expires_at, signed_in_at, last_refresh_at, last_error_code, last_error_message, last_error_hint, last_error_at, updated_at)
         VALUES (@mailboxId, 'signed-in', @homeAccountId, @username, @displayName, @tenantId, @scopes, @clientId, @authority,
           @other, @accessExpiresAt, @t, @t, NULL, NULL, NULL, NULL, @t)
         ON CONFLICT (mailbox_id) DO UPDATE SET state = 'signed-in', home_account_id = excluded.home_account_id, username = excluded.username,
           display_name = excluded.display_name, tenant_id = excluded.tenant_id, scopes = excluded.scopes, client_id = excluded.client_id,
           authority = excluded.authority, other_account_allowed = excluded.other_account_allowed, access_expires_at = excluded.access_expires_at,
           signed_in_at = excluded.signed_in_at, last_refresh_at = excluded.last_refresh_at, last_error_code = NULL, last_error_message = NULL,
           last_error_hint = NULL, last_error_at = NULL, updated_at = excluded.updated_at`,
      )
      .run({ ...a, scopes: a.scopes.join(' '), other: a.otherAccountAllowed ? 1 : 0, t });
  }

  /** Records a token obtained from the cache or by a refresh. */
  recordToken(mailboxId: number, token: { scopes: string[]; accessExpiresAt: number | null; refreshed: boolean }): void {
    const t = now();
    this.db
      .prepare(
        `UPDATE oauth_accounts SET state = 'signed-in', scopes = @scopes, access_expires_at = @exp,
           last_refresh_at = CASE WHEN @refreshed = 1 THEN @t ELSE last_refresh_at END,
           last_error_code = NULL, last_error_message = NULL, last_error_hint = NULL, last_error_at = NULL, updated_at = @t
         WHERE mailbox_id = @mailboxId`,
      )
      .run({ mailboxId, scopes: token.scopes.join(' '), exp: token.accessExpiresAt, refreshed: token.refreshed ? 1 : 0, t });
  }

  /** Records a failure; `signInRequired` moves the mailbox to the "sign in again" state. */
  recordError(mailboxId: number, error: { code: string; message: string; hint?: string }, signInRequired: boolean): void {
    const t = now();
    this.db
      .prepare(
        `UPDATE oauth_accounts SET state = CASE WHEN @required = 1 THEN 'sign-in-required' ELSE state END,
           last_error_code = @code, last_error_message = @message, last_error_hint = @hint, last_error_at = @t, updated_at = @t
         WHERE mailbox_id = @mailboxId`,
      )
      .run({ mailboxId, required: signInRequired ? 1 : 0, code: error.code, message: error.message, hint: error.hint ?? null, t });
  }

  removeAccount(mailboxId: number): boolean {
    return this.db.prepare('DELETE FROM oauth_accounts WHERE mailbox_id = ?').run(mailboxId).changes > 0;
  }
}
