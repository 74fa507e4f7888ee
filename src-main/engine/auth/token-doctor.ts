/**
 * The token doctor: gets a token for a mailbox, reads its claims (never
 * printing the token), tries a real IMAP and SMTP sign-in with it, and names
 * what is wrong, each finding as `{ code, summary, hint }`:
 *
 * - getting the token failed: Entra's AADSTS codes (7000215, 7000222, 65001,
 *   50011, 700016, 90002, ...) as token-errors.ts classifies them;
 * - the claims: a Microsoft Graph audience, a missing IMAP.AccessAsUser.All /
 *   SMTP.Send (or IMAP.AccessAsApp / SMTP.SendAsApp roles for app-only), a
 *   token for another account (unless the admin allowed it for a shared
 *   mailbox), an expired token, another tenant or client
 *   (TOKEN_CLAIM_RULES in token-claims.ts);
 * - the servers' answers: an app-only token whose service principal or
 *   mailbox permission is missing (REFUSAL_RULES), SMTP AUTH off
 *   (5.7.139), basic authentication retired (5.7.30), and anything else a
 *   connection test diagnoses;
 * - a relay account that would send as an address the mailbox cannot
 *   (Exchange's SendAsDenied).
 *
 * Where the token comes from is a parameter (DoctorTokenSource): a person's
 * sign-in (delegated) today; app-only access (client credentials) plugs in
 * as another source without changing anything here. App-only tokens carry
 * `roles` instead of `scp` and no user name: the claim rules know that.
 */
import type { Mailbox } from '../../shared/mailbox.js';
import { AppError, isAppError } from '../../shared/errors.js';
import { DEFAULT_STEP_TIMEOUT_MS } from '../../shared/contract/connection-tests.js';
import type { DoctorClaims, DoctorFinding, DoctorProbe, TokenDoctorReport } from '../../shared/token-doctor.js';
import type { LogInput } from '../../shared/activity-log.js';
import { runConnectionTest, type TestOutcome, type TestSpec } from '../connection-test/run-test.js';
import { resolverFromEnvironment, type DnsResolver } from '../connection-test/dns-resolver.js';
import { SMTP_AUTH_OFF_CODES } from '../readiness.js';
import { decodeAccessToken, displayClaims, refusalFindings, tokenFindings, type TokenClaims, type TokenExpectation, type TokenProtocol } from './token-claims.js';

/** A token for the doctor: the bearer token (a secret, never shown), and what it is expected to be. */
export interface DoctorToken {
  /** The bearer token. Never logged, shown or returned. */
  accessToken: string;
  /** The XOAUTH2 user name: the mailbox (its address or UPN; for a shared mailbox, the shared address). */
  user: string;
  /** The admin allowed another account to sign in for this mailbox (a person with Full Access to a shared mailbox). */
  otherAccountAllowed?: boolean;
  /** The tenant configured in Mailroom (a GUID, or a domain that is not compared). */
  tenantId?: string;
  /** The Application (client) ID configured in Mailroom. */
  clientId?: string;
}

/**
 * Where the doctor gets a token. `getToken` throws an AppError with a code
 * when no token can be had (an AADSTS code, a missing sign-in): the doctor
 * reports it as a finding.
 */
export interface DoctorTokenSource {
  /** `delegated`: a person's sign-in; `app`: the app's own (client credentials). */
  readonly kind: 'delegated' | 'app';
  getToken(mailbox: Mailbox): Promise<DoctorToken>;
}

/** Which sides of a mailbox sign in with a token, and which with a password. */
export interface MailboxSides {
  imap: 'token' | 'password' | 'none';
  smtp: 'token' | 'password' | 'none';
}

