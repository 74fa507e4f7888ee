/**
 * electron-builder.yml against the JSON schema electron-builder itself ships
 * (node_modules/app-builder-lib/scheme.json), plus the packaging decisions
 * the app depends on: icons, the unpacked native module, the Electron-ABI
 * binding shipped in resources/native, Windows targets and installer options,
 * and the import's parser worker starting from the packaged layout (a real
 * app.asar made with @electron/asar, the package electron-builder packs with).
 */
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import Ajv from 'ajv';
import { electronNativeBinding } from '../../src-main/app/native-binding';
import { InThreadParser, WorkerParser } from '../../src-main/engine/inbox/message-parser';
import { locateParserWorker } from '../../src-main/engine/inbox/parser-worker-file';
import { ROOT } from '../helpers/paths';
import { tempDir } from '../helpers/temp';

const require = createRequire(import.meta.url);
// js-yaml comes with electron-builder (it reads this file with it); minimatch is what its file patterns use.
const yaml = require('js-yaml') as { load(text: string): unknown };
const { minimatch } = require('minimatch') as { minimatch(file: string, pattern: string, options?: { dot?: boolean }): boolean };
// What electron-builder packs app.asar with (a dependency of app-builder-lib).
const asar = require('@electron/asar') as {
  createPackageFromStreams(
    dest: string,
    streams: { type: 'file'; path: string; unpacked: boolean; stat: fs.Stats; streamGenerator: () => NodeJS.ReadableStream }[],
  ): Promise<unknown>;
  listPackage(archive: string, options: { isPack: boolean }): string[];
};

type FileSet = { from: string; to: string; filter?: string[] };
interface BuilderConfig {
  appId: string;
  productName: string;
  directories: { output: string; buildResources?: string };
  files: string[];
  asar: boolean;
  asarUnpack: string[];
  npmRebuild: boolean;
  extraResources: FileSet[];
  win: { icon: string; target: Array<{ target: string; arch: string[] }> };
  nsis: Record<string, unknown>;
  portable: Record<string, unknown>;
}

const CONFIG_FILE = path.join(ROOT, 'electron-builder.yml');
const config = yaml.load(fs.readFileSync(CONFIG_FILE, 'utf8')) as BuilderConfig;
const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { main: string; productName: string };

function schemaValidator() {
  const schema = JSON.parse(fs.readFileSync(path.join(ROOT, 'node_modules', 'app-builder-lib', 'scheme.json'), 'utf8')) as object;
  // Like electron-builder (allErrors, strict: false for its vendor keywords) but without type coercion, so a quoted number is caught.
  const ajv = new Ajv({ allErrors: true, strict: false });
  return ajv.compile(schema);
}

/**
 * Whether electron-builder packs a path: app files need a positive `files`
 * pattern; production node_modules are added by electron-builder itself.
 * Either way no negation may match.
 */
function packaged(file: string): boolean {
  const positive = config.files.filter((p) => !p.startsWith('!'));
  const negative = config.files.filter((p) => p.startsWith('!')).map((p) => p.slice(1));
  const selected = file.startsWith('node_modules/') || positive.some((p) => minimatch(file, p, { dot: true }));
  return selected && !negative.some((p) => minimatch(file, p, { dot: true }));
}

/** Whether electron-builder puts a packaged app file in app.asar.unpacked instead of app.asar. */
function unpacked(file: string): boolean {
  return config.asarUnpack.some((p) => minimatch(file, p, { dot: true }));
}

