/**
 * One data key across real processes (issue 12, item 7): the `mailroom` CLI
 * and the `mailroom console` server as scripts start them, and the desktop
 * app's key module in-process (Electron stubbed at safeStorage only), all on
 * one data folder. This runs the platform's real key store: DPAPI through
 * @primno/dpapi on Windows, the owner-only key file elsewhere. A password is
 * proved readable by signing in with it to a real SMTP server (smtp-server),
 * never by printing it.
 */
import crypto from 'node:crypto';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { openMailroom } from '../../src-main/engine/mailroom';
import { KEY_FILE, PROTECTED_KEY_FILE, SAFE_STORAGE_KEY_FILE } from '../../src-main/engine/keys';
import { staticKeyProvider } from '../../src-main/store/secret-box';
import { makeTestCerts, type TestCerts } from '../helpers/certs';
import { runCli } from '../helpers/cli';
import { CLI } from '../helpers/paths';
import { startSmtpPeer, type SmtpPeer } from '../helpers/smtp-peer';
import { tempDir } from '../helpers/temp';

/** Electron's safeStorage, stubbed: Chromium's "v10" AES-256-GCM under a key of this user. */
const SAFE_KEY = crypto.randomBytes(32);
const safeStorage = {
  isEncryptionAvailable: () => true,
  encryptString(text: string): Buffer {
    const nonce = crypto.randomBytes(12);
    const cipher = crypto.createCipheriv('aes-256-gcm', SAFE_KEY, nonce);
    const body = Buffer.concat([cipher.update(text, 'utf8'), cipher.final()]);
    return Buffer.concat([Buffer.from('v10'), nonce, body, cipher.getAuthTag()]);
  },
  decryptString(encrypted: Buffer): string {
    const decipher = crypto.createDecipheriv('aes-256-gcm', SAFE_KEY, encrypted.subarray(3, 15));
    decipher.setAuthTag(encrypted.subarray(encrypted.length - 16));
    return Buffer.concat([decipher.update(encrypted.subarray(15, encrypted.length - 16)), decipher.final()]).toString('utf8');
  },
};
vi.mock('electron', () => ({ safeStorage }));
const { appKeyProvider } = await import('../../src-main/app/app-key');

const PASSWORD = 'One-Key!Pass-7781';
/** The key file of this platform. */
const PLATFORM_KEY_FILE = process.platform === 'win32' ? PROTECTED_KEY_FILE : KEY_FILE;

let certs: TestCerts;
let peer: SmtpPeer;
const USERS = ['cli@example.test', 'app@example.test', 'console@example.test', 'old@example.test'];

beforeAll(async () => {
  certs = makeTestCerts();
  peer = await startSmtpPeer({ tls: 'starttls', cert: certs.leaf, users: Object.fromEntries(USERS.map((u) => [u, PASSWORD])) });
});
afterAll(async () => {
  await peer?.stop();
});

const env = () => ({ MAILROOM_TEST_PASSWORD: PASSWORD, NODE_EXTRA_CA_CERTS: certs.ca.certPath });

function smtpSettings(user: string) {
  return { host: '127.0.0.1', port: peer.port, security: 'starttls' as const, username: user };
}

function mailboxInput(name: string, user: string) {
  return { name, address: user, preset: 'generic' as const, enabled: false, imap: { host: '127.0.0.1' }, smtp: smtpSettings(user), password: PASSWORD };
}

/** `mailroom mailbox add` storing PASSWORD, as a script would. */
async function cliAdd(dataDir: string, name: string, user: string) {
  return runCli(
    ['mailbox', 'add', '--name', name, '--address', user, '--imap-host', '127.0.0.1', '--smtp-host', '127.0.0.1', '--smtp-port', String(peer.port), '--smtp-security', 'starttls', '--disabled', '--password-env', 'MAILROOM_TEST_PASSWORD', '--json', '--data-dir', dataDir],
    { env: env() },
  );
}

/** `mailroom test mailbox <name> --outgoing`: signs in with the stored password. */
async function cliSignsIn(dataDir: string, name: string) {
  const result = await runCli(['test', 'mailbox', name, '--outgoing', '--json', '--data-dir', dataDir], { env: env(), timeoutMs: 60_000 });
  return result;
}

/** The desktop app's provider over the folder, in this process. */
function appEngine(dataDir: string) {
  return openMailroom({ dataDir, keyProvider: appKeyProvider(dataDir, { env: {} }) });
}

/** `mailroom console` in its own process, and calls to its API. */
interface ConsoleProcess {
  invoke(channel: string, payload: unknown): Promise<any>;
  stop(): Promise<void>;
}

const consoles: ChildProcess[] = [];
afterEach(() => {
  for (const child of consoles.splice(0)) child.kill('SIGKILL');
});

