-- One log over everything the engine does: sends, receives, polls, tests,
-- sign-ins, token refreshes, relay submissions, engine start and stop.
CREATE TABLE log_entries (
  id            INTEGER PRIMARY KEY,
  at            INTEGER NOT NULL,
  mailbox_id    INTEGER REFERENCES mailboxes(id) ON DELETE SET NULL,
  -- Kept so an entry still names its mailbox after the mailbox is deleted.
  mailbox_name  TEXT,
  direction     TEXT    NOT NULL CHECK (direction IN ('send', 'receive', 'test', 'auth', 'system')),
  level         TEXT    NOT NULL CHECK (level IN ('success', 'warning', 'error', 'info')),
  code          TEXT,
  message       TEXT    NOT NULL,
  detail        TEXT,
  ref_kind      TEXT,
  ref_id        INTEGER
) STRICT;

CREATE INDEX log_entries_by_mailbox   ON log_entries (mailbox_id, id);
CREATE INDEX log_entries_by_direction ON log_entries (direction, id);
CREATE INDEX log_entries_by_level     ON log_entries (level, id);
CREATE INDEX log_entries_by_code      ON log_entries (code, id);
CREATE INDEX log_entries_by_time      ON log_entries (at);
CREATE INDEX log_entries_by_ref       ON log_entries (ref_kind, ref_id);
