/**
 * Every flag of every command works where its help shows it. The command
 * tree is built from the program itself (no list of commands here), so a
 * command added later is covered the day it is added:
 *
 * - each option of each leaf command reaches that command, not a command
 *   above it (`logs export --data-dir` was taken by `logs` and ignored);
 * - each leaf command, run as a real process with `--data-dir <temp>` and
 *   `--json`, uses that folder (never MAILROOM_DATA_DIR, never the default
 *   folder under an empty HOME) and prints exactly one JSON value.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Argument, Command, Option } from 'commander';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildProgram, leafCommands } from '../../src-main/cli/program';
import { CLI } from '../helpers/paths';
import { childEnv, commandWords, listTree, makeSandbox, type Sandbox } from '../helpers/cli-sandbox';

const leaves = leafCommands(buildProgram());
const nameOf = (cmd: Command) => commandWords(cmd).join(' ');

describe('the command tree', () => {
  it('has the commands the README documents', () => {
    const names = leaves.map(nameOf);
    expect(names).toEqual(expect.arrayContaining(['mailbox add', 'logs', 'logs export', 'oauth login', 'relay account add', 'test smtp', 'site check-webconfig']));
    expect(leaves.length).toBeGreaterThan(40);
  });

  /** A value commander accepts for the option (its first choice when it has choices). */
  function sampleValue(option: Option): string {
    return option.argChoices?.[0] ?? `value-of-${option.attributeName()}`;
  }

  /** Words that satisfy a command's arguments and required options. */
  function requiredWords(cmd: Command, except: Option): string[] {
    const words: string[] = [];
    for (const a of cmd.registeredArguments as readonly Argument[]) if (a.required) words.push(`arg-${a.name()}`);
    for (const o of cmd.options) if (o.mandatory && o !== except) words.push(o.long!, sampleValue(o));
    return words;
  }

  const cases = leaves.flatMap((leaf) => leaf.options.filter((o) => !o.hidden).map((option) => [nameOf(leaf), option.flags] as const));

  it.each(cases)('%s %s reaches the command itself, before or after its arguments', async (name, flags) => {
    for (const placement of ['after', 'before'] as const) {
      // A fresh tree per parse: commander keeps option values on the command objects.
      const program = buildProgram();
      program.configureOutput({ writeOut: () => undefined, writeErr: () => undefined });
      const target = leafCommands(program).find((c) => nameOf(c) === name)!;
      const option = target.options.find((o) => o.flags === flags)!;
      let ran = false;
      target.action(() => void (ran = true));
      const flagWords = option.required || option.optional ? [option.long!, sampleValue(option)] : [option.long ?? option.short!];
      const required = requiredWords(target, option);
      const words = placement === 'after' ? [...commandWords(target), ...required, ...flagWords] : [...commandWords(target), ...flagWords, ...required];
      await program.parseAsync(['node', 'mailroom', ...words]);
      expect(ran).toBe(true);
      expect(target.getOptionValueSource(option.attributeName()), `${words.join(' ')}: the value did not reach ${name}`).toBe('cli');
      const expected = option.negate ? false : option.required || option.optional ? sampleValue(option) : true;
      const value: unknown = target.getOptionValue(option.attributeName());
      expect(Array.isArray(value) ? value[0] : value).toBe(expected);
      for (let parent = target.parent; parent; parent = parent.parent) {
        for (const o of parent.options) expect(parent.getOptionValueSource(o.attributeName()), `${o.flags} was taken by ${parent.name()}`).not.toBe('cli');
      }
    }
  });

  it('refuses a flag given before the subcommand instead of ignoring it', async () => {
    const words = ['logs', '--level', 'error', 'export', '--format', 'txt', '--out', 'x.txt'];
    const program = buildProgram(words);
    program.configureOutput({ writeOut: () => undefined, writeErr: () => undefined });
    const exportCommand = leafCommands(program).find((c) => nameOf(c) === 'logs export')!;
    let ran = false;
    exportCommand.action(() => void (ran = true));
    await expect(program.parseAsync(['node', 'mailroom', ...words])).rejects.toMatchObject({ code: 'USAGE', message: expect.stringContaining('--level was given before "export"') });
    expect(ran).toBe(false);
  });
});

