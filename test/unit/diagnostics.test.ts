/** Diagnostics bundles: contents, no secret in any encoding, read back, read-only viewing. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { openMailroom, type Mailroom } from '../../src-main/engine/mailroom';
import { staticKeyProvider } from '../../src-main/store/secret-box';
import { SecretRepo } from '../../src-main/store/secret-repo';
import { SecretBox } from '../../src-main/store/secret-box';
import { readBundle } from '../../src-main/engine/diagnostics/bundle';
import { scrubText, secretFragments } from '../../src-main/engine/diagnostics/scrub';
import { createSession, allowedInBundleView, type Session } from '../../src-main/ipc/session';
import { CHANGING_CHANNELS, READING_CHANNELS } from '../../src-main/shared/read-only';
import { contract, channelNames } from '../../src-main/shared/contract/index';
import { tempDir } from '../helpers/temp';
import { seedLog } from '../helpers/log-seed';
import { OAuthRepo } from '../../src-main/store/oauth-repo';
import { unzip } from '../helpers/unzip';
import { InboxRepo } from '../../src-main/store/inbox-repo';

const KEY = crypto.randomBytes(32);
let engine: Mailroom;
let dir: string;

/** Every way a secret could show up in a file. */
function forms(secret: string): Buffer[] {
  const b = Buffer.from(secret, 'utf8');
  return [b, Buffer.from(secret, 'utf16le'), Buffer.from(b.toString('base64')), Buffer.from(b.toString('base64url')), Buffer.from(b.toString('hex')), Buffer.from(encodeURIComponent(secret))];
}

beforeEach(() => {
  dir = tempDir();
  engine = openMailroom({ dataDir: dir, keyProvider: staticKeyProvider(KEY) });
});
afterEach(() => engine.close());

