-- Mail-flow watch (issue 15): round-trip probes, their per-mailbox schedule,
-- and the last health state of each mailbox (so that every change of state
-- is logged once, whichever process notices it).

-- Per mailbox: the probe schedule (off until the admin turns it on).
CREATE TABLE probe_settings (
  mailbox_id         INTEGER PRIMARY KEY REFERENCES mailboxes(id) ON DELETE CASCADE,
  enabled            INTEGER NOT NULL DEFAULT 0 CHECK (enabled IN (0, 1)),
  interval_seconds   INTEGER NOT NULL DEFAULT 900,
  timeout_seconds    INTEGER NOT NULL DEFAULT 600,
  -- Where probes go; NULL: the mailbox's own address.
  target_address     TEXT,
  slow_threshold_ms  INTEGER NOT NULL DEFAULT 120000,
  updated_at         INTEGER NOT NULL
) STRICT;

-- One row per probe: the history the chart draws.
CREATE TABLE probes (
  id            INTEGER PRIMARY KEY,
  mailbox_id    INTEGER NOT NULL REFERENCES mailboxes(id) ON DELETE CASCADE,
  -- The value of the X-Mailroom-Probe header.
  token         TEXT    NOT NULL UNIQUE,
  trigger       TEXT    NOT NULL CHECK (trigger IN ('schedule', 'manual', 'cli')),
  target        TEXT    NOT NULL,
  status        TEXT    NOT NULL CHECK (status IN ('running', 'delivered', 'failed')),
  started_at    INTEGER NOT NULL,
  finished_at   INTEGER,
  send_ms       INTEGER,
  deliver_ms    INTEGER,
  total_ms      INTEGER,
  folder        TEXT,
  code          TEXT,
  message       TEXT,
  hint          TEXT,
  -- The process that runs it: a 'running' probe whose process is gone was interrupted.
  pid           INTEGER
) STRICT;
CREATE INDEX probes_by_mailbox ON probes (mailbox_id, id);
CREATE INDEX probes_by_started ON probes (started_at);

-- The last state each mailbox was seen in, and since when.
CREATE TABLE health_states (
  mailbox_id  INTEGER PRIMARY KEY REFERENCES mailboxes(id) ON DELETE CASCADE,
  state       TEXT    NOT NULL CHECK (state IN ('healthy', 'degraded', 'failing', 'sign-in-needed', 'disabled')),
  reason      TEXT    NOT NULL,
  since       INTEGER NOT NULL,
  updated_at  INTEGER NOT NULL
) STRICT;
