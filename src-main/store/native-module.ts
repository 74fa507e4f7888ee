/**
 * Native modules (better-sqlite3) are built for one runtime: Node's or
 * Electron's NODE_MODULE_VERSION, one operating system, one CPU. Loading one
 * built for another runtime fails inside `new Database()`, and used to be
 * reported as DATABASE_UNREADABLE "check that the data folder is writable",
 * which sends the admin to the wrong place. This maps such failures to their
 * own codes, with the command that builds the right one.
 */
import { AppError } from '../shared/errors.js';

/** What runs this process, as far as native modules care. */
export interface NativeRuntime {
  /** Electron's version when running in Electron. */
  electron?: string;
  node: string;
  /** NODE_MODULE_VERSION this runtime loads. */
  moduleVersion: string;
  platform: string;
  arch: string;
}

/** The runtime of this process. */
export function currentRuntime(): NativeRuntime {
  return {
    ...(process.versions.electron ? { electron: process.versions.electron } : {}),
    node: process.versions.node,
    moduleVersion: process.versions.modules,
    platform: process.platform,
    arch: process.arch,
  };
}

/*
 * Node's own text (src/node_binding.cc), e.g. from Node 20 loading a module built for Electron 41:
 *   The module '/x/better_sqlite3.node'
 *   was compiled against a different Node.js version using
 *   NODE_MODULE_VERSION 133. This version of Node.js requires
 *   NODE_MODULE_VERSION 115. Please try re-compiling or re-installing ...
 */
const ABI_MISMATCH = /NODE_MODULE_VERSION\s+(\d+)\.\s+This version of Node\.js requires\s+NODE_MODULE_VERSION\s+(\d+)/;
/** The loader's words for a binary of another OS or CPU: Linux, Windows (LoadLibrary), macOS (dlopen). */
const WRONG_BINARY = /invalid ELF header|wrong ELF class|ELF file's (?:OS ABI|machine)|Exec format error|is not a valid Win32 application|mach-o file, but is an incompatible architecture|not a mach-o file|incompatible architecture/i;
/** A native file that is not there: `bindings` found none, require found none, or Windows cannot find a DLL it needs. */
const MISSING = /Could not locate the bindings file|Cannot find module '[^']*\.node'|The specified module could not be found/i;

/**
 * The AppError for a native module that cannot load in this runtime, or
 * undefined when `error` is something else (then the caller's own mapping applies).
 */
export function nativeModuleError(error: unknown, moduleName: string, runtime: NativeRuntime = currentRuntime()): AppError | undefined {
  const text = error instanceof Error ? error.message : String(error);
  const file = /The module '([^']+)'/.exec(text)?.[1] ?? /([^\s'"]+\.node)\b/.exec(text)?.[1];
  const where = file ? ` (${file})` : '';
  const runtimeName = runtime.electron ? `Electron ${runtime.electron}` : `Node.js ${runtime.node}`;
  const hint = runtime.electron
    ? `Build it for Electron: in a development checkout run "npm run rebuild:electron" ("npm start" does it by itself), then start again. An installed Mailroom showing this is incomplete: install it again.`
    : `Build it for this Node.js: run "npm rebuild ${moduleName}" in the Mailroom folder (needed after switching Node versions, or when node_modules was rebuilt for Electron), then run the command again.`;

  const abi = ABI_MISMATCH.exec(text);
  if (abi) {
    return new AppError('NATIVE_MODULE_MISMATCH', `${moduleName} cannot load: its native file${where} is built for NODE_MODULE_VERSION ${abi[1]}, and ${runtimeName} needs NODE_MODULE_VERSION ${abi[2]}.`, { hint, cause: error });
  }
  if (WRONG_BINARY.test(text)) {
    return new AppError('NATIVE_MODULE_MISMATCH', `${moduleName} cannot load: its native file${where} is built for another operating system or processor, not ${runtime.platform}-${runtime.arch}.`, { hint, cause: error });
  }
  if (MISSING.test(text)) {
    return new AppError('NATIVE_MODULE_MISSING', `${moduleName} cannot load: its native file${where} is missing (or a library it needs is).`, { hint, cause: error });
  }
  return undefined;
}
