/**
 * Turns what Microsoft Entra and msal-node say into a stable code, plain
 * words and what to change. Data-driven, in two tables:
 *
 * - TOKEN_ERROR_RULES: Entra's AADSTS codes (the server's own sentence is
 *   quoted after our words), first match wins;
 * - MSAL_ERROR_MEANINGS: every error code msal-node and msal-common raise
 *   (ClientAuthError, ClientConfigurationError, InteractionRequiredAuthError,
 *   AuthError, CacheError, JoseHeaderError, NodeAuthError, msal-node's own
 *   client errors) and the OAuth 2.0 / OpenID Connect error codes a server
 *   answers with (ServerError), by exact code.
 *
 * msal's own text ("endpoints_resolution_error: See
 * https://aka.ms/msal.js.errors#...") never becomes the message: it goes to
 * the error's `detail`. msal drops the cause of a network failure (a refused
 * connection becomes `endpoints_resolution_error`), so the caller passes what
 * its network module saw (NetworkFailureLog) and the host of the sign-in
 * server: an unreachable server is OAUTH_NETWORK naming that host.
 *
 * `signInRequired` meanings move the mailbox to the "sign in again" state, so
 * workers stop retrying a dead refresh token.
 *
 * Some codes mean different things for Mailroom's two kinds of client: the
 * public client of a person's sign-in (no secret: AADSTS7000218 means the
 * registration is a web app) and the confidential client of app-only access
 * (client secret or certificate: AADSTS7000215 means the secret is wrong).
 * A rule may name the clients it is for. Texts are Microsoft's own, from
 * "Microsoft Entra authentication and authorization error codes"
 * (learn.microsoft.com/entra/identity-platform/reference-error-codes).
 */
import { AppError } from '../../shared/errors.js';
import { SIGN_IN_AGAIN_ACTION } from './sign-in-requirement.js';
import { describeNetworkFailure, type ObservedNetworkFailure } from './http.js';

/** Which client asked for the token: a person's sign-in (public, no secret) or app-only access (confidential: secret or certificate). */
export type TokenClientKind = 'public' | 'confidential';

/** One rule: what a failure looks like, and what it means. */
export interface TokenErrorRule {
  /** Tested against "errorCode: errorMessage" of the failure. */
  pattern: RegExp;
  code: string;
  /** Plain words; the server's own first sentence is appended. */
  summary: string;
  hint: string;
  signInRequired: boolean;
  /** The clients this rule is for; all when absent. */
  clients?: readonly TokenClientKind[];
}

const SIGN_IN_AGAIN = `Sign in with Microsoft again on the mailbox ("${SIGN_IN_AGAIN_ACTION}" in Mailroom, or: mailroom oauth login <mailbox>). Mail waiting for it is sent at once after the sign-in.`;

