/**
 * One test per token-error rule, fed with Microsoft Entra's own replies
 * (error codes and the first sentence of error_description, as msal passes
 * them on), plus the SASL XOAUTH2 string builder.
 */
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import * as msalNode from '@azure/msal-node';
import * as msalCommon from '@azure/msal-common';
import { MSAL_ERROR_MEANINGS, aadstsCode, classifyTokenError } from '../../src-main/engine/auth/token-errors';
import { NetworkFailureLog } from '../../src-main/engine/auth/http';
import { buildXOAuth2, decodeXOAuth2Challenge, parseXOAuth2 } from '../../src-main/engine/auth/xoauth2';
import { isAppError } from '../../src-main/shared/errors';

const REPLIES: Array<[string, { errorCode: string; errorMessage: string }, string, boolean]> = [
  ['revoked or password changed', { errorCode: 'invalid_grant', errorMessage: 'AADSTS50173: The provided grant has expired due to it being revoked, a fresh auth token is needed. The user might have changed or reset their password.' }, 'OAUTH_SIGN_IN_REQUIRED', true],
  ['expired from disuse', { errorCode: 'invalid_grant', errorMessage: 'AADSTS700082: The refresh token has expired due to inactivity. The token was issued on 2025-01-01T00:00:00Z and was inactive for 90.00:00:00.' }, 'OAUTH_SIGN_IN_REQUIRED', true],
  ['consent missing', { errorCode: 'invalid_grant', errorMessage: 'AADSTS65001: The user or administrator has not consented to use the application with ID \'x\' named \'Mailroom\'. Send an interactive authorization request for this user and resource.' }, 'OAUTH_CONSENT_REQUIRED', true],
  ['consent declined', { errorCode: 'access_denied', errorMessage: 'AADSTS65004: User declined to consent to access the app.' }, 'OAUTH_SIGN_IN_CANCELLED', false],
  ['MFA required', { errorCode: 'invalid_grant', errorMessage: 'AADSTS50076: Due to a configuration change made by your administrator, or because you moved to a new location, you must use multi-factor authentication to access \'00000002-0000-0ff1-ce00-000000000000\'.' }, 'OAUTH_SIGN_IN_REQUIRED', true],
  ['conditional access', { errorCode: 'invalid_grant', errorMessage: 'AADSTS53003: Access has been blocked by Conditional Access policies. The access policy does not allow token issuance.' }, 'OAUTH_SIGN_IN_REQUIRED', true],
  ['account disabled', { errorCode: 'invalid_grant', errorMessage: 'AADSTS50057: The user account is disabled.' }, 'OAUTH_SIGN_IN_REQUIRED', true],
  ['unknown client id', { errorCode: 'unauthorized_client', errorMessage: 'AADSTS700016: Application with identifier \'x\' was not found in the directory \'Contoso\'.' }, 'OAUTH_NOT_CONFIGURED', true],
  ['unknown tenant', { errorCode: 'invalid_request', errorMessage: 'AADSTS90002: Tenant \'contoso.test\' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.' }, 'OAUTH_TENANT_NOT_FOUND', true],
  ['web platform instead of desktop', { errorCode: 'invalid_client', errorMessage: 'AADSTS7000218: The request body must contain the following parameter: \'client_assertion\' or \'client_secret\'.' }, 'OAUTH_NOT_CONFIGURED', true],
  ['redirect URI not registered', { errorCode: 'invalid_request', errorMessage: 'AADSTS50011: The redirect URI \'http://localhost:53124\' specified in the request does not match the redirect URIs configured for the application \'x\'.' }, 'OAUTH_NOT_CONFIGURED', false],
  ['Exchange permission missing', { errorCode: 'invalid_resource', errorMessage: 'AADSTS500011: The resource principal named https://outlook.office.com was not found in the tenant named Contoso.' }, 'OAUTH_CONSENT_REQUIRED', true],
  ['plain invalid_grant', { errorCode: 'invalid_grant', errorMessage: 'invalid_grant' }, 'OAUTH_SIGN_IN_REQUIRED', true],
  ['network', { errorCode: 'network_error', errorMessage: 'Network request failed: fetch failed' }, 'OAUTH_NETWORK', false],
];

