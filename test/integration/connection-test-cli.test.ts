/**
 * `mailroom test smtp|imap|pop3|mailbox` as scripts run it: every one of the 33
 * diagnosis codes is produced by the real CLI against a real server
 * (smtp-server, Dovecot, dns2, a web server) or a scripted one replaying a
 * real server's texts (Microsoft 365), with exit code 1 and the JSON shape
 * of the contract; every transcript, the whole output and every file in the
 * data folder are checked to hold no secret. Passing tests exit 0, usage
 * errors exit 2.
 */
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIAGNOSIS_CODES } from '../../src-main/shared/diagnosis';
import { runCli, type CliResult } from '../helpers/cli';
import { makeTestCerts, type TestCerts } from '../helpers/certs';
import { startSmtpPeer, type SmtpPeer } from '../helpers/smtp-peer';
import { startDovecot, type Dovecot } from '../helpers/dovecot';
import { startDnsServer, type TestDnsServer } from '../helpers/dns-server';
import { startFullBacklogPort, startHttpServer, startScriptedServer, startSilentServer, type ScriptStep, type ScriptedServer } from '../helpers/scripted-server';
import { tempDir } from '../helpers/temp';
import { startLockedPop3, startPop3WithoutUidl } from '../helpers/pop3-peers';

const USER = 'support@example.test';
const PASSWORD = 'Sup3r-Secret!Pass';
const TOKEN = 'ya29.cli-secret-token-value-0123456789';
const SECRET_FORMS = [
  PASSWORD,
  TOKEN,
  Buffer.from(PASSWORD).toString('base64'),
  Buffer.from(TOKEN).toString('base64'),
  encodeURIComponent(PASSWORD),
  Buffer.from(`\u0000${USER}\u0000${PASSWORD}`).toString('base64'),
  Buffer.from(`user=${USER}\u0001auth=Bearer ${TOKEN}\u0001\u0001`).toString('base64'),
];

const ENV = { MAILROOM_TEST_PASSWORD: PASSWORD, MAILROOM_TEST_TOKEN: TOKEN, MAILROOM_TEST_WRONG: 'not-the-password' };

function expectNoSecrets(result: CliResult, dataDir: string, label: string): void {
  for (const form of SECRET_FORMS) {
    expect(result.stdout.includes(form), `${label}: stdout holds a secret`).toBe(false);
    expect(result.stderr.includes(form), `${label}: stderr holds a secret`).toBe(false);
  }
  for (const file of fs.existsSync(dataDir) ? fs.readdirSync(dataDir) : []) {
    const bytes = fs.readFileSync(path.join(dataDir, file)).toString('latin1');
    for (const form of SECRET_FORMS) expect(bytes.includes(form), `${label}: ${file} holds a secret`).toBe(false);
  }
}

function expectReportShape(json: any): void {
  // `warnings` only when there are any (a sign-in over an unencrypted connection: PLAINTEXT_SIGN_IN).
  expect(Object.keys(json).filter((k) => k !== 'warnings').sort()).toEqual(['diagnosis', 'ok', 'protocol', 'steps', 'target', 'transcript']);
  for (const warning of json.warnings ?? []) expect(Object.keys(warning).sort()).toEqual(expect.arrayContaining(['code', 'hint', 'message']));
  expect(Object.keys(json.target).sort()).toEqual(['host', 'port', 'security']);
  for (const step of json.steps) {
    // `tls` only on the encryption steps that got as far as a version.
    const keys = Object.keys(step).sort();
    if (keys.includes('tls')) {
      expect(['tls', 'starttls']).toContain(step.name);
      expect(Object.keys(step.tls).sort()).toEqual(['cipher', 'supported', 'version']);
      expect(keys).toEqual(['detail', 'ms', 'name', 'status', 'tls']);
    } else expect(keys).toEqual(['detail', 'ms', 'name', 'status']);
  }
  for (const line of json.transcript) expect(Object.keys(line).sort()).toEqual(['dir', 't', 'text']);
  if (json.diagnosis) expect(Object.keys(json.diagnosis).sort()).toEqual(['code', 'hint', 'serverReply', 'step', 'summary']);
}

function closedPort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

/** Exchange's greeting and EHLO replies (nodemailer/nodemailer#145), then Microsoft 365's answer to AUTH LOGIN. */
function exchangeAuthScript(finalReply: string): ScriptStep[] {
  return [
    { send: '220 mail.blah.com Microsoft ESMTP MAIL Service ready at Wed, 6 Mar 2013 10:51:10 -0800' },
    { expect: /^EHLO / },
    { send: ['250-mail.blah.com Hello [10.30.75.34]', '250-SIZE 20725760', '250-PIPELINING', '250-DSN', '250-ENHANCEDSTATUSCODES', '250-STARTTLS', '250-AUTH GSSAPI NTLM', '250-8BITMIME', '250-BINARYMIME', '250 CHUNKING'] },
    { expect: /^STARTTLS$/ },
    { send: '220 2.0.0 SMTP server ready' },
    { startTls: true },
    { expect: /^EHLO / },
    { send: ['250-mail.blah.com Hello [10.30.75.34]', '250-SIZE 20725760', '250-PIPELINING', '250-DSN', '250-ENHANCEDSTATUSCODES', '250-AUTH GSSAPI NTLM LOGIN', '250-8BITMIME', '250-BINARYMIME', '250 CHUNKING'] },
    { expect: /^AUTH LOGIN$/ },
    { send: '334 VXNlcm5hbWU6' },
    { expect: true },
    { send: '334 UGFzc3dvcmQ6' },
    { expect: true },
    { send: finalReply },
    { close: true },
  ];
}

/**
 * Exchange's greeting and EHLO replies after STARTTLS with XOAUTH2 offered, then the answers to AUTH XOAUTH2
 * (Microsoft 365 sends a base64 error challenge first when it refuses a token, then the final reply).
 */
