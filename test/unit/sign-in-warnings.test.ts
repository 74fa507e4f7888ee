/** A sign-in over an unencrypted connection is a warning of the result (issue 13, item 8), only when a credential was sent. */
import { describe, expect, it } from 'vitest';
import { plaintextSignInWarnings } from '../../src-main/engine/connection-test/sign-in-warnings';
import { toCliWords } from '../../src-main/shared/setting-words';

const base = { protocol: 'smtp' as const, auth: 'password' as const, encryptedAtSignIn: false, authStep: { status: 'ok' as const }, authRefusedByServer: false };

describe('plaintextSignInWarnings', () => {
  it('warns when a password was accepted over a plain connection, with the fix in the screen words and the CLI words', () => {
    const [warning, ...rest] = plaintextSignInWarnings(base);
    expect(rest).toEqual([]);
    expect(warning).toMatchObject({ code: 'PLAINTEXT_SIGN_IN', step: 'auth' });
    expect(warning!.message).toBe('The password crossed the network unencrypted: anyone on the network path could read it.');
    expect(warning!.hint).toContain('Set security to "STARTTLS" or "SSL/TLS" (usually port 587 for "STARTTLS" or 465 for "SSL/TLS")');
    expect(toCliWords(warning!.hint)).toContain('Set security to "starttls" or "tls"');
  });

  it('warns when the server refused the credential it was sent, and names IMAP ports for IMAP', () => {
    const [warning] = plaintextSignInWarnings({ ...base, protocol: 'imap', authStep: { status: 'failed' }, authRefusedByServer: true });
    expect(warning!.hint).toContain('port 143');
  });

  it('says access token for OAuth 2.0', () => {
    expect(plaintextSignInWarnings({ ...base, auth: 'xoauth2' })[0]!.message).toMatch(/^The access token crossed/);
  });

  it('does not warn when nothing secret was sent or the connection was encrypted', () => {
    expect(plaintextSignInWarnings({ ...base, encryptedAtSignIn: true })).toEqual([]);
    expect(plaintextSignInWarnings({ ...base, auth: 'none' })).toEqual([]);
    expect(plaintextSignInWarnings({ ...base, authStep: undefined })).toEqual([]);
    expect(plaintextSignInWarnings({ ...base, authStep: { status: 'skipped' } })).toEqual([]);
    // The server offered no sign-in on the plain connection: the step failed before any credential left.
    expect(plaintextSignInWarnings({ ...base, authStep: { status: 'failed' }, authRefusedByServer: false })).toEqual([]);
  });
});
