/**
 * `mailroom test smtp|imap|mailbox`: runs a connection test and prints the
 * steps, the diagnosis and the transcript, or with --json one object:
 * `{ ok, protocol, target, steps, diagnosis, transcript }`. Exit code 0 when
 * the test passed, 1 when it ran and failed, 2 on a usage error.
 *
 * Ad-hoc tests open only the database (to keep the result in the history),
 * not the whole engine, so the command starts fast; if the data folder is
 * unusable the test still runs and the result is just not kept.
 */
import fs from 'node:fs';
import { AppError, isAppError } from '../../shared/errors.js';
import type { ConnectionTestReport, TestProtocol } from '../../shared/diagnosis.js';
import type { ConnectionTestResult } from '../../shared/contract/connection-tests.js';
import { resolveDataDir, databaseFile } from '../../engine/data-dir.js';
import type { StepProgress } from '../../engine/connection-test/step-recorder.js';
import { CURL_MESSAGE_FILE } from '../../engine/connection-test/curl-command.js';
import { readPasswordOption, secretFromEnv, withEngine, type CommonOptions } from '../context.js';
import { printJson, reportError, usageError, EXIT_FAILED, EXIT_OK } from '../output.js';

interface TargetFlags extends CommonOptions {
  host?: string;
  port?: string;
  security?: string;
  auth?: string;
  user?: string;
  passwordEnv?: string;
  passwordStdin?: boolean;
  tokenEnv?: string;
  timeoutMs?: string;
  folder?: string;
  from?: string;
  to?: string;
}

interface MailboxFlags extends CommonOptions {
  incoming?: boolean;
  outgoing?: boolean;
  to?: string;
  timeoutMs?: string;
}

/** Field names of the test input -> the flags that set them. */
const FLAG_FOR_FIELD: Record<string, string> = {
  host: '--host',
  port: '--port',
  security: '--security',
  auth: '--auth',
  user: '--user',
  password: '--password-env / --password-stdin',
  token: '--token-env',
  folder: '--folder',
  from: '--from',
  to: '--to',
  timeoutMs: '--timeout-ms',
  mailboxId: '<id-or-name>',
};

/** Names the flag to fix in a validation error. */
function withFlags(error: unknown): unknown {
  if (!isAppError(error) || !(error as AppError).issues?.length) return error;
  const e = error as AppError;
  const issues = e.issues!.map((i) => ({ path: FLAG_FOR_FIELD[i.path] ?? i.path, message: i.message }));
  return new AppError('USAGE', `Invalid value: ${issues.map((i) => `${i.path} ${i.message}`).join('; ')}`, { issues, ...(e.hint ? { hint: e.hint } : {}) });
}

/** The report exactly as scripts read it. */
function report(result: ConnectionTestResult): ConnectionTestReport {
  return { ok: result.ok, protocol: result.protocol, target: result.target, steps: result.steps, diagnosis: result.diagnosis, transcript: result.transcript };
}

const STATUS_WORD: Record<string, string> = { ok: 'ok', failed: 'FAILED', skipped: 'skipped', running: '...' };

function stepLine(step: StepProgress | ConnectionTestResult['steps'][number]): string {
  return `  ${STATUS_WORD[step.status]!.padEnd(8)} ${step.name.padEnd(10)} ${`${step.ms} ms`.padStart(8)}  ${step.detail}`;
}

function printHuman(result: ConnectionTestResult, live: boolean): void {
  const out: string[] = [];
  if (!live) {
    out.push(header(result));
    for (const step of result.steps) out.push(stepLine(step));
  }
  if (result.ok) {
    out.push(`PASSED in ${result.durationMs} ms.`);
  } else if (result.diagnosis) {
    const d = result.diagnosis;
    out.push(`FAILED: ${d.code} at step ${d.step}`, `  ${d.summary}`, `  What to change: ${d.hint}`);
    if (d.serverReply) out.push(`  Server said: ${d.serverReply.split('\n').join('\n               ')}`);
  }
  out.push('', 'Transcript (secrets redacted):');
  for (const line of result.transcript) out.push(`  ${`+${line.t}ms`.padStart(8)} ${line.dir === 'info' ? '  ' : `${line.dir}:`} ${line.text}`);
  out.push('', `Same test with curl (type the secret where it says <PASSWORD> or <TOKEN>${result.protocol === 'smtp' && result.steps.some((s) => s.name === 'data') ? `; save a message as ${CURL_MESSAGE_FILE} first` : ''}):`, `  ${result.curlCommand}`, '');
  process.stdout.write(out.join('\n') + '\n');
}

function header(r: { protocol: TestProtocol; target: { host: string; port: number; security: string }; auth: string; user: string }): string {
  return `${r.protocol.toUpperCase()} test of ${r.target.host} port ${r.target.port} (security ${r.target.security}, auth ${r.auth}${r.user ? ` as ${r.user}` : ''})`;
}

function liveProgress(json: boolean): ((protocol: TestProtocol, step: StepProgress) => void) | undefined {
  if (json) return undefined;
  return (_protocol, step) => {
    if (step.status !== 'running') process.stdout.write(stepLine(step) + '\n');
  };
}

