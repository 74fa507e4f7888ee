/**
 * Runs the CLI's CommonJS bundle (dist/cli/main.cjs) from V8's code cache.
 *
 * A Node 20 process compiles every script it loads from its source, on
 * every start (Node 22's module compile cache does not exist here). For a
 * command run by a scheduler every minute, that is a tenth of a second of
 * one core spent compiling the same code again. So the launcher
 * (bin/mailroom.mjs) compiles the bundle with the bytecode V8 made the last
 * time (`vm.Script` with `cachedData`), and after a run that had none, saves
 * what V8 compiled during it. This module is built as its own small file,
 * dist/cli/code-cache.cjs, which the launcher requires before the bundle.
 *
 * The cache is the user's own: a folder in the user's profile
 * (%LOCALAPPDATA%\Mailroom\Cache\code on Windows), never a shared temporary
 * folder, since code read from it runs as the user. A cache file is named
 * by a hash of the bundle's text and of the Node that made it, so a rebuilt
 * bundle or another Node never reads a cache made for something else (V8
 * checks its own version and flags, but of the source only the length).
 * Anything that goes wrong with the cache (a missing or unreadable folder, a
 * file V8 rejects, a full disk) only means compiling from source as before.
 * MAILROOM_CODE_CACHE=off turns it off; MAILROOM_CODE_CACHE=<folder> puts it
 * elsewhere (the tests keep theirs in a temporary folder).
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import Module from 'node:module';
import os from 'node:os';
import path from 'node:path';
import vm from 'node:vm';
import { threadId } from 'node:worker_threads';

/**
 * The kind of CLI run, for the cache (`runCommonJsBundle`'s `kind`): its
 * command words (`inbox poll`), the first two arguments when they look like
 * command names, whatever follows them (a mailbox's name) left out.
 */
export function commandKind(args: readonly string[]): string {
  const words: string[] = [];
  for (const arg of args.slice(0, 2)) {
    if (!/^[a-z][a-z0-9-]{0,30}$/.test(arg)) break;
    words.push(arg);
  }
  return words.join(' ');
}

/** The folder for code caches, or null when caching is off. */
export function codeCacheDir(env: NodeJS.ProcessEnv = process.env, platform: NodeJS.Platform = process.platform, home: string = os.homedir()): string | null {
  const setting = env.MAILROOM_CODE_CACHE?.trim();
  if (setting && /^(off|0|false|no)$/i.test(setting)) return null;
  if (setting) return path.resolve(setting);
  if (!home && !(platform === 'win32' && env.LOCALAPPDATA)) return null;
  if (platform === 'win32') return path.join(env.LOCALAPPDATA || path.join(home, 'AppData', 'Local'), 'Mailroom', 'Cache', 'code');
  if (platform === 'darwin') return path.join(home, 'Library', 'Caches', 'Mailroom', 'code');
  return path.join(env.XDG_CACHE_HOME || path.join(home, '.cache'), 'mailroom', 'code');
}

/** The cache file for this bundle text under this Node: `<bundle name>-<hash>.bin`. */
export function codeCacheFile(dir: string, bundleFile: string, source: string): string {
  const hash = crypto
    .createHash('sha256')
    .update(source)
    .update(`\0${process.version}\0${process.arch}\0${process.execArgv.join(' ')}`)
    .digest('hex')
    .slice(0, 24);
  return path.join(dir, `${cacheName(bundleFile)}-${hash}.bin`);
}

const cacheName = (bundleFile: string) => path.basename(bundleFile).replace(/[^A-Za-z0-9]+/g, '-');

/** A bundle started by `runCommonJsBundle`. */
export interface CodeCacheRun {
  /** Where its cache is (null: caching is off). */
  readonly cacheFile: string | null;
  /** Whether V8 took the cached code. */
  readonly fromCache: boolean;
  /**
   * Saves what V8 compiled so far, when there was no usable cache or this
   * kind of run has not added its code to it yet: call it once the run has
   * done its work (the launcher does at exit). Never throws.
   */
  save(): void;
}

/**
 * What the cache holds the code of: the kinds of runs (`kind`, e.g. the CLI's
 * command) that have added to it, each as a short hash. A cache is first
 * made by whatever command runs first; a later command that finds its own
 * code missing (`mailroom inbox poll` after `mailroom mailbox add`) saves
 * again, and V8 writes what it took from the cache plus what it compiled.
 */
