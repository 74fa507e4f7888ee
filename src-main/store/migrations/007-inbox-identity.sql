-- Imported messages are identified by what makes them the same message, never
-- by a header another message can reuse (issue 12: a different message with a
-- reused Message-ID was recorded as a duplicate, its bytes were not kept, and
-- the after-import action deleted it on the server).
--
-- - A message is a duplicate only when it is the same message: its content
--   key (SHA-256 of the bytes below the leading trace fields such as
--   Received and Delivered-To; see src-main/store/inbox-content.ts) equals
--   that of a stored message of the mailbox. Same content implies the same
--   Message-ID field. A different message reusing a Message-ID is imported
--   and points at the first one with that Message-ID.
-- - Every message keeps its own bytes, duplicates included: raw bytes move to
--   content-addressed storage (inbox_blobs, one row per distinct byte string,
--   shared by identical resends), referenced by inbox_messages.raw_sha256.
--
-- mailroom_raw_digest() and mailroom_content_key() are registered by db.ts
-- on every connection.

-- 1. Digests of every stored raw copy, computed once.
CREATE TEMP TABLE migrate_007_digests (
  message_id   INTEGER PRIMARY KEY,
  raw_sha256   TEXT NOT NULL,
  content_key  TEXT NOT NULL
) STRICT;
INSERT INTO migrate_007_digests (message_id, raw_sha256, content_key)
  SELECT message_id, mailroom_raw_digest(raw), mailroom_content_key(raw) FROM inbox_raw;

-- 2. The raw bytes, once per distinct byte string.
CREATE TABLE inbox_blobs (
  sha256  TEXT PRIMARY KEY NOT NULL CHECK (length(sha256) = 64),
  raw     BLOB NOT NULL
) STRICT;
INSERT OR IGNORE INTO inbox_blobs (sha256, raw)
  SELECT d.raw_sha256, r.raw FROM inbox_raw r JOIN migrate_007_digests d ON d.message_id = r.message_id ORDER BY r.message_id;

-- Null only for duplicates recorded before this migration (their bytes were never kept).
ALTER TABLE inbox_messages ADD COLUMN raw_sha256 TEXT REFERENCES inbox_blobs(sha256);
-- For a message whose Message-ID a different, earlier stored message of the mailbox also has: that message.
ALTER TABLE inbox_messages ADD COLUMN shares_message_id_with INTEGER REFERENCES inbox_messages(id) ON DELETE SET NULL;
UPDATE inbox_messages SET raw_sha256 = (SELECT d.raw_sha256 FROM migrate_007_digests d WHERE d.message_id = inbox_messages.id);

-- 3. The content key replaces the Message-ID key ('mid:<id>' / 'sha256:<hex of the bytes>').
DROP INDEX inbox_messages_by_dedupe_key;
ALTER TABLE inbox_messages RENAME COLUMN dedupe_key TO content_key;
UPDATE inbox_messages SET content_key = (SELECT d.content_key FROM migrate_007_digests d WHERE d.message_id = inbox_messages.id);

-- Messages without a Message-ID were keyed by their exact bytes: two copies that differ only in
-- their trace fields (a re-delivery) were both imported. They are the same message: the later
-- ones become duplicates of the first (each keeps its own bytes).
UPDATE inbox_messages
SET status = 'duplicate',
    duplicate_of = (
      SELECT MIN(o.id) FROM inbox_messages o
      WHERE o.mailbox_id = inbox_messages.mailbox_id AND o.content_key = inbox_messages.content_key AND o.status != 'duplicate'
    ),
    handoff_state = CASE WHEN handoff_state = 'written' THEN 'written' ELSE 'none' END
WHERE status != 'duplicate' AND content_key IS NOT NULL AND mailbox_id IS NOT NULL
  AND EXISTS (
    SELECT 1 FROM inbox_messages o
    WHERE o.mailbox_id = inbox_messages.mailbox_id AND o.content_key = inbox_messages.content_key AND o.status != 'duplicate' AND o.id < inbox_messages.id
  );

-- 4. Duplicates recorded before this migration have no bytes of their own. Those whose
-- after-import action has not run yet are still untouched on the server: they are forgotten and
-- the folder mark moves back below them, so the next poll downloads them again and decides under
-- the new rule (keeping their bytes before any action). An action never runs on them as they are.
UPDATE inbox_folders
SET last_uid = MIN(last_uid, (
  SELECT MIN(m.uid) - 1 FROM inbox_messages m
  WHERE m.mailbox_id = inbox_folders.mailbox_id AND m.folder = inbox_folders.folder AND m.uid_validity = inbox_folders.uid_validity
    AND m.status = 'duplicate' AND m.raw_sha256 IS NULL AND m.action_state IN ('pending', 'failed')
))
WHERE EXISTS (
  SELECT 1 FROM inbox_messages m
  WHERE m.mailbox_id = inbox_folders.mailbox_id AND m.folder = inbox_folders.folder AND m.uid_validity = inbox_folders.uid_validity
    AND m.status = 'duplicate' AND m.raw_sha256 IS NULL AND m.action_state IN ('pending', 'failed')
);
DELETE FROM inbox_messages
WHERE status = 'duplicate' AND raw_sha256 IS NULL AND action_state IN ('pending', 'failed')
  AND EXISTS (
    SELECT 1 FROM inbox_folders f
    WHERE f.mailbox_id = inbox_messages.mailbox_id AND f.folder = inbox_messages.folder AND f.uid_validity = inbox_messages.uid_validity
  );
-- The others (an older numbering of the folder, or a deleted mailbox) cannot be found again by UID.
UPDATE inbox_messages
SET action_state = 'skipped',
    action_error = 'Recorded as a duplicate by an earlier Mailroom without its own bytes, so the after-import action was not run; the message is still on the server.'
WHERE status = 'duplicate' AND raw_sha256 IS NULL AND action_state IN ('pending', 'failed');

-- 5. The per-message raw table is replaced by inbox_blobs.
DROP TABLE inbox_raw;
DROP TABLE migrate_007_digests;

-- One stored message per mailbox and content (duplicates point at it).
CREATE UNIQUE INDEX inbox_messages_by_content ON inbox_messages (mailbox_id, content_key) WHERE content_key IS NOT NULL AND status != 'duplicate';
-- The stored messages of a mailbox with a Message-ID (to mark a reused one).
CREATE INDEX inbox_messages_by_message_id ON inbox_messages (mailbox_id, message_id) WHERE message_id IS NOT NULL;
