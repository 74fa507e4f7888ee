/**
 * Starts the browser console in-process over a temporary data folder, with
 * the real engine and router behind it, as `mailroom console` does.
 */
import { openMailroom, type Mailroom, type MailroomOptions } from '../../src-main/engine/mailroom';
import { createSession, type Session } from '../../src-main/ipc/session';
import { startConsoleServer, type ConsoleServer } from '../../src-main/console-server/server';
import { staticKeyProvider } from '../../src-main/store/secret-box';
import { RENDERER_DIR } from './paths';
import crypto from 'node:crypto';
import path from 'node:path';

export interface ConsoleHandle {
  engine: Mailroom;
  session: Session;
  server: ConsoleServer;
  close(): Promise<void>;
}

/** `options` passes further options to the engine (a key provider, a fetch that trusts a test IdP, an offline detector). */
export async function startTestConsole(dataDir: string, options: Pick<MailroomOptions, 'keyProvider' | 'fetch' | 'detector'> = {}): Promise<ConsoleHandle> {
  const engine = openMailroom({ dataDir, ...options, keyProvider: options.keyProvider ?? staticKeyProvider(crypto.randomBytes(32), 'test key') });
  const session = createSession(engine, { runtime: 'console' });
  const router = session.router;
  const server = await startConsoleServer({ router, events: engine.events, rendererDir: RENDERER_DIR, downloadsDir: path.join(dataDir, 'exports') });
  return {
    engine,
    session,
    server,
    close: async () => {
      await server.close();
      session.close();
      engine.close();
    },
  };
}

/** Calls one IPC channel through the console's HTTP API, as the renderer does. */
export async function invokeConsole(server: ConsoleServer, channel: string, payload: unknown): Promise<{ ok: true; value: any } | { ok: false; error: { code: string; message: string; hint?: string; detail?: string } }> {
  const response = await fetch(`http://127.0.0.1:${server.port}/api/invoke`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-mailroom-token': server.token },
    body: JSON.stringify({ channel, payload }),
  });
  return (await response.json()) as never;
}
