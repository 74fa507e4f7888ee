/**
 * Diagnosis rules: what a failed step looked like (a server reply, a socket
 * error, a missing capability) -> a stable code -> a one-sentence summary
 * and a hint that says what to change. Rules are data, tried in order; the
 * first that matches wins, and the last ones match anything, so a failed
 * step always gets exactly one diagnosis.
 *
 * Reply patterns are written against real server texts; each rule names
 * where its text was seen (`source`). The unit tests feed every rule the
 * text it cites.
 */
import type { Diagnosis, DiagnosisCode, TestAuthMethod, TestProtocol, TestStepName } from '../../shared/diagnosis.js';
import type { SecurityMode } from '../../shared/mailbox.js';
import { MINIMUM_TLS_VERSION, tlsVersionLabel } from '../tls-policy.js';
import { CERT_UNTRUSTED_CODES, NOT_TLS_ERROR_CODES, TLS_VERSION_ERROR_CODES } from './socket-errors.js';
import { EXCHANGE_SCOPE_HINT, GRAPH_AUDIENCE_HINT } from '../auth/token-claims.js';
import { phrase, renderWords, securityToken } from '../../shared/setting-words.js';

/** How a step failed, mechanically. */
export type FailureKind =
  /** The name did not resolve. */
  | 'dns'
  /** The TCP connection could not be made (see errorCode). */
  | 'connect'
  /** No answer before the step's deadline. */
  | 'timeout'
  /** The server closed or reset the connection. */
  | 'closed'
  /** The TLS handshake failed or the certificate did not verify (see errorCode). */
  | 'tls'
  /** The server answered with a failure reply. */
  | 'reply'
  /** The server sent something that is not this protocol. */
  | 'unexpected'
  /** A capability the step needs is not advertised (see `missing`). */
  | 'missing';

/** What a port turned out to speak, when it was not what the test expected. */
export type DetectedProtocol = 'smtp' | 'imap' | 'pop3' | 'http' | 'ssh' | 'ftp' | 'tls' | 'unknown';

/** Everything the rules may look at about one failed step. */
export interface FailureFacts {
  protocol: TestProtocol;
  step: TestStepName;
  kind: FailureKind;
  /** The reply that failed the step, all lines joined with line breaks, already redacted. */
  reply?: string;
  /** SMTP reply code of `reply`. */
  replyCode?: number;
  /** Node's error code (ECONNREFUSED, CERT_HAS_EXPIRED, ERR_SSL_WRONG_VERSION_NUMBER...). */
  errorCode?: string;
  /** For `missing`: what was needed, e.g. `STARTTLS`, `AUTH`, `AUTH=XOAUTH2`, `LOGIN` (LOGINDISABLED). */
  missing?: string;
  /** What the port spoke instead, when the probe could tell. */
  detected?: DetectedProtocol;
  auth: TestAuthMethod;
  security: SecurityMode;
  host: string;
  port: number;
  user?: string;
  folder?: string;
  from?: string;
  to?: string;
  /** Names the server's certificate is valid for. */
  certificateNames?: string[];
  /** When the server's certificate stops (stopped) being valid, ISO 8601. */
  certificateValidTo?: string;
  /**
   * What is wrong with the OAuth token, when Mailroom can tell by reading its
   * claims (engine/auth/token-claims.ts; see diagnose/token-facts.ts).
   */
  tokenProblem?: 'graph-audience' | 'wrong-audience' | 'expired' | 'permission-missing' | 'other-account';
  /** Whose token it is: a person's (`delegated`) or the app's own (`app`, client credentials: no user, `roles`). */
  tokenKind?: 'delegated' | 'app' | 'unknown';
  /** The account the token was issued to, when readable. */
  tokenAccount?: string;
  /** When the token expired, ISO 8601. */
  tokenExpiredAt?: string;
  /** The token's audience (`aud`). */
  tokenAudience?: string;
  /** The permission(s) the token lacks, e.g. `SMTP.Send` or `IMAP.AccessAsApp`. */
  tokenPermission?: string;
  /** The client (`appid`/`azp`) the token was issued to. */
  tokenAppId?: string;
  /** The TLS version (and cipher) an old server offered, learned by a diagnostic handshake after Mailroom refused it. */
  serverTls?: { version: string; cipher: string | null };
  /** The server's decoded XOAUTH2 error (JSON), when it sent one. */
  serverError?: string;
  /** Where names were resolved ("the system resolver", "DNS server 10.0.0.53"). */
  resolver?: string;
}

/** One diagnosis rule. Every condition given must hold. */
export interface DiagnosisRule {
  /** Stable name of the rule, for tests and logs. */
  id: string;
  code: DiagnosisCode;
  protocols?: readonly TestProtocol[];
  steps?: readonly TestStepName[];
  kinds?: readonly FailureKind[];
  /** Matched against the reply text. */
  reply?: RegExp;
  /** Inclusive range of SMTP reply codes. */
  replyCodes?: readonly [number, number];
  errorCodes?: readonly string[];
  missing?: readonly string[];
  detected?: readonly DetectedProtocol[];
  auth?: readonly TestAuthMethod[];
  security?: readonly SecurityMode[];
  tokenProblem?: readonly NonNullable<FailureFacts['tokenProblem']>[];
  tokenKinds?: readonly NonNullable<FailureFacts['tokenKind']>[];
  /** Ports this rule is about (e.g. the implicit-TLS ports). */
  ports?: readonly number[];
  /** One sentence; `{placeholders}` are filled from the facts. */
  summary: string;
  /** What to change; `{placeholders}` are filled from the facts. */
  hint: string;
  /** Where the matched server text was seen (for reply rules). */
  source?: string;
}

const TLS_STEPS = ['tls', 'starttls'] as const;
const ENVELOPE_STEPS = ['mail-from', 'rcpt-to', 'data'] as const;
const IMPLICIT_TLS_PORTS = [465, 993, 995] as const;
const NOT_TLS_CODES = NOT_TLS_ERROR_CODES;

/** Where each trusted-CA instruction points; Node does not read the Windows certificate store. */
const TRUST_HINT =
  'If the server uses a certificate from your own certificate authority, save that CA certificate as a PEM file and set the environment variable NODE_EXTRA_CA_CERTS to its path (for all users: System Properties > Environment Variables), then restart Mailroom. Otherwise ask the mail server\'s admin to install a certificate from a public authority (for example Let\'s Encrypt). Do not switch security to {sec:none} to get around it.';

/** Where a Microsoft 365 admin turns SMTP AUTH on for one mailbox. */
const M365_MAILBOX_SMTP_AUTH =
  'Microsoft 365 admin center > Users > Active users > {user} > Mail > Manage email apps > tick "Authenticated SMTP" (PowerShell: Set-CASMailbox -Identity {user} -SmtpClientAuthenticationDisabled $false)';

/** What Exchange Online needs on its side for app-only access to one mailbox. */
const APP_SERVICE_PRINCIPAL_STEPS =
  'In Exchange Online PowerShell, register the app once: New-ServicePrincipal -AppId {tokenAppId} -ObjectId <the Object ID shown under Enterprise applications for this app, not the one under App registrations>; then give it this mailbox: Add-MailboxPermission -Identity {user} -User <that service principal> -AccessRights FullAccess. Permissions take up to an hour to apply.';

/**
 * The rules, in order. Specific texts of specific servers come first, then
 * socket and TLS errors, then the generic reply classes, then catch-alls.
 */
