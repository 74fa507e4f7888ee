/**
 * The mailboxes table. Rows map to the shared Mailbox type; secrets live in
 * mailbox_secrets and are only ever read through SecretRepo.
 */
import type { Db } from './db.js';
import { now } from './db.js';
import type { Mailbox } from '../shared/mailbox.js';
import { AppError } from '../shared/errors.js';

interface MailboxRow {
  id: number;
  name: string;
  address: string;
  enabled: number;
  preset: string;
  imap_host: string;
  imap_port: number;
  imap_security: string;
  imap_username: string;
  imap_auth: string;
  imap_folder: string;
  imap_after_import: string;
  imap_poll_seconds: number;
  smtp_host: string;
  smtp_port: number;
  smtp_security: string;
  smtp_username: string;
  smtp_auth: string;
  imap_app_only: number;
  smtp_app_only: number;
  receive_via: string;
  send_via: string;
  graph_save_to_sent: number;
  pop3_host: string | null;
  pop3_port: number | null;
  pop3_security: string | null;
  pop3_username: string | null;
  pop3_auth: string | null;
  pop3_after_import: string | null;
  created_at: number;
  updated_at: number;
  password_set: number;
  smtp_password_set: number;
}

/** Mailbox fields the repository writes (no id, timestamps or secrets). */
export type MailboxFields = Omit<Mailbox, 'id' | 'createdAt' | 'updatedAt' | 'passwordSet' | 'smtpPasswordSet'>;

const SELECT = `SELECT m.*,
  EXISTS (SELECT 1 FROM mailbox_secrets s WHERE s.mailbox_id = m.id AND s.name = 'password') AS password_set,
  EXISTS (SELECT 1 FROM mailbox_secrets s WHERE s.mailbox_id = m.id AND s.name = 'smtp-password') AS smtp_password_set
  FROM mailboxes m`;