function exchangeXoauthScript(finalReplies: string[]): ScriptStep[] {
  return [
    { send: '220 SN4PR0201CA0065.outlook.office365.com Microsoft ESMTP MAIL Service ready at Wed, 25 Nov 2026 10:00:00 +0000' },
    { expect: /^EHLO / },
    { send: ['250-SN4PR0201CA0065.outlook.office365.com Hello [192.0.2.10]', '250-SIZE 157286400', '250-PIPELINING', '250-DSN', '250-ENHANCEDSTATUSCODES', '250-STARTTLS', '250-8BITMIME', '250-BINARYMIME', '250-CHUNKING', '250 SMTPUTF8'] },
    { expect: /^STARTTLS$/ },
    { send: '220 2.0.0 SMTP server ready' },
    { startTls: true },
    { expect: /^EHLO / },
    { send: ['250-SN4PR0201CA0065.outlook.office365.com Hello [192.0.2.10]', '250-SIZE 157286400', '250-PIPELINING', '250-DSN', '250-ENHANCEDSTATUSCODES', '250-AUTH LOGIN XOAUTH2', '250-8BITMIME', '250-BINARYMIME', '250-CHUNKING', '250 SMTPUTF8'] },
    { expect: /^AUTH XOAUTH2 / },
    { send: finalReplies },
    { close: true },
  ];
}

/** A token shaped like Exchange Online's app-only tokens (Microsoft's access-token claims reference): roles, no scp, no upn. Unsigned: no server here checks it. */
const APP_ID = '6731de76-14a6-49ae-97bc-6eba6914391e';
const APP_TOKEN = [
  Buffer.from(JSON.stringify({ typ: 'JWT', alg: 'RS256', kid: 'test' })).toString('base64url'),
  Buffer.from(
    JSON.stringify({
      aud: 'https://outlook.office365.com',
      iss: 'https://sts.windows.net/72f988bf-86f1-41af-91ab-2d7cd011db47/',
      iat: Math.floor(Date.now() / 1000) - 60,
      exp: Math.floor(Date.now() / 1000) + 3600,
      appid: APP_ID,
      appidacr: '1',
      idtyp: 'app',
      oid: 'a0b1c2d3-0000-4000-8000-0123456789ab',
      roles: ['IMAP.AccessAsApp', 'SMTP.SendAsApp'],
      tid: '72f988bf-86f1-41af-91ab-2d7cd011db47',
      ver: '1.0',
    }),
  ).toString('base64url'),
  'c2lnbmF0dXJl',
].join('.');

