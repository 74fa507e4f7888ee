/**
 * The `mailroom` process: runs the command line once and exits 0, 1 or 2.
 *
 * Whatever happens in a command, the process answers with one of those codes
 * and a message with an error code, never a stack trace: an exception or a
 * rejected promise nothing awaited, a command whose work stops without
 * finishing (an operation that never settles: Node would exit 13 with
 * nothing printed), a closed stdout (EPIPE when piped into `more` or a
 * script that stops reading), or an exit code set by a library.
 */
import { runMailroom } from './run.js';
import { EXIT_FAILED, jsonRequested, normalizeExitCode, reportError } from './output.js';
import { AppError } from '../shared/errors.js';

const json = jsonRequested(process.argv.slice(2));
let settled = false;
let failedAlready = false;

/** Reports a failure outside any command's own handling, once, and makes the process exit 1. */
function failOutside(error: unknown): void {
  if (failedAlready) return;
  failedAlready = true;
  try {
    reportError(error, json);
  } catch {
    // stdout and stderr may both be gone; the exit code still says it.
  }
  process.exitCode = EXIT_FAILED;
  // Let the output drain (pipes on Windows are asynchronous), then stop whatever still runs.
  setTimeout(() => process.exit(EXIT_FAILED), 1000).unref();
}

// A reader that went away (`mailroom logs | more`, then q) is not a failure of the command.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE' || error.code === 'ERR_STREAM_DESTROYED') return;
    failOutside(error);
  });
}

process.on('uncaughtException', failOutside);
process.on('unhandledRejection', failOutside);

process.on('beforeExit', () => {
  if (settled || failedAlready) return;
  failOutside(
    new AppError('COMMAND_UNFINISHED', 'The command stopped before it finished: an operation it waited for never completed. Nothing more was done.', {
      hint: 'Run the command again. If it happens again, make a diagnostics bundle (mailroom diagnostics export) and send it with the command you ran.',
    }),
  );
});

process.on('exit', (code) => {
  // The last word: a code set by anything else (a library, Node itself) becomes 1.
  const normal = normalizeExitCode(code);
  if (normal !== code) process.exitCode = normal;
});

runMailroom(process.argv).then(
  (code) => {
    settled = true;
    if (!failedAlready) process.exitCode = code;
  },
  (error: unknown) => {
    settled = true;
    failOutside(error);
  },
);
