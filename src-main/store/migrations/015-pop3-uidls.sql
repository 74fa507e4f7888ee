-- POP3 import (issue 17): the messages of a POP3 mailbox that Mailroom has
-- stored, by the server's unique id (UIDL). POP3 numbers messages afresh in
-- every session, so the UIDL is the only stable name of a message: a message
-- whose UIDL is here is never downloaded again, also when it is left on the
-- server ("leave", the default).
--
-- A row is written in the same transaction as the message's inbox row (and
-- bytes), so a crash never stores a message without its UIDL or the other
-- way round. The message's inbox row is keyed by (mailbox, folder
-- 'INBOX (POP3)', uid_validity 0, uid = this row's id): POP3 has no
-- UIDVALIDITY, and IMAP's is never 0, so the two never meet.
CREATE TABLE pop3_uidls (
  id          INTEGER PRIMARY KEY,
  mailbox_id  INTEGER NOT NULL REFERENCES mailboxes(id) ON DELETE CASCADE,
  -- RFC 1939 allows 1 to 70 printable characters; a longer one from a careless server is kept as sent.
  uidl        TEXT    NOT NULL CHECK (length(uidl) BETWEEN 1 AND 1000),
  stored_at   INTEGER NOT NULL
) STRICT;

-- One row per mailbox and UIDL: a second process that downloaded the same message in parallel
-- finds it recorded and stores nothing.
CREATE UNIQUE INDEX pop3_uidls_by_uidl ON pop3_uidls (mailbox_id, uidl);
