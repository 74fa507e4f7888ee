/**
 * The `mailroom` CLI. Only commander is loaded up front: each command imports
 * its engine code when it runs, so --help stays fast.
 */
import { Command, CommanderError, Option } from 'commander';
import { APP_VERSION } from '../engine/version.js';

const program = new Command();

/** Adds the options every command takes. */
function common(cmd: Command): Command {
  return cmd
    .option('--data-dir <dir>', 'data folder (default: MAILROOM_DATA_DIR, else %APPDATA%\\Mailroom on Windows)')
    .option('--json', 'print the result as JSON');
}

/** Adds the mailbox settings flags shared by `add` and `update`. */
function mailboxFlags(cmd: Command): Command {
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
    .option('--smtp-host <host>', 'SMTP server')
    .option('--smtp-port <port>', 'SMTP port (default by security: 465 tls, 587 starttls, 25 none)')
    .option('--smtp-security <mode>', 'tls | starttls | none')
    .option('--smtp-user <user>', 'SMTP user name (default: the address)')
    .option('--auth <mode>', 'password | oauth2, for both IMAP and SMTP')
    .option('--smtp-auth <mode>', 'password | oauth2 | none, for SMTP only')
    .option('--password-env <NAME>', 'read the password or app password from this environment variable')
    .option('--password-stdin', 'read the password or app password from standard input')
    .option('--disabled', 'create or set the mailbox as disabled')
    .option('--enabled', 'set the mailbox as enabled');
}

program
  .name('mailroom')
  .description('Set up, test and diagnose help-desk mailboxes (IMAP/SMTP, Microsoft 365 OAuth 2.0).')
  .version(APP_VERSION, '-V, --version')
  .showHelpAfterError('(run with --help for usage)')
  .exitOverride();

const mailbox = program.command('mailbox').description('create, change, list and remove mailboxes');

mailboxFlags(common(mailbox.command('add').description('create a mailbox'))).action(async (opts) => {
  const { addMailbox } = await import('./commands/mailbox.js');
  await addMailbox(opts);
});
mailboxFlags(common(mailbox.command('update').argument('<id-or-name>', 'mailbox id or name').description('change a mailbox; only the flags given change'))).action(
  async (idOrName, opts) => {
    const { updateMailbox } = await import('./commands/mailbox.js');
    await updateMailbox(idOrName, opts);
  },
);
common(mailbox.command('list').description('list mailboxes')).action(async (opts) => {
  const { listMailboxes } = await import('./commands/mailbox.js');
  await listMailboxes(opts);
});
common(mailbox.command('show').argument('<id-or-name>', 'mailbox id or name').description('show one mailbox')).action(async (idOrName, opts) => {
  const { showMailbox } = await import('./commands/mailbox.js');
  await showMailbox(idOrName, opts);
});
common(mailbox.command('remove').argument('<id-or-name>', 'mailbox id or name').description('delete a mailbox and its stored secrets')).action(
  async (idOrName, opts) => {
    const { removeMailbox } = await import('./commands/mailbox.js');
    await removeMailbox(idOrName, opts);
  },
);
common(mailbox.command('export').description('export mailbox settings as JSON, without secrets').option('--out <file>', 'write to this file instead of stdout')).action(
  async (opts) => {
    const { exportMailboxes } = await import('./commands/mailbox.js');
    await exportMailboxes(opts);
  },
);
common(mailbox.command('import').argument('<file>', 'a settings file made by "mailbox export"').description('import mailbox settings (all or nothing)')).action(
  async (file, opts) => {
    const { importMailboxes } = await import('./commands/mailbox.js');
    await importMailboxes(file, opts);
  },
);

common(
  program
    .command('console')
    .description('serve the Mailroom console on 127.0.0.1 for a web browser')
    .option('--port <port>', 'port to listen on (default: a free one)')
    .option('--open', 'open the console in the default browser'),
).action(async (opts) => {
  const { runConsole } = await import('./commands/console.js');
  await runConsole(opts);
});

try {
  await program.parseAsync(process.argv);
} catch (error) {
  if (error instanceof CommanderError) {
    // Help and version are not errors; everything else commander rejects is a usage error.
    process.exitCode = error.code === 'commander.helpDisplayed' || error.code === 'commander.version' || error.code === 'commander.help' ? 0 : 2;
  } else {
    const { reportError } = await import('./output.js');
    reportError(error, process.argv.includes('--json'));
  }
}
