/**
 * A native module built for the wrong runtime (issue 12, item 8): `npm start`
 * loaded node_modules' Node build of better-sqlite3 into Electron and showed
 * DATABASE_UNREADABLE "check that the data folder is writable". Such
 * failures get their own codes and the command that fixes them, fed with the
 * loaders' real words; `npm start` builds or picks the Electron binding
 * (scripts/start-plan.mjs, scripts/electron-binding.mjs).
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { openDatabase } from '../../src-main/store/db';
import { nativeModuleError, type NativeRuntime } from '../../src-main/store/native-module';
import { isAppError, type AppError } from '../../src-main/shared/errors';
import { bindingStatus, moduleVersionOf } from '../../scripts/electron-binding.mjs';
import { planAfterRebuild, planStart, REBUILD_COMMAND } from '../../scripts/start-plan.mjs';
import { ROOT } from '../helpers/paths';
import { tempDir } from '../helpers/temp';

const NODE_20: NativeRuntime = { node: '20.19.0', moduleVersion: '115', platform: 'win32', arch: 'x64' };
const ELECTRON_41: NativeRuntime = { electron: '41.7.1', node: '24.11.1', moduleVersion: '145', platform: 'win32', arch: 'x64' };

/** Node's words (src/node_binding.cc), as printed by Node 20 here for a module built for NODE_MODULE_VERSION 133. */
const NODE_LOADS_ELECTRON_BUILD =
  "The module '/srv/mailroom/build/electron-native/better_sqlite3.node'\nwas compiled against a different Node.js version using\nNODE_MODULE_VERSION 133. This version of Node.js requires\nNODE_MODULE_VERSION 115. Please try re-compiling or re-installing\nthe module (for instance, using `npm rebuild` or `npm install`).";
/** The same words from Electron 41 loading node_modules' Node 20 build: the `npm start` of the issue. */
const ELECTRON_LOADS_NODE_BUILD =
  "The module 'C:\\Users\\admin\\mailroom\\node_modules\\better-sqlite3\\build\\Release\\better_sqlite3.node'\nwas compiled against a different Node.js version using\nNODE_MODULE_VERSION 115. This version of Node.js requires\nNODE_MODULE_VERSION 145. Please try re-compiling or re-installing\nthe module (for instance, using `npm rebuild` or `npm install`).";

function dlopenError(message: string): Error {
  return Object.assign(new Error(message), { code: 'ERR_DLOPEN_FAILED' });
}

function catchAppError(fn: () => unknown): AppError {
  try {
    fn();
  } catch (error) {
    if (isAppError(error)) return error;
    throw error;
  }
  throw new Error('expected an AppError, but nothing was thrown');
}

