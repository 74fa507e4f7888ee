-- Relay accounts choose which From their mail goes out with (issue 18 item 7):
-- 'keep' sends the application's own From unchanged (for a server that allows
-- it); 'mailbox' makes the mailbox's address the From and the application's
-- From the Reply-To. Existing accounts keep what they did: 'keep'.
ALTER TABLE relay_accounts ADD COLUMN from_mode TEXT NOT NULL DEFAULT 'keep' CHECK (from_mode IN ('keep', 'mailbox'));

-- An older Mailroom logged the user name of a refused relay sign-in as it
-- was typed, and an application may have sent its password there
-- (issue 12 item 6). Those names are removed; the refusal stays.
UPDATE log_entries
   SET message = 'Relay sign-in refused (the user name an older Mailroom logged here was removed: it may have been a password)'
 WHERE code = 'RELAY_AUTH_FAILED' AND message LIKE 'Relay sign-in refused for "%';
