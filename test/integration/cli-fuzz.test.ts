/**
 * A seeded, bounded fuzz of the whole command tree (issue 12, item 12): at
 * least 1,000 generated command lines run in-process through the CLI's real
 * entry function (runMailroom), plus a sample run as real processes, each
 * with random and boundary flag values, missing and extra arguments, unknown
 * flags, huge, unicode and control-character values, and paths that are
 * folders, missing or too long. For every one:
 *
 * - the exit code is 0, 1 or 2, and the command finishes;
 * - with --json, stdout is exactly one JSON value, and an error is
 *   `{ ok: false, error: { code, message, hint } }`;
 * - no stack trace, no INTERNAL_ERROR, no secret on stdout or stderr;
 * - nothing is written outside the data folder and the --out file (the
 *   whole sandbox: HOME, the working folder, MAILROOM_DATA_DIR, the fixtures).
 *
 * Nothing reaches a real server: a network guard (test/helpers/network-guard.mjs)
 * sends every TCP connection to a closed loopback port, answers no DNS name
 * but localhost, and lets UDP reach loopback only. Never generated: `--open`
 * (it would start a browser). In-process only commands that finish by
 * themselves run (`engine run` always with --until-idle); `console` and
 * `relay start` run in the real-process sample, stopped with Ctrl+C once ready.
 *
 * Seed: MAILROOM_FUZZ_SEED (default below); a failure message prints the
 * seed and the command line, so it can be replayed.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Argument, Command, Option } from 'commander';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildProgram, leafCommands } from '../../src-main/cli/program';
import { runCliInProcess } from '../helpers/cli-in-process';
import { childEnv, commandWords, makeSandbox, type Sandbox } from '../helpers/cli-sandbox';
import { installNetworkGuard, networkAttempts } from '../helpers/network-guard.mjs';
import { CLI } from '../helpers/paths';

const SEED = Number(process.env.MAILROOM_FUZZ_SEED ?? 20261202);
const IN_PROCESS_RUNS = 1000;
const REAL_PROCESS_RUNS = 24;
/** Stop early once this many runs failed: the report stays readable. */
const MAX_FAILURES = Number(process.env.MAILROOM_FUZZ_MAX_FAILURES ?? 15);
/** What must never be printed: the secret behind --password-env, and what --password-stdin reads. */
const ENV_SECRET = 'fuzz-env-secret-7f3a9c';
const STDIN_SECRET = 'fuzz-stdin-secret-51e0d2';

/** mulberry32: small, seeded, the same sequence on every machine. */
function rng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    chance: (p: number) => next() < p,
    int: (n: number) => Math.floor(next() * n),
    pick: <T,>(items: readonly T[]): T => items[Math.floor(next() * items.length)]!,
  };
}
type Rng = ReturnType<typeof rng>;

const BOUNDARY = ['', ' ', '0', '-1', '1', '10', '65535', '65536', '2147483648', '9007199254740993', '1e309', 'NaN', 'Infinity', '0x10', '1.5', '-0', '007', 'true', 'on', 'off'];
const STRANGE = [
  '日本語のメールボックス',
  'Ünïcödé Mailbox',
  '😀📬🧪',
  'abc\u202edcba',
  'nul\u0000byte',
  'line\nbreak',
  'tab\there',
  'escape \u001b[2J\u001b[31mred',
  'bell\u0007',
  '%s%n%d',
  '../../../etc/passwd',
  'C:\\Windows\\System32\\drivers',
  '"quoted" value',
  "'; DROP TABLE mailboxes; --",
  '<script>alert(1)</script>',
  'a'.repeat(300),
  'x'.repeat(20_000),
  '-',
  '--',
  '--json',
  '-h',
  '\u00a0',
  '\ud800',
];
const GENERIC = [...BOUNDARY, ...STRANGE, 'Support', 'support@example.com', 'value'];

interface Paths {
  sandbox: Sandbox;
  cwd: string;
  outDir: string;
  dataRoot: string;
  pool: string[];
  noAuth: string;
  counter: number;
}

