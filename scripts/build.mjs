// Builds everything into dist/: the CLI and browser console (ESM, split so
// commands load lazily), the Electron main process and preload (CommonJS),
// and the renderer (Vite). Run by `npm ci` (prepare) and `npm test`.
import { build as esbuild } from 'esbuild';
import { existsSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8'));
const only = process.argv[2]; // optional: cli | app | renderer
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

if (!only || only === 'cli') {
  // Build over the old files (a CLI running meanwhile never finds main.mjs missing), then drop stale chunks.
  const result = await esbuild({
    metafile: true,
    ...common,
    entryPoints: { main: 'src-main/cli/main.ts' },
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
  });
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
