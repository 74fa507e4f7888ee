/**
 * `mailroom oauth ...` as an admin runs it: the built CLI in a child process
 * against the test IdP (HTTPS, trusted through NODE_EXTRA_CA_CERTS). The
 * "browser" is a real HTTP client that follows the printed address.
 */
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, type CliResult } from '../helpers/cli';
import { CLI } from '../helpers/paths';
import { startTestIdp, type TestIdp } from '../helpers/oauth-idp';
import { tempDir } from '../helpers/temp';

let idp: TestIdp;
const KEY = crypto.randomBytes(32).toString('hex');

beforeAll(async () => {
  idp = await startTestIdp();
});
afterAll(async () => {
  await idp.stop();
});

const envFor = () => ({ NODE_EXTRA_CA_CERTS: idp.certs.caFile, MAILROOM_SECRET_KEY: KEY });

async function setUp(): Promise<string> {
  const dataDir = tempDir();
  const add = await runCli(['mailbox', 'add', '--name', 'Support', '--address', 'support@contoso.test', '--preset', 'microsoft365', '--json', '--data-dir', dataDir], { env: envFor() });
  expect(add.code, add.stderr).toBe(0);
  const settings = await runCli(
    ['oauth', 'settings', '--tenant', idp.tenantId, '--client-id', idp.clientId, '--authority', idp.authorityHost, '--redirect-host', '127.0.0.1', '--json', '--data-dir', dataDir],
    { env: envFor() },
  );
  expect(settings.code, settings.stdout + settings.stderr).toBe(0);
  return dataDir;
}

/** Runs `oauth login`, plays the browser once the address is printed, and returns the CLI's result. */
function loginWithBrowser(dataDir: string, extra: string[] = []): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, 'oauth', 'login', 'Support', '--json', '--timeout', '30', '--data-dir', dataDir, ...extra], {
      env: { ...process.env, MAILROOM_DATA_DIR: '', ...envFor() },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let browsed = false;
    const timer = setTimeout(() => child.kill('SIGKILL'), 40_000);
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => {
      stderr += d;
      const url = /(https:\/\/127\.0\.0\.1:\d+\/authorize\?\S+)/.exec(stderr)?.[1];
      if (url && !browsed) {
        browsed = true;
        void (async () => {
          const answer = await idp.authorize(url);
          await fetch(answer.location.origin + '/', {
            method: 'POST',
            headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
            body: new URLSearchParams({ code: answer.code!, state: answer.state! }).toString(),
          });
        })().catch(reject);
      }
    });
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      let json: unknown;
      try {
        json = JSON.parse(stdout);
      } catch {
        json = undefined;
      }
      resolve({ code: code ?? -1, stdout, stderr, json });
    });
  });
}

describe('mailroom oauth', () => {
  it('settings: shows, checks and saves the app registration', async () => {
    const dataDir = tempDir();
    const empty = await runCli(['oauth', 'settings', '--data-dir', dataDir], { env: envFor() });
    expect(empty.stdout).toContain('not set up yet');
    const saved = await runCli(['oauth', 'settings', '--tenant', idp.tenantId, '--client-id', idp.clientId, '--authority', idp.authorityHost, '--json', '--data-dir', dataDir], { env: envFor() });
    expect(saved.code, saved.stderr).toBe(0);
    expect(saved.json.settings).toMatchObject({ configured: true, tenant: idp.tenantId, clientId: idp.clientId, redirectUriToRegister: 'http://localhost' });
    expect(saved.json.validation.valid).toBe(true);
    const shown = await runCli(['oauth', 'settings', '--data-dir', dataDir], { env: envFor() });
    expect(shown.stdout).toContain(`client id       ${idp.clientId}`);
  });

  it('settings: a full authority URL with the tenant in it is split into host and tenant', async () => {
    const dataDir = tempDir();
    const r = await runCli(['oauth', 'settings', '--client-id', idp.clientId, '--authority', `${idp.authorityHost}/${idp.tenantId}/v2.0`, '--json', '--data-dir', dataDir], { env: envFor() });
    expect(r.code, r.stderr).toBe(0);
    expect(r.json.settings).toMatchObject({ tenant: idp.tenantId, authorityHost: idp.authorityHost, authority: `${idp.authorityHost}/${idp.tenantId}` });
  });

  it('settings: a malformed client id is a usage error naming the flag', async () => {
    const r = await runCli(['oauth', 'settings', '--tenant', idp.tenantId, '--client-id', 'my-app', '--json', '--data-dir', tempDir()], { env: envFor() });
    expect(r.code).toBe(2);
    expect(r.json.error.code).toBe('VALIDATION_FAILED');
    expect(r.json.error.message).toContain('--client-id');
    expect(r.json.error.message).toContain('Application (client) ID');
  });

  it('login prints the address, waits for the browser and stores the tokens; status and logout follow', async () => {
    const dataDir = await setUp();
    const login = await loginWithBrowser(dataDir);
    expect(login.code, login.stderr).toBe(0);
    expect(login.stderr).toContain('Open this address in a browser');
    expect(login.json.signIn.state).toBe('succeeded');
    expect(login.json.health).toMatchObject({ state: 'signed-in', account: 'support@contoso.test' });
    for (const token of [...idp.issuedAccessTokens(), ...idp.issuedRefreshTokens()]) {
      expect(login.stdout.includes(token) || login.stderr.includes(token)).toBe(false);
    }

    const status = await runCli(['oauth', 'status', 'Support', '--check', '--json', '--data-dir', dataDir], { env: envFor() });
    expect(status.code, status.stderr).toBe(0);
    expect(status.json).toMatchObject({ state: 'signed-in', account: 'support@contoso.test', lastError: null });
    const text = await runCli(['oauth', 'status', 'Support', '--data-dir', dataDir], { env: envFor() });
    expect(text.stdout).toContain('Support: signed in');
    expect(text.stdout).toContain('https://outlook.office.com/SMTP.Send');

    const logout = await runCli(['oauth', 'logout', 'Support', '--json', '--data-dir', dataDir], { env: envFor() });
    expect(logout.code).toBe(0);
    expect(logout.json.state).toBe('not-signed-in');
  });

  it('login refuses another account with OAUTH_WRONG_ACCOUNT (exit 1)', async () => {
    const dataDir = await setUp();
    idp.user.username = 'someone.else@contoso.test';
    try {
      const login = await loginWithBrowser(dataDir);
      expect(login.code).toBe(1);
      expect(login.json.error.code).toBe('OAUTH_WRONG_ACCOUNT');
      expect(login.json.error.hint).toContain('Sign in again as support@contoso.test');
    } finally {
      idp.user.username = 'support@contoso.test';
    }
  });

  it('status of a revoked sign-in says "sign in again" with exit code 1', async () => {
    const dataDir = await setUp();
    idp.accessTokenLifetimeSeconds = 60;
    try {
      expect((await loginWithBrowser(dataDir)).code).toBe(0);
      idp.revokeAll();
      const status = await runCli(['oauth', 'status', 'Support', '--check', '--json', '--data-dir', dataDir], { env: envFor() });
      expect(status.code).toBe(1);
      expect(status.json.state).toBe('sign-in-required');
      expect(status.json.lastError.code).toBe('OAUTH_SIGN_IN_REQUIRED');
    } finally {
      idp.accessTokenLifetimeSeconds = 3600;
    }
  });
});
