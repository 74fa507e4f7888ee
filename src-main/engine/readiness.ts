/**
 * The readiness report for the retirement of basic authentication in
 * Microsoft 365: for every mailbox side (IMAP, SMTP) and every relay
 * account, whether it still signs in to Microsoft 365 with a password, what
 * breaks and when, and the way out (in one click where Mailroom can do it).
 *
 * Microsoft 365 is recognised by the host (`*.office365.com`,
 * `outlook.office.com` and the national clouds' hosts), by the MX records
 * of the address's domain (`*.mail.protection.outlook.com`, `*.mx.microsoft`)
 * and by Microsoft's user realm (a managed or federated tenant), through
 * the detector's injectable resolver and URL.
 *
 * Risks: IMAP and POP with a password have been refused by Exchange Online
 * since October 2022 (`broken`); SMTP AUTH with a password works until
 * Microsoft turns it off by default at the end of December 2026 (MC786329,
 * `soon`), and is `broken` once a test, a send or an import saw Microsoft
 * refuse it (BASIC_AUTH_RETIRED 5.7.30, BASIC_AUTH_DISABLED,
 * SMTP_AUTH_DISABLED / SECURITY_DEFAULTS_BLOCKED 5.7.139). A server whose
 * last test found only TLS 1.0/1.1 (TLS_VERSION_UNSUPPORTED) is `broken`
 * whatever its provider.
 */
import type { Mailbox } from '../shared/mailbox.js';
import type { RelayAccount } from '../shared/outbox.js';
import { BASIC_SMTP_AUTH_OFF_AT, type ReadinessFix, type ReadinessMailboxRow, type ReadinessRelayRow, type ReadinessReport, type ReadinessRisk } from '../shared/readiness.js';

/** Hosts of Exchange Online's IMAP, POP and SMTP AUTH (public cloud, GCC High / DoD, 21Vianet). */
const MICROSOFT_HOST = /(^|\.)(office365\.com|outlook\.office\.com|office365\.us|partner\.outlook\.cn)$/i;

/** True for a host name of Exchange Online's client protocols. */
export function isMicrosoft365Host(host: string): boolean {
  return MICROSOFT_HOST.test(host.trim().replace(/\.$/, ''));
}

/** Diagnosis codes by which Microsoft refuses a password sign-in. */
export const BASIC_AUTH_REFUSAL_CODES = ['BASIC_AUTH_RETIRED', 'BASIC_AUTH_DISABLED', 'SMTP_AUTH_DISABLED', 'SECURITY_DEFAULTS_BLOCKED'] as const;

/**
 * Refusals that say SMTP AUTH itself is off for the tenant or the mailbox
 * (5.7.139 "SmtpClientAuthentication is disabled", security defaults): OAuth
 * 2.0 over SMTP is refused as well, so the way out is SMTP AUTH on, or
 * sending through Microsoft Graph.
 */
export const SMTP_AUTH_OFF_CODES: readonly string[] = ['SMTP_AUTH_DISABLED', 'SECURITY_DEFAULTS_BLOCKED'];

/** The network signs of an address's domain (Detector.microsoft365Signs). */
export interface Microsoft365Signs {
  /** The first MX host of Exchange Online, or null. */
  mx: string | null;
  realm: 'Managed' | 'Federated' | null;
  offline: boolean;
}

/** What the last connection test or the log saw for one side. */
export interface SideHistory {
  /** The diagnosis code of the newest connection test of this side, when it failed. */
  lastTestCode: string | null;
  /** A basic-authentication refusal seen after the side's last success: its code and when. */
  refusal: { code: string; at: number } | null;
}

/** Where the report reads from; every seam is injectable. */
export interface ReadinessSources {
  mailboxes(): Mailbox[];
  relayAccounts(): RelayAccount[];
  history(mailboxId: number, protocol: 'imap' | 'smtp'): SideHistory;
  /** MX and user realm of an address's domain (asked once per domain). */
  microsoft365Signs(address: string): Promise<Microsoft365Signs>;
  /** True when the organisation's app-only registration is set up: a password side gets "Use app-only" as a second way out. */
  appOnlyConfigured?(): boolean;
  now?(): number;
}

const DAY = 86_400_000;
const RANK: Record<ReadinessRisk, number> = { none: 0, soon: 1, broken: 2 };
const utcDay = (ms: number) => new Date(ms).toISOString().slice(0, 10);
const LABEL = { imap: 'IMAP', smtp: 'SMTP' } as const;

