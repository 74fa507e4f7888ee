-- Mailboxes and their encrypted secrets.
CREATE TABLE mailboxes (
  id                    INTEGER PRIMARY KEY,
  name                  TEXT    NOT NULL COLLATE NOCASE UNIQUE,
  address               TEXT    NOT NULL,
  enabled               INTEGER NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1)),
  preset                TEXT    NOT NULL DEFAULT 'generic',
  imap_host             TEXT    NOT NULL,
  imap_port             INTEGER NOT NULL,
  imap_security         TEXT    NOT NULL CHECK (imap_security IN ('tls', 'starttls', 'none')),
  imap_username         TEXT    NOT NULL,
  imap_auth             TEXT    NOT NULL CHECK (imap_auth IN ('password', 'oauth2')),
  imap_folder           TEXT    NOT NULL DEFAULT 'INBOX',
  imap_after_import     TEXT    NOT NULL DEFAULT 'mark-seen',
  imap_poll_seconds     INTEGER NOT NULL DEFAULT 60,
  smtp_host             TEXT    NOT NULL,
  smtp_port             INTEGER NOT NULL,
  smtp_security         TEXT    NOT NULL CHECK (smtp_security IN ('tls', 'starttls', 'none')),
  smtp_username         TEXT    NOT NULL,
  smtp_auth             TEXT    NOT NULL CHECK (smtp_auth IN ('password', 'oauth2', 'none')),
  created_at            INTEGER NOT NULL,
  updated_at            INTEGER NOT NULL
) STRICT;

-- Secrets are stored only as AES-256-GCM ciphertext bound to (mailbox_id, name).
CREATE TABLE mailbox_secrets (
  mailbox_id  INTEGER NOT NULL REFERENCES mailboxes(id) ON DELETE CASCADE,
  name        TEXT    NOT NULL,
  ciphertext  BLOB    NOT NULL,
  updated_at  INTEGER NOT NULL,
  PRIMARY KEY (mailbox_id, name)
) STRICT;

-- Small key/value settings of the app itself.
CREATE TABLE app_settings (
  key    TEXT PRIMARY KEY,
  value  TEXT NOT NULL
) STRICT;
