import { Command, Option } from 'commander';
import { fieldFlags } from '../flag-names.js';

/** Adds the options every command takes. */
export function common(cmd: Command): Command {
  return cmd
    .option('--data-dir <dir>', 'data folder (default: MAILROOM_DATA_DIR, else %APPDATA%\\Mailroom on Windows)')
    .option('--json', 'print the result as JSON');
}

/** Adds the mailbox settings flags shared by `add` and `update`. */
export function mailboxFlags(cmd: Command): Command {
  fieldFlags(cmd, {
    'imap.username': '--imap-user',
    'smtp.username': '--smtp-user',
    'imap.pollIntervalSeconds': '--poll-seconds',
    'pop3.username': '--pop3-user',
    receiveVia: '--incoming',
    password: '--password-env / --password-stdin',
    smtpPassword: '--smtp-password-env / --smtp-password-stdin',
    enabled: '--enabled / --disabled',
    'graph.saveToSentItems': '--graph-save-sent',
  });
  return cmd
    .option('--name <name>', 'display name (unique)')
    .option('--address <address>', 'email address of the mailbox')
    .addOption(new Option('--preset <preset>', 'server presets').choices(['microsoft365', 'gmail', 'generic']))
    .option('--imap-host <host>', 'IMAP server')
    .option('--imap-port <port>', 'IMAP port (default by security: 993 tls, 143 starttls/none)')
    .option('--imap-security <mode>', 'tls | starttls | none')
    .option('--imap-user <user>', 'IMAP user name (default: the address)')
    .option('--imap-folder <folder>', 'folder to import from (default INBOX)')
    .option('--after-import <action>', 'mark-seen | delete | move:<folder>')
    .option('--poll-seconds <n>', 'how often to check for new mail (default 60)')
    .addOption(new Option('--incoming <protocol>', 'how incoming mail is read: imap (the --imap-* settings) or pop3 (the --pop3-* settings)').choices(['imap', 'pop3']))
    .option('--pop3-host <host>', 'POP3 server (with --incoming pop3; presets know Microsoft 365\'s and Gmail\'s)')
    .option('--pop3-port <port>', 'POP3 port (default by security: 995 tls, 110 starttls/none)')
    .addOption(new Option('--pop3-security <mode>', 'POP3 transport security: tls (POP3S), starttls (STLS) or none').choices(['tls', 'starttls', 'none']))
    .option('--pop3-user <user>', 'POP3 user name (default: the address)')
    .addOption(new Option('--pop3-auth <mode>', 'POP3 sign-in (default: the preset\'s, else the incoming --auth)').choices(['password', 'oauth2', 'oauth2-app']))
    .addOption(new Option('--pop3-after-import <action>', 'after a message is stored: leave it on the POP3 server (default) or delete it').choices(['leave', 'delete']))
    .option('--smtp-host <host>', 'SMTP server')
    .option('--smtp-port <port>', 'SMTP port (default by security: 465 tls, 587 starttls, 25 none)')
    .option('--smtp-security <mode>', 'tls | starttls | none')
    .option('--smtp-user <user>', 'SMTP user name (default: the address)')
    .option('--auth <mode>', 'password | oauth2 (a person signs in) | oauth2-app (app-only, shared mailboxes), for both IMAP and SMTP')
    .option('--smtp-auth <mode>', 'password | oauth2 | oauth2-app | none, for SMTP only')
    .option('--password-env <NAME>', 'read the password or app password from this environment variable')
    .option('--password-stdin', 'read the password or app password from standard input')
    .option('--smtp-password-env <NAME>', "SMTP's own password or app password, from this environment variable (default: SMTP uses the incoming password)")
    .option('--smtp-password-stdin', "read SMTP's own password or app password from standard input")
    .option('--smtp-password-same', 'SMTP signs in with the incoming password again (removes its own)')
    .addOption(new Option('--send-via <transport>', 'send through SMTP (default) or Microsoft Graph (Microsoft 365 mailboxes that sign in with OAuth 2.0)').choices(['smtp', 'graph']))
    .addOption(new Option('--receive-via <transport>', 'receive through IMAP (default), Microsoft Graph (Microsoft 365, OAuth 2.0) or POP3').choices(['imap', 'graph', 'pop3']))
    .option('--graph-save-sent <yes|no>', 'with --send-via graph: keep a copy of each message in Sent Items (default yes)')
    .option('--import-existing <yes|no>', 'on the first enable: import the mail already in the folder (yes), or only mail that arrives from now on (no)')
    .option('--disabled', 'create or set the mailbox as disabled')
    .option('--enabled', 'set the mailbox as enabled');
}

