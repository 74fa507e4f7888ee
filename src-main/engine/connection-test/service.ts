/**
 * Connection tests as a service: turns a saved mailbox or ad-hoc settings
 * into test specs (fetching the stored password or an OAuth token), runs
 * them, announces progress on the event bus, supports cancel, stores the
 * redacted results (the newest 50 per mailbox) and writes one activity-log
 * line per result.
 */
import crypto from 'node:crypto';
import { AppError } from '../../shared/errors.js';
import type { Mailbox } from '../../shared/mailbox.js';
import { parseOrThrow } from '../../shared/validation.js';
import {
  AdHocTestInput,
  ConnectionTestRunInput,
  DEFAULT_STEP_TIMEOUT_MS,
  MailboxTestInput,
  type ConnectionTestResult,
  type ConnectionTestSummary,
} from '../../shared/contract/connection-tests.js';
import type { TestProtocol } from '../../shared/diagnosis.js';
import { adHocSpec, domainOf } from './ad-hoc-spec.js';
import type { z } from 'zod';
import type { Db } from '../../store/db.js';
import { ConnectionTestRepo } from '../../store/connection-test-repo.js';
import type { EventBus } from '../events.js';
import type { MailboxService } from '../mailboxes.js';
import { resolverFromEnvironment, type DnsResolver } from './dns-resolver.js';
import { runConnectionTest, type TestOutcome, type TestSpec } from './run-test.js';
import type { StepProgress } from './step-recorder.js';
import { STEP_LABELS } from '../../shared/step-words.js';

/** Gives the engine an OAuth access token for a mailbox (the auth service implements it). */
export interface AccessTokenSource {
  /**
   * `otherAccountAllowed`: the admin let another account sign in for this
   * mailbox (a person with Full Access to a shared mailbox), so a token of
   * another account is no finding.
   */
  getAccessToken(mailboxId: number): Promise<{ accessToken: string; user?: string; account?: string; otherAccountAllowed?: boolean }>;
}

/** Where results are logged (the activity log implements it). */
export interface TestLogWriter {
  write(entry: { mailboxId?: number | null; direction: 'test'; level: 'success' | 'warning' | 'error' | 'info'; code?: string | null; message: string; detail?: string | null; refKind?: 'connection-test'; refId?: number }): unknown;
}

/** What the connection-test service works with. */
export interface ConnectionTestServiceOptions {
  /** Where results are kept; without it nothing is stored (the CLI when the data folder is unusable). */
  db?: Db;
  /** Needed for tests of saved mailboxes; ad-hoc tests run without it (the CLI keeps start-up light). */
  mailboxes?: MailboxService;
  events?: EventBus;
  /** Default: MAILROOM_DNS_SERVERS when set, else the system resolver. */
  resolver?: DnsResolver;
  /** OAuth tokens for mailboxes that sign in with Microsoft 365. */
  tokens?: AccessTokenSource;
  log?: TestLogWriter;
  /** Whose shell the curl commands are for. Default: this machine's. */
  platform?: NodeJS.Platform;
  /** Extra CA certificates (PEM) to trust, on top of Node's roots and NODE_EXTRA_CA_CERTS. */
  ca?: string[];
  /** Warnings about a saved mailbox's outgoing side that no SMTP exchange shows (the relay's From choice). */
  smtpWarnings?: (mailbox: Mailbox) => { code: string; message: string; hint: string }[];
}

/** Options of one run that do not cross IPC. */
export interface RunOptions {
  /** Called as each step starts and ends (the CLI prints live progress). */
  onStep?: (protocol: TestProtocol, progress: StepProgress) => void;
  /** Do not store the results (the CLI when the data folder is unusable). */
  store?: boolean;
}

type ParsedRunInput = z.output<typeof ConnectionTestRunInput>;
type ParsedMailboxInput = z.output<typeof MailboxTestInput>;
type ParsedAdHocInput = z.output<typeof AdHocTestInput>;

/** Runs, cancels and keeps connection tests. */
export class ConnectionTestService {
  private readonly repo: ConnectionTestRepo | undefined;
  private readonly running = new Map<string, AbortController>();
  private readonly resolver: DnsResolver;

  constructor(private readonly options: ConnectionTestServiceOptions) {
    this.repo = options.db ? new ConnectionTestRepo(options.db) : undefined;
    this.resolver = options.resolver ?? resolverFromEnvironment();
  }