/** The AADSTS rules, most specific first. */
export const TOKEN_ERROR_RULES: readonly TokenErrorRule[] = [
  // ---- App-only access (client credentials) ------------------------------
  {
    // "AADSTS7000222: InvalidClientSecretExpiredKeysProvided - The provided client secret keys are expired."
    pattern: /AADSTS7000222/,
    code: 'OAUTH_CLIENT_SECRET_EXPIRED',
    summary: 'The client secret of the app registration has expired.',
    hint: 'In the app registration > Certificates & secrets, create a new client secret, enter its Value in Mailroom and note its expiry date (Mailroom warns 30 days ahead); or use a certificate instead of a secret.',
    signInRequired: true,
  },
  {
    // "AADSTS7000215: Invalid client secret is provided."
    pattern: /AADSTS7000215/,
    code: 'OAUTH_CLIENT_SECRET_INVALID',
    summary: 'Microsoft refused the client secret: it is not a secret of this app registration.',
    hint: 'Enter the secret\'s Value (shown once, when it is created), not its Secret ID; check that it belongs to the app registration whose client id is configured; or create a new secret (app registration > Certificates & secrets).',
    signInRequired: true,
    clients: ['confidential'],
  },
  {
    // "AADSTS700027: Client assertion contains an invalid signature."; AADSTS700024: "Client assertion is not within its valid time range."
    pattern: /AADSTS700027|AADSTS700024/,
    code: 'OAUTH_CLIENT_CERTIFICATE_INVALID',
    summary: 'Microsoft refused the certificate Mailroom signed in with.',
    hint: 'Upload this certificate (its public part, .cer or .pem) to the app registration > Certificates & secrets > Certificates, or choose the certificate that is there; check that it has not expired and that this PC\'s clock is right.',
    signInRequired: true,
    clients: ['confidential'],
  },
  {
    // "AADSTS7000112: UnauthorizedClientApplicationDisabled - The application is disabled."
    pattern: /AADSTS7000112/,
    code: 'OAUTH_NOT_CONFIGURED',
    summary: 'The app registration is disabled in this tenant.',
    hint: 'In the Entra admin center > Enterprise applications > the app > Properties, set "Enabled for users to sign-in?" to Yes.',
    signInRequired: true,
  },
  {
    // "AADSTS1002012: The provided value for scope ... is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier."
    pattern: /AADSTS1002012/,
    code: 'OAUTH_NOT_CONFIGURED',
    summary: 'App-only access asked for named scopes; client credentials take only the resource\'s .default scope.',
    hint: 'Ask for https://outlook.office365.com/.default; the application permissions (IMAP.AccessAsApp, POP.AccessAsApp, SMTP.SendAsApp) come from the app registration and its admin consent.',
    signInRequired: true,
    clients: ['confidential'],
  },

  {
    pattern: /AADSTS50173|AADSTS50133|AADSTS50089/,
    code: 'OAUTH_SIGN_IN_REQUIRED',
    summary: 'Microsoft no longer accepts the stored sign-in: it was revoked, or the account\'s password was changed or reset.',
    hint: SIGN_IN_AGAIN,
    signInRequired: true,
  },
  {
    pattern: /AADSTS700082|AADSTS70008|AADSTS700084/,
    code: 'OAUTH_SIGN_IN_REQUIRED',
    summary: 'The stored sign-in expired because it was not used for too long.',
    hint: SIGN_IN_AGAIN,
    signInRequired: true,
  },
  {
    pattern: /AADSTS65001/,
    code: 'OAUTH_CONSENT_REQUIRED',
    summary: 'Consent for Mailroom\'s app registration is missing or was revoked.',
    hint: 'In the Entra admin center, open the app registration > API permissions, add IMAP.AccessAsUser.All and SMTP.Send (Office 365 Exchange Online) and select "Grant admin consent"; then sign in again.',
    signInRequired: true,
  },
  {
    pattern: /AADSTS65004/,
    code: 'OAUTH_SIGN_IN_CANCELLED',
    summary: 'The sign-in was cancelled or consent was declined at Microsoft.',
    hint: 'Start the sign-in again and accept the permissions, or ask a Global Administrator to grant admin consent for the app registration.',
    signInRequired: false,
  },
  {
    pattern: /AADSTS50076|AADSTS50079|AADSTS50158/,
    code: 'OAUTH_SIGN_IN_REQUIRED',
    summary: 'Microsoft requires an interactive sign-in (multi-factor authentication or another check).',
    hint: SIGN_IN_AGAIN,
    signInRequired: true,
  },
  {
    pattern: /AADSTS53003|AADSTS53000|AADSTS53001/,
    code: 'OAUTH_SIGN_IN_REQUIRED',
    summary: 'A Conditional Access policy of the tenant blocks this sign-in.',
    hint: 'Ask the tenant\'s administrator to allow the sign-in (Entra admin center > Sign-in logs shows which policy), then sign in again.',
    signInRequired: true,
  },
  {
    pattern: /AADSTS50057|AADSTS50053|AADSTS50055/,
    code: 'OAUTH_SIGN_IN_REQUIRED',
    summary: 'The account is disabled, locked or its password expired.',
    hint: 'Unblock the account or reset its password in the Microsoft 365 admin center, then sign in again.',
    signInRequired: true,
  },
  {
    pattern: /AADSTS700016/,
    code: 'OAUTH_NOT_CONFIGURED',
    summary: 'The Application (client) ID is not registered in this tenant.',
    hint: 'Check the client id and the tenant in Mailroom\'s OAuth settings against the app registration\'s Overview page.',
    signInRequired: true,
  },
  {
    pattern: /AADSTS90002|AADSTS90023/,
    code: 'OAUTH_TENANT_NOT_FOUND',
    summary: 'The tenant in Mailroom\'s OAuth settings does not exist.',
    hint: 'Enter the Directory (tenant) ID from the app registration\'s Overview page, or the tenant\'s onmicrosoft.com domain.',
    signInRequired: true,
  },
  {
    pattern: /AADSTS7000218|AADSTS7000215|client_assertion|client_secret/,
    clients: ['public'],
    code: 'OAUTH_NOT_CONFIGURED',
    summary: 'The app registration is set up as a web app, so Microsoft wants a client secret that a desktop app must not hold.',
    hint: 'In the app registration > Authentication, add the platform "Mobile and desktop applications" with redirect URI http://localhost and set "Allow public client flows" to Yes.',
    signInRequired: true,
  },
  {
    pattern: /AADSTS50011/,
    code: 'OAUTH_NOT_CONFIGURED',
    summary: 'The redirect URI is not registered for the app.',
    hint: 'In the app registration > Authentication > Mobile and desktop applications, add the redirect URI shown in Mailroom\'s OAuth settings (http://localhost).',
    signInRequired: false,
  },
  {
    pattern: /AADSTS500011|AADSTS70011/,
    code: 'OAUTH_CONSENT_REQUIRED',
    summary: 'Microsoft refused the permissions Mailroom asks for (IMAP.AccessAsUser.All, SMTP.Send).',
    hint: 'Add both permissions from "Office 365 Exchange Online" (not Microsoft Graph) under API permissions, grant admin consent, and check the tenant has Exchange Online.',
    signInRequired: true,
  },
];

