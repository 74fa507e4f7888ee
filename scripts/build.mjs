// Builds everything into dist/: the CLI and browser console (one CommonJS
// bundle, run from V8's code cache by bin/mailroom.mjs through
// dist/cli/code-cache.cjs), the Electron main process and preload (CommonJS),
// the import's parser worker beside each of them, and the renderer (Vite).
// Run by `npm ci` (prepare) and `npm test`; `worker` builds only the two
// parser workers (the tests' global setup does, so they run the current source).
import { build as esbuild } from 'esbuild';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
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

/**
 * Packages bundled into the CLI instead of loaded from node_modules: zod,
 * which nearly every command loads, is about a hundred ES modules, each
 * found, read, compiled and linked on its own at every start; bundled, it is
 * part of the one file V8 keeps the compiled code of. Everything else stays
 * external: native modules, packages only some commands load, and commander
 * (the tests' fault injection wraps the module the CLI uses).
 */
const BUNDLED_IN_CLI = new Set(['zod']);

/**
 * An esbuild plugin: zod's `locales` namespace holds only English. zod
 * exports every translation of its messages (about sixty, half of zod's
 * code), which the CLI would otherwise compile at every start; Mailroom
 * speaks English and uses zod's default (English) messages only.
 */
function zodEnglishOnly() {
  return {
    name: 'zod-english-only',
    setup(build) {
      build.onResolve({ filter: /[\\/]locales[\\/]index\.js$/ }, (args) => {
        if (!/[\\/]node_modules[\\/]zod[\\/]/.test(args.importer)) return undefined;
        return { path: path.join(args.resolveDir, args.path), namespace: 'zod-english-only' };
      });
      build.onLoad({ filter: /.*/, namespace: 'zod-english-only' }, (args) => ({
        contents: `export { default as en } from ${JSON.stringify(path.join(path.dirname(args.path), 'en.js'))};`,
        loader: 'js',
        resolveDir: path.dirname(args.path),
      }));
    },
  };
}

/** An esbuild plugin: bare imports are external except the packages named. */
function externalExcept(bundled) {
  return {
    name: 'external-except',
    setup(build) {
      build.onResolve({ filter: /^[^./]/ }, (args) => {
        if (args.path.startsWith('node:')) return { path: args.path, external: true };
        const name = args.path.startsWith('@') ? args.path.split('/').slice(0, 2).join('/') : args.path.split('/')[0];
        return bundled.has(name) ? undefined : { path: args.path, external: true };
      });
    },
  };
}

/**
 * Packages published both as ES modules and as CommonJS that the worker
 * reaches both ways: mailparser imports them, mailsplit requires them. Left
 * alone, the bundle holds two copies of each, and libmime's character-set
 * module builds iconv-lite's GBK tables at load: twice, a fifth of the
 * worker's start. Every import of them takes the CommonJS copy.
 */
const ONE_COPY_IN_WORKER = /^(libmime|libqp|libbase64)(\/|$)/;

/** An esbuild plugin: imports of the matching packages resolve as require() does. */
function oneCopy(filter) {
  return {
    name: 'one-copy',
    setup(build) {
      build.onResolve({ filter }, (args) => {
        if (args.kind === 'require-call' || args.pluginData?.oneCopy) return undefined;
        return build.resolve(args.path, { kind: 'require-call', resolveDir: args.resolveDir, importer: args.importer, pluginData: { oneCopy: true } });
      });
    },
  };
}

/** The worker's file name in each bundle's folder (src-main/engine/inbox/parser-worker-file.ts finds it from there). */
const PARSER_WORKER = 'parser-worker.cjs';

/**
 * The CLI's and the app's bundles are CommonJS, which has no import.meta: their
 * import.meta.url is the bundle file's own (parser-worker-file.ts and console.ts
 * find their neighbours from it), and each knows its parser worker's name.
 */
const COMMONJS_BUNDLE = {
  banner: { js: 'const __mailroomImportMetaUrl = require("node:url").pathToFileURL(__filename).href;' },
  define: { ...common.define, 'import.meta.url': '__mailroomImportMetaUrl', __MAILROOM_PARSER_WORKER__: JSON.stringify(PARSER_WORKER) },
};

/**
 * The import's parser worker (src-main/engine/inbox/parser-worker.ts) as one
 * self-contained file: mailparser and its parts are bundled in, so nothing
 * is loaded from node_modules at run time (the packaged app's node_modules
 * are inside app.asar, which a worker thread cannot read). Written to a
 * temporary name and renamed, so a worker starting meanwhile never reads
 * half a file.
 */
async function buildParserWorker(flavour) {
  const outfile = path.join(root, 'dist', flavour, PARSER_WORKER);
  const result = await esbuild({
    ...common,
    entryPoints: ['src-main/engine/inbox/parser-worker.ts'],
    outfile,
    format: 'cjs',
    write: false,
    // parseAddressHeader's own module (the file mailparser's index takes it from), so the worker
    // starts without loading the full parser; a mailparser that moves it fails this build, not a worker.
    alias: { 'mailparser/address-header': mailparserAddressHeader() },
    plugins: [oneCopy(ONE_COPY_IN_WORKER)],
  });
  writeOutputs(result);
}

/** The launcher's code cache (dist/cli/code-cache.cjs), and the script the CLI's parser pool starts its workers through: small files of their own. */
async function buildCodeCacheLoaders() {
  writeOutputs(
    await esbuild({
      ...common,
      entryPoints: { 'code-cache': 'src-main/engine/code-cache.ts', 'code-cache-worker': 'src-main/engine/code-cache-worker.ts' },
      outdir: 'dist/cli',
      format: 'cjs',
      outExtension: { '.js': '.cjs' },
      packages: 'external',
      write: false,
    }),
  );
}

/** Writes esbuild's outputs each to a temporary name, then renames it: a process starting meanwhile never reads half a file. */
function writeOutputs(result) {
  for (const file of result.outputFiles) {
    mkdirSync(path.dirname(file.path), { recursive: true });
    const temporary = `${file.path}.${process.pid}.tmp`;
    writeFileSync(temporary, file.contents);
    renameSync(temporary, file.path);
  }
}

if (!only || only === 'cli' || only === 'worker') {
  await buildParserWorker('cli');
  await buildCodeCacheLoaders();
}
// The app build below empties dist/app and builds its worker after it.
if (only === 'worker') await buildParserWorker('app');

if (!only || only === 'cli') {
  // One CommonJS file (V8 caches the code of a script, not of ES modules, on Node 20): what a
  // command does not use is not run, only compiled, and after the first run not even that.
  // Built over the old file (a CLI starting meanwhile reads the old or the new one, whole).
  const result = await esbuild({
    ...common,
    entryPoints: { main: 'src-main/cli/main.ts' },
    outdir: 'dist/cli',
    format: 'cjs',
    outExtension: { '.js': '.cjs' },
    write: false,
    // import() of a package becomes require(): the bundle runs through vm.Script (code-cache.ts), which has no
    // module loader of its own for import(), and every package the CLI loads can be required.
    supported: { 'dynamic-import': false },
    plugins: [externalExcept(BUNDLED_IN_CLI), zodEnglishOnly()],
    ...COMMONJS_BUNDLE,
  });
  writeOutputs(result);
  // What earlier builds left: the ES module bundle and its chunks, its parser worker.
  for (const old of ['main.mjs', 'main.mjs.map', 'chunks', 'parser-worker.mjs', 'parser-worker.mjs.map']) rmSync(path.join(root, 'dist', 'cli', old), { recursive: true, force: true });
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
    ...COMMONJS_BUNDLE,
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
