-- Results of connection tests, kept per mailbox (the newest 50 of each, and
-- the newest 50 ad-hoc ones with mailbox_id NULL). The result JSON is
-- already redacted: it never holds a password, token or SASL blob.
CREATE TABLE connection_tests (
  id              INTEGER PRIMARY KEY,
  run_id          TEXT    NOT NULL,
  mailbox_id      INTEGER REFERENCES mailboxes(id) ON DELETE CASCADE,
  protocol        TEXT    NOT NULL CHECK (protocol IN ('smtp', 'imap')),
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

-- History of one mailbox (or of the ad-hoc tests), newest first.
CREATE INDEX connection_tests_by_mailbox ON connection_tests (mailbox_id, id);