/** What one msal or OAuth error code means. */
export interface MsalErrorMeaning {
  code: string;
  /** Plain words, the message. */
  summary: string;
  hint: string;
  signInRequired: boolean;
  /** The server could not be reached: the message names the host and the reason. */
  network?: boolean;
}

const TRY_AGAIN_SIGN_IN = 'Start the sign-in again (Sign in again on the mailbox, or mailroom oauth login <mailbox>). If it keeps failing, send the diagnostics bundle to your support contact.';
const NETWORK_HINT = 'Check this computer\'s internet connection, and that the proxy and firewall let Mailroom reach the sign-in server over HTTPS (TCP port 443). A sign-in already stored is kept.';

const network = (): MsalErrorMeaning => ({ code: 'OAUTH_NETWORK', summary: 'Microsoft\'s sign-in service could not be reached.', hint: NETWORK_HINT, signInRequired: false, network: true });
const signInAgain = (summary: string): MsalErrorMeaning => ({ code: 'OAUTH_SIGN_IN_REQUIRED', summary, hint: SIGN_IN_AGAIN, signInRequired: true });
const configuration = (summary: string, hint = 'Check the tenant, client id and sign-in host in Mailroom\'s OAuth settings (Mailboxes > the mailbox > App registration, or mailroom oauth settings) against the app registration\'s Overview page.'): MsalErrorMeaning => ({
  code: 'OAUTH_NOT_CONFIGURED',
  summary,
  hint,
  signInRequired: false,
});
const failed = (summary: string, hint = TRY_AGAIN_SIGN_IN): MsalErrorMeaning => ({ code: 'OAUTH_SIGN_IN_FAILED', summary, hint, signInRequired: false });
const internal = (): MsalErrorMeaning => failed('The sign-in library (msal-node) stopped with an internal error that Mailroom does not expect.', 'Try again. If it keeps failing, send the diagnostics bundle (it holds this error\'s detail) to your support contact.');
const consent = (summary: string): MsalErrorMeaning => ({
  code: 'OAUTH_CONSENT_REQUIRED',
  summary,
  hint: 'In the Entra admin center, open the app registration > API permissions, add IMAP.AccessAsUser.All and SMTP.Send (Office 365 Exchange Online) and select "Grant admin consent"; then sign in again.',
  signInRequired: true,
});
const cancelled = (summary: string): MsalErrorMeaning => ({ code: 'OAUTH_SIGN_IN_CANCELLED', summary, hint: 'Start the sign-in again and finish it in the browser, accepting the permissions.', signInRequired: false });
const storedSignInUnusable = () => signInAgain('The stored sign-in cannot be used any more (it is missing, damaged or was replaced).');

