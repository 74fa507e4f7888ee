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

/** `engine` passes further options to the engine (a fetch that trusts a test IdP, an offline detector). */
export async function startTestConsole(dataDir: string, engineOptions: Pick<MailroomOptions, 'fetch' | 'detector'> = {}): Promise<ConsoleHandle> {
  const engine = openMailroom({ dataDir, keyProvider: staticKeyProvider(crypto.randomBytes(32), 'test key'), ...engineOptions });
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
