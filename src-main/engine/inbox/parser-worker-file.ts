/**
 * Where the parser worker's built file is. scripts/build.mjs writes it next
 * to each bundle: dist/cli/parser-worker.cjs beside the CLI's main.cjs and
 * dist/app/parser-worker.cjs beside the desktop app's main.cjs. In the
 * packaged app that folder is inside resources/app.asar, which a worker
 * thread cannot read; electron-builder.yml unpacks the worker to
 * resources/app.asar.unpacked, where it is looked up instead.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The worker's file name in this bundle's folder, set by scripts/build.mjs; not set when the TypeScript runs from source (tests). */
declare const __MAILROOM_PARSER_WORKER__: string | undefined;

const ASAR_SEGMENT = /([\\/])app\.asar(?=[\\/]|$)/;

/** The same path outside Electron's archive: `...resources/app.asar/x` -> `...resources/app.asar.unpacked/x`. */
export function outsideAsar(file: string): string {
  return file.replace(ASAR_SEGMENT, '$1app.asar.unpacked');
}

/**
 * The worker file that belongs to the bundle file `moduleFile`: beside it,
 * outside app.asar (whether or not it is there: a missing one makes the
 * parser say it cannot start workers).
 */
export function locateParserWorker(moduleFile: string, workerName: string): string {
  return path.join(outsideAsar(path.dirname(moduleFile)), workerName);
}

/** The root of the repository, seen from this source file (src-main/engine/inbox). */
const sourceRoot = (here: string) => path.resolve(path.dirname(here), '..', '..', '..');

/**
 * The parser worker for this process. From source (vitest runs the
 * TypeScript) it is the CLI's worker bundle, which test/helpers/global-setup.ts
 * rebuilds from the current source before every run.
 */
export function parserWorkerFile(): string {
  // The CommonJS bundles get import.meta.url from scripts/build.mjs (their own __filename).
  const here = fileURLToPath(import.meta.url);
  if (typeof __MAILROOM_PARSER_WORKER__ === 'string') return locateParserWorker(here, __MAILROOM_PARSER_WORKER__);
  return path.join(sourceRoot(here), 'dist', 'cli', 'parser-worker.cjs');
}