  /** Validates and runs a test; resolves with one result per protocol tested. */
  async run(input: MailboxTestInput | AdHocTestInput | unknown, runOptions: RunOptions = {}): Promise<ConnectionTestResult[]> {
    const parsed: ParsedRunInput = parseOrThrow(ConnectionTestRunInput, input, 'connection test');
    const runId = parsed.runId ?? crypto.randomUUID();
    if (this.running.has(runId)) throw new AppError('CONFLICT', `A test with run id ${runId} is already running.`, { hint: 'Use a new run id for each test.' });
    const isMailbox = 'mailboxId' in parsed;
    const mailbox = isMailbox ? this.mailboxService().get((parsed as ParsedMailboxInput).mailboxId) : undefined;
    const specs = (mailbox ? await this.mailboxSpecs(mailbox, parsed as ParsedMailboxInput) : [adHocSpec(parsed as ParsedAdHocInput)]).map((spec) =>
      this.options.ca?.length ? { ...spec, ca: this.options.ca } : spec,
    );
    const mailboxId = mailbox?.id ?? null;

    const controller = new AbortController();
    this.running.set(runId, controller);
    try {
      const outcomes = await Promise.all(
        specs.map((spec) =>
          runConnectionTest(spec, {
            resolver: this.resolver,
            signal: controller.signal,
            ...(this.options.platform ? { platform: this.options.platform } : {}),
            onStep: (step) => {
              runOptions.onStep?.(spec.protocol, step);
              this.options.events?.emit('connectionTests.progress', { runId, mailboxId, protocol: spec.protocol, step });
            },
          }),
        ),
      );
      const warnings = mailbox ? (this.options.smtpWarnings?.(mailbox) ?? []) : [];
      const results = outcomes.map((outcome, i) => this.keep(outcome, specs[i]!, runId, mailboxId, runOptions.store !== false, outcome.protocol === 'smtp' ? warnings : []));
      this.options.events?.emit('connectionTests.finished', { runId, mailboxId, results });
      return results;
    } finally {
      this.running.delete(runId);
    }
  }

  /** Cancels a running test. */
  cancel(runId: string): boolean {
    const controller = this.running.get(runId);
    if (!controller) return false;
    controller.abort();
    return true;
  }

  /**
   * Stores a result that was run with `store: false` (the CLI runs the test
   * while the database opens, then keeps it here) and logs it.
   */
  keepResult(result: ConnectionTestResult): ConnectionTestResult {
    if (!this.repo) return result;
    const { id: _unsaved, ...rest } = result;
    const stored = this.repo.insert(rest);
    this.writeLog(stored);
    return stored;
  }

  /** Cancels every running test (when the engine closes). */
  cancelAll(): void {
    for (const controller of this.running.values()) controller.abort();
  }

  /** The stored results of a mailbox (null: ad-hoc tests), newest first. */
  history(mailboxId: number | null, limit: number): ConnectionTestSummary[] {
    if (mailboxId !== null) this.mailboxService().get(mailboxId);
    return this.repo?.list(mailboxId, limit) ?? [];
  }

  /** One stored result. */
  get(id: number): ConnectionTestResult {
    const found = this.repo?.get(id);
    if (!found) throw new AppError('NOT_FOUND', `No stored connection test has id ${id}.`, { hint: 'Only the newest 50 results per mailbox are kept; list them with history.' });
    return found;
  }

  private mailboxService(): MailboxService {
    if (!this.options.mailboxes) throw new AppError('INTERNAL_ERROR', 'Mailbox tests need the mailbox service.');
    return this.options.mailboxes;
  }

  private keep(outcome: TestOutcome, spec: TestSpec, runId: string, mailboxId: number | null, store: boolean, warnings: NonNullable<ConnectionTestResult['warnings']> = []): ConnectionTestResult {
    const result = {
      ok: outcome.ok,
      protocol: outcome.protocol,
      target: outcome.target,
      steps: outcome.steps,
      diagnosis: outcome.diagnosis,
      transcript: outcome.transcript,
      runId,
      mailboxId,
      startedAt: outcome.startedAt,
      durationMs: outcome.durationMs,
      cancelled: outcome.cancelled,
      auth: spec.auth,
      user: spec.user,
      curlCommand: outcome.curlCommand,
      tls: outcome.tls,
      dns: outcome.dns,
      ...(outcome.warnings?.length || warnings.length ? { warnings: [...(outcome.warnings ?? []), ...warnings] } : {}),
    };
    const stored = store && this.repo ? this.repo.insert(result) : { id: 0, ...result };
    if (stored.id) this.writeLog(stored);
    return stored;
  }