describe('token error rules', () => {
  for (const [what, reply, code, signInRequired] of REPLIES) {
    it(`${what} -> ${code}`, () => {
      const result = classifyTokenError(reply);
      expect(result.error.code).toBe(code);
      expect(result.signInRequired).toBe(signInRequired);
      expect(result.error.hint).toBeTruthy();
      expect(result.error.message).not.toMatch(/Trace ID/);
    });
  }

  // App-only access (client credentials): Microsoft's texts from "Microsoft Entra authentication and authorization error codes".
  const CONFIDENTIAL: Array<[string, { errorCode: string; errorMessage: string }, string]> = [
    ['wrong client secret', { errorCode: 'invalid_client', errorMessage: 'AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app \'6731de76-14a6-49ae-97bc-6eba6914391e\'.' }, 'OAUTH_CLIENT_SECRET_INVALID'],
    ['expired client secret', { errorCode: 'invalid_client', errorMessage: 'AADSTS7000222: The provided client secret keys for app \'6731de76-14a6-49ae-97bc-6eba6914391e\' are expired. Visit the Azure portal to create new keys for your app: https://aka.ms/NewClientSecret, or consider using certificate credentials for added security: https://aka.ms/certCreds.' }, 'OAUTH_CLIENT_SECRET_EXPIRED'],
    ['certificate not on the app', { errorCode: 'invalid_client', errorMessage: 'AADSTS700027: Client assertion contains an invalid signature. [Reason - The key was not found., Thumbprint of key used by client: \'0123456789ABCDEF\']' }, 'OAUTH_CLIENT_CERTIFICATE_INVALID'],
    ['app disabled', { errorCode: 'unauthorized_client', errorMessage: 'AADSTS7000112: Application \'6731de76-14a6-49ae-97bc-6eba6914391e\'(Mailroom) is disabled.' }, 'OAUTH_NOT_CONFIGURED'],
    ['named scope in client credentials', { errorCode: 'invalid_scope', errorMessage: 'AADSTS1002012: The provided value for scope IMAP.AccessAsApp is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).' }, 'OAUTH_NOT_CONFIGURED'],
    ['no consent (app-only)', { errorCode: 'invalid_grant', errorMessage: 'AADSTS65001: The user or administrator has not consented to use the application with ID \'x\' named \'Mailroom\'.' }, 'OAUTH_CONSENT_REQUIRED'],
    ['unknown client id (app-only)', { errorCode: 'unauthorized_client', errorMessage: 'AADSTS700016: Application with identifier \'x\' was not found in the directory \'Contoso\'.' }, 'OAUTH_NOT_CONFIGURED'],
    ['unknown tenant (app-only)', { errorCode: 'invalid_request', errorMessage: 'AADSTS90002: Tenant \'contoso.test\' not found.' }, 'OAUTH_TENANT_NOT_FOUND'],
  ];
  for (const [what, reply, code] of CONFIDENTIAL) {
    it(`app-only: ${what} -> ${code}`, () => {
      const result = classifyTokenError(reply, { client: 'confidential' });
      expect(result.error.code).toBe(code);
      expect(result.error.hint).toBeTruthy();
    });
  }

  it('AADSTS7000215 means a wrong secret for app-only access, but a web-app registration for a person\'s sign-in', () => {
    const reply = { errorCode: 'invalid_client', errorMessage: 'AADSTS7000215: Invalid client secret provided.' };
    expect(classifyTokenError(reply, { client: 'confidential' }).error.hint).toContain('Value');
    expect(classifyTokenError(reply).error).toMatchObject({ code: 'OAUTH_NOT_CONFIGURED' });
    expect(classifyTokenError(reply).error.hint).toContain('Allow public client flows');
  });

  it('names the AADSTS code a failure carries', () => {
    expect(aadstsCode({ errorCode: 'invalid_client', errorMessage: 'AADSTS7000222: The provided client secret keys are expired.' })).toBe('AADSTS7000222');
    expect(aadstsCode({ errorCode: 'network_error', errorMessage: 'fetch failed' })).toBeUndefined();
  });

  it('keeps trace ids out of the message and says what Microsoft said', () => {
    const { error } = classifyTokenError({ errorCode: 'invalid_grant', errorMessage: 'AADSTS50173: The provided grant has expired due to it being revoked. Trace ID: abc Correlation ID: def Timestamp: 2026-01-01' });
    expect(error.message).toContain('Microsoft said: AADSTS50173');
    expect(error.message).not.toContain('Correlation ID');
  });

  it('an unknown failure is OAUTH_SIGN_IN_FAILED and never asks for a new sign-in', () => {
    const result = classifyTokenError({ errorCode: 'weird', errorMessage: 'Something odd.' });
    expect(result.error.code).toBe('OAUTH_SIGN_IN_FAILED');
    expect(result.signInRequired).toBe(false);
    expect(isAppError(result.error)).toBe(true);
  });
});

