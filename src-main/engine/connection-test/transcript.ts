/**
 * The protocol transcript of a connection test: client lines, server lines
 * and notes, with time offsets. Every secret is redacted before a line is
 * kept, twice over: the probes write explicit placeholders for what they
 * know is secret (the AUTH exchanges), and every line is also scrubbed of
 * each registered secret in its plain, base64 and URL-encoded forms, so a
 * server that echoes a credential back cannot leak it either.
 */
import type { TranscriptLine } from '../../shared/diagnosis.js';

/** Longest text kept for one line; servers can send very long lines. */
const MAX_LINE_CHARS = 2000;
/** Most lines kept; a runaway server cannot grow the stored result without bound. */
const MAX_LINES = 400;

/** The forms in which a secret could appear in a line of text. */
export function secretVariants(secret: string): string[] {
  if (!secret) return [];
  const variants = new Set<string>([secret]);
  const utf8 = Buffer.from(secret, 'utf8');
  variants.add(utf8.toString('base64'));
  variants.add(utf8.toString('base64').replace(/=+$/, ''));
  variants.add(utf8.toString('base64url'));
  variants.add(encodeURIComponent(secret));
  variants.add(encodeURIComponent(secret).replace(/%20/g, '+'));
  // A secret inside a longer base64 string shows up as one of three aligned
  // fragments. Only long secrets are matched this way: short fragments
  // would match unrelated text.
  if (utf8.length >= 12) {
    for (let shift = 0; shift < 3; shift++) {
      const padded = Buffer.concat([Buffer.alloc(shift, 0), utf8]);
      const encoded = padded.toString('base64');
      // Drop the characters that depend on the unknown neighbouring bytes.
      const start = shift === 0 ? 0 : Math.ceil((shift * 8) / 6);
      const end = encoded.replace(/=+$/, '').length - 2;
      if (end - start >= 12) variants.add(encoded.slice(start, end));
    }
  }
  return [...variants].filter((v) => v.length >= 3).sort((a, b) => b.length - a.length);
}

/** Replaces every registered secret in a text. */
export class Redactor {
  private readonly patterns: string[] = [];

  /** Registers a secret (and strings built from it, such as a SASL blob) to scrub. */
  add(...secrets: (string | undefined)[]): void {
    for (const secret of secrets) {
      if (!secret) continue;
      for (const variant of secretVariants(secret)) if (!this.patterns.includes(variant)) this.patterns.push(variant);
    }
    this.patterns.sort((a, b) => b.length - a.length);
  }

  /** The text with every registered secret replaced by `[redacted]`. */
  redact(text: string): string {
    let out = text;
    for (const pattern of this.patterns) {
      if (out.includes(pattern)) out = out.split(pattern).join('[redacted]');
    }
    return out;
  }
}

const SMTP_AUTH = /^(AUTH)(\s+)([A-Za-z0-9_-]+)(?:(\s+)(.*))?$/i;
const IMAP_AUTHENTICATE = /^(\S+\s+AUTHENTICATE)(\s+)([A-Za-z0-9_-]+)(?:(\s+)(.*))?$/i;
const IMAP_LOGIN = /^(\S+\s+LOGIN\s+)("(?:[^"\\]|\\.)*"|\S+)(?:\s+(.*))?$/i;
const POP3_PASS = /^(PASS)(\s+)(.*)$/i;

/**
 * The one credential redaction every transcript applies to the lines
 * Mailroom sends (connection tests, the outbox, the inbox; the relay sends
 * upstream through the outbox): SASL initial responses and continuations
 * (`AUTH XOAUTH2 dXNlcj1...` becomes `AUTH XOAUTH2 [redacted XOAUTH2]`) and
 * the IMAP LOGIN password and the POP3 PASS line. It needs no secret to know: even a blob a library
 * built around a placeholder ("/* secret *\/") looks like a credential and
 * is replaced. Stateful, one per session: a continuation line answers the
 * server's 334 (SMTP) or "+" (IMAP) challenge of the mechanism in progress.
 */
export class CredentialRedaction {
  /** The SASL mechanism whose continuation lines are credentials, while one is in progress. */
  private mechanism: string | null = null;

  /** A line Mailroom sends, with any credential replaced. */
  client(line: string): string {
    // Lines the probes already wrote as placeholders stay as they are.
    if (line.includes('[redacted')) {
      const smtp = SMTP_AUTH.exec(line) ?? IMAP_AUTHENTICATE.exec(line);
      if (smtp) this.mechanism = smtp[3]!.toUpperCase();
      return line;
    }
    const sasl = SMTP_AUTH.exec(line) ?? IMAP_AUTHENTICATE.exec(line);
    if (sasl) {
      const mechanism = sasl[3]!.toUpperCase();
      this.mechanism = mechanism;
      // "=" is an empty initial response: nothing to hide.
      if (sasl[5] === undefined || sasl[5] === '' || sasl[5] === '=') return line;
      return `${sasl[1]}${sasl[2]}${sasl[3]}${sasl[4]}[redacted ${mechanism}]`;
    }
    const login = IMAP_LOGIN.exec(line);
    if (login) return `${login[1]}${login[2]}${login[3] !== undefined ? ' [redacted password]' : ''}`;
    const pass = POP3_PASS.exec(line);
    if (pass) return `${pass[1]}${pass[2]}[redacted password]`;
    if (this.mechanism) {
      // An empty line ends an XOAUTH2 error exchange, "*" cancels; a probe's own note is
      // in parentheses (a credential is base64: never that): none carries a secret.
      if (line === '' || line === '*' || /^\(.*\)$/.test(line)) return line;
      return `[redacted ${this.mechanism}]`;
    }
    return line;
  }

  /** A line the server sends: a final reply ends the exchange (334 and "+" continue it). */
  server(line: string): void {
    if (this.mechanism && !/^334[ -]/.test(line) && !/^\+( |$)/.test(line)) this.mechanism = null;
  }
}

/** Collects transcript lines for one test. */
export class Transcript {
  private readonly lines: TranscriptLine[] = [];
  private dropped = 0;
  private readonly credentials = new CredentialRedaction();

  constructor(private readonly startedAt: number, readonly redactor: Redactor, private readonly clock: () => number = Date.now) {}

  private push(dir: TranscriptLine['dir'], text: string): void {
    if (this.lines.length >= MAX_LINES) {
      this.dropped++;
      return;
    }
    let clean = this.redactor.redact(text.replace(/\r?\n$/, ''));
    if (clean.length > MAX_LINE_CHARS) clean = `${clean.slice(0, MAX_LINE_CHARS)} [... ${clean.length - MAX_LINE_CHARS} more characters]`;
    this.lines.push({ dir, t: Math.max(0, Math.round(this.clock() - this.startedAt)), text: clean });
  }

  /** A line sent by Mailroom. Credentials in it are redacted (CredentialRedaction), and every registered secret. */
  client(text: string): void {
    this.push('C', this.credentials.client(text.replace(/\r?\n$/, '')));
  }

  /** A line received from the server. */
  server(text: string): void {
    this.credentials.server(text.replace(/\r?\n$/, ''));
    this.push('S', text);
  }

  /** A note by Mailroom (connection made, TLS details, decoded server errors). */
  info(text: string): void {
    this.push('info', text);
  }

  /** The lines so far (a copy), with a note when some were dropped. */
  toJSON(): TranscriptLine[] {
    const out = this.lines.slice();
    if (this.dropped) out.push({ dir: 'info', t: out[out.length - 1]?.t ?? 0, text: `${this.dropped} more lines were not kept.` });
    return out;
  }
}
