/**
 * The CLI's code cache (src-main/engine/code-cache.ts): a CommonJS bundle
 * runs as `require` would run it, its cache is saved once and taken the
 * next time, a cache made for other text or a damaged one is never used, and
 * caching off or a folder that cannot be written changes nothing but speed.
 * The caches live in the user's own profile folder, never a shared one.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { codeCacheDir, codeCacheFile, commandKind, runCommonJsBundle } from '../../src-main/engine/code-cache';
import { ROOT } from '../helpers/paths';
import { tempDir } from '../helpers/temp';

/** A bundle that records what it saw in a global, by its own name. */
function writeBundle(dir: string, name: string, body = ''): string {
  const file = path.join(dir, `${name}.cjs`);
  fs.writeFileSync(
    file,
    `const os = require('node:os');
const sibling = require('./sibling.cjs');
function work(n) { let x = 0; for (let i = 0; i < n; i++) x += i; return x; }
globalThis.__codeCacheTest = globalThis.__codeCacheTest || {};
globalThis.__codeCacheTest[${JSON.stringify(name)}] = { filename: __filename, dirname: __dirname, sibling, hasOs: typeof os.cpus === 'function', work: work(10), isModule: module.exports === exports };
module.exports = { answer: 42 };
${body}
`,
  );
  fs.writeFileSync(path.join(dir, 'sibling.cjs'), 'module.exports = "beside";\n');
  return file;
}

const seen = (name: string) => (globalThis as unknown as { __codeCacheTest: Record<string, Record<string, unknown>> }).__codeCacheTest[name]!;

describe('runCommonJsBundle', () => {
  it('runs the file as a CommonJS module: its own __filename, __dirname, module, exports and a require from its folder', () => {
    const dir = tempDir();
    const file = writeBundle(dir, 'plain');
    const run = runCommonJsBundle(file, null);
    expect(run.cacheFile).toBeNull();
    expect(run.fromCache).toBe(false);
    expect(seen('plain')).toEqual({ filename: file, dirname: dir, sibling: 'beside', hasOs: true, work: 45, isModule: true });
    run.save(); // caching off: nothing to write, no error
  });

  it('saves the cache once, and the next run takes it', () => {
    const dir = tempDir();
    const cache = path.join(tempDir(), 'nested', 'code');
    const file = writeBundle(dir, 'cached');
    const first = runCommonJsBundle(file, cache);
    expect(first.fromCache).toBe(false);
    expect(fs.existsSync(cache)).toBe(false);
    first.save();
    expect(fs.readdirSync(cache).filter((name) => name.endsWith('.bin'))).toEqual([path.basename(first.cacheFile!)]);
    const written = fs.statSync(first.cacheFile!).mtimeMs;
    first.save(); // once only
    expect(fs.statSync(first.cacheFile!).mtimeMs).toBe(written);

    const second = runCommonJsBundle(file, cache);
    expect(second.cacheFile).toBe(first.cacheFile);
    expect(second.fromCache).toBe(true);
    expect(seen('cached').work).toBe(45);
    second.save(); // taken from the cache, made by this kind of run: nothing to write
    expect(fs.statSync(first.cacheFile!).mtimeMs).toBe(written);
  });

  it('adds each kind of run\'s code once: a command the cache was not made by saves again, one it was made by does not', () => {
    const dir = tempDir();
    const cache = tempDir();
    const file = writeBundle(dir, 'kinds');
    const first = runCommonJsBundle(file, cache, 'mailbox add');
    first.save();
    const kinds = () => fs.readFileSync(first.cacheFile!.replace(/\.bin$/, '.kinds'), 'utf8').trim().split('\n');
    expect(kinds()).toHaveLength(1);
    fs.utimesSync(first.cacheFile!, new Date(2026, 0, 1), new Date(2026, 0, 1));
    const old = fs.statSync(first.cacheFile!).mtimeMs;

    const again = runCommonJsBundle(file, cache, 'mailbox add');
    again.save();
    expect(fs.statSync(first.cacheFile!).mtimeMs).toBe(old);

    const other = runCommonJsBundle(file, cache, 'inbox poll');
    expect(other.fromCache).toBe(true);
    other.save();
    expect(fs.statSync(first.cacheFile!).mtimeMs).toBeGreaterThan(old);
    expect(kinds()).toHaveLength(2);
    // No command words (a mailbox name, say) in the cache folder: the kinds are hashes.
    expect(fs.readFileSync(first.cacheFile!.replace(/\.bin$/, '.kinds'), 'utf8')).not.toMatch(/inbox|mailbox/);
  });

  it('names the cache by the bundle text: a rebuilt bundle never reads the cache of the old one, even of the same length', () => {
    const dir = tempDir();
    const cache = tempDir();
    const file = writeBundle(dir, 'rebuilt', '// build A');
    const a = runCommonJsBundle(file, cache);
    a.save();
    writeBundle(dir, 'rebuilt', '// build B');
    const b = runCommonJsBundle(file, cache);
    expect(b.cacheFile).not.toBe(a.cacheFile);
    expect(b.fromCache).toBe(false);
    expect(codeCacheFile(cache, file, fs.readFileSync(file, 'utf8'))).toBe(b.cacheFile);
  });

  it('compiles from source when the cache file is damaged, and writes a good one over it (each run its own process, as the CLI)', () => {
    // In one process V8 keeps what it compiled in memory and would not even read the file: a fresh process per run.
    const loader = path.join(ROOT, 'dist', 'cli', 'code-cache.cjs');
    const run = (file: string, cache: string) =>
      JSON.parse(
        execFileSync(process.execPath, ['-e', `const { runCommonJsBundle } = require(${JSON.stringify(loader)}); const r = runCommonJsBundle(${JSON.stringify(file)}, ${JSON.stringify(cache)}); r.save(); console.log(JSON.stringify({ fromCache: r.fromCache, cacheFile: r.cacheFile, work: globalThis.__codeCacheTest.damaged.work }));`], { encoding: 'utf8' }),
      ) as { fromCache: boolean; cacheFile: string; work: number };
    const dir = tempDir();
    const cache = tempDir();
    const file = writeBundle(dir, 'damaged');
    const first = run(file, cache);
    expect(first).toMatchObject({ fromCache: false, work: 45 });
    expect(run(file, cache)).toMatchObject({ fromCache: true, work: 45 });
    fs.writeFileSync(first.cacheFile, Buffer.from('not a V8 code cache at all'));
    expect(run(file, cache)).toMatchObject({ fromCache: false, work: 45 });
    // ...and that run wrote a good one over it.
    expect(run(file, cache)).toMatchObject({ fromCache: true, work: 45 });
  });

  it('runs the same when the cache folder cannot be written (a file stands where the folder should be)', () => {
    const dir = tempDir();
    const blocked = path.join(tempDir(), 'not-a-folder');
    fs.writeFileSync(blocked, 'x');
    const file = writeBundle(dir, 'blocked');
    const run = runCommonJsBundle(file, blocked);
    expect(seen('blocked').work).toBe(45);
    expect(() => run.save()).not.toThrow();
    expect(fs.readFileSync(blocked, 'utf8')).toBe('x');
  });

  it('keeps the newest few caches of a bundle name, so builds used side by side do not throw each other\'s away', () => {
    const dir = tempDir();
    const cache = tempDir();
    const names: string[] = [];
    for (let build = 0; build < 6; build++) {
      const file = writeBundle(dir, 'sidebyside', `// build ${build}`);
      const run = runCommonJsBundle(file, cache);
      run.save();
      names.push(path.basename(run.cacheFile!));
      // Distinct times, oldest first, whatever the file system's clock resolution.
      fs.utimesSync(run.cacheFile!, new Date(2026, 0, 1 + build), new Date(2026, 0, 1 + build));
    }
    expect(fs.readdirSync(cache).filter((name) => name.endsWith('.bin')).sort()).toEqual(names.slice(-4).sort());
    expect(fs.readdirSync(cache).filter((name) => name.endsWith('.kinds'))).toHaveLength(4);
  });
});