/**
 * Every error code of msal-node and msal-common, and the OAuth 2.0 / OpenID
 * Connect codes a sign-in server answers with, by code. A unit test walks
 * msal's exported code lists and fails on any code missing here.
 */
export const MSAL_ERROR_MEANINGS: Readonly<Record<string, MsalErrorMeaning>> = {
  // --- msal-common ClientAuthErrorCodes -----------------------------------
  endpoints_resolution_error: network(),
  network_error: network(),
  no_network_connectivity: network(),
  openid_config_error: network(),
  request_cannot_be_made: network(),
  client_info_decoding_error: storedSignInUnusable(),
  client_info_empty_error: failed('Microsoft\'s answer did not say which account signed in (client_info is missing).', 'Check that the sign-in host in the OAuth settings is Microsoft\'s (login.microsoftonline.com for the public cloud), then sign in again.'),
  token_parsing_error: failed('Microsoft\'s answer held a token Mailroom could not read.'),
  null_or_empty_token: failed('Microsoft answered without the token Mailroom asked for.'),
  hash_not_deserialized: failed('The answer that came back to Mailroom from the browser could not be read.'),
  invalid_state: failed('The answer that came back from the browser did not belong to this sign-in.'),
  state_mismatch: failed('The answer that came back from the browser did not belong to this sign-in.'),
  state_not_found: failed('The answer that came back from the browser did not belong to this sign-in.'),
  nonce_mismatch: failed('The sign-in answer failed its replay check (nonce).'),
  authorization_code_missing_from_server_response: failed('Microsoft\'s answer in the browser held no authorization code.'),
  multiple_matching_tokens: storedSignInUnusable(),
  multiple_matching_appMetadata: storedSignInUnusable(),
  invalid_cache_record: storedSignInUnusable(),
  invalid_cache_environment: storedSignInUnusable(),
  no_account_found: storedSignInUnusable(),
  no_account_in_silent_request: storedSignInUnusable(),
  token_refresh_required: signInAgain('The stored sign-in must be renewed with an interactive sign-in.'),
  user_canceled: cancelled('The sign-in was cancelled.'),
  cannot_remove_empty_scope: internal(),
  cannot_append_scopeset: internal(),
  empty_input_scopeset: internal(),
  no_crypto_object: internal(),
  unexpected_credential_type: internal(),
  dpop_token_type_mismatch: internal(),
  token_claims_cnf_required_for_signedjwt: internal(),
  binding_key_not_removed: internal(),
  end_session_endpoint_not_supported: internal(),
  key_id_missing: internal(),
  method_not_implemented: internal(),
  nested_app_auth_bridge_disabled: internal(),
  platform_broker_error: internal(),
  resource_parameter_required: internal(),
  misplaced_resource_parameter: internal(),
  // --- msal-common ClientConfigurationErrorCodes --------------------------
  redirect_uri_empty: configuration('The redirect URI for the sign-in is empty.', 'Check the redirect host in Mailroom\'s OAuth settings (localhost or 127.0.0.1).'),
  claims_request_parsing_error: internal(),
  authority_uri_insecure: configuration('The sign-in host must be an https:// address.'),
  url_parse_error: configuration('The sign-in host or tenant in the OAuth settings is not a valid address.'),
  empty_url_error: configuration('The sign-in host in the OAuth settings is empty.'),
  empty_input_scopes_error: internal(),
  invalid_claims: internal(),
  token_request_empty: internal(),
  logout_request_empty: internal(),
  invalid_code_challenge_method: internal(),
  pkce_params_missing: internal(),
  invalid_cloud_discovery_metadata: configuration('The sign-in server\'s cloud discovery answer could not be read.'),
  invalid_authority_metadata: configuration('The sign-in server did not describe the tenant in a way Mailroom can use (its OpenID metadata is invalid).'),
  untrusted_authority: configuration('The sign-in host is not one Mailroom trusts for this app registration.'),
  missing_ssh_jwk: internal(),
  missing_ssh_kid: internal(),
  unsupported_authentication_scheme: internal(),
  missing_nonce_authentication_header: internal(),
  invalid_authentication_header: internal(),
  cannot_set_OIDCOptions: internal(),
  cannot_allow_platform_broker: internal(),
  authority_mismatch: configuration('The sign-in server answered for another tenant or cloud than the one in the OAuth settings.'),
  invalid_request_method_for_EAR: internal(),
  invalid_platform_broker_configuration: internal(),
  issuer_validation_failed: configuration('The sign-in server\'s answer names another issuer than the tenant in the OAuth settings.'),
  invalid_response_mode: internal(),
  invalid_dpop_htm: internal(),
  invalid_dpop_htu: internal(),
  invalid_dpop_nonce: internal(),
  dpop_missing_resource_context: internal(),
  // --- msal-common InteractionRequiredAuthErrorCodes ----------------------
  no_tokens_found: storedSignInUnusable(),
  native_account_unavailable: storedSignInUnusable(),
  refresh_token_expired: signInAgain('The stored sign-in expired.'),
  ui_not_allowed: signInAgain('Microsoft requires an interactive sign-in.'),
  interaction_required: signInAgain('Microsoft requires an interactive sign-in (multi-factor authentication or another check).'),
  consent_required: consent('Consent for Mailroom\'s app registration is missing or was revoked.'),
  login_required: signInAgain('Microsoft requires the account to sign in again.'),
  bad_token: signInAgain('Microsoft no longer accepts the stored sign-in.'),
  interrupted_user: signInAgain('The sign-in was interrupted and must be done again.'),
  // --- msal-common AuthErrorCodes and CacheErrorCodes ----------------------
  unexpected_error: internal(),
  post_request_failed: network(),
  cache_quota_exceeded: failed('The stored sign-in could not be saved: the store is full.', 'Free disk space on the drive of the data folder, then sign in again.'),
  cache_error_unknown: failed('The stored sign-in could not be read or saved.', 'Check that the data folder is writable, then sign in again.'),
  // --- msal-common JoseHeaderErrorCodes ------------------------------------
  missing_kid_error: internal(),
  missing_alg_error: internal(),
  missing_jwk_error: internal(),
  invalid_jwk_error: internal(),
  // --- msal-node NodeAuthError --------------------------------------------
  invalid_loopback_server_address_type: internal(),
  unable_to_load_redirectUrl: internal(),
  no_auth_code_in_response: failed('The answer that came back from the browser held no authorization code.'),
  no_loopback_server_exists: internal(),
  loopback_server_already_exists: internal(),
  loopback_server_timeout: { code: 'OAUTH_SIGN_IN_TIMEOUT', summary: 'Nobody finished the sign-in in the browser in time.', hint: TRY_AGAIN_SIGN_IN, signInRequired: false },
  loopback_server_query_response_not_supported: internal(),
  thumbprint_missing_from_client_certificate: internal(),
  redirect_uri_not_supported: internal(),
  unsupported_cca_instance_aware: internal(),
  // --- msal-node ClientAuthErrorCodes -------------------------------------
  missing_tenant_id_error: configuration('The OAuth settings have no tenant.'),
  user_timeout_reached: { code: 'OAUTH_SIGN_IN_TIMEOUT', summary: 'Nobody finished the sign-in in time.', hint: TRY_AGAIN_SIGN_IN, signInRequired: false },
  invalid_assertion: internal(),
  invalid_client_credential: internal(),
  empty_fic_assertion: internal(),
  conflicting_user_identifiers: internal(),
  missing_user_identifier: internal(),
  device_code_polling_cancelled: cancelled('The sign-in was cancelled.'),
  device_code_expired: { code: 'OAUTH_SIGN_IN_TIMEOUT', summary: 'The sign-in code expired before anyone used it.', hint: TRY_AGAIN_SIGN_IN, signInRequired: false },
  device_code_unknown_error: internal(),
  // --- msal-node ManagedIdentityErrorCodes (never used by a desktop sign-in) ---
  invalid_file_extension: internal(),
  invalid_file_path: internal(),
  invalid_managed_identity_id_type: internal(),
  invalid_secret: internal(),
  missing_client_id: configuration('The OAuth settings have no client id.'),
  network_unavailable: network(),
  platform_not_supported: internal(),
  unable_to_create_azure_arc: internal(),
  unable_to_create_cloud_shell: internal(),
  unable_to_create_source: internal(),
  unable_to_read_secret_file: internal(),
  user_assigned_not_available_at_runtime: internal(),
  user_assigned_managed_identity_not_confirmed: internal(),
  www_authenticate_header_missing: internal(),
  www_authenticate_header_unsupported_format: internal(),
  // --- OAuth 2.0 (RFC 6749) and OpenID Connect errors a server answers -----
  invalid_request: failed('Microsoft refused the sign-in request as malformed.'),
  invalid_client: configuration('Microsoft does not accept the app registration as a desktop (public) client.', 'In the app registration > Authentication, add the platform "Mobile and desktop applications" with redirect URI http://localhost and set "Allow public client flows" to Yes; check the client id.'),
  invalid_grant: signInAgain('The stored sign-in is no longer valid.'),
  unauthorized_client: configuration('The app registration may not sign in this way (public client flows are off, or the client id is wrong).', 'In the app registration > Authentication, set "Allow public client flows" to Yes, and check the client id in Mailroom\'s OAuth settings.'),
  unsupported_grant_type: configuration('Microsoft refused how Mailroom asked for the token.'),
  invalid_scope: consent('Microsoft refused the permissions Mailroom asks for (IMAP.AccessAsUser.All, SMTP.Send).'),
  invalid_resource: consent('The tenant does not know the resource Mailroom asks permissions for (Office 365 Exchange Online).'),
  access_denied: cancelled('The sign-in was cancelled or consent was declined at Microsoft.'),
  unsupported_response_type: internal(),
  server_error: failed('Microsoft\'s sign-in service failed while answering.', 'Try again in a few minutes; Microsoft\'s service status page says whether there is an outage.'),
  temporarily_unavailable: failed('Microsoft\'s sign-in service is temporarily unavailable.', 'Try again in a few minutes; Microsoft\'s service status page says whether there is an outage. The stored sign-in is kept.'),
  account_selection_required: signInAgain('Microsoft asks which account to use: an interactive sign-in is needed.'),
  authorization_pending: internal(),
  expired_token: signInAgain('The stored sign-in expired.'),
  // Mailroom's own network module: the server answered something that is not JSON (a proxy's page).
  invalid_response: failed('The sign-in server answered with something that is not a sign-in answer (a proxy or captive portal page?).', 'Check that this computer reaches Microsoft directly, or that the proxy lets the sign-in host through unchanged.'),
};