export const DIAGNOSIS_RULES: readonly DiagnosisRule[] = [
  // ---- DNS ---------------------------------------------------------------
  {
    id: 'dns-name-not-found',
    code: 'DNS_NOT_FOUND',
    kinds: ['dns'],
    errorCodes: ['ENOTFOUND', 'ENODATA', 'EAI_NONAME', 'EAI_NODATA', 'NXDOMAIN'],
    summary: 'The server name {host} does not exist in DNS ({resolver} found no address for it).',
    hint: 'Check the spelling of the server name. Your provider documents it (for example outlook.office365.com or smtp.gmail.com); a name that only exists inside a company network needs this PC on that network or VPN.',
  },
  {
    id: 'dns-no-answer',
    code: 'DNS_NOT_FOUND',
    kinds: ['dns', 'timeout'],
    steps: ['dns'],
    summary: 'The name {host} could not be looked up: {resolver} did not answer ({error}).',
    hint: 'Check that this PC can reach its DNS server (ipconfig /all shows it; nslookup {host} tests it). If MAILROOM_DNS_SERVER is set, check that server, or unset the variable to use the system resolver.',
  },

  // ---- TCP ---------------------------------------------------------------
  {
    id: 'tcp-refused',
    code: 'TCP_REFUSED',
    kinds: ['connect'],
    errorCodes: ['ECONNREFUSED'],
    summary: '{host} refused the connection on port {port}: nothing accepts {PROTOCOL} connections there.',
    hint: 'Check the port. {PROTOCOL} normally uses {tlsPort} (security {sec:tls}) or {starttlsPort} (security {sec:starttls}). If the port is right, the mail service is stopped or a firewall on the server rejects this PC.',
  },
  {
    id: 'tcp-timeout',
    code: 'TCP_TIMEOUT',
    kinds: ['timeout'],
    steps: ['tcp'],
    summary: 'No connection to {host} port {port} could be made: the connection attempt was never answered.',
    hint: 'A firewall is silently dropping the connection, or the server is down. Check outbound rules for port {port} on this PC, the company firewall and the proxy (many networks and ISPs block port 25 outbound; use {starttlsPort} or {tlsPort}). Test from the same PC with: Test-NetConnection {host} -Port {port} (PowerShell).',
  },
  {
    id: 'tcp-unreachable',
    code: 'TCP_TIMEOUT',
    kinds: ['connect'],
    errorCodes: ['ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EADDRNOTAVAIL', 'ENETDOWN', 'EHOSTDOWN'],
    summary: '{host} port {port} cannot be reached from this PC ({error}).',
    hint: 'There is no network route to the server: check this PC\'s network connection, VPN and proxy settings, and that {host} is the right server. Test with: Test-NetConnection {host} -Port {port} (PowerShell).',
  },
  {
    id: 'tcp-reset',
    code: 'CONNECTION_DROPPED',
    kinds: ['connect', 'closed'],
    steps: ['tcp'],
    summary: 'The connection to {host} port {port} was reset while it was being made.',
    hint: 'A firewall, proxy or antivirus between this PC and the server cut the connection. Check their logs for port {port}, or try from another network to compare.',
  },

  // ---- What the port speaks ---------------------------------------------
  {
    id: 'port-speaks-tls-only',
    code: 'TLS_MODE_MISMATCH',
    steps: ['greeting'],
    detected: ['tls'],
    summary: 'Port {port} expects TLS from the first byte (implicit TLS), but the test waited for a plaintext greeting (security {security}).',
    hint: 'Set security to {sec:tls} for port {port}, or keep {security} and use port {starttlsPort}.',
  },
  {
    id: 'port-speaks-plaintext',
    code: 'TLS_MODE_MISMATCH',
    steps: ['tls'],
    detected: ['smtp', 'imap', 'pop3'],
    errorCodes: NOT_TLS_CODES,
    summary: 'Port {port} answered in plaintext, but security {sec:tls} expects the TLS handshake first.',
    hint: 'Set security to {sec:starttls} for port {port} (the server offers encryption after the greeting), or keep {sec:tls} and use port {tlsPort}.',
  },
  {
    id: 'port-speaks-other-protocol',
    code: 'PROTOCOL_MISMATCH',
    detected: ['http', 'ssh', 'ftp', 'pop3', 'smtp', 'imap', 'unknown'],
    summary: 'Port {port} on {host} is not a {PROTOCOL} port: it answered like {detected}.',
    hint: '{PROTOCOL} uses port {tlsPort} (security {sec:tls}) or {starttlsPort} (security {sec:starttls}). Check the port number and that the host name is the mail server, not a web or other server.',
  },

  {
    // The engines (nodemailer, imapflow) do not keep the bytes a server sent, so they cannot
    // tell a mail greeting from HTTP: OpenSSL's code alone says the answer was not TLS.
    id: 'tls-answered-in-plaintext',
    code: 'TLS_MODE_MISMATCH',
    steps: ['tls'],
    kinds: ['tls'],
    errorCodes: NOT_TLS_CODES,
    summary: 'Port {port} answered the TLS handshake in plaintext, but security {sec:tls} expects TLS from the first byte.',
    hint: 'Set security to {sec:starttls} for port {port} (the server offers encryption after the greeting), or keep {sec:tls} and use port {tlsPort}.',
  },

  // ---- TLS ---------------------------------------------------------------
  {
    id: 'tls-cert-expired',
    code: 'TLS_CERT_EXPIRED',
    kinds: ['tls'],
    errorCodes: ['CERT_HAS_EXPIRED'],
    summary: 'The server\'s certificate expired on {validTo}.',
    hint: 'The mail server\'s admin must renew the certificate. If the date looks wrong, check this PC\'s clock and time zone. Do not switch security to {sec:none} to get around it.',
  },
  {
    id: 'tls-cert-not-yet-valid',
    code: 'TLS_CERT_EXPIRED',
    kinds: ['tls'],
    errorCodes: ['CERT_NOT_YET_VALID'],
    summary: 'The server\'s certificate is not valid yet.',
    hint: 'Check the date and time of this PC (Settings > Time & language > Set time automatically); otherwise the server\'s admin installed a certificate dated in the future.',
  },
  {
    id: 'tls-cert-hostname',
    code: 'TLS_CERT_HOSTNAME',
    kinds: ['tls'],
    errorCodes: ['ERR_TLS_CERT_ALTNAME_INVALID', 'HOSTNAME_MISMATCH'],
    summary: 'The server\'s certificate is for {certNames}, not for {host}.',
    hint: 'Use the host name the certificate is for ({certNames}) as the server name, if it is the same server. Otherwise the server\'s admin must add {host} to the certificate.',
  },
  {
    id: 'tls-cert-untrusted',
    code: 'TLS_CERT_UNTRUSTED',
    kinds: ['tls'],
    errorCodes: CERT_UNTRUSTED_CODES,
    summary: 'The server\'s certificate is not signed by an authority Mailroom trusts ({error}).',
    hint: TRUST_HINT,
  },
  {
    id: 'tls-version-unsupported',
    code: 'TLS_VERSION_UNSUPPORTED',
    kinds: ['tls'],
    errorCodes: TLS_VERSION_ERROR_CODES,
    summary: 'The server on {host} port {port} speaks only {serverTls}{serverTlsCipher}, an old TLS version Mailroom does not use: it requires {minimumTls} or later.',
    hint: 'The mail server must be upgraded or reconfigured to offer {minimumTls} or later: TLS 1.0 and 1.1 are retired (RFC 8996), and Microsoft 365 and Gmail accept nothing older than TLS 1.2. Ask the server\'s admin (for an appliance or a scanner, its vendor for a firmware update). Mailroom does not lower its minimum, and setting security to {sec:none} would send the password unencrypted.',
    source: 'Node\'s TLS client against Node\'s tls server with minVersion and maxVersion TLSv1 and ciphers DEFAULT@SECLEVEL=0: "ssl3_read_bytes:tlsv1 alert protocol version" (ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION), measured in this project\'s tests; OpenSSL\'s "unsupported protocol" for a server that picks TLS 1.0 in its ServerHello',
  },
  {
    id: 'tls-no-shared-cipher',
    code: 'CONNECTION_DROPPED',
    kinds: ['tls'],
    errorCodes: ['ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE', 'ERR_SSL_NO_SHARED_CIPHER'],
    summary: 'The TLS handshake failed: the server and Mailroom share no cipher ({error}).',
    hint: 'The server offers only old ciphers (or demands a client certificate). Its admin must enable current TLS 1.2 or 1.3 cipher suites (ECDHE with AES-GCM); Microsoft 365 and Gmail already do.',
  },
  {
    id: 'tls-handshake-dropped',
    code: 'CONNECTION_DROPPED',
    kinds: ['tls', 'closed'],
    steps: TLS_STEPS,
    summary: 'The server closed the connection during the TLS handshake.',
    hint: 'Check the security mode for port {port} ({sec:tls} for {tlsPort}, {sec:starttls} for {starttlsPort}). If it is right, a firewall or TLS-inspecting proxy is interfering, or the server refuses this PC\'s address.',
  },
  {
    id: 'tls-handshake-timeout',
    code: 'TIMEOUT',
    kinds: ['timeout'],
    steps: ['tls'],
    summary: 'The server accepted the connection on port {port} but never answered the TLS handshake.',
    hint: 'Port {port} may not speak TLS: try security {sec:starttls} with port {starttlsPort}. If it should, a firewall is holding the connection.',
  },

  // ---- Greeting ----------------------------------------------------------
  {
    id: 'greeting-timeout-on-tls-port',
    code: 'TLS_MODE_MISMATCH',
    kinds: ['timeout', 'closed'],
    steps: ['greeting'],
    security: ['starttls', 'none'],
    ports: IMPLICIT_TLS_PORTS,
    summary: 'Port {port} normally expects TLS from the first byte, and it sent no plaintext greeting (security {security}).',
    hint: 'Set security to {sec:tls} for port {port}, or use port {starttlsPort} with {sec:starttls}.',
  },
  {
    id: 'greeting-timeout',
    code: 'GREETING_TIMEOUT',
    kinds: ['timeout'],
    steps: ['greeting'],
    summary: '{host} accepted the connection on port {port} but sent no {PROTOCOL} greeting in time.',
    hint: 'The server is overloaded, or something else listens on port {port} (a proxy or a filtering firewall). Check the port and security ({PROTOCOL}: {tlsPort} {sec:tls}, {starttlsPort} {sec:starttls}) and try again later; allow {moreTime} if the server is known to be slow.',
  },
  {
    id: 'smtp-greeting-rejected',
    code: 'SERVER_REJECTED_CONNECTION',
    protocols: ['smtp'],
    steps: ['greeting'],
    kinds: ['reply'],
    replyCodes: [400, 599],
    summary: 'The SMTP server refused the session as soon as this PC connected.',
    hint: 'Read the server\'s reply: it usually names the reason (too many connections, this PC\'s address on a block list, no reverse DNS). Wait and retry for a 421; for a 554 ask the server\'s admin to allow this PC\'s public address.',
    source: 'Gmail "421 4.4.5 Server busy, try again later. (mx.google.com)" (gist chrisjimallen/8972272); "554 5.7.1 You are not allowed to connect." (zone-eu/zone-mta#496); GMX "554-No SMTP service ... 554 For explanation visit ..." (OpenSMTPD/OpenSMTPD#446)',
  },
  {
    id: 'imap-greeting-bye',
    code: 'SERVER_REJECTED_CONNECTION',
    protocols: ['imap'],
    steps: ['greeting'],
    kinds: ['reply'],
    reply: /^\* BYE\b/im,
    summary: 'The IMAP server refused the session as soon as this PC connected (BYE).',
    hint: 'Read the server\'s reply for the reason (too many connections, maintenance, this PC\'s address blocked). Close other programs that hold connections to this mailbox and retry later, or ask the server\'s admin.',
    source: 'Microsoft 365 "* BYE Connection closed. 14" (jstedfast/MailKit#1496); BYE as greeting (jstedfast/MailKit#262)',
  },
  {
    id: 'pop3-greeting-err',
    code: 'SERVER_REJECTED_CONNECTION',
    protocols: ['pop3'],
    steps: ['greeting'],
    kinds: ['reply'],
    reply: /^-ERR\b/im,
    summary: 'The POP3 server refused the session as soon as this PC connected ({reply}).',
    hint: 'Read the server\'s reply for the reason (too many connections, maintenance, this PC\'s address blocked). Close other programs that hold connections to this mailbox and retry later, or ask the server\'s admin.',
    source: 'RFC 1939 section 4: a server may answer the connection with -ERR; Dovecot pop3-login "-ERR [SYS/TEMP] ..." when its auth process is unavailable (dovecot/core src/pop3-login)',
  },
  {
    id: 'greeting-dropped',
    code: 'CONNECTION_DROPPED',
    kinds: ['closed'],
    steps: ['greeting'],
    summary: '{host} closed the connection on port {port} before sending a greeting.',
    hint: 'The server refuses this PC (address blocked, too many connections) or expects TLS first. Check the security mode ({PROTOCOL}: {tlsPort} {sec:tls}, {starttlsPort} {sec:starttls}) and ask the server\'s admin whether this PC\'s address is allowed.',
  },
  {
    id: 'greeting-not-protocol',
    code: 'PROTOCOL_MISMATCH',
    kinds: ['unexpected'],
    steps: ['greeting', 'tls'],
    summary: 'Port {port} on {host} answered, but not with a {PROTOCOL} greeting.',
    hint: '{PROTOCOL} uses port {tlsPort} (security {sec:tls}) or {starttlsPort} (security {sec:starttls}). Check the port and the host name.',
  },

  // ---- STARTTLS ----------------------------------------------------------
  {
    id: 'starttls-not-offered',
    code: 'STARTTLS_UNAVAILABLE',
    steps: ['starttls'],
    kinds: ['missing', 'reply'],
    summary: 'The server on port {port} does not offer STARTTLS, so the connection cannot be encrypted.',
    hint: 'Use security {sec:tls} with port {tlsPort} if the server offers it, or ask its admin to enable STARTTLS. Use security {sec:none} only on a trusted internal network with a server that accepts it.',
    source: 'Postfix "454 4.7.0 TLS not available due to local problem" (RFC 3207 454 reply); smtp-server with hideSTARTTLS (no STARTTLS in EHLO)',
  },

  // ---- Sign-in: temporary, and what the connection allows ---------------
  // These come before the texts of specific servers and before the OAuth
  // rules: a temporary failure or a refusal to sign in over plaintext is
  // not a bad token or a bad password, whichever method was used.
  {
    id: 'dovecot-auth-temporary',
    code: 'SERVER_TEMPORARY',
    steps: ['auth'],
    reply: /Temporary authentication failure|\[SYS\/TEMP\]/i,
    summary: 'The server could not check the sign-in of {user} right now: its authentication service failed (temporary failure).',
    hint: 'Retry in a few minutes; nothing is wrong with the credentials as far as the server knows. If it persists, tell the server\'s admin the time of this test: the server\'s own sign-in back end (for Dovecot: its passdb, such as LDAP, SQL or the OAuth token check) did not answer.',
    source: 'Dovecot IMAP "NO [UNAVAILABLE] Temporary authentication failure. [host:2026-01-01 ...]" (produced in this project\'s tests by a Dovecot oauth2 passdb whose token check cannot be reached); POP3 "-ERR [SYS/TEMP] ...", RFC 3206\'s temporary-failure code, which Dovecot\'s pop3-login reads as an authentication tempfail (dovecot/core src/pop3-login/pop3-proxy.c); for POP once Mailroom speaks it',
  },
  {
    id: 'pop3-maildrop-locked',
    code: 'MAILDROP_LOCKED',
    protocols: ['pop3'],
    reply: /\[IN-USE\]|Unable to lock maildrop|mailbox (is )?(already )?(locked|in use)|maildrop (is )?(already )?locked/i,
    summary: 'The mailbox {user} is in use by another POP3 client: the server keeps one POP3 session per mailbox at a time ({reply}).',
    hint: 'Close the other program that reads this mailbox over POP3 (an Outlook or Thunderbird set to POP, a phone, another Mailroom or help-desk connector), or set it to IMAP; then retry. If nothing else reads it, the server still holds the lock of a session that broke off: it is released after a few minutes, or the server\'s admin can end the session.',
    source: 'Dovecot 2.3 with pop3_lock_session = yes: "-ERR [IN-USE] Mailbox is locked by another POP3 session." (measured in this project\'s Dovecot POP3 tests, about 10 s after the credentials while it waits for the lock); older Dovecot "-ERR [IN-USE] Couldn\'t open INBOX: ..." (dovecot/core src/pop3/pop3-client.c); Cyrus "-ERR [IN-USE] Unable to lock maildrop" (cyrusimap/cyrus-imapd imap/pop3d.c); "-ERR [IN-USE] mailbox already in use by pid 12345" (horms/perdition#4); the IN-USE response code of RFC 2449 section 8.1.1',
  },
  {
    id: 'pop3-temporary',
    code: 'SERVER_TEMPORARY',
    protocols: ['pop3'],
    reply: /\[SYS\/TEMP\]|\[LOGIN-DELAY\]/i,
    summary: 'The POP3 server reported a temporary problem ({reply}).',
    hint: 'Retry in a few minutes; nothing is wrong with the settings as far as the server knows. [LOGIN-DELAY] means the server allows a sign-in only every so many minutes: poll this mailbox less often. If it persists, tell the server\'s admin the time of this test.',
    source: 'RFC 3206 "-ERR [SYS/TEMP] ..." (temporary system failure); "-ERR [SYS/TEMP] Temporary system problem. Please try again later." and "-ERR [LOGIN-DELAY] Minimum time between logins not met" (quoted in public POP3 client tests); RFC 2449 LOGIN-DELAY',
  },
  {
    id: 'auth-temporary',
    code: 'SERVER_TEMPORARY',
    steps: ['auth'],
    reply: /^4\d\d\b|\[UNAVAILABLE\]|Temporary server error/im,
    summary: 'The server could not check the sign-in right now (temporary failure).',
    hint: 'Retry in a few minutes. If it persists, the server\'s directory or authentication service is failing: tell its admin the time of this test.',
    source: 'RFC 4954 "454 4.7.0 Temporary authentication failure"; Microsoft 365 "451 4.7.0 Temporary server error. Please try again later. PRX4" in response to AUTH XOAUTH2 (harishkrupo/oauth2ms#5, jstedfast/MailKit#566); Dovecot "NO [UNAVAILABLE] Maximum number of connections from user+IP exceeded" (mscdex/node-imap#606)',
  },
  {
    id: 'pop3-auth-requires-tls',
    code: 'AUTH_REQUIRES_TLS',
    protocols: ['pop3'],
    steps: ['auth'],
    reply: /Plaintext authentication (not allowed|disallowed)|\[AUTH\].*(SSL|TLS|encrypt)/i,
    summary: 'The POP3 server refuses a sign-in before the connection is encrypted (security {security}).',
    hint: 'Set security to {sec:starttls} (port {starttlsPort}: Mailroom sends STLS before signing in) or {sec:tls} (port {tlsPort}).',
    source: 'Dovecot pop3-login "-ERR [AUTH] Plaintext authentication disallowed on non-secure (SSL/TLS) connections." with disable_plaintext_auth = yes (dovecot/core src/login-common/client-common-auth.c, AUTH_PLAINTEXT_DISABLED_MSG; POP3 adds the [AUTH] code)',
  },
  {
    id: 'auth-requires-tls',
    code: 'AUTH_REQUIRES_TLS',
    steps: ['auth'],
    reply: /Must issue a STARTTLS command first|PRIVACYREQUIRED|Plaintext authentication (not allowed|disallowed)|Encryption required for requested authentication mechanism|\b5\.7\.11\b|^538\b/im,
    summary: 'The server only accepts a sign-in over an encrypted connection, and this one is not encrypted (security {security}).',
    hint: 'Set security to {sec:starttls} (port {starttlsPort}) or {sec:tls} (port {tlsPort}).',
    source: 'smtp-server "538 Error: Must issue a STARTTLS command first"; Postfix "530 5.7.0 Must issue a STARTTLS command first"; Dovecot "NO [PRIVACYREQUIRED] Plaintext authentication disallowed on non-secure (SSL/TLS) connections." (seen in this project\'s Dovecot tests)',
  },
  {
    id: 'auth-logindisabled',
    code: 'AUTH_REQUIRES_TLS',
    steps: ['auth'],
    kinds: ['missing'],
    missing: ['LOGINDISABLED', 'AUTH-AFTER-STARTTLS'],
    summary: 'The server does not allow a password sign-in before the connection is encrypted (security {security}).',
    hint: 'Set security to {sec:starttls} (port {starttlsPort}) or {sec:tls} (port {tlsPort}).',
    source: 'IMAP LOGINDISABLED capability (RFC 3501 section 6.2.3), as Dovecot advertises it without TLS',
  },
  {
    id: 'auth-method-missing',
    code: 'AUTH_METHOD_UNSUPPORTED',
    steps: ['auth'],
    kinds: ['missing'],
    summary: 'The server does not offer the sign-in method this test needs ({missing}).',
    hint: 'For sign-in {auth:password} the server must offer PLAIN or LOGIN; for {auth:xoauth2} it must offer XOAUTH2. Check the sign-in setting against what the server supports (the capability line in the transcript), or whether this is the right port: some servers offer sign-in only on {starttlsPort}/{tlsPort}.',
  },
  {
    id: 'auth-method-rejected',
    code: 'AUTH_METHOD_UNSUPPORTED',
    steps: ['auth'],
    reply: /Unrecognized authentication type|Unsupported authentication mechanism|mechanism not supported|^504\b/im,
    summary: 'The server rejected the sign-in method.',
    hint: 'For sign-in {auth:password} the server must offer PLAIN or LOGIN; for {auth:xoauth2} it must offer XOAUTH2. Check the sign-in setting against the capabilities in the transcript.',
    source: 'smtp-server "504 Error: Unrecognized authentication type"; Dovecot "NO Unsupported authentication mechanism."',
  },

  // ---- Sign-in: Microsoft 365 and Google texts ---------------------------
  {
    id: 'm365-smtp-auth-disabled-tenant',
    code: 'SMTP_AUTH_DISABLED',
    reply: /SmtpClientAuthentication is disabled for the Tenant/i,
    summary: 'Microsoft 365 has SMTP AUTH turned off for the whole organisation, so {user} cannot send through its SMTP server, with a password or with OAuth.',
    hint: `Turn SMTP AUTH on for this mailbox only (the mailbox setting overrides the organisation's): ${M365_MAILBOX_SMTP_AUTH}. Or for everyone: Exchange admin center > Settings > Mail flow > untick "Turn off SMTP AUTH protocol for your organization" (Set-TransportConfig -SmtpClientAuthenticationDisabled $false). OAuth sign-in needs SMTP AUTH on as well. Changes take up to an hour.`,
    source: 'Microsoft 365 "535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for the Tenant. Visit https://aka.ms/smtp_auth_disabled for more information." (nodemailer/nodemailer#1484, simonrob/email-oauth2-proxy#193: OAuth gets the same reply)',
  },
  {
    id: 'm365-smtp-auth-disabled-mailbox',
    code: 'SMTP_AUTH_DISABLED',
    reply: /SmtpClientAuthentication is disabled for the Mailbox/i,
    summary: 'Microsoft 365 has SMTP AUTH turned off for the mailbox {user}, so it cannot send through Microsoft\'s SMTP server, with a password or with OAuth.',
    hint: `Turn it on for this mailbox: ${M365_MAILBOX_SMTP_AUTH}. OAuth sign-in needs it on as well. Changes take up to an hour.`,
    source: 'Microsoft 365 "535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for the Mailbox. Visit https://aka.ms/smtp_auth_disabled for more information." (quoted in public projects\' troubleshooting notes, for OAuth XOAUTH2 as for passwords; the per-mailbox setting is SmtpClientAuthenticationDisabled of Set-CASMailbox, michev.info "Controlling SMTP authentication for Office 365 mailboxes")',
  },
  {
    id: 'm365-basic-auth-retired',
    code: 'BASIC_AUTH_RETIRED',
    reply: /5\.7\.30 Basic authentication is not supported for Client Submission/i,
    summary: 'Microsoft 365 no longer accepts a password for sending as {user}: basic authentication for SMTP AUTH (Client Submission) is retired for this organisation.',
    hint: 'Sign the mailbox in with OAuth: {m365OAuth} for a person\'s sign-in, or app-only access for a shared mailbox nobody signs in to. Devices and programs that can only send with a password can submit to Mailroom\'s local relay instead, which sends with the mailbox\'s OAuth sign-in. Turning basic authentication back on is possible only for a while before Microsoft removes it for good, so it is no fix.',
    source: 'Microsoft\'s Exchange Team blog "Exchange Online to retire Basic auth for Client Submission (SMTP AUTH)" (techcommunity.microsoft.com, ba-p/4114750): "550 5.7.30 Basic authentication is not supported for Client Submission."; quoted in OpenCTI-Platform/opencti#12069',
  },
  {
    id: 'm365-security-defaults',
    code: 'SECURITY_DEFAULTS_BLOCKED',
    reply: /locked by your organization's security defaults policy/i,
    summary: 'Microsoft 365 security defaults block password sign-in for {user}.',
    hint: 'Sign in with OAuth instead ({m365OAuth}), which security defaults allow. Only if a password sign-in is unavoidable: a Global Administrator turns security defaults off (Microsoft Entra admin center > Identity > Overview > Properties > Manage security defaults) and replaces them with Conditional Access policies.',
    source: 'Microsoft 365 "535 5.7.139 Authentication unsuccessful, user is locked by your organization\'s security defaults policy." (docs.bookyourpto.com/features/smtp-troubleshoot)',
  },
  {
    id: 'm365-conditional-access',
    code: 'SECURITY_DEFAULTS_BLOCKED',
    reply: /did not meet the criteria to be authenticated successfully/i,
    summary: 'A Microsoft 365 sign-in policy (Conditional Access) blocked this sign-in for {user}.',
    hint: 'Ask the Microsoft 365 admin to check the sign-in logs for {user} (Microsoft Entra admin center > Identity > Monitoring > Sign-in logs) for the policy that blocked it, and to allow this client or location; signing in with OAuth usually satisfies such policies.',
    source: 'Microsoft 365 "535 5.7.139 Authentication unsuccessful, the request did not meet the criteria to be authenticated successfully. Contact your administrator." (docs.bookyourpto.com/features/smtp-troubleshoot)',
  },
  {
    id: 'm365-basic-auth-disabled',
    code: 'BASIC_AUTH_DISABLED',
    reply: /basic authentication is disabled/i,
    summary: 'Microsoft 365 no longer accepts a password for {user} here: basic authentication is disabled.',
    hint: 'Switch the mailbox to OAuth ({m365OAuth}) and sign in. App passwords go through the same blocked path and do not help.',
    source: 'Microsoft 365 "535 5.7.139 Authentication unsuccessful, basic authentication is disabled. [PN0PR01CA0024.INDPRD01.PROD.OUTLOOK.COM ...]" (nodemailer/nodemailer#1714, rpremraj/mailR#107)',
  },
  {
    id: 'gmail-pop3-web-login',
    code: 'BASIC_AUTH_DISABLED',
    reply: /Web login required|log ?in (via|with) your web browser|p=WebLoginRequired|answer\/78754/i,
    summary: 'Google refused the sign-in of {user} and wants it confirmed in a web browser: it does not accept the account\'s own password from a mail program.',
    hint: 'Create an app password for {user} (Google Account > Security > 2-Step Verification > App passwords; 2-Step Verification must be on) and use it as the password, or sign in with OAuth. Check also that POP (or IMAP) is enabled in Gmail (Settings > Forwarding and POP/IMAP), and open the "Review blocked sign-in attempt" mail Google sent to confirm it was you.',
    source: 'Gmail POP3 "-ERR [AUTH] Web login required: https://support.google.com/mail/answer/78754" (quoted from Ruby\'s Net::POPAuthenticationError and Python\'s poplib.error_proto in public projects); Gmail IMAP "NO [WEBALERT ...] Web login required." (smiley22/S22.Imap#116) and "[ALERT] Please log in via your web browser: https://support.google.com/mail/accounts/answer/78754 (Failure)" (barbushin/php-imap#87)',
  },
  {
    id: 'google-app-password-required',
    code: 'BASIC_AUTH_DISABLED',
    // The phrase is on the reply's first line, the link (p=InvalidSecondFactor) on its last: the rule reads the whole reply.
    reply: /Application-specific password required|p=InvalidSecondFactor/i,
    summary: 'Google does not accept the account\'s own password here: it needs an app password.',
    hint: 'Create an app password for {user} (Google Account > Security > 2-Step Verification > App passwords; 2-Step Verification must be on) and use it as the password, or sign in with OAuth.',
    source: 'Gmail SMTP "534-5.7.9 Application-specific password required. Learn more at\\n534 5.7.9 https://support.google.com/mail/?p=InvalidSecondFactor" (iiuni/projektzapisy#727); Gmail IMAP "[ALERT] Application-specific password required: https://support.google.com/accounts/answer/185833 (Failure)" (LukeSmithxyz/mutt-wizard#831); Gmail POP3 "-ERR [AUTH] Application-specific password required: http://support.google.com/accounts/bin/answer.py?answer=185833" (mailman/mailman#50)',
  },
  {
    id: 'm365-app-not-connected',
    code: 'OAUTH_APP_NO_MAILBOX_ACCESS',
    protocols: ['imap'],
    tokenKinds: ['app'],
    reply: /User is authenticated but not connected/i,
    summary: 'Microsoft 365 accepted the app-only token but will not open the mailbox {user} for it: the app\'s service principal has no permission on this mailbox.',
    hint: `${APP_SERVICE_PRINCIPAL_STEPS} The user name must be the mailbox's address.`,
    source: 'Microsoft 365 "BAD User is authenticated but not connected." for an application token without mailbox permission (javanile/php-imap2#55, simonrob/email-oauth2-proxy#74); New-ServicePrincipal and Add-MailboxPermission from Microsoft\'s "Authenticate an IMAP, POP or SMTP connection using OAuth"',
  },
  {
    id: 'm365-authenticated-not-connected',
    code: 'OAUTH_WRONG_ACCOUNT',
    protocols: ['imap'],
    reply: /User is authenticated but not connected/i,
    summary: 'Microsoft 365 accepted the sign-in but will not open the mailbox {user} for it: the token (or password) belongs to an account without access to this mailbox.',
    hint: 'Sign in again as {user} itself, or grant the signed-in account Full Access to this mailbox (Exchange admin center > Mailboxes > {user} > Delegation). The user name must be the mailbox\'s address, and the token must carry the IMAP.AccessAsUser.All permission.',
    source: 'Microsoft 365 "BAD User is authenticated but not connected." (simonrob/email-oauth2-proxy#275, jstedfast/MailKit#1494, getmail6/getmail6#214)',
  },

  // ---- Sign-in: OAuth, from what the token's claims say ------------------
  {
    id: 'oauth-token-graph-audience',
    code: 'OAUTH_TOKEN_REJECTED',
    steps: ['auth', 'select'],
    auth: ['xoauth2'],
    tokenProblem: ['graph-audience'],
    summary: 'The server refused the OAuth token: it is for Microsoft Graph ({tokenAudience}), not for Exchange Online.',
    hint: GRAPH_AUDIENCE_HINT,
  },
  {
    id: 'oauth-token-wrong-audience',
    code: 'OAUTH_TOKEN_REJECTED',
    steps: ['auth', 'select'],
    auth: ['xoauth2'],
    tokenProblem: ['wrong-audience'],
    summary: 'The server refused the OAuth token: it is for {tokenAudience}, not for the mail server.',
    hint: EXCHANGE_SCOPE_HINT,
  },
  {
    id: 'oauth-token-expired',
    code: 'OAUTH_TOKEN_REJECTED',
    steps: ['auth'],
    auth: ['xoauth2'],
    tokenProblem: ['expired'],
    summary: 'The server rejected the OAuth token: it expired at {tokenExpiredAt}.',
    hint: 'Get a new access token (sign in again, or let Mailroom refresh it); access tokens last about an hour.',
  },
  {
    id: 'oauth-app-permission-missing',
    code: 'OAUTH_TOKEN_REJECTED',
    steps: ['auth', 'select'],
    auth: ['xoauth2'],
    tokenKinds: ['app'],
    tokenProblem: ['permission-missing'],
    summary: 'The server refused the app-only token: it lacks the application permission {tokenPermission}.',
    hint: 'In the app registration > API permissions > Add a permission > APIs my organization uses > Office 365 Exchange Online > Application permissions, add {tokenPermission}, then "Grant admin consent". A token issued before the consent does not carry it: get a new one.',
  },
  {
    id: 'oauth-token-permission-missing',
    code: 'OAUTH_TOKEN_REJECTED',
    steps: ['auth', 'select'],
    auth: ['xoauth2'],
    tokenProblem: ['permission-missing'],
    summary: 'The server refused the OAuth token: it lacks the permission {tokenPermission}.',
    hint: 'In the app registration > API permissions, add {tokenPermission} from Office 365 Exchange Online (Delegated permissions), grant admin consent, then sign in again so the new token carries it.',
  },
  {
    id: 'oauth-token-other-account',
    code: 'OAUTH_WRONG_ACCOUNT',
    steps: ['auth', 'select'],
    auth: ['xoauth2'],
    tokenProblem: ['other-account'],
    summary: 'The OAuth token was issued to {tokenAccount}, but the test signs in as {user}.',
    hint: 'Sign in again with the account {user}, or set the user name to {tokenAccount} if that is the mailbox to use.',
  },
  {
    id: 'm365-pop3-oauth-rejected',
    code: 'OAUTH_TOKEN_REJECTED',
    protocols: ['pop3'],
    steps: ['auth'],
    auth: ['xoauth2'],
    kinds: ['reply'],
    reply: /unknown user name or bad password/i,
    summary: 'Exchange refused the OAuth token for {user} over POP3{serverErrorNote}.',
    hint: 'The token must be for https://outlook.office.com with POP.AccessAsUser.All (a person\'s sign-in) or POP.AccessAsApp (app-only, whose service principal also needs Full Access to the mailbox: New-ServicePrincipal and Add-MailboxPermission in Exchange Online PowerShell). POP must be on for the mailbox (Set-CASMailbox -Identity {user} -PopEnabled $true), and the user name must be the mailbox\'s address. Sign in again after a permission change.',
    source: 'Exchange Online POP "-ERR Authentication failure: unknown user name or bad password." after AUTH XOAUTH2 (simonrob/email-oauth2-proxy#244); Microsoft\'s "Authenticate an IMAP, POP or SMTP connection using OAuth" (POP.AccessAsUser.All, POP.AccessAsApp)',
  },
  {
    id: 'oauth-app-token-rejected',
    code: 'OAUTH_TOKEN_REJECTED',
    steps: ['auth'],
    auth: ['xoauth2'],
    kinds: ['reply'],
    tokenKinds: ['app'],
    summary: 'Exchange Online refused the app-only token for {user}{serverErrorNote}: the app\'s service principal is not registered in Exchange Online (or was registered with the app registration\'s object id instead of the enterprise application\'s), or it has no permission on this mailbox.',
    hint: `${APP_SERVICE_PRINCIPAL_STEPS} For SMTP, SMTP AUTH must also be on for the mailbox (Set-CASMailbox -Identity {user} -SmtpClientAuthenticationDisabled $false).`,
    source: 'Microsoft 365 "535 5.7.3 Authentication unsuccessful" and IMAP "NO AUTHENTICATE failed." to an application token (Microsoft\'s "Authenticate an IMAP, POP or SMTP connection using OAuth", MicrosoftDocs/office-developer-exchange-docs#283 and #332: "Using the incorrect Object ID will cause an authentication failure")',
  },
  {
    id: 'oauth-token-rejected',
    code: 'OAUTH_TOKEN_REJECTED',
    steps: ['auth'],
    auth: ['xoauth2'],
    kinds: ['reply'],
    summary: 'The server rejected the OAuth token for {user}{serverErrorNote}.',
    hint: 'Sign in again to get a fresh token. For Microsoft 365 the token must be for https://outlook.office.com with IMAP.AccessAsUser.All (incoming) or SMTP.Send (outgoing), the user name must be the mailbox\'s address (or UPN), IMAP must be on for the mailbox, and for SMTP, SMTP AUTH must be on for the mailbox. For Google the scope is https://mail.google.com/.',
    source: 'Microsoft 365 IMAP "NO AUTHENTICATE failed." (MicrosoftDocs/office-developer-exchange-docs#87); smtp-server "535 Error: Username and Password not accepted" after a base64 JSON error (smtp-server sasl.js)',
  },

  // ---- Sign-in: passwords ------------------------------------------------
  {
    id: 'gmail-pop3-bad-credentials',
    code: 'AUTH_FAILED',
    protocols: ['pop3'],
    reply: /\[AUTH\] Username and password not accepted/i,
    auth: ['password'],
    summary: 'Google rejected the user name or password for {user}.',
    hint: 'Check the user name (the full address) and use an app password, not the account\'s own password (Google Account > Security > 2-Step Verification > App passwords). Check also that POP is enabled in Gmail (Settings > Forwarding and POP/IMAP > Enable POP).',
    source: 'Gmail POP3 "-ERR [AUTH] Username and password not accepted." (quoted in public POP3 clients\' tests against pop.gmail.com)',
  },
  {
    id: 'google-bad-credentials',
    code: 'AUTH_FAILED',
    reply: /Username and Password not accepted|\[AUTHENTICATIONFAILED\] Invalid credentials/i,
    auth: ['password'],
    summary: 'The server rejected the user name or password for {user}.',
    hint: 'Check the user name (the full address) and the password. For Google accounts with 2-Step Verification, use an app password (Google Account > Security > App passwords), and check that IMAP is enabled in Gmail settings.',
    source: 'Gmail "535-5.7.8 Username and Password not accepted" (PHPMailer/PHPMailer#1708); Gmail IMAP "NO [AUTHENTICATIONFAILED] Invalid credentials (Failure)" (jstedfast/MailKit#1276)',
  },
  {
    id: 'exchange-pop3-logon-failure',
    code: 'AUTH_FAILED',
    protocols: ['pop3'],
    reply: /Logon failure: unknown user name or bad password|Authentication failure: unknown user name or bad password/i,
    auth: ['password'],
    summary: 'Exchange rejected the user name or password for {user}.',
    hint: 'Check the password and the user name: for Exchange the full address or the UPN (on-premises servers may also take DOMAIN\\user). Exchange also answers this way when POP is turned off for the mailbox (Set-CASMailbox -Identity {user} -PopEnabled $true); and Exchange Online no longer accepts a password over POP at all: sign in with OAuth ({m365OAuth}).',
    source: 'Microsoft Exchange POP3 "-ERR Logon failure: unknown user name or bad password." (mattnenterprise/rust-pop3#17, jstedfast/MailKit#391 on Exchange 2003, nicm/fdm#123 on Exchange Online); Exchange Online "-ERR Authentication failure: unknown user name or bad password." (simonrob/email-oauth2-proxy#244)',
  },
  {
    id: 'm365-auth-unsuccessful',
    code: 'AUTH_FAILED',
    reply: /5\.7\.(3|139) Authentication unsuccessful|AUTHENTICATE failed|LOGIN failed/i,
    auth: ['password'],
    summary: 'The server rejected the sign-in for {user}.',
    hint: 'Check the user name (the full address; for Microsoft 365 the UPN) and the password. Microsoft 365 also answers this way when SMTP AUTH or IMAP is turned off for the mailbox or basic authentication is blocked: sign in with OAuth ({m365OAuth}) instead of a password.',
    source: 'Microsoft 365 "535 5.7.139 Authentication unsuccessful, the user credentials were incorrect." (codassassin/email-bomber-v2.0#1); "535 5.7.3 Authentication unsuccessful" (emailwarmup.com 535 5.7.3 guide); IMAP "NO LOGIN failed." (imapsync/imapsync#395)',
  },
  {
    id: 'auth-failed',
    code: 'AUTH_FAILED',
    steps: ['auth'],
    kinds: ['reply'],
    summary: 'The server rejected the user name or password for {user}.',
    hint: 'Check the user name (often the full email address) and the password; re-type the password rather than pasting it. If the account has two-factor sign-in, use an app password or OAuth.',
    source: 'smtp-server "535 Error: Authentication credentials invalid"; Postfix "535 5.7.8 Error: authentication failed: authentication failure"; Dovecot "NO [AUTHENTICATIONFAILED] Authentication failed." (seen in this project\'s Dovecot tests); Dovecot POP3 "-ERR [AUTH] Authentication failed." (docker-mailserver/docker-mailserver#1631; seen in this project\'s Dovecot POP3 tests)',
  },

  // ---- Sending -----------------------------------------------------------
  {
    id: 'm365-send-as-denied',
    code: 'SENDER_REJECTED',
    steps: ENVELOPE_STEPS,
    reply: /5\.7\.60|SendAsDenied|not have permissions to send as this sender/i,
    summary: 'The signed-in account {user} may not send as {from}.',
    hint: 'Send from the signed-in mailbox\'s own address, or give {user} "Send as" permission on {from} (Exchange admin center > Mailboxes > {from} > Delegation > Send as). Permissions take up to an hour to apply.',
    source: 'Microsoft 365 "550 5.7.60 SMTP; Client does not have permissions to send as this sender" (swiftmailer/swiftmailer#1030, gophish/gophish#1600); "554 5.2.0 STOREDRV.Submission.Exception:SendAsDeniedException.MapiExceptionSendAsDenied" (kouhan.cn article on Office 365 SMTP)',
  },
  {
    id: 'not-signed-in',
    code: 'SENDER_REJECTED',
    steps: ENVELOPE_STEPS,
    reply: /5\.7\.57|Client not authenticated|authentication Required|Authentication required/i,
    summary: 'The server refuses to send for a client that has not signed in.',
    hint: 'Set sign-in to {auth:password} or {auth:xoauth2} with the mailbox\'s credentials; this server does not relay anonymously.',
    source: 'Microsoft 365 "530 5.7.57 Client not authenticated to send mail" (inboxreadyapp.com SMTP AUTH guide); smtp-server "530 Error: authentication Required"',
  },
  {
    id: 'relay-denied',
    code: 'RECIPIENT_REJECTED',
    steps: ['rcpt-to'],
    reply: /Relay access denied|Unable to relay|relaying denied|Relay not permitted/i,
    summary: 'The server will not relay mail to {to} for this client.',
    hint: 'Sign in (sign-in {auth:password} or {auth:xoauth2}) so the server relays for you, or send to an address in a domain this server hosts.',
    source: 'Postfix "554 5.7.1 <x@example.com>: Relay access denied" (antionline thread on 554 relay access denied); Microsoft 365 "550 5.7.54 SMTP; Unable to relay recipient in non-accepted domain"',
  },
  {
    id: 'm365-concurrent-connections',
    code: 'SERVER_TEMPORARY',
    reply: /4\.3\.2 Concurrent connections limit exceeded|STOREDRV\.ClientSubmit; sender thread limit exceeded/i,
    summary: 'Microsoft 365 refused another connection: at most three connections may send for one mailbox at the same time.',
    hint: 'Lower the outbox connections of this mailbox to 3 or fewer ({threeConnections}), and check that no other program or server sends as {user} at the same time. Waiting a few minutes releases connections left open.',
    source: 'Microsoft 365 "432 4.3.2 Concurrent connections limit exceeded. Visit https://aka.ms/concurrent_sending for more information." (sabuhish/fastapi-mail#75, nodemailer/nodemailer#1613); its earlier text "432 4.3.2 STOREDRV.ClientSubmit; sender thread limit exceeded [Hostname=DM5SPR00MB2471.namprd08.prod.outlook.com]" (timeoff-management/timeoff-management-application#308, v2board/v2board#148; michev.info: three concurrent connections per mailbox)',
  },
  {
    id: 'm365-temporary-server-error',
    code: 'SERVER_TEMPORARY',
    reply: /Temporary server error\. Please try again later/i,
    summary: 'Microsoft 365 reported a temporary error of its own ({reply}).',
    hint: 'Nothing to change on this side: retry in a few minutes (the outbox does so by itself). If it persists for hours, check Microsoft 365\'s service health in the admin center, and that the user name is the mailbox\'s address or UPN.',
    source: 'Microsoft 365 "451 4.7.0 Temporary server error. Please try again later. PRX4 [AM5PR0701CA0008.eurprd07.prod.outlook.com]" (jstedfast/MailKit#566, harishkrupo/oauth2ms#5); "4.3.111 Temporary server error. Please try again later MRH1" after DATA (datalust/seq-app-htmlemail#101)',
  },
  {
    id: 'gmail-daily-limit',
    code: 'SENDING_LIMIT_EXCEEDED',
    reply: /5\.4\.5 Daily (user )?sending (quota|limit) exceeded/i,
    summary: 'Google has stopped {user} from sending for now: it reached its daily sending limit.',
    hint: 'The limit resets within 24 hours (a rolling window); until then nothing sends from this account, so Mailroom keeps the messages queued and tries later. For more volume, spread the mail over the day, use a Google Workspace account (higher limits) or a bulk-mail service.',
    source: 'Gmail "550-5.4.5 Daily user sending limit exceeded. For more information on Gmail\n550-5.4.5 sending limits go to\n550 5.4.5  https://support.google.com/a/answer/166852 d2e1a72fcca58-76e7d551493sm9728466b3a.112 - gsmtp" (woowacourse-teams/2025-ah-madda#635); "550 5.4.5 Daily user sending quota exceeded. o65sm25351206pga.71 - gsmtp" (gen-smtp/gen_smtp#140)',
  },
  {
    id: 'm365-submission-quota',
    code: 'SENDING_LIMIT_EXCEEDED',
    reply: /SubmissionQuotaExceededException/i,
    summary: 'Microsoft 365 has stopped {user} from sending: it reached the limit of 10,000 recipients a day.',
    hint: 'The block lifts by itself after 24 hours; Mailroom keeps the messages queued and tries later. Spread large mailings over several days or send them through a bulk-mail service; a Microsoft 365 admin can check the account under Restricted entities in the Microsoft Defender portal.',
    source: 'Microsoft 365 "554 5.2.0 STOREDRV.Submission.Exception:SubmissionQuotaExceededException" (MicrosoftDocs/OfficeDocs-Support#1150 and PR #1488: the recipients-per-day limit)',
  },
  {
    id: 'm365-bad-outbound-sender',
    code: 'SENDING_BLOCKED',
    reply: /5\.1\.8 Access denied, bad outbound sender/i,
    summary: 'Microsoft 365 has blocked {user} from sending: the account is listed as a restricted (bad outbound) sender, usually after it sent spam or was compromised.',
    hint: 'A Microsoft 365 admin must first secure the account (reset its password, check sign-ins, inbox rules and forwarding), then release it: Microsoft Defender portal > Email & collaboration > Review > Restricted entities (or Remove-BlockedSenderAddress). Sending resumes within about an hour; Mailroom keeps the messages queued meanwhile.',
    source: 'Microsoft 365 "550 5.1.8 Access denied, bad outbound sender" (Microsoft\'s "Removing a user from the Restricted Users portal after sending spam email"; "550 5.1.8 Access denied, bad outbound sender AS(42004)" in support.uidaho.edu KB 2233)',
  },
  {
    id: 'm365-outbound-spam',
    code: 'SENDING_BLOCKED',
    reply: /OutboundSpamException/i,
    summary: 'Microsoft 365 treated the mail of {user} as outbound spam and suspended the account from sending.',
    hint: 'Ask a Microsoft 365 admin to check whether {user} is listed under Restricted entities in the Microsoft Defender portal and release it; review what the mailbox sent recently (large volumes or link-heavy messages trigger this). Mailroom keeps the messages queued meanwhile.',
    source: 'Microsoft 365 "554 5.2.0 STOREDRV.Submission.Exception:OutboundSpamException; ... WASCL UserAction verdict is not None. Actual verdict is Suspend, ShowTierUpgrade." (nodemailer/nodemailer#1486)',
  },
  {
    id: 'm365-tenant-blocked',
    code: 'SENDING_BLOCKED',
    reply: /5\.7\.70[58]\b/,
    summary: 'Microsoft 365 is refusing mail from the whole organisation of {user} ({reply}).',
    hint: 'Only a Microsoft 365 admin can fix this. 5.7.705: the tenant sent too much spam or bulk mail (often a compromised account or connector): clean it up, then ask Microsoft Support to lift the block. 5.7.708: the tenant has no sending reputation yet (new or trial tenants) or its traffic looked suspicious: ask Microsoft Support, and check Restricted entities in the Microsoft Defender portal. Mailroom keeps the messages queued meanwhile.',
    source: 'Microsoft\'s "Fix email delivery issues for error codes 5.7.700 through 5.7.750 in Exchange Online": "5.7.705 Access denied, tenant has exceeded threshold", "550 5.7.708 Service unavailable. Access denied, traffic not accepted from this IP."',
  },
  {
    id: 'm365-unregistered-domain',
    code: 'SENDING_BLOCKED',
    reply: /5\.7\.750\b|Client blocked from sending from unregistered domains?/i,
    summary: 'Microsoft 365 refuses to send for {user} from a domain the organisation has not registered (the sender {from}).',
    hint: 'Send from an address in one of the organisation\'s accepted domains, or have a Microsoft 365 admin add and verify the sender\'s domain (Microsoft 365 admin center > Settings > Domains). If the domain is registered, ask Microsoft Support to lift the block.',
    source: 'Microsoft\'s "Fix email delivery issues for error codes 5.7.700 through 5.7.750 in Exchange Online": "550 5.7.750 Service unavailable. Client blocked from sending from unregistered domains"',
  },
  {
    id: 'sender-temporary',
    code: 'SERVER_TEMPORARY',
    steps: ENVELOPE_STEPS,
    replyCodes: [400, 499],
    summary: 'The server deferred the test message ({reply}).',
    hint: 'A temporary condition on the server (busy, greylisting, quota). Retry in a few minutes; if it persists, ask the server\'s admin about the reply text.',
    source: 'Microsoft 365 "451 4.7.500 Server busy. Please try again later"; Postfix "450 4.7.25 Client host rejected: cannot find your hostname" (sisimai/rb-sisimai#97)',
  },
  {
    id: 'sender-rejected',
    code: 'SENDER_REJECTED',
    steps: ['mail-from'],
    replyCodes: [500, 599],
    summary: 'The server refused the sender address {from}.',
    hint: 'Send from the mailbox\'s own address (it is usually the only one a sign-in may use), or ask the server\'s admin to allow {user} to send as {from}.',
    source: 'Postfix "553 5.7.1 <x@example.com>: Sender address rejected: not owned by user"',
  },
  {
    id: 'recipient-rejected',
    code: 'RECIPIENT_REJECTED',
    steps: ['rcpt-to'],
    replyCodes: [500, 599],
    summary: 'The server refused the recipient {to}.',
    hint: 'Check the recipient address. If it is right, the server does not accept mail for it from this account (unknown user, or relay not allowed).',
    source: 'Microsoft 365 "550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP address lookup"; Postfix "550 5.1.1 <x@example.com>: Recipient address rejected: User unknown in virtual mailbox table"',
  },
  {
    id: 'message-rejected',
    code: 'MESSAGE_REJECTED',
    steps: ['data'],
    replyCodes: [500, 599],
    summary: 'The server refused the test message itself.',
    hint: 'Read the server\'s reply: usually a content or spam filter, a size limit, or an outbound policy. Ask the server\'s admin to check its message trace for this test.',
    source: 'Microsoft 365 "550 5.7.520 Message blocked because it contains content identified as spam"; "554 5.6.0 Invalid message content"',
  },

  // A temporary IMAP condition is not a missing folder, even at select.
  {
    id: 'imap-temporary',
    code: 'SERVER_TEMPORARY',
    protocols: ['imap'],
    reply: /\[(UNAVAILABLE|SERVERBUG|INUSE|LIMIT)\]/i,
    summary: 'The server reported a temporary problem ({reply}).',
    hint: 'Retry in a few minutes; close other programs connected to this mailbox. If it persists, tell the server\'s admin.',
    source: 'IMAP response codes of RFC 5530; Dovecot "NO [UNAVAILABLE] Maximum number of connections from user+IP exceeded (mail_max_userip_connections=30)" (joeyates/imap-backup#123)',
  },
  // ---- Folder ------------------------------------------------------------
  {
    id: 'pop3-no-uidl',
    code: 'POP3_NO_UIDL',
    protocols: ['pop3'],
    steps: ['stat'],
    kinds: ['missing'],
    missing: ['UIDL'],
    summary: 'The POP3 server does not support UIDL, so it gives its messages no lasting names: Mailroom could not tell which messages it already imported ({reply}).',
    hint: 'Mailroom imports POP3 mail only from servers with UIDL (RFC 1939\'s optional unique-id listing), so that each message is imported once even when it stays on the server. Ask the server\'s admin to enable UIDL, or read this mailbox over IMAP instead (Incoming: IMAP).',
    source: 'RFC 1939 section 7: UIDL is optional; RFC 2449 CAPA lists it as "UIDL" (Dovecot and Exchange list it; "-ERR Unknown command" from a server without it)',
  },
  {
    id: 'folder-not-found',
    code: 'FOLDER_NOT_FOUND',
    steps: ['select'],
    kinds: ['reply'],
    summary: 'The folder "{folder}" cannot be opened for {user}: {reply}',
    hint: 'Check the folder name (INBOX for the inbox; subfolders often need a prefix such as "INBOX/Support" or "INBOX.Support", and the name is case-sensitive). The transcript shows the server\'s exact answer.',
    source: 'Dovecot "NO Mailbox doesn\'t exist: Support" (seen in this project\'s Dovecot tests); Gmail "NO [NONEXISTENT] Unknown Mailbox: mailwiz/ (now in authenticated state) (Failure)" (OfflineIMAP/offlineimap#223)',
  },

  // ---- Generic catch-alls ------------------------------------------------
  {
    id: 'ehlo-rejected',
    code: 'SERVER_REJECTED_CONNECTION',
    steps: ['ehlo', 'capability'],
    replyCodes: [500, 599],
    summary: 'The server refused to continue after the greeting ({reply}).',
    hint: 'The server does not accept this client: ask its admin to allow this PC\'s address, or check that this is the right server and port.',
  },
  {
    id: 'reply-temporary',
    code: 'SERVER_TEMPORARY',
    replyCodes: [400, 499],
    summary: 'The server reported a temporary problem ({reply}).',
    hint: 'Retry in a few minutes. If it persists, tell the server\'s admin the reply and the time of this test.',
  },
  {
    id: 'step-timeout',
    code: 'TIMEOUT',
    kinds: ['timeout'],
    summary: 'The server stopped answering during the {step} step.',
    hint: 'The server or the network is slow or holding the connection. Retry; allow {moreTime} for a slow server; check for a proxy or firewall that inspects mail traffic.',
  },
  {
    id: 'connection-dropped',
    code: 'CONNECTION_DROPPED',
    kinds: ['closed', 'connect', 'tls'],
    summary: 'The server closed the connection during the {step} step.',
    hint: 'The server ended the session (often after a refused command or too many connections) or something in between cut it. Read the last server lines in the transcript; retry; check firewalls and proxies.',
  },
  {
    id: 'unexpected-reply',
    code: 'PROTOCOL_MISMATCH',
    kinds: ['unexpected'],
    summary: 'The server\'s answer during the {step} step is not valid {PROTOCOL}.',
    hint: 'Check that {host}:{port} is a {PROTOCOL} server and that nothing (a proxy or antivirus) rewrites the traffic.',
  },
  {
    id: 'fallback-reply',
    code: 'SERVER_TEMPORARY',
    summary: 'The server refused the {step} step ({reply}).',
    hint: 'Read the server\'s reply in the transcript and ask the server\'s admin about it.',
  },
];

