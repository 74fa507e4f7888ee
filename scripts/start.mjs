// `npm start`: opens the desktop app when an Electron runtime is installed,
// with better-sqlite3 built for Electron (built here first when it is
// missing or stale); otherwise says why in one line and starts the browser
// console instead. The decisions are in start-plan.mjs and
// electron-binding.mjs (tested); this file gathers the facts and acts.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { bindingStatus } from './electron-binding.mjs';
import { planAfterRebuild, planStart } from './start-plan.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const passThrough = process.argv.slice(2);
const nativeDir = path.join(root, 'build', 'electron-native');

function electronBinary() {
  try {
    // The electron package exports the path of its binary, and throws when it was never downloaded.
    const binary = require('electron');
    return typeof binary === 'string' && existsSync(binary) ? binary : undefined;
  } catch {
    return undefined;
  }
}

function readIfExists(file) {
  try {
    return readFileSync(file);
  } catch {
    return undefined;
  }
}

function packageFile(name, file) {
  try {
    return path.join(path.dirname(require.resolve(`${name}/package.json`)), file);
  } catch {
    return undefined;
  }
}

function packageVersion(name) {
  const file = packageFile(name, 'package.json');
  return file ? JSON.parse(readFileSync(file, 'utf8')).version : undefined;
}

function parseJson(bytes) {
  try {
    return bytes ? JSON.parse(bytes.toString('utf8')) : undefined;
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
const electronVersion = packageVersion('electron');
const abiFile = packageFile('electron', 'abi_version');
const binding = binary
  ? bindingStatus({
      binary: readIfExists(path.join(nativeDir, 'better_sqlite3.node')),
      manifest: parseJson(readIfExists(path.join(nativeDir, 'better_sqlite3.json'))),
      wanted: { betterSqlite3: packageVersion('better-sqlite3'), electron: electronVersion, platform: process.platform, arch: process.arch },
      electronModuleVersion: Number(abiFile && readIfExists(abiFile)?.toString('utf8').trim()) || undefined,
    })
  : { ready: false, reason: 'no Electron runtime is installed' };

let step = planStart({ electronBinary: binary, electronVersion, binding });
if (step.action === 'rebuild') {
  console.log(step.message);
  const rebuilt = spawnSync(process.execPath, [path.join(root, 'scripts', 'rebuild-electron.mjs')], { cwd: root, stdio: 'inherit' });
  step = planAfterRebuild({ rebuilt: rebuilt.status === 0, electronVersion });
}
if (step.action === 'electron') {
  run(binary, [root, ...passThrough]);
} else {
  console.log(step.message);
  run(process.execPath, [path.join(root, 'bin', 'mailroom.mjs'), 'console', '--open', ...passThrough]);
}
