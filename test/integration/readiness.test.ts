/**
 * The basic-authentication retirement report against real peers: MX records
 * from a dns2 server (the detector's injectable resolver), Microsoft's user
 * realm from a loopback HTTP server, an smtp-server that answers Microsoft's
 * "550 5.7.30 Basic authentication is not supported for Client Submission",
 * and a TLS 1.0-only IMAP server. Also the CLI's JSON shape.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openMailroom, type Mailroom } from '../../src-main/engine/mailroom';
import { staticKeyProvider } from '../../src-main/store/secret-box';
import { ReadinessReport, type ReadinessMailboxRow } from '../../src-main/shared/readiness';
import { startDnsServer, type TestDnsServer } from '../helpers/dns-server';
import { startSmtpPeer, type SmtpPeer } from '../helpers/smtp-peer';
import { startScriptedServer, type ScriptedServer } from '../helpers/scripted-server';
import { makeTestCerts, type TestCerts } from '../helpers/certs';
import { runCli } from '../helpers/cli';

const KEY = crypto.randomBytes(32);
const NOW = Date.UTC(2026, 11, 2, 12, 0, 0);
let dns: TestDnsServer;
let realm: http.Server;
let realmUrl: string;
let smtp: SmtpPeer;
let oldTls: ScriptedServer;
let certs: TestCerts;
let dataDir: string;
let engine: Mailroom;
let report: ReadinessReport;

const row = (name: string, protocol: 'imap' | 'smtp'): ReadinessMailboxRow => report.mailboxes.find((r) => r.name === name && r.protocol === protocol)!;

beforeAll(async () => {
  certs = makeTestCerts();
  [dns, smtp, oldTls] = await Promise.all([
    startDnsServer({
      'contoso.test': { mx: [{ exchange: 'contoso-test.mail.protection.outlook.com', priority: 0 }] },
      'fabrikam.test': { mx: [{ exchange: 'mx.fabrikam.test', priority: 10 }] },
      'tailspin.test': { mx: [{ exchange: 'filter.mailgate.test', priority: 10 }] },
    }),
    startSmtpPeer({ tls: 'none', allowInsecureAuth: true, reject: { AUTH: { code: 550, message: '5.7.30 Basic authentication is not supported for Client Submission.' } } }),
    startScriptedServer({ script: [{ send: '* OK old.example.test IMAP4rev1 ready' }, { expect: true }], implicitTls: certs.leaf, onlyTls: 'TLSv1' }),
  ]);
  // Microsoft's user realm: tailspin.test is a managed tenant whose MX points to a mail filter.
  realm = http.createServer((req, res) => {
    const login = new URL(req.url ?? '/', 'http://127.0.0.1').searchParams.get('login') ?? '';
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify(login.endsWith('@tailspin.test') ? { State: 4, NameSpaceType: 'Managed', DomainName: 'tailspin.test' } : { State: 4, NameSpaceType: 'Unknown' }));
  });
  await new Promise<void>((resolve) => realm.listen(0, '127.0.0.1', () => resolve()));
  realmUrl = `http://127.0.0.1:${(realm.address() as AddressInfo).port}/getuserrealm.srf`;

  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mailroom-readiness-'));
  engine = openMailroom({ dataDir, keyProvider: staticKeyProvider(KEY), detector: { dnsServers: [dns.server], userRealmUrl: realmUrl, stepTimeoutMs: 3000 } });
  const m = engine.mailboxes;
  // Microsoft 365 by its hosts, with OAuth: nothing to do.
  const support = m.create({ name: 'Support', address: 'support@contoso.test', preset: 'microsoft365' });
  // Microsoft 365 by the MX of its domain, behind a name of its own, still with a password.
  const scanner = m.create({ name: 'Scanner', address: 'scanner@contoso.test', imap: { host: 'mail.contoso.test', auth: 'password' }, smtp: { host: 'smtp.contoso.test', auth: 'password' }, password: 'pw-scanner-1' });
  // Microsoft 365 by the user realm; Microsoft already refuses its password (a real 550 5.7.30 in a connection test).
  const legacy = m.create({ name: 'Legacy', address: 'legacy@tailspin.test', imap: { host: '127.0.0.1', port: oldTls.port, security: 'tls', auth: 'password' }, smtp: { host: '127.0.0.1', port: smtp.port, security: 'none', auth: 'password' }, password: 'pw-legacy-1' });
  // Not Microsoft 365.
  m.create({ name: 'Fabrikam', address: 'help@fabrikam.test', imap: { host: 'imap.fabrikam.test', auth: 'password' }, smtp: { host: 'smtp.fabrikam.test', auth: 'password' }, password: 'pw-fab-1' });
  await engine.connectionTests.run({ mailboxId: legacy.id, direction: 'both', timeoutMs: 10_000 });
  await engine.relay.saveSettings({
    addAccounts: [
      { username: 'copier', mailboxId: scanner.id, password: 'copier-password-1', fromMode: 'mailbox' },
      { username: 'erp', mailboxId: support.id, password: 'erp-password-1', fromMode: 'mailbox' },
    ],
  });
  report = await engine.readiness({ now: NOW });
}, 90_000);

afterAll(async () => {
  engine?.close();
  await Promise.all([dns?.stop(), smtp?.stop(), oldTls?.stop(), new Promise<void>((resolve) => (realm ? realm.close(() => resolve()) : resolve()))]);
  certs?.remove?.();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

describe('readiness report', () => {
  it('matches its schema, with one row per mailbox side', () => {
    expect(ReadinessReport.parse(report)).toEqual(report);
    expect(report.mailboxes.map((r) => `${r.name}/${r.protocol}`).sort()).toEqual(['Fabrikam/imap', 'Fabrikam/smtp', 'Legacy/imap', 'Legacy/smtp', 'Scanner/imap', 'Scanner/smtp', 'Support/imap', 'Support/smtp']);
    expect(report.offline).toBe(false);
  });

  it('a Microsoft 365 mailbox with OAuth 2.0, recognised by its hosts, has nothing to do', () => {
    expect(row('Support', 'smtp')).toMatchObject({ provider: 'microsoft365', auth: 'oauth2', risk: 'none', action: null, fix: null });
    expect(row('Support', 'smtp').evidence).toContain('host smtp.office365.com');
  });

  it('recognises Microsoft 365 by the MX of the address\'s domain: SMTP with a password is at risk soon (MC786329), IMAP with one is broken', () => {
    const smtpSide = row('Scanner', 'smtp');
    expect(smtpSide).toMatchObject({ provider: 'microsoft365', auth: 'password', risk: 'soon', evidence: ['MX contoso-test.mail.protection.outlook.com'] });
    expect(smtpSide.reason).toContain('MC786329');
    expect(smtpSide.reason).toContain('in 30 days');
    expect(smtpSide.action).toContain('mailroom mailbox update "Scanner" --auth oauth2');
    expect(smtpSide.fix).toMatchObject({ kind: 'switch-mailbox-to-oauth', mailboxId: smtpSide.mailboxId });
    expect(row('Scanner', 'imap')).toMatchObject({ risk: 'broken' });
    expect(row('Scanner', 'imap').reason).toContain('since October 2022');
  });

  it('recognises Microsoft 365 by its user realm, and is broken once a test saw 550 5.7.30', () => {
    const smtpSide = row('Legacy', 'smtp');
    expect(smtpSide).toMatchObject({ provider: 'microsoft365', risk: 'broken', evidence: ['realm Managed'] });
    expect(smtpSide.reason).toContain('BASIC_AUTH_RETIRED');
  });

  it('names a server that speaks only TLS 1.0/1.1 in its last test', () => {
    const imapSide = row('Legacy', 'imap');
    expect(imapSide.risk).toBe('broken');
    expect(imapSide.reason).toContain('only TLS 1.0 or 1.1');
    expect(imapSide.action).toContain('TLS 1.2 or later');
  });

  it('leaves other providers alone', () => {
    expect(row('Fabrikam', 'smtp')).toMatchObject({ provider: 'other', risk: 'none', evidence: [] });
  });

  it('offers a relay account on a password mailbox the way out through a mailbox that signs in with OAuth', () => {
    const copier = report.relayAccounts.find((r) => r.account === 'copier')!;
    expect(copier).toMatchObject({ name: 'copier', mailbox: 'Scanner', protocol: 'smtp', risk: 'soon', fix: { kind: 'relay-via-mailbox', account: 'copier', targetMailbox: 'Support' } });
    expect(copier.action).toContain('mailroom relay account update copier --mailbox "Support"');
    expect(report.relayAccounts.find((r) => r.account === 'erp')).toMatchObject({ risk: 'none', fix: null });
  });

  it('once the app-only registration is set up, a password side gets "Use app-only" as a second way out', async () => {
    expect(row('Scanner', 'smtp').alternativeFix).toBeNull();
    engine.oauth.appOnly.saveSettings({ tenant: 'contoso.test', clientId: '11111111-2222-3333-4444-555555555555', credential: 'secret', clientSecret: 'not-a-real-secret' });
    report = await engine.readiness({ now: NOW });
    expect(ReadinessReport.parse(report)).toEqual(report);
    const smtpSide = row('Scanner', 'smtp');
    expect(smtpSide.fix).toMatchObject({ kind: 'switch-mailbox-to-oauth' });
    expect(smtpSide.alternativeFix).toMatchObject({ kind: 'switch-mailbox-to-app-only', mailboxId: smtpSide.mailboxId });
    expect(smtpSide.action).toContain('--auth oauth2-app');
    expect(row('Scanner', 'imap').alternativeFix).toMatchObject({ kind: 'switch-mailbox-to-app-only' });
    // The relay account keeps its own first way out and may switch its mailbox to app-only too.
    expect(report.relayAccounts.find((r) => r.account === 'copier')).toMatchObject({ fix: { kind: 'relay-via-mailbox' }, alternativeFix: { kind: 'switch-mailbox-to-app-only', mailboxId: smtpSide.mailboxId } });
    // Nothing changes for what is not at risk.
    expect(row('Support', 'smtp')).toMatchObject({ risk: 'none', alternativeFix: null });
    expect(row('Fabrikam', 'smtp')).toMatchObject({ risk: 'none', alternativeFix: null });
  });

  it('mailroom readiness --json prints { mailboxes: [{ name, protocol, auth, provider, risk, reason, action }], relayAccounts }', async () => {
    engine.close();
    try {
      const r = await runCli(['readiness', '--json', '--data-dir', dataDir], {
        env: { MAILROOM_SECRET_KEY: KEY.toString('hex'), MAILROOM_DNS_SERVERS: dns.server, MAILROOM_USER_REALM_URL: realmUrl, MAILROOM_DETECT_TIMEOUT_MS: '3000' },
        timeoutMs: 60_000,
      });
      expect(r.code, r.stderr).toBe(0);
      for (const entry of [...r.json.mailboxes, ...r.json.relayAccounts]) {
        expect(Object.keys(entry)).toEqual(expect.arrayContaining(['name', 'protocol', 'auth', 'provider', 'risk', 'reason', 'action']));
        expect(['none', 'soon', 'broken']).toContain(entry.risk);
      }
      const scannerSmtp = r.json.mailboxes.find((e: ReadinessMailboxRow) => e.name === 'Scanner' && e.protocol === 'smtp');
      expect(scannerSmtp).toMatchObject({ provider: 'microsoft365', auth: 'password', risk: 'soon' });
      // The app-only registration was set up above: the action names both ways out.
      expect(scannerSmtp.action).toContain('mailroom mailbox update "Scanner" --auth oauth2-app');
      const text = await runCli(['readiness', '--data-dir', dataDir], { env: { MAILROOM_SECRET_KEY: KEY.toString('hex'), MAILROOM_DNS_SERVERS: dns.server, MAILROOM_USER_REALM_URL: realmUrl }, timeoutMs: 60_000 });
      expect(text.code).toBe(0);
      expect(text.stdout).toContain('[SOON] Scanner SMTP:');
      expect(text.stdout).toContain('[BROKEN] Legacy SMTP:');
      expect(text.stdout).toContain('what to do:');
    } finally {
      engine = openMailroom({ dataDir, keyProvider: staticKeyProvider(KEY) });
    }
  }, 90_000);
});