describe('a bundle made from a store full of secrets', () => {
  const secrets: string[] = ['Pa55-word-Support!', 'gmail-app-pw-abcd efgh', 'eyJhbGciOiJSUzI1NiJ9.access-token-value.sig', '0.refresh-token-value-AQABAAAAAAD'];
  let bundlePath: string;

  beforeEach(async () => {
    const a = engine.mailboxes.create({ name: 'Support', address: 'support@example.test', imap: { host: 'imap.example.test' }, smtp: { host: 'smtp.example.test' }, password: secrets[0] });
    const b = engine.mailboxes.create({ name: 'Gmail', address: 'desk@gmail.com', password: secrets[1] });
    new SecretRepo(engine.db, new SecretBox(staticKeyProvider(KEY))).set(a.id, 'oauth-token-cache', JSON.stringify({ AccessToken: { x: { secret: secrets[2] } }, RefreshToken: { y: { secret: secrets[3] } } }));
    seedLog(engine, 500, [a.id, b.id, null]);
    // A bug elsewhere once logged a secret: the bundle must still not carry it.
    engine.log.write({ mailboxId: a.id, direction: 'send', level: 'error', message: `AUTH PLAIN failed for ${secrets[0]}`, detail: Buffer.from(`\0support\0${secrets[0]}`).toString('base64') });
    engine.log.write({ direction: 'auth', level: 'info', message: `token ${secrets[2]}`, detail: encodeURIComponent(secrets[3]!) });
    const result = await engine.diagnostics.createBundle(path.join(dir, 'exports', 'bundle.zip'), { runtime: 'console' });
    bundlePath = result.path;
    expect(result.manifest.secretsScrubbed).toBeGreaterThan(0);
  });

  it('holds the manifest, the summary page, the sections and the log', async () => {
    const files = await unzip(bundlePath);
    expect([...files.keys()].sort()).toEqual(['logs.jsonl', 'manifest.json', 'sections/mailboxes.json', 'summary.html'].concat([...files.keys()].filter((k) => k.startsWith('sections/') && k !== 'sections/mailboxes.json')).sort());
    const manifest = JSON.parse(files.get('manifest.json')!.toString());
    expect(manifest).toMatchObject({ format: 'mailroom-diagnostics', version: 1, logEntries: 502 });
    expect(manifest.app.node).toBe(process.versions.node);
    const mailboxes = JSON.parse(files.get('sections/mailboxes.json')!.toString());
    expect(mailboxes.map((m: { name: string }) => m.name).sort()).toEqual(['Gmail', 'Support']);
    expect(mailboxes[0]).toHaveProperty('passwordSet', true);
    const html = files.get('summary.html')!.toString();
    expect(html).toContain('<h1>Mailroom diagnostics</h1>');
    expect(html).toContain('SMTP_AUTH_DISABLED');
    expect(html).not.toMatch(/<script/i);
  });

  it('summarizes every section in words, never as raw JSON (issue 13: outbox counts were shown as JSON)', async () => {
    const html = (await unzip(bundlePath)).get('summary.html')!.toString();
    expect(html).toContain('Messages by status: 0 queued, 0 sending, 0 sent, 0 deferred, 0 failed, 0 cancelled');
    // JSON in the page text would be escaped as &quot;: neither a quoted key nor a brace-quote pair may appear.
    const text = html.replace(/<[^>]+>/g, ' ');
    expect(text).not.toMatch(/\{\s*(&quot;|")|(&quot;|")\w+(&quot;|")\s*:/);
  });

  it('contains none of the secrets, in any encoding, in any file or in the raw zip', async () => {
    const files = await unzip(bundlePath);
    const everything = [...files.values(), fs.readFileSync(bundlePath)];
    for (const secret of secrets) {
      for (const form of forms(secret)) {
        for (const content of everything) expect(content.includes(form), `found ${secret} as ${form.toString().slice(0, 20)}`).toBe(false);
      }
    }
  });

  it('reads back, validated', async () => {
    const bundle = await readBundle(fs.readFileSync(bundlePath));
    expect(bundle.logs).toHaveLength(502);
    expect(bundle.manifest.sections).toContain('mailboxes');
  });
});

describe('reading bad bundles', () => {
  it('refuses a file that is not a zip, a zip without a manifest, and a newer format', async () => {
    await expect(readBundle(Buffer.from('not a zip at all'))).rejects.toMatchObject({ code: 'BUNDLE_INVALID' });
    const yazl = (await import('yazl')).default;
    const make = async (files: Record<string, string>) => {
      const zip = new yazl.ZipFile();
      for (const [name, text] of Object.entries(files)) zip.addBuffer(Buffer.from(text), name);
      zip.end();
      const chunks: Buffer[] = [];
      for await (const c of zip.outputStream) chunks.push(c as Buffer);
      return Buffer.concat(chunks);
    };
    await expect(readBundle(await make({ 'other.txt': 'x' }))).rejects.toMatchObject({ code: 'BUNDLE_INVALID', message: expect.stringContaining('manifest.json is missing') });
    await expect(readBundle(await make({ 'manifest.json': JSON.stringify({ format: 'mailroom-diagnostics', version: 99 }) }))).rejects.toMatchObject({ code: 'BUNDLE_TOO_NEW' });
    await expect(readBundle(await make({ 'manifest.json': '{ broken' }))).rejects.toMatchObject({ code: 'BUNDLE_INVALID' });
  });
});

describe('scrubbing', () => {
  it('replaces a secret in plain, JSON-escaped, base64 and hex forms', () => {
    const s = 'se"cr\\et-123';
    const text = [s, JSON.stringify(s), Buffer.from(s).toString('base64'), Buffer.from(s).toString('hex')].join(' | ');
    const { text: out, count } = scrubText(text, [s]);
    expect(count).toBe(4);
    expect(out).not.toContain('cr');
  });
});

describe('viewing a bundle read-only', () => {
  let session: Session;
  const ctx = { transport: 'console' as const };

  beforeEach(() => {
    session = createSession(engine, { runtime: 'console' });
  });
  afterEach(() => session.close());

  it('shows the bundle in the same channels, refuses changes, and leaves the admin data untouched', async () => {
    engine.mailboxes.create({ name: 'Mine', address: 'mine@gmail.com', password: 'my-own-secret' });
    const other = openMailroom({ dataDir: tempDir(), keyProvider: staticKeyProvider(crypto.randomBytes(32)) });
    const theirs = other.mailboxes.create({ name: 'Theirs', address: 'theirs@gmail.com' });
    other.log.write({ mailboxId: theirs.id, direction: 'receive', level: 'error', code: 'AUTH_FAILED', message: 'Poll failed' });
    const made = await other.diagnostics.createBundle(path.join(dir, 'theirs.zip'), { runtime: 'cli' });
    other.close();

    engine.db.pragma('wal_checkpoint(TRUNCATE)');
    const dbBefore = crypto.createHash('sha256').update(fs.readFileSync(path.join(dir, 'mailroom.db'))).digest('hex');
    const opened = await session.router.invoke('diagnostics.importBundle', { fileName: 'theirs.zip', dataBase64: fs.readFileSync(made.path).toString('base64') }, ctx);
    expect(opened).toMatchObject({ ok: true, value: { mode: 'bundle', bundle: { fileName: 'theirs.zip' } } });

    const list = await session.router.invoke('mailboxes.list', {}, ctx);
    expect(list.ok && (list.value as { name: string }[]).map((m) => m.name)).toEqual(['Theirs']);
    const logs = await session.router.invoke('logs.query', {}, ctx);
    expect(logs.ok && (logs.value as { entries: { code: string }[] }).entries.map((e) => e.code)).toEqual(['AUTH_FAILED']);
    const create = await session.router.invoke('mailboxes.create', { name: 'X', address: 'x@gmail.com' }, ctx);
    expect(create).toMatchObject({ ok: false, error: { code: 'READ_ONLY_VIEW' } });

    const closed = await session.router.invoke('diagnostics.closeBundle', {}, ctx);
    expect(closed).toMatchObject({ ok: true, value: { mode: 'live' } });
    const mine = await session.router.invoke('mailboxes.list', {}, ctx);
    expect(mine.ok && (mine.value as { name: string }[]).map((m) => m.name)).toEqual(['Mine']);
    engine.db.pragma('wal_checkpoint(TRUNCATE)');
    const dbAfter = crypto.createHash('sha256').update(fs.readFileSync(path.join(dir, 'mailroom.db'))).digest('hex');
    expect(dbAfter).toBe(dbBefore);
  });

  it('classifies every channel: only reading channels run against a bundle', () => {
    const names = channelNames(contract);
    const allowed = names.filter(allowedInBundleView);
    expect(allowed).toContain('mailboxes.list');
    expect(allowed).toContain('logs.query');
    for (const blocked of ['mailboxes.create', 'mailboxes.update', 'mailboxes.remove', 'mailboxes.importSettings', 'logs.export', 'logs.prune', 'logs.setRetention', 'diagnostics.export']) {
      if (names.includes(blocked)) expect(allowedInBundleView(blocked), blocked).toBe(false);
    }
    for (const name of allowed) expect(name).toMatch(/\.(info|list|get|presets|exportSettings|history|query|tail|retention|versions|checklist|registrySql|states|polls|poll|raw|status|health|counts|settings|settingsGet|signInStatus|engineState|relaySettings|overview|probes|probeSettings|firstImportNeeded|appSettingsGet|report)$/);
  });

  it('holds every channel of the contract to one list: reading (runs on a bundle) or changing (refused, and its controls disabled)', () => {
    const names = channelNames(contract).filter((n) => !n.startsWith('diagnostics.'));
    const unclassified = names.filter((n) => READING_CHANNELS.has(n) === CHANGING_CHANNELS.has(n));
    expect(unclassified, 'add each to READING_CHANNELS or CHANGING_CHANNELS in src-main/shared/read-only.ts').toEqual([]);
    expect([...READING_CHANNELS, ...CHANGING_CHANNELS].filter((n) => !names.includes(n)), 'no longer in the contract').toEqual([]);
    // The counters and states the screens show are reading channels (the Outbox counters stayed at "..." when they were refused).
    for (const reading of ['outbox.counts', 'outbox.engineState', 'outbox.settings', 'outbox.relaySettings', 'oauth.settingsGet', 'inbox.states']) expect(allowedInBundleView(reading), reading).toBe(true);
  });
});

describe('the sign-in section', () => {
  const TENANT = '7d2f1c4e-8a9b-4c3d-9e1f-0a1b2c3d4e5f';
  const CLIENT = '0b7c1a2d-1234-4cde-8f90-1a2b3c4d5e6f';

  /** Support needs a sign-in again (a revoked refresh token) after its inbox last polled fine; Sales is signed in. */
  async function bundleWithSignIns(): Promise<{ files: Map<string, Buffer>; supportId: number }> {
    engine.oauth.saveSettings({ tenant: TENANT, clientId: CLIENT });
    const support = engine.mailboxes.create({ name: 'Support', address: 'support@contoso.test', preset: 'microsoft365' });
    const sales = engine.mailboxes.create({ name: 'Sales', address: 'sales@contoso.test', preset: 'microsoft365' });
    const repo = new OAuthRepo(engine.db);
    for (const m of [support, sales]) {
      repo.saveSignIn({ mailboxId: m.id, homeAccountId: `uid.${TENANT}`, username: m.address, displayName: null, tenantId: TENANT, scopes: ['https://outlook.office.com/SMTP.Send'], clientId: CLIENT, authority: `https://login.microsoftonline.com/${TENANT}`, otherAccountAllowed: false, accessExpiresAt: Date.now() + 3_600_000 });
    }
    // The inbox's last poll worked; since then the refresh token was revoked.
    const inbox = new InboxRepo(engine.db);
    inbox.recordFailure(support.id, Date.now() - 60_000, 'OAUTH_SIGN_IN_REQUIRED', 'Microsoft no longer accepts the stored sign-in.', 'Sign in again.');
    inbox.recordSuccess(support.id, Date.now() - 30_000);
    repo.recordError(support.id, { code: 'OAUTH_SIGN_IN_REQUIRED', message: 'Microsoft no longer accepts the stored sign-in: it was revoked.', hint: 'Sign in again.' }, true);
    await engine.outbox.compose({ mailboxId: support.id, to: ['customer@example.net'], subject: 'Waits', text: 'x' });
    const made = await engine.diagnostics.createBundle(path.join(dir, 'sign-in.zip'), { runtime: 'console' });
    return { files: await unzip(made.path), supportId: support.id };
  }

  it('holds each mailbox\'s sign-in: signed in or needed since when, last refresh, last error, what waits', async () => {
    const { files, supportId } = await bundleWithSignIns();
    const section = JSON.parse(files.get('sections/sign-in.json')!.toString());
    expect(section.registration).toMatchObject({ configured: true, authorityHost: 'https://login.microsoftonline.com', tenant: '7d2f...4e5f', clientId: '0b7c...5e6f' });
    const support = section.mailboxes.find((m: { mailboxId: number }) => m.mailboxId === supportId);
    expect(support).toMatchObject({ state: 'sign-in-required', signInNeeded: { code: 'OAUTH_SIGN_IN_REQUIRED' }, lastError: { code: 'OAUTH_SIGN_IN_REQUIRED' }, waitingMessages: 1, tenantId: '7d2f...4e5f' });
    expect(support.signInNeeded.since).toBeGreaterThan(0);
    expect(section.mailboxes.find((m: { mailboxName: string }) => m.mailboxName === 'Sales')).toMatchObject({ state: 'signed-in', signInNeeded: null, account: 'sales@contoso.test' });
  });

  it('shortens the tenant and client id in every file, and the summary never calls a mailbox that needs a sign-in healthy', async () => {
    const { files } = await bundleWithSignIns();
    for (const [name, bytes] of files) {
      for (const id of [TENANT, CLIENT]) expect(bytes.includes(Buffer.from(id)), `${id} in ${name}`).toBe(false);
    }
    expect(files.get('logs.jsonl')!.toString()).toContain('tenant 7d2f...4e5f, client id 0b7c...5e6f');
    const html = files.get('summary.html')!.toString();
    expect(html).toContain('Microsoft 365 sign-in (per mailbox');
    expect(html).toMatch(/Support: SIGN-IN NEEDED since \d{4}-\d\d-\d\dT[^<]*OAUTH_SIGN_IN_REQUIRED[^<]*1 outgoing message wait/);
    expect(html).toMatch(/Sales: signed in as sales@contoso\.test since/);
    expect(html).toMatch(/<li>Support: sign-in needed \(OAUTH_SIGN_IN_REQUIRED since [^)]*\): nothing is imported until someone signs in<\/li>/);
    for (const line of html.split('<li>')) if (/OAUTH_SIGN_IN_REQUIRED/.test(line)) expect(line).not.toMatch(/\bhealthy\b/);
  });

  it('shows "Sign-in needed" in the read-only view of the bundle', async () => {
    const { files } = await bundleWithSignIns();
    const viewer = openMailroom({ dataDir: tempDir(), keyProvider: staticKeyProvider(crypto.randomBytes(32)) });
    const session = createSession(viewer, { runtime: 'console' });
    const bundlePath = path.join(dir, 'sign-in-view.zip');
    const zip = new (await import('yazl')).default.ZipFile();
    for (const [name, bytes] of files) zip.addBuffer(bytes, name);
    zip.end();
    const chunks: Buffer[] = [];
    for await (const c of zip.outputStream) chunks.push(c as Buffer);
    fs.writeFileSync(bundlePath, Buffer.concat(chunks));
    const ctx = { transport: 'console' as const };
    await session.router.invoke('diagnostics.importBundle', { fileName: 'sign-in-view.zip', dataBase64: fs.readFileSync(bundlePath).toString('base64') }, ctx);
    const states = await session.router.invoke('oauth.states', {}, ctx);
    expect(states.ok).toBe(true);
    const byName = new Map(((states as { value: { mailboxId: number; state: string; needed: { code: string } | null }[] }).value).map((s) => [s.mailboxId, s]));
    expect([...byName.values()].map((s) => [s.state, s.needed?.code ?? null]).sort()).toEqual([
      ['sign-in-required', 'OAUTH_SIGN_IN_REQUIRED'],
      ['signed-in', null],
    ]);
    session.close();
    viewer.close();
  });
});

describe('scrubbing a token cache', () => {
  // The shape msal-node serializes (values shortened): tokens under "secret", facts beside them.
  const ACCESS = 'eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.eyJhdWQiOiJodHRwczovL291dGxvb2sub2ZmaWNlLmNvbSJ9.c2lnbmF0dXJlLW9mLXRoZS10b2tlbg';
  const REFRESH = '0.AXoAb2xkLXJlZnJlc2gtdG9rZW4tdmFsdWUtZm9yLXRlc3Rz_Ab-Cd';
  const HOME = '8f1c6e2a-4b3d-4c5e-9f70-1a2b3c4d5e6f.7d2f1c4e-8a9b-4c3d-9e1f-0a1b2c3d4e5f';
  const cache = JSON.stringify({
    Account: { [`${HOME}-login.microsoftonline.com-7d2f1c4e-8a9b-4c3d-9e1f-0a1b2c3d4e5f`]: { home_account_id: HOME, environment: 'login.microsoftonline.com', username: 'support@contoso.onmicrosoft.com', name: 'Support Desk' } },
    AccessToken: { k1: { credential_type: 'AccessToken', secret: ACCESS, token_type: 'Bearer', target: 'https://outlook.office.com/IMAP.AccessAsUser.All', home_account_id: HOME } },
    RefreshToken: { k2: { credential_type: 'RefreshToken', secret: REFRESH, home_account_id: HOME } },
  });

  it('takes the tokens, and leaves the address, hosts, ids and words the bundle shows on purpose', () => {
    const fragments = secretFragments(cache);
    expect(fragments).toContain(ACCESS);
    expect(fragments).toContain(REFRESH);
    for (const fact of ['support@contoso.onmicrosoft.com', 'login.microsoftonline.com', HOME, 'Bearer', 'AccessToken', 'https://outlook.office.com/IMAP.AccessAsUser.All']) expect(fragments).not.toContain(fact);
    const { text } = scrubText(`Mailbox support@contoso.onmicrosoft.com used ${ACCESS} and ${Buffer.from(REFRESH).toString('base64')}`, [cache]);
    expect(text).toBe('Mailbox support@contoso.onmicrosoft.com used [REDACTED] and [REDACTED]');
  });
});
