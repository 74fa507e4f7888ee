/**
 * Validation messages name the flag the admin typed, never the engine's
 * field (issue 18, item 6: `oauth login Support --timeout 5` said
 * "timeoutSeconds: must be at least 10 seconds"). Walks every command of the
 * tree and every option that takes a value, runs it (in-process, through the
 * CLI's entry function) with values its checks and the engine's schemas
 * refuse, and holds each refusal to: the message names a flag or argument of
 * that command; every issue's path is one; no field name of the engine
 * (camelCase, or dotted like imap.port) appears.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Argument, Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildProgram, leafCommands } from '../../src-main/cli/program';
import { declaredFieldFlags, flagForField } from '../../src-main/cli/flag-names';
import { runCliInProcess } from '../helpers/cli-in-process';
import { commandWords, makeSandbox, type Sandbox } from '../helpers/cli-sandbox';
import { installNetworkGuard } from '../helpers/network-guard.mjs';

const leaves = leafCommands(buildProgram());
const nameOf = (cmd: Command) => commandWords(cmd).join(' ');

/** What an admin can type on a command: its visible long flags and its arguments as <name>. */
function typeable(cmd: Command): Set<string> {
  const names = new Set<string>();
  for (const o of cmd.options) {
    if (o.hidden || !o.long) continue;
    names.add(o.long);
    if (o.negate) names.add(o.long.replace(/^--no-/, '--'));
  }
  for (const a of cmd.registeredArguments as readonly Argument[]) names.add(`<${a.name()}>`);
  return names;
}

/** The flags and arguments a message names (`--to (value 2)` names --to; `--a / --b` names both). */
function named(text: string): string[] {
  return [...text.matchAll(/(--[a-z][a-z0-9-]*|<[a-z][a-z0-9-]*(?:\.\.\.)?>)/g)].map((m) => m[1]!.replace('...', ''));
}

/** Words the engine uses for fields, which an admin never typed: camelCase names and dotted paths. */
const FIELD_NAME = /\b[a-z]+[A-Z][a-zA-Z]*\b|\b(?:imap|smtp)\.(?:host|port|security|username|auth|folder|afterImport|pollIntervalSeconds)\b|\b(?:addAccounts|removeAccounts|tls)\.\w+/;

describe('declared field -> flag mappings', () => {
  it.each(leaves.map((leaf) => [nameOf(leaf), leaf] as const))('%s names only flags and arguments it has', (_name, leaf) => {
    const flags = typeable(leaf);
    for (const [field, flag] of Object.entries(declaredFieldFlags(leaf))) {
      for (const part of flag.split(' / ')) expect(flags, `${field} -> ${part}`).toContain(part);
    }
  });

  it('maps by convention where the names agree, and explicitly where they do not', () => {
    const find = (name: string) => leaves.find((c) => nameOf(c) === name)!;
    expect(flagForField(find('oauth login'), 'timeoutSeconds')).toBe('--timeout');
    expect(flagForField(find('oauth login'), 'mailboxId')).toBe('<mailbox>');
    expect(flagForField(find('outbox settings'), 'maxAttempts')).toBe('--max-attempts');
    expect(flagForField(find('mailbox add'), 'imap.port')).toBe('--imap-port');
    expect(flagForField(find('mailbox add'), 'imap.pollIntervalSeconds')).toBe('--poll-seconds');
    expect(flagForField(find('mailbox add'), 'imap.afterImport')).toBe('--after-import');
    expect(flagForField(find('send'), 'to.1')).toBe('--to (value 2)');
    expect(flagForField(find('relay account add'), 'addAccounts.0.username')).toBe('<username>');
    expect(flagForField(find('logs export'), 'mailboxId')).toBe('--mailbox');
    expect(flagForField(find('mailbox add'), 'password')).toBe('--password-env / --password-stdin');
  });
});

