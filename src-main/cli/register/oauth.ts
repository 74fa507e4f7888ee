/** Registers `mailroom oauth ...`: Microsoft 365 sign-in, status, sign-out and the app registration. */
import { Command, Option } from 'commander';
import { common } from './common.js';
import { fieldFlags } from '../flag-names.js';

export function registerOAuthCommands(program: Command): void {
  const oauth = program.command('oauth').description('Microsoft 365 OAuth 2.0: sign mailboxes in and out, token health, the app registration');

  fieldFlags(common(
    oauth
      .command('login')
      .argument('<mailbox>', 'mailbox id or name')
      .description('sign a mailbox in with Microsoft: prints the sign-in address, waits for the browser, stores the tokens encrypted')
      .option('--timeout <seconds>', 'how long to wait for the browser (10 to 3600, default 300)')
      .option('--open', 'open the sign-in page in the default browser')
      .option('--allow-other-account', 'accept an account other than the mailbox\'s user name (a shared mailbox reached through a user with Full Access)'),
  ), { timeoutSeconds: '--timeout' }).action(async (mailbox, opts) => {
    const { oauthLogin } = await import('../commands/oauth.js');
    await oauthLogin(mailbox, opts);
  });

  common(
    oauth
      .command('status')
      .argument('<mailbox>', 'mailbox id or name')
      .description('show token health: account, scopes, expiry, last refresh, last error')
      .option('--check', 'get a token now (refreshing it when due) before reporting'),
  ).action(async (mailbox, opts) => {
    const { oauthStatus } = await import('../commands/oauth.js');
    await oauthStatus(mailbox, opts);
  });

  common(
    oauth
      .command('doctor')
      .argument('<mailbox>', 'mailbox id or name')
      .description('get a token, show its claims (never the token), try a real IMAP and SMTP sign-in with it, and say what is wrong (exit 1 when something is)')
      .option('--no-probe', 'read the token\'s claims only, without signing in to the servers'),
  ).action(async (mailbox, opts) => {
    const { oauthDoctor } = await import('../commands/oauth.js');
    await oauthDoctor(mailbox, opts);
  });

  common(oauth.command('logout').argument('<mailbox>', 'mailbox id or name').description('forget a mailbox\'s tokens (its settings and queued mail stay)')).action(
    async (mailbox, opts) => {
      const { oauthLogout } = await import('../commands/oauth.js');
      await oauthLogout(mailbox, opts);
    },
  );

  fieldFlags(common(
    oauth
      .command('settings')
      .description('show or set the app registration (tenant, client id, authority); values are checked before saving')
      .option('--tenant <tenant>', 'Directory (tenant) ID, a verified domain, or "organizations"')
      .option('--client-id <id>', 'Application (client) ID of your app registration')
      .option('--authority <url>', 'sign-in host of the cloud (default https://login.microsoftonline.com)')
      .addOption(new Option('--redirect-host <host>', 'host of the redirect URI you registered').choices(['localhost', '127.0.0.1']))
      .option('--no-check', 'save without checking the tenant online'),
  ), { authorityHost: '--authority' }).action(async (opts) => {
    const { oauthSettings } = await import('../commands/oauth.js');
    await oauthSettings(opts);
  });

  fieldFlags(common(
    oauth
      .command('app')
      .description('show or set the organisation\'s app-only registration (client credentials) for shared mailboxes: client secret or certificate')
      .option('--tenant <tenant>', 'Directory (tenant) ID or a verified domain')
      .option('--client-id <id>', 'Application (client) ID of the app registration')
      .option('--authority <url>', 'sign-in host of the cloud (default https://login.microsoftonline.com)')
      .option('--secret-env <name>', 'name of an environment variable holding the client secret\'s Value (never the secret itself)')
      .option('--certificate <file>', 'a .pfx/.p12 file, or a PEM file with the certificate and its private key')
      .option('--certificate-password-env <name>', 'name of an environment variable holding the .pfx password')
      .option('--secret-expires <date>', 'when the client secret expires (YYYY-MM-DD): Mailroom warns 30 days ahead')
      .addOption(new Option('--secret <secret>', 'not accepted: use --secret-env').hideHelp())
      .addOption(new Option('--client-secret <secret>', 'not accepted: use --secret-env').hideHelp()),
  ), {
    clientSecret: '--secret-env',
    certificatePem: '--certificate',
    pfxBase64: '--certificate',
    certificatePassword: '--certificate-password-env',
    secretExpiresOn: '--secret-expires',
    authorityHost: '--authority',
    credential: '--secret-env',
  }).action(async (opts) => {
    const { oauthApp } = await import('../commands/oauth-app.js');
    await oauthApp(opts);
  });
}
