/** Registers `mailroom inbox ...`. Actions import their code only when run. */
import type { Command } from 'commander';
import { common } from './common.js';
import { fieldFlags } from '../flag-names.js';

export function registerInboxCommands(program: Command): void {
  const inbox = program.command('inbox').description('import mail from a mailbox\'s IMAP folder, and read what was imported');

  common(
    inbox
      .command('poll')
      .argument('<mailbox>', 'mailbox id or name')
      .description('poll once: fetch new messages, store them, then run the after-import action; --json prints { fetched, imported, duplicates, failed, ms }')
      .option('--debug', 'keep the full IMAP or POP3 transcript of this poll (secrets redacted) and print it on stderr'),
  ).action(async (mailbox, opts) => {
    // The parser worker starts before anything else loads: it loads its own modules (a tenth of a
    // second) on another core while this thread loads the command's and opens the store.
    const { WorkerParser } = await import('../../engine/inbox/message-parser.js');
    const parser = new WorkerParser();
    parser.warm();
    const { pollCommand } = await import('../commands/inbox.js');
    await pollCommand(mailbox, opts, parser);
  });

  common(
    inbox
      .command('status')
      .description('show each mailbox\'s receive state: last success, last try, and the last error with its age (and the poll that resolved it)')
      .option('--mailbox <mailbox>', 'only this mailbox (id or name)'),
  ).action(async (opts) => {
    const { statusCommand } = await import('../commands/inbox.js');
    await statusCommand(opts);
  });

  common(
    inbox
      .command('list')
      .description('list imported messages, newest first')
      .option('--mailbox <mailbox>', 'only this mailbox (id or name)')
      .option('--status <status>', 'only messages with this status: imported | duplicate | failed')
      .option('--limit <n>', 'at most this many (default 50, at most 1000)')
      .option('--before-id <id>', 'the next page: only messages with a smaller id'),
  ).action(async (opts) => {
    const { listCommand } = await import('../commands/inbox.js');
    await listCommand(opts);
  });

  common(
    inbox
      .command('show')
      .argument('<id>', 'message id (from "mailroom inbox list")')
      .description('show one imported message: headers, text, attachments')
      .option('--raw', 'print the raw message exactly as it was received (with --json: base64)'),
  ).action(async (id, opts) => {
    const { showCommand } = await import('../commands/inbox.js');
    await showCommand(id, opts);
  });

  fieldFlags(common(
    inbox
      .command('handoff')
      .argument('<mailbox>', 'mailbox id or name')
      .description('show or set the handoff folder: every imported message is also written there as an .eml file')
      .option('--dir <folder>', 'write .eml copies to this existing folder')
      .option('--off', 'stop writing .eml copies'),
  ), { handoffDir: '--dir' }).action(async (mailbox, opts) => {
    const { handoffCommand } = await import('../commands/inbox.js');
    await handoffCommand(mailbox, opts);
  });
}
