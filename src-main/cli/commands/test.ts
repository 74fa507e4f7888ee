/**
 * `mailroom test smtp|imap|pop3|graph|mailbox`: runs a connection test and prints the
 * steps, the diagnosis and the transcript, or with --json one object:
 * `{ ok, protocol, target, steps, diagnosis, transcript }`. Exit code 0 when
 * the test passed, 1 when it ran and failed, 2 on a usage error.
 *
 * Ad-hoc tests load only the probes, so the command starts fast; with
 * --keep they also open the database (not the whole engine) to keep the
 * result; if the data folder is unusable the test still runs and the result
 * is just not kept.
 */
import crypto from 'node:crypto';
import type { ConnectionTestReport, ServerTestProtocol, TestProtocol } from '../../shared/diagnosis.js';
import type { ConnectionTestResult } from '../../shared/contract/connection-tests.js';
import { databaseFile } from '../../engine/data-dir.js';
import type { StepProgress } from '../../engine/connection-test/step-recorder.js';
import { CURL_MESSAGE_FILE } from '../../engine/connection-test/curl-command.js';
import { dataDirOf, readPasswordOption, secretFromEnv, withEngine, type CommonOptions } from '../context.js';
import { printJson, reportError, usageError, EXIT_FAILED, EXIT_OK } from '../output.js';
import { toCliWords } from '../../shared/setting-words.js';
import { STEP_LABELS } from '../../shared/step-words.js';

interface TargetFlags extends CommonOptions {
  keep?: boolean;
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

/** The report exactly as scripts read it. */
function report(result: ConnectionTestResult): ConnectionTestReport {
  return {
    ok: result.ok,
    protocol: result.protocol,
    target: result.target,
    steps: result.steps,
    diagnosis: result.diagnosis,
    transcript: result.transcript,
    // Only when there are any, so the usual shape stays exactly what scripts read.
    ...(result.warnings?.length ? { warnings: result.warnings } : {}),
  } as ConnectionTestReport;
}

const STATUS_WORD: Record<string, string> = { ok: 'ok', failed: 'FAILED', skipped: 'skipped', running: '...' };

function stepLine(step: StepProgress | ConnectionTestResult['steps'][number]): string {
  return `  ${STATUS_WORD[step.status]!.padEnd(8)} ${step.name.padEnd(10)} ${`${step.ms} ms`.padStart(8)}  ${toCliWords(step.detail)}`;
}

function printHuman(result: ConnectionTestResult, live: boolean): void {
  const out: string[] = [];
  if (!live) {
    out.push(header(result));
    for (const step of result.steps) out.push(stepLine(step));
  }
  if (result.ok) {
    const warned = result.warnings?.length ?? 0;
    out.push(warned ? `PASSED WITH ${warned === 1 ? 'A WARNING' : `${warned} WARNINGS`} in ${result.durationMs} ms (see below).` : `PASSED in ${result.durationMs} ms.`);
  } else if (result.diagnosis) {
    const d = result.diagnosis;
    out.push(`FAILED: ${d.code} at step: ${STEP_LABELS[d.step]}`, `  ${toCliWords(d.summary)}`, `  What to change: ${toCliWords(d.hint)}`);
    if (d.serverReply) out.push(`  Server said: ${d.serverReply.split('\n').join('\n               ')}`);
  }
  for (const w of result.warnings ?? []) out.push(`WARNING: ${w.code}${w.step ? ` at step ${w.step}` : ''}`, `  ${toCliWords(w.message)}`, `  What to change: ${toCliWords(w.hint)}`);
  out.push('', 'Transcript (secrets redacted):');
  for (const line of result.transcript) out.push(`  ${`+${line.t}ms`.padStart(8)} ${line.dir === 'info' ? '  ' : `${line.dir}:`} ${line.text}`);
  if (result.protocol === 'graph') {
    out.push('', `Same requests with curl (put a Graph access token where it says <TOKEN>${result.steps.some((s) => s.name === 'send-mail' && s.status !== 'skipped') ? '; save a message as mailroom-test.eml and base64 it into mailroom-test.eml.b64 first' : ''}):`, ...result.curlCommand.split('\n').map((c) => `  ${c}`), '');
    process.stdout.write(out.join('\n') + '\n');
    return;
  }
  out.push('', `Same test with curl (type the secret where it says <PASSWORD> or <TOKEN>${result.protocol === 'smtp' && result.steps.some((s) => s.name === 'data') ? `; save a message as ${CURL_MESSAGE_FILE} first` : ''}):`, `  ${result.curlCommand}`, '');
  process.stdout.write(out.join('\n') + '\n');
}

function header(r: { protocol: TestProtocol; target: { host: string; port: number; security: string }; auth: string; user: string }): string {
  if (r.protocol === 'graph') return `Microsoft Graph test of ${r.user || 'the mailbox'} at ${r.target.host}`;
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
    const dataDir = dataDirOf({ dataDir: dataDirFlag });
    const db = openDatabase(databaseFile(dataDir));
    return { db, log: new ActivityLog(db) };
  } catch (error) {
    if (!json) process.stderr.write(`note: the result will not be kept: ${(error as Error).message}\n`);
    return undefined;
  }
}

