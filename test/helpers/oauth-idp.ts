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
  /** Follows the authorize URL like a browser with an IdP session: returns where the IdP redirects. */
  authorize(url: string): Promise<{ location: URL; code: string | null; state: string | null; error: string | null }>;
  stop(): Promise<void>;
}

/** Starts the IdP on 127.0.0.1 at a free port. */
export async function startTestIdp(options: { user?: Partial<IdpUser> } = {}): Promise<TestIdp> {
  const certs = makeLoopbackCertificates();
  const tenantId = crypto.randomUUID();
  const clientId = crypto.randomUUID();
  const server = new OAuth2Server(certs.keyFile, certs.certFile, { endpoints: { wellKnownDocument: `/${tenantId}/v2.0/.well-known/openid-configuration` } });
  await server.issuer.keys.generate('RS256');
  await server.start(0, '127.0.0.1');
  const port = server.address().port;
  server.issuer.url = `https://127.0.0.1:${port}`;

  const accessTokens = new Map<string, IssuedToken>();
  const refreshTokens = new Map<string, IssuedToken>();
  const revoked = new Set<string>();
  const tokenRequests: TestIdp['tokenRequests'] = [];

  const idp: TestIdp = {
    authorityHost: `https://127.0.0.1:${port}`,
    tenantId,
    clientId,
    certs,
    fetch: fetchTrusting(certs.caPem),
    user: { username: 'support@contoso.test', name: 'Support Desk', oid: crypto.randomUUID(), ...options.user },
    accessTokenLifetimeSeconds: 3600,
    accessTokenClaims: null,
    tokenError: null,
    tokenRequests,
    countTokenRequests: (grantType) => tokenRequests.filter((r) => !grantType || r.grantType === grantType).length,
    verifyAccessToken(token) {
      const t = accessTokens.get(token);
      if (!t || revoked.has(token) || t.expiresAt <= Date.now()) return undefined;
      return t.username;
    },
    issuedAccessTokens: () => [...accessTokens.keys()],
    issuedRefreshTokens: () => [...refreshTokens.keys()],
    revokeAccessTokens() {
      for (const t of accessTokens.keys()) revoked.add(t);
    },
    revokeAll() {
      for (const t of accessTokens.keys()) revoked.add(t);
      for (const t of refreshTokens.keys()) revoked.add(t);
    },
    introspectionUrl: '',
    async authorize(url) {
      const response = await idp.fetch(url, { method: 'GET', redirect: 'manual' });
      const location = response.headers.get('location');
      if (response.status !== 302 || !location) throw new Error(`The IdP's authorize endpoint answered ${response.status}: ${await response.text()}`);
      const target = new URL(location);
      return { location: target, code: target.searchParams.get('code'), state: target.searchParams.get('state'), error: target.searchParams.get('error') };
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
    if (!idToken && idp.accessTokenClaims) {
      for (const [name, value] of Object.entries(idp.accessTokenClaims)) {
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
    // Entra answers with the resource scopes granted, not openid/profile/offline_access.
    response.body.scope = 'https://outlook.office.com/IMAP.AccessAsUser.All https://outlook.office.com/SMTP.Send';
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
      const username = idp.verifyAccessToken(token);
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify(username ? { active: true, username, scope: 'https://outlook.office.com/IMAP.AccessAsUser.All' } : { active: false }));
    });
  });
  await new Promise<void>((resolve) => introspection.listen(0, '127.0.0.1', () => resolve()));
  idp.introspectionUrl = `http://127.0.0.1:${(introspection.address() as AddressInfo).port}/introspect`;

  return idp;
}
