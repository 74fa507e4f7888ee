/**
 * The Graph client's pure parts: which Graph it talks to (global, a national
 * cloud by the sign-in host, MAILROOM_GRAPH_URL), and how a folder setting
 * becomes a Graph folder reference.
 */
import { describe, expect, it } from 'vitest';
import { GRAPH_BASE_URL, graphBaseUrl, wellKnownFolder } from '../../src-main/engine/graph/graph-client';

describe('graphBaseUrl', () => {
  it('is the global Graph by default, a national cloud\'s by its sign-in host, and MAILROOM_GRAPH_URL when set', () => {
    expect(graphBaseUrl({ env: {} })).toBe(GRAPH_BASE_URL);
    expect(graphBaseUrl({ env: {}, authorityHost: 'https://login.microsoftonline.com' })).toBe('https://graph.microsoft.com/v1.0');
    expect(graphBaseUrl({ env: {}, authorityHost: 'https://login.microsoftonline.us' })).toBe('https://graph.microsoft.us/v1.0');
    expect(graphBaseUrl({ env: {}, authorityHost: 'https://login.partner.microsoftonline.cn' })).toBe('https://microsoftgraph.chinacloudapi.cn/v1.0');
    expect(graphBaseUrl({ env: {}, authorityHost: 'not a url' })).toBe(GRAPH_BASE_URL);
    expect(graphBaseUrl({ env: { MAILROOM_GRAPH_URL: 'https://127.0.0.1:8443/v1.0/' }, authorityHost: 'https://login.microsoftonline.us' })).toBe('https://127.0.0.1:8443/v1.0');
  });
});

describe('wellKnownFolder', () => {
  it('maps the IMAP names of the standard folders to Graph\'s well-known names; other folders are looked up by name', () => {
    expect(wellKnownFolder('INBOX')).toBe('inbox');
    expect(wellKnownFolder('Sent Items')).toBe('sentitems');
    expect(wellKnownFolder('Junk Email')).toBe('junkemail');
    expect(wellKnownFolder('Deleted Items')).toBe('deleteditems');
    expect(wellKnownFolder('Archive')).toBe('archive');
    expect(wellKnownFolder('Tickets')).toBeNull();
    expect(wellKnownFolder('Inbox/Processed')).toBeNull();
  });
});
