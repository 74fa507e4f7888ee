/**
 * Runs one connection test of one protocol: dns, tcp, tls, then the SMTP,
 * IMAP or POP3 steps; diagnoses the first failure; returns the report with its
 * redacted transcript. Nothing here stores anything: see service.ts.
 */
import fs from 'node:fs';
import net from 'node:net';
import type { ConnectionTestReport, DnsDetails, ServerTestProtocol, TestAuthMethod, TestStepName, TlsDetails } from '../../shared/diagnosis.js';
import { IMAP_STEPS, POP3_STEPS, SMTP_STEPS } from '../../shared/diagnosis-vocabulary.js';
import type { SecurityMode } from '../../shared/mailbox.js';
import { diagnose, type FailureFacts } from '../diagnose/diagnose.js';
import { curlCommand } from './curl-command.js';
import type { DnsResolver, ResolvedAddress } from './dns-resolver.js';
import { runImapSteps } from './imap-probe.js';
import { runPop3Steps } from './pop3-probe.js';
import { connectTcp, SocketFailure, startTls, TappedStream, withLimits } from './line-socket.js';
import { learnServerTls, ProbeConnection, refusedOnVersion, tlsFailure, verifyOrFail } from './probe-connection.js';
import { tokenFailureFacts } from '../diagnose/token-facts.js';
import { runSmtpSteps } from './smtp-probe.js';
import { StepError, StepRecorder, TestCancelled, type StepProgress } from './step-recorder.js';
import { certificateNames, describeTls, readTlsDetails, stepTlsOf } from './tls-details.js';
import { detectProtocol } from './detect-protocol.js';
import { Redactor, Transcript } from './transcript.js';
import { renderWords } from '../../shared/setting-words.js';
import { plaintextSignInWarnings } from './sign-in-warnings.js';

/** Everything one test needs. Secrets are used for this run only. */
export interface TestSpec {
  protocol: ServerTestProtocol;
  host: string;
  port: number;
  security: SecurityMode;
  auth: TestAuthMethod;
  /** User name to sign in with ('' for auth none). */
  user: string;
  password?: string;
  token?: string;
  /** The admin allowed the token's account to differ from `user` (a person with Full Access to a shared mailbox). */
  allowOtherAccount?: boolean;
  /** IMAP folder to select. */
  folder?: string;
  /** SMTP envelope sender; with `to`, a test message is sent. */
  from?: string;
  to?: string;
  /** Per-step timeout, ms. */
  timeoutMs: number;
  /** The domain whose MX records the DNS step shows (the mailbox's address domain). */
  mxDomain?: string;
  /** Extra CA certificates (PEM) to trust for this test, on top of Node's and NODE_EXTRA_CA_CERTS. */
  ca?: string[];
}

/** What a test needs from its surroundings. */
export interface TestEnvironment {
  resolver: DnsResolver;
  signal?: AbortSignal;
  onStep?: (progress: StepProgress) => void;
  /** Whose shell the curl command is for. Default: this machine's. */
  platform?: NodeJS.Platform;
  /** The CA file curl should trust (default: NODE_EXTRA_CA_CERTS when set). */
  caFile?: string;
}

/** The result of one test: the CLI report plus what the UI and the store keep. */
export interface TestOutcome extends ConnectionTestReport {
  startedAt: number;
  durationMs: number;
  cancelled: boolean;
  curlCommand: string;
  tls: TlsDetails | null;
  dns: DnsDetails | null;
}

function bareHost(host: string): string {
  return host.replace(/^\[|\]$/g, '');
}

function plannedSteps(spec: TestSpec): TestStepName[] {
  if (spec.protocol === 'imap') return [...IMAP_STEPS];
  if (spec.protocol === 'pop3') return [...POP3_STEPS];
  return SMTP_STEPS.filter((s) => spec.to || (s !== 'mail-from' && s !== 'rcpt-to' && s !== 'data'));
}