/** How each side of a mailbox signs in: `oauth2` (and app-only variants) with a token. */
export function mailboxSides(mailbox: Pick<Mailbox, 'imap' | 'smtp'> & Partial<Pick<Mailbox, 'receiveVia' | 'pop3'>>): MailboxSides {
  const side = (auth: string): MailboxSides['imap'] => (auth === 'password' ? 'password' : auth === 'none' ? 'none' : 'token');
  // `imap` is the incoming side: a POP3 mailbox's is its POP3 sign-in.
  const incoming = mailbox.receiveVia === 'pop3' && mailbox.pop3 ? mailbox.pop3.auth : mailbox.imap.auth;
  return { imap: side(incoming), smtp: side(mailbox.smtp.auth) };
}

/** What the doctor works with; every seam is injectable. */
export interface TokenDoctorOptions {
  /** The token source for a mailbox (null: it signs in with no token at all). */
  tokenSourceFor(mailbox: Mailbox): DoctorTokenSource | null;
  /** A password side's stored password, for its real sign-in: SMTP's own when it has one. */
  password(mailboxId: number, protocol: 'imap' | 'smtp'): string | undefined;
  /** Relay accounts that would send as an address this mailbox cannot (RelayService.fromWarnings). */
  relayWarnings?(mailbox: Mailbox): { code: string; message: string; hint: string }[];
  /** DNS for the sign-in attempts. Default: MAILROOM_DNS_SERVERS, else the system's. */
  resolver?: DnsResolver;
  /** Extra CA certificates (PEM) to trust. */
  ca?: string[];
  /** Timeout of each step of a sign-in attempt. Default 15 s. */
  timeoutMs?: number;
  /** Runs one sign-in attempt. Default: the connection test's own runner. */
  runTest?(spec: TestSpec): Promise<TestOutcome>;
  /** One line per doctor run (direction `auth`), never the token. */
  log?: { write(input: LogInput): unknown };
  /** Now, ms UTC (tests inject a clock). */
  now?(): number;
}

/** What a server's refusal of a token is, for the refusal rules. */
function refusalOf(outcome: TestOutcome): 'sign-in-refused' | 'mailbox-not-connected' {
  return /not connected/i.test(outcome.diagnosis?.serverReply ?? '') ? 'mailbox-not-connected' : 'sign-in-refused';
}

/** Diagnosis codes that mean "the server refused the token": the claims and the refusal rules explain them. */
const TOKEN_REFUSAL_CODES = new Set(['OAUTH_TOKEN_REJECTED', 'OAUTH_WRONG_ACCOUNT', 'OAUTH_APP_NO_MAILBOX_ACCESS']);

const LABEL = { imap: 'IMAP', pop3: 'POP3', smtp: 'SMTP' } as const;
/** The token-claims name of a probe's protocol (Exchange's POP permissions are POP.*). */
const tokenProtocolOf = (protocol: 'imap' | 'pop3' | 'smtp'): TokenProtocol => (protocol === 'pop3' ? 'pop' : protocol);

/** Runs the doctor on mailboxes. */
export class TokenDoctor {
  private readonly resolver: DnsResolver;

  constructor(private readonly options: TokenDoctorOptions) {
    this.resolver = options.resolver ?? resolverFromEnvironment();
  }

