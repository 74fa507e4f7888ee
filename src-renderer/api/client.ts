/**
 * The renderer's one typed client, derived from the IPC contract. Behind it
 * is either the Electron preload (`window.mailroom`) or the browser console's
 * loopback HTTP transport; both return the same result envelopes.
 */
import { contract, type EventName, type MailroomContract } from '../../src-main/shared/contract/index.js';
import type { InputOf, OutputOf } from '../../src-main/shared/contract/channel.js';
import type { ErrorInfo, FieldIssue, Result } from '../../src-main/shared/errors.js';

/** An error returned by the engine, with its stable code and hint. */
export class ApiError extends Error implements ErrorInfo {
  readonly code: string;
  readonly hint?: string;
  readonly issues?: FieldIssue[];
  readonly detail?: string;
  constructor(info: ErrorInfo) {
    super(info.message);
    this.name = 'ApiError';
    this.code = info.code;
    if (info.hint) this.hint = info.hint;
    if (info.issues) this.issues = info.issues;
    if (info.detail) this.detail = info.detail;
  }
}

export interface Transport {
  readonly kind: 'electron' | 'console';
  invoke(channel: string, payload: unknown): Promise<Result<unknown>>;
  on(name: EventName, listener: (payload: unknown) => void): () => void;
}

function electronTransport(): Transport {
  const bridge = window.mailroom!;
  return {
    kind: 'electron',
    invoke(channel, payload) {
      const [area, method] = channel.split('.') as [keyof MailroomContract, string];
      const fn = (bridge[area] as unknown as Record<string, (p: unknown) => Promise<Result<unknown>>>)[method];
      if (!fn) return Promise.resolve({ ok: false, error: { code: 'UNKNOWN_CHANNEL', message: `Unknown channel ${channel}` } });
      return fn(payload);
    },
    on: (name, listener) => bridge.events.on(name, listener),
  };
}

function consoleTransport(): Transport {
  const token = document.querySelector<HTMLMetaElement>('meta[name="mailroom-token"]')?.content ?? '';
  const listeners = new Map<EventName, Set<(payload: unknown) => void>>();
  let source: EventSource | undefined;
  const ensureSource = () => {
    if (source) return;
    source = new EventSource('/api/events');
    source.onmessage = (event) => {
      try {
        const { name, payload } = JSON.parse(event.data as string) as { name: EventName; payload: unknown };
        listeners.get(name)?.forEach((l) => l(payload));
      } catch {
        // Ignore malformed frames.
      }
    };
  };
  return {
    kind: 'console',
    async invoke(channel, payload) {
      try {
        const response = await fetch('/api/invoke', {
          method: 'POST',
          headers: { 'Content-Type': 'application/json', 'X-Mailroom-Token': token },
          body: JSON.stringify({ channel, payload }),
        });
        if (response.status === 401) {
          return { ok: false, error: { code: 'FORBIDDEN_SENDER', message: 'The console session has ended.', hint: 'Open the URL printed by "mailroom console" again.' } };
        }
        return (await response.json()) as Result<unknown>;
      } catch {
        return { ok: false, error: { code: 'CONSOLE_UNREACHABLE', message: 'The Mailroom console server is not answering.', hint: 'Check that "mailroom console" is still running, then reload the page.' } };
      }
    },
    on(name, listener) {
      ensureSource();
      let set = listeners.get(name);
      if (!set) listeners.set(name, (set = new Set()));
      set.add(listener);
      return () => set.delete(listener);
    },
  };
}

export type Api = {
  [A in keyof MailroomContract]: { [M in keyof MailroomContract[A]]: (input: InputOf<MailroomContract[A][M]>) => Promise<OutputOf<MailroomContract[A][M]>> };
} & { transport: Transport };

/** Builds the typed client over a transport: one method per contract channel. */
export function createApi(transport: Transport): Api {
  const api: Record<string, unknown> = { transport };
  for (const [area, methods] of Object.entries(contract)) {
    const named: Record<string, (input: unknown) => Promise<unknown>> = {};
    for (const method of Object.keys(methods)) {
      named[method] = async (input: unknown) => {
        const result = await transport.invoke(`${area}.${method}`, input ?? {});
        if (!result.ok) throw new ApiError(result.error);
        return result.value;
      };
    }
    api[area] = named;
  }
  return api as Api;
}

export const api: Api = createApi(typeof window !== 'undefined' && window.mailroom ? electronTransport() : consoleTransport());