/** Values by the name of the option or argument; anything else draws from GENERIC. */
function valuePool(name: string, p: Paths): readonly string[] {
  const port = String(p.sandbox.closedPort);
  const pools: Record<string, readonly string[]> = {
    mailbox: ['Support', 'support', '1', '2', '999', 'Nope', ''],
    idOrName: ['Support', '1', '0', '-1', 'Nobody', ''],
    id: ['1', '2', '3', '0', '-1', '999999999999999999', 'abc', '1.5', ''],
    username: ['scanner', 'printer', 'a b', 'ü', 'x'.repeat(300), ''],
    address: ['support@example.com', 'alice@example.net', 'a@b', 'not-an-address', 'x@ü.example', '@', ''],
    to: ['alice@example.net', 'bob@example.org', 'not-an-address', 'a@b@c', ''],
    cc: ['carol@example.net', 'bad', ''],
    bcc: ['dave@example.net', 'bad', ''],
    from: ['support@example.com', 'nobody', ''],
    host: ['127.0.0.1', 'localhost', '::1', 'mail.example.com', '', 'smtp://x.example', 'a b', 'host.example:25', 'ü.example', 'x'.repeat(300)],
    imapHost: ['127.0.0.1', 'localhost', 'imap.example.com', '', 'imap://x', 'a b'],
    smtpHost: ['127.0.0.1', 'localhost', 'smtp.example.com', '', 'smtp://x', 'a b'],
    port: [port, port, '0', '65536', 'abc', '-1', '25', ''],
    imapPort: [port, '0', '70000', 'imap', ''],
    smtpPort: [port, '0', '70000', 'smtp', ''],
    timeoutMs: ['100', '1000', '0', '99', '300001', 'abc', ''],
    timeout: ['5', '9', '10', '3600', '3601', 'x', ''],
    format: ['txt', 'html', 'xlsx', 'csv', 'TXT', ''],
    passwordEnv: ['FUZZ_SECRET', 'FUZZ_UNSET_VARIABLE', 'not a name', 'hunter2!', ''],
    tokenEnv: ['FUZZ_SECRET', 'FUZZ_UNSET_VARIABLE', '1abc', ''],
    status: ['queued', 'pending', 'sent,failed', 'imported', 'duplicate', 'failed', 'bogus', ',', ''],
    level: ['error', 'warning', 'success', 'info', 'fatal', ''],
    direction: ['send', 'receive', 'test', 'auth', 'system', 'sideways', ''],
    since: ['30m', '24h', '7d', '2026-01-01', '2026-01-01T08:00', 'yesterday', '99999999999999d', '-1h', ''],
    until: ['1h', '2030-01-01', 'tomorrow', ''],
    limit: ['1', '50', '1000', '1001', '10000', '10001', '0', 'many', ''],
    logLimit: ['0', '10', '100000', '100001', '-5', 'x', ''],
    beforeId: ['1', '100', '0', 'x', ''],
    debug: ['on', 'off', 'true', 'maybe', ''],
    allowUnauthenticated: ['on', 'off', 'yes', ''],
    maxMessageMb: ['1', '35', '150', '0.5', '151', 'abc', ''],
    table: ['crm7.registry', 'dbo.registry', 'registry', 'x; DROP TABLE y', ''],
    version: ['10.1.4', 'G9 9.2 R10', '9.2R10', '8.0 SR2', 'Online', 'banana', ''],
    tenant: ['contoso.onmicrosoft.com', 'organizations', '72f988bf-86f1-41af-91ab-2d7cd011db47', 'not a tenant', ''],
    clientId: ['00000000-0000-0000-0000-000000000001', 'not-a-guid', ''],
    // Never a real sign-in host: a closed loopback port, or values that are not one.
    authority: [`https://127.0.0.1:${port}`, `https://127.0.0.1:${port}/contoso.onmicrosoft.com`, 'http://login.example', 'login.microsoftonline.com', 'not a url', ''],
    name: ['Support', 'Other', 'Desk 2', '', '日本語'],
    subject: ['Hello', '', 'x'.repeat(2000), 'line\nbreak'],
    text: ['Body', '', 'x'.repeat(50_000)],
    afterImport: ['mark-seen', 'delete', 'move:Archive', 'move:', 'archive', ''],
    pollSeconds: ['10', '9', '86400', '86401', 'abc', ''],
    imapFolder: ['INBOX', 'Archive/2026', '', 'a\nb'],
    folder: ['INBOX', '', 'a\nb'],
    maxAttempts: ['1', '8', '0', '100', 'x'],
    firstRetrySeconds: ['60', '0', '999999999', 'x'],
    retryFactor: ['1', '2.45', '10', '10.5', '0.9', 'x'],
    maxRetrySeconds: ['60', '57600', '0', 'x'],
    connections: ['1', '3', '0', '100', 'x'],
    messagesPerConnection: ['1', '100', '0', 'x'],
    timeoutSeconds: ['10', '60', '0', '100000', 'x'],
    imapUser: ['support@example.com', '', 'a\nb'],
    smtpUser: ['support@example.com', '', 'a\nb'],
    user: ['support@example.com', '', 'a\nb'],
  };
  return pools[name] ?? GENERIC;
}

