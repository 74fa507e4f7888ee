/** Registers `mailroom diagnostics export|inspect`. */
import type { Command } from 'commander';
import { common } from './common.js';

export function registerDiagnosticsCommands(program: Command): void {
  const group = program.command('diagnostics').description('make or read a diagnostics bundle (.zip, no secrets) for whoever helps you offline');
  common(group.command('export').description('write a diagnostics bundle').option('--out <file>', 'where to write it (default: the data folder\'s exports folder)').option('--log-limit <n>', 'how many recent log entries to include (default 5000)')).action(
    async (opts) => {
      const { exportDiagnostics } = await import('../commands/diagnostics.js');
      await exportDiagnostics(opts);
    },
  );
  common(group.command('inspect').argument('<file>', 'a bundle made by "diagnostics export"').description('summarize a bundle without importing it')).action(async (file, opts) => {
    const { inspectDiagnostics } = await import('../commands/diagnostics.js');
    await inspectDiagnostics(file, opts);
  });
}
