/**
 * App-only access without a network: reading certificates (PEM, and PFX
 * files made by openssl in both the current and the older Windows format,
 * converted with node:crypto alone), the client secret's expiry warning, and
 * the guided set-up's PowerShell commands.
 */
import crypto from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readCertificateCredential, pkcs12Kdf } from '../../src-main/engine/auth/app-credential';
import { appOnlySetupSteps, ExpiryDate, OAuthAppSettingsInput, secretExpiryStatus } from '../../src-main/shared/oauth-app';
import { isAppError } from '../../src-main/shared/errors';
import { makeAppCertificate, type AppCertificate } from '../helpers/oauth-idp';

let cert: AppCertificate;
beforeAll(() => {
  cert = makeAppCertificate();
});
afterAll(() => cert.remove());

const codeOf = (fn: () => unknown) => {
  try {
    fn();
  } catch (error) {
    return isAppError(error) ? error.code : String(error);
  }
  return 'no error';
};

describe('certificate credential', () => {
  it.each([
    ['PEM (key first)', () => readCertificateCredential({ pem: cert.combinedPem })],
    ['PEM (certificate first)', () => readCertificateCredential({ pem: `${cert.certPem}\n${cert.keyPem}` })],
    ['PFX, AES-256 / PBKDF2 (OpenSSL 3, Windows AES256_SHA256)', () => readCertificateCredential({ pfx: cert.pfxAes, password: cert.pfxPassword })],
    ['PFX, 3DES / SHA-1 (older Windows exports)', () => readCertificateCredential({ pfx: cert.pfx3des, password: cert.pfxPassword })],
  ])('reads %s into the key msal signs with and the thumbprint Entra knows', (_what, read) => {
    const credential = read();
    expect(credential.info.thumbprintSha256).toBe(cert.thumbprintSha256);
    expect(credential.privateKeyPem).toMatch(/^-----BEGIN PRIVATE KEY-----/);
    expect(credential.certificatePem).toMatch(/^-----BEGIN CERTIFICATE-----/);
    // The key is the certificate's: a signature made with it verifies with the certificate.
    const signature = crypto.sign('sha256', Buffer.from('assertion'), credential.privateKeyPem);
    expect(crypto.verify('sha256', Buffer.from('assertion'), new crypto.X509Certificate(cert.certPem).publicKey, signature)).toBe(true);
    expect(credential.info.notAfter).toBeGreaterThan(Date.now());
  });

  it('says a wrong PFX password is wrong (the file\'s MAC), for either format', () => {
    expect(codeOf(() => readCertificateCredential({ pfx: cert.pfxAes, password: 'wrong' }))).toBe('CERTIFICATE_PASSWORD_WRONG');
    expect(codeOf(() => readCertificateCredential({ pfx: cert.pfx3des, password: '' }))).toBe('CERTIFICATE_PASSWORD_WRONG');
  });

  it('refuses what is not a certificate with its key, with a hint', () => {
    expect(codeOf(() => readCertificateCredential({ pfx: Buffer.from('not a pfx at all'), password: '' }))).toBe('CERTIFICATE_UNREADABLE');
    expect(codeOf(() => readCertificateCredential({ pem: cert.certPem }))).toBe('CERTIFICATE_UNREADABLE');
    const otherKey = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    expect(codeOf(() => readCertificateCredential({ pem: `${otherKey}${cert.certPem}` }))).toBe('CERTIFICATE_KEY_MISMATCH');
  });

  it('derives PKCS#12 keys as RFC 7292 appendix B says (a known vector)', () => {
    // From the PKCS#12 test vectors used by OpenSSL and BouncyCastle: password "smeg", salt 0A58CF64530D823F, id 1, 1 iteration, 24 bytes, SHA-1.
    const bmp = Buffer.from('0073006d006500670000', 'hex');
    const key = pkcs12Kdf(bmp, Buffer.from('0A58CF64530D823F', 'hex'), 1, 1, 24, { name: 'sha1', size: 20, block: 64 });
    expect(key.toString('hex').toUpperCase()).toBe('8AAAE6297B6CB04642AB5B077851284EB7128F1A2A7FBCA3');
  });
});

