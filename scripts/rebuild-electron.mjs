#!/usr/bin/env node
// Builds better-sqlite3 for Electron's ABI into build/electron-native/better_sqlite3.node,
// which the installer ships as resources/native/better_sqlite3.node (see
// electron-builder.yml and src-main/app/native-binding.ts).
//
// node_modules is never touched: tests, the CLI and the browser console keep
// loading the Node build there. A copy of the package is built in a work
// folder with @electron/rebuild (the tool electron-builder itself uses): it
// first tries better-sqlite3's prebuilt Electron binary for the target
// platform (prebuild-install), then compiles against the Electron headers.
// Both need the network the first time; offline this fails with one line.
//
//   node scripts/rebuild-electron.mjs [--platform win32] [--arch x64] [--force] [--verbose]
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { bindingStatus } from './electron-binding.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const outDir = path.join(root, 'build', 'electron-native');
const outFile = path.join(outDir, 'better_sqlite3.node');
const manifestFile = path.join(outDir, 'better_sqlite3.json');
const logFile = path.join(outDir, 'rebuild-electron.log');
const requireFromRoot = createRequire(path.join(root, 'package.json'));

/** Prints one line and exits 1: the whole failure report unless --verbose. */
function fail(message) {
  process.stderr.write(`rebuild-electron: ${message}\n`);
  process.exit(1);
}

