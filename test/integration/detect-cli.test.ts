/**
 * `mailroom detect` as an admin runs it: the built CLI in a child process,
 * DNS from dns2 on loopback (MAILROOM_DNS_SERVERS), the user realm and
 * autoconfig from a local HTTPS server trusted through NODE_EXTRA_CA_CERTS.
 */
import fs from 'node:fs';
import https from 'node:https';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli';
import { startDnsServer, type TestDnsServer } from '../helpers/dns-server';
import { makeLoopbackCertificates, type TestCertificates } from '../helpers/oauth-idp';

let dnsServer: TestDnsServer;
let certs: TestCertificates;
let web: https.Server;
let env: NodeJS.ProcessEnv;

beforeAll(async () => {
  dnsServer = await startDnsServer({
    'contoso.test': { mx: [{ exchange: 'contoso-test.mail.protection.outlook.com', priority: 0 }] },
    'example.test': { mx: [{ exchange: 'mail.example.test', priority: 10 }] },
  });
  certs = makeLoopbackCertificates();
  web = https.createServer({ key: fs.readFileSync(certs.keyFile), cert: fs.readFileSync(certs.certFile) }, (req, res) => {
    const url = new URL(req.url ?? '/', 'https://127.0.0.1');
    if (url.pathname === '/getuserrealm.srf') {
      const managed = (url.searchParams.get('login') ?? '').endsWith('@contoso.test');
      res.writeHead(200, { 'Content-Type': 'application/json' });
      return void res.end(JSON.stringify(managed ? { State: 4, UserState: 1, NameSpaceType: 'Managed', DomainName: 'contoso.test', FederationBrandName: 'Contoso' } : { State: 4, UserState: 1, NameSpaceType: 'Unknown' }));
    }
    res.writeHead(404);
    res.end();
  });
  await new Promise<void>((resolve) => web.listen(0, '127.0.0.1', () => resolve()));
  const base = `https://127.0.0.1:${(web.address() as AddressInfo).port}`;
  env = {
    NODE_EXTRA_CA_CERTS: certs.caFile,
    MAILROOM_DNS_SERVERS: dnsServer.server,
    MAILROOM_USER_REALM_URL: `${base}/getuserrealm.srf`,
    MAILROOM_AUTOCONFIG_URLS: `${base}/host/{domain}/config-v1.1.xml ${base}/wk/{domain}/config-v1.1.xml`,
    MAILROOM_DETECT_TIMEOUT_MS: '3000',
  };
});

afterAll(async () => {
  await dnsServer.stop();
  await new Promise<void>((resolve) => web.close(() => resolve()));
  certs.remove();
});

describe('mailroom detect', () => {
  it('prints the evidence and proposed settings as JSON', async () => {
    const r = await runCli(['detect', 'support@contoso.test', '--json'], { env });
    expect(r.code, r.stderr).toBe(0);
    expect(r.json.microsoft365).toBe(true);
    expect(r.json.confidence).toBe('confirmed');
    expect(r.json.evidence.map((e: { step: string }) => e.step)).toEqual(['mx', 'user-realm', 'autoconfig', 'autoconfig-well-known', 'provider-table']);
    expect(r.json.proposal.imap).toMatchObject({ host: 'outlook.office365.com', auth: 'oauth2' });
    expect(r.json.warnings.join(' ')).toContain('UPN');
  });

  it('prints plain text an admin can read', async () => {
    const r = await runCli(['detect', 'support@contoso.test'], { env });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('is a Microsoft 365 mailbox');
    expect(r.stdout).toContain('[found  ] MX records: Mail for contoso.test goes to Microsoft 365');
    expect(r.stdout).toContain('incoming  imap outlook.office365.com:993 tls');
    expect(r.stdout).toContain('mailroom oauth login');
  });

  it('says when the provider is unknown', async () => {
    const r = await runCli(['detect', 'help@example.test', '--json'], { env });
    expect(r.code).toBe(0);
    expect(r.json.microsoft365).toBe(false);
    expect(r.json.proposal.imap).toBeNull();
  });

  it('degrades offline with a clear message', async () => {
    const probe = net.createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', () => resolve()));
    const port = (probe.address() as AddressInfo).port;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    const closed = `https://127.0.0.1:${port}`;
    const r = await runCli(['detect', 'desk@gmail.com', '--json'], {
      env: { ...env, MAILROOM_DNS_SERVERS: `127.0.0.1:${port}`, MAILROOM_USER_REALM_URL: `${closed}/r`, MAILROOM_AUTOCONFIG_URLS: `${closed}/a ${closed}/b`, MAILROOM_DETECT_TIMEOUT_MS: '1500' },
    });
    expect(r.code).toBe(0);
    expect(r.json.offline).toBe(true);
    expect(r.json.warnings[0]).toContain('could not reach DNS or the internet');
    expect(r.json.proposal.preset).toBe('gmail');
  });

  it('refuses a malformed address with exit code 2', async () => {
    const r = await runCli(['detect', 'not-an-address', '--json'], { env });
    expect(r.code).toBe(2);
    expect(r.json.error.code).toBe('VALIDATION_FAILED');
    expect(r.json.error.hint).toContain('full address');
  });
});
