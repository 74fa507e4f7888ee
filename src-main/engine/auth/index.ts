/** Microsoft 365 OAuth 2.0: sign-in, token provider, XOAUTH2. */
export { OAuthService, type AccessToken, type OAuthServiceOptions, type OpenExternal, type TokenProvider } from './oauth-service.js';
export { buildXOAuth2, parseXOAuth2, decodeXOAuth2Challenge } from './xoauth2.js';
export { globalHttpFetch, type HttpFetch, type HttpResponse } from './http.js';
export { classifyTokenError, TOKEN_ERROR_RULES } from './token-errors.js';
