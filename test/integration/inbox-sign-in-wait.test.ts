/**
 * The inbox importer and a Microsoft 365 mailbox that needs a sign-in (issue
 * 13 item 11): against oauth2-mock-server over HTTPS and a Dovecot that takes
 * only its tokens. The background importer does not poll while nobody can
 * sign in (no error in the log every minute: one entry when it stops), and
 * resumes at once after the sign-in (one entry), importing the waiting mail.
 */
import crypto from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openMailroom, type Mailroom } from '../../src-main/engine/mailroom';
import { staticKeyProvider } from '../../src-main/store/secret-box';
import { startDovecot, type Dovecot } from '../helpers/dovecot';
import { startTestIdp, type TestIdp } from '../helpers/oauth-idp';
import { tempDir } from '../helpers/temp';

let idp: TestIdp;
let dovecot: Dovecot;
let engine: Mailroom | undefined;

beforeAll(async () => {
  idp = await startTestIdp();
  dovecot = await startDovecot({
    users: { 'support@contoso.test': crypto.randomBytes(12).toString('hex') },
    oauth2IntrospectionUrl: idp.introspectionUrl,
    messages: [{ user: 'support@contoso.test', raw: 'From: customer@example.test\r\nTo: support@contoso.test\r\nSubject: Printer on fire\r\nMessage-ID: <fire-1@example.test>\r\n\r\nHelp.\r\n' }],
  });
}, 60_000);

afterAll(async () => {
  await engine?.inbox.stop();
  engine?.close();
  await dovecot?.stop();
  await idp?.stop();
});

async function waitUntil(check: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

describe('a Microsoft 365 mailbox that needs a sign-in', () => {
  it('is not polled until someone signs in, with one log entry when polling stops and one when it resumes', async () => {
    engine = openMailroom({ dataDir: tempDir('mailroom-sign-in-wait-'), keyProvider: staticKeyProvider(crypto.randomBytes(32)), fetch: idp.fetch });
    const e = engine;
    e.oauth.saveSettings({ tenant: idp.tenantId, clientId: idp.clientId, authorityHost: idp.authorityHost, redirectHost: '127.0.0.1' });
    const m = e.mailboxes.create({
      name: 'Support',
      address: 'support@contoso.test',
      preset: 'microsoft365',
      imap: { host: '127.0.0.1', port: dovecot.port, security: 'none', pollIntervalSeconds: 10 },
      smtp: { host: '127.0.0.1', port: 25, security: 'none' },
    });
    e.inbox.start();
    const receive = () => e.log.query({ mailboxId: m.id, direction: 'receive' }, 100);
    await waitUntil(() => receive().some((l) => l.message.startsWith('Stopped polling')), 'the importer to stop for the sign-in');
    const stopped = receive().find((l) => l.message.startsWith('Stopped polling'))!;
    expect(stopped).toMatchObject({ level: 'warning', code: 'OAUTH_NOT_SIGNED_IN' });
    expect(stopped.detail).toContain('oauth login "Support"');
    expect(e.inbox.polls(m.id)).toEqual([]);
    expect(receive().filter((l) => l.level === 'error')).toEqual([]);

    // Sign in through the engine (what the app and the console do): polling resumes at once.
    const started = await e.oauth.beginSignIn({ mailboxId: m.id });
    const answer = await idp.authorize(started.url);
    await fetch(started.redirectUri, { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ code: answer.code!, state: answer.state! }).toString() });
    expect((await e.oauth.waitForSignIn(started.signInId)).state).toBe('succeeded');
    await waitUntil(() => e.inbox.states().find((s) => s.mailboxId === m.id)!.counts.imported === 1, 'the waiting mail to be imported');
    const entries = receive();
    expect(entries.filter((l) => l.message.startsWith('Stopped polling'))).toHaveLength(1);
    expect(entries.filter((l) => l.message.startsWith('Resumed polling'))).toMatchObject([{ level: 'info' }]);
    expect(entries.filter((l) => l.level === 'error')).toEqual([]);
  }, 90_000);
});
