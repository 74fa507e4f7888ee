/**
 * Which protocol tests a mailbox's incoming side: POP3 for a mailbox that
 * receives over POP3, else IMAP (a mailbox that receives through Microsoft
 * Graph keeps its IMAP settings for the connection test). Imports nothing
 * from node or electron.
 */

/** The connection-test protocol of a mailbox's incoming side. */
export function incomingProtocolOf(mailbox: object): 'imap' | 'pop3' {
  return (mailbox as { receiveVia?: unknown }).receiveVia === 'pop3' ? 'pop3' : 'imap';
}
