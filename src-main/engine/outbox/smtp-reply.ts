/**
 * Reading SMTP acceptance replies: the queue id a server gives for a message
 * it took, so an admin can quote it to the server's admin or find the
 * message in a message trace.
 */

/** Queue-id patterns of real servers, tried in order. */
const QUEUE_ID_PATTERNS: readonly { server: string; pattern: RegExp }[] = [
  // Microsoft 365 / Exchange: "250 2.6.0 <id@host> [InternalId=130184753713403, Hostname=DBXPR04MB317.eurprd04.prod.outlook.com] 8273 bytes in 0.296, 27.285 KB/sec Queued mail for delivery"
  { server: 'Exchange', pattern: /\bInternalId=(\d+)/ },
  // Postfix "250 2.0.0 Ok: queued as E8ABB3AD5C"; SendGrid "250 Ok: queued as nhIMmON9SFOPcT0ii4nt2A";
  // Yandex "250 2.0.0 Ok: queued on smtp3m.mail.yandex.net as 1430081058-6ltgNFKSir-iHEKdOrm"
  { server: 'Postfix-style', pattern: /\bqueued (?:on \S+ )?as ([A-Za-z0-9._:@-]+)/i },
  // Exim "250 OK id=1qABCD-000123-AB"
  { server: 'Exim', pattern: /\bid=([A-Za-z0-9._-]+)/ },
  // Gmail "250 2.0.0 OK  1563283839 a5sm28465622pfo.178 - gsmtp"
  { server: 'Gmail', pattern: /\bOK\s+\d+\s+(\S+)\s+-\s+gsmtp\b/ },
  // Sendmail "250 2.0.0 x8ABCDEF012345 Message accepted for delivery"
  { server: 'Sendmail', pattern: /^250[ -](?:\d\.\d\.\d )?([A-Za-z0-9]{8,}) Message accepted/ },
];

/** The queue id in a server's acceptance reply, or null when it gave none that is recognised. */
export function queueIdFromReply(reply: string | null | undefined): string | null {
  if (!reply) return null;
  for (const { pattern } of QUEUE_ID_PATTERNS) {
    const match = pattern.exec(reply);
    if (match?.[1]) return match[1].slice(0, 200);
  }
  return null;
}

/** The first line of a multi-line reply, trimmed and bounded. */
export function firstReplyLine(reply: string | null | undefined, max = 500): string | null {
  if (!reply) return null;
  const line = reply.split(/\r?\n/).find((l) => l.trim())?.trim() ?? '';
  return line ? line.slice(0, max) : null;
}

/**
 * A whole (possibly multi-line) reply, trimmed and bounded: every line, in
 * order, joined with line breaks. The diagnosis rules read all of it, since
 * a multi-line reply may name the reason only on a later line (Gmail's
 * "534-5.7.9 Application-specific password required. Learn more at" is
 * followed by "534 5.7.9 https://support.google.com/mail/?p=InvalidSecondFactor").
 */
export function wholeReply(reply: string | null | undefined, max = 2000): string | null {
  if (!reply) return null;
  const text = reply
    .split(/\r?\n/)
    .map((l) => l.trimEnd())
    .filter((l) => l.trim())
    .join('\n')
    .trim();
  return text ? text.slice(0, max) : null;
}