const PROTOCOL_LABEL: Record<TestProtocol, string> = { smtp: 'SMTP', imap: 'IMAP', pop3: 'POP3', graph: 'Microsoft Graph' };
const DETECTED_LABEL: Record<DetectedProtocol, string> = {
  smtp: 'an SMTP server',
  imap: 'an IMAP server',
  pop3: 'a POP3 server',
  http: 'a web (HTTP) server',
  ssh: 'an SSH server',
  ftp: 'an FTP server',
  tls: 'a TLS server',
  unknown: 'something that is not a mail server',
};
const PORTS: Record<TestProtocol, { tls: number; starttls: number }> = { smtp: { tls: 465, starttls: 587 }, imap: { tls: 993, starttls: 143 }, pop3: { tls: 995, starttls: 110 }, graph: { tls: 443, starttls: 443 } };

function firstLine(text: string | undefined): string {
  return (text ?? '').split(/\r?\n/).find((l) => l.trim())?.trim() ?? '';
}

/** True when every condition of a rule holds for the facts. */
export function ruleMatches(rule: DiagnosisRule, facts: FailureFacts): boolean {
  if (rule.protocols && !rule.protocols.includes(facts.protocol)) return false;
  if (rule.steps && !rule.steps.includes(facts.step)) return false;
  if (rule.kinds && !rule.kinds.includes(facts.kind)) return false;
  if (rule.auth && !rule.auth.includes(facts.auth)) return false;
  if (rule.security && !rule.security.includes(facts.security)) return false;
  if (rule.ports && !rule.ports.includes(facts.port)) return false;
  if (rule.detected && (!facts.detected || !rule.detected.includes(facts.detected))) return false;
  if (rule.missing && (!facts.missing || !rule.missing.includes(facts.missing))) return false;
  if (rule.tokenProblem && (!facts.tokenProblem || !rule.tokenProblem.includes(facts.tokenProblem))) return false;
  if (rule.tokenKinds && (!facts.tokenKind || !rule.tokenKinds.includes(facts.tokenKind))) return false;
  if (rule.errorCodes && (!facts.errorCode || !rule.errorCodes.includes(facts.errorCode))) return false;
  if (rule.replyCodes) {
    if (facts.replyCode === undefined || facts.replyCode < rule.replyCodes[0] || facts.replyCode > rule.replyCodes[1]) return false;
  }
  if (rule.reply) {
    if (!facts.reply) return false;
    rule.reply.lastIndex = 0;
    if (!rule.reply.test(facts.reply)) return false;
  }
  return true;
}

