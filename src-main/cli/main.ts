/**
 * The `mailroom` CLI. Only commander is loaded up front: each command imports
 * its engine code when it runs, so --help stays fast.
 */
import { Command, CommanderError } from 'commander';
import { registerMailboxCommands } from './register/mailbox.js';
import { registerConsoleCommand } from './register/console.js';
import { registerSiteCommands } from './register/site.js';
import { registerLogsCommands } from './register/logs.js';
import { registerDiagnosticsCommands } from './register/diagnostics.js';
import { registerDetectCommand } from './register/detect.js';
import { registerOAuthCommands } from './register/oauth.js';
import { registerTestCommands } from './register/test.js';
import { APP_VERSION } from '../engine/version.js';

const program = new Command();

program
  .name('mailroom')
  .description('Set up, test and diagnose help-desk mailboxes (IMAP/SMTP, Microsoft 365 OAuth 2.0).')
  .version(APP_VERSION, '-V, --version')
  .showHelpAfterError('(run with --help for usage)')
  .exitOverride();

// One line per command group; each group lives in register/<group>.ts.
registerMailboxCommands(program);
registerConsoleCommand(program);
registerSiteCommands(program);
registerLogsCommands(program);
registerDiagnosticsCommands(program);
registerDetectCommand(program);
registerOAuthCommands(program);
registerTestCommands(program);

try {
  await program.parseAsync(process.argv);
} catch (error) {
  if (error instanceof CommanderError) {
    // Help and version are not errors; everything else commander rejects is a usage error.
    process.exitCode = error.code === 'commander.helpDisplayed' || error.code === 'commander.version' || error.code === 'commander.help' ? 0 : 2;
  } else {
    const { reportError } = await import('./output.js');
    reportError(error, process.argv.includes('--json'));
  }
}
