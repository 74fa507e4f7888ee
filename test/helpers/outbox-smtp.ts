/**
 * An upstream SMTP server for outbox tests: nodemailer's smtp-server on a
 * free port of 127.0.0.1 with hooks to script every fault class (a reply at
 * greeting, MAIL, RCPT or after DATA; a connection cut in the middle of
 * DATA; a server that stops answering) and a record of what it accepted.
 */
import { SMTPServer, type SMTPServerSession } from 'smtp-server';
import type { AddressInfo } from 'node:net';

/** An SMTP reply instead of success. */
export interface Reply {
  code: number;
  message: string;
}

/** What a hook may answer: a reply, `hang` (never answer), `drop` (cut the connection), or nothing (go on). */
export type HookAnswer = Reply | 'hang' | 'drop' | undefined;

export interface OutboxSmtpOptions {
  /** Users and passwords; when set (or checkToken is), sign-in is required. */
  users?: Record<string, string>;
  /** XOAUTH2: true accepts the token. */
  checkToken?: (user: string, token: string) => boolean;
  onConnect?: (connection: number) => HookAnswer;
  /**
   * Called with each sign-in (numbered from 1) before it is checked: `hang`
   * holds the reply until releaseHanging(), then checks it as usual.
   */
  onAuth?: (attempt: number, username: string) => 'hang' | undefined;
  onMailFrom?: (address: string, session: SMTPServerSession) => HookAnswer;
  onRcptTo?: (address: string, session: SMTPServerSession) => HookAnswer;
  /** Called once the message is read, or (for `drop`) on its first chunk. */
  onData?: (raw: Buffer, session: SMTPServerSession) => HookAnswer;
  /** Cut the connection as soon as the first chunk of message data arrives. */
  dropInData?: boolean | ((messageNumber: number) => boolean);
  /** The acceptance text (after 250). Default "OK: queued as Q<n>". */
  acceptText?: (n: number) => string;
}

export interface AcceptedMessage {
  from: string;
  to: string[];
  raw: string;
  /** The message exactly as received (after dot-unstuffing). */
  bytes: Buffer;
  /** The MAIL FROM parameters, such as { BODY: '8BITMIME' }. */
  mailFromArgs: Record<string, string>;
  user: string | undefined;
}

export interface OutboxSmtp {
  port: number;
  messages: AcceptedMessage[];
  /** Connections opened so far. */
  connections: number;
  /** Sign-ins seen: method and user, never the secret. */
  authAttempts: { method: string; username: string; ok: boolean }[];
  /** Answers every command held by a `hang` (they go on as if the hook had said nothing). */
  releaseHanging(): void;
  stop(): Promise<void>;
}

function asError(reply: Reply): Error {
  return Object.assign(new Error(reply.message), { responseCode: reply.code });
}

/** Starts the server on 127.0.0.1 at a free port. */
export async function startOutboxSmtp(options: OutboxSmtpOptions = {}): Promise<OutboxSmtp> {
  const state: OutboxSmtp = { port: 0, messages: [], connections: 0, authAttempts: [], releaseHanging: () => undefined, stop: async () => undefined };
  let dataCount = 0;
  let authCount = 0;
  const authRequired = Boolean(options.users || options.checkToken);
  const hanging = new Set<() => void>();

  const cut = (session: SMTPServerSession) => {
    for (const c of (server as unknown as { connections: Set<{ id: string; _socket: { destroy(): void } }> }).connections) {
      if (c.id === session.id) c._socket.destroy();
    }
  };

  const apply = (answer: HookAnswer, session: SMTPServerSession, callback: (err?: Error | null) => void): boolean => {
    if (!answer) return false;
    if (answer === 'hang') {
      hanging.add(() => callback());
      return true;
    }
    if (answer === 'drop') {
      cut(session);
      return true;
    }
    callback(asError(answer));
    return true;
  };

  const server = new SMTPServer({
    authOptional: !authRequired,
    allowInsecureAuth: true,
    disabledCommands: ['STARTTLS'],
    authMethods: ['PLAIN', 'LOGIN', 'XOAUTH2'],
    logger: false,
    size: 50 * 1024 * 1024,
    socketTimeout: 60_000,
    closeTimeout: 1_000,
    onConnect(session, callback) {
      state.connections++;
      if (!apply(options.onConnect?.(state.connections), session, callback)) callback();
    },
    onAuth(auth, _session, callback) {
      const check = () => {
        if (auth.method === 'XOAUTH2') {
          const ok = Boolean(auth.username && auth.accessToken && options.checkToken?.(auth.username, auth.accessToken));
          state.authAttempts.push({ method: 'XOAUTH2', username: auth.username ?? '', ok });
          if (ok) return callback(null, { user: auth.username });
          return callback(null, { data: { status: '401', schemes: 'bearer', scope: 'https://outlook.office.com/SMTP.Send' } });
        }
        const ok = Boolean(auth.username && options.users && options.users[auth.username] !== undefined && options.users[auth.username] === auth.password);
        state.authAttempts.push({ method: auth.method, username: auth.username ?? '', ok });
        if (ok) return callback(null, { user: auth.username });
        callback(asError({ code: 535, message: '5.7.8 Authentication credentials invalid' }));
      };
      if (options.onAuth?.(++authCount, auth.username ?? '') === 'hang') hanging.add(check);
      else check();
    },
    onMailFrom(address, session, callback) {
      if (!apply(options.onMailFrom?.(address.address, session), session, callback)) callback();
    },
    onRcptTo(address, session, callback) {
      if (!apply(options.onRcptTo?.(address.address, session), session, callback)) callback();
    },
    onData(stream, session, callback) {
      const n = ++dataCount;
      const drop = typeof options.dropInData === 'function' ? options.dropInData(n) : options.dropInData;
      const chunks: Buffer[] = [];
      let dropped = false;
      stream.on('data', (chunk: Buffer) => {
        if (drop && !dropped) {
          dropped = true;
          cut(session);
          return;
        }
        chunks.push(chunk);
      });
      stream.on('end', () => {
        if (dropped) return;
        const raw = Buffer.concat(chunks);
        const answer = options.onData?.(raw, session);
        if (answer === 'hang') {
          hanging.add(() => accept());
          return;
        }
        if (apply(answer, session, callback)) return;
        accept();
      });
      const accept = () => {
        const raw = Buffer.concat(chunks);
        state.messages.push({
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          to: session.envelope.rcptTo.map((r) => r.address),
          raw: raw.toString('utf8'),
          bytes: raw,
          mailFromArgs: session.envelope.mailFrom && session.envelope.mailFrom.args ? { ...(session.envelope.mailFrom.args as Record<string, string>) } : {},
          user: session.user as string | undefined,
        });
        callback(null, options.acceptText ? options.acceptText(state.messages.length) : `OK: queued as Q${state.messages.length}`);
      };
    },
  });
  server.on('error', () => undefined);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  state.port = (server.server.address() as AddressInfo).port;
  state.releaseHanging = () => {
    const all = [...hanging];
    hanging.clear();
    for (const release of all) release();
  };
  state.stop = async () => {
    for (const release of hanging) release();
    hanging.clear();
    for (const c of (server as unknown as { connections: Set<{ _socket: { destroy(): void } }> }).connections) c._socket.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  return state;
}
