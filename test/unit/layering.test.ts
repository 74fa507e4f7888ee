/**
 * Layers may only import downward:
 *   shared <- store <- engine <- ipc <- app / cli / console-server;  preload -> shared;  renderer -> shared.
 * Only src-main/app and src-main/preload may import electron. Every import of
 * every file counts (static, type-only, re-exports, dynamic import(), require()),
 * read with TypeScript's own pre-processor so comments and strings do not fool it.
 */
import fs from 'node:fs';
import { builtinModules } from 'node:module';
import path from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/paths';

type Layer = 'shared' | 'store' | 'engine' | 'ipc' | 'app' | 'preload' | 'cli' | 'console-server' | 'renderer';

const MAIN_LAYERS: readonly Layer[] = ['shared', 'store', 'engine', 'ipc', 'app', 'preload', 'cli', 'console-server'];

/** Packages that only work in Node: a renderer or the shared contract that imports one is broken in the browser. */
const NODE_ONLY_PACKAGES = ['better-sqlite3', 'nodemailer', 'imapflow', 'smtp-server', 'mailparser', '@azure/msal-node', 'commander', 'dns2'];

/** Which layers each layer must not import. */
const FORBIDDEN_LAYERS: Record<Layer, readonly Layer[]> = {
  shared: ['store', 'engine', 'ipc', 'app', 'preload', 'cli', 'console-server', 'renderer'],
  store: ['engine', 'ipc', 'app', 'preload', 'cli', 'console-server', 'renderer'],
  engine: ['ipc', 'app', 'preload', 'cli', 'console-server', 'renderer'],
  ipc: ['app', 'preload', 'cli', 'console-server', 'renderer'],
  app: ['preload', 'cli', 'console-server', 'renderer'],
  preload: ['store', 'engine', 'ipc', 'app', 'cli', 'console-server', 'renderer'],
  cli: ['app', 'preload', 'renderer'],
  'console-server': ['app', 'preload', 'cli', 'renderer'],
  renderer: ['store', 'engine', 'ipc', 'app', 'preload', 'cli', 'console-server'],
};

const ELECTRON_ALLOWED: readonly Layer[] = ['app', 'preload'];
const NODE_BUILTINS_FORBIDDEN: readonly Layer[] = ['shared', 'renderer', 'preload'];

/** The layer of a repository path (posix, relative to the root), or undefined outside the layered folders. */
export function layerOf(file: string): Layer | undefined {
  if (file.startsWith('src-renderer/')) return 'renderer';
  const match = /^src-main\/([^/]+)\//.exec(file);
  return match && (MAIN_LAYERS as readonly string[]).includes(match[1]!) ? (match[1] as Layer) : undefined;
}

function isNodeBuiltin(spec: string): boolean {
  return spec.startsWith('node:') || builtinModules.includes(spec) || builtinModules.includes(spec.split('/')[0]!);
}

function packageName(spec: string): string {
  const parts = spec.split('/');
  return spec.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]!;
}

/** Every module specifier a source file imports, in any form. */
export function importsOf(source: string): string[] {
  const info = ts.preProcessFile(source, true, true);
  return info.importedFiles.map((f) => f.fileName);
}

/** The layering violations of a set of files (path relative to the root -> source text), one line each. */
export function layeringViolations(files: Map<string, string>): string[] {
  const problems: string[] = [];
  for (const [file, source] of files) {
    const layer = layerOf(file);
    if (!layer) continue;
    for (const spec of importsOf(source)) {
      const problem = (why: string) => problems.push(`${file} imports "${spec}": ${why}`);
      if (spec.startsWith('.')) {
        const target = path.posix.normalize(path.posix.join(path.posix.dirname(file), spec));
        const targetLayer = layerOf(`${target}/`);
        if (targetLayer === undefined && layer !== 'renderer') {
          if (target.startsWith('src-main/') || target.startsWith('src-renderer/')) continue;
          problem('reaches outside the layered source folders');
        } else if (targetLayer && targetLayer !== layer && FORBIDDEN_LAYERS[layer].includes(targetLayer)) {
          problem(`${layer} must not import ${targetLayer}`);
        }
        continue;
      }
      if (packageName(spec) === 'electron') {
        if (!ELECTRON_ALLOWED.includes(layer)) problem('only src-main/app and src-main/preload may import electron (inject an interface instead)');
        continue;
      }
      if (isNodeBuiltin(spec)) {
        if (NODE_BUILTINS_FORBIDDEN.includes(layer)) problem(`${layer} must not import Node built-in modules`);
        continue;
      }
      if ((layer === 'renderer' || layer === 'shared' || layer === 'preload') && NODE_ONLY_PACKAGES.includes(packageName(spec))) {
        problem(`${layer} must not import the Node-only package ${packageName(spec)}`);
      }
    }
  }
  return problems;
}

