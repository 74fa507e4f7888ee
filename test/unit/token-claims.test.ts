/**
 * What Mailroom reads from an access token and what it finds wrong, one
 * test per rule. The tokens are real JWTs signed (RS256) with a key made
 * for the test; their claims have the shape of Microsoft's own, as the
 * "Access token claims reference" (learn.microsoft.com/entra/identity-platform/access-token-claims-reference)
 * describes them: v1.0 tokens for Exchange Online (aud https://outlook.office.com,
 * upn / unique_name, scp for a person's token, roles and no user for an
 * app-only token from the client credentials flow, appid, tid, oid), and
 * the scope and role names of Microsoft's "Authenticate an IMAP, POP or SMTP
 * connection using OAuth" (IMAP.AccessAsUser.All, SMTP.Send, IMAP.AccessAsApp,
 * POP.AccessAsApp, SMTP.SendAsApp).
 */
import crypto from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  decodeAccessToken,
  displayClaims,
  REFUSAL_RULES,
  refusalFindings,
  TOKEN_CLAIM_RULES,
  tokenFindings,
  type TokenClaims,
  type TokenExpectation,
} from '../../src-main/engine/auth/token-claims';
import { tokenFailureFacts } from '../../src-main/engine/diagnose/token-facts';

const { privateKey, publicKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
const NOW = Date.UTC(2026, 10, 25, 10, 0, 0);
const TENANT = '72f988bf-86f1-41af-91ab-2d7cd011db47';
const CLIENT = '6731de76-14a6-49ae-97bc-6eba6914391e';
const MAILBOX = 'support@contoso.com';

/** A JWT signed with the test key. */
function sign(payload: Record<string, unknown>): string {
  const header = Buffer.from(JSON.stringify({ typ: 'JWT', alg: 'RS256', kid: 'mailroom-test' })).toString('base64url');
  const body = Buffer.from(JSON.stringify(payload)).toString('base64url');
  const signature = crypto.sign('RSA-SHA256', Buffer.from(`${header}.${body}`), privateKey).toString('base64url');
  return `${header}.${body}.${signature}`;
}

const seconds = (ms: number) => Math.floor(ms / 1000);

/** A v1.0 token Exchange Online gets for a person's sign-in (delegated). */
const delegated = (over: Record<string, unknown> = {}) =>
  sign({
    aud: 'https://outlook.office.com',
    iss: `https://sts.windows.net/${TENANT}/`,
    iat: seconds(NOW - 300_000),
    nbf: seconds(NOW - 300_000),
    exp: seconds(NOW + 3_300_000),
    acr: '1',
    amr: ['pwd', 'mfa'],
    app_displayname: 'Mailroom',
    appid: CLIENT,
    appidacr: '0',
    idtyp: 'user',
    ipaddr: '192.0.2.10',
    name: 'Support',
    oid: '0b1c2d3e-4f50-4617-8293-a4b5c6d7e8f9',
    scp: 'IMAP.AccessAsUser.All SMTP.Send',
    sub: 'lSWF1ZYdCPDB7mgJw3GDKaYwMA0cHfYxxl6a9lxX8Ww',
    tid: TENANT,
    unique_name: MAILBOX,
    upn: MAILBOX,
    ver: '1.0',
    ...over,
  });

/** A v1.0 token Exchange Online gets from the client credentials flow (app-only: roles, no user). */
const appOnly = (over: Record<string, unknown> = {}) =>
  sign({
    aud: 'https://outlook.office365.com',
    iss: `https://sts.windows.net/${TENANT}/`,
    iat: seconds(NOW - 300_000),
    nbf: seconds(NOW - 300_000),
    exp: seconds(NOW + 3_300_000),
    app_displayname: 'Mailroom',
    appid: CLIENT,
    appidacr: '1',
    idtyp: 'app',
    oid: 'a0b1c2d3-0000-4000-8000-0123456789ab',
    roles: ['IMAP.AccessAsApp', 'SMTP.SendAsApp'],
    sub: 'a0b1c2d3-0000-4000-8000-0123456789ab',
    tid: TENANT,
    ver: '1.0',
    ...over,
  });

function claimsOf(token: string): TokenClaims {
  const decoded = decodeAccessToken(token);
  if (!decoded.readable) throw new Error(`not readable: ${decoded.reason}`);
  return decoded.claims;
}

const expectation = (over: Partial<TokenExpectation> = {}): TokenExpectation => ({ protocols: ['imap', 'smtp'], mailbox: MAILBOX, tenantId: TENANT, clientId: CLIENT, now: NOW, ...over });

describe('reading an access token', () => {
  it('reads a person\'s Exchange Online token without the key (the signature is real, and not checked)', () => {
    const token = delegated();
    const [header, body, signature] = token.split('.');
    expect(crypto.verify('RSA-SHA256', Buffer.from(`${header}.${body}`), publicKey, Buffer.from(signature!, 'base64url'))).toBe(true);
    expect(claimsOf(token)).toMatchObject({
      audience: 'https://outlook.office.com',
      audienceKind: 'exchange',
      kind: 'delegated',
      scopes: ['IMAP.AccessAsUser.All', 'SMTP.Send'],
      roles: [],
      account: MAILBOX,
      tenantId: TENANT,
      appId: CLIENT,
      appName: 'Mailroom',
      issuedAt: seconds(NOW - 300_000) * 1000,
      expiresAt: seconds(NOW + 3_300_000) * 1000,
      version: '1.0',
    });
    expect(tokenFindings(claimsOf(token), expectation())).toEqual([]);
  });

  it('reads an app-only token as the app\'s own: roles, no user', () => {
    const claims = claimsOf(appOnly());
    expect(claims).toMatchObject({ kind: 'app', account: null, roles: ['IMAP.AccessAsApp', 'SMTP.SendAsApp'], scopes: [], objectId: 'a0b1c2d3-0000-4000-8000-0123456789ab' });
    expect(tokenFindings(claims, expectation())).toEqual([]);
    // Without idtyp (an optional claim), roles and no user still say app-only.
    expect(claimsOf(appOnly({ idtyp: undefined })).kind).toBe('app');
  });

  it('takes v2.0 claims too: azp for the client, preferred_username for the account', () => {
    const claims = claimsOf(delegated({ ver: '2.0', appid: undefined, azp: CLIENT, upn: undefined, unique_name: undefined, preferred_username: MAILBOX }));
    expect(claims).toMatchObject({ appId: CLIENT, account: MAILBOX, version: '2.0' });
  });

  it('strips the live.com# prefix of a guest\'s unique_name', () => {
    expect(claimsOf(delegated({ upn: undefined, unique_name: 'live.com#helpdesk@example.org' })).account).toBe('helpdesk@example.org');
  });

  it('says why a token cannot be read: opaque (Google, personal Microsoft accounts), encrypted, malformed', () => {
    expect(decodeAccessToken('ya29.a0AfH6SMBx-opaque-google-token')).toEqual({ readable: false, reason: 'opaque' });
    expect(decodeAccessToken('EwBgA8l6BAAUO9chh8cJscQLmU+LSWpbnr0vmwwAAQ')).toEqual({ readable: false, reason: 'opaque' });
    expect(decodeAccessToken('a.b.c.d.e')).toEqual({ readable: false, reason: 'encrypted' });
    expect(decodeAccessToken('eyJhbGciOiJub25lIn0.bm90IGpzb24.x')).toEqual({ readable: false, reason: 'malformed' });
  });

  it('never gives back the token, nor its signature, in claims, display claims or findings', () => {
    for (const token of [delegated({ aud: '00000003-0000-0000-c000-000000000000' }), appOnly({ roles: [] })]) {
      const claims = claimsOf(token);
      const out = JSON.stringify([claims, displayClaims(claims), tokenFindings(claims, expectation()), refusalFindings(claims, expectation(), 'sign-in-refused')]);
      expect(out).not.toContain(token);
      expect(out).not.toContain(token.split('.')[2]!);
      expect(out).not.toContain(token.split('.')[1]!);
    }
  });

  it('shows the claims an admin needs, by their claim names', () => {
    expect(displayClaims(claimsOf(appOnly()))).toEqual({
      aud: 'https://outlook.office365.com',
      kind: 'app',
      scp: null,
      roles: ['IMAP.AccessAsApp', 'SMTP.SendAsApp'],
      upn: null,
      preferred_username: null,
      unique_name: null,
      tid: TENANT,
      appid: CLIENT,
      oid: 'a0b1c2d3-0000-4000-8000-0123456789ab',
      iat: new Date(seconds(NOW - 300_000) * 1000).toISOString(),
      exp: new Date(seconds(NOW + 3_300_000) * 1000).toISOString(),
    });
  });
});

/** rule code -> a token and expectation it must find, and what its texts must say. */
const CLAIM_CASES: Record<string, { token: string; expected?: Partial<TokenExpectation>; says: RegExp[] }> = {
  // Asked for "IMAP.AccessAsUser.All" without the resource: Microsoft Graph's permission of the same name.
  TOKEN_AUDIENCE_GRAPH: { token: delegated({ aud: '00000003-0000-0000-c000-000000000000', scp: 'IMAP.AccessAsUser.All SMTP.Send User.Read' }), says: [/Microsoft Graph/, /without their resource/, /https:\/\/outlook\.office\.com\/IMAP\.AccessAsUser\.All/] },
  TOKEN_AUDIENCE_WRONG: { token: delegated({ aud: 'https://management.azure.com' }), says: [/management\.azure\.com/, /Office 365 Exchange Online/] },
  TOKEN_EXPIRED: { token: delegated({ exp: seconds(NOW - 60_000) }), says: [new RegExp(new Date(seconds(NOW - 60_000) * 1000).toISOString().replace(/\./g, '\\.'))] },
  TOKEN_APP_ROLE_MISSING: { token: appOnly({ roles: ['IMAP.AccessAsApp'] }), says: [/SMTP\.SendAsApp/, /Grant admin consent/] },
  TOKEN_SCOPE_MISSING: { token: delegated({ scp: 'IMAP.AccessAsUser.All' }), says: [/SMTP\.Send\b/, /Delegated permissions/] },
  TOKEN_OTHER_ACCOUNT: { token: delegated({ upn: 'alex@contoso.com', unique_name: 'alex@contoso.com' }), says: [/alex@contoso\.com/, /support@contoso\.com/, /Full Access/] },
  TOKEN_TENANT_MISMATCH: { token: delegated({ tid: '00000000-1111-2222-3333-444444444444' }), says: [/00000000-1111-2222-3333-444444444444/] },
  TOKEN_CLIENT_MISMATCH: { token: delegated({ appid: '99999999-9999-9999-9999-999999999999' }), says: [/99999999-9999-9999-9999-999999999999/] },
};

describe('claim rules (one test per rule)', () => {
  for (const rule of TOKEN_CLAIM_RULES) {
    it(`${rule.code}`, () => {
      const c = CLAIM_CASES[rule.code];
      expect(c, `no case for ${rule.code}`).toBeDefined();
      const findings = tokenFindings(claimsOf(c!.token), expectation(c!.expected));
      expect(findings[0]?.code).toBe(rule.code);
      const text = `${findings[0]!.summary} ${findings[0]!.hint}`;
      for (const pattern of c!.says) expect(text).toMatch(pattern);
      expect(text).not.toMatch(/\{\w+\}/);
    });
  }

  it('has a case for every rule and no case for a rule that does not exist', () => {
    expect(Object.keys(CLAIM_CASES).sort()).toEqual(TOKEN_CLAIM_RULES.map((r) => r.code).sort());
  });

  it('an app-only token has no account, so it is never "another account"', () => {
    const codes = tokenFindings(claimsOf(appOnly()), expectation({ mailbox: 'shared@contoso.com' })).map((f) => f.code);
    expect(codes).not.toContain('TOKEN_OTHER_ACCOUNT');
  });

  it('another account is no finding where the admin allowed it (Full Access to a shared mailbox)', () => {
    const claims = claimsOf(delegated({ upn: 'alex@contoso.com' }));
    expect(tokenFindings(claims, expectation({ mailbox: 'shared@contoso.com', allowOtherAccount: true }))).toEqual([]);
  });

  it('an app-only token without any role lacks every AsApp permission its protocols need', () => {
    const [finding] = tokenFindings(claimsOf(appOnly({ roles: undefined })), expectation({ protocols: ['imap', 'pop', 'smtp'] }));
    expect(finding!.code).toBe('TOKEN_APP_ROLE_MISSING');
    expect(finding!.summary).toContain('IMAP.AccessAsApp, POP.AccessAsApp, SMTP.SendAsApp');
    expect(finding!.summary).toContain('(its roles: none)');
  });

  it('does not judge the audience of another provider\'s token', () => {
    const foreign = claimsOf(delegated({ iss: 'https://accounts.example.org', aud: 'https://mail.example.org' }));
    expect(tokenFindings(foreign, expectation()).map((f) => f.code)).toEqual([]);
  });

  it('lists every finding, the fundamental one first', () => {
    const claims = claimsOf(delegated({ aud: 'https://graph.microsoft.com', exp: seconds(NOW - 1000), upn: 'alex@contoso.com' }));
    expect(tokenFindings(claims, expectation()).map((f) => f.code)).toEqual(['TOKEN_AUDIENCE_GRAPH', 'TOKEN_EXPIRED', 'TOKEN_OTHER_ACCOUNT']);
  });
});

describe('refusal rules (one test per rule)', () => {
  const cases: Record<string, { token: string; refusal: 'sign-in-refused' | 'mailbox-not-connected'; says: RegExp[] }> = {
    TOKEN_APP_NO_MAILBOX_PERMISSION: { token: appOnly(), refusal: 'mailbox-not-connected', says: [/service principal has no permission/, new RegExp(`New-ServicePrincipal -AppId ${CLIENT}`), /Enterprise applications/, /Add-MailboxPermission -Identity support@contoso\.com/] },
    TOKEN_APP_NOT_AUTHORIZED: { token: appOnly(), refusal: 'sign-in-refused', says: [/not registered in Exchange Online/, /wrong object id/, /SmtpClientAuthenticationDisabled \$false/] },
    TOKEN_ACCOUNT_NO_MAILBOX_ACCESS: { token: delegated({ upn: 'alex@contoso.com' }), refusal: 'mailbox-not-connected', says: [/alex@contoso\.com/, /Full Access/] },
    TOKEN_REFUSED_MAILBOX_SETTINGS: { token: delegated(), refusal: 'sign-in-refused', says: [/Authenticated SMTP/, /Manage email apps/] },
  };
  for (const rule of REFUSAL_RULES) {
    it(`${rule.code}`, () => {
      const c = cases[rule.code];
      expect(c, `no case for ${rule.code}`).toBeDefined();
      // TOKEN_ACCOUNT_NO_MAILBOX_ACCESS: the admin allowed the other account, and the server still would not connect.
      const allow = rule.code === 'TOKEN_ACCOUNT_NO_MAILBOX_ACCESS' ? { allowOtherAccount: true } : {};
      const [finding] = refusalFindings(claimsOf(c!.token), expectation(allow), c!.refusal);
      expect(finding?.code).toBe(rule.code);
      for (const pattern of c!.says) expect(`${finding!.summary} ${finding!.hint}`).toMatch(pattern);
    });
  }

  it('when the claims explain a refusal, they are the finding', () => {
    const [finding] = refusalFindings(claimsOf(appOnly({ aud: 'https://graph.microsoft.com' })), expectation(), 'sign-in-refused');
    expect(finding!.code).toBe('TOKEN_AUDIENCE_GRAPH');
  });
});

describe('token facts for the diagnosis rules', () => {
  it('an app-only token: kind app, its client id, no account, no problem', () => {
    expect(tokenFailureFacts(appOnly(), { protocol: 'imap', user: MAILBOX, at: NOW })).toEqual({ tokenKind: 'app', tokenAudience: 'https://outlook.office365.com', tokenAppId: CLIENT });
  });

  it('the first problem the claims show, with what the rules need to say it', () => {
    expect(tokenFailureFacts(delegated({ aud: '00000003-0000-0000-c000-000000000000' }), { protocol: 'smtp', user: MAILBOX, at: NOW })).toMatchObject({ tokenProblem: 'graph-audience', tokenAudience: '00000003-0000-0000-c000-000000000000' });
    expect(tokenFailureFacts(appOnly({ roles: ['IMAP.AccessAsApp'] }), { protocol: 'smtp', user: MAILBOX, at: NOW })).toMatchObject({ tokenProblem: 'permission-missing', tokenPermission: 'SMTP.SendAsApp' });
    expect(tokenFailureFacts(delegated({ exp: seconds(NOW - 1000) }), { protocol: 'imap', user: MAILBOX, at: NOW })).toMatchObject({ tokenProblem: 'expired', tokenExpiredAt: new Date(seconds(NOW - 1000) * 1000).toISOString() });
    expect(tokenFailureFacts(delegated({ upn: 'alex@contoso.com' }), { protocol: 'imap', user: MAILBOX, at: NOW })).toMatchObject({ tokenProblem: 'other-account', tokenAccount: 'alex@contoso.com' });
    expect(tokenFailureFacts(delegated({ upn: 'alex@contoso.com' }), { protocol: 'imap', user: MAILBOX, at: NOW, allowOtherAccount: true }).tokenProblem).toBeUndefined();
  });

  it('nothing for a token that cannot be read', () => {
    expect(tokenFailureFacts('ya29.opaque', { protocol: 'imap', at: NOW })).toEqual({});
    expect(tokenFailureFacts(undefined, { protocol: 'imap', at: NOW })).toEqual({});
  });
});
