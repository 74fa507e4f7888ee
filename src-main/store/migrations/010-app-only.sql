-- Microsoft 365 app-only access (OAuth 2.0 client credentials) for shared mailboxes.

-- A mailbox signs in to IMAP or SMTP as the organisation's app registration when its
-- auth is 'oauth2' and this flag is set ('oauth2-app' in the settings). The CHECKs on
-- imap_auth/smtp_auth stay as they are: rebuilding mailboxes would cascade into every
-- table that references it.
ALTER TABLE mailboxes ADD COLUMN imap_app_only INTEGER NOT NULL DEFAULT 0 CHECK (imap_app_only IN (0, 1));
ALTER TABLE mailboxes ADD COLUMN smtp_app_only INTEGER NOT NULL DEFAULT 0 CHECK (smtp_app_only IN (0, 1));

-- The organisation's app-only registration (one row). The secret or the private key is
-- sealed (AES-256-GCM with the data key); the certificate's public part is not secret.
-- A PFX's password is never stored: the PFX is converted to PEM when it is entered.
CREATE TABLE oauth_app_settings (
  id                     INTEGER PRIMARY KEY CHECK (id = 1),
  tenant                 TEXT    NOT NULL,
  client_id              TEXT    NOT NULL,
  authority_host         TEXT    NOT NULL,
  credential             TEXT    NOT NULL CHECK (credential IN ('secret', 'certificate')),
  credential_sealed      BLOB    NOT NULL,
  certificate_pem        TEXT,
  thumbprint_sha256      TEXT,
  thumbprint_sha1        TEXT,
  certificate_subject    TEXT,
  certificate_not_before INTEGER,
  certificate_not_after  INTEGER,
  secret_expires_at      INTEGER,
  secret_expiry_source   TEXT    CHECK (secret_expiry_source IN ('entered', 'learned')),
  -- When the last expiry warning went to the log (at most one a day).
  expiry_warned_at       INTEGER,
  -- Bumped with every change of credential: mail that waited for it is released.
  generation             INTEGER NOT NULL DEFAULT 1,
  credential_required    INTEGER NOT NULL DEFAULT 0 CHECK (credential_required IN (0, 1)),
  last_error_code        TEXT,
  last_error_message     TEXT,
  last_error_hint        TEXT,
  last_error_at          INTEGER,
  last_token_at          INTEGER,
  updated_at             INTEGER NOT NULL
) STRICT;