/** Paths for flags and arguments that name files and folders. */
function pathValue(kind: 'out' | 'input' | 'folder' | 'dataDir', r: Rng, p: Paths, command: Command, plausible = false): string {
  const n = ++p.counter;
  if (plausible) r = { ...r, pick: <T,>(items: readonly T[]): T => items[0]! };
  const f = p.sandbox.fixtures;
  switch (kind) {
    case 'out':
      return r.pick([
        path.join(p.outDir, `out-${n}.txt`),
        path.join(p.outDir, `out-${n}.xlsx`),
        `relative-out-${n}.json`,
        path.join(p.outDir, 'existing.txt'),
        p.outDir,
        path.join(p.outDir, 'missing-folder', `x-${n}.txt`),
        path.join(p.outDir, 'existing.txt', 'below-a-file.txt'),
        path.join(p.outDir, `${'a'.repeat(300)}.xlsx`),
        path.join(p.outDir, 'b'.repeat(4000)),
        path.join(p.outDir, `nul\u0000-${n}.txt`),
        '',
      ]);
    case 'input':
      return r.pick([
        // enable-oauth-toggle writes the file it is given: hand it its own copy.
        /saves/.test(command.description()) ? scratchCopy(f.webConfig, p, n) : f.webConfig,
        f.settings,
        f.eml,
        f.pem,
        f.emlDir,
        path.join(p.outDir, 'missing.file'),
        path.join(p.outDir, 'c'.repeat(300)),
        '/dev/null',
        '',
      ]);
    case 'folder':
      return r.pick([f.emlDir, p.outDir, f.eml, path.join(p.outDir, 'missing-folder'), path.join(p.outDir, 'd'.repeat(300)), '']);
    case 'dataDir':
      if (/oauth login/.test(commandWords(command).join(' '))) return p.noAuth;
      return r.pick([
        ...p.pool,
        ...p.pool,
        path.join(p.dataRoot, `fresh-${n}`),
        f.settings,
        path.join(p.dataRoot, 'e'.repeat(300)),
        `relative-data-${n}`,
        '',
      ]);
  }
}

function scratchCopy(file: string, p: Paths, n: number): string {
  const dir = path.join(p.outDir, `scratch-${n}`);
  fs.mkdirSync(dir);
  const copy = path.join(dir, path.basename(file));
  fs.copyFileSync(file, copy);
  return copy;
}

const PATH_KIND: Record<string, 'out' | 'input' | 'folder'> = { out: 'out', file: 'input', eml: 'input', tlsCert: 'input', tlsKey: 'input', emlDir: 'folder', dir: 'folder' };

interface Invocation {
  args: string[];
  input: string;
  json: boolean;
  leaf: Command;
  /** Paths the command may change: its data folder, its --out, the file it saves. */
  allowed: string[];
}