interface Issue {
  risk: ReadinessRisk;
  reason: string;
  action: string | null;
  fix: ReadinessFix | null;
  alternativeFix?: ReadinessFix | null;
  graphFix?: ReadinessFix | null;
}

/** Microsoft Graph as the way around a protocol Microsoft 365 refuses: the fix and the words for it. */
function useGraph(mailbox: Mailbox, protocol: 'imap' | 'smtp'): { fix: ReadinessFix; action: string } {
  const flag = protocol === 'smtp' ? '--send-via graph' : '--receive-via graph';
  const permission = protocol === 'smtp' ? 'Mail.Send' : 'Mail.ReadWrite';
  return {
    fix: { kind: 'use-graph', mailboxId: mailbox.id, account: null, targetMailboxId: null, targetMailbox: null },
    action:
      `Or ${protocol === 'smtp' ? 'send' : 'receive'} through Microsoft Graph, which needs no ${protocol === 'smtp' ? 'SMTP AUTH' : 'IMAP'}: Mailboxes > ${mailbox.name} > Use Microsoft Graph, or: mailroom mailbox update "${mailbox.name}" ${flag} ` +
      `(the app registration needs the Microsoft Graph permission ${permission} with admin consent; then mailroom test graph "${mailbox.name}").`,
  };
}

/** What the assessment knows of the organisation besides the mailbox. */
export interface ReadinessContext {
  /** The organisation's app-only registration is set up (`mailroom oauth app`). */
  appOnlyConfigured?: boolean;
}

function switchToOAuth(mailbox: Mailbox, context: ReadinessContext): Pick<Issue, 'action' | 'fix' | 'alternativeFix'> {
  const oauth = `Switch ${mailbox.name} to Microsoft 365 OAuth 2.0 and sign in (Mailboxes > ${mailbox.name} > Edit > Sign-in "Microsoft 365 OAuth 2.0", or: mailroom mailbox update "${mailbox.name}" --auth oauth2, then mailroom oauth login "${mailbox.name}").`;
  const fix: ReadinessFix = { kind: 'switch-mailbox-to-oauth', mailboxId: mailbox.id, account: null, targetMailboxId: null, targetMailbox: null };
  if (!context.appOnlyConfigured) {
    return { action: `${oauth} A shared mailbox nobody signs in to can use a person with Full Access (allow another account) or app-only access.`, fix, alternativeFix: null };
  }
  return {
    action:
      `${oauth} Or, since the organisation's app-only registration is set up, use app-only access, where no person signs in (right for a shared mailbox): ` +
      `Mailboxes > ${mailbox.name} > Use app-only (Sign-in "Microsoft 365 app-only (shared mailbox)"), or: mailroom mailbox update "${mailbox.name}" --auth oauth2-app; ` +
      'then give the app access to the mailbox in Exchange Online ("App-only set-up" on the mailbox).',
    fix,
    alternativeFix: { kind: 'switch-mailbox-to-app-only', mailboxId: mailbox.id, account: null, targetMailboxId: null, targetMailbox: null },
  };
}

/**
 * What one side of a mailbox risks, from its settings, its provider and its
 * history. Pure: the report and the tests call it.
 */
