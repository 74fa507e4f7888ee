#!/usr/bin/env node
// Launcher for the `mailroom` CLI. `--version` is answered here without
// loading anything else, so scripts that probe for Mailroom stay fast.
// Everything else runs the CLI's bundle (dist/cli/main.cjs) from V8's code
// cache: see src-main/engine/code-cache.ts.
import { readFileSync, existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const args = process.argv.slice(2);
if (args.length === 1 && (args[0] === '--version' || args[0] === '-V')) {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
  process.stdout.write(pkg.version + '\n');
  process.exit(0);
}
const entry = fileURLToPath(new URL('../dist/cli/main.cjs', import.meta.url));
const loader = fileURLToPath(new URL('../dist/cli/code-cache.cjs', import.meta.url));
if (!existsSync(entry) || !existsSync(loader)) {
  process.stderr.write('error: Mailroom is not built yet. Run "npm ci" (or "npm run build") in its folder first.\n');
  process.exit(1);
}
const { codeCacheDir, commandKind, runCommonJsBundle } = createRequire(import.meta.url)(loader);
const run = runCommonJsBundle(entry, codeCacheDir(), commandKind(args));
// What V8 compiled for this command, kept for the next one (only when there was no usable cache).
process.on('exit', () => run.save());
