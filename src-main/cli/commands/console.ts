/** `mailroom console`: the browser console, in the foreground until Ctrl+C. */
import { fileURLToPath } from 'node:url';
import fs from 'node:fs';
import path from 'node:path';
import { openMailroom } from '../../engine/mailroom.js';
import { startEngineRuntime } from '../../engine/runtime.js';
import { createSession } from '../../ipc/session.js';
import { startConsoleServer } from '../../console-server/server.js';
import { openInBrowser } from '../../console-server/open-browser.js';
import { printJson, reportError, usageError } from '../output.js';
import { dataDirOf, type CommonOptions } from '../context.js';

/** Where the built renderer lives: dist/renderer, found from the built CLI file (dist/cli/main.cjs). */
export function rendererDir(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 4; i++) {
    const candidate = path.join(dir, 'renderer');
    if (fs.existsSync(path.join(candidate, 'index.html'))) return candidate;
    dir = path.dirname(dir);
  }
  return path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'renderer');
}

export async function runConsole(opts: CommonOptions & { port?: string; open?: boolean }): Promise<void> {
  try {
    const port = opts.port === undefined ? 0 : Number(opts.port);
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw usageError('--port must be a whole number from 0 to 65535 (0 picks a free port).');
    const engine = openMailroom({ dataDir: dataDirOf(opts) });
    const { router } = createSession(engine, { runtime: 'console' }, (channel, error) => {
      process.stderr.write(`internal error on ${channel}: ${error instanceof Error ? error.message : String(error)}\n`);
    });
    const server = await startConsoleServer({ router, events: engine.events, rendererDir: rendererDir(), port, downloadsDir: path.join(engine.dataDir, 'exports') });
    // Ctrl+C is handled from before the address is announced: whoever reads it may stop the console at once.
    let runtime: Awaited<ReturnType<typeof startEngineRuntime>> | undefined;
    let stopping = false;
    const stop = async () => {
      if (stopping) return;
      stopping = true;
      await runtime?.stop(5_000);
      await server.close();
      engine.close();
      process.exit(0);
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
    if (opts.json) printJson({ url: server.url, port: server.port, dataDir: engine.dataDir }, { compact: true });
    else {
      process.stdout.write(`Mailroom console: ${server.url}\n`);
      process.stdout.write(`Data folder: ${engine.dataDir}\nOpen the URL above in a browser on this computer. Press Ctrl+C to stop.\n`);
    }
    if (opts.open) openInBrowser(server.launchUrl());
    // The engine's background work (outbox senders, the relay when enabled, the inbox import).
    const started = await startEngineRuntime(engine, { runtime: 'console', onWarning: (m) => void process.stderr.write(`warning: ${m}\n`) });
    if (stopping) await started.stop(5_000);
    else runtime = started;
  } catch (error) {
    reportError(error, Boolean(opts.json));
  }
}