export function assessSide(
  mailbox: Mailbox,
  protocol: 'imap' | 'smtp',
  provider: 'microsoft365' | 'other',
  history: SideHistory,
  now: number,
  context: ReadinessContext = {},
): Pick<ReadinessMailboxRow, 'risk' | 'reason' | 'action' | 'fix' | 'alternativeFix' | 'graphFix'> {
  // The incoming side of a POP3 mailbox is its POP3 server.
  const pop3 = protocol === 'imap' && mailbox.receiveVia === 'pop3' && mailbox.pop3 ? mailbox.pop3 : null;
  const side = pop3 ?? mailbox[protocol];
  const label = pop3 ? 'POP3' : LABEL[protocol];
  const issues: Issue[] = [];
  // A side that already goes through Microsoft Graph does not use SMTP or IMAP at all.
  const viaGraph = protocol === 'smtp' ? mailbox.sendVia === 'graph' : mailbox.receiveVia === 'graph';
  if (viaGraph) {
    return { risk: 'none', reason: `${protocol === 'smtp' ? 'Sends' : 'Receives'} through Microsoft Graph with the mailbox's Microsoft 365 sign-in: not affected.`, action: null, fix: null, alternativeFix: null, graphFix: null };
  }
  if (history.lastTestCode === 'TLS_VERSION_UNSUPPORTED') {
    issues.push({
      risk: 'broken',
      reason: `The last ${label} test found that ${side.host} speaks only TLS 1.0 or 1.1, which Mailroom refuses (Microsoft retires them for POP and IMAP in 2026; RFC 8996).`,
      action: `Upgrade or reconfigure ${side.host} to TLS 1.2 or later (for a scanner or an appliance, a firmware update). Mailroom never lowers its minimum.`,
      fix: null,
    });
  }
  if (provider === 'microsoft365') {
    if (side.auth === 'password') {
      if (history.refusal) {
        const oauthWay = switchToOAuth(mailbox, context);
        const smtpAuthOff = protocol === 'smtp' && SMTP_AUTH_OFF_CODES.includes(history.refusal.code);
        const graph = smtpAuthOff ? useGraph(mailbox, 'smtp') : undefined;
        issues.push({
          risk: 'broken',
          reason: `Microsoft 365 refused the password sign-in on ${utcDay(history.refusal.at)} (${history.refusal.code}): basic authentication is off for this ${protocol === 'smtp' ? 'tenant or mailbox' : 'protocol'}.`,
          ...oauthWay,
          ...(graph
            ? {
                // With SMTP AUTH off, OAuth 2.0 over SMTP is refused too: turn it on as well, or go through Graph.
                action: `${oauthWay.action} SMTP AUTH is off, which refuses OAuth 2.0 as well: turn it on for the mailbox (Microsoft 365 admin center > Users > the mailbox > Mail > Manage email apps > Authenticated SMTP). ${graph.action}`,
                graphFix: graph.fix,
              }
            : {}),
        });
      } else if (protocol === 'imap') {
        issues.push({ risk: 'broken', reason: 'Exchange Online has refused password sign-in (basic authentication) for IMAP and POP since October 2022.', ...switchToOAuth(mailbox, context) });
      } else {
        const days = Math.ceil((BASIC_SMTP_AUTH_OFF_AT - now) / DAY);
        issues.push({
          risk: 'soon',
          reason:
            days > 0
              ? `Microsoft turns password sign-in (basic authentication) for SMTP AUTH off by default at the end of December 2026 (message center MC786329), in ${days} day${days === 1 ? '' : 's'}; then the server answers "550 5.7.30 Basic authentication is not supported for Client Submission" and mail stops.`
              : 'Microsoft turned password sign-in (basic authentication) for SMTP AUTH off by default at the end of December 2026 (MC786329); this side has not been refused yet (the tenant may still allow it), but it can stop any day with "550 5.7.30".',
          ...switchToOAuth(mailbox, context),
        });
      }
    } else if (side.auth === 'oauth2' || side.auth === 'oauth2-app') {
      if (protocol === 'smtp' && history.refusal && SMTP_AUTH_OFF_CODES.includes(history.refusal.code)) {
        const graph = useGraph(mailbox, 'smtp');
        issues.push({
          risk: 'broken',
          reason: `Microsoft 365 refused SMTP AUTH on ${utcDay(history.refusal.at)} (${history.refusal.code}): SMTP AUTH is turned off for the tenant or the mailbox, which refuses OAuth 2.0 as well.`,
          action: `Turn SMTP AUTH on for the mailbox (Microsoft 365 admin center > Users > the mailbox > Mail > Manage email apps > Authenticated SMTP; it overrides the organisation). ${graph.action}`,
          fix: null,
          graphFix: graph.fix,
        });
      } else if (protocol === 'imap' && history.lastTestCode === 'OAUTH_TOKEN_REJECTED') {
        const graph = useGraph(mailbox, 'imap');
        issues.push({
          risk: 'broken',
          reason: 'The last IMAP test was refused with the OAuth 2.0 token: when the token is right, IMAP is turned off for the mailbox or the organisation (the token doctor tells which).',
          action: `Turn IMAP on for the mailbox (Microsoft 365 admin center > Users > the mailbox > Mail > Manage email apps > IMAP), or run the token doctor (mailroom oauth doctor "${mailbox.name}"). ${graph.action}`,
          fix: null,
          graphFix: graph.fix,
        });
      }
    }
  }
  if (!issues.length) {
    const reason =
      provider !== 'microsoft365'
        ? 'Not Microsoft 365: the retirement of basic authentication in Exchange Online does not apply.'
        : side.auth === 'none'
          ? 'Sends without a sign-in (a connector or direct send): not affected by the retirement of basic authentication.'
          : side.auth === 'password'
            ? 'Signs in with a password.'
            : 'Signs in with OAuth 2.0: not affected.';
    return { risk: 'none', reason, action: null, fix: null, alternativeFix: null, graphFix: null };
  }
  const worst = issues.reduce((a, b) => (RANK[b.risk] > RANK[a.risk] ? b : a));
  const fix = worst.fix ?? issues.find((i) => i.fix)?.fix ?? null;
  return {
    risk: worst.risk,
    reason: issues.map((i) => i.reason).join(' '),
    action: issues.map((i) => i.action).filter(Boolean).join(' ') || null,
    fix,
    // The second way out belongs to the same issue as the first.
    alternativeFix: [worst, ...issues].find((i) => i.fix === fix)?.alternativeFix ?? null,
    graphFix: issues.find((i) => i.graphFix)?.graphFix ?? null,
  };
}