describe('a native module built for another runtime', () => {
  it('in Electron (the npm start of the issue): NATIVE_MODULE_MISMATCH naming both versions, hint npm run rebuild:electron', () => {
    const error = nativeModuleError(dlopenError(ELECTRON_LOADS_NODE_BUILD), 'better-sqlite3', ELECTRON_41)!;
    expect(error.code).toBe('NATIVE_MODULE_MISMATCH');
    expect(error.message).toContain('NODE_MODULE_VERSION 115');
    expect(error.message).toContain('Electron 41.7.1 needs NODE_MODULE_VERSION 145');
    expect(error.message).toContain('node_modules\\better-sqlite3\\build\\Release\\better_sqlite3.node');
    expect(error.hint).toContain('npm run rebuild:electron');
    expect(error.hint).not.toMatch(/writable/);
  });

  it('in Node (CLI, console, tests): NATIVE_MODULE_MISMATCH, hint npm rebuild better-sqlite3', () => {
    const error = nativeModuleError(dlopenError(NODE_LOADS_ELECTRON_BUILD), 'better-sqlite3', NODE_20)!;
    expect(error.code).toBe('NATIVE_MODULE_MISMATCH');
    expect(error.message).toContain('Node.js 20.19.0 needs NODE_MODULE_VERSION 115');
    expect(error.hint).toContain('npm rebuild better-sqlite3');
  });

  it('is what the store reports: opening a database with a binding of another OS or CPU (a real file from node_modules)', () => {
    // A real native module this machine cannot load: @primno/dpapi's Windows build elsewhere; off-format bytes on Windows.
    const foreign =
      process.platform === 'win32'
        ? path.join(tempDir(), 'not-a-dll.node')
        : path.join(ROOT, 'node_modules', '@primno', 'dpapi', 'prebuilds', 'win32-x64', '@primno+dpapi.node');
    if (process.platform === 'win32') fs.writeFileSync(foreign, '\x7fELF not a Windows DLL');
    const error = catchAppError(() => openDatabase(path.join(tempDir(), 'mailroom.db'), { nativeBinding: foreign }));
    expect(error.code).toBe('NATIVE_MODULE_MISMATCH');
    expect(error.message).toContain('another operating system or processor');
    expect(error.hint).toContain('npm rebuild better-sqlite3');
  });

  it('is what the store reports for a binding file that is not there: NATIVE_MODULE_MISSING', () => {
    const error = catchAppError(() => openDatabase(path.join(tempDir(), 'mailroom.db'), { nativeBinding: path.join(tempDir(), 'gone', 'better_sqlite3.node') }));
    expect(error.code).toBe('NATIVE_MODULE_MISSING');
    expect(error.message).toContain('better_sqlite3.node');
  });

  it.each([
    ['Linux', '/opt/mailroom/better_sqlite3.node: invalid ELF header'],
    ['Linux, 32-bit build', '/opt/mailroom/better_sqlite3.node: wrong ELF class: ELFCLASS32'],
    ['Windows', '\\\\?\\C:\\Program Files\\Mailroom\\resources\\native\\better_sqlite3.node is not a valid Win32 application.\r\n\\\\?\\C:\\Program Files\\Mailroom\\resources\\native\\better_sqlite3.node'],
    ['macOS', "dlopen(/Applications/Mailroom.app/better_sqlite3.node, 0x0001): tried: '/Applications/Mailroom.app/better_sqlite3.node' (mach-o file, but is an incompatible architecture (have 'x86_64', need 'arm64'))"],
  ])('a binary of another OS or CPU (%s loader words) is NATIVE_MODULE_MISMATCH', (_label, message) => {
    expect(nativeModuleError(dlopenError(message), 'better-sqlite3', NODE_20)?.code).toBe('NATIVE_MODULE_MISMATCH');
  });

  it.each([
    ['bindings found none', 'Could not locate the bindings file. Tried:\n → /srv/mailroom/node_modules/better-sqlite3/build/better_sqlite3.node'],
    ['Windows misses a DLL it needs', 'The specified module could not be found.\r\n\\\\?\\C:\\mailroom\\better_sqlite3.node'],
  ])('a missing native file (%s) is NATIVE_MODULE_MISSING', (_label, message) => {
    expect(nativeModuleError(new Error(message), 'better-sqlite3', NODE_20)?.code).toBe('NATIVE_MODULE_MISSING');
  });

  it('leaves every other error to the caller (a locked or damaged database stays DATABASE_UNREADABLE)', () => {
    expect(nativeModuleError(new Error('SQLITE_CANTOPEN: unable to open database file'), 'better-sqlite3')).toBeUndefined();
    expect(nativeModuleError(new Error('file is not a database'), 'better-sqlite3')).toBeUndefined();
    const dir = tempDir();
    fs.mkdirSync(path.join(dir, 'mailroom.db'));
    expect(catchAppError(() => openDatabase(path.join(dir, 'mailroom.db'))).code).toBe('DATABASE_UNREADABLE');
  });

  // Node's words today, from a real module registered for another NODE_MODULE_VERSION (built with the C compiler the
  // better-sqlite3 build needs). The fixtures above are those words; this keeps them honest when Node changes them.
  const compiler = ['cc', 'gcc', 'clang'].find((c) => {
    try {
      execFileSync(c, ['--version'], { stdio: 'ignore' });
      return true;
    } catch {
      return false;
    }
  });
  it.runIf(compiler && process.platform !== 'win32')('real: better-sqlite3 pointed at a module built for another NODE_MODULE_VERSION', () => {
    const dir = tempDir();
    const other = Number(process.versions.modules) + 18;
    fs.writeFileSync(
      path.join(dir, 'other-abi.c'),
      `#include <stddef.h>
struct node_module { int nm_version; unsigned int nm_flags; void* nm_dso_handle; const char* nm_filename; void* nm_register_func; void* nm_context_register_func; const char* nm_modname; void* nm_priv; struct node_module* nm_link; };
extern void node_module_register(void*);
static struct node_module m = { ${other}, 0, NULL, "other-abi.c", NULL, NULL, "other_abi", NULL, NULL };
__attribute__((constructor)) static void registered(void) { node_module_register(&m); }
`,
    );
    const binary = path.join(dir, 'better_sqlite3.node');
    execFileSync(compiler!, ['-shared', '-fPIC', '-o', binary, path.join(dir, 'other-abi.c'), ...(process.platform === 'darwin' ? ['-undefined', 'dynamic_lookup'] : [])]);
    const error = catchAppError(() => openDatabase(path.join(dir, 'mailroom.db'), { nativeBinding: binary }));
    expect(error.code).toBe('NATIVE_MODULE_MISMATCH');
    expect(error.message).toContain(`built for NODE_MODULE_VERSION ${other}, and Node.js ${process.versions.node} needs NODE_MODULE_VERSION ${process.versions.modules}`);
    expect(error.message).toContain(binary);
  });
});