const kindsFile = (cacheFile: string) => cacheFile.replace(/\.bin$/, '.kinds');
const kindHash = (kind: string) => crypto.createHash('sha256').update(kind).digest('hex').slice(0, 12);

function readKinds(cacheFile: string): string[] {
  try {
    return fs
      .readFileSync(kindsFile(cacheFile), 'utf8')
      .split('\n')
      .filter((line) => /^[0-9a-f]{12}$/.test(line));
  } catch {
    return [];
  }
}

/**
 * Runs a CommonJS file as `require` would (its own module, exports and
 * require), compiled from the code cache in `cacheDir` when there is a
 * usable one. `kind` names what this run does (the CLI's command words), so
 * that each kind of run adds its code to the cache once.
 */
export function runCommonJsBundle(bundleFile: string, cacheDir: string | null, kind = ''): CodeCacheRun {
  const file = path.resolve(bundleFile);
  const source = fs.readFileSync(file, 'utf8');
  const cacheFile = cacheDir ? codeCacheFile(cacheDir, file, source) : null;
  let cachedData: Buffer | undefined;
  if (cacheFile) {
    try {
      cachedData = fs.readFileSync(cacheFile);
    } catch {
      // No cache yet (or none readable): compile from source.
    }
  }
  // (The CLI's bundle has no import(): scripts/build.mjs turns it into require(), which vm.Script runs as is.)
  const script = new vm.Script(Module.wrap(source), { filename: file, ...(cachedData ? { cachedData } : {}) });
  const fromCache = cachedData !== undefined && !script.cachedDataRejected;
  const kinds = fromCache && cacheFile ? readKinds(cacheFile) : [];
  const ownKind = kindHash(kind);
  let saved = fromCache && kinds.includes(ownKind);
  const run: CodeCacheRun = {
    cacheFile,
    fromCache,
    save() {
      if (saved || !cacheFile) return;
      saved = true;
      writeCache(cacheFile, file, script, [...new Set([...kinds, ownKind])]);
    },
  };
  const wrapper = script.runInThisContext() as (exports: unknown, require: NodeJS.Require, module: Module, filename: string, dirname: string) => void;
  const mod = new Module(file);
  mod.filename = file;
  const require = Module.createRequire(file);
  mod.require = require as Module['require'];
  wrapper.call(mod.exports, mod.exports, require, mod, file, path.dirname(file));
  mod.loaded = true;
  return run;
}

/** Caches kept per bundle name: a few builds side by side (two installs, the app's files and a checkout) each keep theirs. */
const KEPT_PER_BUNDLE = 4;

/** Writes the cache through a temporary file (a reader never sees half a cache), then drops the oldest beyond KEPT_PER_BUNDLE. */
function writeCache(cacheFile: string, bundleFile: string, script: vm.Script, kinds: readonly string[]): void {
  const dir = path.dirname(cacheFile);
  const temporary = `${cacheFile}.${process.pid}-${threadId}.tmp`;
  try {
    const data = script.createCachedData();
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(temporary, data);
    fs.renameSync(temporary, cacheFile);
    // Written after the cache: at worst a kind is missing and its run saves once more.
    fs.writeFileSync(kindsFile(cacheFile), kinds.join('\n') + '\n');
    // Caches of earlier builds of this bundle: the newest few stay.
    const prefix = `${cacheName(bundleFile)}-`;
    const others = fs
      .readdirSync(dir)
      .filter((name) => name.startsWith(prefix) && name.endsWith('.bin') && path.join(dir, name) !== cacheFile)
      .map((name) => ({ file: path.join(dir, name), at: fs.statSync(path.join(dir, name)).mtimeMs }))
      .sort((a, b) => b.at - a.at);
    for (const old of others.slice(KEPT_PER_BUNDLE - 1)) {
      fs.rmSync(old.file, { force: true });
      fs.rmSync(kindsFile(old.file), { force: true });
    }
  } catch {
    // A cache that cannot be written (read-only profile, a full disk, a file locked on Windows): next time compiles again.
    try {
      fs.rmSync(temporary, { force: true });
    } catch {
      // Left for the next writer to replace.
    }
  }
}
