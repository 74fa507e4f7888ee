/** The pure parts of the Microsoft Graph connection test: folder names, which sign-in it uses, which sides go through Graph. */
import { describe, expect, it } from 'vitest';
import { graphFolderPath, graphTestMessage } from '../../src-main/engine/connection-test/graph-probe';
import { graphSidesOf, graphSignIn } from '../../src-main/engine/connection-test/service';
import type { Mailbox } from '../../src-main/shared/mailbox';

const mailbox = (over: { imap?: string; smtp?: string; sendVia?: 'smtp' | 'graph'; receiveVia?: 'imap' | 'graph' | 'pop3' } = {}): Mailbox =>
  ({ id: 1, name: 'Support', address: 'support@contoso.test', imap: { auth: over.imap ?? 'oauth2' }, smtp: { auth: over.smtp ?? 'oauth2' }, sendVia: over.sendVia ?? 'smtp', receiveVia: over.receiveVia ?? 'imap' }) as never;

describe('graphFolderPath', () => {
  it('reads IMAP folder names as Graph reaches them: well-known names, and paths of display names under the inbox', () => {
    expect(graphFolderPath('INBOX')).toEqual({ wellKnown: 'inbox' });
    expect(graphFolderPath('')).toEqual({ wellKnown: 'inbox' });
    expect(graphFolderPath('Archive')).toEqual({ wellKnown: 'archive' });
    expect(graphFolderPath('INBOX/Support/Tickets')).toEqual({ path: ['inbox', 'Support', 'Tickets'] });
    expect(graphFolderPath('Help desk')).toEqual({ path: ['Help desk'] });
  });
});

describe('graphTestMessage', () => {
  it('is a small MIME message with CRLF line ends, From the mailbox, with a Message-ID of its domain', () => {
    const mime = graphTestMessage('support@contoso.test', 'you@example.test', new Date(Date.UTC(2026, 11, 3, 3, 0, 0)));
    expect(mime).toMatch(/^From: <support@contoso\.test>\r\nTo: <you@example\.test>\r\nSubject: Mailroom connection test \(Microsoft Graph\)\r\nDate: Thu, 03 Dec 2026 03:00:00 \+0000\r\nMessage-ID: <[0-9a-f-]+@contoso\.test>\r\n/);
    expect(mime).not.toMatch(/[^\r]\n/);
  });
});

describe('graphSignIn', () => {
  it('uses the side that goes through Graph, else any OAuth side; a password mailbox has none', () => {
    expect(graphSignIn(mailbox({ sendVia: 'graph', imap: 'password', smtp: 'oauth2-app' }))).toEqual({ side: 'smtp', kind: 'app' });
    expect(graphSignIn(mailbox({ receiveVia: 'graph', imap: 'oauth2', smtp: 'none' }))).toEqual({ side: 'imap', kind: 'delegated' });
    expect(graphSignIn(mailbox({ imap: 'password', smtp: 'oauth2' }))).toEqual({ side: 'smtp', kind: 'delegated' });
    expect(graphSignIn(mailbox({ imap: 'password', smtp: 'password' }))).toBeUndefined();
  });
});

describe('graphSidesOf', () => {
  it('names the directions of a test that go through Graph', () => {
    expect(graphSidesOf(mailbox({ sendVia: 'graph' }), 'both')).toEqual({ send: true, receive: false });
    expect(graphSidesOf(mailbox({ sendVia: 'graph' }), 'incoming')).toEqual({ send: false, receive: false });
    expect(graphSidesOf(mailbox({ sendVia: 'graph', receiveVia: 'graph' }), 'incoming')).toEqual({ send: false, receive: true });
    expect(graphSidesOf(mailbox({ receiveVia: 'pop3' }), 'both')).toEqual({ send: false, receive: false });
  });
});
