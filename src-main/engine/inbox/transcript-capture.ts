/**
 * The IMAP transcript of an "Import with debug" poll, built from imapflow's
 * raw socket log (`logRaw`): every line Mailroom sent and the server
 * answered, with time offsets.
 *
 * Secrets never reach it, on two counts: imapflow itself withholds the
 * client frames of LOGIN and AUTHENTICATE (marked `hidden`), and every line
 * is also scrubbed of the password, the access token and the SASL blobs
 * built from them (plain, base64 and URL-encoded forms), so a server that
 * echoes a credential back cannot leak it either.
 *
 * Message bodies are not repeated in it: a literal of more than 1 KB is
 * replaced by a note of its size (the message itself is stored anyway).
 */
import type { Logger } from 'imapflow';
import type { TranscriptLine } from '../../shared/diagnosis.js';
import { CredentialRedaction, Redactor } from '../connection-test/transcript.js';
import { groupDigits } from '../../shared/number-format.js';

/** Literals up to this size are shown (folder names, short values); larger ones are summarised. */
const SHOWN_LITERAL_BYTES = 1024;
/** Longest text kept for one line. */
const MAX_LINE_CHARS = 2000;
/** Most lines kept: a poll of thousands of messages is summarised past this. */
const MAX_LINES = 20_000;
/** A server line longer than this without a line break is cut (and the rest skipped). */
const MAX_PENDING_BYTES = 256 * 1024;

interface RawLogEntry {
  src?: string;
  msg?: string;
  data?: string;
  hidden?: boolean;
  [key: string]: unknown;
}

export class ImapTranscriptRecorder {
  private readonly out: TranscriptLine[] = [];
  private dropped = 0;
  private pending: Buffer = Buffer.alloc(0);
  private literalLeft = 0;
  private literalSize = 0;
  private literalChunks: Buffer[] = [];
  private skippingLongLine = false;
  /** The next line is the rest of a response after a literal (often empty). */
  private afterLiteral = false;
  /** The same credential redaction as every other transcript (for frames imapflow does not hide). */
  private readonly credentials = new CredentialRedaction();

  constructor(
    private readonly startedAt: number,
    readonly redactor: Redactor = new Redactor(),
    private readonly clock: () => number = Date.now,
  ) {}

  /** The lines so far, with a note when some were not kept. */
  lines(): TranscriptLine[] {
    const lines = this.out.slice();
    if (this.dropped) lines.push({ dir: 'info', t: lines[lines.length - 1]?.t ?? 0, text: `${this.dropped} more lines were not kept.` });
    return lines;
  }

  /** A note by Mailroom (phase changes, errors). */
  note(text: string): void {
    this.push('info', text);
  }

  /**
   * A protocol line from a client Mailroom drives itself (the POP3 import):
   * redacted like every other line; the client passes message bodies as a
   * note of their size, never the bytes.
   */
  protocolLine(dir: 'C' | 'S', text: string): void {
    if (dir === 'C') {
      this.push('C', this.credentials.client(text));
      return;
    }
    this.credentials.server(text);
    this.push('S', text);
  }

  /** An imapflow logger that feeds this transcript (pass with `logRaw: true`). */
  logger(): Logger {
    const onEntry = (entry: unknown) => this.onLog(entry as RawLogEntry);
    const onNote = (entry: unknown) => {
      const e = entry as RawLogEntry;
      if (e?.src === 'tls' && e.msg) this.note(`${e.msg}${e.version ? ` (${String(e.version)}, ${String(e.algo ?? '')})` : ''}`);
      else if (e?.msg && e.msg !== 'read from socket' && e.msg !== 'write to socket' && /^(Established|Connection|User authenticated|Server alert)/.test(e.msg)) {
        this.note(String(e.msg) + (e.alert ? `: ${String(e.alert)}` : ''));
      }
    };
    return { trace: onEntry, debug: () => undefined, info: onNote, warn: onNote, error: onNote, fatal: onNote };
  }

  private onLog(entry: RawLogEntry): void {
    if (!entry || typeof entry.data !== 'string') return;
    if (entry.msg === 'write to socket') {
      if (entry.hidden) {
        this.push('C', '[sign-in data hidden]');
        return;
      }
      const text = Buffer.from(entry.data, 'base64').toString('utf8');
      for (const line of text.split('\r\n')) if (line) this.push('C', this.credentials.client(line));
      return;
    }
    if (entry.msg === 'read from socket') this.onServerBytes(Buffer.from(entry.data, 'base64'));
  }

  /** Splits server bytes into lines, setting literals aside. */
  private onServerBytes(chunk: Buffer): void {
    let buf = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk;
    this.pending = Buffer.alloc(0);
    for (;;) {
      if (this.literalLeft > 0) {
        const take = Math.min(this.literalLeft, buf.length);
        if (this.literalSize <= SHOWN_LITERAL_BYTES) this.literalChunks.push(buf.subarray(0, take));
        this.literalLeft -= take;
        buf = buf.subarray(take);
        if (this.literalLeft > 0) return;
        if (this.literalSize <= SHOWN_LITERAL_BYTES) {
          const text = Buffer.concat(this.literalChunks).toString('utf8');
          for (const line of text.split(/\r?\n/)) this.push('S', line);
        } else {
          this.push('info', `[${groupDigits(this.literalSize)} bytes of message data, stored with the message, not repeated here]`);
        }
        this.literalChunks = [];
        this.afterLiteral = true;
        continue;
      }
      const end = buf.indexOf('\r\n');
      if (end < 0) {
        if (buf.length > MAX_PENDING_BYTES) {
          if (!this.skippingLongLine) this.push('S', `${buf.subarray(0, MAX_LINE_CHARS).toString('utf8')} [line longer than ${MAX_PENDING_BYTES} bytes, rest not shown]`);
          this.skippingLongLine = true;
          buf = Buffer.alloc(0);
        }
        this.pending = Buffer.from(buf);
        return;
      }
      const line = buf.subarray(0, end).toString('utf8');
      buf = buf.subarray(end + 2);
      if (this.skippingLongLine) {
        this.skippingLongLine = false;
        continue;
      }
      const continues = this.afterLiteral;
      this.afterLiteral = false;
      this.credentials.server(line);
      if (line || !continues) this.push('S', line);
      const literal = /\{(\d+)\+?\}$/.exec(line);
      if (literal) {
        this.literalSize = this.literalLeft = Number(literal[1]);
        if (this.literalLeft === 0) this.literalSize = 0;
      }
    }
  }

  private push(dir: TranscriptLine['dir'], text: string): void {
    if (this.out.length >= MAX_LINES) {
      this.dropped++;
      return;
    }
    let clean = this.redactor.redact(text);
    if (clean.length > MAX_LINE_CHARS) clean = `${clean.slice(0, MAX_LINE_CHARS)} [... ${clean.length - MAX_LINE_CHARS} more characters]`;
    this.out.push({ dir, t: Math.max(0, Math.round(this.clock() - this.startedAt)), text: clean });
  }
}