describe('every refusal of a flag value names the flag', () => {
  let sandbox: Sandbox;
  let removeGuard: () => void;
  beforeAll(async () => {
    sandbox = await makeSandbox(fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'mailroom-flags-'))));
    removeGuard = installNetworkGuard(sandbox.closedPort);
  }, 60_000);
  afterAll(() => {
    removeGuard?.();
    if (sandbox) fs.rmSync(sandbox.root, { recursive: true, force: true });
  });

  /** Values that each flag's checks or schema refuse for most flags. */
  const BAD = ['', '0', '-1', '99999999999', 'not valid', 'x'.repeat(400)];

  /** Plausible words for arguments and required options, so that the flag under test is what is refused. */
  const CONTEXT: Record<string, string> = {
    mailbox: 'Support',
    'id-or-name': 'Support',
    id: '1',
    username: 'scanner',
    address: 'support@example.com',
    version: '10.1.4',
    format: 'txt',
    host: '127.0.0.1',
  };

  /** Flags that refused at least one value, over all cases: the check below is not vacuous. */
  const refusing = new Set<string>();
  /** Codes of refusals of what was typed (exit 2). */
  const REFUSALS = new Set(['VALIDATION_FAILED', 'USAGE', 'OUTPUT_PATH_INVALID', 'INPUT_FILE_UNREADABLE', 'DATA_DIR_UNUSABLE']);

  const cases = leaves.flatMap((leaf) =>
    leaf.options
      .filter((o) => !o.hidden && (o.required || o.optional) && o.long !== '--data-dir' && !/Ctrl\+C/.test(leaf.description()))
      .map((o) => [nameOf(leaf), o.long!, leaf] as const),
  );

  it.each(cases)('%s %s', async (_name, flag, leaf) => {
    const problems: string[] = [];
    for (const value of BAD) {
      const dataDir = fs.mkdtempSync(path.join(sandbox.root, 'data-'));
      fs.cpSync(sandbox.template, dataDir, { recursive: true });
      const args = [...commandWords(leaf)];
      for (const a of leaf.registeredArguments as readonly Argument[]) {
        if (a.required) args.push(a.name() === 'file' ? sandbox.fixtures.webConfig : (CONTEXT[a.name()] ?? 'value'));
      }
      for (const o of leaf.options) {
        if (o.mandatory && o.long !== flag) args.push(o.long!, o.attributeName() === 'out' ? path.join(dataDir, 'out.txt') : (CONTEXT[o.attributeName()] ?? 'value'));
      }
      // Send needs something to send; the test connection a host.
      if (nameOf(leaf) === 'send' && flag !== '--to') args.push('--to', 'alice@example.net', '--subject', 's', '--text', 't');
      args.push(`${flag}=${value}`, '--data-dir', dataDir, '--json');
      // Relative paths (an --out of "0") land in a folder of the sandbox, never in the repository.
      const r = await runCliInProcess(args, { env: sandbox.env, timeoutMs: 30_000, cwd: dataDir });
      const error = r.json?.error as { code: string; message: string; issues?: { path: string }[] } | undefined;
      if (r.code !== 2 || !error || !REFUSALS.has(error.code)) continue;
      refusing.add(`${nameOf(leaf)} ${flag}`);
      const flags = typeable(leaf);
      const mentioned = named(error.message).filter((n) => flags.has(n));
      const shown = `mailroom ${args.join(' ').slice(0, 300)}\n  -> ${error.message.slice(0, 300)}`;
      if (!mentioned.length) problems.push(`names no flag of the command: ${shown}`);
      // The data folder's random name (mkdtemp's "data-dMxwJb") is a path in the message, not a field name.
      // Its path goes first: the value typed ("0") may also stand inside that random name.
      const field = FIELD_NAME.exec(error.message.split(dataDir).join('').split(sandbox.root).join('').replace(value, ''));
      if (field) problems.push(`names the field "${field[0]}": ${shown}`);
      for (const issue of error.issues ?? []) {
        if (!issue.path.split(' / ').every((p) => flags.has(p.replace(/ \(value \d+\)$/, '')))) problems.push(`issue path "${issue.path}" is not a flag of the command: ${shown}`);
      }
    }
    expect(problems, problems.join('\n')).toEqual([]);
  }, 120_000);

  it('refusals were seen for most flags (free text such as --subject accepts anything)', () => {
    expect(refusing.size, [...refusing].join(', ')).toBeGreaterThan(cases.length * 0.6);
  });

  it('oauth login Support --timeout 5 says --timeout, as the report asked', async () => {
    const dataDir = fs.mkdtempSync(path.join(sandbox.root, 'data-'));
    fs.cpSync(sandbox.template, dataDir, { recursive: true });
    const r = await runCliInProcess(['oauth', 'login', 'Support', '--timeout', '5', '--data-dir', dataDir, '--json'], { env: sandbox.env });
    expect(r.code).toBe(2);
    expect(r.json.error.message).toBe('Invalid sign-in request: --timeout must be at least 10 seconds');
    expect(r.json.error.issues).toEqual([{ path: '--timeout', message: 'must be at least 10 seconds' }]);
  });
});