async function startConsole(dataDir: string): Promise<ConsoleProcess> {
  const child = spawn(process.execPath, [CLI, 'console', '--json', '--port', '0', '--data-dir', dataDir], {
    env: { ...process.env, MAILROOM_DATA_DIR: '', MAILROOM_SECRET_KEY: '', ...env() },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  consoles.push(child);
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  const first = await new Promise<string>((resolve, reject) => {
    const lines = readline.createInterface({ input: child.stdout! });
    lines.once('line', resolve);
    child.once('exit', (code) => reject(new Error(`console exited ${code}: ${stderr}`)));
  });
  const { url } = JSON.parse(first) as { url: string };
  const address = new URL(url);
  const token = address.searchParams.get('token')!;
  return {
    async invoke(channel, payload) {
      const response = await fetch(`${address.origin}/api/invoke`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-mailroom-token': token },
        body: JSON.stringify({ channel, payload }),
      });
      expect(response.status).toBe(200);
      return response.json();
    },
    async stop() {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

function keyFiles(dataDir: string): string[] {
  return fs.readdirSync(dataDir).filter((f) => f.startsWith('secret.key')).sort();
}

beforeEach(() => {
  peer.authAttempts.length = 0;
});

// Child processes on a busy 2-core machine: generous bounds, nothing waits on a clock.
describe('one key for the CLI, the browser console and the desktop app', { timeout: 180_000 }, () => {
  it('each stores a password the other two sign in with', async () => {
    const dir = tempDir();
    // The CLI stores one.
    const added = await cliAdd(dir, 'Cli', USERS[0]!);
    expect(added.code, added.stdout + added.stderr).toBe(0);

    // The desktop app reads it, and stores one of its own.
    const app = appEngine(dir);
    const cliBox = app.mailboxes.resolve('Cli');
    expect(app.mailboxes.password(cliBox.id)).toBe(PASSWORD);
    const appBox = app.mailboxes.create(mailboxInput('App', USERS[1]!));
    app.close();

    // The browser console signs in with both, and stores one.
    const console = await startConsole(dir);
    for (const id of [cliBox.id, appBox.id]) {
      const run = await console.invoke('connectionTests.run', { mailboxId: id, direction: 'outgoing' });
      expect(run.ok, JSON.stringify(run)).toBe(true);
      expect(run.value[0].ok, JSON.stringify(run.value[0].diagnosis)).toBe(true);
    }
    const info = await console.invoke('app.info', {});
    expect(info.value.secretKeySource).toContain(path.join(dir, PLATFORM_KEY_FILE));
    const created = await console.invoke('mailboxes.create', mailboxInput('Console', USERS[2]!));
    expect(created.ok, JSON.stringify(created)).toBe(true);
    await console.stop();

    // The CLI signs in with the app's and the console's.
    for (const name of ['App', 'Console']) {
      const signedIn = await cliSignsIn(dir, name);
      expect(signedIn.code, `${name}: ${signedIn.stdout}${signedIn.stderr}`).toBe(0);
    }
    // The app reads the console's.
    const again = appEngine(dir);
    expect(again.mailboxes.password(created.value.id)).toBe(PASSWORD);
    again.close();

    expect(peer.authAttempts.map((a) => a.username).sort()).toEqual([USERS[0], USERS[1], USERS[1], USERS[2]].sort());
    expect(keyFiles(dir)).toEqual([PLATFORM_KEY_FILE]);
  });

  it('a folder of an older desktop app (secret.key.safe): the CLI says to open the app once; after the app, the CLI signs in', async () => {
    const dir = tempDir();
    const oldKey = crypto.randomBytes(32);
    fs.writeFileSync(path.join(dir, SAFE_STORAGE_KEY_FILE), safeStorage.encryptString(oldKey.toString('base64')));
    const old = openMailroom({ dataDir: dir, keyProvider: staticKeyProvider(oldKey, 'older app') });
    old.mailboxes.create(mailboxInput('Old', USERS[3]!));
    old.close();

    const refused = await cliSignsIn(dir, 'Old');
    expect(refused.code).toBe(1);
    expect(refused.json.error.code).toBe('SECRET_KEY_NEEDS_APP');
    expect(refused.json.error.hint).toMatch(/Open the Mailroom desktop app once/);
    expect(refused.stdout + refused.stderr).not.toContain(oldKey.toString('base64'));
    expect(keyFiles(dir)).toEqual([SAFE_STORAGE_KEY_FILE]);

    const app = appEngine(dir);
    expect(app.mailboxes.password(app.mailboxes.resolve('Old').id)).toBe(PASSWORD);
    app.close();
    expect(keyFiles(dir)).toEqual([PLATFORM_KEY_FILE]);

    const signedIn = await cliSignsIn(dir, 'Old');
    expect(signedIn.code, signedIn.stdout + signedIn.stderr).toBe(0);
  });

  it('six CLI processes started at once on a fresh folder end with one key that opens every password', async () => {
    const dir = tempDir();
    const names = Array.from({ length: 6 }, (_, i) => `Box${i}`);
    const results = await Promise.all(names.map((name) => cliAdd(dir, name, USERS[0]!)));
    for (const r of results) expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(keyFiles(dir)).toEqual([PLATFORM_KEY_FILE]);
    expect(fs.readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    const app = appEngine(dir);
    for (const name of names) expect(app.mailboxes.password(app.mailboxes.resolve(name).id), name).toBe(PASSWORD);
    app.close();
  });
});