  private writeLog(result: ConnectionTestResult): void {
    const what = `${result.protocol.toUpperCase()} test of ${result.target.host}:${result.target.port}`;
    const entry = result.cancelled
      ? { level: 'info' as const, message: `${what} cancelled` }
      : result.ok
        ? result.warnings?.length
          ? { level: 'warning' as const, message: `${what} passed with ${result.warnings.length === 1 ? 'a warning' : `${result.warnings.length} warnings`} in ${result.durationMs} ms` }
          : { level: 'success' as const, message: `${what} passed in ${result.durationMs} ms` }
        : { level: 'error' as const, code: result.diagnosis?.code ?? null, message: `${what} failed at ${result.diagnosis ? STEP_LABELS[result.diagnosis.step] : 'an unknown step'}: ${result.diagnosis?.summary}`, detail: [result.diagnosis?.hint, result.diagnosis?.serverReply ? `Server said: ${result.diagnosis.serverReply}` : ''].filter(Boolean).join('\n') };
    try {
      this.options.log?.write({ mailboxId: result.mailboxId, direction: 'test', refKind: 'connection-test', refId: result.id, ...entry });
      for (const warning of result.warnings ?? []) {
        this.options.log?.write({ mailboxId: result.mailboxId, direction: 'test', level: 'warning', code: warning.code, message: warning.message, detail: `What to change: ${warning.hint}`, refKind: 'connection-test', refId: result.id });
      }
    } catch {
      // The log is a convenience; a failure to write it must not fail the test.
    }
  }

  private async mailboxSpecs(mailbox: Mailbox, input: ParsedMailboxInput): Promise<TestSpec[]> {
    const timeoutMs = input.timeoutMs ?? DEFAULT_STEP_TIMEOUT_MS;
    const mxDomain = domainOf(mailbox.address);
    const specs: TestSpec[] = [];
    const credentials = async (protocol: 'imap' | 'smtp', auth: 'password' | 'oauth2' | 'oauth2-app' | 'none', username: string): Promise<Pick<TestSpec, 'auth' | 'user' | 'password' | 'token' | 'allowOtherAccount'>> => {
      if (auth === 'none') return { auth: 'none', user: '' };
      if (auth === 'password') {
        // SMTP signs in with its own password when one is set, else with the incoming one.
        const password = protocol === 'smtp' ? this.mailboxService().smtpPassword(mailbox.id) : this.mailboxService().password(mailbox.id);
        if (!password) {
          throw new AppError('PASSWORD_NOT_SET', `Mailbox "${mailbox.name}" has no password stored, so it cannot sign in.`, {
            hint: `Set it: mailroom mailbox update "${mailbox.name}" --password-stdin (or in the mailbox's settings).`,
          });
        }
        return { auth: 'password', user: username, password };
      }
      if (!this.options.tokens) {
        throw new AppError('OAUTH_SIGN_IN_REQUIRED', `Mailbox "${mailbox.name}" signs in with Microsoft 365 (OAuth), and this Mailroom cannot get a token for it.`, {
          hint: 'Sign in to Microsoft 365 for this mailbox first (mailbox settings > Sign in), then test again.',
        });
      }
      const token = await this.options.tokens.getAccessToken(mailbox.id);
      return { auth: 'xoauth2', user: token.user || username, token: token.accessToken, ...(token.otherAccountAllowed ? { allowOtherAccount: true } : {}) };
    };
    if (input.direction === 'outgoing' || input.direction === 'both') {
      specs.push({
        protocol: 'smtp',
        host: mailbox.smtp.host,
        port: mailbox.smtp.port,
        security: mailbox.smtp.security,
        ...(await credentials('smtp', mailbox.smtp.auth, mailbox.smtp.username)),
        ...(input.to ? { to: input.to, from: mailbox.address } : {}),
        timeoutMs,
        ...(mxDomain ? { mxDomain } : {}),
      });
    }
    if ((input.direction === 'incoming' || input.direction === 'both') && mailbox.receiveVia === 'pop3' && mailbox.pop3) {
      // A mailbox that receives over POP3 is tested over POP3, with the incoming password or sign-in.
      specs.push({
        protocol: 'pop3',
        host: mailbox.pop3.host,
        port: mailbox.pop3.port,
        security: mailbox.pop3.security,
        ...(await credentials('imap', mailbox.pop3.auth, mailbox.pop3.username)),
        timeoutMs,
        ...(mxDomain ? { mxDomain } : {}),
      });
    } else if (input.direction === 'incoming' || input.direction === 'both') {
      specs.push({
        protocol: 'imap',
        host: mailbox.imap.host,
        port: mailbox.imap.port,
        security: mailbox.imap.security,
        ...(await credentials('imap', mailbox.imap.auth, mailbox.imap.username)),
        folder: mailbox.imap.folder,
        timeoutMs,
        ...(mxDomain ? { mxDomain } : {}),
      });
    }
    return specs;
  }
}
