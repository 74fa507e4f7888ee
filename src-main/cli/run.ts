/**
 * One run of the `mailroom` command line: parse, run the command, report what
 * went wrong, and answer the exit code (0, 1 or 2, never another). main.ts
 * calls it for the process; tests call it in-process with the same words.
 */
import { Command, CommanderError } from 'commander';
import { buildProgram, redactOptionValues } from './program.js';
import { EXIT_OK, EXIT_USAGE, jsonRequested, jsonWasPrinted, normalizeExitCode, printJson, reportError, startInvocation, type ExitCode } from './output.js';

/** The deepest command the words name (`mailroom logs --bad` -> logs), for messages about a missing subcommand. */
function namedCommand(program: Command, args: readonly string[]): Command {
  let current = program;
  for (const word of args) {
    if (word === '--') break;
    const next = (current.commands as Command[]).find((c) => c.name() === word || c.aliases().includes(word));
    if (next) current = next;
  }
  return current;
}

/**
 * Runs the command line `argv` (as in process.argv: node, script, words...)
 * and answers its exit code. Output goes to process.stdout / process.stderr.
 */
export async function runMailroom(argv: readonly string[]): Promise<ExitCode> {
  const args = argv.slice(2);
  const json = jsonRequested(args);
  startInvocation(json);
  const previousExitCode = process.exitCode;
  process.exitCode = undefined;
  // With --json, help and the version are answered as JSON too.
  let helpText = '';
  const program = buildProgram(args, json ? { writeOut: (text) => void (helpText += text) } : {});
  let code: ExitCode;
  try {
    await program.parseAsync([...argv]);
    code = normalizeExitCode(process.exitCode);
  } catch (error) {
    code = handleFailure(error, program, args, json, helpText);
  } finally {
    process.exitCode = previousExitCode;
  }
  return code;
}

function handleFailure(error: unknown, program: Command, args: readonly string[], json: boolean, helpText: string): ExitCode {
  if (!(error instanceof CommanderError)) {
    // An error a command did not report itself: reported here, with its code and hint.
    reportError(error, json);
    return normalizeExitCode(process.exitCode);
  }
  if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version') {
    if (json) printJson(error.code === 'commander.version' ? { version: helpText.trim() } : { help: helpText });
    return EXIT_OK;
  }
  if (error.code === 'commander.help') {
    // A command group without its subcommand: commander printed the group's help on stderr.
    const group = namedCommand(program, args);
    const names = (group.commands as Command[]).map((c) => c.name());
    if (json && !jsonWasPrinted()) {
      printJson({
        ok: false,
        error: { code: 'USAGE', message: `${group === program ? 'mailroom' : `mailroom ${group.name()}`} needs a command: ${names.join(', ')}.`, hint: 'Run it with --help to see what each command does.' },
      });
    }
    return EXIT_USAGE;
  }
  // Everything else commander refuses (unknown option or command, missing value or argument) is a usage error; it printed the message on stderr.
  if (json && !jsonWasPrinted()) {
    const message = redactOptionValues(error.message.replace(/^error: /, ''));
    printJson({ ok: false, error: { code: 'USAGE', message, hint: 'Run the command with --help to see its options.' } });
  }
  return EXIT_USAGE;
}
