/**
 * `mailroom oauth ...`: sign a mailbox in with Microsoft (the URL is printed,
 * the browser comes back to a listener on 127.0.0.1), token health, sign-out,
 * and the app registration. Tokens are never printed.
 */
import { AppError } from '../../shared/errors.js';
import type { OAuthSettings, OAuthSettingsValidation, TokenHealth } from '../../shared/oauth.js';
import type { TokenDoctorReport } from '../../shared/token-doctor.js';
import { withEngine, type CommonOptions } from '../context.js';
import { printJson, usageError } from '../output.js';
import { toCliWords } from '../../shared/setting-words.js';

const when = (ms: number | null) => (ms === null ? 'never' : `${new Date(ms).toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC')}`);

function describeAppHealth(name: string, h: TokenHealth): string {
  const state = h.state === 'signed-in' ? 'app-only, ready' : h.state === 'sign-in-required' ? 'APP-ONLY CREDENTIAL REFUSED' : 'app-only, not set up';
  const lines = [`${name}: ${state}`];
  const expiry = h.appOnly?.secretExpiry;
  if (expiry && expiry.state !== 'ok') lines.push(`  WARNING        ${expiry.message}`);
  lines.push(`  signs in as    app ${h.appOnly?.clientId || '(none)'} for ${h.expectedAccount} (XOAUTH2 user)`);
  if (h.appOnly?.credential) lines.push(`  credential     ${h.appOnly.credential === 'secret' ? `client secret${expiry ? `, expires ${new Date(expiry.expiresAt).toISOString().slice(0, 10)}` : ', expiry unknown (mailroom oauth app --secret-expires YYYY-MM-DD)'}` : `certificate${h.appOnly.certificateNotAfter ? `, valid until ${new Date(h.appOnly.certificateNotAfter).toISOString().slice(0, 10)}` : ''}`}`);
  lines.push(`  last token     ${when(h.lastRefreshAt)}`);
  if (h.lastError) {
    lines.push(`  last error     [${h.lastError.code}] ${h.lastError.message} (${when(h.lastError.at)})`);
    if (h.lastError.hint) lines.push(`  what to do     ${toCliWords(h.lastError.hint)}`);
  }
  if (h.state !== 'signed-in') lines.push('  set up with    mailroom oauth app --tenant <tenant-id> --client-id <client-id> (--secret-env NAME | --certificate FILE)');
  return lines.join('\n') + '\n';
}

function describeHealth(name: string, h: TokenHealth): string {
  if (h.kind === 'app') return describeAppHealth(name, h);
  const state = h.state === 'signed-in' ? 'signed in' : h.state === 'sign-in-required' ? 'SIGN IN AGAIN' : 'not signed in';
  const lines = [`${name}: ${state}`];
  if (h.account) lines.push(`  account        ${h.account}${h.accountName ? ` (${h.accountName})` : ''}${h.otherAccountAllowed ? `  [allowed for ${h.expectedAccount}]` : ''}`);
  else lines.push(`  expected       ${h.expectedAccount}`);
  if (h.state !== 'not-signed-in') {
    lines.push(`  scopes         ${h.scopes.join(' ') || '(none)'}`);
    if (h.missingScopes.length) lines.push(`  missing        ${h.missingScopes.join(' ')}`);
    // Only a working sign-in refreshes its tokens; after a failure nothing does until someone signs in again.
    lines.push(`  token expires  ${when(h.accessTokenExpiresAt)}${h.state === 'signed-in' ? ' (refreshed automatically)' : ' (not refreshed: sign in again)'}`);
    lines.push(`  signed in      ${when(h.signedInAt)}`);
    lines.push(`  last refresh   ${when(h.lastRefreshAt)}`);
  }
  if (h.lastError) {
    lines.push(`  last error     [${h.lastError.code}] ${h.lastError.message} (${when(h.lastError.at)})`);
    if (h.lastError.hint) lines.push(`  what to do     ${toCliWords(h.lastError.hint)}`);
  }
  if (h.state === 'not-signed-in') lines.push(`  sign in with   mailroom oauth login "${name}"`);
  if (h.state === 'sign-in-required') lines.push(`  sign in again  mailroom oauth login "${name}" (mail waiting for it is sent at once after)`);
  return lines.join('\n') + '\n';
}

export interface LoginOptions extends CommonOptions {
  timeout?: string;
  open?: boolean;
  allowOtherAccount?: boolean;
}