function toMailbox(row: MailboxRow): Mailbox {
  return {
    id: row.id,
    name: row.name,
    address: row.address,
    enabled: row.enabled === 1,
    preset: row.preset as Mailbox['preset'],
    imap: {
      host: row.imap_host,
      port: row.imap_port,
      security: row.imap_security as Mailbox['imap']['security'],
      username: row.imap_username,
      // 'oauth2-app' is stored as oauth2 + imap_app_only (migration 010 keeps the old CHECK).
      auth: (row.imap_auth === 'oauth2' && row.imap_app_only === 1 ? 'oauth2-app' : row.imap_auth) as Mailbox['imap']['auth'],
      folder: row.imap_folder,
      afterImport: row.imap_after_import,
      pollIntervalSeconds: row.imap_poll_seconds,
    },
    smtp: {
      host: row.smtp_host,
      port: row.smtp_port,
      security: row.smtp_security as Mailbox['smtp']['security'],
      username: row.smtp_username,
      auth: (row.smtp_auth === 'oauth2' && row.smtp_app_only === 1 ? 'oauth2-app' : row.smtp_auth) as Mailbox['smtp']['auth'],
    },
    receiveVia: row.receive_via as Mailbox['receiveVia'],
    sendVia: row.send_via as Mailbox['sendVia'],
    pop3:
      row.pop3_host !== null && row.pop3_port !== null && row.pop3_security !== null && row.pop3_username !== null && row.pop3_auth !== null && row.pop3_after_import !== null
        ? {
            host: row.pop3_host,
            port: row.pop3_port,
            security: row.pop3_security as NonNullable<Mailbox['pop3']>['security'],
            username: row.pop3_username,
            auth: row.pop3_auth as NonNullable<Mailbox['pop3']>['auth'],
            afterImport: row.pop3_after_import as NonNullable<Mailbox['pop3']>['afterImport'],
          }
        : null,
    graph: { saveToSentItems: row.graph_save_to_sent === 1 },
    passwordSet: row.password_set === 1,
    smtpPasswordSet: row.smtp_password_set === 1,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

function toParams(m: MailboxFields) {
  return {
    name: m.name,
    address: m.address,
    enabled: m.enabled ? 1 : 0,
    preset: m.preset,
    imap_host: m.imap.host,
    imap_port: m.imap.port,
    imap_security: m.imap.security,
    imap_username: m.imap.username,
    imap_auth: m.imap.auth === 'oauth2-app' ? 'oauth2' : m.imap.auth,
    imap_app_only: m.imap.auth === 'oauth2-app' ? 1 : 0,
    imap_folder: m.imap.folder,
    imap_after_import: m.imap.afterImport,
    imap_poll_seconds: m.imap.pollIntervalSeconds,
    smtp_host: m.smtp.host,
    smtp_port: m.smtp.port,
    smtp_security: m.smtp.security,
    smtp_username: m.smtp.username,
    smtp_auth: m.smtp.auth === 'oauth2-app' ? 'oauth2' : m.smtp.auth,
    smtp_app_only: m.smtp.auth === 'oauth2-app' ? 1 : 0,
    receive_via: m.receiveVia,
    send_via: m.sendVia,
    graph_save_to_sent: m.graph.saveToSentItems ? 1 : 0,
    pop3_host: m.pop3?.host ?? null,
    pop3_port: m.pop3?.port ?? null,
    pop3_security: m.pop3?.security ?? null,
    pop3_username: m.pop3?.username ?? null,
    pop3_auth: m.pop3?.auth ?? null,
    pop3_after_import: m.pop3?.afterImport ?? null,
  };
}

const COLUMNS = [
  'name', 'address', 'enabled', 'preset',
  'imap_host', 'imap_port', 'imap_security', 'imap_username', 'imap_auth', 'imap_folder', 'imap_after_import', 'imap_poll_seconds',
  'smtp_host', 'smtp_port', 'smtp_security', 'smtp_username', 'smtp_auth',
  'imap_app_only', 'smtp_app_only',
  'receive_via', 'send_via', 'graph_save_to_sent',
  'pop3_host', 'pop3_port', 'pop3_security', 'pop3_username', 'pop3_auth', 'pop3_after_import',
] as const;

export class MailboxRepo {
  constructor(private readonly db: Db) {}

  list(): Mailbox[] {
    return (this.db.prepare(`${SELECT} ORDER BY m.name COLLATE NOCASE`).all() as MailboxRow[]).map(toMailbox);
  }

  get(id: number): Mailbox | undefined {
    const row = this.db.prepare(`${SELECT} WHERE m.id = ?`).get(id) as MailboxRow | undefined;
    return row && toMailbox(row);
  }

  findByName(name: string): Mailbox | undefined {
    const row = this.db.prepare(`${SELECT} WHERE m.name = ? COLLATE NOCASE`).get(name) as MailboxRow | undefined;
    return row && toMailbox(row);
  }

  /** Inserts a mailbox; a duplicate name raises CONFLICT. Returns the new id. */
  insert(fields: MailboxFields): number {
    const t = now();
    try {
      const info = this.db
        .prepare(`INSERT INTO mailboxes (${COLUMNS.join(', ')}, created_at, updated_at) VALUES (${COLUMNS.map((c) => '@' + c).join(', ')}, @t, @t)`)
        .run({ ...toParams(fields), t });
      return Number(info.lastInsertRowid);
    } catch (error) {
      throw this.mapConstraint(error, fields.name);
    }
  }

  /** Inserts a mailbox with a given id and timestamps (viewing an imported diagnostics bundle). */
  insertWithId(id: number, fields: MailboxFields, createdAt: number, updatedAt: number): void {
    this.db
      .prepare(`INSERT INTO mailboxes (id, ${COLUMNS.join(', ')}, created_at, updated_at) VALUES (@id, ${COLUMNS.map((c) => '@' + c).join(', ')}, @createdAt, @updatedAt)`)
      .run({ ...toParams(fields), id, createdAt, updatedAt });
  }

  /** Replaces a mailbox's fields. */
  update(id: number, fields: MailboxFields): void {
    try {
      this.db
        .prepare(`UPDATE mailboxes SET ${COLUMNS.map((c) => `${c} = @${c}`).join(', ')}, updated_at = @t WHERE id = @id`)
        .run({ ...toParams(fields), t: now(), id });
    } catch (error) {
      throw this.mapConstraint(error, fields.name);
    }
  }

  remove(id: number): boolean {
    return this.db.prepare('DELETE FROM mailboxes WHERE id = ?').run(id).changes > 0;
  }

  private mapConstraint(error: unknown, name: string): unknown {
    if (error instanceof Error && /UNIQUE constraint failed: mailboxes\.name/.test(error.message)) {
      return new AppError('CONFLICT', `A mailbox named "${name}" already exists.`, {
        hint: 'Choose another name, or edit the existing mailbox.',
        issues: [{ path: 'name', message: `"${name}" is already used by another mailbox` }],
      });
    }
    return error;
  }
}
