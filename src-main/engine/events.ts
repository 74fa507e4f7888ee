/**
 * A small typed event bus: the engine announces changes; the IPC layer
 * forwards them to renderers on the declared event channels.
 */
import type { EventName } from '../shared/contract/index.js';

export type Listener = (payload: unknown) => void;

export class EventBus {
  private readonly listeners = new Map<EventName, Set<Listener>>();
  private readonly any = new Set<(name: EventName, payload: unknown) => void>();

  on(name: EventName, listener: Listener): () => void {
    let set = this.listeners.get(name);
    if (!set) this.listeners.set(name, (set = new Set()));
    set.add(listener);
    return () => set.delete(listener);
  }

  /** Listens to every event, e.g. to forward them over a transport. */
  onAny(listener: (name: EventName, payload: unknown) => void): () => void {
    this.any.add(listener);
    return () => this.any.delete(listener);
  }

  emit(name: EventName, payload: unknown): void {
    for (const l of this.listeners.get(name) ?? []) l(payload);
    for (const l of this.any) l(name, payload);
  }
}