/** What the caller knows besides the error. */
export interface TokenErrorContext {
  /** The sign-in server (the authority host of the OAuth settings), named when it cannot be reached. */
  authorityHost?: string;
  /** The network failure msal's network module saw during this request, if any. */
  networkFailure?: ObservedNetworkFailure;
  /** Who asked: a person's sign-in (`public`, the default) or app-only access with a secret or certificate (`confidential`). */
  client?: TokenClientKind;
}

/** The server's first sentence, without trace and correlation ids. */
function firstSentence(text: string): string {
  const cleaned = text.replace(/\s+/g, ' ').replace(/\s*Trace ID:.*$/i, '').trim();
  return cleaned.length > 300 ? `${cleaned.slice(0, 297)}...` : cleaned;
}

/** The AADSTS code a failure names (AADSTS7000222...), when it names one. */
export function aadstsCode(error: unknown): string | undefined {
  const e = error as { errorCode?: string; errorMessage?: string; message?: string } | null;
  const text = `${e?.errorCode ?? ''} ${e?.errorMessage ?? ''} ${e?.message ?? (typeof error === 'string' ? error : '')}`;
  return /\bAADSTS\d+\b/.exec(text)?.[0];
}

/** msal's own words, kept as the detail (never a token: msal's messages carry codes and descriptions only). */
function detailOf(code: string, message: string): string | undefined {
  const text = `${code ? `${code}: ` : ''}${message}`.replace(/\s+/g, ' ').trim();
  if (!text) return undefined;
  return `msal-node: ${text.length > 500 ? `${text.slice(0, 497)}...` : text}`;
}

