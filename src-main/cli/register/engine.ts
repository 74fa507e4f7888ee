/** Registers `mailroom engine run`. The action imports its code only when run. */
import type { Command } from 'commander';
import { common } from './common.js';

export function registerEngineCommands(program: Command): void {
  const engine = program.command('engine').description('run the engine headless: send the outbox, the local relay (when enabled), the inbox import');
  common(
    engine
      .command('run')
      .description('send the outbox (and, without --until-idle, run the relay and the inbox import) until Ctrl+C; --json prints { sent, deferred, failed, ms } at the end')
      .option('--until-idle', 'exit once no message is queued or due (deferred messages due later are left for a later run)'),
  ).action(async (opts) => {
    const { runCommand } = await import('../commands/engine.js');
    await runCommand(opts);
  });
}