describe('mailroom test: the CLI contract and every diagnosis code', () => {
  let certs: TestCerts;
  let peer: SmtpPeer; // STARTTLS, PLAIN/LOGIN/XOAUTH2
  let peerNoStarttls: SmtpPeer;
  let peerNoXoauth: SmtpPeer;
  let peerRejectsConnect: SmtpPeer;
  let peerSelfSigned: SmtpPeer;
  let peerWrongHost: SmtpPeer;
  let peerExpired: SmtpPeer;
  let peerRejections: SmtpPeer;
  let peerGreylisting: SmtpPeer;
  let peerTinySize: SmtpPeer; // size 10: smtp-server's own 552
  let dovecot: Dovecot;
  let dns: TestDnsServer;
  const scripted: ScriptedServer[] = [];
  const stoppers: Array<() => Promise<void>> = [];
  const coveredCodes = new Set<string>();
  let dataDir: string;

  const env = () => ({ ...ENV, NODE_EXTRA_CA_CERTS: certs.ca.certPath });

  /** Runs `mailroom test ...` expecting a failed test with `code`; checks the shape, the exit code and that nothing leaked. */
  async function expectCode(code: string, args: string[], extraEnv: Record<string, string> = {}): Promise<any> {
    dataDir = tempDir();
    const result = await runCli(['test', ...args, '--json', '--keep', '--data-dir', dataDir], { env: { ...env(), ...extraEnv }, timeoutMs: 60_000 });
    expect(result.json, `no JSON: ${result.stdout} ${result.stderr}`).toBeDefined();
    expectReportShape(result.json);
    expect(result.json.ok).toBe(false);
    expect(result.json.diagnosis?.code, JSON.stringify(result.json.diagnosis)).toBe(code);
    expect(result.code).toBe(1);
    expect(result.json.steps.find((s: { status: string }) => s.status === 'failed')?.name).toBe(result.json.diagnosis.step);
    // Steps after the failed one are skipped.
    const failedAt = result.json.steps.findIndex((s: { status: string }) => s.status === 'failed');
    expect(result.json.steps.slice(failedAt + 1).every((s: { status: string }) => s.status === 'skipped')).toBe(true);
    expectNoSecrets(result, dataDir, code);
    // --keep stored it: the data folder has the database, scanned above.
    expect(fs.readdirSync(dataDir).some((f) => f.startsWith('mailroom.db'))).toBe(true);
    coveredCodes.add(code);
    return result.json;
  }

  beforeAll(async () => {
    certs = makeTestCerts();
    const users = { [USER]: PASSWORD };
    const checkToken = (user: string, token: string) => (user === USER && token === TOKEN ? (true as const) : { status: '401', schemes: 'bearer', scope: 'https://mail.google.com/' });
    [peer, peerNoStarttls, peerNoXoauth, peerRejectsConnect, peerSelfSigned, peerWrongHost, peerExpired, peerRejections, peerGreylisting, peerTinySize] = await Promise.all([
      startSmtpPeer({ tls: 'starttls', cert: certs.leaf, users, checkToken }),
      startSmtpPeer({ tls: 'none', users }),
      startSmtpPeer({ tls: 'implicit', cert: certs.leaf, users, authMethods: ['PLAIN', 'LOGIN'] }),
      // Gmail's real 421 at the greeting (gist chrisjimallen/8972272), sent by smtp-server's onConnect.
      startSmtpPeer({ tls: 'starttls', cert: certs.leaf, users, reject: { CONNECT: { code: 421, message: '4.4.5 Server busy, try again later. (mx.google.com) g4sm55605691obe.5 - gsmtp' } } }),
      startSmtpPeer({ tls: 'implicit', cert: certs.selfSigned, users }),
      startSmtpPeer({ tls: 'implicit', cert: certs.wrongHost, users }),
      startSmtpPeer({ tls: 'implicit', cert: certs.expired, users }),
      // Microsoft 365's send-as refusal (swiftmailer/swiftmailer#1030), answered to MAIL FROM.
      startSmtpPeer({ tls: 'implicit', cert: certs.leaf, users, reject: { MAIL: { code: 550, message: '5.7.60 SMTP; Client does not have permissions to send as this sender [MW2PR1901MB2155.namprd19.prod.outlook.com]' } } }),
      // Postfix's greylisting-style temporary refusal of a recipient (sisimai/rb-sisimai#97).
      startSmtpPeer({ tls: 'implicit', cert: certs.leaf, users, reject: { RCPT: { code: 450, message: '4.7.25 Client host rejected: cannot find your hostname, [192.0.2.22]' } } }),
      startSmtpPeer({ tls: 'implicit', cert: certs.leaf, users, size: 10 }),
    ]);
    dovecot = await startDovecot({ users: { [USER]: PASSWORD }, ssl: { cert: certs.leaf } });
    dns = await startDnsServer({ 'mail.example.test': { a: ['127.0.0.1'] }, 'example.test': { mx: [{ exchange: 'mail.example.test', priority: 10 }] } });
  }, 90_000);

  afterAll(async () => {
    await Promise.all([peer, peerNoStarttls, peerNoXoauth, peerRejectsConnect, peerSelfSigned, peerWrongHost, peerExpired, peerRejections, peerGreylisting, peerTinySize].map((p) => p?.stop()));
    await Promise.all(scripted.map((s) => s.stop()));
    for (const stop of stoppers) await stop();
    await dovecot?.stop();
    await dns?.stop();
    certs?.remove();
  });

  const script = async (steps: ScriptStep[], implicitTls = false) => {
    const s = await startScriptedServer({ script: steps, starttlsCert: certs.leaf, ...(implicitTls ? { implicitTls: certs.leaf } : {}) });
    scripted.push(s);
    return s;
  };
  const xoauthArgs = (port: number) => ['smtp', '--host', '127.0.0.1', '--port', String(port), '--security', 'starttls', '--auth', 'xoauth2', '--user', USER, '--token-env', 'MAILROOM_TEST_TOKEN'];
  const smtpArgs = (port: number, security = 'starttls', extra: string[] = []) => ['smtp', '--host', '127.0.0.1', '--port', String(port), '--security', security, '--user', USER, '--password-env', 'MAILROOM_TEST_PASSWORD', ...extra];

  // ---- passing tests ----------------------------------------------------

  it('passes a healthy SMTP test (STARTTLS, AUTH, test message): exit 0, the contract\'s JSON', async () => {
    dataDir = tempDir();
    const result = await runCli(['test', ...smtpArgs(peer.port, 'starttls', ['--from', USER, '--to', 'admin@example.test']), '--json', '--data-dir', dataDir], { env: env() });
    expect(result.code, result.stderr).toBe(0);
    expectReportShape(result.json);
    expect(result.json).toMatchObject({ ok: true, protocol: 'smtp', target: { host: '127.0.0.1', port: peer.port, security: 'starttls' }, diagnosis: null });
    expect(result.json.steps.map((s: { name: string }) => s.name)).toEqual(['dns', 'tcp', 'tls', 'greeting', 'ehlo', 'starttls', 'auth', 'mail-from', 'rcpt-to', 'data']);
    // The negotiated version and cipher, in the step's detail and as data.
    const starttls = result.json.steps.find((s: { name: string }) => s.name === 'starttls');
    expect(starttls.tls).toMatchObject({ version: expect.stringMatching(/^TLSv1\.[23]$/), cipher: expect.stringMatching(/^TLS_/), supported: true });
    expect(starttls.detail.startsWith(`${starttls.tls.version} ${starttls.tls.cipher};`)).toBe(true);
    expect(peer.messages.at(-1)!.to).toEqual(['admin@example.test']);
    expectNoSecrets(result, dataDir, 'healthy SMTP');
  });

  it('passes a healthy IMAP test (implicit TLS, LOGIN, select) with the CA from NODE_EXTRA_CA_CERTS', async () => {
    dataDir = tempDir();
    const result = await runCli(['test', 'imap', '--host', '127.0.0.1', '--port', String(dovecot.tlsPort), '--user', USER, '--password-env', 'MAILROOM_TEST_PASSWORD', '--json', '--data-dir', dataDir], { env: env() });
    expect(result.code, result.stdout).toBe(0);
    expect(result.json.target.security).toBe('tls');
    expect(result.json.steps.map((s: { name: string; status: string }) => `${s.name}:${s.status}`)).toEqual(['dns:ok', 'tcp:ok', 'tls:ok', 'greeting:ok', 'capability:ok', 'starttls:skipped', 'auth:ok', 'select:ok']);
    expectNoSecrets(result, dataDir, 'healthy IMAP');
  });

  it('reads the password from stdin and prints a readable report with the curl command', async () => {
    dataDir = tempDir();
    const result = await runCli(['test', 'imap', '--host', '127.0.0.1', '--port', String(dovecot.port), '--security', 'starttls', '--user', USER, '--password-stdin', '--data-dir', dataDir], { env: env(), input: `${PASSWORD}\n` });
    expect(result.code, result.stdout + result.stderr).toBe(0);
    expect(result.stdout).toMatch(/^IMAP test of 127\.0\.0\.1 port \d+ \(security starttls, auth password as support@example\.test\)$/m);
    expect(result.stdout).toMatch(/^ {2}ok +starttls +\d+ ms {2}TLSv1\.[23] /m);
    expect(result.stdout).toMatch(/^PASSED in \d+ ms\.$/m);
    expect(result.stdout).toContain(`--url 'imap://127.0.0.1:${dovecot.port}/INBOX' --ssl-reqd --cacert '${certs.ca.certPath}' --user '${USER}:<PASSWORD>' --request NOOP`);
    expectNoSecrets(result, dataDir, 'stdin password');
  });

  // ---- every code ------------------------------------------------------

  it('DNS_NOT_FOUND: a name the DNS server (dns2, MAILROOM_DNS_SERVERS) answers NXDOMAIN for', async () => {
    const json = await expectCode('DNS_NOT_FOUND', ['smtp', '--host', 'no-such-host.example.test', '--user', USER, '--password-env', 'MAILROOM_TEST_PASSWORD'], { MAILROOM_DNS_SERVERS: dns.server });
    expect(json.steps[0]).toMatchObject({ name: 'dns', status: 'failed' });
    expect(json.diagnosis.summary).toContain(`DNS server ${dns.server}`);
  });

  it('resolves through MAILROOM_DNS_SERVERS and shows the MX records', async () => {
    dataDir = tempDir();
    const result = await runCli(['test', 'smtp', '--host', 'mail.example.test', '--port', String(peer.port), '--security', 'starttls', '--user', USER, '--password-env', 'MAILROOM_TEST_PASSWORD', '--json', '--data-dir', dataDir], {
      env: { ...env(), MAILROOM_DNS_SERVERS: dns.server },
    });
    expect(result.code, result.stdout).toBe(0);
    expect(result.json.steps[0].detail).toBe('127.0.0.1; MX of example.test: mail.example.test (10)');
  });

  it('TCP_REFUSED: a port nothing listens on', async () => {
    await expectCode('TCP_REFUSED', smtpArgs(await closedPort()));
  });

  it('TCP_TIMEOUT: a port whose listen queue is full, so the handshake never completes', async () => {
    const port = await startFullBacklogPort();
    stoppers.push(port.stop);
    const json = await expectCode('TCP_TIMEOUT', smtpArgs(port.port, 'starttls', ['--timeout-ms', '1000']));
    expect(json.steps.find((s: { name: string }) => s.name === 'tcp').ms).toBeGreaterThanOrEqual(900);
  });

  it('GREETING_TIMEOUT: a server that accepts but never greets', async () => {
    const silent = await startSilentServer();
    scripted.push(silent);
    await expectCode('GREETING_TIMEOUT', smtpArgs(silent.port, 'none', ['--timeout-ms', '2500']));
  });

  it('SERVER_REJECTED_CONNECTION: 421 at the greeting (SMTP) and BYE at the greeting (IMAP)', async () => {
    const json = await expectCode('SERVER_REJECTED_CONNECTION', smtpArgs(peerRejectsConnect.port));
    expect(json.diagnosis.serverReply).toBe('421 4.4.5 Server busy, try again later. (mx.google.com) g4sm55605691obe.5 - gsmtp');
    const bye = await script([{ send: '* BYE Connection closed. 14' }, { close: true }]);
    await expectCode('SERVER_REJECTED_CONNECTION', ['imap', '--host', '127.0.0.1', '--port', String(bye.port), '--security', 'none', '--user', USER, '--password-env', 'MAILROOM_TEST_PASSWORD']);
  });

  it('PROTOCOL_MISMATCH: an SMTP test against the IMAP port, and against a web server', async () => {
    const json = await expectCode('PROTOCOL_MISMATCH', smtpArgs(dovecot.port, 'starttls'));
    expect(json.diagnosis.summary).toContain('answered like an IMAP server');
    const web = await startHttpServer();
    stoppers.push(web.stop);
    const http = await expectCode('PROTOCOL_MISMATCH', smtpArgs(web.port, 'tls'));
    expect(http.diagnosis.summary).toContain('a web (HTTP) server');
  });

  it('TLS_MODE_MISMATCH: security tls against a STARTTLS port, and starttls against an implicit-TLS port', async () => {
    const json = await expectCode('TLS_MODE_MISMATCH', smtpArgs(peer.port, 'tls'));
    expect(json.diagnosis.step).toBe('tls');
    expect(json.diagnosis.hint).toContain('"starttls"');
    const reverse = await expectCode('TLS_MODE_MISMATCH', smtpArgs(peerNoXoauth.port, 'starttls'));
    expect(reverse.diagnosis.step).toBe('greeting');
  });

  it('TLS_CERT_UNTRUSTED: a self-signed certificate', async () => {
    const json = await expectCode('TLS_CERT_UNTRUSTED', smtpArgs(peerSelfSigned.port, 'tls'));
    expect(json.steps.find((s: { name: string }) => s.name === 'tls').detail).toMatch(/NOT trusted \((DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT_IN_CHAIN)\)/);
    expect(json.steps.find((s: { name: string }) => s.name === 'auth').status).toBe('skipped');
  });

  it('TLS_CERT_HOSTNAME: a certificate for another name', async () => {
    const json = await expectCode('TLS_CERT_HOSTNAME', smtpArgs(peerWrongHost.port, 'tls'));
    expect(json.diagnosis.summary).toContain('wrong.example.test');
  });

  it('TLS_CERT_EXPIRED: a certificate that expired in 2020', async () => {
    const json = await expectCode('TLS_CERT_EXPIRED', smtpArgs(peerExpired.port, 'tls'));
    expect(json.diagnosis.summary).toContain('2020-02-01');
  });

  it('TLS_VERSION_UNSUPPORTED: SMTP over implicit TLS to a server that speaks only TLS 1.0; the step names the version and cipher it offered', async () => {
    const old = await startScriptedServer({ script: [{ send: '220 old.example.test ESMTP' }, { expect: true }], implicitTls: certs.leaf, onlyTls: 'TLSv1' });
    scripted.push(old);
    const json = await expectCode('TLS_VERSION_UNSUPPORTED', smtpArgs(old.port, 'tls'));
    const step = json.steps.find((s: { name: string }) => s.name === 'tls');
    expect(step).toMatchObject({ status: 'failed', tls: { version: 'TLSv1', cipher: expect.stringMatching(/^TLS_/), supported: false } });
    expect(step.detail).toMatch(/^TLS handshake refused: the server speaks only TLS 1\.0 \(TLSv1, cipher TLS_\w+\); Mailroom requires TLS 1\.2 or later$/);
    expect(json.diagnosis.step).toBe('tls');
    expect(json.diagnosis.summary).toContain('speaks only TLS 1.0');
    expect(json.diagnosis.hint).toMatch(/upgraded or reconfigured/);
    expect(json.diagnosis.hint).toContain('does not lower its minimum');
    // Nothing but the handshakes reached the old server: no greeting was read, no credential sent.
    expect(old.received).toEqual([]);
    expect(json.steps.find((s: { name: string }) => s.name === 'auth').status).toBe('skipped');
  });

  it('TLS_VERSION_UNSUPPORTED: SMTP STARTTLS and IMAP STARTTLS to servers that speak only TLS 1.0 / 1.1', async () => {
    const smtp = await startScriptedServer({
      script: [{ send: '220 old.example.test ESMTP' }, { expect: /^EHLO / }, { send: ['250-old.example.test', '250-AUTH PLAIN LOGIN', '250 STARTTLS'] }, { expect: /^STARTTLS$/ }, { send: '220 2.0.0 Ready to start TLS' }, { startTls: true }, { expect: true }],
      starttlsCert: certs.leaf,
      onlyTls: 'TLSv1',
    });
    const imap = await startScriptedServer({
      script: [{ send: '* OK IMAP4rev1 old.example.test ready' }, { expect: /CAPABILITY/ }, { respond: (l) => ['* CAPABILITY IMAP4rev1 STARTTLS AUTH=PLAIN', `${l.split(' ')[0]} OK CAPABILITY completed`] }, { expect: /STARTTLS/ }, { respond: (l) => `${l.split(' ')[0]} OK Begin TLS negotiation now` }, { startTls: true }, { expect: true }],
      starttlsCert: certs.leaf,
      onlyTls: 'TLSv1.1',
    });
    scripted.push(smtp, imap);
    const viaSmtp = await expectCode('TLS_VERSION_UNSUPPORTED', smtpArgs(smtp.port, 'starttls'));
    expect(viaSmtp.diagnosis.step).toBe('starttls');
    expect(viaSmtp.steps.find((s: { name: string }) => s.name === 'starttls').tls).toMatchObject({ version: 'TLSv1', supported: false });
    const viaImap = await expectCode('TLS_VERSION_UNSUPPORTED', ['imap', '--host', '127.0.0.1', '--port', String(imap.port), '--security', 'starttls', '--user', USER, '--password-env', 'MAILROOM_TEST_PASSWORD']);
    expect(viaImap.diagnosis.step).toBe('starttls');
    expect(viaImap.diagnosis.summary).toContain('speaks only TLS 1.1');
    expect(viaImap.steps.find((s: { name: string }) => s.name === 'starttls').tls).toMatchObject({ version: 'TLSv1.1', supported: false });
    // The password never went to either server, in any form.
    for (const line of [...smtp.received, ...imap.received]) for (const form of SECRET_FORMS) expect(line.includes(form)).toBe(false);
  });

  it('never lowers the minimum: with NODE_OPTIONS=--tls-min-v1.0 the TLS 1.0-only server is still refused', async () => {
    const old = await startScriptedServer({ script: [{ send: '220 old.example.test ESMTP' }, { expect: true }], implicitTls: certs.leaf, onlyTls: 'TLSv1' });
    scripted.push(old);
    const json = await expectCode('TLS_VERSION_UNSUPPORTED', smtpArgs(old.port, 'tls'), { NODE_OPTIONS: '--tls-min-v1.0' });
    expect(json.steps.find((s: { name: string }) => s.name === 'greeting').status).toBe('skipped');
  });

  it('STARTTLS_UNAVAILABLE: security starttls against a server that does not offer it', async () => {
    await expectCode('STARTTLS_UNAVAILABLE', smtpArgs(peerNoStarttls.port, 'starttls'));
  });

  it('AUTH_REQUIRES_TLS: a password sign-in on an unencrypted connection (smtp-server answers 538)', async () => {
    const json = await expectCode('AUTH_REQUIRES_TLS', smtpArgs(peer.port, 'none'));
    expect(json.diagnosis.serverReply).toBe('538 Error: Must issue a STARTTLS command first');
  });

  it('AUTH_METHOD_UNSUPPORTED: XOAUTH2 against a server that offers only PLAIN and LOGIN', async () => {
    await expectCode('AUTH_METHOD_UNSUPPORTED', ['smtp', '--host', '127.0.0.1', '--port', String(peerNoXoauth.port), '--auth', 'xoauth2', '--user', USER, '--token-env', 'MAILROOM_TEST_TOKEN']);
  });

  it('AUTH_FAILED: a wrong password (SMTP and Dovecot IMAP)', async () => {
    await expectCode('AUTH_FAILED', [...smtpArgs(peer.port).slice(0, -1), 'MAILROOM_TEST_WRONG']);
    const json = await expectCode('AUTH_FAILED', ['imap', '--host', '127.0.0.1', '--port', String(dovecot.tlsPort), '--user', USER, '--password-env', 'MAILROOM_TEST_WRONG']);
    expect(json.diagnosis.serverReply).toMatch(/\[AUTHENTICATIONFAILED\] Authentication failed\./);
  });

  it('SMTP_AUTH_DISABLED: Microsoft 365 with SMTP AUTH off for the tenant', async () => {
    const m365 = await script(exchangeAuthScript('535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for the Tenant. Visit https://aka.ms/smtp_auth_disabled for more information. [TY1PR01CA0183.jpnprd01.prod.outlook.com]'));
    const json = await expectCode('SMTP_AUTH_DISABLED', smtpArgs(m365.port));
    expect(json.diagnosis.hint).toContain('Authenticated SMTP');
    // The scripted server did receive the credential (base64, inside TLS); the report never shows it.
    expect(m365.received).toContain(Buffer.from(PASSWORD).toString('base64'));
  });

  it('BASIC_AUTH_DISABLED: Microsoft 365 with basic authentication disabled', async () => {
    const m365 = await script(exchangeAuthScript('535 5.7.139 Authentication unsuccessful, basic authentication is disabled. [PN0PR01CA0024.INDPRD01.PROD.OUTLOOK.COM 2025-01-26T18:54:30.055Z 08DD3DD7D75D7743]'));
    await expectCode('BASIC_AUTH_DISABLED', smtpArgs(m365.port));
  });

  it('BASIC_AUTH_RETIRED: Microsoft 365 after basic authentication for SMTP AUTH was retired (550 5.7.30)', async () => {
    const m365 = await script(exchangeAuthScript('550 5.7.30 Basic authentication is not supported for Client Submission.'));
    const json = await expectCode('BASIC_AUTH_RETIRED', smtpArgs(m365.port));
    expect(json.diagnosis.hint).toContain('local relay');
  });

  it('SMTP_AUTH_DISABLED for the mailbox, with XOAUTH2 (OAuth needs SMTP AUTH on too)', async () => {
    const m365 = await script(exchangeXoauthScript(['535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for the Mailbox. Visit https://aka.ms/smtp_auth_disabled for more information. [AM0PR02CA0123.eurprd02.prod.outlook.com]']));
    const json = await expectCode('SMTP_AUTH_DISABLED', xoauthArgs(m365.port));
    expect(json.diagnosis.hint).toContain(`Set-CASMailbox -Identity ${USER} -SmtpClientAuthenticationDisabled $false`);
    expect(json.diagnosis.hint).toContain('OAuth sign-in needs it on as well');
  });

  it('BASIC_AUTH_DISABLED: Gmail\'s multi-line 534-5.7.9, read whole', async () => {
    const gmail = await script([
      { send: '220 smtp.gmail.com ESMTP n18sm8811765wru.2 - gsmtp' },
      { expect: /^EHLO / },
      { send: ['250-smtp.gmail.com at your service, [192.0.2.10]', '250-SIZE 35882577', '250-8BITMIME', '250-AUTH LOGIN PLAIN XOAUTH2 PLAIN-CLIENTTOKEN OAUTHBEARER XOAUTH', '250-ENHANCEDSTATUSCODES', '250 SMTPUTF8'] },
      { expect: /^AUTH PLAIN / },
      { send: ['534-5.7.9 Application-specific password required. Learn more at', '534 5.7.9 https://support.google.com/mail/?p=InvalidSecondFactor n18sm8811765wru.2 - gsmtp'] },
      { close: true },
    ]);
    const json = await expectCode('BASIC_AUTH_DISABLED', smtpArgs(gmail.port, 'none'));
    expect(json.diagnosis.serverReply).toBe('534-5.7.9 Application-specific password required. Learn more at\n534 5.7.9 https://support.google.com/mail/?p=InvalidSecondFactor n18sm8811765wru.2 - gsmtp');
  });

  it('SECURITY_DEFAULTS_BLOCKED: Microsoft 365 security defaults', async () => {
    const m365 = await script(exchangeAuthScript("535 5.7.139 Authentication unsuccessful, user is locked by your organization's security defaults policy."));
    await expectCode('SECURITY_DEFAULTS_BLOCKED', smtpArgs(m365.port));
  });

  it('OAUTH_TOKEN_REJECTED: a token smtp-server refuses (with its base64 error JSON)', async () => {
    const json = await expectCode('OAUTH_TOKEN_REJECTED', ['smtp', '--host', '127.0.0.1', '--port', String(peer.port), '--security', 'starttls', '--auth', 'xoauth2', '--user', USER, '--token-env', 'MAILROOM_TEST_WRONG']);
    expect(json.transcript.some((l: { dir: string; text: string }) => l.dir === 'info' && l.text.includes('"status":"401"'))).toBe(true);
  });

  it('OAUTH_WRONG_ACCOUNT: Microsoft 365 IMAP "User is authenticated but not connected"', async () => {
    const m365 = await script(
      [
        { send: '* OK The Microsoft Exchange IMAP4 service is ready. [UwBJADIAUABSADAAMQBDAEEAMAAwADQAMgAuAGEAcABjAHAAcgBkADAAMQAuAHAAcgBvAGQALgBlAHgAYwBoAGEAbgBnAGUAbABhAGIAcwAuAGMAbwBtAA==]' },
        { expect: /CAPABILITY/ },
        { send: ['* CAPABILITY IMAP4 IMAP4rev1 AUTH=PLAIN AUTH=XOAUTH2 SASL-IR UIDPLUS ID UNSELECT CHILDREN IDLE NAMESPACE LITERAL+', 'M1 OK CAPABILITY completed.'] },
        { expect: /AUTHENTICATE XOAUTH2/ },
        { send: 'M2 OK AUTHENTICATE completed.' },
        { expect: /EXAMINE/ },
        { send: ['M3 BAD User is authenticated but not connected.', '* BYE Connection closed. 14'] },
        { close: true },
      ],
      true,
    );
    await expectCode('OAUTH_WRONG_ACCOUNT', ['imap', '--host', '127.0.0.1', '--port', String(m365.port), '--auth', 'xoauth2', '--user', USER, '--token-env', 'MAILROOM_TEST_TOKEN']);
  });

  it('OAUTH_APP_NO_MAILBOX_ACCESS: an app-only token (roles, no user) that Microsoft 365 IMAP accepts but will not connect', async () => {
    const m365 = await script(
      [
        { send: '* OK The Microsoft Exchange IMAP4 service is ready. [UwBJADIAUABSADAAMQBDAEEAMAAwADQAMgAuAGEAcABjAHAAcgBkADAAMQAuAHAAcgBvAGQALgBlAHgAYwBoAGEAbgBnAGUAbABhAGIAcwAuAGMAbwBtAA==]' },
        { expect: /CAPABILITY/ },
        { send: ['* CAPABILITY IMAP4 IMAP4rev1 AUTH=PLAIN AUTH=XOAUTH2 SASL-IR UIDPLUS ID UNSELECT CHILDREN IDLE NAMESPACE LITERAL+', 'M1 OK CAPABILITY completed.'] },
        { expect: /AUTHENTICATE XOAUTH2/ },
        { send: 'M2 OK AUTHENTICATE completed.' },
        { expect: /EXAMINE/ },
        { send: ['M3 BAD User is authenticated but not connected.', '* BYE Connection closed. 14'] },
        { close: true },
      ],
      true,
    );
    const json = await expectCode('OAUTH_APP_NO_MAILBOX_ACCESS', ['imap', '--host', '127.0.0.1', '--port', String(m365.port), '--auth', 'xoauth2', '--user', USER, '--token-env', 'MAILROOM_TEST_APP_TOKEN'], { MAILROOM_TEST_APP_TOKEN: APP_TOKEN });
    expect(json.diagnosis.hint).toContain(`New-ServicePrincipal -AppId ${APP_ID}`);
    expect(json.diagnosis.hint).toContain('Enterprise applications');
    expect(json.diagnosis.hint).toContain(`Add-MailboxPermission -Identity ${USER}`);
    expect(JSON.stringify(json)).not.toContain(APP_TOKEN);
  });

  it('SENDING_LIMIT_EXCEEDED: Gmail\'s multi-line daily sending limit at MAIL FROM', async () => {
    const gmail = await script([
      { send: '220 smtp.gmail.com ESMTP d2e1a72fcca58-76e7d551493sm9728466b3a.112 - gsmtp' },
      { expect: /^EHLO / },
      { send: ['250-smtp.gmail.com at your service', '250-AUTH LOGIN PLAIN', '250 ENHANCEDSTATUSCODES'] },
      { expect: /^AUTH PLAIN / },
      { send: '235 2.7.0 Accepted' },
      { expect: /^MAIL FROM/ },
      { send: ['550-5.4.5 Daily user sending limit exceeded. For more information on Gmail', '550-5.4.5 sending limits go to', '550 5.4.5  https://support.google.com/a/answer/166852 d2e1a72fcca58-76e7d551493sm9728466b3a.112 - gsmtp'] },
      { close: true },
    ]);
    const json = await expectCode('SENDING_LIMIT_EXCEEDED', smtpArgs(gmail.port, 'none', ['--from', USER, '--to', 'admin@example.test']));
    expect(json.diagnosis.step).toBe('mail-from');
    expect(json.diagnosis.serverReply.split('\n')).toHaveLength(3);
  });

  it('SENDING_BLOCKED: Microsoft 365\'s "550 5.1.8 Access denied, bad outbound sender" after DATA', async () => {
    const m365 = await startSmtpPeer({ tls: 'implicit', cert: certs.leaf, users: { [USER]: PASSWORD }, reject: { DATA: { code: 550, message: '5.1.8 Access denied, bad outbound sender AS(42004)' } } });
    stoppers.push(m365.stop);
    const json = await expectCode('SENDING_BLOCKED', smtpArgs(m365.port, 'tls', ['--to', 'admin@example.test']));
    expect(json.diagnosis.hint).toContain('Restricted entities');
  });

  it('SENDER_REJECTED: Microsoft 365\'s send-as refusal of MAIL FROM', async () => {
    const json = await expectCode('SENDER_REJECTED', smtpArgs(peerRejections.port, 'tls', ['--from', 'ceo@example.test', '--to', 'admin@example.test']));
    expect(json.diagnosis.hint).toContain('"Send as"');
  });

  it('RECIPIENT_REJECTED: a relay the server refuses (smtp-server without sign-in)', async () => {
    const relay = await startSmtpPeerRelayDenied(certs);
    stoppers.push(relay.stop);
    await expectCode('RECIPIENT_REJECTED', smtpArgs(relay.port, 'tls', ['--to', 'someone@example.org']));
  });

  it('MESSAGE_REJECTED: smtp-server refuses a message over its size limit', async () => {
    const json = await expectCode('MESSAGE_REJECTED', smtpArgs(peerTinySize.port, 'tls', ['--to', 'admin@example.test']));
    expect(json.diagnosis.serverReply).toMatch(/^552 /);
  });

  it('SERVER_TEMPORARY: a 4xx to RCPT TO', async () => {
    await expectCode('SERVER_TEMPORARY', smtpArgs(peerGreylisting.port, 'tls', ['--to', 'admin@example.test']));
  });

  it('CONNECTION_DROPPED: the server resets the connection after EHLO', async () => {
    const dropper = await script([{ send: '220 mail.example.test ESMTP' }, { expect: /^EHLO/ }, { destroy: true }]);
    await expectCode('CONNECTION_DROPPED', smtpArgs(dropper.port, 'none'));
  });

  it('FOLDER_NOT_FOUND: a folder Dovecot does not have', async () => {
    await expectCode('FOLDER_NOT_FOUND', ['imap', '--host', '127.0.0.1', '--port', String(dovecot.tlsPort), '--user', USER, '--password-env', 'MAILROOM_TEST_PASSWORD', '--folder', 'Tickets']);
  });

  it('TIMEOUT: the server stops answering after the greeting', async () => {
    const stall = await script([{ send: '220 mail.example.test ESMTP' }, { expect: /^EHLO/ }, { silent: true }]);
    const json = await expectCode('TIMEOUT', smtpArgs(stall.port, 'none', ['--timeout-ms', '1000']));
    expect(json.diagnosis.step).toBe('ehlo');
  });

  it('MAILDROP_LOCKED: a POP3 maildrop another client holds (Dovecot\'s [IN-USE] reply)', async () => {
    const locked = await startLockedPop3();
    stoppers.push(locked.stop);
    await expectCode('MAILDROP_LOCKED', ['pop3', '--host', '127.0.0.1', '--port', String(locked.port), '--security', 'none', '--user', USER, '--password-env', 'MAILROOM_TEST_PASSWORD']);
  });

  it('POP3_NO_UIDL: a POP3 server without UIDL', async () => {
    const old = await startPop3WithoutUidl();
    stoppers.push(old.stop);
    const json = await expectCode('POP3_NO_UIDL', ['pop3', '--host', '127.0.0.1', '--port', String(old.port), '--security', 'none', '--user', USER, '--password-env', 'MAILROOM_TEST_PASSWORD']);
    expect(json.diagnosis.step).toBe('stat');
  });

  it('covered every one of the 33 codes through the CLI', () => {
    expect(DIAGNOSIS_CODES.filter((c) => !coveredCodes.has(c))).toEqual([]);
    expect(DIAGNOSIS_CODES).toHaveLength(33);
  });

  // ---- usage -------------------------------------------------------------

  it('exits 2 on usage errors, naming the flag, without running anything', async () => {
    const noHost = await runCli(['test', 'smtp', '--json']);
    expect(noHost.code).toBe(2);
    const badSecurity = await runCli(['test', 'smtp', '--host', 'x.example.test', '--security', 'ssl']);
    expect(badSecurity.code).toBe(2);
    expect(badSecurity.stderr).toContain('--security');
    dataDir = tempDir();
    const badPort = await runCli(['test', 'imap', '--host', '127.0.0.1', '--port', '99999', '--json', '--data-dir', dataDir]);
    expect(badPort.code).toBe(2);
    expect(badPort.json.error.message).toContain('--port');
    const missingPassword = await runCli(['test', 'smtp', '--host', '127.0.0.1', '--auth', 'password', '--user', USER, '--json', '--data-dir', dataDir]);
    expect(missingPassword.code).toBe(2);
    expect(missingPassword.json.error.message).toContain('--password-env NAME or --password-stdin');
    const unsetEnv = await runCli(['test', 'smtp', '--host', '127.0.0.1', '--user', USER, '--password-env', 'MAILROOM_NOT_SET_ANYWHERE', '--json', '--data-dir', dataDir]);
    expect(unsetEnv.code).toBe(2);
    const toWithoutFrom = await runCli(['test', 'smtp', '--host', '127.0.0.1', '--to', 'a@example.test', '--json', '--data-dir', dataDir]);
    expect(toWithoutFrom.code).toBe(2);
    expect(toWithoutFrom.json.error.message).toContain('--from');
  });

  // ---- mailbox -------------------------------------------------------------

  it('tests a saved mailbox: one direction prints the report, both print { ok, mailbox, results }', async () => {
    dataDir = tempDir();
    const add = await runCli(
      ['mailbox', 'add', '--name', 'Support', '--address', USER, '--imap-host', '127.0.0.1', '--imap-port', String(dovecot.tlsPort), '--imap-security', 'tls', '--smtp-host', '127.0.0.1', '--smtp-port', String(peer.port), '--smtp-security', 'starttls', '--password-env', 'MAILROOM_TEST_PASSWORD', '--json', '--data-dir', dataDir],
      { env: env() },
    );
    expect(add.code, add.stdout + add.stderr).toBe(0);
    const outgoing = await runCli(['test', 'mailbox', 'Support', '--outgoing', '--json', '--data-dir', dataDir], { env: env() });
    expect(outgoing.code, outgoing.stdout).toBe(0);
    expectReportShape(outgoing.json);
    expect(outgoing.json.protocol).toBe('smtp');
    const both = await runCli(['test', 'mailbox', 'Support', '--json', '--data-dir', dataDir], { env: env() });
    expect(both.code, both.stdout).toBe(0);
    expect(Object.keys(both.json).sort()).toEqual(['mailbox', 'ok', 'results']);
    expect(both.json.results.map((r: { protocol: string }) => r.protocol).sort()).toEqual(['imap', 'smtp']);
    expectNoSecrets(both, dataDir, 'mailbox test');
    const conflicting = await runCli(['test', 'mailbox', 'Support', '--incoming', '--outgoing', '--data-dir', dataDir]);
    expect(conflicting.code).toBe(2);
    const missing = await runCli(['test', 'mailbox', 'Nope', '--json', '--data-dir', dataDir]);
    expect(missing.code).toBe(1);
    expect(missing.json.error.code).toBe('NOT_FOUND');
  });
});

/** smtp-server that refuses relaying to another domain (Postfix's text), for RECIPIENT_REJECTED. */
function startSmtpPeerRelayDenied(certs: TestCerts): Promise<SmtpPeer> {
  return startSmtpPeer({ tls: 'implicit', cert: certs.leaf, users: { [USER]: PASSWORD }, reject: { RCPT: { code: 554, message: '5.7.1 <someone@example.org>: Relay access denied' } } });
}