/** Builds the readiness report. */
export async function readinessReport(sources: ReadinessSources): Promise<ReadinessReport> {
  const now = sources.now?.() ?? Date.now();
  const context: ReadinessContext = { appOnlyConfigured: sources.appOnlyConfigured?.() ?? false };
  const mailboxes = sources.mailboxes();
  // One lookup per domain, all at once; each has the detector's own timeout.
  const domains = new Map<string, Promise<Microsoft365Signs>>();
  for (const m of mailboxes) {
    const domain = m.address.split('@').pop()!.toLowerCase();
    if (!domains.has(domain)) domains.set(domain, sources.microsoft365Signs(m.address).catch(() => ({ mx: null, realm: null, offline: true })));
  }
  const signs = new Map<string, Microsoft365Signs>();
  for (const [domain, promise] of domains) signs.set(domain, await promise);

  const rows: ReadinessMailboxRow[] = [];
  for (const m of mailboxes) {
    const domainSigns = signs.get(m.address.split('@').pop()!.toLowerCase())!;
    for (const protocol of ['imap', 'smtp'] as const) {
      const side = m[protocol];
      const evidence = [
        ...(isMicrosoft365Host(side.host) ? [`host ${side.host}`] : []),
        ...(domainSigns.mx ? [`MX ${domainSigns.mx}`] : []),
        ...(domainSigns.realm ? [`realm ${domainSigns.realm}`] : []),
      ];
      const provider = evidence.length ? 'microsoft365' : 'other';
      rows.push({ mailboxId: m.id, name: m.name, protocol, auth: side.auth, host: side.host, provider, evidence, ...assessSide(m, protocol, provider, sources.history(m.id, protocol), now, context) });
    }
  }

  // A relay account's mail goes out through its mailbox's SMTP side; the way out may be another mailbox that signs in with OAuth.
  const oauthSenders = mailboxes.filter((m) => m.enabled && m.smtp.auth === 'oauth2' && rows.some((r) => r.mailboxId === m.id && r.protocol === 'smtp' && r.risk === 'none'));
  const relayAccounts: ReadinessRelayRow[] = sources.relayAccounts().flatMap((account) => {
    const row = rows.find((r) => r.mailboxId === account.mailboxId && r.protocol === 'smtp');
    if (!row) return [];
    let { action, fix } = row;
    const target = oauthSenders.find((m) => m.id !== account.mailboxId);
    if (row.risk !== 'none' && row.fix?.kind === 'switch-mailbox-to-oauth' && target) {
      action = `Send its mail through ${target.name}, which signs in with OAuth 2.0 (Outbox > Local relay > the account > Mailbox, or: mailroom relay account update ${account.username} --mailbox "${target.name}"); or ${row.action?.replace(/^Switch/, 'switch')}`;
      fix = { kind: 'relay-via-mailbox', mailboxId: account.mailboxId, account: account.username, targetMailboxId: target.id, targetMailbox: target.name };
    }
    const reason = row.risk === 'none' ? `Sends through ${account.mailboxName}: ${row.reason}` : `Sends through ${account.mailboxName}, whose SMTP side ${row.risk === 'broken' ? 'Microsoft already refuses' : 'still signs in to Microsoft 365 with a password'} (see ${account.mailboxName}, SMTP).`;
    return [{ ...row, name: account.username, account: account.username, mailbox: account.mailboxName, reason, action, fix }];
  });
  return {
    mailboxes: rows,
    relayAccounts,
    basicSmtpAuthOffAt: BASIC_SMTP_AUTH_OFF_AT,
    offline: domains.size > 0 && [...signs.values()].every((s) => s.offline),
    checkedAt: now,
  };
}
