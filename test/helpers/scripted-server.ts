/**
 * Servers for replies no local mail server produces: a raw TCP (or
 * implicit-TLS) server that replays a script of server lines for every
 * connection (Microsoft 365's texts, BYE or 421 at the greeting, a server
 * that stops answering, one that drops the connection), a silent port, an
 * HTTP server, and a port whose listen queue is full (connects never
 * complete). All listen on a free port of 127.0.0.1.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import tls from 'node:tls';
import type { CertPair } from './certs';

/** One step of a script, run in order for each connection. */
export type ScriptStep =
  /** Send these lines (CRLF is added to each). */
  | { send: string | string[] }
  /** Wait for one line from the client; with a RegExp, close the connection when it does not match. */
  | { expect: RegExp | true }
  /** Send lines computed from the last line the client sent (to echo it back, say). */
  | { respond: (lastLine: string) => string | string[] }
  /** Upgrade the connection to TLS (after a STARTTLS reply). */
  | { startTls: true }
  /** Close the connection politely. */
  | { close: true }
  /** Reset the connection (RST). */
  | { destroy: true }
  /** Stop answering but keep the connection open. */
  | { silent: true };

export interface ScriptedServer {
  port: number;
  /** Lines every client sent, in order (for assertions; test secrets can be looked for here). */
  received: string[];
  /** How many connections were accepted. */
  connections: number;
  stop(): Promise<void>;
}

export interface ScriptedServerOptions {
  script: ScriptStep[];
  /** Implicit TLS from the first byte with this certificate. */
  implicitTls?: CertPair;
  /** Certificate for `startTls` steps. */
  starttlsCert?: CertPair;
  /**
   * Speak only this old TLS version (implicit TLS and STARTTLS alike), as
   * an old appliance does: minVersion = maxVersion, and OpenSSL's security
   * level 0 so that TLS 1.0/1.1 ciphers are allowed at all.
   */
  onlyTls?: 'TLSv1' | 'TLSv1.1';
}

/** TLS options of a server that speaks only one old TLS version. */
export function oldTlsOptions(version: 'TLSv1' | 'TLSv1.1'): tls.TlsOptions {
  return { minVersion: version, maxVersion: version, ciphers: 'DEFAULT@SECLEVEL=0' };
}

class LineQueue {
  private buffer = '';
  private waiting: ((line: string | undefined) => void) | undefined;
  private closed = false;
  push(chunk: string): void {
    this.buffer += chunk;
    this.flush();
  }
  end(): void {
    this.closed = true;
    this.flush();
  }
  reset(): void {
    this.buffer = '';
  }
  private flush(): void {
    if (!this.waiting) return;
    const i = this.buffer.indexOf('\n');
    if (i >= 0) {
      const line = this.buffer.slice(0, i).replace(/\r$/, '');
      this.buffer = this.buffer.slice(i + 1);
      const w = this.waiting;
      this.waiting = undefined;
      w(line);
    } else if (this.closed) {
      const w = this.waiting;
      this.waiting = undefined;
      w(undefined);
    }
  }
  next(): Promise<string | undefined> {
    return new Promise((resolve) => {
      this.waiting = resolve;
      this.flush();
    });
  }
}

