/** Registers `mailroom console`. */
import type { Command } from 'commander';
import { common } from './common.js';

export function registerConsoleCommand(program: Command): void {
  common(
    program
      .command('console')
      .description('serve the Mailroom console on 127.0.0.1 for a web browser, until Ctrl+C')
      .option('--port <port>', 'port to listen on (default: a free one)')
      .option('--open', 'open the console in the default browser'),
  ).action(async (opts) => {
    const { runConsole } = await import('../commands/console.js');
    await runConsole(opts);
  });
}