const NETWORK_CAUSE = /fetch failed|ENOTFOUND|EAI_AGAIN|ECONNREFUSED|ECONNRESET|ETIMEDOUT|ENETUNREACH|EHOSTUNREACH|UND_ERR_CONNECT_TIMEOUT|TimeoutError|Network request failed|Request timeout/i;

/** The host an OAuth settings' authority names, for messages. */
function hostOf(authority: string | undefined): string | undefined {
  if (!authority) return undefined;
  try {
    return new URL(authority).host;
  } catch {
    return authority;
  }
}

function networkError(context: TokenErrorContext, error: unknown, detail: string | undefined): AppError {
  const seen = context.networkFailure;
  const host = seen?.host ?? hostOf(context.authorityHost) ?? 'the sign-in server';
  // Without what the network module saw, read the failure itself (a raw fetch error).
  const reason = seen?.failure.reason ?? (error instanceof Error && NETWORK_CAUSE.test(`${error.name} ${error.message} ${String((error as { cause?: { code?: string } }).cause?.code ?? '')}`) ? describeNetworkFailure(error, host).reason : undefined);
  return new AppError('OAUTH_NETWORK', `Microsoft's sign-in service at ${host} could not be reached${reason ? `: ${reason}` : ''}.`, {
    hint: NETWORK_HINT.replace('reach the sign-in server over HTTPS (TCP port 443)', `reach https://${host} over HTTPS (TCP port ${/:(\d+)$/.exec(host)?.[1] ?? '443'})`),
    cause: error,
    ...(detail ? { detail } : {}),
  });
}

