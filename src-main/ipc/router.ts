/**
 * The one IPC router: checks the sender, validates the payload with the
 * channel's schema, runs the handler, validates what it returns (so nothing
 * undeclared, such as a secret, can leak) and wraps the outcome in a result
 * envelope with a stable error code. Transport-neutral: Electron IPC and the
 * browser console both call `invoke`.
 */
import { AppError, isAppError, type ErrorInfo, type Result } from '../shared/errors.js';
import { toFieldIssues, describeIssues } from '../shared/validation.js';
import { channelName, type Contract, type OutputOf, type ParsedInputOf } from '../shared/contract/channel.js';

/** Who is calling. */
export interface CallContext {
  /** `electron`: an IPC message from a frame; `console`: an authenticated browser-console request; `internal`: the engine or tests. */
  transport: 'electron' | 'console' | 'internal';
  /** The URL of the sending frame (Electron) or the request's Origin (console). */
  senderUrl?: string;
}

export type Handlers<C extends Contract> = {
  [A in keyof C]: { [M in keyof C[A]]: (input: ParsedInputOf<C[A][M]>, ctx: CallContext) => OutputOf<C[A][M]> | Promise<OutputOf<C[A][M]>> };
};

export interface RouterOptions {
  /** Decides whether a caller may use the router at all. */
  isTrustedSender: (ctx: CallContext) => boolean;
  /** Called with unexpected errors (not AppErrors), for the log. Never given payloads. */
  onInternalError?: (channel: string, error: unknown) => void;
}

export interface Router {
  readonly channels: string[];
  invoke(channel: string, payload: unknown, ctx: CallContext): Promise<Result<unknown>>;
}

const fail = (error: ErrorInfo): Result<never> => ({ ok: false, error });

/** The envelope error of an AppError, also one from another bundle that is recognised only by its shape. */
function appErrorInfo(error: AppError): ErrorInfo {
  if (typeof error.toInfo === 'function') return error.toInfo();
  const info: ErrorInfo = { code: error.code, message: error.message };
  if (typeof error.hint === 'string') info.hint = error.hint;
  if (Array.isArray(error.issues)) info.issues = error.issues;
  if (typeof error.detail === 'string') info.detail = error.detail;
  return info;
}

export function createRouter<C extends Contract>(contract: C, handlers: Handlers<C>, options: RouterOptions): Router {
  const table = new Map<string, { input: import('zod').ZodType; output: import('zod').ZodType; run: (input: unknown, ctx: CallContext) => unknown }>();
  for (const [area, methods] of Object.entries(contract)) {
    for (const [method, ch] of Object.entries(methods)) {
      const handler = (handlers as Record<string, Record<string, (i: unknown, c: CallContext) => unknown>>)[area]?.[method];
      if (typeof handler !== 'function') throw new Error(`No handler registered for channel ${channelName(area, method)}`);
      table.set(channelName(area, method), { input: ch.input, output: ch.output, run: handler });
    }
  }

  return {
    channels: [...table.keys()],
    async invoke(name, payload, ctx) {
      if (!options.isTrustedSender(ctx)) {
        return fail({ code: 'FORBIDDEN_SENDER', message: 'This caller is not allowed to use Mailroom.' });
      }
      const entry = typeof name === 'string' ? table.get(name) : undefined;
      if (!entry) return fail({ code: 'UNKNOWN_CHANNEL', message: `Unknown channel "${String(name).slice(0, 100)}".` });
      const parsed = entry.input.safeParse(payload ?? {});
      if (!parsed.success) {
        const issues = toFieldIssues(parsed.error);
        return fail({ code: 'INVALID_PAYLOAD', message: `Invalid request to ${name}: ${describeIssues(issues)}`, issues });
      }
      try {
        const value = await entry.run(parsed.data, ctx);
        const checked = entry.output.safeParse(value);
        if (!checked.success) {
          options.onInternalError?.(name, new Error(`Handler output does not match the contract: ${describeIssues(toFieldIssues(checked.error))}`));
          return fail({ code: 'INTERNAL_ERROR', message: `Mailroom produced an unexpected answer on ${name}.` });
        }
        return { ok: true, value: checked.data };
      } catch (error) {
        if (isAppError(error)) return fail(appErrorInfo(error));
        options.onInternalError?.(name, error);
        return fail({ code: 'INTERNAL_ERROR', message: `Something went wrong in ${name}. Details are in the application log.` });
      }
    },
  };
}
