/**
 * The `mailroom` process answers 0, 1 or 2 and a clear error, whatever
 * happens (issue 12, items 3 and 4): the cases found by hand, and faults
 * injected into a real process (a command that never settles, an exception
 * from a timer, a rejection nobody awaits, a foreign exit code, a reader
 * that closes stdout).
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, type CliResult } from '../helpers/cli';
import { makeSandbox, type Sandbox } from '../helpers/cli-sandbox';
import { CLI, ROOT } from '../helpers/paths';
import { seedLog } from '../helpers/log-seed';
import { openMailroom } from '../../src-main/engine/mailroom';

let sandbox: Sandbox;
let dataDir: string;
let scratch: string;

beforeAll(async () => {
  sandbox = await makeSandbox(fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'mailroom-exit-'))));
  dataDir = path.join(sandbox.root, 'data');
  fs.cpSync(sandbox.template, dataDir, { recursive: true });
  scratch = path.join(sandbox.root, 'scratch');
  fs.mkdirSync(scratch);
}, 60_000);

afterAll(() => {
  if (sandbox) fs.rmSync(sandbox.root, { recursive: true, force: true });
});

function cli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  return runCli(args, { env: { ...sandbox.env, ...env } });
}

const STACK = /^\s+at .+:\d+:\d+\)?$/m;

function expectCleanError(r: CliResult, exit: number, code: string): void {
  expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(exit);
  expect(r.json, r.stdout).toMatchObject({ ok: false, error: { code, message: expect.any(String), hint: expect.any(String) } });
  expect(`${r.stdout}${r.stderr}`).not.toMatch(STACK);
}

describe('logs export takes its own flags', () => {
  it('uses --data-dir, prints --json, and applies the filter flags (4 errors of 12 entries)', async () => {
    const out = path.join(scratch, 'errors.txt');
    const r = await cli(['logs', 'export', '--data-dir', dataDir, '--json', '--level', 'error', '--format', 'txt', '--out', out]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.json).toMatchObject({ path: out, rows: 4 });
    expect(fs.existsSync(sandbox.decoy)).toBe(false);
    expect(fs.readdirSync(sandbox.home)).toEqual([]);
  });

  it('with MAILROOM_DATA_DIR, as in the report: the filter applies and no default folder is made', async () => {
    const out = path.join(scratch, 'env-errors.txt');
    const r = await cli(['logs', 'export', '--level', 'error', '--format', 'txt', '--out', out], { MAILROOM_DATA_DIR: dataDir });
    expect(r.code, r.stderr).toBe(0);
    expect(fs.readFileSync(out, 'utf8').trimEnd().split('\r\n').filter((l) => l.includes('Sandbox entry'))).toHaveLength(4);
    expect(fs.readdirSync(sandbox.home)).toEqual([]);
  });

  it('refuses a filter given before "export" (exit 2) instead of ignoring it', async () => {
    const r = await cli(['logs', '--level', 'error', 'export', '--format', 'txt', '--out', path.join(scratch, 'x.txt'), '--json', '--data-dir', dataDir]);
    expectCleanError(r, 2, 'USAGE');
    expect(r.json.error.message).toContain('--level');
  });
});

describe('files named on the command line', () => {
  it('logs export --format xlsx --out <300-character name>: OUTPUT_PATH_INVALID (exit 2), not exit 13 with nothing printed', async () => {
    const r = await cli(['logs', 'export', '--format', 'xlsx', '--out', path.join(scratch, `${'a'.repeat(300)}.xlsx`), '--data-dir', dataDir, '--json']);
    expectCleanError(r, 2, 'OUTPUT_PATH_INVALID');
    expect(r.json.error.message).toMatch(/--out: the name .* is too long/);
    const text = await cli(['logs', 'export', '--format', 'xlsx', '--out', path.join(scratch, `${'a'.repeat(300)}.xlsx`), '--data-dir', dataDir]);
    expect(text.code).toBe(2);
    expect(text.stderr).toMatch(/^error \[OUTPUT_PATH_INVALID\]: --out: .*\nhint: Choose a shorter file name/);
    expect(fs.readdirSync(scratch).filter((n) => n.startsWith('aaaa'))).toEqual([]);
  });

  it.each([
    ['a folder', () => scratch, /is a folder; a file name is needed/, /Give a file name inside it/],
    ['a missing folder', () => path.join(scratch, 'missing', 'dir', 'x.json'), /the folder .*missing.dir does not exist/, /Create the folder first/],
    ['a path through a file', () => path.join(sandbox.fixtures.settings, 'x.json'), /is a file, not a folder/, /every part of it must be a folder/],
  ])('mailbox export --out <%s>: OUTPUT_PATH_INVALID with the path and what to change', async (_what, target, message, hint) => {
    const r = await cli(['mailbox', 'export', '--out', target(), '--data-dir', dataDir, '--json']);
    expectCleanError(r, 2, 'OUTPUT_PATH_INVALID');
    expect(r.json.error.message).toMatch(message);
    expect(r.json.error.hint).toMatch(hint);
    expect(fs.existsSync(path.join(scratch, 'missing'))).toBe(false);
  });

  it.each([
    ['mailbox import', (f: string) => ['mailbox', 'import', f]],
    ['diagnostics inspect', (f: string) => ['diagnostics', 'inspect', f]],
    ['send --eml', (f: string) => ['send', '--mailbox', 'Support', '--eml', f]],
    ['relay set --tls-cert', (f: string) => ['relay', 'set', '--tls-cert', f, '--tls-key', f]],
  ])('%s of a folder, a missing file or a device: INPUT_FILE_UNREADABLE (exit 2)', async (_name, args) => {
    for (const [file, message] of [
      [scratch, /is a folder, not a file/],
      [path.join(scratch, 'nope.txt'), /there is no file at/],
      ['/dev/zero', /is not a regular file/],
    ] as const) {
      if (file === '/dev/zero' && process.platform === 'win32') continue;
      const r = await cli([...args(file), '--data-dir', dataDir, '--json']);
      expectCleanError(r, 2, 'INPUT_FILE_UNREADABLE');
      expect(r.json.error.message).toMatch(message);
    }
  });

  it('a data folder that is a file, or an empty --data-dir: DATA_DIR_UNUSABLE (exit 2), never another folder', async () => {
    const file = await cli(['mailbox', 'list', '--data-dir', sandbox.fixtures.settings, '--json']);
    expectCleanError(file, 2, 'DATA_DIR_UNUSABLE');
    expect(file.json.error.message).toMatch(/--data-dir: .*settings\.json is a file, not a folder/);
    const empty = await cli(['mailbox', 'list', '--data-dir', '', '--json']);
    expectCleanError(empty, 2, 'DATA_DIR_UNUSABLE');
    expect(fs.existsSync(sandbox.decoy)).toBe(false);
  });

  it('a web.config with 50,000 nested elements: WEBCONFIG_TOO_DEEP (exit 2), not "Maximum call stack size exceeded"', async () => {
    const file = path.join(scratch, 'web.config');
    fs.writeFileSync(file, `<?xml version="1.0"?>\n<configuration>${'<a>'.repeat(50_000)}${'</a>'.repeat(50_000)}</configuration>\n`);
    const r = await cli(['site', 'check-webconfig', file, '--json']);
    expectCleanError(r, 2, 'WEBCONFIG_TOO_DEEP');
  });
});

describe('what the process guarantees, with faults injected', () => {
  const hook = pathToFileURL(path.join(ROOT, 'test', 'helpers', 'cli-faults.mjs')).href;
  const faulty = (fault: string, args: string[]) => cli([...args, '--data-dir', dataDir], { NODE_OPTIONS: `--import=${hook}`, MAILROOM_TEST_FAULT: fault });

  it('a command whose work never settles exits 1 with COMMAND_UNFINISHED (Node alone exits 13 and prints nothing)', async () => {
    const json = await faulty('hang', ['mailbox', 'list', '--json']);
    expectCleanError(json, 1, 'COMMAND_UNFINISHED');
    const text = await faulty('hang', ['mailbox', 'list']);
    expect(text.code).toBe(1);
    expect(text.stderr).toMatch(/^error \[COMMAND_UNFINISHED\]: The command stopped before it finished.*\nhint: /);
  });

  it.each(['throw-later', 'reject-later'])('%s: exit 1, the JSON already printed stays the only JSON value, the error is on stderr without a stack trace', async (fault) => {
    const r = await faulty(fault, ['mailbox', 'list', '--json']);
    expect(r.code).toBe(1);
    expect(Array.isArray(r.json)).toBe(true);
    expect(r.stderr).toMatch(/^error \[INTERNAL_ERROR\]: a fault injected by the test/m);
    expect(r.stderr).not.toMatch(STACK);
  });

  it('an exit code set by something else (13) becomes 1', async () => {
    const r = await faulty('exit-code', ['mailbox', 'list', '--json']);
    expect(r.code).toBe(1);
  });

  it('a reader that closes stdout early (EPIPE, as `mailroom logs | more` then q) is not a crash: exit 0, no stack trace', async () => {
    // 3,000 entries: far more than a pipe holds, so writing goes on after the reader has gone.
    const big = path.join(sandbox.root, 'big-log');
    process.env.MAILROOM_SECRET_KEY = sandbox.env.MAILROOM_SECRET_KEY;
    const engine = openMailroom({ dataDir: big });
    seedLog(engine, 3000, [null]);
    engine.close();
    const result = await new Promise<{ code: number | null; stderr: string }>((resolve, reject) => {
      const child = spawn(process.execPath, [CLI, 'logs', '--json', '--limit', '10000', '--data-dir', big], { env: { ...process.env, ...sandbox.env }, stdio: ['ignore', 'pipe', 'pipe'] });
      let stderr = '';
      child.stdout.once('data', () => child.stdout.destroy());
      child.stderr.on('data', (d) => (stderr += d));
      child.on('error', reject);
      child.on('close', (code) => resolve({ code, stderr }));
    });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).not.toMatch(STACK);
    expect(result.stderr).not.toMatch(/EPIPE/);
  });
});