function parseTimeout(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value.trim())) throw usageError(`--timeout-ms must be a whole number of milliseconds, such as 15000; it is "${value}".`);
  return Number(value);
}

/** Opens just the store (not the whole engine) to keep ad-hoc results; undefined when the data folder is unusable. */
async function openStore(dataDirFlag: string | undefined, json: boolean) {
  const [{ openDatabase }, { ActivityLog }] = await Promise.all([import('../../store/db.js'), import('../../engine/activity-log.js')]);
  try {
    const dataDir = resolveDataDir(dataDirFlag);
    fs.mkdirSync(dataDir, { recursive: true });
    const db = openDatabase(databaseFile(dataDir));
    return { db, log: new ActivityLog(db) };
  } catch (error) {
    if (!json) process.stderr.write(`note: the result will not be kept: ${(error as Error).message}\n`);
    return undefined;
  }
}

/** `mailroom test smtp|imap`. */
export async function testProtocol(protocol: TestProtocol, flags: TargetFlags): Promise<void> {
  const json = Boolean(flags.json);
  let store: Awaited<ReturnType<typeof openStore>>;
  try {
    const password = await readPasswordOption(flags);
    const token = flags.tokenEnv ? secretFromEnv(flags.tokenEnv, '--token-env') : undefined;
    if (flags.auth === 'password' && password === undefined) throw usageError('--auth password needs the password: give --password-env NAME or --password-stdin.');
    if (flags.auth === 'xoauth2' && token === undefined) throw usageError('--auth xoauth2 needs an access token: give --token-env NAME.');
    if (password !== undefined && token !== undefined) throw usageError('Give either a password (--password-env / --password-stdin) or a token (--token-env), not both.');
    const timeoutMs = parseTimeout(flags.timeoutMs);
    const input = {
      protocol,
      host: flags.host,
      ...(flags.port !== undefined ? { port: flags.port } : {}),
      ...(flags.security ? { security: flags.security } : {}),
      ...(flags.auth ? { auth: flags.auth } : {}),
      ...(flags.user !== undefined ? { user: flags.user } : {}),
      ...(password !== undefined ? { password } : {}),
      ...(token !== undefined ? { token } : {}),
      ...(flags.folder !== undefined ? { folder: flags.folder } : {}),
      ...(flags.from !== undefined ? { from: flags.from } : {}),
      ...(flags.to !== undefined ? { to: flags.to } : {}),
      ...(timeoutMs !== undefined ? { timeoutMs } : {}),
    };
    const { ConnectionTestService } = await import('../../engine/connection-test/service.js');
    store = await openStore(flags.dataDir, json);
    const service = new ConnectionTestService(store ? { db: store.db, log: store.log } : {});
    if (!json) {
      const { adHocSpec } = await import('../../engine/connection-test/service.js');
      const { AdHocTestInput } = await import('../../shared/contract/connection-tests.js');
      const { parseOrThrow } = await import('../../shared/validation.js');
      const spec = adHocSpec(parseOrThrow(AdHocTestInput, input, 'connection test'));
      process.stdout.write(header({ protocol, target: spec, auth: spec.auth, user: spec.user }) + '\n');
    }
    const onStep = liveProgress(json);
    const [result] = await service.run(input, { ...(onStep ? { onStep } : {}), store: Boolean(store) });
    if (json) printJson(report(result!));
    else printHuman(result!, true);
    process.exitCode = result!.ok ? EXIT_OK : EXIT_FAILED;
  } catch (error) {
    reportError(withFlags(error), json);
  } finally {
    store?.db.close();
  }
}

/** `mailroom test mailbox <id-or-name>`. */
export async function testMailbox(idOrName: string, flags: MailboxFlags): Promise<void> {
  const json = Boolean(flags.json);
  await withEngine(flags, async (engine) => {
    try {
      if (flags.incoming && flags.outgoing) throw usageError('Use --incoming or --outgoing, or neither to test both directions.');
      const direction = flags.incoming ? 'incoming' : flags.outgoing ? 'outgoing' : 'both';
      if (flags.to && direction === 'incoming') throw usageError('--to sends a test message: it goes with --outgoing (or no direction), not --incoming.');
      const timeoutMs = parseTimeout(flags.timeoutMs);
      const mailbox = engine.mailboxes.resolve(idOrName);
      if (!json) process.stdout.write(`Testing mailbox ${mailbox.name} (#${mailbox.id}) <${mailbox.address}>\n`);
      const results = await engine.connectionTests.run({ mailboxId: mailbox.id, direction, ...(flags.to ? { to: flags.to } : {}), ...(timeoutMs !== undefined ? { timeoutMs } : {}) });
      if (json) {
        if (results.length === 1) printJson(report(results[0]!));
        else printJson({ ok: results.every((r) => r.ok), mailbox: { id: mailbox.id, name: mailbox.name }, results: results.map(report) });
      } else {
        for (const result of results) {
          process.stdout.write('\n');
          printHuman(result, false);
        }
      }
      process.exitCode = results.every((r) => r.ok) ? EXIT_OK : EXIT_FAILED;
    } catch (error) {
      throw withFlags(error);
    }
  });
}
