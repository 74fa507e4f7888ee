/**
 * `mailroom oauth app`: the organisation's app-only registration (client
 * credentials) for shared mailboxes. The client secret and the PFX password
 * are read from environment variables named on the command line, never
 * from a flag's value; the certificate from a file. Nothing secret is
 * printed.
 */
import path from 'node:path';
import { AppError } from '../../shared/errors.js';
import type { OAuthAppSettings } from '../../shared/oauth-app.js';
import { appOnlySetupSteps } from '../../shared/oauth-app.js';
import { secretFromEnv, withEngine, type CommonOptions } from '../context.js';
import { readInputFile } from '../files.js';
import { printJson, reportError, usageError } from '../output.js';

/** Flags of `oauth app`. */
export interface AppOptions extends CommonOptions {
  tenant?: string;
  clientId?: string;
  authority?: string;
  secretEnv?: string;
  certificate?: string;
  certificatePasswordEnv?: string;
  secretExpires?: string;
  /** Declared hidden only to be refused without echoing the value. */
  secret?: string;
  clientSecret?: string;
}

const day = (ms: number) => new Date(ms).toISOString().slice(0, 10);
const when = (ms: number | null) => (ms === null ? 'never' : `${new Date(ms).toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC')}`);

/** The registration in plain words, with the expiry warning first when there is one. */
export function describeAppSettings(s: OAuthAppSettings): string {
  if (!s.configured) {
    return [
      'App-only access (client credentials) is not set up.',
      'Register it once for the organisation (see the README, "App-only access for shared mailboxes"), then:',
      '  mailroom oauth app --tenant <tenant-id> --client-id <client-id> --secret-env NAME [--secret-expires YYYY-MM-DD]',
      '  mailroom oauth app --tenant <tenant-id> --client-id <client-id> --certificate FILE.pfx [--certificate-password-env NAME]',
      '',
    ].join('\n');
  }
  const lines: string[] = [];
  if (s.secretExpiry && s.secretExpiry.state !== 'ok') lines.push(`WARNING: ${s.secretExpiry.message}`);
  lines.push(
    'App-only registration (client credentials):',
    `  tenant          ${s.tenant}`,
    `  client id       ${s.clientId}`,
    `  sign-in host    ${s.authorityHost}`,
    `  credential      ${s.credential === 'secret' ? 'client secret (stored encrypted, never shown)' : 'certificate (private key stored encrypted)'}`,
  );
  if (s.credential === 'secret') lines.push(`  secret expires  ${s.secretExpiry ? `${day(s.secretExpiry.expiresAt)}${s.secretExpiry.source === 'learned' ? ' (learned from Microsoft: AADSTS7000222)' : ''}` : 'unknown (give --secret-expires YYYY-MM-DD to be warned 30 days ahead)'}`);
  if (s.certificate) {
    lines.push(`  certificate     ${s.certificate.subject}`, `  thumbprint      ${s.certificate.thumbprintSha1} (SHA-1, as Entra lists it)`, `  valid until     ${day(s.certificate.notAfter)}`);
  }
  lines.push(`  last token      ${when(s.lastTokenAt)}`);
  if (s.lastError) {
    lines.push(`  last error      [${s.lastError.code}] ${s.lastError.message}`);
    if (s.lastError.hint) lines.push(`  what to do      ${s.lastError.hint}`);
  }
  if (s.credentialRequired) lines.push('  app-only mail   waits until a working secret or certificate is saved');
  return `${lines.join('\n')}\n`;
}