export async function oauthLogin(idOrName: string, f: LoginOptions): Promise<void> {
  await withEngine(f, async (engine) => {
    const mailbox = engine.mailboxes.resolve(idOrName);
    if (f.timeout !== undefined && !/^\d+$/.test(f.timeout)) throw usageError('--timeout takes a whole number of seconds (10 to 3600).');
    const started = await engine.oauth.beginSignIn({
      mailboxId: mailbox.id,
      ...(f.timeout !== undefined ? { timeoutSeconds: Number(f.timeout) } : {}),
      ...(f.allowOtherAccount ? { allowOtherAccount: true } : {}),
    });
    // With --json stdout carries one JSON value at the end: the address goes to stderr.
    const out = f.json ? process.stderr : process.stdout;
    out.write(
      `Open this address in a browser on this computer and sign in as ${mailbox.imap.username || mailbox.address}:\n\n  ${started.url}\n\n` +
        `Waiting up to ${Math.round((started.deadline - started.startedAt) / 1000)} s for Microsoft to send the browser back to ${started.redirectUri} (Ctrl+C cancels)...\n`,
    );
    if (f.open) {
      const { openInBrowser } = await import('../../console-server/open-browser.js');
      openInBrowser(started.url);
    }
    const onInterrupt = () => void engine.oauth.cancelSignIn(started.signInId);
    process.once('SIGINT', onInterrupt);
    let final;
    try {
      final = await engine.oauth.waitForSignIn(started.signInId);
    } finally {
      process.off('SIGINT', onInterrupt);
    }
    if (final.state !== 'succeeded') {
      const e = final.error ?? { code: 'OAUTH_SIGN_IN_FAILED', message: 'The sign-in did not complete.' };
      throw new AppError(e.code, e.message, { ...(e.hint ? { hint: e.hint } : {}), ...(e.detail ? { detail: e.detail } : {}) });
    }
    const health = engine.oauth.health(mailbox.id);
    const released = engine.oauth.releasedMessages(started.signInId);
    if (f.json) printJson({ signIn: { ...final, url: undefined }, health, releasedMessages: released });
    else {
      const due = released
        ? `${released} outgoing message${released === 1 ? '' : 's'} that waited for this sign-in ${released === 1 ? 'is' : 'are'} due now: a running Mailroom sends ${released === 1 ? 'it' : 'them'} within seconds, or run: mailroom engine run --until-idle\n`
        : '';
      process.stdout.write(`Signed in as ${final.account}. Tokens are stored encrypted and refresh themselves.\n${due}${describeHealth(mailbox.name, health)}`);
    }
  });
}

export async function oauthStatus(idOrName: string, f: CommonOptions & { check?: boolean }): Promise<void> {
  await withEngine(f, async (engine) => {
    const mailbox = engine.mailboxes.resolve(idOrName);
    const checked = Date.now();
    engine.oauth.appOnly.checkSecretExpiry();
    const health = f.check ? await engine.oauth.checkToken(mailbox.id) : engine.oauth.health(mailbox.id);
    if (f.json) printJson(health);
    else process.stdout.write(describeHealth(mailbox.name, health));
    // A mailbox that must sign in again, or a check that failed (the server unreachable), is a failed state for scripts.
    if (health.state === 'sign-in-required' || (f.check && health.lastError && health.lastError.at >= checked)) process.exitCode = 1;
  });
}

export async function oauthLogout(idOrName: string, f: CommonOptions): Promise<void> {
  await withEngine(f, async (engine) => {
    const mailbox = engine.mailboxes.resolve(idOrName);
    const health = await engine.oauth.logout(mailbox.id);
    if (f.json) printJson(health);
    else process.stdout.write(`Signed ${mailbox.name} out: its tokens are deleted. Its settings and queued mail are kept. Sign in again with: mailroom oauth login "${mailbox.name}"\n`);
  });
}

function describeSettings(s: OAuthSettings): string {
  if (!s.configured) {
    return [
      'Microsoft 365 sign-in is not set up yet.',
      'Register an app in the Entra admin center (see the README, "Microsoft 365 and OAuth 2.0"), then run:',
      '  mailroom oauth settings --tenant <Directory (tenant) ID> --client-id <Application (client) ID>',
    ].join('\n') + '\n';
  }
  return [
    `tenant          ${s.tenant}`,
    `client id       ${s.clientId}`,
    `authority       ${s.authority}`,
    `redirect URI    ${s.redirectUriToRegister} (register it under "Mobile and desktop applications"; the port is chosen at each sign-in)`,
    `saved           ${when(s.updatedAt)}`,
  ].join('\n') + '\n';
}

function describeChecks(v: OAuthSettingsValidation): string {
  return v.checks.map((c) => `  [${c.status.padEnd(7)}] ${c.message}`).join('\n') + '\n';
}

export interface SettingsOptions extends CommonOptions {
  tenant?: string;
  clientId?: string;
  authority?: string;
  redirectHost?: 'localhost' | '127.0.0.1';
  /** commander's --no-check: false when given. */
  check?: boolean;
}