/** Every error code string defined in one of msal's dist files (the ones its packages do not export). */
function codesInDistFile(pkg: string, file: string): string[] {
  const require = createRequire(import.meta.url);
  const dist = path.join(path.dirname(require.resolve(`${pkg}/package.json`)), 'dist');
  const text = fs.readFileSync(path.join(dist, file), 'utf8');
  return [...text.matchAll(/(?:const \w+ = |code: )"([a-zA-Z_]+)"/g)].map((m) => m[1]!);
}

/** msal's own error codes: exported lists of msal-node and msal-common, and the lists only their dist files hold. */
const MSAL_CODES: Array<[string, string[]]> = [
  ['msal-common ClientAuthErrorCodes', Object.values(msalNode.ClientAuthErrorCodes)],
  ['msal-common ClientConfigurationErrorCodes', Object.values(msalNode.ClientConfigurationErrorCodes)],
  ['msal-common InteractionRequiredAuthErrorCodes', Object.values(msalNode.InteractionRequiredAuthErrorCodes)],
  ['msal-common AuthErrorCodes', Object.values(msalNode.AuthErrorCodes)],
  ['msal-common CacheErrorCodes', Object.values(msalCommon.CacheErrorCodes)],
  ['msal-common JoseHeaderErrorCodes', codesInDistFile('@azure/msal-common', 'error/JoseHeaderErrorCodes.mjs')],
  ['msal-node NodeAuthError', codesInDistFile('@azure/msal-node', 'error/NodeAuthError.mjs')],
  ['msal-node ClientAuthErrorCodes', codesInDistFile('@azure/msal-node', 'error/ClientAuthErrorCodes.mjs')],
  ['msal-node ManagedIdentityErrorCodes', codesInDistFile('@azure/msal-node', 'error/ManagedIdentityErrorCodes.mjs')],
];

/** What msal's own errors look like: the code, then "See https://aka.ms/msal.js.errors#<code> for details". */
const msalError = (code: string) => ({ name: 'ClientAuthError', errorCode: code, errorMessage: `See https://aka.ms/msal.js.errors#${code} for details`, message: `${code}: See https://aka.ms/msal.js.errors#${code} for details` });

describe('every msal error code has a meaning in plain words', () => {
  it('the code lists were found (the dist layout did not change)', () => {
    for (const [list, codes] of MSAL_CODES) expect(codes.length, list).toBeGreaterThan(0);
    expect(MSAL_CODES.flatMap(([, codes]) => codes)).toEqual(expect.arrayContaining(['endpoints_resolution_error', 'network_error', 'no_tokens_found', 'loopback_server_timeout', 'missing_kid_error']));
  });

  for (const [list, codes] of MSAL_CODES) {
    describe(list, () => {
      it.each(codes.map((c) => [c]))('%s', (code) => {
        expect(MSAL_ERROR_MEANINGS[code], `${code} is missing from MSAL_ERROR_MEANINGS`).toBeDefined();
        const { error } = classifyTokenError(msalError(code), { authorityHost: 'https://login.microsoftonline.com' });
        expect(error.code).toMatch(/^OAUTH_[A-Z_]+$/);
        // msal's words may follow as detail, never as the message.
        expect(error.message).not.toContain('aka.ms/msal.js.errors');
        expect(error.message).not.toContain(code);
        expect(error.detail).toContain(code);
        expect(error.hint).toBeTruthy();
      });
    });
  }

  it('OAuth 2.0 and OpenID Connect server errors (RFC 6749 5.2, 4.1.2.1; OIDC 3.1.2.6) have meanings too', () => {
    for (const code of ['invalid_request', 'invalid_client', 'invalid_grant', 'unauthorized_client', 'unsupported_grant_type', 'invalid_scope', 'access_denied', 'unsupported_response_type', 'server_error', 'temporarily_unavailable', 'interaction_required', 'login_required', 'account_selection_required', 'consent_required']) {
      expect(MSAL_ERROR_MEANINGS[code], code).toBeDefined();
    }
  });
});

