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
  GraphTestInput,
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
import { runGraphTest } from './graph-probe.js';
import { graphBaseUrl } from '../graph/graph-client.js';
import type { HttpFetch } from '../auth/http.js';

/** Gives the engine an OAuth access token for a mailbox (the auth service implements it). */
export interface AccessTokenSource {
  /**
   * `otherAccountAllowed`: the admin let another account sign in for this
   * mailbox (a person with Full Access to a shared mailbox), so a token of
   * another account is no finding.
   */
  getAccessToken(mailboxId: number): Promise<{ accessToken: string; user?: string; account?: string; otherAccountAllowed?: boolean }>;
}

/** Gives the engine a token for Microsoft Graph from a mailbox's own sign-in (delegated or app-only). */
export interface GraphTokenSource {
  getGraphAccessToken(mailboxId: number): Promise<{ accessToken: string }>;
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
  /** Tokens for Microsoft Graph (the Graph test). */
  graphTokens?: GraphTokenSource;
  /** HTTP for the Graph test: the engine's own (the same CA trust as Microsoft sign-in). Default: node:https. */
  fetch?: HttpFetch;
  /** Microsoft Graph's base URL: the engine's Graph client's. Default: MAILROOM_GRAPH_URL, else https://graph.microsoft.com/v1.0. */
  graphBaseUrl?: string | (() => string);
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
    // A side that goes through Microsoft Graph is tested through Graph (one Graph test for both), the others on their servers.
    const viaGraph = mailbox ? graphSidesOf(mailbox, (parsed as ParsedMailboxInput).direction) : { send: false, receive: false };
    const serverSides = mailbox ? serverDirection((parsed as ParsedMailboxInput).direction, viaGraph) : undefined;
    const specs = (mailbox ? (serverSides ? await this.mailboxSpecs(mailbox, { ...(parsed as ParsedMailboxInput), direction: serverSides }) : []) : [adHocSpec(parsed as ParsedAdHocInput)]).map((spec) =>
      this.options.ca?.length ? { ...spec, ca: this.options.ca } : spec,
    );
    const mailboxId = mailbox?.id ?? null;
    const mailboxInput = parsed as ParsedMailboxInput;
    const graphSignInOk = mailbox && (viaGraph.send || viaGraph.receive) ? this.requireGraphSignIn(mailbox) : undefined;

