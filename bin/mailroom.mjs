#!/usr/bin/env node
// Launcher for the `mailroom` CLI. `--version` is answered here without
// loading anything else, so scripts that probe for Mailroom stay fast.
import { readFileSync, existsSync } from 'node:fs';

const args = process.argv.slice(2);
if (args.length === 1 && (args[0] === '--version' || args[0] === '-V')) {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
  process.stdout.write(pkg.version + '\n');
  process.exit(0);
}
const entry = new URL('../dist/cli/main.mjs', import.meta.url);
if (!existsSync(entry)) {
  process.stderr.write('error: Mailroom is not built yet. Run "npm ci" (or "npm run build") in its folder first.\n');
  process.exit(1);
}
await import(entry.href);
