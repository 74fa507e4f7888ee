/**
 * "Copy as curl command": the command repeats the test's steps with the
 * secret as a placeholder, in the quoting of the admin's shell.
 */
import { describe, expect, it } from 'vitest';
import { curlCommand, type CurlCommandInput } from '../../src-main/engine/connection-test/curl-command';

const smtp: CurlCommandInput = { protocol: 'smtp', host: 'smtp.office365.com', port: 587, security: 'starttls', auth: 'password', user: 'support@contoso.com', platform: 'linux' };
const imap: CurlCommandInput = { protocol: 'imap', host: 'outlook.office365.com', port: 993, security: 'tls', auth: 'password', user: 'support@contoso.com', folder: 'INBOX', platform: 'linux' };

describe('curl command', () => {
  it('SMTP with STARTTLS: smtp:// with --ssl-reqd and the password as a placeholder', () => {
    expect(curlCommand(smtp)).toBe("curl -v --url 'smtp://smtp.office365.com:587' --ssl-reqd --user 'support@contoso.com:<PASSWORD>'");
  });

  it('SMTP with implicit TLS uses smtps:// and no --ssl-reqd', () => {
    expect(curlCommand({ ...smtp, port: 465, security: 'tls' })).toBe("curl -v --url 'smtps://smtp.office365.com:465' --user 'support@contoso.com:<PASSWORD>'");
  });

  it('SMTP with a recipient sends the test message: --mail-from, --mail-rcpt, --upload-file', () => {
    expect(curlCommand({ ...smtp, from: 'support@contoso.com', to: 'admin@contoso.com' })).toBe(
      "curl -v --url 'smtp://smtp.office365.com:587' --ssl-reqd --user 'support@contoso.com:<PASSWORD>' --mail-from 'support@contoso.com' --mail-rcpt 'admin@contoso.com' --upload-file mailroom-test.eml",
    );
  });

  it('XOAUTH2 passes the user and the token as --oauth2-bearer <TOKEN>', () => {
    expect(curlCommand({ ...smtp, auth: 'xoauth2' })).toBe("curl -v --url 'smtp://smtp.office365.com:587' --ssl-reqd --user 'support@contoso.com:' --oauth2-bearer '<TOKEN>'");
  });

  it('no sign-in: no --user; security none: plain smtp:// without --ssl-reqd', () => {
    expect(curlCommand({ ...smtp, port: 25, security: 'none', auth: 'none', user: '' })).toBe("curl -v --url 'smtp://smtp.office365.com:25'");
  });

  it('IMAP over implicit TLS selects the folder (imaps://host/INBOX with a NOOP after SELECT)', () => {
    expect(curlCommand(imap)).toBe("curl -v --url 'imaps://outlook.office365.com:993/INBOX' --user 'support@contoso.com:<PASSWORD>' --request NOOP");
  });

  it('IMAP folder names are URL-encoded (modified UTF-7 first for non-ASCII)', () => {
    expect(curlCommand({ ...imap, folder: 'Support Desk' })).toContain("'imaps://outlook.office365.com:993/Support%20Desk'");
    expect(curlCommand({ ...imap, folder: 'Entwürfe' })).toContain("'imaps://outlook.office365.com:993/Entw%26APw-rfe'");
  });

  it('IMAP STARTTLS on 143 uses imap:// with --ssl-reqd', () => {
    expect(curlCommand({ ...imap, port: 143, security: 'starttls' })).toBe("curl -v --url 'imap://outlook.office365.com:143/INBOX' --ssl-reqd --user 'support@contoso.com:<PASSWORD>' --request NOOP");
  });

  it('trusts the extra CA file when there is one', () => {
    expect(curlCommand({ ...imap, caFile: '/etc/ssl/company-ca.pem' })).toContain("--cacert '/etc/ssl/company-ca.pem'");
  });

  it('on Windows uses curl.exe (PowerShell aliases curl) and double quotes for cmd and PowerShell alike', () => {
    expect(curlCommand({ ...smtp, platform: 'win32', caFile: 'C:\\Certs\\ca.pem' })).toBe(
      'curl.exe -v --url "smtp://smtp.office365.com:587" --ssl-reqd --cacert "C:\\Certs\\ca.pem" --user "support@contoso.com:<PASSWORD>"',
    );
  });

  it('quotes values with quotes safely in POSIX shells', () => {
    expect(curlCommand({ ...smtp, user: "o'brien@contoso.com" })).toContain(`--user 'o'\\''brien@contoso.com:<PASSWORD>'`);
  });

  it('puts IPv6 literals in brackets', () => {
    expect(curlCommand({ ...imap, host: '::1' })).toContain("'imaps://[::1]:993/INBOX'");
  });

  it('never contains a secret: there is no input for one', () => {
    const all = [curlCommand(smtp), curlCommand({ ...smtp, auth: 'xoauth2' }), curlCommand(imap)].join('\n');
    expect(all).toMatch(/<PASSWORD>|<TOKEN>/);
  });

  describe('POP3', () => {
    const pop3: CurlCommandInput = { protocol: 'pop3', host: 'outlook.office365.com', port: 995, security: 'tls', auth: 'password', user: 'support@contoso.com', platform: 'linux' };

    it('implicit TLS: pop3s:// and STAT, which curl sends as a one-line command with --head', () => {
      expect(curlCommand(pop3)).toBe("curl -v --url 'pop3s://outlook.office365.com:995' --user 'support@contoso.com:<PASSWORD>' --request STAT --head");
    });

    it('STLS: pop3:// on 110 with --ssl-reqd; XOAUTH2 with the token as a placeholder; Windows quoting', () => {
      expect(curlCommand({ ...pop3, port: 110, security: 'starttls', auth: 'xoauth2', platform: 'win32' })).toBe(
        'curl.exe -v --url "pop3://outlook.office365.com:110" --ssl-reqd --user "support@contoso.com:" --oauth2-bearer "<TOKEN>" --request STAT --head',
      );
    });
  });
});
