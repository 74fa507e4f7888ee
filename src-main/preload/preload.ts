/**
 * The preload of the sandboxed renderer: exposes one named method per
 * contract channel (never ipcRenderer itself) and the declared events.
 */
import { contextBridge, ipcRenderer } from 'electron';
import { contract, EVENT_NAMES, type EventName } from '../shared/contract/index.js';
import { ipcChannel, IPC_EVENT_CHANNEL } from '../shared/bridge.js';

const bridge: Record<string, unknown> = {};
for (const [area, methods] of Object.entries(contract)) {
  const named: Record<string, (payload: unknown) => Promise<unknown>> = {};
  for (const method of Object.keys(methods)) {
    const wire = ipcChannel(`${area}.${method}`);
    named[method] = (payload: unknown) => ipcRenderer.invoke(wire, payload);
  }
  bridge[area] = named;
}
bridge.events = {
  on(name: EventName, listener: (payload: unknown) => void): () => void {
    if (!(EVENT_NAMES as readonly string[]).includes(name)) throw new Error(`Unknown event ${String(name)}`);
    const handler = (_event: unknown, message: { name: string; payload: unknown }) => {
      if (message?.name === name) listener(message.payload);
    };
    ipcRenderer.on(IPC_EVENT_CHANNEL, handler);
    return () => ipcRenderer.off(IPC_EVENT_CHANNEL, handler);
  },
};

contextBridge.exposeInMainWorld('mailroom', bridge);
