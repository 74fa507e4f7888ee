-- The outbox: a durable queue of outgoing messages, one row per message.
-- Status changes are written to outbox_history (one row per transition),
-- each try to outbox_attempts, each envelope recipient to outbox_recipients.
CREATE TABLE outbox_messages (
  id                  INTEGER PRIMARY KEY,
  mailbox_id          INTEGER NOT NULL REFERENCES mailboxes(id) ON DELETE CASCADE,
  status              TEXT    NOT NULL CHECK (status IN ('queued', 'sending', 'sent', 'deferred', 'failed', 'cancelled')),
  source              TEXT    NOT NULL CHECK (source IN ('compose', 'cli', 'eml', 'relay')),
  -- The Message-ID header, fixed when the message is queued and the same on every try.
  message_id          TEXT    NOT NULL,
  envelope_from       TEXT    NOT NULL,
  subject             TEXT    NOT NULL DEFAULT '',
  -- The first recipients, for lists and text search; every one is in outbox_recipients.
  recipients_preview  TEXT    NOT NULL DEFAULT '',
  recipient_count     INTEGER NOT NULL,
  size                INTEGER NOT NULL,
  attempts            INTEGER NOT NULL DEFAULT 0,
  max_attempts        INTEGER NOT NULL,
  -- When the next try is due (queued, deferred); NULL once nothing more will be tried.
  next_attempt_at     INTEGER,
  created_at          INTEGER NOT NULL,
  updated_at          INTEGER NOT NULL,
  sent_at             INTEGER,
  -- The last failure: diagnosis code, summary, hint, the server's reply and the SMTP stage.
  last_error_code     TEXT,
  last_error_message  TEXT,
  last_error_hint     TEXT,
  last_error_reply    TEXT,
  last_error_stage    TEXT,
  last_error_at       INTEGER,
  -- The server's acceptance reply and the queue id it gave, once sent.
  accepted_reply      TEXT,
  server_queue_id     TEXT,
  -- Who queued it: the relay account, the CLI user, the screen.
  submitted_by        TEXT
) STRICT;

-- Due messages of a mailbox, oldest due first: the worker's claim query.
-- Every index here is updated on each status change, so there are only the
-- ones the screens and the worker read by.
CREATE INDEX outbox_due ON outbox_messages (mailbox_id, next_attempt_at, id) WHERE status IN ('queued', 'deferred');
CREATE INDEX outbox_by_status ON outbox_messages (status, id);
CREATE INDEX outbox_by_mailbox ON outbox_messages (mailbox_id, status, id);
CREATE INDEX outbox_by_created ON outbox_messages (created_at, id);

-- The MIME bytes, apart from the row so that lists never read them.
CREATE TABLE outbox_bodies (
  outbox_id  INTEGER PRIMARY KEY REFERENCES outbox_messages(id) ON DELETE CASCADE,
  raw        BLOB    NOT NULL
) STRICT;

-- Every envelope recipient and how the server answered for it.
CREATE TABLE outbox_recipients (
  outbox_id  INTEGER NOT NULL REFERENCES outbox_messages(id) ON DELETE CASCADE,
  position   INTEGER NOT NULL,
  address    TEXT    NOT NULL,
  status     TEXT    NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'accepted', 'deferred', 'rejected')),
  reply      TEXT,
  updated_at INTEGER,
  PRIMARY KEY (outbox_id, position)
) STRICT;

-- One row per status transition, with a note on why.
CREATE TABLE outbox_history (
  id         INTEGER PRIMARY KEY,
  outbox_id  INTEGER NOT NULL REFERENCES outbox_messages(id) ON DELETE CASCADE,
  at         INTEGER NOT NULL,
  status     TEXT    NOT NULL,
  note       TEXT
) STRICT;
CREATE INDEX outbox_history_by_message ON outbox_history (outbox_id, id);

-- One row per try: when, how it ended, the diagnosis. The redacted
-- transcript is kept for the last try only, and only when debug is on.
CREATE TABLE outbox_attempts (
  id           INTEGER PRIMARY KEY,
  outbox_id    INTEGER NOT NULL REFERENCES outbox_messages(id) ON DELETE CASCADE,
  number       INTEGER NOT NULL,
  started_at   INTEGER NOT NULL,
  finished_at  INTEGER NOT NULL,
  outcome      TEXT    NOT NULL CHECK (outcome IN ('sent', 'partial', 'deferred', 'failed')),
  code         TEXT,
  message      TEXT,
  hint         TEXT,
  reply        TEXT,
  stage        TEXT,
  transcript   TEXT
) STRICT;
CREATE INDEX outbox_attempts_by_message ON outbox_attempts (outbox_id, id);

-- Per-mailbox sending settings; a mailbox without a row uses the defaults.
CREATE TABLE outbox_settings (
  mailbox_id               INTEGER PRIMARY KEY REFERENCES mailboxes(id) ON DELETE CASCADE,
  max_attempts             INTEGER NOT NULL,
  first_retry_seconds      INTEGER NOT NULL,
  retry_factor             REAL    NOT NULL,
  max_retry_seconds        INTEGER NOT NULL,
  connections              INTEGER NOT NULL,
  messages_per_connection  INTEGER NOT NULL,
  timeout_seconds          INTEGER NOT NULL,
  debug                    INTEGER NOT NULL DEFAULT 0 CHECK (debug IN (0, 1)),
  updated_at               INTEGER NOT NULL
) STRICT;

-- The local submission relay: one settings row, and its accounts. Account
-- passwords are kept only as scrypt hashes: the relay checks them, it never
-- needs them back.
CREATE TABLE relay_settings (
  id                     INTEGER PRIMARY KEY CHECK (id = 1),
  enabled                INTEGER NOT NULL DEFAULT 0 CHECK (enabled IN (0, 1)),
  port                   INTEGER NOT NULL DEFAULT 2525,
  allow_unauthenticated  INTEGER NOT NULL DEFAULT 0 CHECK (allow_unauthenticated IN (0, 1)),
  max_message_bytes      INTEGER NOT NULL DEFAULT 36700160,
  tls_cert_pem           TEXT,
  -- The STARTTLS private key, sealed with the data key (AES-256-GCM).
  tls_key_sealed         BLOB,
  updated_at             INTEGER NOT NULL
) STRICT;

CREATE TABLE relay_accounts (
  id             INTEGER PRIMARY KEY,
  username       TEXT    NOT NULL COLLATE NOCASE UNIQUE,
  mailbox_id     INTEGER NOT NULL REFERENCES mailboxes(id) ON DELETE CASCADE,
  password_hash  TEXT    NOT NULL,
  created_at     INTEGER NOT NULL,
  updated_at     INTEGER NOT NULL,
  last_used_at   INTEGER
) STRICT;

-- Who runs the outbox: one process per data folder sends, so two never
-- send the same message. A lease with a heartbeat; a dead holder is replaced.
CREATE TABLE engine_lease (
  name          TEXT    PRIMARY KEY,
  holder        TEXT    NOT NULL,
  pid           INTEGER NOT NULL,
  host          TEXT    NOT NULL,
  runtime       TEXT    NOT NULL,
  acquired_at   INTEGER NOT NULL,
  heartbeat_at  INTEGER NOT NULL
) STRICT;
