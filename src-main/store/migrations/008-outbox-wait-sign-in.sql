-- Mail of a mailbox that needs a Microsoft sign-in waits in a status of its
-- own, 'waiting-sign-in': it spends no tries and grows no backoff, and the
-- sign-in makes it due at once. SQLite cannot change a CHECK constraint in
-- place, so outbox_messages is rebuilt (SQLite's documented 12-step way: the
-- runner applies migrations with foreign keys off and checks them before the
-- commit, so dropping the old table cascades to nothing), with the same
-- columns, rows and indexes.
CREATE TABLE outbox_messages_new (
  id                  INTEGER PRIMARY KEY,
  mailbox_id          INTEGER NOT NULL REFERENCES mailboxes(id) ON DELETE CASCADE,
  status              TEXT    NOT NULL CHECK (status IN ('queued', 'sending', 'sent', 'deferred', 'failed', 'cancelled', 'waiting-sign-in')),
  source              TEXT    NOT NULL CHECK (source IN ('compose', 'cli', 'eml', 'relay')),
  message_id          TEXT    NOT NULL,
  envelope_from       TEXT    NOT NULL,
  subject             TEXT    NOT NULL DEFAULT '',
  recipients_preview  TEXT    NOT NULL DEFAULT '',
  recipient_count     INTEGER NOT NULL,
  size                INTEGER NOT NULL,
  attempts            INTEGER NOT NULL DEFAULT 0,
  max_attempts        INTEGER NOT NULL,
  -- When the next try is due (queued, deferred); NULL once nothing more will
  -- be tried, and while the message waits for a sign-in.
  next_attempt_at     INTEGER,
  created_at          INTEGER NOT NULL,
  updated_at          INTEGER NOT NULL,
  sent_at             INTEGER,
  last_error_code     TEXT,
  last_error_message  TEXT,
  last_error_hint     TEXT,
  last_error_reply    TEXT,
  last_error_stage    TEXT,
  last_error_at       INTEGER,
  accepted_reply      TEXT,
  server_queue_id     TEXT,
  submitted_by        TEXT
) STRICT;

INSERT INTO outbox_messages_new (id, mailbox_id, status, source, message_id, envelope_from, subject, recipients_preview, recipient_count, size,
  attempts, max_attempts, next_attempt_at, created_at, updated_at, sent_at, last_error_code, last_error_message, last_error_hint,
  last_error_reply, last_error_stage, last_error_at, accepted_reply, server_queue_id, submitted_by)
SELECT id, mailbox_id, status, source, message_id, envelope_from, subject, recipients_preview, recipient_count, size,
  attempts, max_attempts, next_attempt_at, created_at, updated_at, sent_at, last_error_code, last_error_message, last_error_hint,
  last_error_reply, last_error_stage, last_error_at, accepted_reply, server_queue_id, submitted_by
FROM outbox_messages;

DROP TABLE outbox_messages;
ALTER TABLE outbox_messages_new RENAME TO outbox_messages;

CREATE INDEX outbox_due ON outbox_messages (mailbox_id, next_attempt_at, id) WHERE status IN ('queued', 'deferred');
CREATE INDEX outbox_by_status ON outbox_messages (status, id);
CREATE INDEX outbox_by_mailbox ON outbox_messages (mailbox_id, status, id);
CREATE INDEX outbox_by_created ON outbox_messages (created_at, id);

-- Messages deferred only because their mailbox needed a sign-in now wait for
-- it instead of for their next try (the sender makes them due at once if the
-- mailbox has signed in since).
INSERT INTO outbox_history (outbox_id, at, status, note)
SELECT id, CAST(unixepoch('subsec') * 1000 AS INTEGER), 'waiting-sign-in', 'waiting for a Microsoft sign-in (was deferred for ' || last_error_code || ')'
FROM outbox_messages
WHERE status = 'deferred' AND last_error_code IN ('OAUTH_SIGN_IN_REQUIRED', 'OAUTH_NOT_SIGNED_IN', 'OAUTH_NOT_CONFIGURED', 'OAUTH_CONSENT_REQUIRED', 'OAUTH_TENANT_NOT_FOUND');

UPDATE outbox_messages SET status = 'waiting-sign-in', next_attempt_at = NULL
WHERE status = 'deferred' AND last_error_code IN ('OAUTH_SIGN_IN_REQUIRED', 'OAUTH_NOT_SIGNED_IN', 'OAUTH_NOT_CONFIGURED', 'OAUTH_CONSENT_REQUIRED', 'OAUTH_TENANT_NOT_FOUND');
