-- Connection tests of POP3 mailboxes (issue 17): the history keeps them like
-- SMTP and IMAP tests. SQLite cannot change a CHECK constraint in place, so
-- the table is rebuilt (foreign keys are off while migrations run) with every
-- row, id and the index kept.
CREATE TABLE connection_tests_new (
  id              INTEGER PRIMARY KEY,
  run_id          TEXT    NOT NULL,
  mailbox_id      INTEGER REFERENCES mailboxes(id) ON DELETE CASCADE,
  protocol        TEXT    NOT NULL CHECK (protocol IN ('smtp', 'imap', 'pop3')),
  host            TEXT    NOT NULL,
  port            INTEGER NOT NULL,
  security        TEXT    NOT NULL CHECK (security IN ('tls', 'starttls', 'none')),
  ok              INTEGER NOT NULL CHECK (ok IN (0, 1)),
  cancelled       INTEGER NOT NULL DEFAULT 0 CHECK (cancelled IN (0, 1)),
  diagnosis_code  TEXT,
  started_at      INTEGER NOT NULL,
  duration_ms     INTEGER NOT NULL,
  result_json     TEXT    NOT NULL
) STRICT;

INSERT INTO connection_tests_new (id, run_id, mailbox_id, protocol, host, port, security, ok, cancelled, diagnosis_code, started_at, duration_ms, result_json)
  SELECT id, run_id, mailbox_id, protocol, host, port, security, ok, cancelled, diagnosis_code, started_at, duration_ms, result_json FROM connection_tests;

DROP TABLE connection_tests;
ALTER TABLE connection_tests_new RENAME TO connection_tests;

-- History of one mailbox (or of the ad-hoc tests), newest first.
CREATE INDEX connection_tests_by_mailbox ON connection_tests (mailbox_id, id);
