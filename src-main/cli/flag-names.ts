/**
 * Validation errors name the flag the admin typed, never the engine's field.
 *
 * The engine's schemas report dotted field paths (`timeoutSeconds`,
 * `imap.pollIntervalSeconds`, `to.1`). This module turns such a path into the
 * flag (or `<argument>`) of the command that was run, in one way for every
 * command:
 *   1. what the command declared with `fieldFlags()` next to its options
 *      (numeric steps of a path match `*`: `to.*`);
 *   2. otherwise by name: the whole path in kebab case (`imap.host` ->
 *      `--imap-host`), then its last step (`imap.afterImport` ->
 *      `--after-import`), then without an `Id` suffix (`mailboxId` ->
 *      `--mailbox`), each as a visible option or an argument of the command.
 * A test walks every command and fails on a message that names no flag of it.
 *
 * Only commander's types are imported: `--help` must stay fast.
 */
import type { Command, Option } from 'commander';
import type { ErrorInfo, FieldIssue } from '../shared/errors.js';

const declared = new WeakMap<Command, Record<string, string>>();

/**
 * Declares, for the engine fields whose names do not say it, which flag or
 * `<argument>` of this command sets them (e.g. `{ timeoutSeconds: '--timeout' }`).
 */
export function fieldFlags(cmd: Command, map: Record<string, string>): Command {
  declared.set(cmd, { ...declared.get(cmd), ...map });
  return cmd;
}

/** The declarations of a command (for the test that checks they name real flags). */
export function declaredFieldFlags(cmd: Command): Readonly<Record<string, string>> {
  return declared.get(cmd) ?? {};
}

const kebab = (s: string) => s.replace(/([a-z0-9])([A-Z])/g, '$1-$2').replace(/[._]+/g, '-').toLowerCase();

/** Options an admin can see and type on this command (hidden ones are refused, never suggested). */
function visibleLongFlags(cmd: Command): Set<string> {
  const hidden = (o: Option) => (o as Option & { hidden?: boolean }).hidden === true;
  const flags = new Set<string>();
  for (const o of cmd.options) {
    if (hidden(o) || !o.long) continue;
    flags.add(o.long);
    // `--no-check` also answers to `--check` in a message about the field `check`.
    if (o.negate) flags.add(o.long.replace(/^--no-/, '--'));
  }
  return flags;
}

function argumentNames(cmd: Command): string[] {
  return (cmd.registeredArguments ?? []).map((a) => a.name());
}

/** The flag or `<argument>` of `cmd` that sets the field at `path`, or undefined when none does. */
export function flagForField(cmd: Command, path: string): string | undefined {
  const steps = path.split('.');
  // `to.1` is the second value of a flag given several times; `addAccounts.0.username` is not a position on the command line.
  const last = steps.at(-1)!;
  const position = steps.length > 1 && /^\d+$/.test(last) ? ` (value ${Number(last) + 1})` : '';
  const pattern = steps.map((s) => (/^\d+$/.test(s) ? '*' : s)).join('.');
  const map = declared.get(cmd) ?? {};
  const explicit = map[path] ?? map[pattern];
  if (explicit) return explicit + (explicit.startsWith('--') ? position : '');

  const named = steps.filter((s) => !/^\d+$/.test(s));
  if (!named.length) return undefined;
  const flags = visibleLongFlags(cmd);
  const args = argumentNames(cmd);
  const field = named.at(-1)!;
  const candidates = [kebab(named.join('.')), kebab(field), kebab(field.replace(/Id$/, ''))];
  for (const candidate of candidates) {
    if (flags.has(`--${candidate}`)) return `--${candidate}${position}`;
    if (args.includes(candidate)) return `<${candidate}>`;
  }
  return undefined;
}

/** Codes whose issues are about what was typed on the command line (a settings file's entries are not). */
const FLAG_ISSUE_CODES = new Set(['VALIDATION_FAILED', 'USAGE', 'INVALID_PAYLOAD']);

/**
 * Rewrites an error's field paths as the flags of `cmd` that set them, and
 * its message to match (`Invalid outbox settings: --max-attempts must be ...`).
 */
export function withFlagNames(info: ErrorInfo, cmd: Command | undefined): ErrorInfo {
  if (!cmd || !info.issues?.length || !FLAG_ISSUE_CODES.has(info.code)) return info;
  let renamed = false;
  const issues: FieldIssue[] = info.issues.map((issue) => {
    if (issue.path.startsWith('--') || issue.path.startsWith('<')) return issue;
    const flag = flagForField(cmd, issue.path);
    if (!flag) return issue;
    renamed = true;
    return { ...issue, path: flag };
  });
  if (!renamed) return info;
  const what = /^(Invalid [^:]{1,60}):/.exec(info.message)?.[1] ?? 'Invalid value';
  return { ...info, issues, message: `${what}: ${issues.map((i) => `${i.path} ${i.message}`).join('; ')}` };
}
