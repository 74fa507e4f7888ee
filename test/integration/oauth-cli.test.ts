/**
 * `mailroom oauth ...` as an admin runs it: the built CLI in a child process
 * against the test IdP (HTTPS, trusted through NODE_EXTRA_CA_CERTS). The
 * "browser" is a real HTTP client that follows the printed address.
 */
import crypto from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, type CliResult } from '../helpers/cli';
import { startTestIdp, type TestIdp } from '../helpers/oauth-idp';
import { loginWithBrowser as loginAtIdp } from '../helpers/oauth-cli-login';
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

/** Runs `oauth login` for Support, plays the browser once the address is printed, and returns the CLI's result. */
function loginWithBrowser(dataDir: string, extra: string[] = []): Promise<CliResult> {
  return loginAtIdp(idp, dataDir, envFor(), 'Support', extra);
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
