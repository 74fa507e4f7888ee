-- Receiving through Microsoft Graph (issue 16): per mailbox and folder, where
-- the folder's delta query stands, and which Graph message each imported
-- message was.
--
-- The link is Graph's own: the @odata.deltaLink of the last finished round
-- (what IMAP's last UID is to an IMAP folder), or the @odata.nextLink of a
-- round still being paged. It is written in the same transaction as the
-- messages of the page it follows, so a crash never skips a page or imports
-- one twice. A delta that Graph no longer knows (410 Gone, SyncStateNotFound)
-- is handled like a changed UIDVALIDITY: the link is cleared and the folder is
-- read again from its first message, and what is already stored is
-- recognised (by Graph id, else by content) and not imported twice.
--
-- Messages imported through Graph are inbox_messages rows like IMAP's, with
-- uid_validity -1 (IMAP's UIDVALIDITY is never negative) and uid a number
-- Mailroom gives them in import order (inbox_folders.last_uid is the last one).
CREATE TABLE graph_sync (
  mailbox_id   INTEGER NOT NULL REFERENCES mailboxes(id) ON DELETE CASCADE,
  -- The folder as the mailbox's settings name it (INBOX, Inbox/Processed).
  folder       TEXT    NOT NULL,
  -- Graph's id of that folder, when the link was made.
  folder_id    TEXT    NOT NULL,
  -- The URL the next poll starts from; NULL: a full round from the first message.
  link         TEXT,
  -- 1 when `link` is a deltaLink (the last round finished), 0 for a nextLink.
  round_done   INTEGER NOT NULL DEFAULT 0 CHECK (round_done IN (0, 1)),
  -- How many times Graph reset the delta of this folder.
  resets       INTEGER NOT NULL DEFAULT 0,
  updated_at   INTEGER NOT NULL,
  PRIMARY KEY (mailbox_id, folder)
) STRICT;

-- The Graph id of every message imported through Graph: dedupe by Graph id
-- (a message listed again, after a reset or because its read state changed,
-- is not fetched again), and the id the after-import action addresses.
CREATE TABLE graph_messages (
  inbox_message_id  INTEGER PRIMARY KEY REFERENCES inbox_messages(id) ON DELETE CASCADE,
  mailbox_id        INTEGER NOT NULL REFERENCES mailboxes(id) ON DELETE CASCADE,
  folder            TEXT    NOT NULL,
  graph_id          TEXT    NOT NULL
) STRICT;

CREATE UNIQUE INDEX graph_messages_by_graph_id ON graph_messages (mailbox_id, folder, graph_id);
