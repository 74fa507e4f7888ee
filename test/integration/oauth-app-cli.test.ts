/**
 * `mailroom oauth app` and `--auth oauth2-app` as an admin runs them: the
 * built CLI in a child process against the test IdP (client credentials).
 * Secrets come only from environment variables named on the command line;
 * validation names the flags typed; the client secret's expiry warning
 * shows in `oauth status` and `mailbox show`.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli';
import { makeAppCertificate, startTestIdp, type AppCertificate, type TestIdp } from '../helpers/oauth-idp';
import { tempDir } from '../helpers/temp';

let idp: TestIdp;
let cert: AppCertificate;
const KEY = crypto.randomBytes(32).toString('hex');

beforeAll(async () => {
  idp = await startTestIdp();
  cert = makeAppCertificate();
  idp.app.certificatePem = cert.certPem;
});
afterAll(async () => {
  await idp.stop();
  cert.remove();
});

const env = (extra: Record<string, string> = {}) => ({ NODE_EXTRA_CA_CERTS: idp.certs.caFile, MAILROOM_SECRET_KEY: KEY, ...extra });
const soon = (days: number) => new Date(Date.now() + days * 86_400_000).toISOString().slice(0, 10);

async function mailbox(dataDir: string): Promise<void> {
  const add = await runCli(['mailbox', 'add', '--name', 'Support', '--address', 'support@contoso.test', '--preset', 'microsoft365', '--auth', 'oauth2-app', '--json', '--data-dir', dataDir], { env: env() });
  expect(add.code, add.stderr).toBe(0);
  expect(JSON.parse(add.stdout)).toMatchObject({ imap: { auth: 'oauth2-app' }, smtp: { auth: 'oauth2-app' } });
}

describe('mailroom oauth app', () => {
  it('stores a client secret from an environment variable, never prints it, and warns 30 days before it expires', async () => {
    const dataDir = tempDir();
    await mailbox(dataDir);
    const saved = await runCli(
      ['oauth', 'app', '--tenant', idp.tenantId, '--client-id', idp.clientId, '--authority', idp.authorityHost, '--secret-env', 'APP_SECRET', '--secret-expires', soon(12), '--json', '--data-dir', dataDir],
      { env: env({ APP_SECRET: idp.app.clientSecret }) },
    );
    expect(saved.code, saved.stderr).toBe(0);
    expect(JSON.parse(saved.stdout)).toMatchObject({ configured: true, credential: 'secret', secretSet: true, secretExpiry: { state: 'soon' } });
    const status = await runCli(['oauth', 'status', 'Support', '--check', '--data-dir', dataDir], { env: env() });
    expect(status.code, status.stdout + status.stderr).toBe(0);
    expect(status.stdout).toMatch(/app-only, ready/);
    expect(status.stdout).toMatch(/WARNING .*expires in 1[12] days/);
    const show = await runCli(['mailbox', 'show', 'Support', '--data-dir', dataDir], { env: env() });
    expect(show.stdout).toMatch(/WARNING .*client secret .*expires in 1[12] days/);
    const showJson = JSON.parse((await runCli(['mailbox', 'show', 'Support', '--json', '--data-dir', dataDir], { env: env() })).stdout);
    expect(showJson.appOnly).toMatchObject({ configured: true, secretExpiry: { state: 'soon' } });
    const logs = await runCli(['logs', '--json', '--data-dir', dataDir], { env: env() });
    const everything = [saved.stdout, saved.stderr, status.stdout, show.stdout, logs.stdout, fs.readFileSync(path.join(dataDir, 'mailroom.db')).toString('latin1')].join('\n');
    expect(everything).not.toContain(idp.app.clientSecret);
    // The warning went to the log once, however many commands looked.
    expect(logs.stdout.match(/OAUTH_CLIENT_SECRET_EXPIRING/g)).toHaveLength(1);
  }, 60_000);

  it('stores a certificate from a PFX with its password from an environment variable, and gets a token with it', async () => {
    const dataDir = tempDir();
    await mailbox(dataDir);
    const pfx = path.join(dataDir, 'mailroom.pfx');
    fs.writeFileSync(pfx, cert.pfxAes);
    const saved = await runCli(
      ['oauth', 'app', '--tenant', idp.tenantId, '--client-id', idp.clientId, '--authority', idp.authorityHost, '--certificate', pfx, '--certificate-password-env', 'PFX_PW', '--json', '--data-dir', dataDir],
      { env: env({ PFX_PW: cert.pfxPassword }) },
    );
    expect(saved.code, saved.stderr).toBe(0);
    expect(JSON.parse(saved.stdout)).toMatchObject({ credential: 'certificate', certificate: { thumbprintSha256: cert.thumbprintSha256 } });
    const status = await runCli(['oauth', 'status', 'Support', '--check', '--json', '--data-dir', dataDir], { env: env() });
    expect(status.code, status.stdout).toBe(0);
    expect(JSON.parse(status.stdout)).toMatchObject({ kind: 'app', state: 'signed-in', lastError: null });
    expect([...idp.issuedAppTokens().values()].at(-1)?.via).toBe('certificate');
  }, 60_000);

  it('refuses a secret given as a flag value without repeating it (exit 2)', async () => {
    const dataDir = tempDir();
    const run = await runCli(['oauth', 'app', '--tenant', idp.tenantId, '--client-id', idp.clientId, '--secret', 'Hunter2-very-secret', '--json', '--data-dir', dataDir], { env: env() });
    expect(run.code).toBe(2);
    expect(run.stdout + run.stderr).not.toContain('Hunter2-very-secret');
    expect(JSON.parse(run.stdout).error.hint).toContain('--secret-env');
  });

  it.each([
    [['--secret-env', 'APP_SECRET', '--secret-expires', '2027-02-30'], '--secret-expires'],
    [['--secret-env', 'APP_SECRET', '--client-id', 'not-a-guid'], '--client-id'],
    [['--secret-env', 'NOT_SET_ANYWHERE'], '--secret-env'],
    [['--secret-env', 'APP_SECRET', '--certificate', 'x.pfx'], '--certificate'],
    [['--certificate-password-env', 'PFX_PW'], '--certificate'],
  ])('names the flag in its validation message: %j', async (flags, flag) => {
    const dataDir = tempDir();
    const run = await runCli(['oauth', 'app', '--tenant', idp.tenantId, '--client-id', idp.clientId, ...flags, '--json', '--data-dir', dataDir], { env: env({ APP_SECRET: 'x' }) });
    expect(run.code, run.stdout).toBe(2);
    const error = JSON.parse(run.stdout).error;
    expect(`${error.message} ${error.hint ?? ''}`).toContain(flag);
  });

  it('refuses --auth values it does not know and mixing a person\'s sign-in with app-only, naming the flags', async () => {
    const dataDir = tempDir();
    const bad = await runCli(['mailbox', 'add', '--name', 'S', '--address', 's@contoso.test', '--preset', 'microsoft365', '--auth', 'oauth3', '--json', '--data-dir', dataDir], { env: env() });
    expect(bad.code).toBe(2);
    expect(JSON.parse(bad.stdout).error.message).toMatch(/--auth .*oauth2-app/);
    const mixed = await runCli(['mailbox', 'add', '--name', 'S', '--address', 's@contoso.test', '--preset', 'microsoft365', '--auth', 'oauth2', '--smtp-auth', 'oauth2-app', '--json', '--data-dir', dataDir], { env: env() });
    expect(mixed.code).toBe(2);
    expect(JSON.parse(mixed.stdout).error.message).toMatch(/--auth must not mix oauth2/);
  });
});
