// Bundles an engine module from src-main on the fly (esbuild), so benches
// measure the real code path without a TypeScript loader.
import { build } from 'esbuild';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export async function importEngine(entry) {
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'mailroom-bench-'));
  const outfile = path.join(outdir, 'engine.mjs');
  await build({
    absWorkingDir: ROOT,
    entryPoints: [entry],
    outfile,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'esm',
    packages: 'external',
    loader: { '.sql': 'text' },
    define: { __MAILROOM_VERSION__: '"bench"' },
    logLevel: 'warning',
  });
  // Resolve bare imports (better-sqlite3, ...) from the project's node_modules.
  fs.symlinkSync(path.join(ROOT, 'node_modules'), path.join(outdir, 'node_modules'), 'junction');
  const mod = await import(pathToFileURL(outfile).href);
  return { mod, cleanup: () => fs.rmSync(outdir, { recursive: true, force: true }) };
}
