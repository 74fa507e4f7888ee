/**
 * The engine's entry point: opens the store in a data folder and wires the
 * services. The desktop app, the browser console and the CLI all start here.
 */
import { incomingProtocolOf } from '../shared/incoming.js';
import fs from 'node:fs';
import { AppError } from '../shared/errors.js';
import { openDatabase, type Db } from '../store/db.js';
import { SecretBox, type KeyProvider } from '../store/secret-box.js';
import { SecretRepo } from '../store/secret-repo.js';
import { OAuthRepo } from '../store/oauth-repo.js';
import { databaseFile } from './data-dir.js';
import { EventBus } from './events.js';
import { defaultKeyProvider } from './keys.js';
import { MailboxService } from './mailboxes.js';
import { OAuthService, type HttpFetch, type OpenExternal } from './auth/index.js';
import { Detector, detectorOptionsFromEnv, type DetectorOptions } from './autodetect/index.js';
import { ActivityLog } from './activity-log.js';
import { OutboxService } from './outbox/index.js';
import { RelayService } from './relay/index.js';
import { DiagnosticsService } from './diagnostics/bundle.js';
import { registerEngineSections } from './diagnostics/sections.js';
import { SiteSetupService } from './site-setup/index.js';
import { ConnectionTestService } from './connection-test/index.js';
import { InboxService } from './inbox/index.js';
import { usesAppOnly } from '../shared/mailbox.js';
import { TokenDoctor, appOnlyTokenSource, delegatedTokenSource } from './auth/token-doctor.js';
import { usesOAuth } from './auth/sign-in-requirement.js';
import { BASIC_AUTH_REFUSAL_CODES, readinessReport, type SideHistory } from './readiness.js';
import type { ReadinessReport } from '../shared/readiness.js';
import { HealthService } from './health/health-service.js';
import { ProbeService } from './health/probe.js';
import { ProbeMarker } from './health/probe-marker.js';
import { GraphClient, graphBaseUrl } from './graph/graph-client.js';

export interface MailroomOptions {
  dataDir: string;
  /** Defaults to MAILROOM_SECRET_KEY or the data folder's key file. */
  keyProvider?: KeyProvider;
  /** better-sqlite3 native binding for a non-Node ABI (Electron). */
  nativeBinding?: string;
  /** HTTP for Microsoft sign-in and autodetect. Default: the global fetch (tests pass one that trusts their CA). */
  fetch?: HttpFetch;
  /** Autodetect's resolver, URLs and timeouts. Default: from MAILROOM_DNS_SERVERS, MAILROOM_USER_REALM_URL, MAILROOM_AUTOCONFIG_URLS. */
  detector?: DetectorOptions;
  /** Opens a sign-in page in the system browser (the desktop app passes shell.openExternal). */
  openExternal?: OpenExternal;
  /** How long a Microsoft sign-in waits for the browser. Default 5 minutes. */
  signInTimeoutMs?: number;
  /** Microsoft Graph's base URL. Default: MAILROOM_GRAPH_URL, else https://graph.microsoft.com/v1.0 (tests pass their peer's). */
  graphBaseUrl?: string;
}

export interface Mailroom {
  readonly dataDir: string;
  readonly db: Db;
  readonly events: EventBus;
  readonly keys: KeyProvider;
  readonly mailboxes: MailboxService;
  /** The activity log over everything the engine does. */
  readonly log: ActivityLog;
  /** The help-desk site setup assistant (checklist, registry SQL, web.config toggle). */
  readonly siteSetup: SiteSetupService;
  /** Microsoft 365 OAuth 2.0: settings, sign-in, token provider (getAccessToken), health. */
  readonly oauth: OAuthService;
  /** Autodetect from an address: MX, user realm, autoconfig, provider table. */
  readonly detector: Detector;
  /** Step-by-step SMTP/IMAP connection tests with diagnosis; keeps the newest results per mailbox. */
  readonly connectionTests: ConnectionTestService;
  /** Diagnostics bundles: areas register their sections here. */
  readonly diagnostics: DiagnosticsService;
  /** Inbound mail: IMAP import, imported messages, receive log; start()/stop() run the background importers. */
  readonly inbox: InboxService;
  /** The outbox: durable queue, retries, one sender per enabled mailbox (started by runtime.ts). */
  readonly outbox: OutboxService;
  /** The local submission relay for legacy applications (listens only when started, on 127.0.0.1). */
  readonly relay: RelayService;
  /** The token doctor: a mailbox's token claims, real sign-ins with it, and what is wrong. */
  readonly doctor: TokenDoctor;
  /** The basic-authentication retirement readiness report of every mailbox side and relay account. */
  readiness(options?: { now?: number }): Promise<ReadinessReport>;
  /** Mail-flow health: the overview of every mailbox's state, its rules, the state-change log. */
  readonly health: HealthService;
  /** Round-trip probes: run one, the schedule (started by runtime.ts), the history. */
  readonly probes: ProbeService;
  /** Microsoft Graph for mailboxes that send or receive through it: one client, one per-mailbox rate limiter. */
  readonly graph: GraphClient;
  close(): void;
}

