/**
 * "Copy as curl command": the `curl -v` command line that repeats a test's
 * steps, so an admin can reproduce it where Mailroom is not installed. The
 * secret is always a placeholder (<PASSWORD>, <TOKEN>) that the admin types
 * in; it is never filled in.
 *
 * On Windows the command uses `curl.exe` (built into Windows 10 1803 and
 * later; in PowerShell plain `curl` is an alias of Invoke-WebRequest) and
 * double quotes, which both cmd.exe and PowerShell accept. Elsewhere it
 * uses `curl` and single quotes.
 */
import net from 'node:net';
import { encodeModifiedUtf7 } from './imap-probe.js';

/** What a curl command repeats. */
export interface CurlCommandInput {
  protocol: 'smtp' | 'imap' | 'pop3';
  host: string;
  port: number;
  security: 'tls' | 'starttls' | 'none';
  auth: 'password' | 'xoauth2' | 'none';
  user: string;
  /** IMAP folder to select. */
  folder?: string;
  /** SMTP: envelope sender and recipient of the test message. */
  from?: string;
  to?: string;
  /** A CA file to trust (the NODE_EXTRA_CA_CERTS file, when set). */
  caFile?: string;
  /** Whose shell quoting to use. */
  platform: NodeJS.Platform;
}

/** The file name the command uploads as the test message. */
export const CURL_MESSAGE_FILE = 'mailroom-test.eml';

function quote(value: string, windows: boolean): string {
  if (windows) return `"${value.replace(/"/g, '\\"')}"`;
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

function urlHost(host: string): string {
  const bare = host.replace(/^\[|\]$/g, '');
  return net.isIPv6(bare) ? `[${bare}]` : bare;
}

/** The curl command line for a test. */
export function curlCommand(input: CurlCommandInput): string {
  const windows = input.platform === 'win32';
  const q = (v: string) => quote(v, windows);
  const implicitTls = input.security === 'tls';
  const scheme = `${input.protocol}${implicitTls ? 's' : ''}`;
  // curl runs IMAP's SELECT only when a command follows it; NOOP is harmless.
  const path = input.protocol === 'imap' ? `/${encodeURIComponent(encodeModifiedUtf7(input.folder || 'INBOX'))}` : '';
  const parts = [windows ? 'curl.exe' : 'curl', '-v', '--url', q(`${scheme}://${urlHost(input.host)}:${input.port}${path}`)];
  if (input.security === 'starttls') parts.push('--ssl-reqd');
  // A CA file only matters where a certificate is checked.
  if (input.caFile && input.security !== 'none') parts.push('--cacert', q(input.caFile));
  if (input.auth === 'password') parts.push('--user', q(`${input.user}:<PASSWORD>`));
  // curl signs in with XOAUTH2 (or OAUTHBEARER, when the server offers it) given the user and a bearer token.
  if (input.auth === 'xoauth2') parts.push('--user', q(`${input.user}:`), '--oauth2-bearer', q('<TOKEN>'));
  if (input.protocol === 'imap') parts.push('--request', 'NOOP');
  // POP3: STAT, a command with a one-line answer, which curl sends only with --head (libcurl's pop3-stat example: CUSTOMREQUEST plus NOBODY).
  if (input.protocol === 'pop3') parts.push('--request', 'STAT', '--head');
  if (input.protocol === 'smtp' && input.to) {
    parts.push('--mail-from', q(input.from || input.user), '--mail-rcpt', q(input.to), '--upload-file', CURL_MESSAGE_FILE);
  }
  return parts.join(' ');
}