  /**
   * Examines one mailbox. Never throws for what it finds (a token that
   * cannot be had is a finding); throws only for a mailbox that does not exist.
   */
  async examine(mailbox: Mailbox, options: { probe?: boolean } = {}): Promise<TokenDoctorReport> {
    const now = this.options.now?.() ?? Date.now();
    const findings: DoctorFinding[] = [];
    const add = (finding: DoctorFinding) => {
      if (!findings.some((f) => f.code === finding.code && f.summary === finding.summary)) findings.push(finding);
    };
    const sides = mailboxSides(mailbox);
    const source = sides.imap === 'token' || sides.smtp === 'token' ? this.options.tokenSourceFor(mailbox) : null;

    let token: DoctorToken | undefined;
    if (!source && (sides.imap === 'token' || sides.smtp === 'token')) {
      // A sign-in method this Mailroom has no token source for: say so rather than report a clean bill of health.
      add({
        code: 'OAUTH_NOT_CONFIGURED',
        summary: `${mailbox.name} signs in with OAuth 2.0 (${[mailbox.imap.auth, mailbox.smtp.auth].filter((a) => a !== 'password' && a !== 'none').join(', ')}), but this Mailroom cannot get a token for that sign-in method.`,
        hint: 'Choose Microsoft 365 OAuth 2.0 for the mailbox and sign in, or update Mailroom.',
      });
    }
    if (source) {
      try {
        token = await source.getToken(mailbox);
      } catch (error) {
        const info = isAppError(error) ? error : new AppError('OAUTH_SIGN_IN_FAILED', `Getting a token failed: ${(error as Error).message}`);
        add({ code: info.code, summary: info.message, hint: info.hint ?? 'Sign in again on the mailbox, then run the doctor again.' });
      }
    }

    let claims: TokenClaims | undefined;
    let claimsUnreadable: TokenDoctorReport['claimsUnreadable'] = null;
    let expectation: TokenExpectation | undefined;
    if (token) {
      const decoded = decodeAccessToken(token.accessToken);
      const incoming: TokenProtocol = mailbox.receiveVia === 'pop3' && mailbox.pop3 ? 'pop' : 'imap';
      const protocols: TokenProtocol[] = [...(sides.imap === 'token' ? [incoming] : []), ...(sides.smtp === 'token' ? (['smtp'] as const) : [])];
      expectation = {
        protocols,
        mailbox: token.user,
        now,
        ...(token.otherAccountAllowed ? { allowOtherAccount: true } : {}),
        ...(token.tenantId ? { tenantId: token.tenantId } : {}),
        ...(token.clientId ? { clientId: token.clientId } : {}),
      };
      if (decoded.readable) {
        claims = decoded.claims;
        for (const finding of tokenFindings(claims, expectation)) add(finding);
      } else claimsUnreadable = decoded.reason;
    }

    // A relay account that keeps the application's From on a Microsoft 365 mailbox: Exchange refuses it (SendAsDenied).
    for (const warning of this.options.relayWarnings?.(mailbox) ?? []) add({ code: warning.code, summary: warning.message, hint: warning.hint });

    const probes: DoctorProbe[] = [];
    if (options.probe !== false) {
      const specs = this.probeSpecs(mailbox, sides, token);
      const outcomes = await Promise.all(specs.map((spec) => (this.options.runTest ?? ((s: TestSpec) => runConnectionTest(s, { resolver: this.resolver })))(spec)));
      outcomes.forEach((outcome, i) => {
        const spec = specs[i]!;
        const failedStep = outcome.steps.find((s) => s.status === 'failed');
        probes.push({
          protocol: spec.protocol,
          auth: spec.auth === 'xoauth2' ? 'xoauth2' : 'password',
          host: spec.host,
          port: spec.port,
          ok: outcome.ok,
          step: failedStep?.name ?? null,
          code: outcome.diagnosis?.code ?? null,
          serverReply: outcome.diagnosis?.serverReply ?? null,
        });
        if (outcome.ok || !outcome.diagnosis) return;
        const where = `${LABEL[spec.protocol]} sign-in at ${spec.host}:${spec.port}`;
        if (spec.auth === 'xoauth2' && claims && expectation && TOKEN_REFUSAL_CODES.has(outcome.diagnosis.code)) {
          // The claims explain a refusal when they say something is wrong (those findings are listed already);
          // otherwise the refusal rules say what Exchange's side lacks (for an app-only token: the service principal and the mailbox permission).
          const claimCodes = new Set(findings.map((f) => f.code));
          for (const finding of refusalFindings(claims, { ...expectation, protocols: [tokenProtocolOf(spec.protocol)] }, refusalOf(outcome))) {
            if (!claimCodes.has(finding.code)) add({ ...finding, summary: `${where}: ${finding.summary}${outcome.diagnosis.serverReply ? ` The server said: ${outcome.diagnosis.serverReply}` : ''}` });
          }
          return;
        }
        add({ code: outcome.diagnosis.code, summary: `${where}: ${outcome.diagnosis.summary}`, hint: outcome.diagnosis.hint });
      });
    }

    // Where Microsoft 365 refuses the protocol itself, no token fixes it: Microsoft Graph goes around it.
    const smtpAuthOff = probes.some((p) => p.protocol === 'smtp' && p.code !== null && SMTP_AUTH_OFF_CODES.includes(p.code));
    if (smtpAuthOff && mailbox.sendVia !== 'graph') {
      add({
        code: 'GRAPH_SUGGESTED_FOR_SENDING',
        summary: `SMTP AUTH is turned off for ${mailbox.name}'s tenant or mailbox, which refuses OAuth 2.0 as well; Microsoft Graph sends without SMTP AUTH.`,
        hint: `Turn Authenticated SMTP on for the mailbox, or send through Microsoft Graph: Mailboxes > ${mailbox.name} > Edit > Send through "Microsoft Graph", or: mailroom mailbox update "${mailbox.name}" --send-via graph (the app registration needs the Microsoft Graph permission Mail.Send with admin consent; then mailroom test graph "${mailbox.name}").`,
      });
    }
    const imapOff = findings.some((f) => f.code === 'TOKEN_REFUSED_MAILBOX_SETTINGS' && /^IMAP /.test(f.summary));
    if (imapOff && mailbox.receiveVia !== 'graph') {
      add({
        code: 'GRAPH_SUGGESTED_FOR_RECEIVING',
        summary: `IMAP refused a token that looks right for ${mailbox.name}: when IMAP is turned off for the mailbox or the organisation, Microsoft Graph receives without IMAP.`,
        hint: `Turn IMAP on for the mailbox, or receive through Microsoft Graph: Mailboxes > ${mailbox.name} > Edit > Receive through "Microsoft Graph", or: mailroom mailbox update "${mailbox.name}" --receive-via graph (the app registration needs the Microsoft Graph permission Mail.ReadWrite with admin consent; then mailroom test graph "${mailbox.name}").`,
      });
    }

    const report: TokenDoctorReport = {
      ok: findings.length === 0,
      mailboxId: mailbox.id,
      mailbox: mailbox.name,
      tokenSource: source?.kind ?? null,
      claims: claims ? (displayClaims(claims) as DoctorClaims) : null,
      claimsUnreadable,
      findings,
      probes,
      checkedAt: now,
    };
    try {
      this.options.log?.write({
        mailboxId: mailbox.id,
        direction: 'auth',
        level: report.ok ? 'success' : 'warning',
        code: findings[0]?.code ?? null,
        message: report.ok
          ? `Token doctor for ${mailbox.name}: nothing wrong found${probes.length ? ` (${probes.map((p) => `${LABEL[p.protocol]} sign-in worked`).join(', ')})` : ''}.`
          : `Token doctor for ${mailbox.name}: ${findings.length} finding${findings.length === 1 ? '' : 's'} (${findings.map((f) => f.code).join(', ')}).`,
        detail: findings.map((f) => `${f.code}: ${f.summary}\nWhat to change: ${f.hint}`).join('\n\n') || null,
      });
    } catch {
      // The log must not fail the doctor.
    }
    return report;
  }