function sourceFiles(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const full = path.join(dir, e.name);
    if (e.isDirectory()) return sourceFiles(full);
    return /\.(ts|tsx|mts|cts|js|mjs|cjs|jsx)$/.test(e.name) ? [full] : [];
  });
}

function repositoryFiles(): Map<string, string> {
  const files = new Map<string, string>();
  for (const full of [...sourceFiles(path.join(ROOT, 'src-main')), ...sourceFiles(path.join(ROOT, 'src-renderer'))]) {
    files.set(path.relative(ROOT, full).split(path.sep).join('/'), fs.readFileSync(full, 'utf8'));
  }
  return files;
}

describe('the layering of the sources', () => {
  const files = repositoryFiles();

  it('reads every layer', () => {
    const layers = new Set([...files.keys()].map(layerOf));
    for (const layer of ['shared', 'store', 'engine', 'ipc', 'app', 'preload', 'cli', 'console-server', 'renderer'] as const) expect(layers.has(layer), layer).toBe(true);
    expect(files.size).toBeGreaterThan(30);
  });

  it('has no import that goes the wrong way', () => {
    expect(layeringViolations(files)).toEqual([]);
  });

  it('keeps electron inside src-main/app and src-main/preload', () => {
    const users = [...files].filter(([, source]) => importsOf(source).some((s) => packageName(s) === 'electron')).map(([file]) => layerOf(file));
    expect(users.length).toBeGreaterThan(0);
    expect(new Set(users)).toEqual(new Set(users.filter((l) => l === 'app' || l === 'preload')));
  });
});

describe('the layering check itself', () => {
  const check = (file: string, source: string) => layeringViolations(new Map([[file, source]]));

  it.each([
    ['src-main/engine/x.ts', "import { safeStorage } from 'electron';", 'electron'],
    ['src-main/engine/x.ts', "import type { BrowserWindow } from 'electron/main';", 'electron/main'],
    ['src-main/engine/x.ts', "const e = await import('electron');", 'electron'],
    ['src-main/engine/x.ts', "const { ipcMain } = require('electron');", 'electron'],
    ['src-main/store/x.ts', "export { thing } from '../engine/mailboxes.js';", '../engine/mailboxes.js'],
    ['src-main/store/x.ts', "import '../cli/main.js';", '../cli/main.js'],
    ['src-main/engine/x.ts', "import { createRouter } from '../ipc/router.js';", '../ipc/router.js'],
    ['src-main/engine/x.ts', "import { startConsoleServer } from '../console-server/server.js';", '../console-server/server.js'],
    ['src-main/ipc/x.ts', "import { main } from '../app/main.js';", '../app/main.js'],
    ['src-main/ipc/x.ts', "import type { Command } from '../cli/output.js';", '../cli/output.js'],
    ['src-main/shared/x.ts', "import fs from 'node:fs';", 'node:fs'],
    ['src-main/shared/x.ts', "import { join } from 'path';", 'path'],
    ['src-main/shared/x.ts', "import { openDatabase } from '../store/db.js';", '../store/db.js'],
    ['src-main/cli/x.ts', "import { ipcRenderer } from 'electron';", 'electron'],
    ['src-main/console-server/x.ts', "import { app } from 'electron';", 'electron'],
    ['src-renderer/features/x.tsx', "import fs from 'fs';", 'fs'],
    ['src-renderer/features/x.tsx', "import { readFile } from 'node:fs/promises';", 'node:fs/promises'],
    ['src-renderer/features/x.tsx', "import { ipcRenderer } from 'electron';", 'electron'],
    ['src-renderer/features/x.tsx', "import type { Mailroom } from '../../src-main/engine/mailroom';", '../../src-main/engine/mailroom'],
    ['src-renderer/features/x.tsx', "import Database from 'better-sqlite3';", 'better-sqlite3'],
  ])('flags %s importing %j', (file, source, spec) => {
    const problems = check(file, source);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toContain(file);
    expect(problems[0]).toContain(`"${spec}"`);
  });

  it.each([
    ['src-main/engine/x.ts', "import { openDatabase } from '../store/db.js'; import fs from 'node:fs';"],
    ['src-main/ipc/x.ts', "import type { Mailroom } from '../engine/mailroom.js';"],
    ['src-main/app/x.ts', "import { app } from 'electron'; import { openMailroom } from '../engine/mailroom.js';"],
    ['src-main/preload/x.ts', "import { contextBridge } from 'electron'; import { ipcChannel } from '../shared/bridge.js';"],
    ['src-main/cli/x.ts', "import { startConsoleServer } from '../console-server/server.js';"],
    ['src-renderer/api/x.ts', "import { contract } from '../../src-main/shared/contract/index';"],
    ['src-renderer/api/x.ts', "import { z } from 'zod'; import { Button } from '@fluentui/react-components';"],
    ['src-main/engine/x.ts', "// import { app } from 'electron';\nconst text = \"require('electron')\";"],
  ])('lets %s import %j', (file, source) => {
    expect(check(file, source)).toEqual([]);
  });
});
