/**
 * The Graph-shaped test peer itself (test/helpers/graph-peer.ts): tokens from
 * the test IdP are accepted only for Graph's audience with the right scp or
 * roles; sendMail with base64 MIME keeps the bytes; delta pages and delta
 * links; $value, PATCH, move and DELETE; the scripted faults. The engine's
 * tests rely on every behaviour asserted here.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGraphPeer, GRAPH_WWW_AUTHENTICATE, type GraphPeer } from '../helpers/graph-peer';
import { startTestIdp, type TestIdp } from '../helpers/oauth-idp';

const MAILBOX = 'support@contoso.test';
let idp: TestIdp;
let graph: GraphPeer;

beforeAll(async () => {
  idp = await startTestIdp({ user: { username: MAILBOX } });
  graph = await startGraphPeer({ idp });
  graph.addMailbox(MAILBOX);
}, 60_000);

afterAll(async () => {
  await graph?.stop();
  await idp?.stop();
});

const delegated = (scope = 'https://graph.microsoft.com/Mail.Send https://graph.microsoft.com/Mail.ReadWrite offline_access') =>
  idp.requestToken({ grant_type: 'password', username: MAILBOX, password: 'x', scope });
const appOnly = (scope = 'https://graph.microsoft.com/.default') => idp.requestToken({ grant_type: 'client_credentials', client_secret: idp.app.clientSecret, scope });

async function call(method: string, path: string, token: string | null, body?: string, headers: Record<string, string> = {}) {
  const response = await idp.fetch(path.startsWith('https://') ? path : `${graph.baseUrl}${path}`, {
    method,
    headers: { ...(token ? { Authorization: `Bearer ${token}` } : {}), ...headers },
    ...(body !== undefined ? { body } : {}),
  });
  const text = await response.text();
  let json: Record<string, any> | null = null;
  try {
    json = text ? (JSON.parse(text) as Record<string, any>) : null;
  } catch {
    json = null;
  }
  return { status: response.status, headers: response.headers, text, json };
}

const mime = (subject: string, from = MAILBOX) =>
  `From: Support <${from}>\r\nTo: customer@example.test\r\nSubject: ${subject}\r\nMessage-ID: <${subject.replace(/\W/g, '')}@mailroom.test>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nHällo ${subject}\r\n`;

describe('tokens', () => {
  it('accepts a delegated Graph token with Mail.Send and an app-only token with the roles', async () => {
    const user = await call('GET', `/users/${MAILBOX}`, await delegated());
    expect(user.status).toBe(200);
    expect(user.json?.userPrincipalName).toBe(MAILBOX);
    expect((await call('GET', '/me', await delegated())).status).toBe(200);
    expect((await call('GET', `/users/${MAILBOX}/mailFolders/inbox`, await appOnly())).status).toBe(200);
  });

  it('refuses a missing token, an Exchange token and a token without the scope, as Graph does', async () => {
    const none = await call('GET', `/users/${MAILBOX}/mailFolders/inbox`, null);
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toBe(GRAPH_WWW_AUTHENTICATE);
    expect(none.json?.error.code).toBe('InvalidAuthenticationToken');
    const exchange = await call('GET', `/users/${MAILBOX}/mailFolders/inbox`, await appOnly('https://outlook.office365.com/.default'));
    expect(exchange.status).toBe(401);
    expect(exchange.json?.error.message).toMatch(/Invalid audience/);
    const readOnly = await delegated('https://graph.microsoft.com/Mail.ReadWrite');
    const send = await call('POST', `/users/${MAILBOX}/sendMail`, readOnly, Buffer.from(mime('nope')).toString('base64'), { 'Content-Type': 'text/plain' });
    expect(send.status).toBe(403);
    expect(send.json?.error.code).toBe('ErrorAccessDenied');
    const forged = (await delegated()).split('.');
    forged[2] = forged[2]!.split('').reverse().join('');
    expect((await call('GET', '/me', forged.join('.'))).status).toBe(401);
  });

  it('an application access policy keeps the app out of other mailboxes', async () => {
    graph.addMailbox('ceo@contoso.test');
    graph.restrictApp(idp.clientId, [MAILBOX]);
    try {
      const refused = await call('GET', '/users/ceo@contoso.test/mailFolders/inbox', await appOnly());
      expect(refused.status).toBe(403);
      expect(refused.json?.error).toMatchObject({ code: 'ErrorAccessDenied', message: expect.stringContaining('[RAOP]') });
      expect((await call('GET', `/users/${MAILBOX}/mailFolders/inbox`, await appOnly())).status).toBe(200);
    } finally {
      graph.restrictApp(idp.clientId, null);
    }
  });
});

describe('sendMail', () => {
  it('takes base64 MIME as text/plain and keeps the bytes; the copy goes to Sent Items', async () => {
    const raw = mime('bytes');
    const before = graph.sent.length;
    const reply = await call('POST', `/users/${MAILBOX}/sendMail`, await delegated(), Buffer.from(raw, 'utf8').toString('base64'), { 'Content-Type': 'text/plain' });
    expect(reply.status).toBe(202);
    expect(reply.text).toBe('');
    const sent = graph.sent[before]!;
    expect(sent.format).toBe('mime');
    expect(sent.mime!.equals(Buffer.from(raw, 'utf8'))).toBe(true);
    expect(graph.folderMessages(MAILBOX, 'sentitems').some((m) => m.internetMessageId === '<bytes@mailroom.test>')).toBe(true);
  });

  it('takes JSON with saveToSentItems', async () => {
    const body = JSON.stringify({ message: { subject: 'json', body: { contentType: 'Text', content: 'x' }, toRecipients: [{ emailAddress: { address: 'a@example.test' } }] }, saveToSentItems: false });
    const reply = await call('POST', `/users/${MAILBOX}/sendMail`, await appOnly(), body, { 'Content-Type': 'application/json' });
    expect(reply.status).toBe(202);
    expect(graph.sent.at(-1)).toMatchObject({ format: 'json', saveToSentItems: false });
  });

  it('refuses bad base64, and a From the mailbox may not send as', async () => {
    const bad = await call('POST', `/users/${MAILBOX}/sendMail`, await delegated(), 'not base64 !!', { 'Content-Type': 'text/plain' });
    expect(bad.json?.error.code).toBe('ErrorMimeContentInvalidBase64String');
    const sendAs = await call('POST', `/users/${MAILBOX}/sendMail`, await delegated(), Buffer.from(mime('other', 'boss@contoso.test')).toString('base64'), { 'Content-Type': 'text/plain' });
    expect(sendAs.status).toBe(403);
    expect(sendAs.json?.error.code).toBe('ErrorSendAsDenied');
  });
});

describe('delta, $value and after-import actions', () => {
  it('pages with nextLink, ends with a deltaLink, and the deltaLink returns only what changed', async () => {
    graph.addMailbox('queue@contoso.test');
    const token = await appOnly();
    const ids = [1, 2, 3, 4, 5].map((n) => graph.deliver('queue@contoso.test', mime(`m${n}`, 'x@example.test')));
    let url = `/users/queue@contoso.test/mailFolders/inbox/messages/delta`;
    const seen: string[] = [];
    let deltaLink = '';
    for (let page = 0; page < 10 && !deltaLink; page++) {
      const reply = await call('GET', url, token, undefined, { Prefer: 'odata.maxpagesize=2' });
      expect(reply.status).toBe(200);
      seen.push(...(reply.json!.value as Array<{ id: string }>).map((m) => m.id));
      if (reply.json!['@odata.nextLink']) url = reply.json!['@odata.nextLink'] as string;
      else deltaLink = reply.json!['@odata.deltaLink'] as string;
    }
    expect(seen).toEqual(ids);
    expect(deltaLink).toMatch(/\$deltatoken=/);

    const sixth = graph.deliver('queue@contoso.test', mime('m6', 'x@example.test'));
    const next = await call('GET', deltaLink, token);
    expect((next.json!.value as Array<{ id: string }>).map((m) => m.id)).toEqual([sixth]);

    const raw = await call('GET', `/users/queue@contoso.test/messages/${encodeURIComponent(sixth)}/$value`, token);
    expect(raw.text).toBe(mime('m6', 'x@example.test'));

    expect((await call('PATCH', `/users/queue@contoso.test/messages/${encodeURIComponent(ids[0]!)}`, token, JSON.stringify({ isRead: true }), { 'Content-Type': 'application/json' })).json?.isRead).toBe(true);
    graph.addFolder('queue@contoso.test', 'Processed');
    const moved = await call('POST', `/users/queue@contoso.test/messages/${encodeURIComponent(ids[1]!)}/move`, token, JSON.stringify({ destinationId: graph.folder('queue@contoso.test', 'inbox') ? [...graph.mailboxes.get('queue@contoso.test')!.folders.values()].find((f) => f.displayName === 'Processed')!.id : '' }), { 'Content-Type': 'application/json' });
    expect(moved.status).toBe(201);
    expect(moved.json?.id).not.toBe(ids[1]);
    expect((await call('DELETE', `/users/queue@contoso.test/messages/${encodeURIComponent(ids[2]!)}`, token)).status).toBe(204);
    const found = await call('GET', `/users/queue@contoso.test/mailFolders?$filter=displayName eq 'Processed'`, token);
    expect(found.json?.value).toHaveLength(1);
  });

  it('a reset delta answers 410 SyncStateNotFound; a fresh round starts over', async () => {
    graph.addMailbox('reset@contoso.test');
    const token = await appOnly();
    graph.deliver('reset@contoso.test', mime('r1', 'x@example.test'));
    const first = await call('GET', '/users/reset@contoso.test/mailFolders/inbox/messages/delta', token);
    const link = first.json!['@odata.deltaLink'] as string;
    graph.resetDelta('reset@contoso.test');
    const gone = await call('GET', link, token);
    expect(gone.status).toBe(410);
    expect(gone.json?.error.code).toBe('SyncStateNotFound');
    const again = await call('GET', '/users/reset@contoso.test/mailFolders/inbox/messages/delta', token);
    expect(again.json!.value).toHaveLength(1);
  });
});

describe('faults', () => {
  it('scripted 429 and 503 carry Retry-After; 401 carries WWW-Authenticate', async () => {
    const token = await delegated();
    graph.throttle({ retryAfterSeconds: 7 });
    const throttled = await call('GET', `/users/${MAILBOX}/mailFolders/inbox`, token);
    expect(throttled.status).toBe(429);
    expect(throttled.headers.get('retry-after')).toBe('7');
    graph.throttle({ status: 503, retryAfterSeconds: 3 });
    expect((await call('GET', `/users/${MAILBOX}/mailFolders/inbox`, token)).status).toBe(503);
    graph.fail({ status: 401, headers: { 'WWW-Authenticate': `${GRAPH_WWW_AUTHENTICATE}, error="insufficient_claims"` } });
    const unauthorized = await call('GET', `/users/${MAILBOX}/mailFolders/inbox`, token);
    expect(unauthorized.headers.get('www-authenticate')).toContain('insufficient_claims');
    expect((await call('GET', `/users/${MAILBOX}/mailFolders/inbox`, token)).status).toBe(200);
  });

  it('an unlicensed mailbox and an unknown one answer as Exchange Online does', async () => {
    graph.addMailbox('nolicence@contoso.test', { licensed: false });
    const token = await appOnly();
    expect((await call('GET', '/users/nolicence@contoso.test', token)).json?.assignedLicenses).toEqual([]);
    expect((await call('GET', '/users/nolicence@contoso.test/mailFolders/inbox', token)).json?.error.code).toBe('MailboxNotEnabledForRESTAPI');
    expect((await call('GET', '/users/ghost@contoso.test', token)).json?.error.code).toBe('Request_ResourceNotFound');
    expect((await call('GET', '/users/ghost@contoso.test/mailFolders/inbox', token)).json?.error.code).toBe('ErrorInvalidUser');
  });

  it('records every request with its body and reply status', () => {
    const sends = graph.requestsOf('POST', '/sendMail');
    expect(sends.length).toBeGreaterThan(0);
    expect(sends.every((r) => r.status > 0 && r.body.length > 0)).toBe(true);
  });
});
