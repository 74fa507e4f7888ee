-- Microsoft 365 OAuth 2.0: the app registration and each mailbox's sign-in.
-- The tokens themselves live only in mailbox_secrets ('oauth-token-cache'), encrypted.

-- The admin's own app registration (one row). Mailroom ships no client id.
CREATE TABLE oauth_settings (
  id              INTEGER PRIMARY KEY CHECK (id = 1),
  tenant          TEXT    NOT NULL,
  client_id       TEXT    NOT NULL,
  authority_host  TEXT    NOT NULL,
  redirect_host   TEXT    NOT NULL DEFAULT 'localhost' CHECK (redirect_host IN ('localhost', '127.0.0.1')),
  updated_at      INTEGER NOT NULL
) STRICT;

-- Per mailbox: who signed in, what was granted, and how the tokens are doing.
CREATE TABLE oauth_accounts (
  mailbox_id           INTEGER PRIMARY KEY REFERENCES mailboxes(id) ON DELETE CASCADE,
  state                TEXT    NOT NULL CHECK (state IN ('signed-in', 'sign-in-required')),
  home_account_id      TEXT    NOT NULL,
  username             TEXT    NOT NULL,
  display_name         TEXT,
  tenant_id            TEXT,
  scopes               TEXT    NOT NULL DEFAULT '',
  -- The registration that issued the tokens: another one needs a new sign-in.
  client_id            TEXT    NOT NULL,
  authority            TEXT    NOT NULL,
  other_account_allowed INTEGER NOT NULL DEFAULT 0 CHECK (other_account_allowed IN (0, 1)),
  access_expires_at    INTEGER,
  signed_in_at         INTEGER NOT NULL,
  last_refresh_at      INTEGER,
  last_error_code      TEXT,
  last_error_message   TEXT,
  last_error_hint      TEXT,
  last_error_at        INTEGER,
  updated_at           INTEGER NOT NULL
) STRICT;
