/**
 * The small pure pieces of the POP3 surfaces: how the screens name POP3 mail
 * (the maildrop "folder" the store keys POP3 rows by, the after-import
 * words), which protocol tests a mailbox's incoming side, and which sign-in
 * the token doctor reads for it.
 */
import { describe, expect, it } from 'vitest';
import { POP3_FOLDER } from '../../src-main/store/pop3-repo';
import { GRAPH_IMPORT_UID_VALIDITY, POP3_MAILDROP_FOLDER, afterImportWords, isPop3Folder, serverPlaceWords } from '../../src-main/shared/inbox';
import { GRAPH_UID_VALIDITY } from '../../src-main/store/graph-sync-repo';
import { describeAction } from '../../src-renderer/features/inbox/inbox-format';
import { incomingProtocolOf } from '../../src-main/shared/incoming';
import { mailboxSides } from '../../src-main/engine/auth/token-doctor';

describe('POP3 on the screens', () => {
  it('the maildrop folder is the same in the store and in what the screens read', () => {
    expect(POP3_MAILDROP_FOLDER).toBe(POP3_FOLDER);
    expect(isPop3Folder(POP3_FOLDER)).toBe(true);
    expect(isPop3Folder('INBOX')).toBe(false);
  });

  it('names where a message came from the same way for IMAP, POP3 and Graph (screens and CLI share the words)', () => {
    expect(GRAPH_IMPORT_UID_VALIDITY).toBe(GRAPH_UID_VALIDITY);
    expect(serverPlaceWords({ mailboxName: 'Support', folder: 'INBOX', uid: 17, uidValidity: 42 })).toEqual({ label: 'From folder', text: 'Support / INBOX · UID 17 · UIDVALIDITY 42' });
    expect(serverPlaceWords({ mailboxName: 'Support', folder: POP3_FOLDER, uid: 3, uidValidity: 0 })).toEqual({ label: 'Source', text: 'Support / POP3 maildrop · taken once by its UIDL' });
    expect(serverPlaceWords({ mailboxName: null, folder: 'INBOX', uid: 12, uidValidity: GRAPH_UID_VALIDITY }).text).toBe('(deleted mailbox) / INBOX · Graph message 12 (imported through Microsoft Graph)');
  });

  it('names the POP3 after-import actions', () => {
    expect(describeAction('leave')).toBe('Leave on the server');
    expect(describeAction('delete')).toBe('Delete from the server');
    expect(afterImportWords('leave')).toBe('left on the server');
  });

  it('tests the incoming side of a POP3 mailbox over POP3, of any other over IMAP', () => {
    const pop3 = { host: 'pop.example.test', port: 995, security: 'tls' as const, username: 'a@example.test', auth: 'password' as const, afterImport: 'leave' as const };
    expect(incomingProtocolOf({ receiveVia: 'pop3', pop3 })).toBe('pop3');
    expect(incomingProtocolOf({ receiveVia: 'imap', pop3 })).toBe('imap');
    expect(incomingProtocolOf({ receiveVia: 'graph', pop3: null })).toBe('imap');
  });

  it('the token doctor reads the incoming sign-in of a POP3 mailbox from its POP3 settings', () => {
    const imap = { host: 'outlook.office365.com', port: 993, security: 'tls' as const, username: 'a@example.test', auth: 'password' as const, folder: 'INBOX', afterImport: 'mark-seen', pollIntervalSeconds: 60 };
    const smtp = { host: 'smtp.office365.com', port: 587, security: 'starttls' as const, username: 'a@example.test', auth: 'password' as const };
    const pop3 = { host: 'outlook.office365.com', port: 995, security: 'tls' as const, username: 'a@example.test', auth: 'oauth2' as const, afterImport: 'leave' as const };
    expect(mailboxSides({ imap, smtp, receiveVia: 'pop3', pop3 })).toEqual({ imap: 'token', smtp: 'password' });
    expect(mailboxSides({ imap, smtp, receiveVia: 'imap', pop3 })).toEqual({ imap: 'password', smtp: 'password' });
  });
});