/** Checks the flags of an ad-hoc test the way the IPC contract checks its fields, with messages that name the flag. */
function checkFlags(flags: TargetFlags): { port?: number; timeoutMs?: number } {
  const host = (flags.host ?? '').trim();
  if (!host) throw usageError('--host is required: the server name, such as smtp.office365.com.');
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(host) || /[/\s]/.test(host) || (/:\d+$/.test(host) && !host.includes('::') && host.split(':').length === 2)) {
    throw usageError(`--host takes only the server name or IP address, without a scheme, port or path; it is "${host}".`, 'For example: --host smtp.office365.com --port 587');
  }
  const out: { port?: number; timeoutMs?: number } = {};
  if (flags.port !== undefined) {
    if (!/^\d{1,5}$/.test(flags.port.trim()) || Number(flags.port) < 1 || Number(flags.port) > 65535) throw usageError(`--port must be a whole number from 1 to 65535; it is "${flags.port}".`);
    out.port = Number(flags.port);
  }
  for (const [flag, value] of [['--from', flags.from], ['--to', flags.to]] as const) {
    if (value !== undefined && !/^[^@\s<>()",;]+@[^@\s<>()",;]+$/.test(value.trim())) throw usageError(`${flag} must be an email address such as support@example.com; it is "${value}".`);
  }
  if (flags.folder !== undefined && (!flags.folder.trim() || /[\r\n\0]/.test(flags.folder))) throw usageError('--folder must be a folder name such as INBOX, without line breaks.');
  if (flags.user !== undefined && /[\r\n\0]/.test(flags.user)) throw usageError('--user must not contain line breaks.');
  const timeoutMs = parseTimeout(flags.timeoutMs);
  if (timeoutMs !== undefined) {
    if (timeoutMs < 100 || timeoutMs > 300_000) throw usageError(`--timeout-ms must be from 100 to 300000 milliseconds; it is ${timeoutMs}.`);
    out.timeoutMs = timeoutMs;
  }
  return out;
}

/**
 * `mailroom test smtp|imap|pop3`. Loads only the probe modules (no schemas, no
 * database), so it starts at once. With --keep the result also goes into
 * the history and the activity log of the data folder; without it the test
 * has no side effect (monitoring scripts can call it every minute).
 */
