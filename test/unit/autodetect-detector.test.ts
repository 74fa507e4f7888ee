/**
 * Autodetect against real peers on loopback: dns2 serving MX records to
 * node's own resolver, and one HTTPS server (test CA) serving Microsoft's
 * user-realm answers and autoconfig files. Offline is a closed port.
 */
import https from 'node:https';
import dns from 'node:dns';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Detector } from '../../src-main/engine/autodetect/detect';
import { isAppError } from '../../src-main/shared/errors';
import { startDnsServer, type TestDnsServer } from '../helpers/dns-server';
import { fetchTrusting, makeLoopbackCertificates, type TestCertificates } from '../helpers/oauth-idp';
import fs from 'node:fs';

const AUTOCONFIG = (domain: string) => `<?xml version="1.0"?>
<clientConfig version="1.1"><emailProvider id="${domain}"><displayName>Example Hosting</displayName>
<incomingServer type="imap"><hostname>imap.${domain}</hostname><port>993</port><socketType>SSL</socketType><authentication>password-cleartext</authentication><username>%EMAILADDRESS%</username></incomingServer>
<incomingServer type="pop3"><hostname>pop.${domain}</hostname><port>110</port><socketType>STARTTLS</socketType><authentication>password-cleartext</authentication><username>%EMAILADDRESS%</username></incomingServer>
<incomingServer type="pop3"><hostname>pop.${domain}</hostname><port>995</port><socketType>SSL</socketType><authentication>password-cleartext</authentication><username>%EMAILLOCALPART%</username></incomingServer>
<outgoingServer type="smtp"><hostname>smtp.${domain}</hostname><port>587</port><socketType>STARTTLS</socketType><authentication>password-cleartext</authentication><username>%EMAILADDRESS%</username></outgoingServer>
</emailProvider></clientConfig>`;

/** What the local "internet" knows. */
const REALMS: Record<string, object> = {
  'contoso.test': { State: 4, UserState: 1, Login: 'x', NameSpaceType: 'Managed', DomainName: 'contoso.test', FederationBrandName: 'Contoso', CloudInstanceName: 'microsoftonline.com', CloudInstanceIssuerUri: 'urn:federation:MicrosoftOnline' },
  'newmx.test': { State: 4, UserState: 1, Login: 'x', NameSpaceType: 'Managed', DomainName: 'newmx.test', FederationBrandName: 'New MX', CloudInstanceName: 'microsoftonline.com' },
  'fabrikam.test': { State: 3, UserState: 2, Login: 'x', NameSpaceType: 'Federated', DomainName: 'fabrikam.test', FederationGlobalVersion: -1, AuthURL: 'https://sts.fabrikam.test/adfs/ls/?username=x', FederationBrandName: 'Fabrikam', CloudInstanceName: 'microsoftonline.com' },
};

let dnsServer: TestDnsServer;
let certs: TestCertificates;
let web: https.Server;
let base: string;
const requests: string[] = [];