describe('client secret expiry', () => {
  const day = 86_400_000;
  const now = Date.parse('2026-12-02T12:00:00Z');
  it.each([
    [31 * day, 'ok', 31],
    [30 * day, 'soon', 30],
    [1 * day + 1, 'soon', 1],
    [1000, 'soon', 0],
    [0, 'expired', 0],
    [-3 * day, 'expired', -3],
  ])('%d ms ahead is %s (%d days left)', (ahead, state, days) => {
    const status = secretExpiryStatus(now + ahead, now);
    expect(status.state).toBe(state);
    expect(status.daysLeft).toBe(days);
    if (state !== 'ok') expect(status.message).toMatch(/Certificates & secrets/);
  });

  it('words a certificate\'s expiry for the certificate, with its own fix', () => {
    const soon = secretExpiryStatus(now + 5 * day, now, 'certificate');
    expect(soon).toMatchObject({ credential: 'certificate', source: 'certificate', state: 'soon', daysLeft: 5 });
    expect(soon.message).toMatch(/^The certificate of the app-only registration expires in 5 days .*upload its public part/);
    expect(secretExpiryStatus(now - day, now, 'certificate').message).toMatch(/^The certificate of the app-only registration expired on/);
    expect(secretExpiryStatus(now + 5 * day, now, 'learned')).toMatchObject({ credential: 'secret' });
  });

  it('reads a typed date as the end of that day (UTC) and refuses dates that do not exist', () => {
    expect(ExpiryDate.parse('2027-06-30')).toBe(Date.parse('2027-06-30T23:59:59.999Z'));
    expect(ExpiryDate.safeParse('2027-02-30').success).toBe(false);
    expect(ExpiryDate.safeParse('30.06.2027').success).toBe(false);
  });

  it('never accepts a secret with a line break (a pasted Secret ID and Value pair)', () => {
    const parsed = OAuthAppSettingsInput.safeParse({ tenant: 'contoso.onmicrosoft.com', clientId: crypto.randomUUID(), credential: 'secret', clientSecret: 'abc\ndef' });
    expect(parsed.success).toBe(false);
  });
});

describe('guided set-up', () => {
  it('fills Microsoft\'s Exchange Online commands with the tenant\'s own values', () => {
    const clientId = '0b7c1a2d-1234-4cde-8f90-1a2b3c4d5e6f';
    const objectId = '9f6a5b4c-1111-4222-8333-444455556666';
    const steps = appOnlySetupSteps({ tenant: 'contoso.onmicrosoft.com', clientId, enterpriseObjectId: objectId, mailbox: 'support@contoso.com', displayName: 'Mailroom' });
    const commands = steps.filter((s) => s.command).map((s) => s.command);
    expect(commands).toEqual([
      'Connect-ExchangeOnline -Organization "contoso.onmicrosoft.com"',
      `New-ServicePrincipal -AppId "${clientId}" -ObjectId "${objectId}" -DisplayName "Mailroom"`,
      `Add-MailboxPermission -Identity "support@contoso.com" -User "${objectId}" -AccessRights FullAccess`,
      `Add-RecipientPermission -Identity "support@contoso.com" -Trustee "${objectId}" -AccessRights SendAs -Confirm:$false`,
      'Get-ServicePrincipal | Format-List DisplayName,AppId,ObjectId; Get-MailboxPermission -Identity "support@contoso.com"',
    ]);
    expect(steps.map((s) => s.text).join(' ')).toMatch(/IMAP\.AccessAsApp.*POP\.AccessAsApp.*SMTP\.SendAsApp/);
    expect(steps.find((s) => s.id === 'service-principal')!.text).toMatch(/Enterprise application.*NOT the Object ID of the App registration/);
  });

  it('names placeholders for values not known yet, and quotes what PowerShell would expand', () => {
    const steps = appOnlySetupSteps({ displayName: 'Help $desk "1"' });
    expect(steps.find((s) => s.id === 'service-principal')!.command).toBe('New-ServicePrincipal -AppId "<APPLICATION_CLIENT_ID>" -ObjectId "<ENTERPRISE_APPLICATION_OBJECT_ID>" -DisplayName "Help `$desk `"1`""');
  });
});