/** One generated command line for `leaf`. */
function generate(leaf: Command, r: Rng, p: Paths): Invocation {
  // A third of the command lines are plausible (typical values, every argument): they get past the
  // checks into the engine, where the faults that matter hide.
  const plausible = r.chance(0.35);
  const value = (pool: readonly string[]) => (plausible ? pool[0]! : r.chance(0.8) ? r.pick(pool) : r.pick(GENERIC));
  const words = commandWords(leaf);
  const name = words.join(' ');
  const allowed: string[] = [];
  const parts: string[][] = [];
  for (const a of leaf.registeredArguments as readonly Argument[]) {
    if (!r.chance(a.required ? (plausible ? 1 : 0.9) : 0.4)) continue;
    const attr = a.name().replace(/-([a-z])/g, (_m, c: string) => c.toUpperCase());
    const count = a.variadic ? 1 + r.int(3) : 1;
    for (let i = 0; i < count; i++) {
      const word = PATH_KIND[attr] ? pathValue(PATH_KIND[attr], r, p, leaf, plausible) : value(valuePool(attr, p));
      if (attr === 'file' && /saves/.test(leaf.description())) allowed.push(path.dirname(path.resolve(p.cwd, word)));
      parts.push([word]);
    }
  }
  for (const option of leaf.options as readonly Option[]) {
    if (option.long === '--open') continue;
    const attr = option.attributeName();
    if (attr === 'json' || attr === 'dataDir') continue;
    const forced = name === 'engine run' && attr === 'untilIdle';
    if (!forced && !r.chance(option.mandatory ? (plausible ? 1 : 0.9) : option.hidden ? (plausible ? 0 : 0.05) : 0.3)) continue;
    if (!(option.required || option.optional)) {
      parts.push([option.long ?? option.short!]);
      continue;
    }
    const repeats = option.variadic ? 1 + r.int(3) : 1;
    const values: string[] = [];
    for (let i = 0; i < repeats; i++) {
      if (PATH_KIND[attr]) values.push(pathValue(PATH_KIND[attr], r, p, leaf, plausible));
      else if (option.argChoices && (plausible || r.chance(0.7))) values.push(r.pick(option.argChoices));
      else values.push(value(valuePool(attr, p)));
    }
    if (attr === 'out') allowed.push(...values.map((v) => path.resolve(p.cwd, v)));
    // Now and then the --flag=value form, which commander parses differently.
    if (!option.variadic && r.chance(0.15)) parts.push([`${option.long}=${values[0]}`]);
    else parts.push([option.long!, ...values]);
  }
  // oauth login always names a data folder without an app registration: with one, it would wait for a browser sign-in.
  if (r.chance(0.95) || name === 'oauth login') {
    const dataDir = pathValue('dataDir', r, p, leaf, plausible);
    const form = plausible || name === 'oauth login' ? 'separate' : r.pick(['separate', 'separate', 'separate', 'separate', 'equals', 'no value'] as const);
    parts.push(form === 'separate' ? ['--data-dir', dataDir] : form === 'equals' ? [`--data-dir=${dataDir}`] : ['--data-dir']);
  }
  const json = r.chance(0.6);
  if (json) parts.push(['--json']);
  if (!plausible && r.chance(0.05)) parts.push([r.pick(['--bogus', '--bogus=hunter2!', '-x', '--data', '--jsn'])]);
  if (!plausible && r.chance(0.04)) parts.push([r.pick(['extra', 'more words', '--'])]);
  // Options in any order; arguments keep theirs relative to each other.
  for (let i = parts.length - 1; i > 0; i--) {
    const j = r.int(i + 1);
    [parts[i], parts[j]] = [parts[j]!, parts[i]!];
  }
  const args = [...words, ...parts.flat()];
  // The data folder this command line names (or, without one, MAILROOM_DATA_DIR).
  const named = args.find((a, i) => args[i - 1] === '--data-dir' || a.startsWith('--data-dir='));
  const dir = named === undefined ? p.sandbox.decoy : named.startsWith('--data-dir=') ? named.slice('--data-dir='.length) : named;
  // An empty --data-dir names no folder: it must be refused, never fall back to MAILROOM_DATA_DIR.
  if (dir) allowed.push(path.resolve(p.cwd, dir));
  const input = r.pick(['', `${STDIN_SECRET}\n`, STDIN_SECRET, `${STDIN_SECRET}\r\n`, '\n']);
  return { args, input, json: jsonRequested(args), leaf, allowed };
}

/** `--json` before any `--`, as the CLI reads it. */
function jsonRequested(args: readonly string[]): boolean {
  const end = args.indexOf('--');
  return (end === -1 ? args : args.slice(0, end)).includes('--json');
}

/** Files (size and time) and folders under `dir`. */
function snapshot(dir: string, out = new Map<string, string>()): Map<string, string> {
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch {
    return out;
  }
  for (const e of entries) {
    const full = path.join(dir, e.name);
    if (e.isDirectory()) {
      out.set(full, 'dir');
      snapshot(full, out);
    } else {
      try {
        const s = fs.lstatSync(full);
        out.set(full, `${s.size}:${s.mtimeMs}`);
      } catch {
        out.set(full, 'gone');
      }
    }
  }
  return out;
}

function changedPaths(before: Map<string, string>, after: Map<string, string>): string[] {
  const changed: string[] = [];
  for (const [file, state] of after) if (before.get(file) !== state) changed.push(file);
  for (const file of before.keys()) if (!after.has(file)) changed.push(file);
  return changed;
}

const within = (file: string, root: string) => file === root || file.startsWith(root + path.sep);

