// Builds everything into dist/: the CLI and browser console (ESM, split so
// commands load lazily), the Electron main process and preload (CommonJS),
// the import's parser worker beside each of them, and the renderer (Vite).
// Run by `npm ci` (prepare) and `npm test`; `worker` builds only the two
// parser workers (the tests' global setup does, so they run the current source).
import { build as esbuild } from 'esbuild';
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8'));
const only = process.argv[2]; // optional: cli | app | renderer | worker
const started = Date.now();

const common = {
  absWorkingDir: root,
  bundle: true,
  platform: 'node',
  target: 'node20',
  sourcemap: true,
  logLevel: 'warning',
  loader: { '.sql': 'text' },
  define: { __MAILROOM_VERSION__: JSON.stringify(pkg.version) },
};

/** mailparser's address-header module (ES module build), found from its package.json. */
function mailparserAddressHeader() {
  const require = createRequire(import.meta.url);
  const file = path.join(path.dirname(require.resolve('mailparser/package.json')), 'dist', 'esm', 'address-header.js');
  if (!existsSync(file)) throw new Error(`mailroom build: mailparser no longer has ${file}; the parser worker imports parseAddressHeader from it (src-main/engine/inbox/parser-worker.ts)`);
  return file;
}

/** The worker's file name in each bundle's folder (src-main/engine/inbox/parser-worker-file.ts finds it from there). */
const PARSER_WORKER = { cli: 'parser-worker.mjs', app: 'parser-worker.cjs' };

/**
 * The import's parser worker (src-main/engine/inbox/parser-worker.ts) as one
 * self-contained file: mailparser and its parts are bundled in, so nothing
 * is loaded from node_modules at run time (the packaged app's node_modules
 * are inside app.asar, which a worker thread cannot read). Written to a
 * temporary name and renamed, so a worker starting meanwhile never reads
 * half a file.
 */
async function buildParserWorker(flavour) {
  const format = flavour === 'cli' ? 'esm' : 'cjs';
  const outfile = path.join(root, 'dist', flavour, PARSER_WORKER[flavour]);
  const result = await esbuild({
    ...common,
    entryPoints: ['src-main/engine/inbox/parser-worker.ts'],
    outfile,
    format,
    write: false,
    // parseAddressHeader's own module (the file mailparser's index takes it from), so the worker
    // starts without loading the full parser; a mailparser that moves it fails this build, not a worker.
    alias: { 'mailparser/address-header': mailparserAddressHeader() },
    // Bundled CommonJS packages require Node's built-ins: an ES module has no require of its own.
    ...(format === 'esm' ? { banner: { js: "import { createRequire as __mailroomCreateRequire } from 'node:module'; const require = __mailroomCreateRequire(import.meta.url);" } } : {}),
  });
  mkdirSync(path.dirname(outfile), { recursive: true });
  for (const file of result.outputFiles) {
    const temporary = `${file.path}.${process.pid}.tmp`;
    writeFileSync(temporary, file.contents);
    renameSync(temporary, file.path);
  }
}

if (!only || only === 'cli' || only === 'worker') await buildParserWorker('cli');
// The app build below empties dist/app and builds its worker after it.
if (only === 'worker') await buildParserWorker('app');

if (!only || only === 'cli') {
  // Build over the old files (a CLI running meanwhile never finds main.mjs missing), then drop stale chunks.
  const result = await esbuild({
    metafile: true,
    ...common,
    entryPoints: { main: 'src-main/cli/main.ts' },
    define: { ...common.define, __MAILROOM_PARSER_WORKER__: JSON.stringify(PARSER_WORKER.cli) },
    outdir: 'dist/cli',
    format: 'esm',
    splitting: true,
    outExtension: { '.js': '.mjs' },
    packages: 'external',
    chunkNames: 'chunks/[name]-[hash]',
  });
  const fresh = new Set(Object.keys(result.metafile.outputs).map((f) => path.resolve(root, f)));
  const chunks = path.join(root, 'dist', 'cli', 'chunks');
  if (existsSync(chunks)) {
    for (const name of readdirSync(chunks)) {
      const file = path.join(chunks, name);
      // Keep recent stale chunks a little while: a CLI started just before this build may still import them.
      if (!fresh.has(file) && Date.now() - statSync(file).mtimeMs > 10 * 60 * 1000) rmSync(file, { force: true });
    }
  }
}

if (!only || only === 'app') {
  rmSync(path.join(root, 'dist', 'app'), { recursive: true, force: true });
  await esbuild({
    ...common,
    entryPoints: { main: 'src-main/app/main.ts' },
    outdir: 'dist/app',
    format: 'cjs',
    outExtension: { '.js': '.cjs' },
    packages: 'external',
    external: ['electron'],
    // A CommonJS bundle has no import.meta: its url is this file's own (parser-worker-file.ts reads it).
    banner: { js: 'const __mailroomImportMetaUrl = require("node:url").pathToFileURL(__filename).href;' },
    define: { ...common.define, 'import.meta.url': '__mailroomImportMetaUrl', __MAILROOM_PARSER_WORKER__: JSON.stringify(PARSER_WORKER.app) },
  });
  await buildParserWorker('app');
  // A sandboxed preload cannot require packages: bundle everything but electron.
  await esbuild({
    ...common,
    entryPoints: { preload: 'src-main/preload/preload.ts' },
    outdir: 'dist/app',
    format: 'cjs',
    platform: 'browser',
    target: 'chrome130',
    outExtension: { '.js': '.cjs' },
    external: ['electron'],
  });
}

if (!only || only === 'renderer') {
  const { build: viteBuild } = await import('vite');
  await viteBuild({ configFile: path.join(root, 'vite.config.ts'), logLevel: 'warn' });
}

console.log(`mailroom: built ${only ?? 'cli, app, renderer'} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
