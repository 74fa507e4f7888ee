/**
 * CLI output and exit codes: 0 success, 1 the operation failed, 2 a usage or
 * validation error; never another. With --json every command prints exactly
 * one JSON value on stdout; errors print `{ ok: false, error }` there as well.
 */
import type { Command } from 'commander';
import { AppError, isAppError, type ErrorInfo } from '../shared/errors.js';
import { isFileSystemError, unexpectedFileError } from './files.js';
import { withFlagNames } from './flag-names.js';
import { toCliWords, withCliWords } from '../shared/setting-words.js';

export const EXIT_OK = 0;
export const EXIT_FAILED = 1;
export const EXIT_USAGE = 2;
export type ExitCode = typeof EXIT_OK | typeof EXIT_FAILED | typeof EXIT_USAGE;

/** Codes that mean "what was typed (a flag, an argument, the file it names) cannot be used": exit 2. */
const USAGE_CODES = new Set([
  'VALIDATION_FAILED',
  // A first enable of a folder that holds mail, without --import-existing yes|no: a choice is missing.
  'IMPORT_CHOICE_REQUIRED',
  'USAGE',
  'SETTINGS_FILE_INVALID',
  'INVALID_PAYLOAD',
  'OUTPUT_PATH_INVALID',
  'INPUT_FILE_UNREADABLE',
  'DATA_DIR_UNUSABLE',
  // The file given as a web.config cannot be used as one.
  'WEBCONFIG_NOT_FOUND',
  'WEBCONFIG_NOT_A_FILE',
  'WEBCONFIG_TOO_LARGE',
  'WEBCONFIG_TOO_DEEP',
  'WEBCONFIG_ENCODING',
  'WEBCONFIG_MALFORMED',
  'WEBCONFIG_NOT_CONFIGURATION',
  'WEBCONFIG_AMBIGUOUS',
  'WEBCONFIG_EXTERNAL_SECTION',
  'SITE_VERSION_UNRECOGNIZED',
  'SITE_VERSION_AMBIGUOUS',
]);

/** What the running invocation asked for; run.ts starts one per command line. */
interface Invocation {
  /** --json was given (before any `--`): every outcome is one JSON value on stdout. */
  json: boolean;
  /** The command whose action runs: validation errors name its flags. */
  command: Command | undefined;
  /** A JSON value is already on stdout: a later error goes to stderr only. */
  jsonPrinted: boolean;
}

let invocation: Invocation = { json: false, command: undefined, jsonPrinted: false };

/** True when the words of a command line ask for JSON: `--json` before any `--`. */
export function jsonRequested(args: readonly string[]): boolean {
  const end = args.indexOf('--');
  return (end === -1 ? args : args.slice(0, end)).includes('--json');
}

/** Starts the bookkeeping of one command line. */
export function startInvocation(json: boolean): void {
  invocation = { json, command: undefined, jsonPrinted: false };
}

/** Records the command whose action is about to run. */
export function setInvocationCommand(command: Command): void {
  invocation.command = command;
}

/** Whether a JSON value was printed in this invocation. */
export function jsonWasPrinted(): boolean {
  return invocation.jsonPrinted;
}

const INTERNAL_HINT = 'This is a fault in Mailroom, not in what you typed. Run the command again; if it happens again, make a diagnostics bundle (mailroom diagnostics export) and send it with the command you ran.';

export function toErrorInfo(error: unknown): ErrorInfo {
  if (isAppError(error)) return (error as AppError).toInfo();
  if (isFileSystemError(error)) return unexpectedFileError(error).toInfo();
  return { code: 'INTERNAL_ERROR', message: error instanceof Error ? error.message : String(error), hint: INTERNAL_HINT };
}

export function exitCodeFor(info: ErrorInfo): ExitCode {
  return USAGE_CODES.has(info.code) ? EXIT_USAGE : EXIT_FAILED;
}

/** Any exit code as one of 0, 1, 2: a code set by something else means the operation failed. */
export function normalizeExitCode(code: unknown): ExitCode {
  const n = code === undefined || code === null || code === '' ? 0 : Number(code);
  return n === EXIT_OK || n === EXIT_FAILED || n === EXIT_USAGE ? n : EXIT_FAILED;
}

/** Prints the one JSON value of this invocation; hints and summaries name settings by the CLI's values (`"tls"`), not the screen's labels. */
export function printJson(value: unknown, options: { compact?: boolean } = {}): void {
  invocation.jsonPrinted = true;
  process.stdout.write(JSON.stringify(withCliWords(value), null, options.compact ? undefined : 2) + '\n');
}

const MAX_MESSAGE = 4000;

/** Keeps a message readable on a terminal: no control characters (a value typed may hold escape sequences), no megabyte echo. */
export function plainText(text: string): string {
  // eslint-disable-next-line no-control-regex
  const clean = text.replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  return clean.length > MAX_MESSAGE ? `${clean.slice(0, MAX_MESSAGE)}... (${clean.length - MAX_MESSAGE} more characters)` : clean;
}

/** `mailroom logs export`, for hints. */
function commandLine(command: Command | undefined): string {
  const names: string[] = [];
  for (let c = command; c; c = c.parent ?? undefined) names.unshift(c.name());
  return names.length ? names.join(' ') : 'mailroom';
}

/**
 * The error as the admin reads it: flags named as typed, message kept to a
 * readable length, and always a hint (for what was typed wrong: where the
 * command's help is).
 */
export function describeError(error: unknown): ErrorInfo {
  const info = withFlagNames(toErrorInfo(error), invocation.command);
  const message = info.message.length > MAX_MESSAGE ? `${info.message.slice(0, MAX_MESSAGE)}... (${info.message.length - MAX_MESSAGE} more characters)` : info.message;
  const hint = info.hint ?? (exitCodeFor(info) === EXIT_USAGE ? `Run "${commandLine(invocation.command)} --help" to see what each flag and argument accepts.` : undefined);
  return { ...info, message, ...(hint ? { hint } : {}) };
}

/** Prints an error in the chosen format and sets the exit code. */
export function reportError(error: unknown, json: boolean): void {
  const info = describeError(error);
  if ((json || invocation.json) && !invocation.jsonPrinted) printJson({ ok: false, error: info });
  else {
    process.stderr.write(`error [${info.code}]: ${plainText(info.message)}\n`);
    if (info.hint) process.stderr.write(`hint: ${plainText(toCliWords(info.hint))}\n`);
    if (info.detail) process.stderr.write(`detail: ${plainText(info.detail)}\n`);
  }
  process.exitCode = exitCodeFor(info);
}

/** A usage error naming the flag. */
export function usageError(message: string, hint?: string): AppError {
  return new AppError('USAGE', message, hint ? { hint } : {});
}

/** Formats rows as a plain-text table. */
export function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
  return [line(headers), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n') + '\n';
}
