/**
 * What an OAuth 2.0 access token says about itself, and what is wrong with
 * it for signing in to a mailbox: pure knowledge, no network, no sign-in.
 *
 * Mailroom is not the token's audience, so it never verifies the signature
 * (the mail server does); it only reads the claims to explain a refusal
 * before or after the server gives one. The token itself is a secret: this
 * module returns claims, never the token or any part of it (not even the
 * header or the signature), and throws nothing that contains it.
 *
 * The claims are those of Microsoft's "Access token claims reference"
 * (learn.microsoft.com/entra/identity-platform/access-token-claims-reference):
 * `aud`, `scp` ("only included for user tokens"), `roles` (what "the client
 * credential flow uses in place of user scopes for application tokens"),
 * `upn` / `unique_name` (v1.0 tokens, which Exchange Online receives) or
 * `preferred_username` (v2.0), `tid`, `appid` (v1.0) / `azp` (v2.0), `oid`,
 * `idtyp` (optional: `app` or `user`), `iat`, `exp`.
 *
 * The findings are data (TOKEN_CLAIM_RULES, REFUSAL_RULES): a condition on
 * the claims, a stable code, one sentence and what to change. The token
 * doctor and the connection tests read the same table.
 */

/** Exchange Online's audiences: the resource URIs a token for IMAP, POP or SMTP AUTH carries, and its application id. */
export const EXCHANGE_AUDIENCES = [
  'https://outlook.office.com',
  'https://outlook.office365.com',
  '00000002-0000-0ff1-ce00-000000000000',
  // National clouds (US Government GCC High / DoD, operated by 21Vianet).
  'https://outlook.office365.us',
  'https://webmail.apps.mil',
  'https://partner.outlook.cn',
] as const;

/** Microsoft Graph's audiences: a token for Graph is refused by IMAP, POP and SMTP. */
export const GRAPH_AUDIENCES = [
  'https://graph.microsoft.com',
  '00000003-0000-0000-c000-000000000000',
  'https://graph.microsoft.us',
  'https://dod-graph.microsoft.us',
  'https://microsoftgraph.chinacloudapi.cn',
] as const;

/** The protocols a mailbox token is for. */
export type TokenProtocol = 'imap' | 'pop' | 'smtp';

/** The delegated permission (scope) of Office 365 Exchange Online each protocol needs. */
export const DELEGATED_PERMISSIONS: Record<TokenProtocol, string> = {
  imap: 'IMAP.AccessAsUser.All',
  pop: 'POP.AccessAsUser.All',
  smtp: 'SMTP.Send',
};

/** The application permission (role) of Office 365 Exchange Online each protocol needs, for app-only access. */
export const APPLICATION_PERMISSIONS: Record<TokenProtocol, string> = {
  imap: 'IMAP.AccessAsApp',
  pop: 'POP.AccessAsApp',
  smtp: 'SMTP.SendAsApp',
};

/** What a token says about itself. */
export interface TokenClaims {
  /** `aud`, without a trailing slash. */
  audience: string | null;
  audienceKind: 'exchange' | 'graph' | 'other' | 'none';
  /**
   * `delegated`: a person signed in (it has `scp` or a user name);
   * `app`: the app signed in as itself (client credentials: `roles`, no user);
   * `unknown`: neither can be told.
   */
  kind: 'delegated' | 'app' | 'unknown';
  /** `scp`, split. */
  scopes: string[];
  /** `roles`. */
  roles: string[];
  /** The account: `upn`, else `preferred_username`, else `unique_name` (without a `live.com#` prefix), else `email`. */
  account: string | null;
  upn: string | null;
  preferredUsername: string | null;
  uniqueName: string | null;
  /** `tid`. */
  tenantId: string | null;
  /** `appid` (v1.0) or `azp` (v2.0): the client that asked for the token. */
  appId: string | null;
  /** `app_displayname`, when present. */
  appName: string | null;
  /** `oid`: the user's object id, or for an app-only token the service principal's. */
  objectId: string | null;
  /** `iat`, ms UTC. */
  issuedAt: number | null;
  /** `exp`, ms UTC. */
  expiresAt: number | null;
  /** `ver`: `1.0` or `2.0`. */
  version: string | null;
  /** `iss`. */
  issuer: string | null;
}

