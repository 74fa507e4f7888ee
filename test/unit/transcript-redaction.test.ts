/**
 * Secrets never reach a transcript, a report or the store: a password and a
 * token go through every sign-in path (SMTP AUTH PLAIN, LOGIN, XOAUTH2 with
 * the server's error JSON; IMAP AUTHENTICATE PLAIN, LOGIN quoted, LOGIN with
 * literals, AUTHENTICATE XOAUTH2 with and without SASL-IR), against servers
 * on 127.0.0.1 that even echo the credential back, and the transcript, the
 * JSON report and the stored row are scanned for the secret in plain,
 * base64 (also inside the SASL blobs) and URL-encoded form.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../../src-main/store/db';
import { ConnectionTestService } from '../../src-main/engine/connection-test/service';
import { Redactor, secretVariants, Transcript } from '../../src-main/engine/connection-test/transcript';
import { ImapTranscriptRecorder } from '../../src-main/engine/inbox/transcript-capture';
import type { DnsResolver } from '../../src-main/engine/connection-test/dns-resolver';
import { makeTestCerts, type TestCerts } from '../helpers/certs';
import { startSmtpPeer, type SmtpPeer } from '../helpers/smtp-peer';
import { startScriptedServer, type ScriptedServer } from '../helpers/scripted-server';
import { tempDir } from '../helpers/temp';

const PASSWORD = 'Pässw0rd "quoted" & more/+= \\ end';
const TOKEN = 'ya29.a0-Secret_Token.Value~1234567890abcdef';
const USER = 'support@example.test';

/** Generous: every peer here answers at once, so no step waits this long unless the machine stalls. */
const STEP_TIMEOUT_MS = 30_000;

/** Every form in which a secret could leak. */
function leakForms(): string[] {
  const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');
  return [
    PASSWORD,
    TOKEN,
    b64(PASSWORD),
    b64(TOKEN),
    Buffer.from(PASSWORD).toString('base64url'),
    encodeURIComponent(PASSWORD),
    encodeURIComponent(TOKEN),
    b64(`\u0000${USER}\u0000${PASSWORD}`),
    b64(`user=${USER}\u0001auth=Bearer ${TOKEN}\u0001\u0001`),
    // Distinctive fragments, in case only part of a secret slipped through.
    'Pässw0rd',
    'Secret_Token',
  ];
}

function expectNoSecret(text: string, where: string): void {
  for (const form of leakForms()) expect(text.includes(form), `${where} contains a secret form: ${form}`).toBe(false);
}

const noDns: DnsResolver = { description: 'none', lookup: async () => [], resolveMx: async () => [] };

