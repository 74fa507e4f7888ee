/** Registers `mailroom send`. The action imports its code only when run. */
import type { Command } from 'commander';
import { common } from './common.js';

export function registerSendCommand(program: Command): void {
  common(
    program
      .command('send')
      .description('queue messages in the outbox: composed from --to/--subject/--text, or .eml files; a running Mailroom (or "mailroom engine run") sends them')
      .requiredOption('--mailbox <mailbox>', 'the mailbox to send from (id or name)')
      .option('--to <address...>', 'recipient addresses (several allowed)')
      .option('--cc <address...>', 'copy recipients')
      .option('--bcc <address...>', 'blind copy recipients')
      .option('--subject <text>', 'subject line')
      .option('--text <text>', 'plain-text body')
      .option('--eml <file...>', 'queue these .eml files as they are (recipients from To, Cc and Bcc)')
      .option('--eml-dir <dir>', 'queue every .eml file in this folder'),
  ).action(async (opts) => {
    const { sendCommand } = await import('../commands/send.js');
    await sendCommand(opts);
  });
}