export async function testProtocol(protocol: ServerTestProtocol, flags: TargetFlags): Promise<void> {
  const json = Boolean(flags.json);
  let storeOpening: ReturnType<typeof openStore> | undefined;
  try {
    const password = await readPasswordOption(flags);
    const token = flags.tokenEnv ? secretFromEnv(flags.tokenEnv, '--token-env') : undefined;
    if (flags.auth === 'password' && password === undefined) throw usageError('--auth password needs the password: give --password-env NAME or --password-stdin.');
    if (flags.auth === 'xoauth2' && token === undefined) throw usageError('--auth xoauth2 needs an access token: give --token-env NAME.');
    if (password !== undefined && token !== undefined) throw usageError('Give either a password (--password-env / --password-stdin) or a token (--token-env), not both.');
    const checked = checkFlags(flags);
    const [{ adHocSpec }, { runConnectionTest }, { resolverFromEnvironment }] = await Promise.all([
      import('../../engine/connection-test/ad-hoc-spec.js'),
      import('../../engine/connection-test/run-test.js'),
      import('../../engine/connection-test/dns-resolver.js'),
    ]);
    const spec = adHocSpec({
      protocol,
      host: flags.host!.trim(),
      ...(checked.port !== undefined ? { port: checked.port } : {}),
      ...(flags.security ? { security: flags.security as 'tls' | 'starttls' | 'none' } : {}),
      ...(flags.auth ? { auth: flags.auth as 'password' | 'xoauth2' | 'none' } : {}),
      ...(flags.user !== undefined ? { user: flags.user } : {}),
      ...(password !== undefined ? { password } : {}),
      ...(token !== undefined ? { token } : {}),
      ...(flags.folder !== undefined ? { folder: flags.folder.trim() } : {}),
      ...(flags.from !== undefined ? { from: flags.from.trim() } : {}),
      ...(flags.to !== undefined ? { to: flags.to.trim() } : {}),
      ...(checked.timeoutMs !== undefined ? { timeoutMs: checked.timeoutMs } : {}),
    });
    const resolver = resolverFromEnvironment();
    if (flags.keep) storeOpening = openStore(flags.dataDir, json);
    if (!json) process.stdout.write(header({ protocol, target: spec, auth: spec.auth, user: spec.user }) + '\n');
    const onStep = liveProgress(json);
    const outcome = await runConnectionTest(spec, { resolver, ...(onStep ? { onStep: (step: StepProgress) => onStep(protocol, step) } : {}) });
    const ran: ConnectionTestResult = {
      id: 0,
      ok: outcome.ok,
      protocol: outcome.protocol,
      target: outcome.target,
      steps: outcome.steps,
      diagnosis: outcome.diagnosis,
      transcript: outcome.transcript,
      runId: crypto.randomUUID(),
      mailboxId: null,
      startedAt: outcome.startedAt,
      durationMs: outcome.durationMs,
      cancelled: outcome.cancelled,
      auth: spec.auth,
      user: spec.user,
      curlCommand: outcome.curlCommand,
      tls: outcome.tls,
      dns: outcome.dns,
      ...(outcome.warnings?.length ? { warnings: outcome.warnings } : {}),
    };
    // Scripts get their answer first; the result is kept right after.
    if (json) printJson(report(ran));
    else printHuman(ran, true);
    process.exitCode = ran.ok ? EXIT_OK : EXIT_FAILED;
    const store = await storeOpening;
    if (store) {
      // Loaded only now: the schemas behind the store cost more start-up time than the test itself.
      const { ConnectionTestService } = await import('../../engine/connection-test/service.js');
      new ConnectionTestService({ db: store.db, log: store.log }).keepResult(ran);
    }
  } catch (error) {
    reportError(error, json);
  } finally {
    (await storeOpening?.catch(() => undefined))?.db.close();
  }
}

/** `mailroom test mailbox <id-or-name>`. */
export async function testMailbox(idOrName: string, flags: MailboxFlags): Promise<void> {
  const json = Boolean(flags.json);
  await withEngine(flags, async (engine) => {
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
  });
}

/** `mailroom test graph <mailbox>`: the Microsoft Graph test of a saved mailbox; the same JSON and exit codes as `test smtp`. */
export async function testGraph(idOrName: string, flags: MailboxFlags): Promise<void> {
  const json = Boolean(flags.json);
  await withEngine(flags, async (engine) => {
    const timeoutMs = parseTimeout(flags.timeoutMs);
    if (timeoutMs !== undefined && (timeoutMs < 100 || timeoutMs > 300_000)) throw usageError(`--timeout-ms must be from 100 to 300000 milliseconds; it is ${timeoutMs}.`);
    const mailbox = engine.mailboxes.resolve(idOrName);
    if (!json) process.stdout.write(`Testing Microsoft Graph for mailbox ${mailbox.name} (#${mailbox.id}) <${mailbox.address}>\n`);
    const onStep = liveProgress(json);
    const result = await engine.connectionTests.runGraph(
      { mailboxId: mailbox.id, ...(flags.to ? { to: flags.to.trim() } : {}), ...(timeoutMs !== undefined ? { timeoutMs } : {}) },
      onStep ? { onStep } : {},
    );
    if (json) printJson(report(result));
    else printHuman(result, true);
    process.exitCode = result.ok ? EXIT_OK : EXIT_FAILED;
  });
}
