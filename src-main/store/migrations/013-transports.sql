-- Transports per direction: a mailbox receives through IMAP, POP3 or Microsoft Graph and
-- sends through SMTP or Microsoft Graph. Existing mailboxes keep IMAP and SMTP.
ALTER TABLE mailboxes ADD COLUMN receive_via TEXT NOT NULL DEFAULT 'imap' CHECK (receive_via IN ('imap', 'pop3', 'graph'));
ALTER TABLE mailboxes ADD COLUMN send_via TEXT NOT NULL DEFAULT 'smtp' CHECK (send_via IN ('smtp', 'graph'));
ALTER TABLE mailboxes ADD COLUMN graph_save_to_sent INTEGER NOT NULL DEFAULT 1 CHECK (graph_save_to_sent IN (0, 1));

-- POP3 settings: NULL until POP3 is chosen once; kept when the mailbox goes back to IMAP.
-- All six are set together or not at all.
ALTER TABLE mailboxes ADD COLUMN pop3_host TEXT;
ALTER TABLE mailboxes ADD COLUMN pop3_port INTEGER CHECK (pop3_port IS NULL OR pop3_port BETWEEN 1 AND 65535);
ALTER TABLE mailboxes ADD COLUMN pop3_security TEXT CHECK (pop3_security IS NULL OR pop3_security IN ('tls', 'starttls', 'none'));
ALTER TABLE mailboxes ADD COLUMN pop3_username TEXT;
ALTER TABLE mailboxes ADD COLUMN pop3_auth TEXT CHECK (pop3_auth IS NULL OR pop3_auth IN ('password', 'oauth2', 'oauth2-app'));
ALTER TABLE mailboxes ADD COLUMN pop3_after_import TEXT CHECK (pop3_after_import IS NULL OR pop3_after_import IN ('leave', 'delete'));
