/** Registers `mailroom logs` and `mailroom logs export`. */
import type { Command } from 'commander';
import { common } from './common.js';

function filterFlags(cmd: Command): Command {
  return cmd
    .option('--mailbox <id-or-name>', 'only this mailbox')
    .option('--direction <d>', 'send | receive | test | auth | system')
    .option('--level <l>', 'success | warning | error | info')
    .option('--code <CODE>', 'only entries with this diagnosis or error code')
    .option('--text <text>', 'only entries whose message or description contains this text')
    .option('--since <time>', 'from this time: ISO date/time (2026-11-25T08:00) or a span back from now (30m, 24h, 7d)')
    .option('--until <time>', 'before this time (same forms as --since)');
}

export function registerLogsCommands(program: Command): void {
  const logs = filterFlags(common(program.command('logs').description('show the activity log (newest first), or export it'))).option(
    '--limit <n>',
    'how many entries (default 50, at most 10000)',
  );
  logs.action(async (opts) => {
    const { showLogs } = await import('../commands/logs.js');
    await showLogs(opts);
  });
  filterFlags(
    common(
      logs
        .command('export')
        .description('export the entries matching the filters as Excel, HTML or text')
        .requiredOption('--format <format>', 'xlsx | html | txt')
        .requiredOption('--out <file>', 'the file to write'),
    ),
  ).action(async (opts) => {
    const { exportLogsCommand } = await import('../commands/logs.js');
    await exportLogsCommand(opts);
  });
}
