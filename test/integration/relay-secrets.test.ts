/**
 * A password typed in the relay's user-name field is kept nowhere (issue 12
 * item 6): `mailroom relay start` runs as an admin would run it, an
 * application signs in with its password as the user name (and a known
 * account with a wrong password), and then the database files, log exports
 * in every format, the diagnostics bundle and the relay's stdout are
 * searched for the password in every form the secret-scan tests use
 * (UTF-8, UTF-16LE, hex, base64 and base64url at every alignment,
 * URL-encoded, JSON-escaped). The refusals are logged in a form that cannot
 * carry a secret: a known account by name, anything else by its length.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import nodemailer from 'nodemailer';
import { openMailroom } from '../../src-main/engine/mailroom';
import { exportLogs } from '../../src-main/engine/log-export';
import { staticKeyProvider } from '../../src-main/store/secret-box';
import { CLI } from '../helpers/paths';
import { unzip } from '../helpers/unzip';
import { runCli } from '../helpers/cli';

const KEY = crypto.randomBytes(32);
const env = { MAILROOM_SECRET_KEY: KEY.toString('base64') };
/** What the application sent as its user name: its password. */
const TYPED_PASSWORD = 'Scan-Pässw0rd-2026!';
const ACCOUNT_PASSWORD = 'Relay-Account-Pa55';
const WRONG_PASSWORD = 'Wr0ng-Relay-Pa55-word';
let dir: string;
let dataDir: string;
let relay: ChildProcessWithoutNullStreams | undefined;
let stdout = '';

