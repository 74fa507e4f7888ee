/**
 * A byte-exact SMTP client for relay tests: it sends a message's bytes as
 * they are (dot-stuffed, nothing else: no line-end repair, which nodemailer
 * and every library client do), so a test can submit what a sloppy
 * application would. One session, many transactions.
 *
 *   const client = await RawSmtpClient.connect(port);
 *   await client.authPlain('scanner', 'pw');
 *   const reply = await client.send('a@x.test', ['b@y.test'], bytes);
 *   await client.quit();
 */
import net from 'node:net';

/** One SMTP reply: its code and its text lines joined. */
export interface SmtpReply {
  code: number;
  text: string;
}

export class RawSmtpClient {
  private buffer = '';
  private waiting: ((reply: SmtpReply) => void)[] = [];
  private replies: SmtpReply[] = [];
  private lines: string[] = [];

  private constructor(private readonly socket: net.Socket) {
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
  }

  /** Connects to 127.0.0.1:port and reads the greeting, then says EHLO. */
  static async connect(port: number, ehloName = 'scanner.test'): Promise<RawSmtpClient> {
    const socket = net.connect({ host: '127.0.0.1', port });
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', () => resolve());
      socket.once('error', reject);
    });
    const client = new RawSmtpClient(socket);
    const greeting = await client.read();
    if (greeting.code !== 220) throw new Error(`greeting ${greeting.code} ${greeting.text}`);
    const ehlo = await client.command(`EHLO ${ehloName}`);
    if (ehlo.code !== 250) throw new Error(`EHLO ${ehlo.code} ${ehlo.text}`);
    return client;
  }

  private onData(chunk: Buffer): void {
    this.buffer += chunk.toString('latin1');
    let i: number;
    while ((i = this.buffer.indexOf('\r\n')) >= 0) {
      const line = this.buffer.slice(0, i);
      this.buffer = this.buffer.slice(i + 2);
      this.lines.push(line.slice(4));
      if (line[3] !== '-') {
        const reply = { code: Number(line.slice(0, 3)), text: this.lines.join('\n') };
        this.lines = [];
        const next = this.waiting.shift();
        if (next) next(reply);
        else this.replies.push(reply);
      }
    }
  }

  private read(): Promise<SmtpReply> {
    const ready = this.replies.shift();
    if (ready) return Promise.resolve(ready);
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  /** Sends one command line and reads its reply. */
  command(line: string): Promise<SmtpReply> {
    this.socket.write(`${line}\r\n`);
    return this.read();
  }

  /** AUTH PLAIN with any user name and password (bytes as UTF-8). */
  authPlain(user: string, password: string): Promise<SmtpReply> {
    return this.command(`AUTH PLAIN ${Buffer.from(`\0${user}\0${password}`, 'utf8').toString('base64')}`);
  }

  /**
   * One transaction: MAIL FROM, RCPT TO each, DATA and the bytes. A dot at
   * the start of a line (after any LF, as smtp-server reads it) is doubled;
   * CRLF . CRLF ends the data. Returns the first refusal or the final reply.
   */
  async send(from: string, to: string[], message: Buffer): Promise<SmtpReply> {
    const mail = await this.command(`MAIL FROM:<${from}>`);
    if (mail.code !== 250) return mail;
    for (const rcpt of to) {
      const reply = await this.command(`RCPT TO:<${rcpt}>`);
      if (reply.code !== 250) {
        await this.command('RSET');
        return reply;
      }
    }
    const data = await this.command('DATA');
    if (data.code !== 354) return data;
    const parts: Buffer[] = [];
    let start = 0;
    for (let i = 0; i < message.length; i++) {
      if (message[i] === 0x2e && (i === 0 || message[i - 1] === 0x0a)) {
        parts.push(message.subarray(start, i), Buffer.from('.'));
        start = i;
      }
    }
    parts.push(message.subarray(start));
    const endsWithCrlf = message.length >= 2 && message[message.length - 2] === 0x0d && message[message.length - 1] === 0x0a;
    parts.push(Buffer.from(endsWithCrlf ? '.\r\n' : '\r\n.\r\n'));
    this.socket.write(Buffer.concat(parts));
    return this.read();
  }

  async quit(): Promise<void> {
    await this.command('QUIT').catch(() => undefined);
    this.socket.destroy();
  }
}