/** A token read, or why it could not be. */
export type DecodedToken =
  | { readable: true; claims: TokenClaims }
  /** `opaque`: not a JWT (Google's ya29 tokens, Microsoft personal-account tokens); `encrypted`: a JWE; `malformed`: three parts but no JSON claims. */
  | { readable: false; reason: 'opaque' | 'encrypted' | 'malformed' };

const str = (value: unknown): string | null => (typeof value === 'string' && value.trim() ? value.trim() : null);
const seconds = (value: unknown): number | null => (typeof value === 'number' && Number.isFinite(value) ? value * 1000 : null);

/** Which service an audience names. */
export function audienceKind(audience: string | null): TokenClaims['audienceKind'] {
  if (!audience) return 'none';
  const a = audience.replace(/\/+$/, '').toLowerCase();
  if ((EXCHANGE_AUDIENCES as readonly string[]).includes(a)) return 'exchange';
  if ((GRAPH_AUDIENCES as readonly string[]).includes(a)) return 'graph';
  return 'other';
}

/** Reads the claims object of a token (the second part of a JWT). */
export function claimsFromPayload(payload: Record<string, unknown>): TokenClaims {
  const audClaim = Array.isArray(payload.aud) ? payload.aud.find((a) => typeof a === 'string') : payload.aud;
  const audience = str(audClaim)?.replace(/\/+$/, '') ?? null;
  const scopes = (str(payload.scp) ?? '').split(/\s+/).filter(Boolean);
  const roles = Array.isArray(payload.roles) ? payload.roles.filter((r): r is string => typeof r === 'string') : [];
  const upn = str(payload.upn);
  const preferredUsername = str(payload.preferred_username);
  const uniqueName = str(payload.unique_name);
  // Guests and personal accounts have unique_name "live.com#someone@example.com".
  const account = [upn, preferredUsername, uniqueName?.replace(/^[^#]*#/, '') ?? null, str(payload.email)].find((v): v is string => Boolean(v && v.includes('@'))) ?? null;
  const idtyp = str(payload.idtyp);
  const kind: TokenClaims['kind'] =
    idtyp === 'app' ? 'app' : idtyp === 'user' || scopes.length || account ? 'delegated' : roles.length || str(payload.appid) || str(payload.azp) ? 'app' : 'unknown';
  return {
    audience,
    audienceKind: audienceKind(audience),
    kind,
    scopes,
    roles,
    account,
    upn,
    preferredUsername,
    uniqueName,
    tenantId: str(payload.tid),
    appId: str(payload.appid) ?? str(payload.azp),
    appName: str(payload.app_displayname),
    objectId: str(payload.oid),
    issuedAt: seconds(payload.iat),
    expiresAt: seconds(payload.exp),
    version: str(payload.ver),
    issuer: str(payload.iss),
  };
}

/**
 * Reads an access token's claims without verifying it. Never returns or
 * throws anything that contains the token.
 */
export function decodeAccessToken(token: string): DecodedToken {
  const parts = token.trim().split('.');
  if (parts.length === 5) return { readable: false, reason: 'encrypted' };
  if (parts.length !== 3 || !parts[1]) return { readable: false, reason: 'opaque' };
  try {
    const payload: unknown = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8'));
    if (!payload || typeof payload !== 'object' || Array.isArray(payload)) return { readable: false, reason: 'malformed' };
    return { readable: true, claims: claimsFromPayload(payload as Record<string, unknown>) };
  } catch {
    return { readable: false, reason: 'malformed' };
  }
}

/** What is wrong, in the shape the CLI, the UI and the logs use everywhere. */
export interface TokenFinding {
  /** Stable SCREAMING_SNAKE code. */
  code: string;
  /** One sentence: what is wrong. */
  summary: string;
  /** What to change. */
  hint: string;
}

/** What the token is expected to be good for. */
export interface TokenExpectation {
  /** The protocols it must open (a mailbox's IMAP and SMTP, say). */
  protocols: readonly TokenProtocol[];
  /** The mailbox's user name (address or UPN) the token signs in as. */
  mailbox?: string;
  /** The admin allowed another account (a person with Full Access to a shared mailbox). */
  allowOtherAccount?: boolean;
  /** The tenant configured in Mailroom, when it is a GUID. */
  tenantId?: string;
  /** The Application (client) ID configured in Mailroom. */
  clientId?: string;
  /** Now, ms UTC (injected by tests). */
  now?: number;
}

/** One rule: a condition on the claims (returning the values for its texts, or null) and what it means. */
export interface TokenClaimRule {
  code: string;
  /** The values for `{placeholders}` when the rule applies, null when it does not. */
  match: (claims: TokenClaims, expected: TokenExpectation) => Record<string, string> | null;
  summary: string;
  hint: string;
}

/** How to ask for a token Exchange Online accepts. */
export const EXCHANGE_SCOPE_HINT =
  'Ask for the scopes with their resource: https://outlook.office.com/IMAP.AccessAsUser.All, https://outlook.office.com/POP.AccessAsUser.All and https://outlook.office.com/SMTP.Send for a person\'s sign-in, or https://outlook.office365.com/.default for app-only access; and add the permissions under "Office 365 Exchange Online" in the app registration, not under Microsoft Graph.';

/** Why a token ends up for Microsoft Graph, and what to ask for instead. */
export const GRAPH_AUDIENCE_HINT = `This happens when the scopes are asked for without their resource: Microsoft Graph has permissions with the same names (IMAP.AccessAsUser.All, SMTP.Send), so "IMAP.AccessAsUser.All" alone (or https://graph.microsoft.com/.default) gives a Graph token. ${EXCHANGE_SCOPE_HINT}`;

/** True for tokens of Microsoft Entra (v1.0 issuer sts.windows.net, v2.0 login.microsoftonline.com, and the national clouds). */
export function issuedByMicrosoft(claims: TokenClaims): boolean {
  return Boolean(claims.issuer && /^https:\/\/(sts\.windows\.net|login\.microsoftonline\.(com|us)|login\.partner\.microsoftonline\.cn|sts\.chinacloudapi\.cn)\//i.test(claims.issuer));
}

/**
 * The Exchange Online permissions the token lacks for the protocols: the
 * delegated ones (scp) for a person's token, the application ones (roles)
 * for an app-only token. Empty for other audiences (their permissions mean
 * something else) and for tokens of unknown kind.
 */
export function missingPermissions(claims: TokenClaims, protocols: readonly TokenProtocol[]): string[] {
  if (claims.audienceKind !== 'exchange' || claims.kind === 'unknown') return [];
  const [needed, have] = claims.kind === 'app' ? [protocols.map((p) => APPLICATION_PERMISSIONS[p]), claims.roles] : [protocols.map((p) => DELEGATED_PERMISSIONS[p]), claims.scopes];
  return [...new Set(needed)].filter((n) => !have.some((h) => h.toLowerCase() === n.toLowerCase()));
}
const sameAccount = (a: string, b: string) => a.trim().toLowerCase() === b.trim().toLowerCase();
const isGuid = (value: string | undefined) => Boolean(value && /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(value));
const when = (ms: number | null) => (ms === null ? 'an unknown time' : new Date(ms).toISOString());

/**
 * The claim rules, most fundamental first: a token for the wrong service
 * makes every other finding moot; an expired token hides the rest until it
 * is renewed.
 */
export const TOKEN_CLAIM_RULES: readonly TokenClaimRule[] = [
  {
    code: 'TOKEN_AUDIENCE_GRAPH',
    match: (c) => (c.audienceKind === 'graph' ? { audience: c.audience ?? '' } : null),
    summary: 'The token is for Microsoft Graph ({audience}), not for Exchange Online, so IMAP, POP and SMTP refuse it.',
    hint: GRAPH_AUDIENCE_HINT,
  },
  {
    code: 'TOKEN_AUDIENCE_WRONG',
    // Only for Microsoft's own tokens: another provider's audience means nothing here.
    match: (c) => (c.audienceKind === 'other' && issuedByMicrosoft(c) ? { audience: c.audience ?? '(none)' } : null),
    summary: 'The token is for {audience}, not for Exchange Online (https://outlook.office.com), so IMAP, POP and SMTP refuse it.',
    hint: EXCHANGE_SCOPE_HINT,
  },
  {
    code: 'TOKEN_EXPIRED',
    match: (c, x) => (c.expiresAt !== null && c.expiresAt <= (x.now ?? Date.now()) ? { expiredAt: when(c.expiresAt) } : null),
    summary: 'The token expired at {expiredAt}.',
    hint: 'Get a new token: Mailroom refreshes a mailbox\'s token by itself; for a token given by hand, ask for a new one (access tokens last about an hour).',
  },
  {
    code: 'TOKEN_APP_ROLE_MISSING',
    match: (c, x) => {
      if (c.kind !== 'app' || c.audienceKind !== 'exchange') return null;
      const lacking = missingPermissions(c, x.protocols);
      return lacking.length ? { permissions: lacking.join(', '), roles: c.roles.join(', ') || 'none' } : null;
    },
    summary: 'The app-only token lacks the application permission {permissions} (its roles: {roles}).',
    hint: 'In the app registration > API permissions > Add a permission > APIs my organization uses > Office 365 Exchange Online > Application permissions, add {permissions}, then "Grant admin consent". A token issued before the consent does not carry it: get a new one.',
  },
  {
    code: 'TOKEN_SCOPE_MISSING',
    match: (c, x) => {
      if (c.kind !== 'delegated' || c.audienceKind !== 'exchange') return null;
      const lacking = missingPermissions(c, x.protocols);
      return lacking.length ? { permissions: lacking.join(', '), scopes: c.scopes.join(' ') || 'none' } : null;
    },
    summary: 'The token lacks the delegated permission {permissions} (its scopes: {scopes}).',
    hint: 'In the app registration > API permissions, add {permissions} from Office 365 Exchange Online (Delegated permissions), grant admin consent, then sign in again so the new token carries it.',
  },
  {
    code: 'TOKEN_OTHER_ACCOUNT',
    // An app-only token has no account at all: it is never "another account".
    match: (c, x) => (c.kind === 'delegated' && c.account && x.mailbox && !x.allowOtherAccount && !sameAccount(c.account, x.mailbox) ? { account: c.account, mailbox: x.mailbox } : null),
    summary: 'The token was issued to {account}, but it is used to sign in as {mailbox}.',
    hint: 'Sign in as {mailbox} itself, or set the mailbox\'s user name to {account} if that is its sign-in name (UPN). For a shared mailbox reached through a person with Full Access, allow another account for this mailbox.',
  },
  {
    code: 'TOKEN_TENANT_MISMATCH',
    match: (c, x) => (isGuid(x.tenantId) && c.tenantId && c.tenantId.toLowerCase() !== x.tenantId!.toLowerCase() ? { tokenTenant: c.tenantId, tenant: x.tenantId! } : null),
    summary: 'The token comes from tenant {tokenTenant}, not from the tenant configured in Mailroom ({tenant}).',
    hint: 'Check the Directory (tenant) ID in Mailroom\'s OAuth settings against the app registration\'s Overview page, and that the account belongs to that tenant.',
  },
  {
    code: 'TOKEN_CLIENT_MISMATCH',
    match: (c, x) => (x.clientId && c.appId && c.appId.toLowerCase() !== x.clientId.toLowerCase() ? { tokenClient: c.appId, client: x.clientId } : null),
    summary: 'The token was issued to application {tokenClient}, not to the app registration configured in Mailroom ({client}).',
    hint: 'Use a token of Mailroom\'s own app registration, or correct the Application (client) ID in Mailroom\'s OAuth settings.',
  },
];

/** How the mail server refused a token that the claims do not explain. */
export type TokenRefusal =
  /** The sign-in itself was refused (IMAP `NO AUTHENTICATE failed.`, SMTP `535 5.7.3 Authentication unsuccessful`). */
  | 'sign-in-refused'
  /** The sign-in was accepted but the mailbox is not opened for it (IMAP `BAD User is authenticated but not connected.`). */
  | 'mailbox-not-connected';

/** A rule for a refusal: which kind of token, which refusal, and what it means. */
export interface TokenRefusalRule {
  code: string;
  kinds: readonly TokenClaims['kind'][];
  refusals: readonly TokenRefusal[];
  summary: string;
  hint: string;
}

const SERVICE_PRINCIPAL_STEPS =
  'In Exchange Online PowerShell: New-ServicePrincipal -AppId {appId} -ObjectId <the Object ID shown under Enterprise applications for this app, not the one under App registrations>; then Add-MailboxPermission -Identity {mailbox} -User <that service principal> -AccessRights FullAccess. Permissions take up to an hour to apply.';

/**
 * What a refusal means when the claims look right. A token without a user
 * (app-only) points at Exchange's side of app-only access: the service
 * principal and the mailbox permission; a person's token at the mailbox's
 * protocol settings or the person's access to it.
 */
export const REFUSAL_RULES: readonly TokenRefusalRule[] = [
  {
    code: 'TOKEN_APP_NO_MAILBOX_PERMISSION',
    kinds: ['app'],
    refusals: ['mailbox-not-connected'],
    summary: 'Exchange Online accepted the app-only token but will not open {mailbox} for it: the app\'s service principal has no permission on this mailbox.',
    hint: SERVICE_PRINCIPAL_STEPS,
  },
  {
    code: 'TOKEN_APP_NOT_AUTHORIZED',
    kinds: ['app'],
    refusals: ['sign-in-refused'],
    summary: 'Exchange Online refused the app-only token for {mailbox}: the app\'s service principal is not registered in Exchange Online (or was registered with the wrong object id), or it has no permission on this mailbox.',
    hint: `${SERVICE_PRINCIPAL_STEPS} For SMTP, SMTP AUTH must also be on for the mailbox (Set-CASMailbox -Identity {mailbox} -SmtpClientAuthenticationDisabled $false).`,
  },
  {
    code: 'TOKEN_ACCOUNT_NO_MAILBOX_ACCESS',
    kinds: ['delegated', 'unknown'],
    refusals: ['mailbox-not-connected'],
    summary: 'Exchange Online accepted the sign-in of {account} but will not open {mailbox} for it.',
    hint: 'Sign in as {mailbox} itself, or give {account} Full Access to {mailbox} (Exchange admin center > Mailboxes > {mailbox} > Delegation).',
  },
  {
    code: 'TOKEN_REFUSED_MAILBOX_SETTINGS',
    kinds: ['delegated', 'unknown'],
    refusals: ['sign-in-refused'],
    summary: 'The server refused a token that looks right for {mailbox}.',
    hint: 'Check that IMAP (or POP) and Authenticated SMTP are on for {mailbox} (Microsoft 365 admin center > Users > the user > Mail > Manage email apps), that the user name is the mailbox\'s address or UPN, and that the account is not blocked from signing in.',
  },
];

function fill(text: string, values: Record<string, string>): string {
  return text.replace(/\{(\w+)\}/g, (whole, key: string) => values[key] ?? whole);
}

/** Everything the claims say is wrong, in rule order (empty when nothing is). */
export function tokenFindings(claims: TokenClaims, expected: TokenExpectation): TokenFinding[] {
  const out: TokenFinding[] = [];
  for (const rule of TOKEN_CLAIM_RULES) {
    const values = rule.match(claims, expected);
    if (values) out.push({ code: rule.code, summary: fill(rule.summary, values), hint: fill(rule.hint, values) });
  }
  return out;
}

/**
 * What a server's refusal of the token means: the claim findings when
 * there are any (they explain it), else the refusal rule for this kind of
 * token.
 */
export function refusalFindings(claims: TokenClaims, expected: TokenExpectation, refusal: TokenRefusal): TokenFinding[] {
  const found = tokenFindings(claims, expected);
  if (found.length) return found;
  const rule = REFUSAL_RULES.find((r) => r.kinds.includes(claims.kind) && r.refusals.includes(refusal));
  if (!rule) return [];
  const values = { mailbox: expected.mailbox || 'the mailbox', account: claims.account ?? 'the signed-in account', appId: claims.appId ?? '<Application (client) ID>' };
  return [{ code: rule.code, summary: fill(rule.summary, values), hint: fill(rule.hint, values) }];
}

/**
 * The claims an admin may see: everything decodeAccessToken read, nothing
 * that could be replayed. (Claims are not secret; the token is.)
 */
export function displayClaims(claims: TokenClaims): Record<string, string | string[] | null> {
  return {
    aud: claims.audience,
    kind: claims.kind,
    scp: claims.scopes.length ? claims.scopes : null,
    roles: claims.roles.length ? claims.roles : null,
    upn: claims.upn,
    preferred_username: claims.preferredUsername,
    unique_name: claims.uniqueName,
    tid: claims.tenantId,
    appid: claims.appId,
    oid: claims.objectId,
    iat: claims.issuedAt === null ? null : new Date(claims.issuedAt).toISOString(),
    exp: claims.expiresAt === null ? null : new Date(claims.expiresAt).toISOString(),
  };
}
