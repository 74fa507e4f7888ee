/**
 * A Microsoft-Entra-shaped identity provider for tests: oauth2-mock-server
 * over HTTPS on 127.0.0.1 with a test CA made by openssl at run time.
 *
 * - the OpenID metadata is served at /<tenant>/v2.0/.well-known/openid-configuration,
 *   so msal-node talks to it as to any Entra authority (knownAuthorities);
 * - id tokens carry preferred_username, name, oid and tid, and the token
 *   response carries client_info, as Entra's do;
 * - every access and refresh token issued is remembered, so a test SMTP or
 *   IMAP server can accept exactly the tokens this IdP issued, and refresh
 *   tokens can be revoked (the next refresh fails with AADSTS50173);
 * - token requests are counted by grant type.
 *
 * Trust: in-process through `fetch` (an https agent with the CA), in child
 * processes through NODE_EXTRA_CA_CERTS=`caFile`.
 */
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { OAuth2Server } from 'oauth2-mock-server';
import type { HttpFetch, HttpResponse } from '../../src-main/engine/auth/http';

/** A test CA and a leaf for 127.0.0.1, ::1 and localhost. */
export interface TestCertificates {
  dir: string;
  caFile: string;
  caPem: string;
  keyFile: string;
  certFile: string;
  /** base64 SHA-256 of the leaf's public key (for chromium's --ignore-certificate-errors-spki-list). */
  spkiHash: string;
  remove(): void;
}

