/** Registers `mailroom health` and `mailroom probe`. The actions import their code only when run. */
import type { Command } from 'commander';
import { common } from './common.js';
import { fieldFlags } from '../flag-names.js';

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
  const schedule = program
    .command('probe-schedule')
    .description('show or change a mailbox\'s scheduled round-trip probes (off until turned on; run by the desktop app, the console or "engine run")')
    .argument('<mailbox>', 'mailbox name or id')
    .option('--on', 'run probes on schedule')
    .option('--off', 'stop the scheduled probes')
    .option('--every <minutes>', 'minutes between probes (1 to 1440; default 15)')
    .option('--to <address>', 'send probes to this address (one that delivers to the mailbox) instead of the mailbox\'s own')
    .option('--to-self', 'send probes to the mailbox\'s own address again')
    .option('--timeout <seconds>', 'how long a probe waits to arrive (5 to 3600; default 600)')
    .option('--slow <seconds>', 'a round trip slower than this makes the mailbox Degraded (1 to 3600; default 120)');
  fieldFlags(schedule, { targetAddress: '--to', intervalSeconds: '--every', timeoutSeconds: '--timeout', slowThresholdMs: '--slow' });
  common(schedule).action(async (mailbox: string, opts) => {
    const { probeScheduleCommand } = await import('../commands/health.js');
    await probeScheduleCommand(mailbox, opts);
  });
}
