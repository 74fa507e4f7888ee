/**
 * The `mailroom` command tree. Only commander and the register/* files load
 * here: each command imports its engine code when it runs, so --help stays fast.
 *
 * Options belong to the leaf command that uses them (positional options):
 * in `mailroom logs export --data-dir D --level error`, every flag reaches
 * `export`, never the `logs` command above it.
 */
import { Command } from 'commander';
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
import { registerReadinessCommand } from './register/readiness.js';
import { registerHealthCommands } from './register/health.js';
import { APP_VERSION } from '../engine/version.js';
import { setInvocationCommand, usageError } from './output.js';

/** "unknown option '--x=value'" would echo the value, which may be a secret typed in the wrong place. */
export function redactOptionValues(text: string): string {
  return text.replace(/(option '[^'=\s]+=)[^']*'/g, "$1...'");
}

export interface ProgramOutput {
  /** Where help and --version go (stdout, or a buffer when the answer must be JSON). */
  writeOut?: (text: string) => void;
}

/** `mailroom logs export`, from the command up. */
export function commandPath(cmd: Command): string {
  const names: string[] = [];
  for (let c: Command | null = cmd; c; c = c.parent) names.unshift(c.name());
  return names.join(' ');
}

/** Refuses a flag given to a command above the one that runs (`logs --level error export`): it would be ignored. */
function refuseAncestorOptions(actionCommand: Command): void {
  for (let parent = actionCommand.parent; parent; parent = parent.parent) {
    for (const option of parent.options) {
      if (parent.getOptionValueSource(option.attributeName()) !== 'cli') continue;
      const flag = option.long ?? option.short ?? option.flags;
      throw usageError(
        `${flag} was given before "${actionCommand.name()}", where it would be ignored: put it after the command name.`,
        `For example: ${commandPath(actionCommand)} ${flag}${option.required || option.optional ? ' ...' : ''}`,
      );
    }
  }
}

/**
 * Refuses an option value that is one of the command's own flags
 * (`send --subject --json`): the value was forgotten, and the flag after it
 * would silently become the value. `--subject=--json` is still accepted.
 */
function refuseFlagsAsValues(actionCommand: Command, args: readonly string[]): void {
  const flags = new Set<string>(['--help', '-h']);
  for (const o of actionCommand.options) {
    if (o.long) flags.add(o.long);
    if (o.short) flags.add(o.short);
  }
  for (const option of actionCommand.options) {
    if (!(option.required || option.optional)) continue;
    if (actionCommand.getOptionValueSource(option.attributeName()) !== 'cli') continue;
    const value: unknown = actionCommand.getOptionValue(option.attributeName());
    for (const v of Array.isArray(value) ? value : [value]) {
      if (typeof v !== 'string' || !flags.has(v)) continue;
      if (option.long && args.includes(`${option.long}=${v}`)) continue;
      throw usageError(`${option.long ?? option.flags} needs a value, but the word after it is the flag ${v}.`, `Put the value right after ${option.long ?? option.flags}; to give text that starts with a dash, write ${option.long ?? option.flags}=${v}.`);
    }
  }
}

/** Builds the whole command tree; `args` are the words after the program name, for checks that need them. */
export function buildProgram(args: readonly string[] = [], output: ProgramOutput = {}): Command {
  const program = new Command();
  program
    .name('mailroom')
    .description('Set up, test and diagnose help-desk mailboxes (IMAP/SMTP, Microsoft 365 OAuth 2.0).')
    // Set before the commands are added: subcommands copy these settings when created.
    .enablePositionalOptions()
    .showHelpAfterError('(run with --help for usage)')
    .configureOutput({
      writeOut: output.writeOut ?? ((text) => void process.stdout.write(text)),
      writeErr: (text) => void process.stderr.write(text),
      outputError: (text, write) => write(redactOptionValues(text)),
    })
    .exitOverride()
    .version(APP_VERSION, '-V, --version');

  program.hook('preAction', (_root, actionCommand) => {
    setInvocationCommand(actionCommand);
    refuseAncestorOptions(actionCommand);
    refuseFlagsAsValues(actionCommand, args);
  });

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
  registerReadinessCommand(program);
  registerHealthCommands(program);
  return program;
}

/** Every command that runs something (has no subcommands), depth first. */
export function leafCommands(program: Command): Command[] {
  const out: Command[] = [];
  const stack = [program];
  while (stack.length) {
    const cmd = stack.pop()!;
    const children = cmd.commands as Command[];
    // A command with its own action and subcommands (`logs`) is a leaf as well.
    if (!children.length || (cmd !== program && (cmd as unknown as { _actionHandler?: unknown })._actionHandler)) out.push(cmd);
    stack.push(...[...children].reverse());
  }
  return out;
}