/** Runs one test. Never throws for a failed test: the failure is in the outcome. */
export async function runConnectionTest(spec: TestSpec, env: TestEnvironment): Promise<TestOutcome> {
  const startedAt = Date.now();
  const started = performance.now();
  const redactor = new Redactor();
  redactor.add(spec.password, spec.token);
  const transcript = new Transcript(startedAt, redactor);
  const rec = new StepRecorder(plannedSteps(spec), spec.timeoutMs, env.signal, env.onStep);
  let dnsDetails: DnsDetails | null = null;
  let tlsDetails: TlsDetails | undefined;
  let conn: ProbeConnection | undefined;
  let rawSocket: net.Socket | undefined;
  let cancelled = false;
  const host = bareHost(spec.host);

  transcript.info(
    `Testing ${spec.protocol.toUpperCase()} on ${spec.host} port ${spec.port}, security ${spec.security}, auth ${spec.auth}${spec.user ? ` as ${spec.user}` : ''}; step timeout ${spec.timeoutMs} ms.`,
  );

  try {
    // ---- dns
    const addresses = await rec.run(
      'dns',
      async (limits) => {
        if (net.isIP(host)) {
          dnsDetails = { host, addresses: [{ address: host, family: net.isIP(host) }], mxDomain: null, mx: null };
          return { detail: `${host} is an IP address: no lookup needed`, value: [{ address: host, family: net.isIP(host) }] as ResolvedAddress[] };
        }
        let found: ResolvedAddress[];
        try {
          found = await withLimits(env.resolver.lookup(host), limits, `looking up ${host}`);
        } catch (error) {
          if (error instanceof SocketFailure) {
            if (error.kind === 'cancelled') throw error;
            throw new StepError({ kind: 'timeout', errorCode: 'ETIMEOUT' }, `no answer from ${env.resolver.description} for ${host}`);
          }
          const code = (error as NodeJS.ErrnoException).code ?? 'ENOTFOUND';
          throw new StepError({ kind: 'dns', errorCode: code }, `${host} was not found (${code}, ${env.resolver.description})`);
        }
        const details: DnsDetails = { host, addresses: found, mxDomain: null, mx: null };
        let mxNote = '';
        if (spec.mxDomain) {
          details.mxDomain = spec.mxDomain;
          try {
            details.mx = await withLimits(env.resolver.resolveMx(spec.mxDomain), limits, `looking up the MX records of ${spec.mxDomain}`);
            mxNote = details.mx.length ? `; MX of ${spec.mxDomain}: ${details.mx.map((m) => `${m.exchange} (${m.priority})`).join(', ')}` : `; ${spec.mxDomain} has no MX records`;
          } catch (error) {
            if (error instanceof SocketFailure && error.kind === 'cancelled') throw error;
            details.mx = [];
            mxNote = `; no MX records found for ${spec.mxDomain} (${(error as NodeJS.ErrnoException).code ?? 'no answer'})`;
          }
        }
        dnsDetails = details;
        transcript.info(`DNS (${env.resolver.description}): ${host} -> ${found.map((a) => a.address).join(', ')}${mxNote}`);
        return { detail: `${found.map((a) => a.address).join(', ')}${mxNote}`, value: found };
      },
      (failure) => new StepError({ kind: 'dns', ...(failure.errorCode ? { errorCode: failure.errorCode } : {}) }, failure.message),
    );

    // ---- tcp: try each address in turn within the step's deadline.
    const socket = await rec.run(
      'tcp',
      async (limits) => {
        const tried: string[] = [];
        let firstFailure: SocketFailure | undefined;
        for (const { address } of addresses) {
          try {
            const connected = await connectTcp(address, spec.port, limits);
            transcript.info(`Connected to ${address} port ${spec.port} from ${connected.localAddress} port ${connected.localPort}.`);
            return { detail: `connected to ${address}:${spec.port}${tried.length ? ` (after ${tried.join('; ')})` : ''}`, value: connected };
          } catch (error) {
            if (!(error instanceof SocketFailure) || error.kind === 'cancelled') throw error;
            firstFailure ??= error;
            tried.push(`${address}: ${error.kind === 'timeout' ? 'no answer' : (error.errorCode ?? error.message)}`);
            transcript.info(`Could not connect to ${address} port ${spec.port}: ${error.kind === 'timeout' ? 'no answer before the step timeout' : (error.errorCode ?? error.message)}.`);
            if (error.kind === 'timeout') break;
          }
        }
        const failure = firstFailure!;
        if (failure.kind === 'timeout') throw new StepError({ kind: 'timeout', errorCode: 'ETIMEDOUT' }, `no answer from port ${spec.port} (${tried.join('; ')})`);
        throw new StepError({ kind: failure.errorCode === 'ECONNRESET' ? 'closed' : 'connect', ...(failure.errorCode ? { errorCode: failure.errorCode } : {}) }, tried.join('; '));
      },
      (failure) => new StepError({ kind: 'connect', ...(failure.errorCode ? { errorCode: failure.errorCode } : {}) }, failure.message),
    );
    rawSocket = socket;
    const target = { host, address: socket.remoteAddress ?? addresses[0]!.address, port: spec.port, ...(spec.ca ? { ca: spec.ca } : {}) };

    // ---- tls (implicit TLS only)
    if (spec.security === 'tls') {
      const secure = await rec.run(
        'tls',
        async (limits) => {
          const tapped = new TappedStream(socket);
          try {
            const tlsSocket = await startTls(tapped, { host, ...(spec.ca ? { ca: spec.ca } : {}) }, limits);
            tlsDetails = readTlsDetails(tlsSocket);
            transcript.info(`TLS: ${describeTls(tlsDetails)}`);
            try {
              verifyOrFail(tlsDetails);
            } catch (error) {
              tlsSocket.destroy();
              throw error;
            }
            return { detail: describeTls(tlsDetails), value: tlsSocket, tls: stepTlsOf(tlsDetails) };
          } catch (error) {
            if (!(error instanceof SocketFailure)) throw error;
            tapped.destroy();
            if (error.kind === 'cancelled') throw error;
            const first = tapped.firstBytes;
            const detected = first.length && error.errorCode && /WRONG_VERSION|PACKET_LENGTH|HTTP_REQUEST|UNKNOWN_PROTOCOL/.test(error.errorCode) ? detectProtocol(first) : undefined;
            if (first.length && detected) transcript.server(first.toString('latin1').split(/\r?\n/)[0]!.replace(/[^\x20-\x7e]/g, '.'));
            if (!detected) transcript.info(`TLS handshake failed: ${error.errorCode ?? error.message}`);
            const offer = refusedOnVersion(error) ? await learnServerTls(target, limits, transcript) : undefined;
            const failure = tlsFailure(error, detected, offer);
            if (detected && detected !== 'tls') failure.facts.reply = first.toString('latin1').split(/\r?\n/)[0]!.replace(/[^\x20-\x7e]/g, '.');
            throw failure;
          }
        },
        (failure) => tlsFailure(failure),
      );
      conn = new ProbeConnection(secure, target, transcript, tlsDetails);
    } else {
      rec.notUsed('tls', renderWords(spec.security === 'starttls' ? 'not used: security {sec:starttls} (encryption starts after the greeting)' : 'not used: security {sec:none}'));
      conn = new ProbeConnection(socket, target, transcript, undefined);
    }

    if (spec.protocol === 'smtp') {
      await runSmtpSteps(conn, rec, {
        security: spec.security,
        auth: spec.auth,
        user: spec.user,
        ...(spec.password !== undefined ? { password: spec.password } : {}),
        ...(spec.token !== undefined ? { token: spec.token } : {}),
        ...(spec.from ? { from: spec.from } : {}),
        ...(spec.to ? { to: spec.to } : {}),
      });
      conn.send('QUIT');
    } else if (spec.protocol === 'pop3') {
      await runPop3Steps(conn, rec, {
        security: spec.security,
        auth: spec.auth,
        user: spec.user,
        ...(spec.password !== undefined ? { password: spec.password } : {}),
        ...(spec.token !== undefined ? { token: spec.token } : {}),
      });
    } else {
      await runImapSteps(conn, rec, {
        security: spec.security,
        auth: spec.auth,
        user: spec.user,
        ...(spec.password !== undefined ? { password: spec.password } : {}),
        ...(spec.token !== undefined ? { token: spec.token } : {}),
        folder: spec.folder || 'INBOX',
      });
    }
  } catch (error) {
    if (error instanceof TestCancelled) {
      cancelled = true;
      transcript.info('The test was cancelled.');
    } else if (!(error instanceof StepError)) {
      throw error;
    }
  } finally {
    conn?.close();
    rawSocket?.destroy();
  }
  if (conn?.tls) tlsDetails = conn.tls;

  const failure = rec.failure;
  let diagnosis: ConnectionTestReport['diagnosis'] = null;
  if (failure && !cancelled) {
    const facts: FailureFacts = {
      protocol: spec.protocol,
      step: failure.step,
      ...failure.facts,
      ...(failure.facts.reply ? { reply: redactor.redact(failure.facts.reply) } : {}),
      auth: spec.auth,
      security: spec.security,
      host: spec.host,
      port: spec.port,
      resolver: env.resolver.description,
      ...(spec.user ? { user: spec.user } : {}),
      ...(spec.folder ? { folder: spec.folder } : {}),
      ...(spec.from ? { from: spec.from } : {}),
      ...(spec.to ? { to: spec.to } : {}),
    };
    if (tlsDetails) {
      facts.certificateNames = certificateNames(tlsDetails);
      if (tlsDetails.validTo) facts.certificateValidTo = tlsDetails.validTo;
    }
    if (spec.auth === 'xoauth2' && spec.token) {
      // The hint follows from the token's claims: whose token, for which service, with which permissions.
      Object.assign(facts, tokenFailureFacts(spec.token, { protocol: spec.protocol, ...(spec.user ? { user: spec.user } : {}), at: startedAt, ...(spec.allowOtherAccount ? { allowOtherAccount: true } : {}) }));
    }
    const found = diagnose(facts);
    diagnosis = {
      code: found.code,
      step: found.step,
      summary: redactor.redact(found.summary),
      hint: redactor.redact(found.hint),
      serverReply: found.serverReply === null ? null : redactor.redact(found.serverReply),
    };
    transcript.info(`Diagnosis ${found.code} (${found.rule}) at step ${found.step}: ${diagnosis.summary}`);
  }

  const warnings = plaintextSignInWarnings({
    protocol: spec.protocol,
    auth: spec.auth,
    encryptedAtSignIn: Boolean(conn?.secure),
    authStep: rec.steps.find((s) => s.name === 'auth'),
    authRefusedByServer: failure?.step === 'auth' && failure.facts.kind === 'reply' && failure.facts.credentialSent !== false,
  });
  for (const warning of warnings) transcript.info(`Warning ${warning.code}: ${warning.message}`);

  const caFile = env.caFile ?? process.env.NODE_EXTRA_CA_CERTS;
  return {
    ok: !failure && !cancelled,
    protocol: spec.protocol,
    target: { host: spec.host, port: spec.port, security: spec.security },
    steps: rec.steps.map((s) => ({ ...s, detail: redactor.redact(s.detail) })),
    diagnosis,
    transcript: transcript.toJSON(),
    ...(warnings.length ? { warnings } : {}),
    startedAt,
    durationMs: Math.round(performance.now() - started),
    cancelled,
    curlCommand: curlCommand({
      protocol: spec.protocol,
      host: spec.host,
      port: spec.port,
      security: spec.security,
      auth: spec.auth,
      user: spec.user,
      ...(spec.folder ? { folder: spec.folder } : {}),
      ...(spec.from ? { from: spec.from } : {}),
      ...(spec.to ? { to: spec.to } : {}),
      ...(caFile && fs.existsSync(caFile) ? { caFile } : {}),
      platform: env.platform ?? process.platform,
    }),
    tls: tlsDetails ?? null,
    dns: dnsDetails,
  };
}
