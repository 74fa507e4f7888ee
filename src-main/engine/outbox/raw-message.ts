/**
 * A queued message as nodemailer's pooled SMTP transport takes it: the raw
 * MIME exactly as stored, with its envelope. `sendMail` would first run it
 * through MailComposer (a MIME tree with a random boundary, a generated
 * Message-ID, the envelope parsed again), only to send the same bytes:
 * measured, a sixth of the engine's time per message in bench/send.
 *
 * The transport reads four things of a message (getEnvelope, messageId,
 * getHeader('message-id'), createReadStream) and, of the mail, the abort
 * signal; the outbox tests hold this to what sendMail did (faults, aborts,
 * per-recipient refusals, XOAUTH2, the relay).
 */
import { isAscii } from 'node:buffer';
import { PassThrough, type Readable } from 'node:stream';
import MimeNode from 'nodemailer/lib/mime-node';

export interface SmtpEnvelope {
  from: string;
  to: string[];
  /**
   * Announce `BODY=8BITMIME` on MAIL FROM (nodemailer does when the server
   * offers 8BITMIME): set for a message with any byte above 127, so that a
   * server does not take its 8-bit text for 7-bit and re-encode or refuse it.
   */
  use8BitMime?: boolean;
}

/** A plain address (dot-atom local part, lower-case ASCII host name): nodemailer passes it on unchanged. */
const PLAIN_ADDRESS = /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*@(?!xn--)[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.(?!xn--)[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)+$/;

let normalizer: MimeNode | undefined;

/**
 * The envelope as nodemailer would send it: addresses normalised (an
 * internationalised domain in punycode, odd local parts quoted) and
 * recipients once each. Plain addresses, nearly all of them, are taken as
 * they are; anything else goes through nodemailer's own normalisation.
 */
export function smtpEnvelope(from: string, to: readonly string[]): SmtpEnvelope {
  const lower = new Set(to.map((a) => a.toLowerCase()));
  if (lower.size === to.length && PLAIN_ADDRESS.test(from) && to.every((a) => PLAIN_ADDRESS.test(a))) return { from, to: [...to] };
  normalizer ??= new MimeNode();
  normalizer.setEnvelope({ from, to: [...to] });
  const envelope = normalizer.getEnvelope();
  return { from: envelope.from || '', to: [...envelope.to] };
}

/** The message object of nodemailer's transport API, for raw MIME. */
export class RawMessage {
  constructor(
    private readonly envelope: SmtpEnvelope,
    private readonly raw: Buffer,
    /** `<id@host>`, as nodemailer reports a Message-ID. */
    private readonly id: string,
  ) {}

  private eightBit: boolean | undefined;

  /** A copy: the transport adds DSN and REQUIRETLS fields to it. */
  getEnvelope(): SmtpEnvelope {
    this.eightBit ??= !isAscii(this.raw);
    return { from: this.envelope.from, to: [...this.envelope.to], ...(this.eightBit ? { use8BitMime: true } : {}) };
  }

  messageId(): string {
    return this.id;
  }

  getHeader(key: string): string | undefined {
    return key.toLowerCase() === 'message-id' ? this.id : undefined;
  }

  /** The bytes as queued; a last line without its line ending gets one (as nodemailer's LastNewline does). */
  createReadStream(): Readable {
    const stream = new PassThrough();
    const last = this.raw.length ? this.raw[this.raw.length - 1] : -1;
    stream.end(last === 0x0a ? this.raw : Buffer.concat([this.raw, Buffer.from(last === 0x0d ? '\n' : '\r\n')]));
    return stream;
  }
}
