/**
 * Starts the browser console in-process over a temporary data folder, with
 * the real engine and router behind it, as `mailroom console` does.
 */
import { openMailroom, type Mailroom } from '../../src-main/engine/mailroom';
import { createMailroomRouter } from '../../src-main/ipc/index';
import { startConsoleServer, type ConsoleServer } from '../../src-main/console-server/server';
import { staticKeyProvider } from '../../src-main/store/secret-box';
import { RENDERER_DIR } from './paths';
import crypto from 'node:crypto';
import path from 'node:path';

export interface ConsoleHandle {
  engine: Mailroom;
  server: ConsoleServer;
  close(): Promise<void>;
}

export async function startTestConsole(dataDir: string): Promise<ConsoleHandle> {
  const engine = openMailroom({ dataDir, keyProvider: staticKeyProvider(crypto.randomBytes(32), 'test key') });
  const router = createMailroomRouter(engine, { runtime: 'console' });
  const server = await startConsoleServer({ router, events: engine.events, rendererDir: RENDERER_DIR, downloadsDir: path.join(dataDir, 'exports') });
  return {
    engine,
    server,
    close: async () => {
      await server.close();
      engine.close();
    },
  };
}
