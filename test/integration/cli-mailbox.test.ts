/**
 * The real `mailroom` CLI (bin/mailroom.mjs over the built dist/cli) run as
 * scripts run it, through real data folders: round trips, exit codes,
 * messages that name the flag, secrets only through --password-env or
 * --password-stdin and never printed, bad input that changes nothing, and a
 * start-up that loads no engine, store or mail module for --version/--help.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { openMailroom, type Mailroom } from '../../src-main/engine/mailroom';
import { runCli, type CliResult } from '../helpers/cli';
import { ROOT } from '../helpers/paths';
import { tempDir } from '../helpers/temp';

const engines: Mailroom[] = [];
afterEach(() => {
  for (const e of engines.splice(0)) e.close();
});

const GENERIC = ['--preset', 'generic', '--imap-host', 'imap.example.com', '--smtp-host', 'smtp.example.com'];

/** Runs the CLI against a data folder given with --data-dir. */
function cli(dataDir: string, args: string[], options: { env?: NodeJS.ProcessEnv; input?: string } = {}): Promise<CliResult> {
  return runCli([...args, '--data-dir', dataDir], options);
}

async function addSupport(dataDir: string, extra: string[] = [], options: { env?: NodeJS.ProcessEnv; input?: string } = {}): Promise<CliResult> {
  const result = await cli(dataDir, ['mailbox', 'add', '--name', 'Support', '--address', 'support@example.com', ...GENERIC, ...extra, '--json'], options);
  return result;
}

async function listJson(dataDir: string): Promise<Array<Record<string, any>>> {
  const result = await cli(dataDir, ['mailbox', 'list', '--json']);
  expect(result.code, result.stderr).toBe(0);
  return result.json;
}

/** The stored password, read by the engine itself over the same data folder (and its key file). */
function storedPassword(dataDir: string, id: number): string | undefined {
  const engine = openMailroom({ dataDir });
  engines.push(engine);
  return engine.mailboxes.password(id);
}

describe('mailbox add and list', () => {
  it('adds a mailbox and lists it with id, name, address, imap and smtp, without a password', async () => {
    const dir = tempDir();
    const added = await addSupport(dir, ['--imap-security', 'starttls', '--smtp-port', '2525']);
    expect(added.code, added.stderr).toBe(0);
    expect(added.json).toMatchObject({ id: expect.any(Number), name: 'Support', address: 'support@example.com', passwordSet: false });

    const list = await listJson(dir);
    expect(list).toHaveLength(1);
    expect(list[0]).toMatchObject({
      id: added.json.id,
      name: 'Support',
      address: 'support@example.com',
      imap: { host: 'imap.example.com', port: 143, security: 'starttls', username: 'support@example.com' },
      smtp: { host: 'smtp.example.com', port: 2525, security: 'tls' },
      passwordSet: false,
    });
    expect(Object.keys(list[0]!)).not.toContain('password');
  });

  it('prints a readable table without --json', async () => {
    const dir = tempDir();
    await addSupport(dir);
    const result = await cli(dir, ['mailbox', 'list']);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^ID\s+NAME\s+ADDRESS/);
    expect(result.stdout).toContain('support@example.com');
    expect(result.stdout).toContain('imap.example.com:993 tls');
  });

  it('lists an empty data folder as []', async () => {
    expect(await listJson(tempDir())).toEqual([]);
  });
});

