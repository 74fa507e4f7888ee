/** Registers `mailroom detect <address>`. */
import type { Command } from 'commander';
import { common } from './common.js';

export function registerDetectCommand(program: Command): void {
  common(
    program
      .command('detect')
      .argument('<address>', 'the mailbox\'s email address, e.g. support@contoso.com')
      .description('find out who hosts a mailbox (MX, Microsoft user realm, autoconfig, provider table) and propose its settings'),
  ).action(async (address, opts) => {
    const { runDetect } = await import('../commands/detect.js');
    await runDetect(address, opts);
  });
}
