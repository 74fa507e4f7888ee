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
