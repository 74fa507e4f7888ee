/**
 * Errors that cross a boundary (IPC, CLI, console) carry a stable code, a
 * plain-words message and, where known, a hint that says what to change.
 * This module imports nothing from node or electron.
 */

/** Stable error codes for failures that are not mail diagnoses. */
export const ERROR_CODES = [
  'VALIDATION_FAILED',
  'NOT_FOUND',
  'CONFLICT',
  'UNKNOWN_CHANNEL',
  'INVALID_PAYLOAD',
  'FORBIDDEN_SENDER',
  'DATABASE_TOO_NEW',
  'DATABASE_UNREADABLE',
  'DATABASE_UPGRADE_FAILED',
  'NATIVE_MODULE_MISMATCH',
  'NATIVE_MODULE_MISSING',
  'SECRET_KEY_UNAVAILABLE',
  'SECRET_KEY_NEEDS_APP',
  'SECRET_UNREADABLE',
  'SETTINGS_FILE_INVALID',
  'USAGE',
  'INTERNAL_ERROR',
] as const;

/** A stable error code (SCREAMING_SNAKE_CASE). Diagnosis codes are also allowed. */
export type ErrorCode = (typeof ERROR_CODES)[number] | (string & {});

/** One problem with one field of an input. */
export interface FieldIssue {
  /** Dotted path of the field, e.g. `imap.port`. */
  path: string;
  /** What is wrong and what is allowed. */
  message: string;
}

/** The serialisable shape of an error that crosses a boundary. */
export interface ErrorInfo {
  code: ErrorCode;
  message: string;
  hint?: string;
  issues?: FieldIssue[];
  /**
   * A library's or server's own words, for whoever helps the admin (never the
   * message, never a secret): e.g. msal-node's `endpoints_resolution_error`.
   */
  detail?: string;
}

/** An error with a stable code, raised by the engine and store. */
export class AppError extends Error implements ErrorInfo {
  readonly code: ErrorCode;
  readonly hint?: string;
  readonly issues?: FieldIssue[];
  readonly detail?: string;

  constructor(code: ErrorCode, message: string, options: { hint?: string; issues?: FieldIssue[]; cause?: unknown; detail?: string } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'AppError';
    this.code = code;
    if (options.hint !== undefined) this.hint = options.hint;
    if (options.issues !== undefined) this.issues = options.issues;
    if (options.detail !== undefined) this.detail = options.detail;
  }

  /** The plain object sent over IPC or printed as JSON. */
  toInfo(): ErrorInfo {
    const info: ErrorInfo = { code: this.code, message: this.message };
    if (this.hint !== undefined) info.hint = this.hint;
    if (this.issues !== undefined) info.issues = this.issues;
    if (this.detail !== undefined) info.detail = this.detail;
    return info;
  }
}

/** True when the value is an AppError (also across bundles, by shape). */
export function isAppError(value: unknown): value is AppError {
  return value instanceof AppError || (typeof value === 'object' && value !== null && (value as { name?: unknown }).name === 'AppError' && typeof (value as { code?: unknown }).code === 'string');
}

/** The result envelope returned by every IPC channel. */
export type Result<T> = { ok: true; value: T } | { ok: false; error: ErrorInfo };