    const controller = new AbortController();
    this.running.set(runId, controller);
    try {
      const graphRun =
        mailbox && graphSignInOk
          ? this.graphOutcome(mailbox, graphSignInOk.kind, { ...(viaGraph.send && mailboxInput.to ? { to: mailboxInput.to } : {}), timeoutMs: mailboxInput.timeoutMs ?? DEFAULT_STEP_TIMEOUT_MS }, controller.signal, runId, runOptions)
          : undefined;
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
      if (graphRun && mailbox) results.push(this.keep(await graphRun, { auth: 'xoauth2', user: mailbox.address }, runId, mailbox.id, runOptions.store !== false));
      this.options.events?.emit('connectionTests.finished', { runId, mailboxId, results });
      return results;
    } finally {
      this.running.delete(runId);
    }
  }

  /**
   * Runs the Microsoft Graph test of a saved Microsoft 365 mailbox: its
   * token, the mailbox, its folder and, with `to`, a test message. The
   * result is stored in the mailbox's history like an SMTP or IMAP test.
   */
  async runGraph(input: GraphTestInput | unknown, runOptions: RunOptions = {}): Promise<ConnectionTestResult> {
    const parsed = parseOrThrow(GraphTestInput, input, 'Graph connection test');
    const runId = parsed.runId ?? crypto.randomUUID();
    if (this.running.has(runId)) throw new AppError('CONFLICT', `A test with run id ${runId} is already running.`, { hint: 'Use a new run id for each test.' });
    const mailbox = this.mailboxService().get(parsed.mailboxId);
    const signIn = this.requireGraphSignIn(mailbox);
    const controller = new AbortController();
    this.running.set(runId, controller);
    try {
      const outcome = await this.graphOutcome(mailbox, signIn.kind, { ...(parsed.to ? { to: parsed.to } : {}), timeoutMs: parsed.timeoutMs ?? DEFAULT_STEP_TIMEOUT_MS }, controller.signal, runId, runOptions);
      // A bearer token, like XOAUTH2's: the stored result says so, and whose mailbox it was.
      const result = this.keep(outcome, { auth: 'xoauth2', user: mailbox.address }, runId, mailbox.id, runOptions.store !== false);
      this.options.events?.emit('connectionTests.finished', { runId, mailboxId: mailbox.id, results: [result] });
      return result;
    } finally {
      this.running.delete(runId);
    }
  }

  /** Graph signs in with the mailbox's Microsoft 365 sign-in; a mailbox with none is refused before anything runs. */
  private requireGraphSignIn(mailbox: Mailbox): { side: 'imap' | 'smtp'; kind: 'delegated' | 'app' } {
    const signIn = graphSignIn(mailbox);
    if (!signIn) {
      throw new AppError('VALIDATION_FAILED', `Mailbox "${mailbox.name}" signs in with a password; Microsoft Graph needs its Microsoft 365 sign-in (OAuth 2.0).`, {
        hint: `Choose Microsoft 365 OAuth 2.0 (or app-only) for the mailbox and sign in: mailroom mailbox update "${mailbox.name}" --auth oauth2, then mailroom oauth login "${mailbox.name}".`,
        issues: [{ path: 'mailboxId', message: 'signs in with a password; Graph needs OAuth 2.0' }],
      });
    }
    return signIn;
  }

  /** Runs the Graph probe for a mailbox, announcing its steps like any test's. */
  private graphOutcome(mailbox: Mailbox, signIn: 'delegated' | 'app', what: { to?: string; timeoutMs: number }, signal: AbortSignal, runId: string, runOptions: RunOptions): Promise<TestOutcome> {
    const graphTokens = this.options.graphTokens;
    return runGraphTest(
      {
        baseUrl: typeof this.options.graphBaseUrl === 'function' ? this.options.graphBaseUrl() : (this.options.graphBaseUrl ?? graphBaseUrl()),
        mailbox: mailbox.address,
        folder: mailbox.imap.folder,
        ...(what.to ? { to: what.to } : {}),
        saveToSentItems: mailbox.graph?.saveToSentItems ?? true,
        timeoutMs: what.timeoutMs,
        signIn,
        getToken: async () => {
          if (!graphTokens) throw new AppError('OAUTH_SIGN_IN_REQUIRED', 'This Mailroom cannot get tokens for Microsoft Graph.', { hint: 'Update Mailroom.' });
          return graphTokens.getGraphAccessToken(mailbox.id);
        },
        ...(this.options.ca?.length ? { ca: this.options.ca } : {}),
      },
      {
        signal,
        ...(this.options.platform ? { platform: this.options.platform } : {}),
        ...(this.options.fetch ? { fetch: this.options.fetch } : {}),
        onStep: (step) => {
          runOptions.onStep?.('graph', step);
          this.options.events?.emit('connectionTests.progress', { runId, mailboxId: mailbox.id, protocol: 'graph', step });
        },
      },
    );
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

  private keep(outcome: TestOutcome, spec: Pick<TestSpec, 'auth' | 'user'>, runId: string, mailboxId: number | null, store: boolean, warnings: NonNullable<ConnectionTestResult['warnings']> = []): ConnectionTestResult {
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
    const what = result.protocol === 'graph' ? `Microsoft Graph test of ${result.user || result.target.host}` : `${result.protocol.toUpperCase()} test of ${result.target.host}:${result.target.port}`;
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

/**
 * Which sign-in a mailbox's Graph test uses: the side that goes through
 * Graph (sending first), else whichever side signs in with OAuth 2.0;
 * undefined when neither does (Graph has no password sign-in).
 */
export function graphSignIn(mailbox: Mailbox): { side: 'imap' | 'smtp'; kind: 'delegated' | 'app' } | undefined {
  const oauth = (auth: string) => auth === 'oauth2' || auth === 'oauth2-app';
  const order: ('imap' | 'smtp')[] = mailbox.sendVia === 'graph' ? ['smtp', 'imap'] : mailbox.receiveVia === 'graph' ? ['imap', 'smtp'] : ['imap', 'smtp'];
  for (const side of order) {
    const auth = mailbox[side].auth;
    if (oauth(auth)) return { side, kind: auth === 'oauth2-app' ? 'app' : 'delegated' };
  }
  return undefined;
}

/** Which of a saved-mailbox test's directions go through Microsoft Graph. */
export function graphSidesOf(mailbox: Mailbox, direction: 'incoming' | 'outgoing' | 'both'): { send: boolean; receive: boolean } {
  return { send: mailbox.sendVia === 'graph' && direction !== 'incoming', receive: mailbox.receiveVia === 'graph' && direction !== 'outgoing' };
}

/** The directions still tested on their servers once the Graph sides are taken out; undefined when none is. */
function serverDirection(direction: 'incoming' | 'outgoing' | 'both', viaGraph: { send: boolean; receive: boolean }): 'incoming' | 'outgoing' | 'both' | undefined {
  const outgoing = direction !== 'incoming' && !viaGraph.send;
  const incoming = direction !== 'outgoing' && !viaGraph.receive;
  return outgoing && incoming ? 'both' : outgoing ? 'outgoing' : incoming ? 'incoming' : undefined;
}