describe('each command with --data-dir and --json, as a real process', () => {
  let sandbox: Sandbox;
  beforeAll(async () => {
    sandbox = await makeSandbox(fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'mailroom-tree-'))));
  }, 60_000);
  afterAll(() => {
    if (sandbox) fs.rmSync(sandbox.root, { recursive: true, force: true });
  });

  /** A value for an argument or a required option, by its name; a new name needs a line here. */
  function valueFor(name: string, runDir: string): string {
    const values: Record<string, () => string> = {
      mailbox: () => 'Support',
      'id-or-name': () => 'Support',
      id: () => '1',
      username: () => 'scanner',
      address: () => 'support@example.com',
      version: () => '10.1.4',
      file: () => {
        // A copy: enable-oauth-toggle writes the file it is given (and a backup beside it).
        const copy = path.join(runDir, 'web.config');
        fs.copyFileSync(sandbox.fixtures.webConfig, copy);
        return copy;
      },
      format: () => 'txt',
      out: () => path.join(runDir, 'out.txt'),
      host: () => '127.0.0.1',
    };
    const make = values[name];
    if (!make) throw new Error(`no sample value for "${name}": add one to valueFor()`);
    return make();
  }

  /**
   * Runs the CLI to its end. A command that runs until Ctrl+C (its description
   * says so) is interrupted as an admin would, once it has said it is ready
   * (its JSON, or its "Ctrl+C stops" line).
   */
  function run(args: string[], env: Record<string, string>, untilInterrupted: boolean): Promise<{ code: number | null; stdout: string; stderr: string }> {
    return new Promise((resolve, reject) => {
      const child = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      let interrupted = false;
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
      const hard = setTimeout(() => child.kill('SIGKILL'), 120_000);
      child.on('error', reject);
      child.on('close', (code) => {
        clearTimeout(hard);
        resolve({ code, stdout, stderr });
      });
      child.stdin.end('');
    });
  }

  it.concurrent.each(leaves.map((leaf) => [nameOf(leaf), leaf] as const))(
    '%s uses the folder given with --data-dir and prints one JSON value',
    async (_name, leaf) => {
      const runDir = fs.mkdtempSync(path.join(sandbox.root, 'run-'));
      const dataDir = path.join(runDir, 'data');
      fs.cpSync(sandbox.template, dataDir, { recursive: true });
      const args = [...commandWords(leaf)];
      for (const a of leaf.registeredArguments as readonly Argument[]) if (a.required) args.push(valueFor(a.name(), runDir));
      for (const o of leaf.options) if (o.mandatory) args.push(o.long!, valueFor(o.attributeName(), runDir));
      args.push('--data-dir', dataDir, '--json');

      const result = await run(args, childEnv(sandbox), /Ctrl\+C/.test(leaf.description()));
      const what = `mailroom ${args.join(' ')}\nexit: ${result.code}\nstdout: ${result.stdout}\nstderr: ${result.stderr}`;
      expect([0, 1, 2], what).toContain(result.code);
      const json = JSON.parse(result.stdout);
      if (json?.ok === false && json.error) expect(json.error.code, what).toMatch(/^[A-Z][A-Z0-9_]+$/);
      // The only other folders a command could use: MAILROOM_DATA_DIR, and the default one under HOME.
      expect(fs.existsSync(sandbox.decoy), `${what}\nMAILROOM_DATA_DIR was used instead of --data-dir`).toBe(false);
      expect(listTree(sandbox.home), `${what}\nthe default data folder was used`).toEqual([]);
      expect(`${result.stdout}\n${result.stderr}`, what).not.toMatch(/^\s+at .+:\d+:\d+\)?$/m);
    },
    150_000,
  );
});