/** Makes a CA and a loopback leaf certificate with openssl (about 0.3 s). */
export function makeLoopbackCertificates(): TestCertificates {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mailroom-idp-ca-'));
  const run = (args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  run(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=Mailroom Test CA',
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
  run(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', 'leaf.key', '-out', 'leaf.csr', '-subj', '/CN=127.0.0.1']);
  fs.writeFileSync(path.join(dir, 'ext.cnf'), 'subjectAltName=IP:127.0.0.1,IP:::1,DNS:localhost\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n');
  run(['x509', '-req', '-in', 'leaf.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'leaf.pem', '-days', '2', '-extfile', 'ext.cnf']);
  const leaf = new crypto.X509Certificate(fs.readFileSync(path.join(dir, 'leaf.pem')));
  const spki = leaf.publicKey.export({ type: 'spki', format: 'der' });
  return {
    dir,
    caFile: path.join(dir, 'ca.pem'),
    caPem: fs.readFileSync(path.join(dir, 'ca.pem'), 'utf8'),
    keyFile: path.join(dir, 'leaf.key'),
    certFile: path.join(dir, 'leaf.pem'),
    spkiHash: crypto.createHash('sha256').update(spki).digest('base64'),
    remove: () => fs.rmSync(dir, { recursive: true, force: true }),
  };
}

/** An HttpFetch (http and https) that trusts `caPem`; never follows redirects unless asked. */
export function fetchTrusting(caPem: string): HttpFetch {
  const agent = new https.Agent({ ca: caPem, keepAlive: false });
  return (url, init = {}) =>
    new Promise<HttpResponse>((resolve, reject) => {
      const u = new URL(url);
      const lib = u.protocol === 'https:' ? https : http;
      const req = lib.request(
        u,
        { method: init.method ?? 'GET', headers: init.headers ?? {}, ...(u.protocol === 'https:' ? { agent } : {}), ...(init.signal ? { signal: init.signal } : {}) },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('error', reject);
          res.on('end', () => {
            const body = Buffer.concat(chunks).toString('utf8');
            const headers = new Map<string, string>();
            for (const [k, v] of Object.entries(res.headers)) if (v !== undefined) headers.set(k.toLowerCase(), Array.isArray(v) ? v.join(', ') : v);
            resolve({
              status: res.statusCode ?? 0,
              headers: { get: (name) => headers.get(name.toLowerCase()) ?? null, forEach: (cb) => headers.forEach((v, k) => cb(v, k)) },
              text: async () => body,
            });
          });
        },
      );
      req.on('error', reject);
      if (init.body !== undefined) req.write(init.body);
      req.end();
    });
}

/** The account the IdP signs in next. */
export interface IdpUser {
  username: string;
  name: string;
  oid: string;
}

interface IssuedToken {
  username: string;
  expiresAt: number;
}

/** Exchange Online's resource as app-only tokens carry it in `aud`. */
export const APP_TOKEN_AUDIENCE = 'https://outlook.office365.com';

/** Microsoft Graph's resource, as Entra writes it into `aud` of tokens asked for with Graph scopes. */
export const GRAPH_AUDIENCE = 'https://graph.microsoft.com';

/**
 * The resource a token request names and the short permission names, as Entra
 * reads a v2 scope list: `https://graph.microsoft.com/Mail.Send offline_access`
 * is resource https://graph.microsoft.com with Mail.Send; OIDC scopes are not
 * permissions. Null when no scope names Microsoft Graph (then the IdP keeps its
 * Exchange-shaped behaviour).
 */
export function graphScopesOf(scope: unknown): { resourceScopes: string[]; names: string[] } | null {
  const all = String(scope ?? '').split(/\s+/).filter(Boolean);
  const resourceScopes = all.filter((s) => s.toLowerCase().startsWith(`${GRAPH_AUDIENCE}/`));
  if (resourceScopes.length === 0) return null;
  return { resourceScopes, names: resourceScopes.map((s) => s.slice(GRAPH_AUDIENCE.length + 1)) };
}

/**
 * App-only access as the IdP and Exchange see it: the app registration's
 * credentials (the secret and/or the certificate it accepts for
 * client_credentials), the application permissions (`roles`) its tokens
 * carry, and the mailbox permissions of its service principal.
 */
export interface IdpApp {
  /** The client secret Entra accepts; any other is AADSTS7000215. */
  clientSecret: string;
  /** When true every secret is refused with AADSTS7000222 (expired). */
  secretExpired: boolean;
  /** The certificate whose key may sign client assertions (PEM), or null. */
  certificatePem: string | null;
  /** The `roles` of the next app tokens (IMAP.AccessAsApp, SMTP.SendAsApp...). */
  roles: string[];
  /** The `aud` of the next app tokens (default https://outlook.office365.com; a test may give Graph's). */
  audience: string;
  /**
   * The `roles` of the next app tokens asked for with https://graph.microsoft.com/.default
   * (their `aud` is then Graph's, as Entra's are): the Microsoft Graph application
   * permissions granted to the app. Default Mail.Send and Mail.ReadWrite.
   */
  graphRoles: string[];
  /** Mailboxes the service principal has Full Access to (IMAP, POP). */
  fullAccess: Set<string>;
  /** Mailboxes the service principal may send as (SMTP). */
  sendAs: Set<string>;
}

/** What an app-only token was issued as. */
export interface IssuedAppToken {
  clientId: string;
  audience: string;
  roles: string[];
  expiresAt: number;
  /** How the client proved itself. */
  via: 'secret' | 'certificate';
}

/** An RSA test certificate for app-only access: PEM (cert + key) and PFX files made by openssl. */
export interface AppCertificate {
  dir: string;
  certPem: string;
  keyPem: string;
  /** Certificate and key in one PEM file. */
  combinedPem: string;
  /** PFX with the password `pfxPassword`, OpenSSL 3's default (PBES2, AES-256, PBKDF2-SHA256). */
  pfxAes: Buffer;
  /** PFX with the password, legacy Windows style (PKCS#12 PBE with SHA1 and 3DES, SHA-1 MAC). */
  pfx3des: Buffer;
  pfxPassword: string;
  /** Hex SHA-256 thumbprint (upper case). */
  thumbprintSha256: string;
  remove(): void;
}

/** Makes an RSA 2048 self-signed certificate with openssl, and its PEM and PFX files. */
export function makeAppCertificate(subject = '/CN=Mailroom app-only test', days = 365): AppCertificate {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mailroom-app-cert-'));
  const run = (args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  const pfxPassword = 'pfx pässword 1';
  run(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'app.key', '-out', 'app.pem', '-days', String(days), '-subj', subject]);
  run(['pkcs12', '-export', '-in', 'app.pem', '-inkey', 'app.key', '-out', 'app-aes.pfx', '-passout', `pass:${pfxPassword}`]);
  run(['pkcs12', '-export', '-in', 'app.pem', '-inkey', 'app.key', '-out', 'app-3des.pfx', '-passout', `pass:${pfxPassword}`, '-keypbe', 'PBE-SHA1-3DES', '-certpbe', 'PBE-SHA1-3DES', '-macalg', 'sha1']);
  const certPem = fs.readFileSync(path.join(dir, 'app.pem'), 'utf8');
  const keyPem = fs.readFileSync(path.join(dir, 'app.key'), 'utf8');
  return {
    dir,
    certPem,
    keyPem,
    combinedPem: `${keyPem}${certPem}`,
    pfxAes: fs.readFileSync(path.join(dir, 'app-aes.pfx')),
    pfx3des: fs.readFileSync(path.join(dir, 'app-3des.pfx')),
    pfxPassword,
    thumbprintSha256: new crypto.X509Certificate(certPem).fingerprint256.replace(/:/g, ''),
    remove: () => fs.rmSync(dir, { recursive: true, force: true }),
  };
}

/**
 * Checks a client assertion (RFC 7523) the way Entra does: signed (RS256 or
 * PS256) by the key of the registered certificate, named by its SHA-256
 * thumbprint (x5t#S256), for this client and this token endpoint, not
 * expired. Returns why it is refused, or null.
 */
export function checkClientAssertion(assertion: string, certificatePem: string, clientId: string, tokenEndpoint: string): string | null {
  const parts = assertion.split('.');
  if (parts.length !== 3) return 'not a JWT';
  let header: Record<string, unknown>;
  let payload: Record<string, unknown>;
  try {
    header = JSON.parse(Buffer.from(parts[0]!, 'base64url').toString('utf8')) as Record<string, unknown>;
    payload = JSON.parse(Buffer.from(parts[1]!, 'base64url').toString('utf8')) as Record<string, unknown>;
  } catch {
    return 'not a JWT';
  }
  const certificate = new crypto.X509Certificate(certificatePem);
  const thumbprint = Buffer.from(certificate.fingerprint256.replace(/:/g, ''), 'hex').toString('base64url');
  if (header['x5t#S256'] !== thumbprint) return `x5t#S256 ${String(header['x5t#S256'])} is not the registered certificate's`;
  const data = Buffer.from(`${parts[0]}.${parts[1]}`);
  const signature = Buffer.from(parts[2]!, 'base64url');
  const verified =
    header.alg === 'PS256'
      ? crypto.verify('sha256', data, { key: certificate.publicKey, padding: crypto.constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 }, signature)
      : header.alg === 'RS256'
        ? crypto.verify('sha256', data, certificate.publicKey, signature)
        : false;
  if (!verified) return `the signature (${String(header.alg)}) does not verify with the registered certificate`;
  if (payload.iss !== clientId || payload.sub !== clientId) return 'iss/sub is not the client id';
  if (payload.aud !== tokenEndpoint) return `aud ${String(payload.aud)} is not the token endpoint`;
  if (typeof payload.exp !== 'number' || payload.exp * 1000 < Date.now()) return 'expired';
  return null;
}

export interface TestIdp {
  /** https://127.0.0.1:<port>: the authority host to put in the OAuth settings. */
  authorityHost: string;
  tenantId: string;
  clientId: string;
  certs: TestCertificates;
  /** An HttpFetch that trusts the IdP's CA. */
  fetch: HttpFetch;
  /** Who signs in next (the "browser" session at the IdP). */
  user: IdpUser;
  /** Lifetime of the next access tokens, in seconds (msal treats < 5 min as due for refresh). */
  accessTokenLifetimeSeconds: number;
  /**
   * Claims written into the next access tokens (not id tokens), as Entra would
   * for another request: `{ aud: 'https://graph.microsoft.com' }`, `{ scp: 'SMTP.Send' }`,
   * `{ upn: 'someone@else.test' }`; a value of undefined takes the claim out.
   */
  accessTokenClaims: Record<string, unknown> | null;
  /**
   * Like accessTokenClaims, for the delegated tokens asked for with Microsoft Graph
   * scopes (which otherwise carry aud https://graph.microsoft.com and the granted
   * `scp`, as Entra's do): `{ scp: 'Mail.Read' }` takes Mail.Send away.
   */
  graphAccessTokenClaims: Record<string, unknown> | null;
  /** While set, every token request is refused with this Entra answer (`AADSTS65001: ...`), HTTP 400. */
  tokenError: { error: string; description: string } | null;
  /** Token requests seen, by grant type. */
  tokenRequests: Array<{ grantType: string; at: number }>;
  countTokenRequests(grantType?: string): number;
  /** The user a live access token belongs to, or undefined (unknown, expired or revoked). */
  verifyAccessToken(token: string): string | undefined;
  /** Every access token issued so far (for scanning logs and databases). */
  issuedAccessTokens(): string[];
  issuedRefreshTokens(): string[];
  /** Revokes every refresh and access token issued so far. */
  revokeAll(): void;
  /** Revokes the access tokens issued so far (refresh tokens keep working). */
  revokeAccessTokens(): void;
  /** An RFC 7662 introspection endpoint (POST token=...) for Dovecot's oauth2 passdb. */
  introspectionUrl: string;
  /** App-only access: credentials, roles and mailbox permissions (see IdpApp). */
  app: IdpApp;
  /** Every app-only token issued, with what it was issued as. */
  issuedAppTokens(): Map<string, IssuedAppToken>;
  /** Client-credentials requests refused, with the reason (a wrong secret, a bad assertion...). */
  refusedClientCredentials: string[];
  /**
   * Exchange's check of an app-only token for a mailbox: issued here, live,
   * audience Exchange Online, the protocol's role, and the service
   * principal's mailbox permission. Returns why it is refused, or null.
   */
  checkAppToken(token: string, mailbox: string, protocol: 'imap' | 'smtp'): string | null;
  /** Follows the authorize URL like a browser with an IdP session: returns where the IdP redirects. */
  authorize(url: string): Promise<{ location: URL; code: string | null; state: string | null; error: string | null }>;
  /** Asks the token endpoint directly (no msal) with this form and this app's client id: the access token, or a throw with the answer. */
  requestToken(form: Record<string, string>): Promise<string>;
  stop(): Promise<void>;
}

/** Starts the IdP on 127.0.0.1 at a free port. */
export async function startTestIdp(options: { user?: Partial<IdpUser> } = {}): Promise<TestIdp> {
  const certs = makeLoopbackCertificates();
  const tenantId = crypto.randomUUID();
  const clientId = crypto.randomUUID();
  const appObjectId = crypto.randomUUID();
  const server = new OAuth2Server(certs.keyFile, certs.certFile, { endpoints: { wellKnownDocument: `/${tenantId}/v2.0/.well-known/openid-configuration` } });
  await server.issuer.keys.generate('RS256');
  await server.start(0, '127.0.0.1');
  const port = server.address().port;
  server.issuer.url = `https://127.0.0.1:${port}`;

  const accessTokens = new Map<string, IssuedToken>();
  const refreshTokens = new Map<string, IssuedToken>();
  const revoked = new Set<string>();
  const tokenRequests: TestIdp['tokenRequests'] = [];
  const appTokens = new Map<string, IssuedAppToken>();
  const refusedClientCredentials: string[] = [];

  const idp: TestIdp = {
    authorityHost: `https://127.0.0.1:${port}`,
    tenantId,
    clientId,
    certs,
    fetch: fetchTrusting(certs.caPem),
    user: { username: 'support@contoso.test', name: 'Support Desk', oid: crypto.randomUUID(), ...options.user },
    accessTokenLifetimeSeconds: 3600,
    accessTokenClaims: null,
    graphAccessTokenClaims: null,
    tokenError: null,
    tokenRequests,
    countTokenRequests: (grantType) => tokenRequests.filter((r) => !grantType || r.grantType === grantType).length,
    verifyAccessToken(token) {
      const t = accessTokens.get(token);
      if (!t || revoked.has(token) || t.expiresAt <= Date.now()) return undefined;
      return t.username;
    },
    issuedAccessTokens: () => [...accessTokens.keys(), ...appTokens.keys()],
    issuedRefreshTokens: () => [...refreshTokens.keys()],
    revokeAccessTokens() {
      for (const t of accessTokens.keys()) revoked.add(t);
    },
    revokeAll() {
      for (const t of accessTokens.keys()) revoked.add(t);
      for (const t of refreshTokens.keys()) revoked.add(t);
    },
    introspectionUrl: '',
    app: {
      clientSecret: `secret~${crypto.randomBytes(18).toString('base64url')}`,
      secretExpired: false,
      certificatePem: null,
      roles: ['IMAP.AccessAsApp', 'POP.AccessAsApp', 'SMTP.SendAsApp'],
      audience: APP_TOKEN_AUDIENCE,
      graphRoles: ['Mail.Send', 'Mail.ReadWrite'],
      fullAccess: new Set(),
      sendAs: new Set(),
    },
    issuedAppTokens: () => appTokens,
    refusedClientCredentials,
    checkAppToken(token, mailbox, protocol) {
      const t = appTokens.get(token);
      if (!t || revoked.has(token)) return 'not a token this IdP issued';
      if (t.expiresAt <= Date.now()) return 'expired';
      if (t.audience.replace(/\/+$/, '') !== APP_TOKEN_AUDIENCE) return `audience ${t.audience}, not Exchange Online`;
      const role = protocol === 'imap' ? 'IMAP.AccessAsApp' : 'SMTP.SendAsApp';
      if (!t.roles.includes(role)) return `no ${role} role`;
      const granted = protocol === 'imap' ? idp.app.fullAccess : idp.app.sendAs;
      if (!granted.has(mailbox.toLowerCase())) return `the service principal has no ${protocol === 'imap' ? 'FullAccess' : 'SendAs'} permission on ${mailbox}`;
      return null;
    },
    async authorize(url) {
      const response = await idp.fetch(url, { method: 'GET', redirect: 'manual' });
      const location = response.headers.get('location');
      if (response.status !== 302 || !location) throw new Error(`The IdP's authorize endpoint answered ${response.status}: ${await response.text()}`);
      const target = new URL(location);
      return { location: target, code: target.searchParams.get('code'), state: target.searchParams.get('state'), error: target.searchParams.get('error') };
    },
    async requestToken(form) {
      const response = await idp.fetch(`${idp.authorityHost}/token`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ client_id: idp.clientId, ...form }).toString(),
      });
      const body = JSON.parse(await response.text()) as { access_token?: string };
      if (!body.access_token) throw new Error(`no token: ${JSON.stringify(body)}`);
      return body.access_token;
    },
    stop: async () => {
      await server.stop();
      await new Promise<void>((resolve) => introspection.close(() => resolve()));
      certs.remove();
    },
  };

  // Which user a token request is for: the refresh token's owner, or whoever signs in now.
  const userFor = (body: Record<string, unknown>): IdpUser | undefined => {
    if (body.grant_type === 'refresh_token') {
      const owner = refreshTokens.get(String(body.refresh_token));
      return owner ? { ...idp.user, username: owner.username } : undefined;
    }
    return idp.user;
  };

  server.service.on('beforeTokenSigning', (token: { payload: Record<string, unknown> }, req: { body: Record<string, unknown> }) => {
    if (req.body.grant_type === 'client_credentials') {
      // An application token, as Entra issues it for client credentials: roles, no scp, no user.
      const now = Math.floor(Date.now() / 1000);
      const graph = graphScopesOf(req.body.scope) !== null;
      for (const claim of ['scope', 'sub']) delete token.payload[claim];
      Object.assign(token.payload, {
        aud: graph ? GRAPH_AUDIENCE : idp.app.audience,
        roles: [...(graph ? idp.app.graphRoles : idp.app.roles)],
        appid: String(req.body.client_id ?? ''),
        idtyp: 'app',
        tid: tenantId,
        oid: appObjectId,
        sub: appObjectId,
        jti: crypto.randomUUID(),
        exp: now + idp.accessTokenLifetimeSeconds,
      });
      return;
    }
    const user = userFor(req.body) ?? idp.user;
    const now = Math.floor(Date.now() / 1000);
    // The id token is the one the mock gives the client's id as audience; every other token is an access token.
    const idToken = token.payload.aud !== undefined && token.payload.aud === (req.body.client_id ?? idp.clientId);
    Object.assign(token.payload, {
      preferred_username: user.username,
      upn: user.username,
      name: user.name,
      oid: user.oid,
      tid: tenantId,
      jti: crypto.randomUUID(),
      exp: now + idp.accessTokenLifetimeSeconds,
    });
    const graph = idToken ? null : graphScopesOf(req.body.scope);
    if (graph) {
      // Entra: the token is for the resource the scopes name, with the granted permissions in scp.
      delete token.payload.scope;
      token.payload.aud = GRAPH_AUDIENCE;
      token.payload.scp = graph.names.join(' ');
    }
    const overrides = graph ? idp.graphAccessTokenClaims : idp.accessTokenClaims;
    if (!idToken && overrides) {
      for (const [name, value] of Object.entries(overrides)) {
        if (value === undefined) delete token.payload[name];
        else token.payload[name] = value;
      }
    }
  });

  server.service.on('beforeResponse', (response: { body: Record<string, unknown>; statusCode: number }, req: { body: Record<string, unknown> }) => {
    const grantType = String(req.body.grant_type ?? '');
    tokenRequests.push({ grantType, at: Date.now() });
    if (idp.tokenError) {
      const code = Number(/AADSTS(\d+)/.exec(idp.tokenError.description)?.[1] ?? 0);
      response.statusCode = 400;
      response.body = {
        error: idp.tokenError.error,
        error_description: `${idp.tokenError.description} Trace ID: 00000000-0000-0000-0000-000000000000 Correlation ID: 00000000-0000-0000-0000-000000000000 Timestamp: 2026-01-01 00:00:00Z`,
        error_codes: code ? [code] : [],
      };
      return;
    }
    if (grantType === 'client_credentials') {
      const refuse = (status: number, error: string, description: string) => {
        refusedClientCredentials.push(description);
        response.statusCode = status;
        response.body = { error, error_description: `${description} Trace ID: 00000000-0000-0000-0000-000000000000 Correlation ID: 00000000-0000-0000-0000-000000000000 Timestamp: 2026-01-01 00:00:00Z`, error_codes: [Number(/AADSTS(\d+)/.exec(description)?.[1] ?? 0)] };
      };
      const body = req.body;
      if (body.client_id !== clientId) return refuse(400, 'unauthorized_client', `AADSTS700016: Application with identifier '${String(body.client_id)}' was not found in the directory '${tenantId}'.`);
      if (String(body.scope ?? '').split(' ').some((s) => !s.endsWith('/.default'))) {
        return refuse(400, 'invalid_scope', `AADSTS1002012: The provided value for scope ${String(body.scope)} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).`);
      }
      let via: IssuedAppToken['via'];
      if (typeof body.client_secret === 'string') {
        if (idp.app.secretExpired) return refuse(401, 'invalid_client', `AADSTS7000222: The provided client secret keys for app '${clientId}' are expired.`);
        if (body.client_secret !== idp.app.clientSecret) return refuse(401, 'invalid_client', `AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '${clientId}'.`);
        via = 'secret';
      } else if (typeof body.client_assertion === 'string') {
        const why = idp.app.certificatePem ? checkClientAssertion(body.client_assertion, idp.app.certificatePem, clientId, `${idp.authorityHost}/token`) : 'no certificate is registered';
        if (why) return refuse(401, 'invalid_client', `AADSTS700027: Client assertion failed signature validation (${why}).`);
        via = 'certificate';
      } else {
        return refuse(401, 'invalid_client', "AADSTS7000218: The request body must contain the following parameter: 'client_assertion' or 'client_secret'.");
      }
      if (typeof response.body.access_token !== 'string') return;
      response.body.expires_in = idp.accessTokenLifetimeSeconds;
      const graph = graphScopesOf(body.scope) !== null;
      appTokens.set(response.body.access_token, {
        clientId,
        audience: graph ? GRAPH_AUDIENCE : idp.app.audience,
        roles: [...(graph ? idp.app.graphRoles : idp.app.roles)],
        expiresAt: Date.now() + idp.accessTokenLifetimeSeconds * 1000,
        via,
      });
      delete response.body.scope;
      return;
    }
    if (grantType === 'refresh_token') {
      const rt = String(req.body.refresh_token ?? '');
      if (!refreshTokens.has(rt) || revoked.has(rt)) {
        response.statusCode = 400;
        response.body = {
          error: 'invalid_grant',
          error_description:
            'AADSTS50173: The provided grant has expired due to it being revoked, a fresh auth token is needed. The user might have changed or reset their password. Trace ID: 00000000-0000-0000-0000-000000000000 Correlation ID: 00000000-0000-0000-0000-000000000000 Timestamp: 2026-01-01 00:00:00Z',
          error_codes: [50173],
          suberror: 'bad_token',
        };
        return;
      }
    }
    if (typeof response.body.access_token !== 'string') return;
    const user = userFor(req.body) ?? idp.user;
    const expiresAt = Date.now() + idp.accessTokenLifetimeSeconds * 1000;
    response.body.expires_in = idp.accessTokenLifetimeSeconds;
    accessTokens.set(response.body.access_token, { username: user.username, expiresAt });
    if (typeof response.body.refresh_token === 'string') refreshTokens.set(response.body.refresh_token, { username: user.username, expiresAt: Date.now() + 90 * 86_400_000 });
    response.body.client_info = Buffer.from(JSON.stringify({ uid: user.oid, utid: tenantId })).toString('base64url');
    // Entra answers with the resource scopes granted, not openid/profile/offline_access
    // (msal-node caches the token under these, so a Graph token must not claim Exchange's scopes).
    const graph = graphScopesOf(req.body.scope);
    response.body.scope = graph ? graph.resourceScopes.join(' ') : 'https://outlook.office.com/IMAP.AccessAsUser.All https://outlook.office.com/SMTP.Send';
  });

  // RFC 7662 introspection over plain HTTP on loopback, for Dovecot (which would need the CA otherwise).
  const introspection = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const params = new URLSearchParams(body);
      const bearer = /^Bearer\s+(.+)$/i.exec(req.headers.authorization ?? '')?.[1];
      const token = params.get('token') ?? bearer ?? '';
      let username = idp.verifyAccessToken(token);
      if (!username && appTokens.has(token)) {
        // An app-only token carries no user, and Dovecot 2.3's introspection cannot name the one
        // logging in (a %u in the URL makes its auth process panic): answer with the one mailbox
        // the service principal may open with this token; Dovecot refuses any other login name.
        const opens = [...idp.app.fullAccess].filter((m) => idp.checkAppToken(token, m, 'imap') === null);
        if (opens.length === 1) username = opens[0];
      }
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify(username ? { active: true, username, scope: 'https://outlook.office.com/IMAP.AccessAsUser.All' } : { active: false }));
    });
  });
  await new Promise<void>((resolve) => introspection.listen(0, '127.0.0.1', () => resolve()));
  idp.introspectionUrl = `http://127.0.0.1:${(introspection.address() as AddressInfo).port}/introspect`;

  return idp;
}