/** The forms of the secret-scan tests: UTF-8, UTF-16LE, hex (both cases), base64 and base64url at every alignment, URL-encoded, JSON-escaped. */
function leakForms(secret: string): [string, Buffer][] {
  const utf8 = Buffer.from(secret, 'utf8');
  const forms: [string, Buffer][] = [
    ['utf8', utf8],
    ['utf16le', Buffer.from(secret, 'utf16le')],
    ['hex', Buffer.from(utf8.toString('hex'))],
    ['HEX', Buffer.from(utf8.toString('hex').toUpperCase())],
    ['url', Buffer.from(encodeURIComponent(secret))],
    ['json', Buffer.from(JSON.stringify(secret).slice(1, -1))],
  ];
  for (let shift = 0; shift < 3; shift++) {
    const text = Buffer.concat([Buffer.alloc(shift), utf8]).toString('base64').replace(/=+$/, '');
    const core = text.slice(shift ? 4 : 0, text.length - 4);
    forms.push([`base64+${shift}`, Buffer.from(core)], [`base64url+${shift}`, Buffer.from(core.replace(/\+/g, '-').replace(/\//g, '_'))]);
  }
  return forms;
}

function leaksIn(name: string, bytes: Buffer, secrets: string[]): string[] {
  return secrets.flatMap((secret) => leakForms(secret).filter(([, needle]) => bytes.includes(needle)).map(([form]) => `${name}: ${form} of "${secret}"`));
}

async function freePort(): Promise<number> {
  const probe = net.createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', () => resolve()));
  const port = (probe.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

async function signIn(port: number, user: string, pass: string): Promise<number | undefined> {
  const client = nodemailer.createTransport({ host: '127.0.0.1', port, secure: false, ignoreTLS: true, auth: { user, pass }, connectionTimeout: 10_000, greetingTimeout: 10_000, socketTimeout: 20_000 });
  const error = await client.sendMail({ from: 'scanner@example.test', to: 'a@example.net', subject: 's', text: 't' }).then(
    () => undefined,
    (e: unknown) => e as { responseCode?: number },
  );
  client.close();
  return error?.responseCode;
}

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mailroom-relay-secrets-'));
  dataDir = path.join(dir, 'data');
  const add = await runCli(['mailbox', 'add', '--name', 'Support', '--address', 'support@example.test', '--preset', 'generic', '--imap-host', '127.0.0.1', '--smtp-host', '127.0.0.1', '--smtp-auth', 'none', '--data-dir', dataDir], { env, timeoutMs: 60_000 });
  expect(add.code, add.stderr).toBe(0);
  const account = await runCli(['relay', 'account', 'add', 'scanner', '--mailbox', 'Support', '--password-stdin', '--data-dir', dataDir], { env, input: ACCOUNT_PASSWORD, timeoutMs: 60_000 });
  expect(account.code, account.stderr).toBe(0);
});

afterAll(() => {
  relay?.kill('SIGKILL');
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

describe('a password in the relay user-name field', () => {
  it('is logged by its length only, and is in no database file, log export, bundle or stdout', async () => {
    const port = await freePort();
    relay = spawn(process.execPath, [CLI, 'relay', 'start', '--port', String(port), '--data-dir', dataDir], { env: { ...process.env, MAILROOM_DATA_DIR: '', ...env } });
    relay.stdout.on('data', (d) => (stdout += d));
    relay.stderr.on('data', (d) => (stdout += d));
    await expect.poll(() => stdout, { timeout: 30_000 }).toContain('Relay listening');

    expect(await signIn(port, TYPED_PASSWORD, 'anything-at-all')).toBe(535);
    expect(await signIn(port, 'scanner', WRONG_PASSWORD)).toBe(535);
    await expect.poll(() => stdout.match(/Relay sign-in refused/g)?.length ?? 0, { timeout: 15_000 }).toBe(2);
    expect(stdout).toContain(`Relay sign-in refused for an unknown user name (${[...TYPED_PASSWORD].length} characters) from 127.0.0.1`);
    expect(stdout).toContain('Relay sign-in refused for account scanner (wrong password) from 127.0.0.1');
    relay.kill('SIGINT');
    await new Promise((resolve) => relay!.once('close', resolve));
    relay = undefined;

    const secrets = [TYPED_PASSWORD, WRONG_PASSWORD, ACCOUNT_PASSWORD];
    const leaks: string[] = leaksIn('stdout', Buffer.from(stdout), secrets);
    const engine = openMailroom({ dataDir, keyProvider: staticKeyProvider(KEY) });
    try {
      const refusals = engine.log.query({ code: 'RELAY_AUTH_FAILED' });
      expect(refusals.map((r) => r.message).sort()).toEqual([
        'Relay sign-in refused for account scanner (wrong password) from 127.0.0.1',
        `Relay sign-in refused for an unknown user name (${[...TYPED_PASSWORD].length} characters) from 127.0.0.1`,
      ]);
      for (const format of ['txt', 'html', 'xlsx'] as const) {
        const file = path.join(dir, `logs.${format}`);
        await exportLogs(engine.log, {}, format, file);
        leaks.push(...leaksIn(`logs.${format}`, fs.readFileSync(file), secrets));
        if (format === 'xlsx') for (const [name, bytes] of await unzip(file)) leaks.push(...leaksIn(`logs.xlsx/${name}`, bytes, secrets));
      }
      const bundle = path.join(dir, 'bundle.zip');
      await engine.diagnostics.createBundle(bundle, { runtime: 'test' });
      leaks.push(...leaksIn('bundle.zip', fs.readFileSync(bundle), secrets));
      for (const [name, bytes] of await unzip(bundle)) {
        leaks.push(...leaksIn(`bundle/${name}`, bytes, secrets));
        // The relay's own credential (the account's hash) stays on this computer too.
        expect(bytes.toString('utf8'), name).not.toMatch(/scrypt\$/);
      }
    } finally {
      engine.close();
    }
    for (const file of fs.readdirSync(dataDir)) {
      const full = path.join(dataDir, file);
      if (fs.statSync(full).isFile()) leaks.push(...leaksIn(file, fs.readFileSync(full), secrets));
    }
    expect(leaks).toEqual([]);
  }, 120_000);
});
