/**
 * Secrets of mailboxes (passwords, token caches), stored only as ciphertext.
 */
import type { Db } from './db.js';
import { now } from './db.js';
import type { SecretBox } from './secret-box.js';

/**
 * Names of the secrets a mailbox can hold. `password` signs in to IMAP, and to
 * SMTP unless `smtp-password` (SMTP's own account or app password) is set.
 * `oauth-app-token-cache` holds the app-only (client credentials) tokens a mailbox uses.
 */
export type SecretName = 'password' | 'smtp-password' | 'oauth-token-cache' | 'oauth-app-token-cache';

export class SecretRepo {
  /** `box` is shared with the stores of organisation-wide secrets (the app-only credential). */
  constructor(private readonly db: Db, readonly box: SecretBox) {}

  private context(mailboxId: number, name: SecretName): string {
    return `mailroom/mailbox/${mailboxId}/${name}`;
  }

  set(mailboxId: number, name: SecretName, plaintext: string): void {
    const sealed = this.box.seal(plaintext, this.context(mailboxId, name));
    this.db
      .prepare(
        `INSERT INTO mailbox_secrets (mailbox_id, name, ciphertext, updated_at) VALUES (?, ?, ?, ?)
         ON CONFLICT (mailbox_id, name) DO UPDATE SET ciphertext = excluded.ciphertext, updated_at = excluded.updated_at`,
      )
      .run(mailboxId, name, sealed, now());
  }

  /** The plaintext secret, or undefined when none is stored. */
  get(mailboxId: number, name: SecretName): string | undefined {
    const row = this.db.prepare('SELECT ciphertext FROM mailbox_secrets WHERE mailbox_id = ? AND name = ?').get(mailboxId, name) as
      | { ciphertext: Buffer }
      | undefined;
    return row ? this.box.open(row.ciphertext, this.context(mailboxId, name)) : undefined;
  }

  /**
   * The password SMTP signs in with: SMTP's own (`smtp-password`) when set,
   * else the incoming one (`password`), so data folders from before SMTP had
   * a password of its own keep working unchanged.
   */
  smtpPassword(mailboxId: number): string | undefined {
    return this.get(mailboxId, 'smtp-password') ?? this.get(mailboxId, 'password');
  }

  has(mailboxId: number, name: SecretName): boolean {
    return this.db.prepare('SELECT 1 FROM mailbox_secrets WHERE mailbox_id = ? AND name = ?').get(mailboxId, name) !== undefined;
  }

  /**
   * Every stored secret in plaintext, for one purpose only: scrubbing them
   * out of anything that leaves the computer (diagnostics bundles).
   * Unreadable ones are skipped.
   */
  allPlaintexts(): string[] {
    const rows = this.db.prepare('SELECT mailbox_id, name, ciphertext FROM mailbox_secrets').all() as { mailbox_id: number; name: SecretName; ciphertext: Buffer }[];
    const out: string[] = [];
    for (const row of rows) {
      try {
        out.push(this.box.open(row.ciphertext, this.context(row.mailbox_id, row.name)));
      } catch {
        // A secret this key cannot open cannot leak through this computer either.
      }
    }
    return out;
  }

  remove(mailboxId: number, name: SecretName): void {
    this.db.prepare('DELETE FROM mailbox_secrets WHERE mailbox_id = ? AND name = ?').run(mailboxId, name);
  }
}
