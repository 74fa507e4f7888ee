/**
 * The local relay's settings (one row) and accounts. Account passwords are
 * stored as scrypt hashes only: the relay checks them and never needs them
 * back, so not even the data key can recover them. The STARTTLS private key
 * is sealed with the data key.
 */
import type { Db } from './db.js';
import type { RelayAccount, RelayFromMode } from '../shared/outbox.js';

/** The stored relay settings. */
export interface RelaySettingsRow {
  enabled: boolean;
  port: number;
  allowUnauthenticated: boolean;
  maxMessageBytes: number;
  tlsCertPem: string | null;
  tlsKeySealed: Buffer | null;
}

/** An account with its hash, for the relay's own check only. */
export interface RelayAccountWithHash extends RelayAccount {
  passwordHash: string;
}

/** The defaults: off, port 2525, sign-in required, 35 MB. */
export const DEFAULT_RELAY_SETTINGS: RelaySettingsRow = {
  enabled: false,
  port: 2525,
  allowUnauthenticated: false,
  maxMessageBytes: 35 * 1024 * 1024,
  tlsCertPem: null,
  tlsKeySealed: null,
};

interface AccountRow {
  id: number;
  username: string;
  mailbox_id: number;
  mailbox_name: string;
  password_hash: string;
  from_mode: string;
  created_at: number;
  last_used_at: number | null;
}

function toAccount(r: AccountRow): RelayAccountWithHash {
  return {
    id: r.id,
    username: r.username,
    mailboxId: r.mailbox_id,
    mailboxName: r.mailbox_name,
    fromMode: r.from_mode === 'mailbox' ? 'mailbox' : 'keep',
    createdAt: r.created_at,
    lastUsedAt: r.last_used_at,
    passwordHash: r.password_hash,
  };
}

export class RelayRepo {
  constructor(private readonly db: Db) {}

  settings(): RelaySettingsRow {
    const row = this.db.prepare('SELECT * FROM relay_settings WHERE id = 1').get() as
      | { enabled: number; port: number; allow_unauthenticated: number; max_message_bytes: number; tls_cert_pem: string | null; tls_key_sealed: Buffer | null }
      | undefined;
    if (!row) return { ...DEFAULT_RELAY_SETTINGS };
    return {
      enabled: row.enabled === 1,
      port: row.port,
      allowUnauthenticated: row.allow_unauthenticated === 1,
      maxMessageBytes: row.max_message_bytes,
      tlsCertPem: row.tls_cert_pem,
      tlsKeySealed: row.tls_key_sealed,
    };
  }

  saveSettings(s: RelaySettingsRow, now: number): void {
    this.db
      .prepare(
        `INSERT INTO relay_settings (id, enabled, port, allow_unauthenticated, max_message_bytes, tls_cert_pem, tls_key_sealed, updated_at)
         VALUES (1, @enabled, @port, @allowUnauthenticated, @maxMessageBytes, @tlsCertPem, @tlsKeySealed, @now)
         ON CONFLICT (id) DO UPDATE SET enabled = excluded.enabled, port = excluded.port, allow_unauthenticated = excluded.allow_unauthenticated,
           max_message_bytes = excluded.max_message_bytes, tls_cert_pem = excluded.tls_cert_pem, tls_key_sealed = excluded.tls_key_sealed, updated_at = excluded.updated_at`,
      )
      .run({ ...s, enabled: s.enabled ? 1 : 0, allowUnauthenticated: s.allowUnauthenticated ? 1 : 0, now });
  }

  accounts(): RelayAccountWithHash[] {
    return (
      this.db
        .prepare('SELECT a.*, m.name AS mailbox_name FROM relay_accounts a JOIN mailboxes m ON m.id = a.mailbox_id ORDER BY a.username COLLATE NOCASE')
        .all() as AccountRow[]
    ).map(toAccount);
  }

  account(username: string): RelayAccountWithHash | undefined {
    const row = this.db.prepare('SELECT a.*, m.name AS mailbox_name FROM relay_accounts a JOIN mailboxes m ON m.id = a.mailbox_id WHERE a.username = ?').get(username) as AccountRow | undefined;
    return row && toAccount(row);
  }

  /** Adds an account or replaces the mailbox, password and From choice of an existing one. */
  upsertAccount(username: string, mailboxId: number, passwordHash: string, fromMode: RelayFromMode, now: number): void {
    this.db
      .prepare(
        `INSERT INTO relay_accounts (username, mailbox_id, password_hash, from_mode, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT (username) DO UPDATE SET mailbox_id = excluded.mailbox_id, password_hash = excluded.password_hash, from_mode = excluded.from_mode, updated_at = excluded.updated_at`,
      )
      .run(username, mailboxId, passwordHash, fromMode, now, now);
  }

  /** Changes the given fields of an account; false when no account has that name. */
  updateAccount(username: string, changes: { mailboxId?: number; passwordHash?: string; fromMode?: RelayFromMode }, now: number): boolean {
    const current = this.account(username);
    if (!current) return false;
    this.db
      .prepare('UPDATE relay_accounts SET mailbox_id = ?, password_hash = ?, from_mode = ?, updated_at = ? WHERE id = ?')
      .run(changes.mailboxId ?? current.mailboxId, changes.passwordHash ?? current.passwordHash, changes.fromMode ?? current.fromMode, now, current.id);
    return true;
  }

  removeAccount(username: string): boolean {
    return this.db.prepare('DELETE FROM relay_accounts WHERE username = ?').run(username).changes > 0;
  }

  touchAccount(id: number, now: number): void {
    this.db.prepare('UPDATE relay_accounts SET last_used_at = ? WHERE id = ?').run(now, id);
  }
}