beforeAll(async () => {
  dnsServer = await startDnsServer({
    'contoso.test': { mx: [{ exchange: 'contoso-test.mail.protection.outlook.com', priority: 0 }] },
    'newmx.test': { mx: [{ exchange: 'newmx-test.o-v1.mx.microsoft', priority: 0 }] },
    'fabrikam.test': { mx: [{ exchange: 'mx1.mailfilter.test', priority: 10 }, { exchange: 'mx2.mailfilter.test', priority: 20 }] },
    'example.test': { mx: [{ exchange: 'mail.example.test', priority: 10 }] },
    'wellknown.test': { mx: [{ exchange: 'mail.wellknown.test', priority: 10 }] },
    'broken.test': { mx: [{ exchange: 'mail.broken.test', priority: 10 }] },
    'nomx.test': { a: ['192.0.2.1'] },
  });
  certs = makeLoopbackCertificates();
  web = https.createServer({ key: fs.readFileSync(certs.keyFile), cert: fs.readFileSync(certs.certFile) }, (req, res) => {
    const url = new URL(req.url ?? '/', 'https://127.0.0.1');
    requests.push(url.pathname + url.search);
    if (url.pathname === '/getuserrealm.srf') {
      const login = url.searchParams.get('login') ?? '';
      const realm = REALMS[login.split('@').pop()!] ?? { State: 4, UserState: 1, Login: login, NameSpaceType: 'Unknown' };
      res.writeHead(200, { 'Content-Type': 'application/json' });
      return void res.end(JSON.stringify(realm));
    }
    const m = /^\/(host|wellknown)\/([^/]+)\/config-v1\.1\.xml$/.exec(url.pathname);
    if (m && ((m[1] === 'host' && m[2] === 'example.test') || (m[1] === 'wellknown' && m[2] === 'wellknown.test'))) {
      res.writeHead(200, { 'Content-Type': 'application/xml' });
      return void res.end(AUTOCONFIG(m[2]!));
    }
    if (m && m[1] === 'host' && m[2] === 'broken.test') {
      res.writeHead(200, { 'Content-Type': 'application/xml' });
      return void res.end('<clientConfig><emailProvider>');
    }
    res.writeHead(404);
    res.end();
  });
  await new Promise<void>((resolve) => web.listen(0, '127.0.0.1', () => resolve()));
  base = `https://127.0.0.1:${(web.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await dnsServer.stop();
  await new Promise<void>((resolve) => web.close(() => resolve()));
  certs.remove();
});

/** A port that was free a moment ago: nothing listens there. */
async function closedPort(): Promise<number> {
  const probe = net.createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', () => resolve()));
  const { port } = probe.address() as AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

function detector(overrides: Partial<ConstructorParameters<typeof Detector>[0]> = {}): Detector {
  return new Detector({
    dnsServers: [dnsServer.server],
    fetch: fetchTrusting(certs.caPem),
    userRealmUrl: `${base}/getuserrealm.srf`,
    autoconfigUrls: [`${base}/host/{domain}/config-v1.1.xml?emailaddress={address}`, `${base}/wellknown/{domain}/config-v1.1.xml`],
    // Generous: every peer here answers, so no step ever waits this long unless the machine stalls.
    stepTimeoutMs: 30_000,
    ...overrides,
  });
}

describe('autodetect', () => {
  it('confirms Microsoft 365 from the MX and the managed user realm, and proposes OAuth settings', async () => {
    const result = await detector().detect('support@contoso.test');
    expect(result.microsoft365).toBe(true);
    expect(result.confidence).toBe('confirmed');
    expect(result.offline).toBe(false);
    expect(result.evidence.map((e) => [e.step, e.status])).toEqual([
      ['mx', 'success'],
      ['user-realm', 'success'],
      ['autoconfig', 'info'],
      ['autoconfig-well-known', 'info'],
      ['provider-table', 'success'],
    ]);
    expect(result.evidence[0]!.details).toEqual(['0 contoso-test.mail.protection.outlook.com']);
    expect(result.realm?.namespaceType).toBe('Managed');
    expect(result.realm?.brandName).toBe('Contoso');
    expect(result.proposal).toMatchObject({
      preset: 'microsoft365',
      imap: { host: 'outlook.office365.com', port: 993, security: 'tls', auth: 'oauth2', username: 'support@contoso.test' },
      smtp: { host: 'smtp.office365.com', port: 587, security: 'starttls', auth: 'oauth2', username: 'support@contoso.test' },
      pop3: { host: 'outlook.office365.com', port: 995, security: 'tls', auth: 'oauth2', username: 'support@contoso.test' },
      source: 'mx',
    });
    expect(result.warnings.join(' ')).toContain('(UPN) can differ from the email address');
    expect(dnsServer.queries).toContain('MX contoso.test');
  });

  it('recognises the newer mx.microsoft MX hosts', async () => {
    const result = await detector().detect('desk@newmx.test');
    expect(result.microsoft365).toBe(true);
    expect(result.evidence[0]!.summary).toContain('Microsoft 365');
  });

  it('finds a federated tenant behind a mail filter, and says what that means', async () => {
    const result = await detector().detect('help@fabrikam.test');
    expect(result.microsoft365).toBe(false);
    expect(result.proposal.preset).toBe('microsoft365');
    expect(result.proposal.source).toBe('user-realm');
    expect(result.realm).toMatchObject({ namespaceType: 'Federated', federationUrl: 'https://sts.fabrikam.test/adfs/ls/?username=x' });
    const warnings = result.warnings.join(' ');
    expect(warnings).toContain('mx1.mailfilter.test');
    expect(warnings).toContain('federated (sts.fabrikam.test)');
  });

  it('uses the autoconfig host when the domain publishes one', async () => {
    const result = await detector().detect('help@example.test');
    expect(result.microsoft365).toBe(false);
    expect(result.evidence.find((e) => e.step === 'user-realm')!.summary).toContain('not a Microsoft 365 tenant');
    expect(result.evidence.find((e) => e.step === 'autoconfig')!.status).toBe('success');
    expect(result.proposal).toMatchObject({
      preset: 'generic',
      providerLabel: 'Example Hosting',
      imap: { host: 'imap.example.test', port: 993, security: 'tls', auth: 'password', username: 'help@example.test' },
      smtp: { host: 'smtp.example.test', port: 587, security: 'starttls' },
      // <incomingServer type="pop3">: of the two, the one with implicit TLS, with its own user name.
      pop3: { host: 'pop.example.test', port: 995, security: 'tls', auth: 'password', username: 'help' },
      source: 'autoconfig',
    });
    expect(result.evidence.find((e) => e.step === 'autoconfig')!.details).toContain('pop3 pop.example.test:995 SSL/TLS password');
    expect(requests).toContain('/host/example.test/config-v1.1.xml?emailaddress=help%40example.test');
  });

  it('falls back to the .well-known path', async () => {
    const result = await detector().detect('help@wellknown.test');
    expect(result.proposal.source).toBe('autoconfig-well-known');
    expect(result.proposal.imap?.host).toBe('imap.wellknown.test');
  });

  it('reports an unusable autoconfig file as a warning', async () => {
    const result = await detector().detect('help@broken.test');
    const step = result.evidence.find((e) => e.step === 'autoconfig')!;
    expect(step.status).toBe('warning');
    expect(step.summary).toContain('not well-formed XML');
    expect(result.proposal.imap).toBeNull();
  });

  it('says when the domain does not exist', async () => {
    const result = await detector().detect('help@nxdomain.test');
    expect(result.evidence[0]).toMatchObject({ step: 'mx', status: 'warning' });
    expect(result.evidence[0]!.summary).toContain('does not exist in DNS');
    expect(result.confidence).toBe('unknown');
  });

  it('offline: says so plainly and still proposes settings from the provider table', async () => {
    // A closed port for DNS and for HTTPS: nothing answers.
    const port = await closedPort();
    const closed = `https://127.0.0.1:${port}`;
    // A closed port refuses at once: no step waits for its timeout, however slow the machine (the
    // timeout is longer than this test may run, so a step that waited for it fails the test).
    const offline = detector({ dnsServers: [`127.0.0.1:${port}`], userRealmUrl: `${closed}/getuserrealm.srf`, autoconfigUrls: [`${closed}/a/{domain}`, `${closed}/b/{domain}`], stepTimeoutMs: 120_000 });
    const gmail = await offline.detect('desk@gmail.com');
    expect(gmail.offline).toBe(true);
    expect(gmail.warnings[0]).toContain('could not reach DNS or the internet');
    expect(gmail.proposal).toMatchObject({ preset: 'gmail', source: 'provider-table', imap: { host: 'imap.gmail.com' }, pop3: { host: 'pop.gmail.com', port: 995, security: 'tls', auth: 'password' } });
    expect(gmail.evidence.find((e) => e.step === 'provider-table')!.details).toContain('POP3 pop.gmail.com:995 SSL/TLS');
    expect(gmail.evidence.find((e) => e.step === 'provider-table')!.status).toBe('success');

    const m365 = await offline.detect('desk@contoso.onmicrosoft.com');
    expect(m365.microsoft365).toBe(true);
    expect(m365.proposal.preset).toBe('microsoft365');

    const unknown = await offline.detect('desk@unknown.test');
    expect(unknown.proposal).toMatchObject({ preset: 'generic', imap: null, smtp: null, pop3: null });
    expect(unknown.summary).toContain('(offline)');
  });

  it('works with node\'s resolver object injected directly', async () => {
    const resolver = new dns.promises.Resolver({ timeout: 30_000, tries: 1 });
    resolver.setServers([dnsServer.server]);
    const result = await detector({ resolver }).detect('support@contoso.test');
    expect(result.microsoft365).toBe(true);
  });

  it('refuses something that is not an address', async () => {
    const error = await detector().detect('not-an-address').catch((e: unknown) => e);
    expect(isAppError(error) && error.code).toBe('DETECT_INVALID_ADDRESS');
  });
});