  /** One sign-in attempt per side that signs in: with the token, or with the stored password. */
  private probeSpecs(mailbox: Mailbox, sides: MailboxSides, token: DoctorToken | undefined): (TestSpec & { protocol: 'imap' | 'pop3' | 'smtp' })[] {
    const timeoutMs = this.options.timeoutMs ?? DEFAULT_STEP_TIMEOUT_MS;
    const credentials = (side: MailboxSides['imap'], username: string, protocol: 'imap' | 'smtp'): Pick<TestSpec, 'auth' | 'user' | 'password' | 'token' | 'allowOtherAccount'> | null => {
      const password = side === 'password' ? this.options.password(mailbox.id, protocol) : undefined;
      if (side === 'token') {
        if (!token) return null;
        return { auth: 'xoauth2', user: token.user || username, token: token.accessToken, ...(token.otherAccountAllowed ? { allowOtherAccount: true } : {}) };
      }
      if (side === 'password' && password) return { auth: 'password', user: username, password };
      return null;
    };
    const specs: (TestSpec & { protocol: 'imap' | 'pop3' | 'smtp' })[] = [];
    const pop3 = mailbox.receiveVia === 'pop3' ? mailbox.pop3 : null;
    const imap = credentials(sides.imap, pop3 ? pop3.username : mailbox.imap.username, 'imap');
    if (imap && pop3) specs.push({ protocol: 'pop3', host: pop3.host, port: pop3.port, security: pop3.security, ...imap, timeoutMs, ...(this.options.ca ? { ca: this.options.ca } : {}) });
    else if (imap) specs.push({ protocol: 'imap', host: mailbox.imap.host, port: mailbox.imap.port, security: mailbox.imap.security, ...imap, folder: mailbox.imap.folder, timeoutMs, ...(this.options.ca ? { ca: this.options.ca } : {}) });
    const smtp = credentials(sides.smtp, mailbox.smtp.username, 'smtp');
    if (smtp) specs.push({ protocol: 'smtp', host: mailbox.smtp.host, port: mailbox.smtp.port, security: mailbox.smtp.security, ...smtp, timeoutMs, ...(this.options.ca ? { ca: this.options.ca } : {}) });
    return specs;
  }
}