/** Reads and checks the flags before the data folder is opened: a usage error touches nothing. */
function readFlags(f: AppOptions): Record<string, unknown> | undefined {
  if (f.secret !== undefined || f.clientSecret !== undefined) {
    // Never repeat the value: it is the secret.
    throw usageError(
      `${f.secret !== undefined ? '--secret' : '--client-secret'} is not accepted: a secret on the command line is visible to other programs and kept in the shell history.`,
      'Put the secret\'s Value in an environment variable and name it: --secret-env NAME (PowerShell: $env:NAME = "..."; cmd: set NAME=...).',
    );
  }
  const changing = [f.tenant, f.clientId, f.authority, f.secretEnv, f.certificate, f.certificatePasswordEnv, f.secretExpires].some((v) => v !== undefined);
  if (!changing) return undefined;
  if (f.secretEnv !== undefined && f.certificate !== undefined) {
    throw usageError('Give either --secret-env or --certificate, not both.', 'App-only access signs in with one credential: the client secret (--secret-env NAME) or the certificate (--certificate FILE).');
  }
  if (f.certificatePasswordEnv !== undefined && f.certificate === undefined) {
    throw usageError('--certificate-password-env goes with --certificate.', 'Give the .pfx file: --certificate FILE.pfx --certificate-password-env NAME.');
  }
  if (f.secretExpires !== undefined && f.certificate !== undefined) {
    throw usageError('--secret-expires goes with a client secret, not a certificate.', 'A certificate\'s expiry is read from the certificate itself.');
  }
  const input: Record<string, unknown> = {};
  if (f.secretEnv !== undefined) input.clientSecret = secretFromEnv(f.secretEnv, '--secret-env');
  if (f.certificate !== undefined) {
    const bytes = readInputFile(f.certificate, '--certificate', 256 * 1024);
    const text = bytes.toString('utf8');
    if (text.includes('-----BEGIN')) input.certificatePem = text;
    else if (/\.(pem|crt|cer|key)$/i.test(path.extname(f.certificate)) && !/\.(pfx|p12)$/i.test(f.certificate)) {
      throw new AppError('CERTIFICATE_UNREADABLE', `--certificate: ${f.certificate} is not a PEM file (no -----BEGIN line).`, {
        hint: 'Give a PEM file with the certificate and its private key, or the .pfx/.p12 file with --certificate-password-env NAME.',
      });
    } else input.pfxBase64 = bytes.toString('base64');
    if (f.certificatePasswordEnv !== undefined) input.certificatePassword = secretFromEnv(f.certificatePasswordEnv, '--certificate-password-env');
  }
  if (f.tenant !== undefined) input.tenant = f.tenant;
  if (f.clientId !== undefined) input.clientId = f.clientId;
  if (f.authority !== undefined) input.authorityHost = f.authority;
  if (f.secretExpires !== undefined) input.secretExpiresOn = f.secretExpires;
  return input;
}

export async function oauthApp(f: AppOptions): Promise<void> {
  let flags: Record<string, unknown> | undefined;
  try {
    flags = readFlags(f);
  } catch (error) {
    reportError(error, Boolean(f.json));
    return;
  }
  await withEngine(f, async (engine) => {
    const current = engine.oauth.appOnly.getSettings();
    if (!flags) {
      engine.oauth.appOnly.checkSecretExpiry();
      if (f.json) printJson(current);
      else process.stdout.write(describeAppSettings(current));
      return;
    }
    const credential = flags.clientSecret !== undefined ? 'secret' : flags.certificatePem !== undefined || flags.pfxBase64 !== undefined ? 'certificate' : (current.credential ?? undefined);
    if (!credential) throw usageError('--secret-env NAME or --certificate FILE is required the first time.', 'App-only access signs in with the app registration\'s client secret or certificate.');
    const input = {
      tenant: current.tenant || undefined,
      clientId: current.clientId || undefined,
      ...(current.configured ? { authorityHost: current.authorityHost } : {}),
      ...flags,
      credential,
    };
    if (!input.tenant) throw usageError('--tenant is required the first time: the Directory (tenant) ID from the app registration\'s Overview page.');
    if (!input.clientId) throw usageError('--client-id is required the first time: the Application (client) ID from the app registration\'s Overview page.');
    const saved = engine.oauth.appOnly.saveSettings(input);
    if (f.json) {
      printJson(saved);
      return;
    }
    const steps = appOnlySetupSteps({ tenant: saved.tenant, clientId: saved.clientId });
    process.stdout.write(
      `Saved.\n${describeAppSettings(saved)}\nNext, once per mailbox (Exchange Online PowerShell; the mailbox's App-only set-up fills in its address):\n${steps
        .filter((s) => s.command)
        .map((s) => `  ${s.title}\n    ${s.command}`)
        .join('\n')}\nThen: mailroom mailbox update <mailbox> --auth oauth2-app, and test it: mailroom test <mailbox>\n`,
    );
  });
}