interface Outcome {
  code: number | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

/** Everything the issue asks of one run; returns the problems found (empty when none). */
function check(inv: Invocation, outcome: Outcome, changed: string[]): string[] {
  const problems: string[] = [];
  if (outcome.timedOut) problems.push('did not finish');
  if (![0, 1, 2].includes(outcome.code ?? -1)) problems.push(`exit code ${outcome.code}`);
  const both = `${outcome.stdout}\n${outcome.stderr}`;
  if (/^\s+at .+:\d+:\d+\)?$/m.test(both) || /node:internal|\bat async\b|Error: .*\n\s+at /.test(both)) problems.push('stack trace printed');
  if (both.includes(ENV_SECRET) || both.includes(STDIN_SECRET)) problems.push('a secret was printed');
  if (/\bINTERNAL_ERROR\b|\bCOMMAND_UNFINISHED\b|\bFILE_ACCESS_FAILED\b/.test(both)) problems.push('an internal error');
  if (inv.json && !outcome.timedOut) {
    let value: unknown;
    try {
      value = JSON.parse(outcome.stdout);
    } catch {
      problems.push('--json given, but stdout is not exactly one JSON value');
    }
    const envelope = value as { ok?: unknown; error?: { code?: unknown; message?: unknown; hint?: unknown } } | undefined;
    if (outcome.code === 2 && !(envelope?.ok === false && envelope.error)) problems.push('exit 2 without an error envelope');
    if (envelope?.ok === false && envelope.error) {
      const e = envelope.error;
      if (typeof e.code !== 'string' || !/^[A-Z][A-Z0-9_]+$/.test(e.code)) problems.push(`error code ${String(e.code)}`);
      if (typeof e.message !== 'string' || !e.message) problems.push('error without a message');
      if (typeof e.hint !== 'string' || !e.hint) problems.push(`error ${String(e.code)} without a hint`);
    }
  }
  const stray = changed.filter((file) => !inv.allowed.some((root) => within(file, root)));
  if (stray.length) problems.push(`wrote outside its data folder and --out: ${stray.slice(0, 5).join(', ')}`);
  return problems;
}

function describeRun(inv: Invocation, outcome: Outcome, problems: string[]): string {
  const shown = inv.args.map((a) => (a.length > 80 ? `${JSON.stringify(a.slice(0, 40))}...(${a.length})` : JSON.stringify(a))).join(' ');
  return `seed ${SEED}: mailroom ${shown}\n  -> ${problems.join('; ')}\n  exit ${outcome.code}\n  stdout: ${outcome.stdout.slice(0, 600)}\n  stderr: ${outcome.stderr.slice(0, 600)}`;
}