/** Opens the engine over a data folder. */
export function openMailroom(options: MailroomOptions): Mailroom {
  try {
    fs.mkdirSync(options.dataDir, { recursive: true });
  } catch (error) {
    throw new AppError('DATA_DIR_UNUSABLE', `Cannot use ${options.dataDir} as the data folder: ${(error as NodeJS.ErrnoException).code === 'EEXIST' || (error as NodeJS.ErrnoException).code === 'ENOTDIR' ? 'a file is in the way' : (error as Error).message}.`, {
      hint: 'Point --data-dir or MAILROOM_DATA_DIR at a folder you can write to (it is created when missing).',
      cause: error,
    });
  }
  const db = openDatabase(databaseFile(options.dataDir), options.nativeBinding ? { nativeBinding: options.nativeBinding } : {});
  const keys = options.keyProvider ?? defaultKeyProvider(options.dataDir);
  const events = new EventBus();
  const secrets = new SecretRepo(db, new SecretBox(keys));
  const mailboxes = new MailboxService(db, secrets, events);
  const log = new ActivityLog(db, events);
  const oauthRepo = new OAuthRepo(db);
  const diagnostics = new DiagnosticsService({
    log,
    mailboxes,
    // Relay credentials too: the STARTTLS key and the account hashes (the relay is wired below).
    secrets: () => [...secrets.allPlaintexts(), ...relay.credentialsForScrubbing(), ...oauth.appOnly.credentialsForScrubbing()],
    // The tenant and the app registration, and the tenants accounts signed in from.
    identifiers: () => {
      const settings = oauthRepo.getSettings();
      const accounts = mailboxes.list().flatMap((m) => {
        const account = oauthRepo.getAccount(m.id);
        return account ? [account.tenantId ?? '', account.clientId] : [];
      });
      const app = oauth.appOnly.getSettings();
      return [settings?.tenant ?? '', settings?.clientId ?? '', app.tenant, app.clientId, ...accounts].filter(Boolean);
    },
  });
  const oauth = new OAuthService({
    db,
    secrets,
    mailboxes,
    events,
    log,
    ...(options.fetch ? { fetch: options.fetch } : {}),
    ...(options.openExternal ? { openExternal: options.openExternal } : {}),
    ...(options.signInTimeoutMs ? { signInTimeoutMs: options.signInTimeoutMs } : {}),
  });
  // Microsoft Graph's address, one for the Graph client and the Graph connection test.
  // Graph's address follows the sign-in's cloud (national clouds have their own); a test or MAILROOM_GRAPH_URL points it elsewhere.
  const graphBase = (): string => options.graphBaseUrl ?? graphBaseUrl({ authorityHost: oauthRepo.getSettings()?.authorityHost ?? null });
  // The relay's From warnings belong to a test of the outgoing side (the relay is wired below).
  const connectionTests = new ConnectionTestService({
    db,
    mailboxes,
    events,
    tokens: oauth,
    // The Graph test asks the mailbox's own sign-in for a Microsoft Graph token.
    graphTokens: { getGraphAccessToken: (mailboxId) => oauth.getAccessToken(mailboxId, { resource: 'graph' }) },
    graphBaseUrl: graphBase,
    ...(options.fetch ? { fetch: options.fetch } : {}),
    log,
    smtpWarnings: (mailbox) => relay.fromWarnings(mailbox),
  });
  // Probes are recognised by the importer by their header alone (see probe-marker.ts).
  const marker = new ProbeMarker(db);
  // One Graph client for the process: the limits it keeps (4 in flight, 10,000 per 10 minutes) are per mailbox across sending and receiving.
  const graph = new GraphClient({ tokens: oauth, ...(options.fetch ? { fetch: options.fetch } : {}), baseUrl: graphBase });
  const inbox = new InboxService({ db, mailboxes, log, events, tokens: oauth, graph, isProbe: (raw) => marker.probeTokenOf(raw) !== null });
  const outbox = new OutboxService({ db, mailboxes, log, events, tokens: oauth, graph });
  const relay = new RelayService({ db, box: new SecretBox(keys), mailboxes, outbox, log });
  const delegated = delegatedTokenSource(oauth);
  const appOnlySource = appOnlyTokenSource({ getAccessToken: (id, o) => oauth.getAccessToken(id, o), appOnlySettings: () => oauth.appOnly.getSettings() });
  const doctor = new TokenDoctor({
    // The doctor reads roles instead of scopes by itself for an app-only token.
    tokenSourceFor: (mailbox) => (usesAppOnly(mailbox) ? appOnlySource : usesOAuth(mailbox) ? delegated : null),
    password: (id, protocol) => (protocol === 'smtp' ? mailboxes.smtpPassword(id) : mailboxes.password(id)),
    relayWarnings: (mailbox) => relay.fromWarnings(mailbox),
    log,
  });
  const health = new HealthService({ db, mailboxes, signIns: () => oauth.states(), appOnlyCredentialExpiry: () => {
      const expiry = oauth.appOnly.getSettings().secretExpiry;
      return expiry ? { expiresAt: expiry.expiresAt, credential: expiry.credential } : null;
    }, log, events });
  const probes = new ProbeService({ db, mailboxes, outboxSettings: (id) => outbox.settings(id), tokens: oauth, log, events, marker, graph });
  const detector = new Detector({ ...detectorOptionsFromEnv(), ...(options.fetch ? { fetch: options.fetch } : {}), ...options.detector });
  /** What the tests, sends and imports of one side saw last: its last test's code, and a refusal of its password since its last success. */
  const sideHistory = (mailboxId: number, protocol: 'imap' | 'smtp'): SideHistory => {
    // The incoming side of a POP3 mailbox is tested (and its tests logged) over POP3.
    const tested = protocol === 'imap' ? incomingProtocolOf(mailboxes.get(mailboxId)) : protocol;
    const tests = connectionTests.history(mailboxId, 50).filter((t) => t.protocol === tested && !t.cancelled);
    const lastTest = tests[0];
    const label = tested.toUpperCase();
    const ofSide = (e: { direction: string; message: string }) => (e.direction === 'test' ? e.message.startsWith(label) : e.direction === (protocol === 'smtp' ? 'send' : 'receive'));
    const refusals = BASIC_AUTH_REFUSAL_CODES.flatMap((code) => log.query({ mailboxId, code }, 20).filter(ofSide));
    const newest = refusals.sort((a, b) => b.at - a.at)[0];
    const lastSuccess = Math.max(
      tests.find((t) => t.ok)?.startedAt ?? 0,
      log.query({ mailboxId, direction: protocol === 'smtp' ? 'send' : 'receive', level: 'success' }, 1)[0]?.at ?? 0,
    );
    return {
      lastTestCode: lastTest && !lastTest.ok ? (lastTest.diagnosis?.code ?? null) : null,
      refusal: newest && newest.at > lastSuccess ? { code: newest.code!, at: newest.at } : null,
    };
  };
  const engine: Mailroom = {
    dataDir: options.dataDir,
    db,
    events,
    keys,
    mailboxes,
    log,
    siteSetup: new SiteSetupService(),
    oauth,
    detector,
    connectionTests,
    diagnostics,
    inbox,
    outbox,
    relay,
    doctor,
    readiness: (options = {}) =>
      readinessReport({
        ...(options.now !== undefined ? { now: () => options.now! } : {}),
        mailboxes: () => mailboxes.list(),
        relayAccounts: () => relay.settings().accounts,
        history: sideHistory,
        microsoft365Signs: (address) => detector.microsoft365Signs(address),
        appOnlyConfigured: () => oauth.appOnly.getSettings().configured,
      }),
    health,
    probes,
    graph,
    close: () => {
      health.stop();
      void probes.stop();
      connectionTests.cancelAll();
      void relay.stop();
      outbox.shutdown();
      void inbox.close();
      void oauth.close();
      db.close();
    },
  };
  registerEngineSections(engine);
  return engine;
}
