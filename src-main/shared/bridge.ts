/**
 * The shape of what the preload exposes as `window.mailroom`: one named
 * method per channel, each resolving to a result envelope, plus events.
 */
import type { Result } from './errors.js';
import type { InputOf, OutputOf } from './contract/channel.js';
import type { EventName, MailroomContract } from './contract/index.js';

export type BridgeArea<A> = { [M in keyof A]: (payload: InputOf<A[M]>) => Promise<Result<OutputOf<A[M]>>> };

export type MailroomBridge = { [A in keyof MailroomContract]: BridgeArea<MailroomContract[A]> } & {
  events: { on(name: EventName, listener: (payload: unknown) => void): () => void };
};

/** The Electron IPC channel name of a contract channel. */
export const ipcChannel = (name: string): string => `mailroom:${name}`;
/** The one Electron IPC channel events travel on. */
export const IPC_EVENT_CHANNEL = 'mailroom:event';