describe('CLI fuzz', () => {
  let p: Paths;
  let leaves: Command[];
  let removeGuard: (() => void) | undefined;

  beforeAll(async () => {
    const root = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'mailroom-fuzz-')));
    const sandbox = await makeSandbox(root);
    const cwd = path.join(root, 'cwd');
    const outDir = path.join(root, 'out');
    const dataRoot = path.join(root, 'data');
    fs.mkdirSync(cwd);
    fs.mkdirSync(outDir);
    fs.mkdirSync(dataRoot);
    fs.writeFileSync(path.join(outDir, 'existing.txt'), 'an existing file\n');
    const pool = ['a', 'b'].map((n) => path.join(dataRoot, n));
    for (const dir of pool) fs.cpSync(sandbox.template, dir, { recursive: true });
    const noAuth = path.join(dataRoot, 'no-oauth-app');
    fs.cpSync(sandbox.template, noAuth, { recursive: true });
    p = { sandbox, cwd, outDir, dataRoot, pool, noAuth, counter: 0 };
    leaves = leafCommands(buildProgram());
  }, 60_000);

  afterAll(() => {
    removeGuard?.();
    if (p) fs.rmSync(p.sandbox.root, { recursive: true, force: true });
  });

  it(`${IN_PROCESS_RUNS} generated command lines in-process: exit 0/1/2, one JSON value with --json, no stack trace, no stray file`, async () => {
    removeGuard = installNetworkGuard(p.sandbox.closedPort);
    const r = rng(SEED);
    // Commands that run until Ctrl+C (their description says so) cannot run in this process; engine run gets --until-idle.
    const candidates = leaves.filter((leaf) => !/Ctrl\+C/.test(leaf.description()) || leaf.options.some((o) => o.attributeName() === 'untilIdle'));
    const failures: string[] = [];
    const codes = new Map<string, number>();
    const env = { ...p.sandbox.env, FUZZ_SECRET: ENV_SECRET, FUZZ_UNSET_VARIABLE: undefined };
    const started = Date.now();
    for (let i = 0; i < IN_PROCESS_RUNS; i++) {
      const inv = generate(candidates[i % candidates.length]!, r, p);
      const before = snapshot(p.sandbox.root);
      const outcome = await runCliInProcess(inv.args, { input: inv.input, env, timeoutMs: 30_000, cwd: p.cwd });
      const problems = check(inv, outcome, changedPaths(before, snapshot(p.sandbox.root)));
      if (problems.length) failures.push(describeRun(inv, outcome, problems));
      const code = (outcome.json as { error?: { code?: string } } | undefined)?.error?.code ?? `exit ${outcome.code}`;
      codes.set(code, (codes.get(code) ?? 0) + 1);
      if (failures.length >= MAX_FAILURES) break;
    }
    removeGuard();
    removeGuard = undefined;
    const attempts = networkAttempts();
    console.info(
      `fuzz seed ${SEED}: ${IN_PROCESS_RUNS} runs in ${Date.now() - started} ms; ${attempts.length} network attempts, all sent to a closed loopback port; outcomes: ${[...codes]
        .sort((a, b) => b[1] - a[1])
        .map(([c, n]) => `${c} ${n}`)
        .join(', ')}`,
    );
    if (process.env.MAILROOM_FUZZ_REPORT) fs.writeFileSync(process.env.MAILROOM_FUZZ_REPORT, failures.join('\n\n'));
    expect(failures, failures.join('\n\n')).toEqual([]);
    // The fuzz reached past the parser: real work and real refusals, not only usage errors.
    expect(codes.get('exit 0') ?? 0).toBeGreaterThan(50);
  }, 240_000);

  it(`${REAL_PROCESS_RUNS} generated command lines as real processes, each command stopped with Ctrl+C once ready when it runs until then`, async () => {
    const r = rng(SEED + 1);
    const failures: string[] = [];
    const guardLog = path.join(p.sandbox.root, 'network-attempts.jsonl');
    const env: NodeJS.ProcessEnv = { ...process.env, ...childEnv(p.sandbox, guardLog), FUZZ_SECRET: ENV_SECRET };
    delete env.FUZZ_UNSET_VARIABLE;
    // The long-running commands first, then others, round robin.
    const ordered = [...leaves.filter((l) => /Ctrl\+C/.test(l.description())), ...leaves.filter((l) => !/Ctrl\+C/.test(l.description()))];
    const invocations = Array.from({ length: REAL_PROCESS_RUNS }, (_, i) => generate(ordered[i % ordered.length]!, r, p));
    // One at a time: the file check needs a quiet sandbox.
    for (const inv of invocations) {
      const before = snapshot(p.sandbox.root);
      const outcome = await runProcess(inv, env, p.cwd);
      const changed = changedPaths(before, snapshot(p.sandbox.root)).filter((f) => f !== guardLog);
      const problems = check(inv, outcome, changed);
      if (problems.length) failures.push(describeRun(inv, outcome, problems));
    }
    expect(failures, failures.join('\n\n')).toEqual([]);
  }, 300_000);
});

/** Runs one invocation as a process; a command that runs until Ctrl+C gets it once it said it is ready. */
function runProcess(inv: Invocation, env: NodeJS.ProcessEnv, cwd: string): Promise<Outcome> {
  const untilInterrupted = /Ctrl\+C/.test(inv.leaf.description()) && !inv.args.includes('--until-idle');
  return new Promise((resolve, reject) => {
    // A real command line cannot hold a NUL character (in-process runs do get them).
    const args = inv.args.map((a) => a.replace(/\0/g, ''));
    const child = spawn(process.execPath, [CLI, ...args], { cwd, env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let interrupted = false;
    let timedOut = false;
    const maybeInterrupt = () => {
      if (!untilInterrupted || interrupted || child.exitCode !== null) return;
      let ready = /Ctrl\+C/.test(stdout + stderr);
      try {
        JSON.parse(stdout);
        ready = true;
      } catch {
        // Not (yet) a whole JSON value.
      }
      if (ready) {
        interrupted = true;
        child.kill('SIGINT');
      }
    };
    child.stdout.on('data', (d) => {
      stdout += d;
      maybeInterrupt();
    });
    child.stderr.on('data', (d) => {
      stderr += d;
      maybeInterrupt();
    });
    const hard = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, 90_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(hard);
      resolve({ code, stdout, stderr, timedOut });
    });
    child.stdin.end(inv.input);
  });
}