/** Every file under a folder, as posix paths relative to the root. */
function filesUnder(folder: string): string[] {
  return fs.readdirSync(path.join(ROOT, folder), { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => path.relative(ROOT, path.join(entry.parentPath, entry.name)).split(path.sep).join('/'));
}

/**
 * resources/ as the installer lays it out: the `files` packed into app.asar
 * (with @electron/asar), what `asarUnpack` matches in app.asar.unpacked, and
 * `extraResources` beside them. Production node_modules are left out: in the
 * real app they are inside app.asar, where a worker thread cannot reach them.
 */
async function layOutResources(): Promise<string> {
  const resources = path.join(tempDir(), 'resources');
  fs.mkdirSync(resources, { recursive: true });
  const appFiles = [...filesUnder('dist'), 'package.json'].filter(packaged);
  await asar.createPackageFromStreams(
    path.join(resources, 'app.asar'),
    appFiles.map((file) => {
      const source = path.join(ROOT, file);
      return { type: 'file' as const, path: file, unpacked: unpacked(file), stat: fs.statSync(source), streamGenerator: () => fs.createReadStream(source) };
    }),
  );
  for (const set of config.extraResources) {
    const from = path.join(ROOT, set.from);
    const names = fs.existsSync(from) ? fs.readdirSync(from) : [];
    for (const name of names.filter((n) => (set.filter ?? ['**/*']).some((f) => minimatch(n, f)))) {
      fs.mkdirSync(path.join(resources, set.to), { recursive: true });
      fs.copyFileSync(path.join(from, name), path.join(resources, set.to, name));
    }
  }
  return resources;
}

/** The sizes inside an .ico file (a 0 byte means 256 px). */
function icoSizes(file: string): number[] {
  const bytes = fs.readFileSync(file);
  expect(bytes.readUInt16LE(0), 'ICO reserved field').toBe(0);
  expect(bytes.readUInt16LE(2), 'ICO type (1 = icon)').toBe(1);
  const count = bytes.readUInt16LE(4);
  return Array.from({ length: count }, (_, i) => bytes[6 + i * 16] || 256);
}

describe('electron-builder.yml', () => {
  it('matches the schema electron-builder ships', () => {
    const validate = schemaValidator();
    const valid = validate(config);
    expect(validate.errors ?? [], JSON.stringify(validate.errors, null, 2)).toEqual([]);
    expect(valid).toBe(true);
  });

  it('is checked for real: a misspelled option fails the same schema', () => {
    const validate = schemaValidator();
    expect(validate({ ...config, nsis: { ...config.nsis, oneclick: false } })).toBe(false);
    expect(validate({ ...config, win: { ...config.win, icon: 42 } })).toBe(false);
  });

  it('names the app and writes the installers to release/', () => {
    expect(config.appId).toBe('com.mailroom.desktop');
    expect(config.productName).toBe('Mailroom');
    expect(config.productName).toBe(pkg.productName);
    expect(config.directories.output).toBe('release');
  });

  it('builds the nsis installer and the portable exe for Windows x64', () => {
    const targets = config.win.target.map((t) => `${t.target}:${t.arch.join(',')}`);
    expect(targets.sort()).toEqual(['nsis:x64', 'portable:x64']);
  });

  it('makes an assisted per-user installer with a folder choice and shortcuts', () => {
    expect(config.nsis).toMatchObject({
      oneClick: false,
      perMachine: false,
      allowToChangeInstallationDirectory: true,
      createDesktopShortcut: true,
      createStartMenuShortcut: true,
    });
    expect(config.nsis.artifactName).not.toBe(config.portable.artifactName);
  });

  it('uses a real multi-size Windows icon and a 256 px PNG', () => {
    const ico = path.join(ROOT, config.win.icon);
    expect(fs.existsSync(ico), `${config.win.icon} is missing`).toBe(true);
    const sizes = icoSizes(ico);
    // Windows needs 256 for large views and the small sizes for the taskbar and title bar.
    for (const size of [16, 32, 48, 256]) expect(sizes).toContain(size);
    for (const key of ['installerIcon', 'uninstallerIcon'] as const) {
      expect(fs.existsSync(path.join(ROOT, String(config.nsis[key]))), `nsis.${key}`).toBe(true);
    }
    const png = fs.readFileSync(path.join(ROOT, 'assets', 'icon.png'));
    expect(png.subarray(1, 4).toString('latin1')).toBe('PNG');
    expect([png.readUInt32BE(16), png.readUInt32BE(20)]).toEqual([256, 256]);
  });

  it('packs the built app and package.json, never sources, tests or source maps', () => {
    expect(packaged(pkg.main), `package.json main ${pkg.main}`).toBe(true);
    expect(packaged('dist/app/preload.cjs')).toBe(true);
    expect(packaged('dist/app/parser-worker.cjs')).toBe(true);
    expect(packaged('dist/renderer/index.html')).toBe(true);
    expect(packaged('package.json')).toBe(true);
    for (const file of ['src-main/engine/mailroom.ts', 'src-renderer/app/App.tsx', 'test/unit/migrations.test.ts', 'dist/app/main.cjs.map', 'scripts/build.mjs', 'electron-builder.yml', 'bench/cli-startup.mjs']) {
      expect(packaged(file), file).toBe(false);
    }
  });

  it('unpacks better-sqlite3\'s native module from app.asar', () => {
    expect(config.asar).toBe(true);
    const native = 'node_modules/better-sqlite3/build/Release/better_sqlite3.node';
    expect(config.asarUnpack.some((p) => minimatch(native, p, { dot: true })), `asarUnpack ${JSON.stringify(config.asarUnpack)}`).toBe(true);
    expect(packaged(native)).toBe(true);
    expect(packaged('node_modules/better-sqlite3/lib/database.js')).toBe(true);
    // The SQLite sources and compiler output are megabytes the app never loads.
    expect(packaged('node_modules/better-sqlite3/deps/sqlite3/sqlite3.c')).toBe(false);
    expect(packaged('node_modules/better-sqlite3/build/Release/obj.target/better_sqlite3/src/better_sqlite3.o')).toBe(false);
  });

  it('unpacks every native module from app.asar, not only the ones known today', () => {
    expect(config.asarUnpack.some((p) => minimatch('node_modules/some-future-addon/build/Release/addon.node', p, { dot: true }))).toBe(true);
  });

  it('ships @primno/dpapi\'s prebuilt DPAPI module unpacked, and node-gyp-build finds it there from Node and from Electron (one N-API binary)', () => {
    const packageDir = path.join(ROOT, 'node_modules', '@primno', 'dpapi');
    const walk = (dir: string): string[] =>
      fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(path.join(dir, e.name)) : [path.join(dir, e.name)]));
    const files = walk(packageDir).map((f) => `node_modules/@primno/dpapi/${path.relative(packageDir, f).split(path.sep).join('/')}`);
    const shipped = files.filter(packaged);
    for (const arch of ['x64', 'arm64']) expect(shipped).toContain(`node_modules/@primno/dpapi/prebuilds/win32-${arch}/@primno+dpapi.node`);
    expect(shipped).toEqual(expect.arrayContaining(['node_modules/@primno/dpapi/package.json', 'node_modules/@primno/dpapi/dist/index.js']));
    // Its C++ sources and tests are not shipped.
    expect(shipped.filter((f) => /\/(src|test)\/|binding\.gyp$/.test(f))).toEqual([]);
    for (const native of shipped.filter((f) => f.endsWith('.node'))) {
      expect(config.asarUnpack.some((p) => minimatch(native, p, { dot: true })), `${native} is unpacked`).toBe(true);
    }
    // Lay out what is shipped and ask node-gyp-build (what @primno/dpapi loads with) as Windows x64 would,
    // once as Node (the CLI) and once as Electron (the app): both get the same prebuilt file.
    const layout = path.join(tempDir(), 'node_modules', '@primno', 'dpapi');
    for (const file of shipped) {
      const target = path.join(layout, file.slice('node_modules/@primno/dpapi/'.length));
      fs.mkdirSync(path.dirname(target), { recursive: true });
      fs.copyFileSync(path.join(ROOT, file), target);
    }
    const nodeGypBuild = require.resolve('node-gyp-build', { paths: [packageDir] });
    for (const runtime of ['node', 'electron']) {
      const found = execFileSync(process.execPath, ['-e', `process.stdout.write(require(${JSON.stringify(nodeGypBuild)}).resolve(${JSON.stringify(layout)}))`], {
        env: { ...process.env, npm_config_platform: 'win32', npm_config_arch: 'x64', ...(runtime === 'electron' ? { ELECTRON_RUN_AS_NODE: '1' } : { ELECTRON_RUN_AS_NODE: '' }) },
        encoding: 'utf8',
      });
      expect(found, runtime).toBe(path.join(layout, 'prebuilds', 'win32-x64', '@primno+dpapi.node'));
    }
  });

  it('ships the Electron-ABI build where the app looks for it, without rebuilding node_modules', () => {
    expect(config.npmRebuild).toBe(false);
    const native = config.extraResources.find((r) => path.posix.normalize(r.from) === 'build/electron-native');
    expect(native, 'extraResources entry for build/electron-native').toBeDefined();
    // Lay out resources/ as the installer will and ask the app's own lookup for the binding.
    const resources = tempDir();
    const shipped = path.join(resources, native!.to, 'better_sqlite3.node');
    expect(native!.filter ?? ['**/*'], 'the filter lets better_sqlite3.node through').toSatisfy((filters: string[]) =>
      filters.some((f) => minimatch('better_sqlite3.node', f)),
    );
    fs.mkdirSync(path.dirname(shipped), { recursive: true });
    fs.writeFileSync(shipped, '');
    expect(electronNativeBinding(path.join(resources, 'app.asar'), resources, true)).toBe(shipped);
  });

  it('starts the import\'s parser workers from the packaged layout, with plain Node and no node_modules', async () => {
    const resources = await layOutResources();
    const archive = path.join(resources, 'app.asar');
    const inArchive = new Set(asar.listPackage(archive, { isPack: false }).map((entry) => entry.split(path.sep).join('/')));
    // Each bundle runs from inside app.asar (the app's main.cjs, the CLI's main.cjs); its worker must not.
    const bundles: [string, string][] = [
      [pkg.main, 'parser-worker.cjs'],
      ['dist/cli/main.cjs', 'parser-worker.cjs'],
    ];
    expect(pkg.main).toBe('dist/app/main.cjs');
    for (const [bundle, workerName] of bundles) {
      expect(inArchive, `${bundle} is packed in app.asar`).toContain(`/${bundle}`);
      const workerFile = locateParserWorker(path.join(archive, ...bundle.split('/')), workerName);
      const flavour = bundle.split('/')[1]!;
      expect(workerFile).toBe(path.join(resources, 'app.asar.unpacked', 'dist', flavour, workerName));
      expect(fs.existsSync(workerFile), 'asarUnpack puts the worker beside app.asar').toBe(true);
      // The CLI starts its workers through its code-cache script: unpacked beside the worker too.
      if (flavour === 'cli') expect(fs.existsSync(path.join(path.dirname(workerFile), 'code-cache-worker.cjs')), 'asarUnpack puts code-cache-worker.cjs beside the CLI worker').toBe(true);
      // Nothing to fall back on: no node_modules next to the worker or anywhere above it.
      for (let dir = path.dirname(workerFile); dir !== path.dirname(dir); dir = path.dirname(dir)) expect(fs.existsSync(path.join(dir, 'node_modules')), dir).toBe(false);

      const reasons: string[] = [];
      const parser = new WorkerParser(30_000, 1, { workerFile, way: 'quick', onUnavailable: (reason) => reasons.push(reason) });
      try {
        const raw = Buffer.from('From: Ann <ann@example.com>\r\nTo: support@example.com\r\nSubject: Printer\r\nMessage-ID: <p@example.com>\r\n\r\nIt is stuck.\r\n');
        expect(await parser.parse(raw)).toEqual(await new InThreadParser().parse(raw));
        // Only the worker knows the quick way: this answer came from the packaged worker, not the in-thread fallback.
        expect(await parser.parse(Buffer.from('Content-Type: multipart/mixed; boundary=x\r\n\r\n--x\r\n'))).toMatchObject({ ok: false, error: expect.stringContaining('NOT_QUICK') });
        expect(reasons).toEqual([]);
      } finally {
        await parser.close();
      }
    }
  });

  it('would parse on the main thread, and say so, if the worker stayed inside app.asar', async () => {
    const resources = await layOutResources();
    fs.rmSync(path.join(resources, 'app.asar.unpacked', 'dist'), { recursive: true, force: true });
    const workerFile = locateParserWorker(path.join(resources, 'app.asar', 'dist', 'app', 'main.cjs'), 'parser-worker.cjs');
    const reasons: string[] = [];
    const parser = new WorkerParser(30_000, 1, { workerFile, onUnavailable: (reason) => reasons.push(reason) });
    try {
      const raw = Buffer.from('Subject: hello\r\n\r\nbody\r\n');
      expect(await parser.parse(raw)).toEqual(await new InThreadParser().parse(raw));
      expect(reasons).toEqual([expect.stringContaining('is missing')]);
    } finally {
      await parser.close();
    }
  });
});
