/**
 * Which protocol tests a mailbox's incoming side: POP3 for a mailbox that
 * receives over POP3, else IMAP (a mailbox that receives through Microsoft
 * Graph keeps its IMAP settings for the connection test). Imports nothing
 * from node or electron.
 */

import type { Mailbox } from './mailbox.js';

/** The connection-test protocol of a mailbox's incoming side. */
export function incomingProtocolOf(mailbox: Pick<Mailbox, 'receiveVia' | 'pop3'>): 'imap' | 'pop3' {
  return mailbox.receiveVia === 'pop3' && mailbox.pop3 ? 'pop3' : 'imap';
}
