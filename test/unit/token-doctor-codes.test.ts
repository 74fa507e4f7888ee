/** Every code the claim and refusal rules can give is a declared, titled doctor code, and the other way round. */
import { describe, expect, it } from 'vitest';
import { REFUSAL_RULES, TOKEN_CLAIM_RULES } from '../../src-main/engine/auth/token-claims';
import { TOKEN_FINDING_CODES, TOKEN_FINDING_TITLES } from '../../src-main/shared/token-doctor';
import { mailboxSides } from '../../src-main/engine/auth/token-doctor';

describe('token doctor codes', () => {
  it('are exactly the codes of the rules', () => {
    const ruleCodes = new Set([...TOKEN_CLAIM_RULES, ...REFUSAL_RULES].map((r) => r.code));
    expect(new Set(TOKEN_FINDING_CODES)).toEqual(ruleCodes);
    for (const code of TOKEN_FINDING_CODES) expect(code).toMatch(/^[A-Z][A-Z0-9_]+$/);
    for (const title of Object.values(TOKEN_FINDING_TITLES)) expect(title.length).toBeGreaterThan(5);
  });

  it('a side that signs in with any OAuth mode (delegated or app-only) is a token side', () => {
    expect(mailboxSides({ imap: { auth: 'oauth2' }, smtp: { auth: 'none' } } as never)).toEqual({ imap: 'token', smtp: 'none' });
    expect(mailboxSides({ imap: { auth: 'oauth2-app' }, smtp: { auth: 'password' } } as never)).toEqual({ imap: 'token', smtp: 'password' });
  });
});

describe('token doctor without a token source for the mailbox', () => {
  it('says it cannot get a token instead of finding nothing', async () => {
    const { TokenDoctor } = await import('../../src-main/engine/auth/token-doctor');
    const doctor = new TokenDoctor({ tokenSourceFor: () => null, password: () => undefined });
    const mailbox = { id: 3, name: 'Shared', address: 'shared@contoso.test', imap: { auth: 'oauth2-app' }, smtp: { auth: 'none' } } as never;
    const report = await doctor.examine(mailbox, { probe: false });
    expect(report.ok).toBe(false);
    expect(report.findings.map((f) => f.code)).toEqual(['OAUTH_NOT_CONFIGURED']);
    expect(report.findings[0]!.summary).toContain('oauth2-app');
  });
});

describe('token doctor: Microsoft Graph where Microsoft 365 refuses the protocol itself (issue 16)', () => {
  const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const now = Date.UTC(2026, 11, 1);
  // A person's Exchange token whose claims are right for the mailbox: a refusal is then the mailbox's settings.
  const token = `${b64({ alg: 'RS256', typ: 'JWT' })}.${b64({ aud: 'https://outlook.office.com', scp: 'IMAP.AccessAsUser.All SMTP.Send', upn: 'support@contoso.test', tid: 't', appid: 'a', iat: now / 1000 - 60, exp: now / 1000 + 3600 })}.c2ln`;
  const mailbox = (receiveVia: 'imap' | 'graph') =>
    ({ id: 4, name: 'Support', address: 'support@contoso.test', imap: { host: 'outlook.office365.com', port: 993, security: 'tls', auth: 'oauth2', username: 'support@contoso.test', folder: 'INBOX' }, smtp: { host: 'smtp.office365.com', port: 587, security: 'starttls', auth: 'oauth2', username: 'support@contoso.test' }, sendVia: 'smtp', receiveVia }) as never;

  async function examine(receiveVia: 'imap' | 'graph') {
    const { TokenDoctor } = await import('../../src-main/engine/auth/token-doctor');
    const doctor = new TokenDoctor({
      now: () => now,
      tokenSourceFor: () => ({ kind: 'delegated', getToken: async () => ({ accessToken: token, user: 'support@contoso.test' }) }),
      password: () => undefined,
      // Exchange refuses the IMAP sign-in as it does when IMAP is off for the mailbox; SMTP signs in.
      runTest: async (spec) =>
        ({
          ok: spec.protocol === 'smtp',
          protocol: spec.protocol,
          target: { host: spec.host, port: spec.port, security: spec.security },
          steps: spec.protocol === 'imap' ? [{ name: 'auth', status: 'failed', ms: 1, detail: 'NO AUTHENTICATE failed.' }] : [],
          diagnosis: spec.protocol === 'imap' ? { code: 'OAUTH_TOKEN_REJECTED', step: 'auth', summary: 'refused', hint: 'x', serverReply: 'A1 NO AUTHENTICATE failed.' } : null,
          transcript: [],
          startedAt: now,
          durationMs: 1,
          cancelled: false,
          curlCommand: '',
          tls: null,
          dns: null,
        }) as never,
    });
    return doctor.examine(mailbox(receiveVia));
  }

  it('suggests receiving through Graph when IMAP refuses a token that looks right', async () => {
    const report = await examine('imap');
    expect(report.findings.map((f) => f.code)).toEqual(['TOKEN_REFUSED_MAILBOX_SETTINGS', 'GRAPH_SUGGESTED_FOR_RECEIVING']);
    expect(report.findings[1]!.hint).toContain('mailroom mailbox update "Support" --receive-via graph');
    expect(report.findings[1]!.hint).toContain('Mail.ReadWrite');
  });

  it('says nothing of Graph for a mailbox that already receives through it', async () => {
    expect((await examine('graph')).findings.map((f) => f.code)).toEqual(['TOKEN_REFUSED_MAILBOX_SETTINGS']);
  });
});