describe('npm start: which better-sqlite3 build the desktop app gets', () => {
  const wanted = { betterSqlite3: '12.4.1', electron: '41.7.1', platform: 'win32', arch: 'x64' };
  const electronBuild = Buffer.from('MZ ... node_register_module_v145 ...', 'latin1');

  it('reads the NODE_MODULE_VERSION a binary was built for (node_modules\' real Node build included)', () => {
    expect(moduleVersionOf(electronBuild)).toBe(145);
    expect(moduleVersionOf(Buffer.from('an N-API module exports napi_register_module_v1 only'))).toBeUndefined();
    expect(moduleVersionOf(fs.readFileSync(path.join(ROOT, 'node_modules', 'better-sqlite3', 'build', 'Release', 'better_sqlite3.node')))).toBe(Number(process.versions.modules));
  });

  it.each([
    ['not built yet', undefined, undefined, /not been built yet/],
    ['built without its record', electronBuild, undefined, /better_sqlite3\.json\) is missing/],
    ['built for an older Electron', electronBuild, { ...wanted, electron: '40.1.0' }, /built for Electron 40\.1\.0, and 41\.7\.1 is installed/],
    ['built for another better-sqlite3', electronBuild, { ...wanted, betterSqlite3: '11.0.0' }, /better-sqlite3 11\.0\.0/],
    ['built for another CPU', electronBuild, { ...wanted, arch: 'arm64' }, /CPU arm64/],
    ['a Node build copied in its place', Buffer.from('node_register_module_v115'), wanted, /NODE_MODULE_VERSION 115, and Electron 41\.7\.1 needs 145/],
  ])('is not ready when %s', (_label, binary, manifest, reason) => {
    const status = bindingStatus({ binary, manifest, wanted, electronModuleVersion: 145 });
    expect(status.ready).toBe(false);
    expect(!status.ready && status.reason).toMatch(reason);
  });

  it('is ready when record and binary both fit', () => {
    expect(bindingStatus({ binary: electronBuild, manifest: { ...wanted, builtAt: '2026-01-01' }, wanted, electronModuleVersion: 145 })).toEqual({ ready: true });
  });

  it('no Electron runtime: the browser console, said in one line', () => {
    const step = planStart({ electronBinary: undefined, electronVersion: undefined, binding: { ready: false, reason: 'no Electron runtime is installed' } });
    expect(step).toMatchObject({ action: 'console' });
    expect(step.action === 'console' && step.message).toMatch(/No Electron runtime/);
  });

  it('Electron with a fitting build: the desktop app', () => {
    expect(planStart({ electronBinary: '/x/electron', electronVersion: '41.7.1', binding: { ready: true } })).toEqual({ action: 'electron' });
  });

  it('Electron without a fitting build: build it first, saying why and with which command', () => {
    const step = planStart({ electronBinary: '/x/electron', electronVersion: '41.7.1', binding: { ready: false, reason: 'it has not been built yet' } });
    expect(step.action).toBe('rebuild');
    expect(step.action === 'rebuild' && step.message).toContain('Electron 41.7.1');
    expect(step.action === 'rebuild' && step.message).toContain(REBUILD_COMMAND);
    expect(planAfterRebuild({ rebuilt: true, electronVersion: '41.7.1' })).toEqual({ action: 'electron' });
  });

  it('a build that fails (offline): says exactly which command to run, then the browser console, never the Node build in Electron', () => {
    const step = planAfterRebuild({ rebuilt: false, electronVersion: '41.7.1' });
    expect(step.action).toBe('console');
    expect(step.action === 'console' && step.message).toContain('Run "npm run rebuild:electron"');
    expect(REBUILD_COMMAND).toBe('npm run rebuild:electron');
    // The command named is a real script of package.json.
    const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
    expect(pkg.scripts['rebuild:electron']).toBe('node scripts/rebuild-electron.mjs');
    expect(pkg.scripts.start).toBe('node scripts/start.mjs');
  });
});
