/** Registers `mailroom outbox ...`. Actions import their code only when run. */
import type { Command } from 'commander';
import { common } from './common.js';
import { fieldFlags } from '../flag-names.js';

export function registerOutboxCommands(program: Command): void {
  const outbox = program.command('outbox').description('list, show, retry, cancel and delete queued messages; per-mailbox retry settings');

  fieldFlags(common(
    outbox
      .command('list')
      .description('list messages, newest first')
      .option('--mailbox <mailbox>', 'only this mailbox (id or name)')
      .option('--status <status>', 'only this status (queued, sending, waiting-sign-in, sent, deferred, failed, cancelled; several separated by commas; "pending" for all not yet sent)')
      .option('--text <text>', 'only messages whose subject, recipients or Message-ID contain this')
      .option('--limit <n>', 'at most this many (default 50, at most 1000)'),
  ), { statuses: '--status' }).action(async (opts) => {
    const { listCommand } = await import('../commands/outbox.js');
    await listCommand(opts);
  });

  for (const [name, description] of [
    ['show', 'show one message: recipients, status history, tries, last error with its fix, transcript'],
    ['retry', 'queue a failed, deferred or cancelled message again, with a fresh set of tries'],
    ['cancel', 'stop a queued, deferred, failed or waiting message from being sent'],
    ['delete', 'delete a message and its history for good'],
    ['send-now', 'make a queued or deferred message due now (refused, with the reason, while its mailbox needs a sign-in)'],
  ] as const) {
    common(outbox.command(name).argument('<id>', 'outbox message id (from "mailroom outbox list")').description(description)).action(async (id, opts) => {
      const { actionCommand } = await import('../commands/outbox.js');
      await actionCommand(name, id, opts);
    });
  }

  common(
    outbox
      .command('settings')
      .argument('<mailbox>', 'mailbox id or name')
      .description("show or change a mailbox's retry policy and connections; only the flags given change")
      .option('--max-attempts <n>', 'tries before a message that keeps failing temporarily is failed (default 8)')
      .option('--first-retry-seconds <n>', 'wait after the first temporary failure (default 240)')
      .option('--retry-factor <x>', 'each wait is this many times the one before (default 2.45)')
      .option('--max-retry-seconds <n>', 'longest wait (default 57600)')
      .option('--connections <n>', 'parallel SMTP connections (default 3; Microsoft 365 allows 3 per mailbox)')
      .option('--messages-per-connection <n>', 'messages over one connection before it is replaced (default 100)')
      .option('--timeout-seconds <n>', 'seconds without an answer before a try is given up (default 60)')
      .option('--debug <on|off>', "keep the redacted SMTP transcript of each message's last try"),
  ).action(async (mailbox, opts) => {
    const { settingsCommand } = await import('../commands/outbox.js');
    await settingsCommand(mailbox, opts);
  });
}