describe('redaction through every sign-in path', () => {
  let certs: TestCerts;
  let smtp: SmtpPeer;
  let dataDir: string;
  const servers: ScriptedServer[] = [];
  const service = () => {
    const db = openDatabase(path.join(dataDir, 'mailroom.db'));
    return { db, service: new ConnectionTestService({ db, resolver: noDns, ca: [certs.ca.cert] }) };
  };

  beforeAll(async () => {
    certs = makeTestCerts();
    smtp = await startSmtpPeer({
      tls: 'implicit',
      cert: certs.leaf,
      users: { [USER]: 'the-right-one' },
      checkToken: () => ({ status: '401', schemes: 'bearer', scope: 'https://mail.google.com/' }),
    });
  });

  afterAll(async () => {
    await smtp?.stop();
    for (const s of servers) await s.stop();
    certs?.remove();
  });

  const imapScript = (capability: string, afterAuth: Array<Record<string, unknown>>) =>
    startScriptedServer({
      script: [
        { send: '* OK ready' },
        { expect: /CAPABILITY/ },
        { send: [`* CAPABILITY ${capability}`, 'M1 OK done'] },
        ...(afterAuth as never[]),
      ],
    }).then((s) => {
      servers.push(s);
      return s;
    });

  const cases: Array<{ name: string; input: () => Promise<Record<string, unknown>> }> = [
    { name: 'SMTP AUTH PLAIN', input: async () => ({ protocol: 'smtp', host: '127.0.0.1', port: smtp.port, security: 'tls', user: USER, password: PASSWORD }) },
    {
      name: 'SMTP AUTH LOGIN',
      input: async () => {
        const login = await startSmtpPeer({ tls: 'implicit', cert: certs.leaf, authMethods: ['LOGIN'], users: { [USER]: 'other' } });
        servers.push({ port: login.port, received: [], connections: 0, stop: login.stop });
        return { protocol: 'smtp', host: '127.0.0.1', port: login.port, security: 'tls', user: USER, password: PASSWORD };
      },
    },
    { name: 'SMTP AUTH XOAUTH2 with the server error JSON', input: async () => ({ protocol: 'smtp', host: '127.0.0.1', port: smtp.port, security: 'tls', auth: 'xoauth2', user: USER, token: TOKEN }) },
    {
      name: 'IMAP AUTHENTICATE PLAIN (server echoes the blob)',
      input: async () => {
        const s = await imapScript('IMAP4rev1 SASL-IR AUTH=PLAIN', [{ expect: /AUTHENTICATE PLAIN/ }, { respond: (l: string) => `M2 NO [AUTHENTICATIONFAILED] you sent ${l.split(' ').pop()}` }]);
        return { protocol: 'imap', host: '127.0.0.1', port: s.port, security: 'none', user: USER, password: PASSWORD };
      },
    },
    {
      name: 'IMAP LOGIN, quoted (server echoes the command)',
      input: async () => {
        const s = await imapScript('IMAP4rev1 AUTH=LOGIN', [{ expect: /LOGIN/ }, { respond: (l: string) => `M2 BAD Error in IMAP command: ${l}` }]);
        return { protocol: 'imap', host: '127.0.0.1', port: s.port, security: 'none', user: USER, password: PASSWORD.replace('ä', 'a') };
      },
    },
    {
      name: 'IMAP LOGIN with literals (non-ASCII password)',
      input: async () => {
        const s = await imapScript('IMAP4rev1', [
          { expect: /LOGIN \{/ },
          { send: '+ OK' },
          { expect: true },
          { send: '+ OK' },
          { expect: true },
          { respond: (l: string) => `M2 NO [AUTHENTICATIONFAILED] bad password ${l}` },
        ]);
        return { protocol: 'imap', host: '127.0.0.1', port: s.port, security: 'none', user: USER, password: PASSWORD };
      },
    },
    {
      name: 'IMAP AUTHENTICATE XOAUTH2 with SASL-IR and error JSON',
      input: async () => {
        const s = await imapScript('IMAP4rev1 SASL-IR AUTH=XOAUTH2', [
          { expect: /AUTHENTICATE XOAUTH2/ },
          { send: `+ ${Buffer.from('{"status":"400","schemes":"Bearer","scope":"https://mail.google.com/"}').toString('base64')}` },
          { expect: true },
          { send: 'M2 NO [AUTHENTICATIONFAILED] Invalid credentials (Failure)' },
        ]);
        return { protocol: 'imap', host: '127.0.0.1', port: s.port, security: 'none', auth: 'xoauth2', user: USER, token: TOKEN };
      },
    },
    {
      name: 'IMAP AUTHENTICATE XOAUTH2 without SASL-IR',
      input: async () => {
        const s = await imapScript('IMAP4rev1 AUTH=XOAUTH2', [{ expect: /AUTHENTICATE XOAUTH2$/ }, { send: '+ ' }, { expect: true }, { respond: (l: string) => `M2 NO AUTHENTICATE failed for ${l}` }]);
        return { protocol: 'imap', host: '127.0.0.1', port: s.port, security: 'none', auth: 'xoauth2', user: USER, token: TOKEN };
      },
    },
  ];

  for (const c of cases) {
    it(`${c.name}: no secret in the transcript, the report or the store`, async () => {
      dataDir = tempDir();
      const { db, service: tests } = service();
      try {
        const [result] = await tests.run({ ...(await c.input()), timeoutMs: STEP_TIMEOUT_MS });
        expect(result!.ok).toBe(false);
        expect(result!.steps.find((s) => s.name === 'auth')?.status).toBe('failed');
        expect(result!.transcript.some((l) => l.dir === 'C' && /redacted/.test(l.text))).toBe(true);
        expectNoSecret(JSON.stringify(result!.transcript), 'transcript');
        expectNoSecret(JSON.stringify(result), 'report');
        const row = db.prepare('SELECT result_json FROM connection_tests WHERE id = ?').get(result!.id) as { result_json: string };
        expectNoSecret(row.result_json, 'stored row');
      } finally {
        db.close();
      }
      for (const file of fs.readdirSync(dataDir)) expectNoSecret(fs.readFileSync(path.join(dataDir, file)).toString('latin1'), `file ${file}`);
    });
  }

  it('keeps the server\'s XOAUTH2 error decoded as an info line', async () => {
    dataDir = tempDir();
    const { db, service: tests } = service();
    try {
      const [result] = await tests.run({ protocol: 'smtp', host: '127.0.0.1', port: smtp.port, security: 'tls', auth: 'xoauth2', user: USER, token: TOKEN, timeoutMs: STEP_TIMEOUT_MS });
      expect(result!.transcript.some((l) => l.dir === 'info' && l.text.includes('{"status":"401","schemes":"bearer","scope":"https://mail.google.com/"}'))).toBe(true);
      expect(result!.diagnosis?.code).toBe('OAUTH_TOKEN_REJECTED');
    } finally {
      db.close();
    }
  });
});

describe('Redactor', () => {
  it('scrubs a secret in plain, base64, base64url and URL-encoded form', () => {
    const r = new Redactor();
    r.add(PASSWORD);
    const text = [PASSWORD, Buffer.from(PASSWORD).toString('base64'), Buffer.from(PASSWORD).toString('base64url'), encodeURIComponent(PASSWORD)].join(' | ');
    expect(r.redact(text)).toBe('[redacted] | [redacted] | [redacted] | [redacted]');
  });

  it('scrubs a long secret inside a longer base64 string at any alignment', () => {
    const r = new Redactor();
    r.add(TOKEN);
    for (const prefix of ['', 'a', 'ab', 'abc']) {
      const blob = Buffer.from(`${prefix}auth=Bearer ${TOKEN}\u0001\u0001`).toString('base64');
      expect(r.redact(blob)).toContain('[redacted]');
    }
  });

  it('ignores empty secrets and leaves other text alone', () => {
    const r = new Redactor();
    r.add('', undefined);
    expect(r.redact('220 mail.example.test ESMTP')).toBe('220 mail.example.test ESMTP');
    expect(secretVariants('')).toEqual([]);
  });

  it('bounds the transcript: long lines are cut and extra lines counted', () => {
    const t = new Transcript(Date.now(), new Redactor());
    t.server('x'.repeat(5000));
    for (let i = 0; i < 500; i++) t.server(`line ${i}`);
    const lines = t.toJSON();
    expect(lines[0]!.text.length).toBeLessThan(2100);
    expect(lines.length).toBe(401);
    expect(lines[lines.length - 1]!.text).toMatch(/more lines were not kept/);
  });
});

describe('one credential redaction for every transcript', () => {
  const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');
  // nodemailer builds its logged AUTH lines around a placeholder: base64 that looks like a credential.
  const NODEMAILER_XOAUTH2 = b64(`user=${USER}\u0001auth=Bearer /* secret */\u0001\u0001`);

  it('replaces SMTP SASL initial responses and continuations, whatever they hold', () => {
    const t = new Transcript(0, new Redactor(), () => 0);
    t.server('220 mail.example.test ESMTP');
    t.client(`AUTH XOAUTH2 ${NODEMAILER_XOAUTH2}`);
    t.server('235 2.7.0 Accepted');
    t.client(`AUTH PLAIN ${b64(`\0${USER}\0/* secret */`)}`);
    t.server('235 2.7.0 Accepted');
    t.client('AUTH LOGIN');
    t.server('334 VXNlcm5hbWU6');
    t.client(b64(USER));
    t.server('334 UGFzc3dvcmQ6');
    t.client(b64('/* secret */'));
    t.server('235 2.7.0 Accepted');
    t.client('MAIL FROM:<support@example.test>');
    expect(t.toJSON().filter((l) => l.dir === 'C').map((l) => l.text)).toEqual([
      'AUTH XOAUTH2 [redacted XOAUTH2]',
      'AUTH PLAIN [redacted PLAIN]',
      'AUTH LOGIN',
      '[redacted LOGIN]',
      '[redacted LOGIN]',
      'MAIL FROM:<support@example.test>',
    ]);
  });

  it('keeps the empty line that ends an XOAUTH2 error exchange, and a probe\'s own placeholders', () => {
    const t = new Transcript(0, new Redactor(), () => 0);
    t.client(`AUTH XOAUTH2 [redacted: base64 of user "${USER}" and the access token]`);
    t.server('334 eyJzdGF0dXMiOiI0MDEifQ==');
    t.client('(empty line: ends the XOAUTH2 exchange)');
    t.client('');
    t.server('535 5.7.3 Authentication unsuccessful');
    t.client('QUIT');
    expect(t.toJSON().filter((l) => l.dir === 'C').map((l) => l.text)).toEqual([
      `AUTH XOAUTH2 [redacted: base64 of user "${USER}" and the access token]`,
      '(empty line: ends the XOAUTH2 exchange)',
      '',
      'QUIT',
    ]);
  });

  it('replaces IMAP AUTHENTICATE responses and the LOGIN password, in the inbox transcript too', () => {
    const rec = new ImapTranscriptRecorder(0, new Redactor(), () => 0);
    const log = rec.logger();
    const write = (text: string) => log.trace!({ src: 'c', msg: 'write to socket', data: b64(`${text}\r\n`) });
    const read = (text: string) => log.trace!({ src: 's', msg: 'read from socket', data: b64(`${text}\r\n`) });
    write(`A1 AUTHENTICATE XOAUTH2 ${NODEMAILER_XOAUTH2}`);
    read('A1 OK Logged in');
    write('A2 AUTHENTICATE PLAIN');
    read('+ ');
    write(b64(`\0${USER}\0hunter2-password`));
    read('A2 OK Logged in');
    write(`A3 LOGIN "${USER}" "hunter2-password"`);
    read('A3 OK Logged in');
    write('A4 SELECT INBOX');
    expect(rec.lines().filter((l) => l.dir === 'C').map((l) => l.text)).toEqual([
      'A1 AUTHENTICATE XOAUTH2 [redacted XOAUTH2]',
      'A2 AUTHENTICATE PLAIN',
      '[redacted PLAIN]',
      `A3 LOGIN "${USER}" [redacted password]`,
      'A4 SELECT INBOX',
    ]);
  });

  it('replaces the POP3 PASS argument and the continuations of POP3 AUTH, whoever wrote the line (a library too)', () => {
    const t = new Transcript(0, new Redactor(), () => 0);
    t.server('+OK Dovecot ready.');
    t.client(`USER ${USER}`);
    t.server('+OK');
    t.client('PASS hunter2 with spaces');
    t.server('-ERR [AUTH] Authentication failed.');
    t.client('AUTH PLAIN');
    t.server('+ ');
    t.client(b64(`\0${USER}\0hunter2-password`));
    t.server('+OK Logged in.');
    t.client('AUTH XOAUTH2');
    t.server('+ ');
    t.client(b64(`user=${USER}\u0001auth=Bearer tok\u0001\u0001`));
    t.server('+ eyJzdGF0dXMiOiI0MDEifQ==');
    t.client('');
    t.server('-ERR Authentication failure: unknown user name or bad password.');
    t.client('STAT');
    expect(t.toJSON().filter((l) => l.dir === 'C').map((l) => l.text)).toEqual([
      `USER ${USER}`,
      'PASS [redacted password]',
      'AUTH PLAIN',
      '[redacted PLAIN]',
      'AUTH XOAUTH2',
      '[redacted XOAUTH2]',
      '',
      'STAT',
    ]);
  });
});
