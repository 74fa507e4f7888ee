import type { z } from 'zod';
import { AppError, type FieldIssue } from './errors.js';

/** Turns zod issues into field issues with dotted paths. */
export function toFieldIssues(error: z.ZodError): FieldIssue[] {
  return error.issues.map((issue) => ({
    path: issue.path.map(String).join('.') || '(input)',
    message: issue.message,
  }));
}

/** Formats field issues as one line each: `path: message`. */
export function describeIssues(issues: FieldIssue[]): string {
  return issues.map((i) => `${i.path}: ${i.message}`).join('; ');
}

/**
 * Parses a value with a schema, throwing a VALIDATION_FAILED AppError whose
 * message names every failing field and what is allowed.
 */
export function parseOrThrow<S extends z.ZodType>(schema: S, value: unknown, what = 'input'): z.output<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issues = toFieldIssues(result.error);
  throw new AppError('VALIDATION_FAILED', `Invalid ${what}: ${describeIssues(issues)}`, { issues });
}