describe('an unreachable sign-in server', () => {
  it('is OAUTH_NETWORK naming the host and the reason msal dropped (endpoints_resolution_error after a refused connection)', async () => {
    const log = new NetworkFailureLog();
    const started = Date.now();
    const refused = Object.assign(new TypeError('fetch failed'), { cause: Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9'), { code: 'ECONNREFUSED' }) });
    log.record('https://127.0.0.1:9/tenant/v2.0/.well-known/openid-configuration', refused, 30_000);
    const { error, signInRequired } = classifyTokenError(msalError('endpoints_resolution_error'), { authorityHost: 'https://127.0.0.1:9', networkFailure: log.since(started)! });
    expect(error.code).toBe('OAUTH_NETWORK');
    expect(signInRequired).toBe(false);
    expect(error.message).toBe('Microsoft\'s sign-in service at 127.0.0.1:9 could not be reached: the connection was refused (ECONNREFUSED).');
    expect(error.hint).toContain('proxy and firewall');
    expect(error.hint).toContain('https://127.0.0.1:9');
    expect(error.detail).toBe('msal-node: endpoints_resolution_error: See https://aka.ms/msal.js.errors#endpoints_resolution_error for details');
  });

  it('names the authority host even when the network module saw nothing (msal\'s own network_error)', () => {
    const { error } = classifyTokenError(msalError('network_error'), { authorityHost: 'https://login.microsoftonline.com' });
    expect(error.code).toBe('OAUTH_NETWORK');
    expect(error.message).toBe('Microsoft\'s sign-in service at login.microsoftonline.com could not be reached.');
  });

  it('tells DNS, timeouts and refused TLS apart', () => {
    const log = new NetworkFailureLog();
    const cases: Array<[unknown, RegExp]> = [
      [Object.assign(new TypeError('fetch failed'), { cause: { code: 'ENOTFOUND' } }), /host name could not be resolved \(ENOTFOUND\)/],
      [Object.assign(new Error('The operation was aborted due to timeout'), { name: 'TimeoutError' }), /no answer within 30 s/],
      [Object.assign(new TypeError('fetch failed'), { cause: { code: 'SELF_SIGNED_CERT_IN_CHAIN' } }), /TLS certificate was not accepted/],
    ];
    for (const [failure, reason] of cases) {
      const started = Date.now();
      log.record('https://login.microsoftonline.com/organizations/oauth2/v2.0/token', failure, 30_000);
      const { error } = classifyTokenError(msalError('network_error'), { networkFailure: log.since(started)! });
      expect(error.code).toBe('OAUTH_NETWORK');
      expect(error.message).toMatch(reason);
      expect(error.message).toContain('login.microsoftonline.com');
    }
  });
});

describe('XOAUTH2', () => {
  it('builds and reads the SASL initial response', () => {
    const b64 = buildXOAuth2('support@contoso.com', 'eyJ0.eyJ1.sig');
    expect(Buffer.from(b64, 'base64').toString()).toBe('user=support@contoso.com\u0001auth=Bearer eyJ0.eyJ1.sig\u0001\u0001');
    expect(parseXOAuth2(b64)).toEqual({ user: 'support@contoso.com', accessToken: 'eyJ0.eyJ1.sig' });
    expect(parseXOAuth2(Buffer.from('nonsense').toString('base64'))).toBeUndefined();
  });

  it('refuses control characters in the user and a blank token', () => {
    expect(() => buildXOAuth2('a\u0001b@c.test', 't')).toThrow(/control characters/);
    expect(() => buildXOAuth2('a@c.test', '')).toThrow(/empty or malformed/);
  });

  it('decodes the JSON challenge a server sends on a rejected token', () => {
    const challenge = Buffer.from('{"status":"401","schemes":"bearer","scope":"https://outlook.office.com/SMTP.Send"}').toString('base64');
    expect(JSON.parse(decodeXOAuth2Challenge(challenge)!).status).toBe('401');
    expect(decodeXOAuth2Challenge('not base64 json')).toBeUndefined();
  });
});