/** What a token failure means: an AppError to raise and whether to ask for a new sign-in. */
export function classifyTokenError(error: unknown, context: TokenErrorContext = {}): { error: AppError; signInRequired: boolean } {
  if (error instanceof AppError) return { error, signInRequired: error.code === 'OAUTH_SIGN_IN_REQUIRED' };
  const e = error as { errorCode?: string; errorMessage?: string; subError?: string; message?: string; name?: string } | null;
  const code = e?.errorCode ?? '';
  const message = e?.errorMessage || e?.message || String(error);
  const text = `${code}: ${message} ${e?.subError ?? ''}`;
  const detail = detailOf(code, message);

  // Entra's own diagnosis (AADSTS...) is the most specific: its sentence is quoted.
  const client = context.client ?? 'public';
  const rule = TOKEN_ERROR_RULES.find((r) => (!r.clients || r.clients.includes(client)) && (r.pattern.test(text) || r.pattern.test(code)));
  if (rule) {
    const server = firstSentence(message);
    return {
      error: new AppError(rule.code, server && !rule.summary.includes(server) ? `${rule.summary} Microsoft said: ${server}` : rule.summary, { hint: rule.hint, cause: error }),
      signInRequired: rule.signInRequired,
    };
  }

  const meaning = MSAL_ERROR_MEANINGS[code] ?? (e?.subError ? MSAL_ERROR_MEANINGS[e.subError] : undefined);
  // A failure of the request itself: msal's code, or a raw network error, or what the network module saw.
  if (meaning?.network || (!meaning && (context.networkFailure || NETWORK_CAUSE.test(text)))) {
    return { error: networkError(context, error, detail), signInRequired: false };
  }
  if (meaning) {
    return { error: new AppError(meaning.code, meaning.summary, { hint: meaning.hint, cause: error, ...(detail ? { detail } : {}) }), signInRequired: meaning.signInRequired };
  }
  return {
    error: new AppError('OAUTH_SIGN_IN_FAILED', 'Getting a token from Microsoft failed for a reason Mailroom does not know.', {
      hint: 'Try again; if it keeps failing, sign in with Microsoft again and check the OAuth settings. The detail below is the sign-in library\'s own report.',
      cause: error,
      ...(detail ? { detail } : {}),
    }),
    signInRequired: false,
  };
}