/** What the delegated source needs from the OAuth service. */
export interface DelegatedTokenProvider {
  getAccessToken(mailboxId: number, options?: { forceRefresh?: boolean }): Promise<{ accessToken: string; user: string; otherAccountAllowed?: boolean }>;
  getSettings(): { configured: boolean; tenant: string; clientId: string };
  health(mailboxId: number): { lastError: { code: string; message: string; hint?: string } | null };
}

/**
 * A person's sign-in as the doctor's token source: a fresh token from
 * Microsoft (a forced refresh, so that a refresh token Entra no longer
 * accepts shows now, with its AADSTS code, not at the next send).
 */
export function delegatedTokenSource(oauth: DelegatedTokenProvider): DoctorTokenSource {
  return {
    kind: 'delegated',
    async getToken(mailbox) {
      try {
        const token = await oauth.getAccessToken(mailbox.id, { forceRefresh: true });
        const settings = oauth.getSettings();
        return {
          accessToken: token.accessToken,
          user: token.user,
          ...(token.otherAccountAllowed ? { otherAccountAllowed: true } : {}),
          ...(settings.configured ? { tenantId: settings.tenant, clientId: settings.clientId } : {}),
        };
      } catch (error) {
        // A mailbox already waiting for a sign-in answers OAUTH_SIGN_IN_REQUIRED with the words of the
        // failure that put it there: report that failure's own code (OAUTH_CONSENT_REQUIRED, ...).
        if (isAppError(error) && error.code === 'OAUTH_SIGN_IN_REQUIRED') {
          const last = oauth.health(mailbox.id).lastError;
          if (last && last.code !== error.code && last.message === error.message) throw new AppError(last.code, last.message, last.hint ? { hint: last.hint } : {});
        }
        throw error;
      }
    },
  };
}

/** The app-only access an app-only token source needs: the engine's tokens (which take the client credentials for such a mailbox) and the registration. */
export interface AppOnlyTokenProvider {
  getAccessToken(mailboxId: number, options?: { forceRefresh?: boolean }): Promise<{ accessToken: string; user: string }>;
  appOnlySettings(): { configured: boolean; tenant: string; clientId: string };
}

/** The organisation's app registration (client credentials) as the doctor's token source: a fresh app-only token. */
export function appOnlyTokenSource(oauth: AppOnlyTokenProvider): DoctorTokenSource {
  return {
    kind: 'app',
    async getToken(mailbox) {
      const token = await oauth.getAccessToken(mailbox.id, { forceRefresh: true });
      const settings = oauth.appOnlySettings();
      return { accessToken: token.accessToken, user: token.user, ...(settings.configured ? { tenantId: settings.tenant, clientId: settings.clientId } : {}) };
    },
  };
}
