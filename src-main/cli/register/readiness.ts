/** Registers `mailroom readiness`: the basic-authentication retirement report. */
import type { Command } from 'commander';
import { common } from './common.js';

export function registerReadinessCommand(program: Command): void {
  common(
    program
      .command('readiness')
      .description('which mailboxes and relay accounts still sign in to Microsoft 365 with a password, what breaks and when, and the way out'),
  ).action(async (opts) => {
    const { readiness } = await import('../commands/readiness.js');
    await readiness(opts);
  });
}
