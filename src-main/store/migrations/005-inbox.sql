-- Inbound mail: what each folder's import has reached, every message found
-- on the server (with its raw bytes), every poll, and each mailbox's receive
-- state as the help-desk system's mail filter records it.

-- Per mailbox and folder: the UIDVALIDITY seen last and the highest UID
-- below which every message is committed here. Advanced in the same
-- transaction as the messages, so a crash never skips or repeats one.
CREATE TABLE inbox_folders (
  mailbox_id    INTEGER NOT NULL REFERENCES mailboxes(id) ON DELETE CASCADE,
  folder        TEXT    NOT NULL,
  uid_validity  INTEGER NOT NULL,
  last_uid      INTEGER NOT NULL DEFAULT 0,
  updated_at    INTEGER NOT NULL,
  PRIMARY KEY (mailbox_id, folder)
) STRICT;

-- One poll of one mailbox: the receive log.
CREATE TABLE inbox_polls (
  id            INTEGER PRIMARY KEY,
  mailbox_id    INTEGER NOT NULL REFERENCES mailboxes(id) ON DELETE CASCADE,
  trigger       TEXT    NOT NULL CHECK (trigger IN ('schedule', 'idle', 'manual', 'debug', 'cli', 'start')),
  outcome       TEXT    NOT NULL DEFAULT 'running' CHECK (outcome IN ('running', 'ok', 'failed')),
  started_at    INTEGER NOT NULL,
  finished_at   INTEGER,
  folder        TEXT    NOT NULL,
  uid_validity  INTEGER,
  resynced      INTEGER NOT NULL DEFAULT 0 CHECK (resynced IN (0, 1)),
  fetched       INTEGER NOT NULL DEFAULT 0,
  imported      INTEGER NOT NULL DEFAULT 0,
  duplicates    INTEGER NOT NULL DEFAULT 0,
  failed        INTEGER NOT NULL DEFAULT 0,
  ms            INTEGER NOT NULL DEFAULT 0,
  code          TEXT,
  message       TEXT,
  hint          TEXT,
  -- JSON array of redacted transcript lines (Import with debug only).
  transcript    TEXT,
  -- The process that ran it: a 'running' poll whose process is gone was interrupted.
  pid           INTEGER
) STRICT;

CREATE INDEX inbox_polls_by_mailbox ON inbox_polls (mailbox_id, id);

-- Every message found on the server. Imported and failed ones own a raw
-- copy (inbox_raw); duplicates point at the message they repeat. Deleting a
-- mailbox keeps its messages (the server may no longer have them): they
-- keep the mailbox's name.
CREATE TABLE inbox_messages (
  id              INTEGER PRIMARY KEY,
  mailbox_id      INTEGER REFERENCES mailboxes(id) ON DELETE SET NULL,
  mailbox_name    TEXT,
  folder          TEXT    NOT NULL,
  uid_validity    INTEGER NOT NULL,
  uid             INTEGER NOT NULL,
  status          TEXT    NOT NULL CHECK (status IN ('imported', 'duplicate', 'failed')),
  -- Message-ID without angle brackets.
  message_id      TEXT,
  -- 'mid:<Message-ID>' or, without one, 'sha256:<hex of the raw bytes>'.
  -- Null for duplicates: the original holds the key.
  dedupe_key      TEXT,
  duplicate_of    INTEGER REFERENCES inbox_messages(id) ON DELETE SET NULL,
  from_text       TEXT,
  to_text         TEXT,
  cc_text         TEXT,
  subject         TEXT,
  sent_at         INTEGER,
  received_at     INTEGER,
  imported_at     INTEGER NOT NULL,
  size            INTEGER NOT NULL,
  attachment_count INTEGER NOT NULL DEFAULT 0,
  -- JSON array of { filename, contentType, size, disposition }.
  attachments     TEXT    NOT NULL DEFAULT '[]',
  -- JSON array of strings.
  warnings        TEXT    NOT NULL DEFAULT '[]',
  snippet         TEXT    NOT NULL DEFAULT '',
  error_code      TEXT,
  error           TEXT,
  action          TEXT    NOT NULL,
  action_state    TEXT    NOT NULL CHECK (action_state IN ('pending', 'done', 'failed', 'skipped')),
  action_error    TEXT,
  action_attempts INTEGER NOT NULL DEFAULT 0,
  handoff_state   TEXT    NOT NULL DEFAULT 'none' CHECK (handoff_state IN ('none', 'pending', 'written', 'failed')),
  handoff_path    TEXT,
  handoff_error   TEXT,
  handoff_attempts INTEGER NOT NULL DEFAULT 0,
  poll_id         INTEGER REFERENCES inbox_polls(id) ON DELETE SET NULL
) STRICT;

-- Dedupe by (mailbox, folder, UIDVALIDITY, UID): a message is recorded once.
CREATE UNIQUE INDEX inbox_messages_by_uid ON inbox_messages (mailbox_id, folder, uid_validity, uid);
-- Dedupe by Message-ID (or content): one stored copy per mailbox.
CREATE UNIQUE INDEX inbox_messages_by_dedupe_key ON inbox_messages (mailbox_id, dedupe_key) WHERE dedupe_key IS NOT NULL;
-- Keyset pages of the list: all, by mailbox, by status, by both.
CREATE INDEX inbox_messages_by_mailbox ON inbox_messages (mailbox_id, id);
CREATE INDEX inbox_messages_by_status ON inbox_messages (status, id);
CREATE INDEX inbox_messages_by_mailbox_status ON inbox_messages (mailbox_id, status, id);
-- Work left after a crash or a refusal: actions and handoffs to (re)try.
CREATE INDEX inbox_messages_pending_action ON inbox_messages (mailbox_id, folder, uid_validity) WHERE action_state IN ('pending', 'failed');
CREATE INDEX inbox_messages_pending_handoff ON inbox_messages (mailbox_id) WHERE handoff_state IN ('pending', 'failed');

-- The raw bytes of imported and failed messages, exactly as the server sent them.
CREATE TABLE inbox_raw (
  message_id  INTEGER PRIMARY KEY REFERENCES inbox_messages(id) ON DELETE CASCADE,
  raw         BLOB    NOT NULL
) STRICT;

-- Per mailbox: the receive state and the import settings.
CREATE TABLE inbox_state (
  mailbox_id            INTEGER PRIMARY KEY REFERENCES mailboxes(id) ON DELETE CASCADE,
  last_success_at       INTEGER,
  last_try_at           INTEGER,
  last_error_code       TEXT,
  last_error_message    TEXT,
  last_error_hint       TEXT,
  last_error_at         INTEGER,
  consecutive_failures  INTEGER NOT NULL DEFAULT 0,
  handoff_dir           TEXT
) STRICT;
