/**
 * A byte-exact POP3 client for tests: one command, one reply, nothing
 * hidden. It speaks plaintext, implicit TLS or STLS, and reads multi-line
 * replies (CAPA, UIDL, LIST, RETR) to the terminating "." line, undoing the
 * dot-stuffing, as Buffers (a message's bytes are not re-encoded).
 *
 *   const pop = await RawPop3Client.connect({ port: dovecot.pop3Port });
 *   await pop.command(`USER ${user}`); await pop.command(`PASS ${password}`);
 *   const uidl = await pop.multiline('UIDL');
 *   await pop.quit();
 */
import net from 'node:net';
import tls from 'node:tls';

/** One POP3 status line: `ok` for +OK (or the "+ " SASL continuation), the text after the status word. */
export interface Pop3Reply {
  ok: boolean;
  /** '+OK', '-ERR' or '+' (a SASL continuation). */
  status: string;
  text: string;
}

export interface RawPop3Options {
  port: number;
  /** Implicit TLS (POP3S). */
  tls?: boolean;
  /** Trusted CA for TLS (PEM); default: accept any certificate (tests of sign-in, not of trust). */
  ca?: string;
}

export class RawPop3Client {
  private buffer = Buffer.alloc(0);
  private wake: (() => void) | null = null;
  private closed: Error | null = null;

  private constructor(private socket: net.Socket) {
    this.attach(socket);
  }

  private attach(socket: net.Socket): void {
    socket.on('data', (chunk: Buffer) => {
      this.buffer = Buffer.concat([this.buffer, chunk]);
      this.wake?.();
    });
    socket.on('error', (error) => {
      this.closed = error;
      this.wake?.();
    });
    socket.on('close', () => {
      this.closed ??= new Error('connection closed');
      this.wake?.();
    });
  }

  /** Connects to 127.0.0.1:port and reads the greeting (which must be +OK). */
  static async connect(options: RawPop3Options): Promise<RawPop3Client> {
    const socket = options.tls
      ? tls.connect({ host: '127.0.0.1', port: options.port, servername: 'localhost', ...(options.ca ? { ca: options.ca } : { rejectUnauthorized: false }) })
      : net.connect({ host: '127.0.0.1', port: options.port });
    await new Promise<void>((resolve, reject) => {
      socket.once(options.tls ? 'secureConnect' : 'connect', () => resolve());
      socket.once('error', reject);
    });
    const client = new RawPop3Client(socket);
    const greeting = await client.readLine();
    if (!greeting.ok) throw new Error(`POP3 greeting: ${greeting.status} ${greeting.text}`);
    return client;
  }

  private async line(): Promise<Buffer> {
    for (;;) {
      const end = this.buffer.indexOf('\r\n');
      if (end >= 0) {
        const line = this.buffer.subarray(0, end);
        this.buffer = this.buffer.subarray(end + 2);
        return line;
      }
      if (this.closed) throw this.closed;
      await new Promise<void>((resolve) => (this.wake = resolve));
      this.wake = null;
    }
  }

  /** Reads one status line. */
  async readLine(): Promise<Pop3Reply> {
    const line = (await this.line()).toString('latin1');
    const m = /^(\+OK|-ERR|\+)(?: (.*))?$/.exec(line);
    if (!m) throw new Error(`not a POP3 status line: ${JSON.stringify(line)}`);
    return { ok: m[1] !== '-ERR', status: m[1]!, text: m[2] ?? '' };
  }

  /** Sends one command line and reads its status line. */
  async command(line: string): Promise<Pop3Reply> {
    this.socket.write(`${line}\r\n`);
    return this.readLine();
  }

  /** Sends a multi-line command; on +OK returns the body (dot-stuffing undone, CRLF line ends). */
  async multiline(line: string): Promise<{ reply: Pop3Reply; body: Buffer }> {
    const reply = await this.command(line);
    if (!reply.ok) return { reply, body: Buffer.alloc(0) };
    const lines: Buffer[] = [];
    for (;;) {
      const l = await this.line();
      if (l.length === 1 && l[0] === 0x2e) break;
      lines.push(l[0] === 0x2e ? l.subarray(1) : l, Buffer.from('\r\n'));
    }
    return { reply, body: Buffer.concat(lines) };
  }

  /** STLS, then TLS over the same socket. */
  async startTls(ca?: string): Promise<Pop3Reply> {
    const reply = await this.command('STLS');
    if (!reply.ok) return reply;
    const plain = this.socket;
    plain.removeAllListeners('data');
    const secure = tls.connect({ socket: plain, servername: 'localhost', ...(ca ? { ca } : { rejectUnauthorized: false }) });
    await new Promise<void>((resolve, reject) => {
      secure.once('secureConnect', () => resolve());
      secure.once('error', reject);
    });
    this.socket = secure;
    this.attach(secure);
    return reply;
  }

  /** QUIT (commits DELEs) and closes. */
  async quit(): Promise<Pop3Reply> {
    const reply = await this.command('QUIT');
    this.socket.end();
    return reply;
  }

  /** Drops the connection without QUIT (DELEs are not committed). */
  destroy(): void {
    this.socket.destroy();
  }
}