/** Starts a server that plays `script` to every connection. */
export async function startScriptedServer(options: ScriptedServerOptions): Promise<ScriptedServer> {
  const received: string[] = [];
  const sockets = new Set<net.Socket>();
  let connections = 0;

  const play = async (first: net.Socket) => {
    let socket: net.Socket = first;
    const lines = new LineQueue();
    const onData = (d: Buffer) => lines.push(d.toString('utf8'));
    const onEnd = () => lines.end();
    const attach = (s: net.Socket) => {
      s.on('data', onData);
      s.on('end', onEnd);
      s.on('close', onEnd);
      s.on('error', () => undefined);
    };
    attach(socket);
    let last = '';
    for (const step of options.script) {
      if (socket.destroyed) return;
      if ('send' in step) {
        for (const line of Array.isArray(step.send) ? step.send : [step.send]) socket.write(`${line}\r\n`);
      } else if ('expect' in step) {
        const line = await lines.next();
        if (line === undefined) return;
        received.push(line);
        last = line;
        if (step.expect instanceof RegExp && !step.expect.test(line)) {
          socket.end();
          return;
        }
      } else if ('respond' in step) {
        const out = step.respond(last);
        for (const line of Array.isArray(out) ? out : [out]) socket.write(`${line}\r\n`);
      } else if ('startTls' in step) {
        if (!options.starttlsCert) throw new Error('startTls needs starttlsCert');
        socket.off('data', onData);
        socket.off('end', onEnd);
        socket.off('close', onEnd);
        lines.reset();
        const secure = new tls.TLSSocket(socket, {
          isServer: true,
          ...(options.onlyTls ? { secureContext: tls.createSecureContext({ key: options.starttlsCert.key, cert: options.starttlsCert.cert, ...oldTlsOptions(options.onlyTls) }) } : { key: options.starttlsCert.key, cert: options.starttlsCert.cert }),
        });
        secure.on('error', () => undefined);
        sockets.add(secure);
        socket = secure;
        attach(socket);
      } else if ('close' in step) {
        socket.end();
        return;
      } else if ('destroy' in step) {
        socket.resetAndDestroy();
        return;
      } else if ('silent' in step) {
        return;
      }
    }
  };

  const onConnection = (socket: net.Socket) => {
    connections++;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    void play(socket).catch(() => socket.destroy());
  };

  const server = options.implicitTls
    ? tls.createServer({ key: options.implicitTls.key, cert: options.implicitTls.cert, ...(options.onlyTls ? oldTlsOptions(options.onlyTls) : {}) }, onConnection)
    : net.createServer(onConnection);
  server.on('tlsClientError', () => undefined);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    received,
    get connections() {
      return connections;
    },
    stop: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A port that accepts connections and never says anything. */
export function startSilentServer(): Promise<ScriptedServer> {
  return startScriptedServer({ script: [{ silent: true }] });
}

/** A plain HTTP server (a web server where a mail port was expected). */
export async function startHttpServer(): Promise<{ port: number; stop(): Promise<void> }> {
  const server = http.createServer((_req, res) => {
    res.writeHead(200, { 'Content-Type': 'text/plain' });
    res.end('hello\n');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return {
    port: (server.address() as AddressInfo).port,
    stop: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/**
 * A port where TCP connects never complete: a listening socket (made by
 * perl, which can listen without accepting; Node always accepts) with a
 * listen backlog of 0, whose accept queue the helper fills with its own
 * connections. Further SYNs are then dropped by the kernel, exactly as a
 * firewall that silently drops packets would, so a client's connect times
 * out. Loopback only; no root, no iptables.
 */
export async function startFullBacklogPort(): Promise<{ port: number; stop(): Promise<void> }> {
  const child: ChildProcess = spawn(
    'perl',
    ['-MIO::Socket::INET', '-e', '$s = IO::Socket::INET->new(LocalAddr => "127.0.0.1", LocalPort => 0, Listen => 0, ReuseAddr => 1) or die "listen: $!"; $| = 1; print $s->sockport, "\\n"; <STDIN>;'],
    { stdio: ['pipe', 'pipe', 'inherit'] },
  );
  const port = await new Promise<number>((resolve, reject) => {
    child.once('error', reject);
    child.stdout!.once('data', (d: Buffer) => resolve(Number(String(d).trim())));
  });
  const fillers: net.Socket[] = [];
  // Fill the accept queue: connect until one connect does not complete (bounded).
  for (let i = 0; i < 256; i++) {
    const outcome = await new Promise<'connected' | 'stuck' | 'error'>((resolve) => {
      const s = net.connect(port, '127.0.0.1');
      fillers.push(s);
      s.on('error', () => resolve('error'));
      const timer = setTimeout(() => resolve('stuck'), 300);
      s.once('connect', () => {
        clearTimeout(timer);
        resolve('connected');
      });
    });
    if (outcome !== 'connected') break;
  }
  return {
    port,
    stop: async () => {
      for (const s of fillers) s.destroy();
      child.stdin!.end();
      child.kill();
      await new Promise<void>((resolve) => (child.exitCode !== null ? resolve() : child.once('exit', () => resolve())));
    },
  };
}