/** Fills `{placeholders}` of a rule's text from the facts. */
export function fillTemplate(text: string, facts: FailureFacts): string {
  const ports = PORTS[facts.protocol];
  const values: Record<string, string> = {
    host: facts.host,
    port: String(facts.port),
    security: phrase(securityToken(facts.security), 'screen'),
    step: facts.step,
    protocol: facts.protocol,
    PROTOCOL: PROTOCOL_LABEL[facts.protocol],
    tlsPort: String(ports.tls),
    starttlsPort: String(ports.starttls),
    user: facts.user || 'the account',
    folder: facts.folder || 'INBOX',
    from: facts.from || facts.user || 'the sender',
    to: facts.to || 'the recipient',
    detected: DETECTED_LABEL[facts.detected ?? 'unknown'],
    certNames: facts.certificateNames?.length ? facts.certificateNames.join(', ') : 'other names',
    validTo: facts.certificateValidTo ? facts.certificateValidTo.slice(0, 10) : 'a past date',
    error: facts.errorCode || 'no details',
    missing: facts.missing || 'a sign-in method',
    reply: firstLine(facts.reply) || 'no reply text',
    resolver: facts.resolver || 'the resolver',
    tokenAccount: facts.tokenAccount || 'another account',
    tokenExpiredAt: facts.tokenExpiredAt || 'an earlier time',
    tokenAudience: facts.tokenAudience || 'another service',
    tokenPermission: facts.tokenPermission || 'the permission for this protocol',
    tokenAppId: facts.tokenAppId || '<Application (client) ID>',
    serverTls: facts.serverTls ? tlsVersionLabel(facts.serverTls.version) : 'TLS 1.0 or 1.1',
    serverTlsCipher: facts.serverTls?.cipher ? ` (cipher ${facts.serverTls.cipher})` : '',
    minimumTls: tlsVersionLabel(MINIMUM_TLS_VERSION),
    serverErrorNote: facts.serverError ? ` (server said ${facts.serverError})` : '',
  };
  // Facts first, then the setting words in the screen's vocabulary (the CLI turns them into its values when it prints).
  return renderWords(text.replace(/\{(\w+)\}/g, (whole, key: string) => values[key] ?? whole), 'screen');
}

/** The first rule that matches the facts (the last rules match anything). */
export function findRule(facts: FailureFacts, rules: readonly DiagnosisRule[] = DIAGNOSIS_RULES): DiagnosisRule {
  return rules.find((rule) => ruleMatches(rule, facts)) ?? rules[rules.length - 1]!;
}

/** The diagnosis of a failed step: exactly one code, summary, hint and the server's reply. */
export function diagnose(facts: FailureFacts, rules: readonly DiagnosisRule[] = DIAGNOSIS_RULES): Diagnosis & { rule: string } {
  const rule = findRule(facts, rules);
  return {
    code: rule.code,
    step: facts.step,
    summary: fillTemplate(rule.summary, facts),
    hint: fillTemplate(rule.hint, facts),
    serverReply: facts.reply?.trim() ? facts.reply.trim() : null,
    rule: rule.id,
  };
}