let args;
try {
  args = parseArgs({
    options: {
      platform: { type: 'string', default: process.platform },
      arch: { type: 'string', default: process.arch },
      force: { type: 'boolean', default: false },
      verbose: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  }).values;
} catch (error) {
  fail(`${error.message}. Usage: node scripts/rebuild-electron.mjs [--platform win32|linux|darwin] [--arch x64|arm64|ia32] [--force] [--verbose]`);
}
if (args.help) {
  process.stdout.write('Usage: node scripts/rebuild-electron.mjs [--platform win32|linux|darwin] [--arch x64|arm64|ia32] [--force] [--verbose]\n');
  process.exit(0);
}
if (!['win32', 'linux', 'darwin'].includes(args.platform)) fail(`--platform must be win32, linux or darwin, not "${args.platform}".`);
if (!['x64', 'arm64', 'ia32'].includes(args.arch)) fail(`--arch must be x64, arm64 or ia32, not "${args.arch}".`);

function packageVersion(name) {
  try {
    return JSON.parse(fs.readFileSync(requireFromRoot.resolve(`${name}/package.json`), 'utf8')).version;
  } catch {
    return undefined;
  }
}

const electronVersion = packageVersion('electron');
if (!electronVersion) fail('the electron package is not installed: run "npm ci" first.');
const sqliteVersion = packageVersion('better-sqlite3');
if (!sqliteVersion) fail('the better-sqlite3 package is not installed: run "npm ci" first.');
const target = `better-sqlite3 ${sqliteVersion} for Electron ${electronVersion} (${args.platform}-${args.arch})`;
const wanted = { betterSqlite3: sqliteVersion, electron: electronVersion, platform: args.platform, arch: args.arch };

// Already built for exactly this combination (and the binary really is for Electron's ABI): nothing to do.
if (!args.force && fs.existsSync(outFile)) {
  let manifest;
  try {
    manifest = JSON.parse(fs.readFileSync(manifestFile, 'utf8'));
  } catch {
    // no or unreadable manifest: build again
  }
  let electronModuleVersion;
  try {
    electronModuleVersion = Number(fs.readFileSync(path.join(path.dirname(requireFromRoot.resolve('electron/package.json')), 'abi_version'), 'utf8').trim()) || undefined;
  } catch {
    // older electron packages have no abi_version file: the manifest decides
  }
  if (bindingStatus({ binary: fs.readFileSync(outFile), manifest, wanted, electronModuleVersion }).ready) {
    process.stdout.write(`rebuild-electron: ${target} is up to date in ${path.relative(root, outFile)}\n`);
    process.exit(0);
  }
}

/** Checks that a binary is a native module for the target platform and CPU, not the Node build or another OS's. */
function checkBinary(file) {
  const b = fs.readFileSync(file);
  if (args.platform === 'win32') {
    if (b.length < 64 || b.toString('latin1', 0, 2) !== 'MZ') return 'it is not a Windows DLL';
    const pe = b.readUInt32LE(0x3c);
    const machine = { x64: 0x8664, arm64: 0xaa64, ia32: 0x14c }[args.arch];
    if (b.toString('latin1', pe, pe + 4) !== 'PE\0\0' || b.readUInt16LE(pe + 4) !== machine) return `it is not built for ${args.arch}`;
  } else if (args.platform === 'linux') {
    if (b.length < 20 || b.toString('latin1', 0, 4) !== '\x7fELF') return 'it is not a Linux shared object';
    const machine = { x64: 62, arm64: 183, ia32: 3 }[args.arch];
    if (b.readUInt16LE(18) !== machine) return `it is not built for ${args.arch}`;
  } else if (b.length < 4 || ![0xfeedfacf, 0xcffaedfe, 0xcafebabe].includes(b.readUInt32BE(0))) {
    return 'it is not a macOS binary';
  }
  return undefined;
}

/** The most useful cause in a failure's output, in a few words. */
function summarize(output, error) {
  const text = `${output}\n${error?.stack ?? error}`;
  const network = text.match(/\b(getaddrinfo \w+ [\w.-]+|ENOTFOUND [\w.-]+|EAI_AGAIN [\w.-]+|ECONNREFUSED [\d.:]+|ECONNRESET|ETIMEDOUT|self[- ]signed certificate[^\n]*|unable to get local issuer certificate)/i);
  if (network) return `no prebuilt binary could be downloaded and the Electron headers are not available offline (${network[1]})`;
  if (/network connectivity|behind a proxy|tunneling socket/i.test(text)) {
    return 'no prebuilt binary could be downloaded and the Electron headers could not be fetched from https://www.electronjs.org/headers (no network or a proxy in the way)';
  }
  if (/cross-compiling/.test(text)) return `no prebuilt binary could be downloaded and ${args.platform} binaries cannot be compiled on ${process.platform}`;
  if (/not find any Visual Studio|find Python|make: not found|gyp ERR! stack Error: not found: make/i.test(text)) {
    return 'no prebuilt binary could be downloaded and no C++ toolchain was found (Visual Studio Build Tools with "Desktop development with C++", or python3 + make + g++)';
  }
  const first = String(error?.message ?? error).split('\n')[0];
  return first || 'the build failed';
}

let rebuild;
try {
  ({ rebuild } = await import(pathToFileURL(requireFromRoot.resolve('@electron/rebuild')).href));
} catch {
  fail('@electron/rebuild is not installed (it comes with electron-builder): run "npm ci" first.');
}

// The work folder sits beside the output (same volume, so the final rename is atomic) and
// inside the project, so prebuild-install is found in the project's node_modules.
fs.mkdirSync(outDir, { recursive: true });
const work = fs.mkdtempSync(path.join(outDir, '.work-'));
const moduleCopy = path.join(work, 'better-sqlite3');
const captured = [];
const originalError = console.error;
const originalWarn = console.warn;
try {
  const source = path.dirname(requireFromRoot.resolve('better-sqlite3/package.json'));
  // Everything but the Node build output: the copy is compiled from scratch.
  fs.cpSync(source, moduleCopy, {
    recursive: true,
    filter: (file) => path.relative(source, file).split(path.sep)[0] !== 'build' && path.relative(source, file).split(path.sep)[0] !== 'node_modules',
  });
  if (!args.verbose) {
    // @electron/rebuild prints node-gyp's whole log on failure; keep it for the log file instead.
    console.error = (...parts) => captured.push(parts.join(' '));
    console.warn = (...parts) => captured.push(parts.join(' '));
  }
  if (args.verbose) process.stdout.write(`rebuild-electron: building ${target}...\n`);
  await rebuild({
    buildPath: moduleCopy,
    // Stop the module search at the copy: never walk up into the project's node_modules.
    projectRootPath: moduleCopy,
    onlyModules: [],
    electronVersion,
    platform: args.platform,
    arch: args.arch,
    force: true,
    mode: 'sequential',
  });
  console.error = originalError;
  console.warn = originalWarn;
  const built = path.join(moduleCopy, 'build', 'Release', 'better_sqlite3.node');
  if (!fs.existsSync(built)) throw new Error(`the build finished without producing ${path.relative(work, built)}`);
  const wrong = checkBinary(built);
  if (wrong) throw new Error(`the binary produced is unusable: ${wrong}`);
  const temp = `${outFile}.${process.pid}.tmp`;
  fs.copyFileSync(built, temp);
  fs.renameSync(temp, outFile);
  fs.writeFileSync(manifestFile, JSON.stringify({ ...wanted, builtAt: new Date().toISOString() }, null, 2) + '\n');
  fs.rmSync(logFile, { force: true });
  process.stdout.write(`rebuild-electron: wrote ${path.relative(root, outFile)} (${target})\n`);
} catch (error) {
  console.error = originalError;
  console.warn = originalWarn;
  const output = captured.join('\n');
  fs.writeFileSync(logFile, `${target}\n\n${output}\n\n${error?.stack ?? error}\n`);
  fs.rmSync(work, { recursive: true, force: true });
  fail(`cannot build ${target}: ${summarize(output, error)}. Connect to the internet (behind a proxy: set HTTPS_PROXY) and run "npm run rebuild:electron" again; details in ${path.relative(root, logFile)}.`);
} finally {
  fs.rmSync(work, { recursive: true, force: true });
}
