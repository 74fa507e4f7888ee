/**
 * CLI output and exit codes: 0 success, 1 the operation failed, 2 a usage or
 * validation error. With --json every command prints one JSON value on
 * stdout; errors print `{ ok: false, error }` there as well.
 */
import { AppError, isAppError, type ErrorInfo } from '../shared/errors.js';
import { toCliWords, withCliWords } from '../shared/setting-words.js';

export const EXIT_OK = 0;
export const EXIT_FAILED = 1;
export const EXIT_USAGE = 2;

const USAGE_CODES = new Set(['VALIDATION_FAILED', 'USAGE', 'SETTINGS_FILE_INVALID', 'INVALID_PAYLOAD']);

/** Maps a field path of the engine's schemas to the CLI flag that sets it. */
const FLAG_FOR_PATH: Record<string, string> = {
  name: '--name',
  address: '--address',
  preset: '--preset',
  password: '--password-env / --password-stdin',
  'imap.host': '--imap-host',
  'imap.port': '--imap-port',
  'imap.security': '--imap-security',
  'imap.username': '--imap-user',
  'imap.auth': '--auth',
  'imap.folder': '--imap-folder',
  'imap.afterImport': '--after-import',
  'imap.pollIntervalSeconds': '--poll-seconds',
  'smtp.host': '--smtp-host',
  'smtp.port': '--smtp-port',
  'smtp.security': '--smtp-security',
  'smtp.username': '--smtp-user',
  'smtp.auth': '--smtp-auth',
  mailboxId: '--mailbox',
  direction: '--direction',
  level: '--level',
  code: '--code',
  text: '--text',
  since: '--since',
  until: '--until',
};

/** Rewrites field paths in an error as the CLI flags that set them. */
export function withFlagNames(info: ErrorInfo): ErrorInfo {
  // Only errors about flags are reworded; others (a settings file's entries) keep the engine's message.
  if (!info.issues?.some((i) => Object.hasOwn(FLAG_FOR_PATH, i.path))) return info;
  const issues = info.issues.map((i) => ({ ...i, path: FLAG_FOR_PATH[i.path] ?? i.path }));
  return { ...info, issues, message: `Invalid value: ${issues.map((i) => `${i.path} ${i.message}`).join('; ')}` };
}

export function toErrorInfo(error: unknown): ErrorInfo {
  if (isAppError(error)) return (error as AppError).toInfo();
  return { code: 'INTERNAL_ERROR', message: error instanceof Error ? error.message : String(error) };
}

export function exitCodeFor(info: ErrorInfo): number {
  return USAGE_CODES.has(info.code) ? EXIT_USAGE : EXIT_FAILED;
}

/** Prints one JSON value; hints and summaries name settings by the CLI's values (`"tls"`), not the screen's labels. */
export function printJson(value: unknown): void {
  process.stdout.write(JSON.stringify(withCliWords(value), null, 2) + '\n');
}

/** Prints an error in the chosen format and sets the exit code. */
export function reportError(error: unknown, json: boolean): void {
  const info = withFlagNames(toErrorInfo(error));
  if (json) printJson({ ok: false, error: info });
  else {
    process.stderr.write(`error [${info.code}]: ${info.message}\n`);
    if (info.hint) process.stderr.write(`hint: ${toCliWords(info.hint)}\n`);
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