describe('passwords', () => {
  const SECRET = `Cli-S3cret-${crypto.randomBytes(6).toString('hex')}`;

  it('are read from --password-env NAME, stored, and never printed', async () => {
    const dir = tempDir();
    const added = await addSupport(dir, ['--password-env', 'MAILROOM_TEST_PASSWORD'], { env: { MAILROOM_TEST_PASSWORD: SECRET } });
    expect(added.code, added.stderr).toBe(0);
    expect(added.json.passwordSet).toBe(true);
    const outputs = [added, await cli(dir, ['mailbox', 'list', '--json']), await cli(dir, ['mailbox', 'show', 'Support']), await cli(dir, ['mailbox', 'export'])];
    for (const r of outputs) expect(r.stdout + r.stderr).not.toContain(SECRET);
    expect(storedPassword(dir, added.json.id)).toBe(SECRET);
  });

  it('are read from --password-stdin (without the trailing line break), stored, and never printed', async () => {
    const dir = tempDir();
    const added = await addSupport(dir, ['--password-stdin'], { input: `${SECRET}\r\n` });
    expect(added.code, added.stderr).toBe(0);
    expect(added.json.passwordSet).toBe(true);
    expect(added.stdout + added.stderr).not.toContain(SECRET);
    expect(storedPassword(dir, added.json.id)).toBe(SECRET);
  });

  it('can be replaced with update --password-stdin', async () => {
    const dir = tempDir();
    const added = await addSupport(dir);
    const updated = await cli(dir, ['mailbox', 'update', 'Support', '--password-stdin', '--json'], { input: 'replaced-secret\n' });
    expect(updated.code, updated.stderr).toBe(0);
    expect(updated.json.passwordSet).toBe(true);
    expect(storedPassword(dir, added.json.id)).toBe('replaced-secret');
  });

  it.each([
    [['--password', SECRET]],
    [[`--password=${SECRET}`]],
  ])('are refused as a flag value %j (exit 2), without echoing the secret and without storing anything', async (flag) => {
    const dir = tempDir();
    for (const json of [false, true]) {
      const result = await cli(dir, ['mailbox', 'add', '--name', 'Support', '--address', 'support@example.com', ...GENERIC, ...flag, ...(json ? ['--json'] : [])]);
      expect(result.code).toBe(2);
      expect(result.stdout + result.stderr).not.toContain(SECRET);
      expect(result.stdout + result.stderr).toMatch(/--password-env|--password-stdin/);
    }
    expect(fs.readdirSync(dir)).toEqual([]);
  });

  it('are refused on update as a flag value too, and the mailbox keeps its password', async () => {
    const dir = tempDir();
    const added = await addSupport(dir, ['--password-stdin'], { input: 'original' });
    const result = await cli(dir, ['mailbox', 'update', 'Support', `--password=${SECRET}`]);
    expect(result.code).toBe(2);
    expect(result.stdout + result.stderr).not.toContain(SECRET);
    expect(storedPassword(dir, added.json.id)).toBe('original');
  });

  it('need the variable named by --password-env to be set (exit 2, names the variable)', async () => {
    const dir = tempDir();
    const result = await cli(dir, ['mailbox', 'add', '--name', 'Support', '--address', 'support@example.com', ...GENERIC, '--password-env', 'MAILROOM_TEST_UNSET', '--json']);
    expect(result.code).toBe(2);
    expect(result.json.error).toMatchObject({ code: 'USAGE', message: expect.stringContaining('MAILROOM_TEST_UNSET') });
    expect(fs.readdirSync(dir)).toEqual([]);
  });

  it('refuse a secret given where the variable name belongs, without echoing it', async () => {
    const dir = tempDir();
    const result = await cli(dir, ['mailbox', 'add', '--name', 'Support', '--address', 'support@example.com', ...GENERIC, '--password-env', 'p@ss w0rd!']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('NAME of an environment variable');
    expect(result.stdout + result.stderr).not.toContain('p@ss w0rd!');
  });

  it('refuse both sources at once', async () => {
    const result = await cli(tempDir(), ['mailbox', 'add', '--name', 'S', '--address', 's@example.com', ...GENERIC, '--password-env', 'X', '--password-stdin', '--json'], { input: 'x' });
    expect(result.code).toBe(2);
    expect(result.json.error.message).toMatch(/either --password-env or --password-stdin/);
  });
});

describe('show, update and remove', () => {
  it('shows a mailbox by id and by name (any case)', async () => {
    const dir = tempDir();
    const { json: added } = await addSupport(dir);
    const byId = await cli(dir, ['mailbox', 'show', String(added.id), '--json']);
    const byName = await cli(dir, ['mailbox', 'show', 'sUpPoRt', '--json']);
    expect(byId.code).toBe(0);
    expect(byId.json).toEqual(added);
    expect(byName.json).toEqual(added);
  });

  it('updates only the flags given, by name and by id', async () => {
    const dir = tempDir();
    const { json: added } = await addSupport(dir, ['--imap-folder', 'Helpdesk']);
    const byName = await cli(dir, ['mailbox', 'update', 'Support', '--imap-port', '1993', '--json']);
    expect(byName.code, byName.stderr).toBe(0);
    expect(byName.json.imap).toEqual({ ...added.imap, port: 1993 });
    expect(byName.json.smtp).toEqual(added.smtp);
    const byId = await cli(dir, ['mailbox', 'update', String(added.id), '--name', 'Help desk', '--disabled', '--json']);
    expect(byId.code, byId.stderr).toBe(0);
    expect(byId.json).toMatchObject({ id: added.id, name: 'Help desk', enabled: false, address: added.address, imap: { port: 1993, folder: 'Helpdesk' } });
  });

  it('moves a default port along with --smtp-security', async () => {
    const dir = tempDir();
    await addSupport(dir, ['--smtp-security', 'starttls']);
    const updated = await cli(dir, ['mailbox', 'update', 'Support', '--smtp-security', 'tls', '--json']);
    expect(updated.json.smtp).toMatchObject({ security: 'tls', port: 465 });
  });

  it('removes a mailbox by name and by id', async () => {
    const dir = tempDir();
    const { json: a } = await addSupport(dir);
    const { json: b } = await cli(dir, ['mailbox', 'add', '--name', 'Sales', '--address', 'sales@example.com', '--preset', 'gmail', '--json']);
    const byName = await cli(dir, ['mailbox', 'remove', 'support', '--json']);
    expect(byName.code).toBe(0);
    expect(byName.json).toEqual({ removed: true, id: a.id, name: 'Support' });
    const byId = await cli(dir, ['mailbox', 'remove', String(b.id), '--json']);
    expect(byId.json).toEqual({ removed: true, id: b.id, name: 'Sales' });
    expect(await listJson(dir)).toEqual([]);
  });

  it.each([
    [['mailbox', 'show', 'Nobody']],
    [['mailbox', 'remove', 'Nobody']],
    [['mailbox', 'update', '4242', '--name', 'X']],
  ])('answers NOT_FOUND with exit 1 for %j', async (args) => {
    const dir = tempDir();
    const json = await cli(dir, [...args, '--json']);
    expect(json.code).toBe(1);
    expect(json.json).toMatchObject({ ok: false, error: { code: 'NOT_FOUND', hint: expect.stringContaining('mailbox list') } });
    const text = await cli(dir, args);
    expect(text.code).toBe(1);
    expect(text.stderr).toMatch(/^error \[NOT_FOUND\]: /);
    expect(text.stderr).toMatch(/\nhint: /);
  });
});

describe('export and import', () => {
  it('exports settings without secrets and imports them into another data folder', async () => {
    const source = tempDir();
    await addSupport(source, ['--password-stdin', '--imap-folder', 'Helpdesk'], { input: 'do-not-export-me' });
    await cli(source, ['mailbox', 'add', '--name', 'Helpdesk', '--address', 'helpdesk@contoso.com', '--preset', 'microsoft365']);
    const file = path.join(tempDir(), 'settings.json');
    const exported = await cli(source, ['mailbox', 'export', '--out', file, '--json']);
    expect(exported.code, exported.stderr).toBe(0);
    expect(exported.json).toEqual({ written: file, mailboxes: 2 });
    const text = fs.readFileSync(file, 'utf8');
    expect(text).not.toContain('do-not-export-me');
    expect(JSON.parse(text)).toMatchObject({ format: 'mailroom-settings', version: 1 });

    const target = tempDir();
    const imported = await cli(target, ['mailbox', 'import', file, '--json']);
    expect(imported.code, imported.stderr).toBe(0);
    expect(imported.json).toEqual({ created: ['Helpdesk', 'Support'], updated: [] });
    const strip = (m: Record<string, any>) => ({ ...m, id: 0, createdAt: 0, updatedAt: 0, passwordSet: false });
    expect((await listJson(target)).map(strip)).toEqual((await listJson(source)).map(strip));
    expect((await listJson(target)).every((m) => m.passwordSet === false)).toBe(true);
  });

  it('prints the export on stdout without --out', async () => {
    const dir = tempDir();
    await addSupport(dir);
    const result = await cli(dir, ['mailbox', 'export']);
    expect(result.code).toBe(0);
    expect(result.json).toMatchObject({ format: 'mailroom-settings', mailboxes: [{ name: 'Support' }] });
  });

  it('imports nothing from a file with one bad entry (exit 2) and names it', async () => {
    const dir = tempDir();
    await addSupport(dir);
    const before = await listJson(dir);
    const file = path.join(tempDir(), 'bad.json');
    fs.writeFileSync(
      file,
      JSON.stringify({
        format: 'mailroom-settings',
        version: 1,
        exportedAt: '',
        mailboxes: [
          { name: 'Support', address: 'changed@example.com' },
          { name: 'Broken', address: 'broken@example.com', preset: 'generic', imap: { host: 'imap.example.com', port: 70000 }, smtp: { host: 'smtp.example.com' } },
        ],
      }),
    );
    const result = await cli(dir, ['mailbox', 'import', file, '--json']);
    expect(result.code).toBe(2);
    expect(result.json.error).toMatchObject({ code: 'SETTINGS_FILE_INVALID', message: expect.stringContaining('Broken') });
    expect(await listJson(dir)).toEqual(before);
  });

  it.each([
    ['not JSON', 'this is not json', 'USAGE'],
    ['JSON of another kind', '{"accounts": []}', 'SETTINGS_FILE_INVALID'],
  ])('refuses a file that is %s (exit 2)', async (_label, content, code) => {
    const dir = tempDir();
    await addSupport(dir);
    const before = await listJson(dir);
    const file = path.join(tempDir(), 'input.json');
    fs.writeFileSync(file, content);
    const result = await cli(dir, ['mailbox', 'import', file, '--json']);
    expect(result.code).toBe(2);
    expect(result.json.error.code).toBe(code);
    expect(await listJson(dir)).toEqual(before);
  });

  it('accepts a file saved with a byte-order mark (Notepad)', async () => {
    const source = tempDir();
    await addSupport(source);
    const file = path.join(tempDir(), 'bom.json');
    fs.writeFileSync(file, '\uFEFF' + (await cli(source, ['mailbox', 'export'])).stdout);
    const result = await cli(tempDir(), ['mailbox', 'import', file, '--json']);
    expect(result.code, result.stderr).toBe(0);
    expect(result.json.created).toEqual(['Support']);
  });
});

describe('usage and validation errors', () => {
  // One data folder for the flag cases: each must leave it exactly as it was.
  let shared: { dir: string; before: Array<Record<string, any>> } | undefined;
  async function sharedFolder() {
    if (!shared) {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mailroom-cli-flags-'));
      await addSupport(dir);
      shared = { dir, before: await listJson(dir) };
    }
    return shared;
  }
  afterAll(() => {
    if (shared) fs.rmSync(shared.dir, { recursive: true, force: true });
  });

  it.each([
    [['--imap-port', '70000'], '--imap-port', /1 to 65535/],
    [['--smtp-port', 'smtp'], '--smtp-port', /whole number/],
    [['--imap-security', 'ssl'], '--imap-security', /tls, starttls, none/],
    [['--smtp-host', 'smtp://smtp.example.com'], '--smtp-host', /without a scheme/],
    [['--after-import', 'archive'], '--after-import', /move:<folder>/],
    [['--poll-seconds', '1'], '--poll-seconds', /at least 10/],
  ])('%j exits 2 with a message naming %s', async (flags, flag, message) => {
    const { dir, before } = await sharedFolder();
    const json = await cli(dir, ['mailbox', 'add', '--name', 'Other', '--address', 'other@example.com', ...GENERIC, ...flags, '--json']);
    expect(json.code).toBe(2);
    expect(json.json.error.code).toBe('VALIDATION_FAILED');
    expect(json.json.error.issues.map((i: { path: string }) => i.path)).toContain(flag);
    expect(json.json.error.message).toContain(flag);
    expect(json.json.error.message).toMatch(message);
    const text = await cli(dir, ['mailbox', 'update', 'Support', ...flags]);
    expect(text.code).toBe(2);
    expect(text.stderr).toContain(flag);
    expect(await listJson(dir)).toEqual(before);
  });

  it('names --imap-host and --smtp-host when the generic preset lacks them', async () => {
    const result = await cli(tempDir(), ['mailbox', 'add', '--name', 'S', '--address', 's@example.com', '--preset', 'generic', '--json']);
    expect(result.code).toBe(2);
    expect(result.json.error.issues.map((i: { path: string }) => i.path).sort()).toEqual(['--imap-host', '--smtp-host']);
  });

  it.each([
    [['--address', 'support@example.com'], '--name'],
    [['--name', 'Support'], '--address'],
  ])('requires %j to be completed with %s (exit 2, nothing created)', async (flags, missing) => {
    const dir = tempDir();
    const result = await cli(dir, ['mailbox', 'add', ...flags, ...GENERIC, '--json']);
    expect(result.code).toBe(2);
    expect(result.json.error).toMatchObject({ code: 'USAGE', message: expect.stringContaining(missing) });
    expect(fs.readdirSync(dir)).toEqual([]);
  });

  it('refuses an unknown flag (exit 2) and names it', async () => {
    const dir = tempDir();
    const result = await cli(dir, ['mailbox', 'add', '--name', 'S', '--address', 's@example.com', '--imap-hostname', 'x']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("unknown option '--imap-hostname'");
    expect(fs.readdirSync(dir)).toEqual([]);
  });

  it('answers an unknown flag with a JSON USAGE error on stdout when --json is given', async () => {
    const result = await cli(tempDir(), ['mailbox', 'list', '--bogus', '--json']);
    expect(result.code).toBe(2);
    expect(result.json).toMatchObject({ ok: false, error: { code: 'USAGE', message: "unknown option '--bogus'" } });
  });

  it('does not echo the value of a mistyped --flag=value (it may be a secret)', async () => {
    const dir = tempDir();
    for (const json of [[], ['--json']]) {
      const result = await cli(dir, ['mailbox', 'add', '--name', 'S', '--address', 's@example.com', '--pasword=Typo-S3cret-5', ...json]);
      expect(result.code).toBe(2);
      expect(result.stdout + result.stderr).toContain('--pasword');
      expect(result.stdout + result.stderr).not.toContain('Typo-S3cret-5');
    }
  });

  it('refuses an unknown preset (exit 2) listing the allowed ones', async () => {
    const result = await cli(tempDir(), ['mailbox', 'add', '--name', 'S', '--address', 's@example.com', '--preset', 'yahoo']);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/microsoft365, gmail, generic/);
  });

  it('refuses a duplicate name with CONFLICT and changes nothing', async () => {
    const dir = tempDir();
    await addSupport(dir);
    const before = await listJson(dir);
    const result = await cli(dir, ['mailbox', 'add', '--name', 'SUPPORT', '--address', 'other@example.com', ...GENERIC, '--json']);
    expect(result.code).toBe(1);
    expect(result.json.error).toMatchObject({ code: 'CONFLICT', hint: expect.any(String) });
    expect(await listJson(dir)).toEqual(before);
  });

  it('refuses a data folder from a newer Mailroom with DATABASE_TOO_NEW (exit 1) and leaves it as it is', async () => {
    const dir = tempDir();
    await addSupport(dir);
    const engine = openMailroom({ dataDir: dir });
    engine.db.pragma('user_version = 9999');
    engine.close();
    const file = path.join(dir, 'mailroom.db');
    const before = fs.readFileSync(file);
    const result = await cli(dir, ['mailbox', 'list', '--json']);
    expect(result.code).toBe(1);
    expect(result.json.error).toMatchObject({ code: 'DATABASE_TOO_NEW', hint: expect.stringMatching(/--data-dir|MAILROOM_DATA_DIR/) });
    expect(fs.readFileSync(file).equals(before)).toBe(true);
  });
});

describe('the data folder', () => {
  it('honours MAILROOM_DATA_DIR when --data-dir is not given', async () => {
    const dir = tempDir();
    const added = await runCli(['mailbox', 'add', '--name', 'Support', '--address', 'support@example.com', ...GENERIC, '--json'], { env: { MAILROOM_DATA_DIR: dir } });
    expect(added.code, added.stderr).toBe(0);
    expect(fs.existsSync(path.join(dir, 'mailroom.db'))).toBe(true);
    expect((await listJson(dir)).map((m) => m.name)).toEqual(['Support']);
  });

  it('prefers --data-dir over MAILROOM_DATA_DIR', async () => {
    const fromEnv = tempDir();
    const fromFlag = tempDir();
    const added = await runCli(['mailbox', 'add', '--name', 'Support', '--address', 'support@example.com', ...GENERIC, '--data-dir', fromFlag], { env: { MAILROOM_DATA_DIR: fromEnv } });
    expect(added.code, added.stderr).toBe(0);
    expect(fs.readdirSync(fromEnv)).toEqual([]);
    expect((await listJson(fromFlag)).map((m) => m.name)).toEqual(['Support']);
  });
});

describe('start-up', () => {
  /**
   * Runs the CLI with hooks that log every module it loads: an ES module resolve hook (the
   * launcher) and a preloaded wrapper of CommonJS's loader (the bundle, and every package it
   * requires). Returns the loaded files as file URLs.
   */
  async function loadedModules(args: string[]): Promise<{ result: CliResult; files: string[] }> {
    const dir = tempDir();
    const log = path.join(dir, 'imports.log');
    fs.writeFileSync(
      path.join(dir, 'hooks.mjs'),
      `import fs from 'node:fs';
export async function resolve(specifier, context, next) {
  const resolved = await next(specifier, context);
  fs.appendFileSync(${JSON.stringify(log)}, resolved.url + '\\n');
  return resolved;
}
`,
    );
    fs.writeFileSync(path.join(dir, 'register.mjs'), `import { register } from 'node:module';\nregister('./hooks.mjs', import.meta.url);\n`);
    fs.writeFileSync(
      path.join(dir, 'require-log.cjs'),
      `const fs = require('node:fs');
const Module = require('node:module');
const { pathToFileURL } = require('node:url');
const load = Module._load;
Module._load = function (request, parent, isMain) {
  try {
    const file = Module._resolveFilename(request, parent, isMain);
    if (require('node:path').isAbsolute(file)) fs.appendFileSync(${JSON.stringify(log)}, pathToFileURL(file).href + '\\n');
  } catch {}
  return load.apply(this, arguments);
};
`,
    );
    const result = await runCli(args, {
      env: { NODE_OPTIONS: `--import=${pathToFileURL(path.join(dir, 'register.mjs')).href} --require=${path.join(dir, 'require-log.cjs')}` },
    });
    const files = fs.existsSync(log) ? fs.readFileSync(log, 'utf8').split('\n').filter((u) => u.startsWith('file:')) : [];
    return { result, files };
  }

  /**
   * What must not load for --version and --help: the store's database module, any mail or
   * sign-in package. (The CLI is one bundle: its engine code is compiled with it, from V8's
   * code cache, but runs only when a command needs it, and then requires these.)
   */
  function heavy(files: string[]): string[] {
    return files.filter((url) => /node_modules\/(better-sqlite3|nodemailer|imapflow|smtp-server|mailparser|@azure\/msal-node|node-pop3|exceljs)\//.test(url));
  }

  it('the hook sees what a real command loads (control)', async () => {
    const { result, files } = await loadedModules(['mailbox', 'list', '--json', '--data-dir', tempDir()]);
    expect(result.code, result.stderr).toBe(0);
    expect(heavy(files).length).toBeGreaterThan(0);
  });

  it.each([[['--version']], [['-V']], [['--help']], [['mailbox', '--help']], [['mailbox', 'add', '--help']]])('%j loads no engine, store or mail module', async (args) => {
    const { result, files } = await loadedModules(args);
    expect(result.code, result.stderr).toBe(0);
    expect(files.length).toBeGreaterThan(0);
    expect(heavy(files)).toEqual([]);
  });

  it('--version prints the package version', async () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string };
    const result = await runCli(['--version']);
    expect(result.code).toBe(0);
    expect(result.stdout.trim()).toBe(pkg.version);
  });

  it('--help lists the mailbox commands and hides the refused --password flag', async () => {
    const top = await runCli(['--help']);
    expect(top.code).toBe(0);
    expect(top.stdout).toContain('mailbox');
    const add = await runCli(['mailbox', 'add', '--help']);
    expect(add.stdout).toContain('--password-env');
    expect(add.stdout).toContain('--password-stdin');
    expect(add.stdout).not.toMatch(/--password <|--password\s{2,}/);
  });
});
