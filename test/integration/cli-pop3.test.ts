/**
 * POP3 on the command line, as scripts run it (the built dist/cli in a
 * child process): `mailbox add|update --incoming pop3 --pop3-*`, `test pop3`
 * against Dovecot POP3 and a scripted Exchange with the JSON and exit codes
 * of `test imap`, `test mailbox` of a POP3 mailbox, the result kept in the
 * history with --keep, and no secret in any output or file.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, type CliResult } from '../helpers/cli';
import { makeTestCerts, type TestCerts } from '../helpers/certs';
import { startDovecot, type Dovecot } from '../helpers/dovecot';
import { startExchangePop3 } from '../helpers/pop3-peers';
import type { ScriptedServer } from '../helpers/scripted-server';
import { tempDir } from '../helpers/temp';

const USER = 'support@example.test';
const PASSWORD = 'Cli-Pop3-Secret!42';
const SECRET_FORMS = [PASSWORD, Buffer.from(PASSWORD).toString('base64'), Buffer.from(`\u0000${USER}\u0000${PASSWORD}`).toString('base64')];
const GENERIC = ['--preset', 'generic', '--imap-host', 'imap.example.test', '--smtp-host', 'smtp.example.test'];

function expectNoSecrets(result: CliResult, dataDir: string): void {
  for (const form of SECRET_FORMS) {
    expect(result.stdout.includes(form), 'stdout holds a secret').toBe(false);
    expect(result.stderr.includes(form), 'stderr holds a secret').toBe(false);
  }
  for (const file of fs.existsSync(dataDir) ? fs.readdirSync(dataDir) : []) {
    if (!fs.statSync(path.join(dataDir, file)).isFile()) continue;
    const bytes = fs.readFileSync(path.join(dataDir, file)).toString('latin1');
    for (const form of SECRET_FORMS) expect(bytes.includes(form), `${file} holds a secret`).toBe(false);
  }
}

describe('mailroom and POP3', () => {
  let certs: TestCerts;
  let dovecot: Dovecot;
  let exchange: ScriptedServer;
  const env = () => ({ MAILROOM_TEST_PASSWORD: PASSWORD, NODE_EXTRA_CA_CERTS: certs.ca.certPath });

  beforeAll(async () => {
    certs = makeTestCerts();
    [dovecot, exchange] = await Promise.all([
      startDovecot({ users: { [USER]: PASSWORD }, ssl: { cert: certs.leaf }, pop3: true, messages: [{ user: USER, raw: 'From: a@example.test\r\nSubject: one\r\n\r\nbody\r\n' }] }),
      startExchangePop3(),
    ]);
  }, 60_000);

  afterAll(async () => {
    await Promise.all([dovecot?.stop(), exchange?.stop()]);
    certs?.remove();
  });

  it('test pop3 passes against Dovecot POP3S with the JSON of test imap, exit 0, and --keep puts it in the history', async () => {
    const dataDir = tempDir();
    const result = await runCli(['test', 'pop3', '--host', '127.0.0.1', '--port', String(dovecot.pop3TlsPort), '--security', 'tls', '--auth', 'password', '--user', USER, '--password-env', 'MAILROOM_TEST_PASSWORD', '--timeout-ms', '20000', '--json', '--keep', '--data-dir', dataDir], { env: env() });
    expect(result.code, result.stderr + result.stdout).toBe(0);
    expect(Object.keys(result.json).sort()).toEqual(['diagnosis', 'ok', 'protocol', 'steps', 'target', 'transcript']);
    expect(result.json).toMatchObject({ ok: true, protocol: 'pop3', target: { host: '127.0.0.1', port: dovecot.pop3TlsPort, security: 'tls' }, diagnosis: null });
    expect(result.json.steps.map((s: { name: string }) => s.name)).toEqual(['dns', 'tcp', 'tls', 'greeting', 'capability', 'starttls', 'auth', 'stat']);
    expectNoSecrets(result, dataDir);
    const history = await runCli(['logs', '--json', '--data-dir', dataDir]);
    expect(history.stdout).toContain(`POP3 test of 127.0.0.1:${dovecot.pop3TlsPort} passed`);
  });

  it('test pop3 over STLS prints the steps, the transcript with PASS/AUTH redacted and the curl command', async () => {
    const result = await runCli(['test', 'pop3', '--host', '127.0.0.1', '--port', String(dovecot.pop3Port), '--security', 'starttls', '--user', USER, '--password-env', 'MAILROOM_TEST_PASSWORD'], { env: env() });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/ok\s+stat\s+\d+ ms\s+1 message, /);
    expect(result.stdout).toContain(`AUTH PLAIN`);
    expect(result.stdout).toContain(`[redacted: base64 of user "${USER}" and the password]`);
    expect(result.stdout).toContain(`--url 'pop3://127.0.0.1:${dovecot.pop3Port}' --ssl-reqd --cacert '${certs.ca.certPath}' --user '${USER}:<PASSWORD>' --request STAT --head`);
    expect(result.stdout).not.toContain(PASSWORD);
  });

  it("test pop3 against Exchange's logon failure exits 1 with AUTH_FAILED and the server's reply", async () => {
    const dataDir = tempDir();
    const result = await runCli(['test', 'pop3', '--host', '127.0.0.1', '--port', String(exchange.port), '--security', 'none', '--user', USER, '--password-env', 'MAILROOM_TEST_PASSWORD', '--json', '--keep', '--data-dir', dataDir], { env: env() });
    expect(result.code).toBe(1);
    expect(result.json.diagnosis).toMatchObject({ code: 'AUTH_FAILED', step: 'auth', serverReply: '-ERR Logon failure: unknown user name or bad password.' });
    expect(result.json.transcript.filter((l: { dir: string }) => l.dir === 'C').map((l: { text: string }) => l.text)).toContain('PASS [redacted password]');
    expectNoSecrets(result, dataDir);
  });

  it('usage errors exit 2 with JSON: a folder (POP3 has none), xoauth2 without a token, a bad port', async () => {
    for (const args of [
      ['--folder', 'INBOX'],
      ['--auth', 'xoauth2'],
      ['--port', '99999'],
    ]) {
      const result = await runCli(['test', 'pop3', '--host', '127.0.0.1', '--user', USER, ...args, '--json'], { env: env() });
      expect(result.code, args.join(' ')).toBe(2);
      expect(result.json?.ok, args.join(' ')).toBe(false);
    }
  });

  it('mailbox add --incoming pop3, update, show and test mailbox: the incoming side is tested over POP3', async () => {
    const dataDir = tempDir();
    const added = await runCli(
      ['mailbox', 'add', '--name', 'Support', '--address', USER, ...GENERIC, '--incoming', 'pop3', '--pop3-host', '127.0.0.1', '--pop3-port', String(dovecot.pop3TlsPort), '--pop3-security', 'tls', '--password-env', 'MAILROOM_TEST_PASSWORD', '--disabled', '--json', '--data-dir', dataDir],
      { env: env() },
    );
    expect(added.code, added.stdout + added.stderr).toBe(0);
    expect(added.json).toMatchObject({ receiveVia: 'pop3', pop3: { host: '127.0.0.1', port: dovecot.pop3TlsPort, security: 'tls', username: USER, auth: 'password', afterImport: 'leave' } });

    const updated = await runCli(['mailbox', 'update', 'Support', '--pop3-after-import', 'delete', '--json', '--data-dir', dataDir], { env: env() });
    expect(updated.code, updated.stdout + updated.stderr).toBe(0);
    expect(updated.json.pop3).toMatchObject({ afterImport: 'delete', port: dovecot.pop3TlsPort });

    const shown = await runCli(['mailbox', 'show', 'Support', '--data-dir', dataDir]);
    expect(shown.stdout).toContain(`incoming  pop3 127.0.0.1:${dovecot.pop3TlsPort} tls  user ${USER}  auth password  after import delete from the server`);

    // The settings export carries the POP3 side, and an import into another data folder brings it back.
    const exported = path.join(tempDir(), 'settings.json');
    expect((await runCli(['mailbox', 'export', '--out', exported, '--data-dir', dataDir])).code).toBe(0);
    expect(JSON.parse(fs.readFileSync(exported, 'utf8')).mailboxes[0]).toMatchObject({ receiveVia: 'pop3', pop3: { host: '127.0.0.1', afterImport: 'delete' } });
    expect(fs.readFileSync(exported, 'utf8')).not.toContain(PASSWORD);
    const other = tempDir();
    expect((await runCli(['mailbox', 'import', exported, '--data-dir', other, '--json'])).code).toBe(0);
    expect((await runCli(['mailbox', 'show', 'Support', '--json', '--data-dir', other])).json).toMatchObject({ receiveVia: 'pop3', pop3: { port: dovecot.pop3TlsPort, afterImport: 'delete' } });

    const tested = await runCli(['test', 'mailbox', 'Support', '--incoming', '--timeout-ms', '20000', '--json', '--data-dir', dataDir], { env: env() });
    expect(tested.code, tested.stdout + tested.stderr).toBe(0);
    expect(tested.json).toMatchObject({ ok: true, protocol: 'pop3', target: { port: dovecot.pop3TlsPort } });
    expectNoSecrets(tested, dataDir);
  });

  it('mailbox add of an enabled POP3 mailbox asks about the mail already in its maildrop, in POP3 words', async () => {
    const dataDir = tempDir();
    const args = ['mailbox', 'add', '--name', 'Desk', '--address', USER, '--preset', 'generic', '--smtp-host', '127.0.0.1', '--incoming', 'pop3', '--pop3-host', '127.0.0.1', '--pop3-port', String(dovecot.pop3TlsPort), '--password-env', 'MAILROOM_TEST_PASSWORD', '--json', '--data-dir', dataDir];
    const asked = await runCli(args, { env: env() });
    expect(asked.code, asked.stdout + asked.stderr).toBe(2);
    expect(asked.json.error).toMatchObject({ code: 'IMPORT_CHOICE_REQUIRED' });
    expect(asked.json.error.message).toContain('The POP3 maildrop holds 1 message. Enabling the mailbox would import it at once, and each would be left on the server.');
    const fromNow = await runCli([...args, '--import-existing', 'no'], { env: env() });
    expect(fromNow.code, fromNow.stdout + fromNow.stderr).toBe(0);
    expect(fromNow.stderr).toContain('the 1 message already in the POP3 maildrop is left as it is');
    expect(fromNow.json).toMatchObject({ enabled: true, receiveVia: 'pop3' });
    expect(dovecot.inboxCount(USER)).toBe(1);
  });

  it('mailbox add --incoming pop3 needs no IMAP server: the kept IMAP settings take the POP3 host', async () => {
    const dataDir = tempDir();
    const added = await runCli(['mailbox', 'add', '--name', 'Pop only', '--address', USER, '--preset', 'generic', '--smtp-host', 'smtp.example.test', '--incoming', 'pop3', '--pop3-host', 'pop.example.test', '--disabled', '--json', '--data-dir', dataDir]);
    expect(added.code, added.stdout + added.stderr).toBe(0);
    expect(added.json).toMatchObject({ receiveVia: 'pop3', pop3: { host: 'pop.example.test', port: 995 }, imap: { host: 'pop.example.test' } });
    // Switching such a mailbox to IMAP later asks for nothing new, but its IMAP host is the POP3 host until changed.
    const imapOnly = await runCli(['mailbox', 'add', '--name', 'Imap only', '--address', 'other@example.test', '--preset', 'generic', '--smtp-host', 'smtp.example.test', '--json', '--data-dir', dataDir]);
    expect(imapOnly.code).toBe(2);
    expect(imapOnly.json.error.issues).toEqual([expect.objectContaining({ path: '--imap-host' })]);
  });

  it('mailbox add --incoming pop3 without a POP3 server names --pop3-host (exit 2); a bad --pop3-security is refused by its choices', async () => {
    const dataDir = tempDir();
    const missing = await runCli(['mailbox', 'add', '--name', 'Support', '--address', USER, ...GENERIC, '--incoming', 'pop3', '--json', '--data-dir', dataDir]);
    expect(missing.code).toBe(2);
    expect(missing.json.error.issues).toEqual([expect.objectContaining({ path: '--pop3-host' })]);
    const bad = await runCli(['mailbox', 'add', '--name', 'Support', '--address', USER, ...GENERIC, '--incoming', 'pop3', '--pop3-host', 'pop.example.test', '--pop3-security', 'ssl', '--json', '--data-dir', dataDir]);
    expect(bad.code).toBe(2);
    expect(bad.stdout + bad.stderr).toContain('--pop3-security');
  });
});
