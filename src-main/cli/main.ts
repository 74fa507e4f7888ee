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
import { registerInboxCommands } from './register/inbox.js';
import { registerSendCommand } from './register/send.js';
import { registerOutboxCommands } from './register/outbox.js';
import { registerEngineCommands } from './register/engine.js';
import { registerRelayCommands } from './register/relay.js';
import { APP_VERSION } from '../engine/version.js';

const program = new Command();

function redactOptionValues(text: string): string {
  return text.replace(/(option '[^'=\s]+=)[^']*'/g, "$1...'");
}

program
  .name('mailroom')
  .description('Set up, test and diagnose help-desk mailboxes (IMAP/SMTP, Microsoft 365 OAuth 2.0).')
  .version(APP_VERSION, '-V, --version')
  .showHelpAfterError('(run with --help for usage)')
  // "unknown option '--x=value'" would echo the value, which may be a secret typed in the wrong place.
  .configureOutput({ outputError: (text, write) => write(redactOptionValues(text)) })
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
registerInboxCommands(program);
registerSendCommand(program);
registerOutboxCommands(program);
registerEngineCommands(program);
registerRelayCommands(program);

try {
  await program.parseAsync(process.argv);
} catch (error) {
  if (error instanceof CommanderError) {
    // Help and version are not errors; everything else commander rejects is a usage error.
    process.exitCode = error.code === 'commander.helpDisplayed' || error.code === 'commander.version' || error.code === 'commander.help' ? 0 : 2;
    // Scripts that asked for --json read the error from stdout, as for every other error.
    if (process.exitCode === 2 && process.argv.includes('--json')) {
      const message = redactOptionValues(error.message.replace(/^error: /, ''));
      process.stdout.write(JSON.stringify({ ok: false, error: { code: 'USAGE', message, hint: 'Run the command with --help to see its options.' } }, null, 2) + '\n');
    }
  } else {
    const { reportError } = await import('./output.js');
    reportError(error, process.argv.includes('--json'));
  }
}
