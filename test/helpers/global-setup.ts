/**
 * Runs once before all tests: makes sure dist/ is built (the CLI and the
 * browser console tests run the built code, as users do).
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';

export default function setup(): void {
  const root = path.resolve(__dirname, '..', '..');
  if (!existsSync(path.join(root, 'dist', 'cli', 'main.mjs')) || !existsSync(path.join(root, 'dist', 'renderer', 'index.html'))) {
    execFileSync(process.execPath, [path.join(root, 'scripts', 'build.mjs')], { cwd: root, stdio: 'inherit' });
  }
}
