-- Repeats of the same event (same mailbox, direction, level, code and message,
-- one after another) are one entry: how many times it happened, and when it
-- first did. `at` is the time of the last repeat; first_at is NULL on an entry
-- that happened once (its first time is `at`).
ALTER TABLE log_entries ADD COLUMN repeat_count INTEGER NOT NULL DEFAULT 1 CHECK (repeat_count >= 1);
ALTER TABLE log_entries ADD COLUMN first_at INTEGER;