describe('commandKind', () => {
  it('is the command words, never what follows them', () => {
    expect(commandKind(['inbox', 'poll', 'Support', '--json'])).toBe('inbox poll');
    expect(commandKind(['mailbox', 'list', '--json'])).toBe('mailbox list');
    expect(commandKind(['--data-dir', 'x', 'inbox', 'poll'])).toBe('');
    expect(commandKind(['logs', '--json'])).toBe('logs');
    expect(commandKind(['test', 'C:\\x'])).toBe('test');
    expect(commandKind([])).toBe('');
  });
});

describe('codeCacheDir', () => {
  it('is in the user\'s own profile on each platform, never a shared temporary folder', () => {
    expect(codeCacheDir({ LOCALAPPDATA: 'C:\\Users\\ann\\AppData\\Local' }, 'win32', 'C:\\Users\\ann')).toBe(path.join('C:\\Users\\ann\\AppData\\Local', 'Mailroom', 'Cache', 'code'));
    expect(codeCacheDir({}, 'win32', 'C:\\Users\\ann')).toBe(path.join('C:\\Users\\ann', 'AppData', 'Local', 'Mailroom', 'Cache', 'code'));
    expect(codeCacheDir({}, 'darwin', '/Users/ann')).toBe(path.join('/Users/ann', 'Library', 'Caches', 'Mailroom', 'code'));
    expect(codeCacheDir({}, 'linux', '/home/ann')).toBe(path.join('/home/ann', '.cache', 'mailroom', 'code'));
    expect(codeCacheDir({ XDG_CACHE_HOME: '/home/ann/.xdg' }, 'linux', '/home/ann')).toBe(path.join('/home/ann/.xdg', 'mailroom', 'code'));
    // No home to put it in: no cache, rather than a shared folder.
    expect(codeCacheDir({}, 'linux', '')).toBeNull();
  });

  it('follows MAILROOM_CODE_CACHE: off, or another folder', () => {
    for (const off of ['off', 'OFF', '0', 'false', 'no', ' off ']) expect(codeCacheDir({ MAILROOM_CODE_CACHE: off }, 'linux', '/home/ann')).toBeNull();
    expect(codeCacheDir({ MAILROOM_CODE_CACHE: '/srv/cache' }, 'linux', '/home/ann')).toBe(path.resolve('/srv/cache'));
    expect(codeCacheDir({ MAILROOM_CODE_CACHE: '' }, 'linux', '/home/ann')).toBe(path.join('/home/ann', '.cache', 'mailroom', 'code'));
  });
});