export async function oauthSettings(f: SettingsOptions): Promise<void> {
  await withEngine(f, async (engine) => {
    const current = engine.oauth.getSettings();
    // Admins often paste the full authority (https://login.microsoftonline.com/<tenant>): split it.
    if (f.authority !== undefined) {
      const match = /^(https:\/\/[^/?#]+)\/([^/?#]+)\/?(?:v2\.0\/?)?$/i.exec(f.authority.trim());
      if (match) {
        if (f.tenant !== undefined && f.tenant.toLowerCase() !== match[2]!.toLowerCase()) {
          throw usageError(`--authority names tenant "${match[2]}" but --tenant says "${f.tenant}".`, 'Give the tenant once: --tenant <tenant> --authority https://login.microsoftonline.com');
        }
        f = { ...f, authority: match[1]!, tenant: match[2]! };
      }
    }
    const changing = f.tenant !== undefined || f.clientId !== undefined || f.authority !== undefined || f.redirectHost !== undefined;
    if (!changing) {
      if (f.json) printJson(current);
      else process.stdout.write(describeSettings(current));
      return;
    }
    const input = {
      tenant: f.tenant ?? current.tenant,
      clientId: f.clientId ?? current.clientId,
      ...(f.authority !== undefined ? { authorityHost: f.authority } : current.configured ? { authorityHost: current.authorityHost } : {}),
      ...(f.redirectHost !== undefined ? { redirectHost: f.redirectHost } : current.configured ? { redirectHost: current.redirectHost } : {}),
    };
    if (!input.tenant) throw usageError('--tenant is required the first time: the Directory (tenant) ID from the app registration\'s Overview page.');
    if (!input.clientId) throw usageError('--client-id is required the first time: the Application (client) ID from the app registration\'s Overview page.');
    let validation: OAuthSettingsValidation | undefined;
    if (f.check !== false) {
      validation = await engine.oauth.validateSettings(input);
      if (!validation.valid) {
        const failed = validation.checks.find((c) => c.status === 'error')!;
        throw new AppError('VALIDATION_FAILED', `The OAuth settings were not saved: ${failed.message}`, {
          hint: 'Fix the value, or save anyway with --no-check if the check itself is wrong.',
          issues: validation.checks.filter((c) => c.status === 'error').map((c) => ({ path: c.field, message: c.message })),
        });
      }
    }
    const saved = engine.oauth.saveSettings(input);
    if (f.json) printJson({ settings: saved, ...(validation ? { validation } : {}) });
    else process.stdout.write(`Saved.\n${validation ? describeChecks(validation) : ''}${describeSettings(saved)}`);
  });
}

function describeDoctor(r: TokenDoctorReport): string {
  const lines = [`Token doctor for ${r.mailbox}${r.tokenSource ? ` (${r.tokenSource === 'app' ? 'app-only token' : 'token of a person\'s sign-in'})` : ' (no OAuth token: it signs in with a password)'}`];
  if (r.claims) {
    lines.push('', 'Claims (the token itself is never shown):');
    for (const [name, value] of Object.entries(r.claims)) {
      if (value === null) continue;
      lines.push(`  ${name.padEnd(19)}${Array.isArray(value) ? value.join(' ') : value}`);
    }
  } else if (r.claimsUnreadable) lines.push('', `The token is not a readable JWT (${r.claimsUnreadable}): its claims cannot be shown.`);
  if (r.probes.length) {
    lines.push('', 'Sign-ins tried:');
    for (const p of r.probes) lines.push(`  ${p.protocol.toUpperCase().padEnd(5)}${`${p.host}:${p.port}`.padEnd(32)} ${p.auth.padEnd(9)} ${p.ok ? 'ok' : `failed at ${p.step} [${p.code}]${p.serverReply ? ` ${p.serverReply.split('\n')[0]}` : ''}`}`);
  }
  if (!r.findings.length) lines.push('', 'Nothing wrong found.');
  else {
    lines.push('', `${r.findings.length} finding${r.findings.length === 1 ? '' : 's'}:`);
    for (const f of r.findings) lines.push(`  [${f.code}] ${f.summary}`, `    what to change: ${toCliWords(f.hint)}`);
  }
  return lines.join('\n') + '\n';
}

/** `mailroom oauth doctor <mailbox>`: exit 0 when nothing is wrong, 1 when something is. */
export async function oauthDoctor(idOrName: string, f: CommonOptions & { probe?: boolean }): Promise<void> {
  await withEngine(f, async (engine) => {
    const mailbox = engine.mailboxes.resolve(idOrName);
    const report = await engine.doctor.examine(mailbox, f.probe === false ? { probe: false } : {});
    if (f.json) printJson(report);
    else process.stdout.write(describeDoctor(report));
    if (!report.ok) process.exitCode = 1;
  });
}
