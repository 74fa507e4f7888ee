// `npm start`: opens the desktop app when an Electron runtime is installed;
// otherwise says so in one line and starts the browser console instead.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const passThrough = process.argv.slice(2);

function electronBinary() {
  try {
    // The electron package exports the path of its binary, and throws when it was never downloaded.
    const binary = require('electron');
    return typeof binary === 'string' && existsSync(binary) ? binary : undefined;
  } catch {
    return undefined;
  }
}

function run(command, args) {
  const child = spawn(command, args, { cwd: root, stdio: 'inherit' });
  child.on('exit', (code, signal) => process.exit(signal ? 1 : (code ?? 0)));
  for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => child.kill(sig));
}

const binary = electronBinary();
if (binary) {
  run(binary, [root, ...passThrough]);
} else {
  console.log('No Electron runtime is installed here, so Mailroom starts its browser console instead (same screens, served on 127.0.0.1).');
  run(process.execPath, [path.join(root, 'bin', 'mailroom.mjs'), 'console', '--open', ...passThrough]);
}
