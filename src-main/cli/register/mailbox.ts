/** Registers `mailroom mailbox ...`. Actions import their code only when run. */
import { Option, type Command } from 'commander';
import { common, mailboxFlags } from './common.js';
import { fieldFlags } from '../flag-names.js';

/**
 * `--password` is declared (hidden) only so that it is refused by our own
 * message: commander's "unknown option '--password=...'" would echo the secret.
 */
function refusePasswordFlag(cmd: Command): Command {
  return cmd
    .addOption(new Option('--password <secret>', 'not accepted: use --password-env or --password-stdin').hideHelp())
    .addOption(new Option('--smtp-password <secret>', 'not accepted: use --smtp-password-env or --smtp-password-stdin').hideHelp());
}

export function registerMailboxCommands(program: Command): void {
  const mailbox = program.command('mailbox').description('create, change, list and remove mailboxes');

  refusePasswordFlag(mailboxFlags(common(mailbox.command('add').description('create a mailbox')))).action(async (opts) => {
    const { addMailbox } = await import('../commands/mailbox.js');
    await addMailbox(opts);
  });
  refusePasswordFlag(fieldFlags(mailboxFlags(common(mailbox.command('update').argument('<id-or-name>', 'mailbox id or name').description('change a mailbox; only the flags given change'))), { id: '<id-or-name>' })).action(
    async (idOrName, opts) => {
      const { updateMailbox } = await import('../commands/mailbox.js');
      await updateMailbox(idOrName, opts);
    },
  );
  common(mailbox.command('list').description('list mailboxes')).action(async (opts) => {
    const { listMailboxes } = await import('../commands/mailbox.js');
    await listMailboxes(opts);
  });
  common(mailbox.command('show').argument('<id-or-name>', 'mailbox id or name').description('show one mailbox')).action(async (idOrName, opts) => {
    const { showMailbox } = await import('../commands/mailbox.js');
    await showMailbox(idOrName, opts);
  });
  common(mailbox.command('remove').argument('<id-or-name>', 'mailbox id or name').description('delete a mailbox and its stored secrets')).action(
    async (idOrName, opts) => {
      const { removeMailbox } = await import('../commands/mailbox.js');
      await removeMailbox(idOrName, opts);
    },
  );
  common(mailbox.command('export').description('export mailbox settings as JSON, without secrets').option('--out <file>', 'write to this file instead of stdout')).action(
    async (opts) => {
      const { exportMailboxes } = await import('../commands/mailbox.js');
      await exportMailboxes(opts);
    },
  );
  common(mailbox.command('import').argument('<file>', 'a settings file made by "mailbox export"').description('import mailbox settings (all or nothing)')).action(
    async (file, opts) => {
      const { importMailboxes } = await import('../commands/mailbox.js');
      await importMailboxes(file, opts);
    },
  );
}
