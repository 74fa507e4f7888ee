/** Microsoft 365 OAuth 2.0: sign-in, token provider, XOAUTH2. */
export { OAuthService, type AccessToken, type OAuthServiceOptions, type OpenExternal, type TokenProvider } from './oauth-service.js';
export { buildXOAuth2, parseXOAuth2, decodeXOAuth2Challenge } from './xoauth2.js';
export { globalHttpFetch, type HttpFetch, type HttpResponse } from './http.js';
export { aadstsCode, classifyTokenError, TOKEN_ERROR_RULES, type TokenClientKind } from './token-errors.js';
export {
  decodeAccessToken,
  tokenFindings,
  refusalFindings,
  displayClaims,
  missingPermissions,
  TOKEN_CLAIM_RULES,
  REFUSAL_RULES,
  EXCHANGE_AUDIENCES,
  GRAPH_AUDIENCES,
  DELEGATED_PERMISSIONS,
  APPLICATION_PERMISSIONS,
  type TokenClaims,
  type TokenFinding,
  type TokenExpectation,
  type TokenProtocol,
  type TokenRefusal,
  type DecodedToken,
} from './token-claims.js';
