/** Registers `mailroom health` and `mailroom probe`. The actions import their code only when run. */
import type { Command } from 'commander';
import { common } from './common.js';

export function registerHealthCommands(program: Command): void {
  common(
    program
      .command('health')
      .description('is mail flowing? one line per mailbox (Healthy, Degraded, Failing, Sign-in needed, Disabled) with the reason; exit 0 when every enabled mailbox is Healthy, else 1'),
  ).action(async (opts) => {
    const { healthCommand } = await import('../commands/health.js');
    await healthCommand(opts);
  });
  common(
    program
      .command('probe')
      .description('send a round-trip probe through the mailbox\'s SMTP and wait for it over IMAP; exit 0 when it arrived in the inbox, else 1')
      .argument('<mailbox>', 'mailbox name or id')
      .option('--timeout <seconds>', 'how long to wait for the probe to arrive (default: the mailbox\'s probe timeout, 600)'),
  ).action(async (mailbox: string, opts) => {
    const { probeCommand } = await import('../commands/health.js');
    await probeCommand(mailbox, opts);
  });
}
