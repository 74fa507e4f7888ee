/**
 * A network guard for tests that run the CLI with generated input: no
 * connection can reach a real server, whatever host or port a command is
 * given. Every TCP connection is redirected to 127.0.0.1 on a port that was
 * just free (so the kernel refuses it, exactly as a closed port does), name
 * lookups answer only for localhost and IP literals, and UDP (the DNS client
 * of the connection tests) goes only to loopback addresses. Each attempt is
 * recorded with the target the command asked for.
 *
 * In-process: `installNetworkGuard()`. In a child process: NODE_OPTIONS=
 * --import=<this file's URL> with MAILROOM_NETWORK_GUARD=<closed port> (and
 * MAILROOM_NETWORK_GUARD_LOG=<file> to collect the attempts).
 *
 * A plain .mjs module because child processes of Node 20 cannot load TypeScript.
 */
import dgram from 'node:dgram';
import dns from 'node:dns';
import fs from 'node:fs';
import net from 'node:net';

const attempts = [];
let installed;

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost', '::ffff:127.0.0.1']);

function record(kind, host, port) {
  const entry = { kind, host: host === undefined ? 'localhost' : String(host), port: port === undefined ? null : Number(port) };
  attempts.push(entry);
  const log = process.env.MAILROOM_NETWORK_GUARD_LOG;
  if (log) fs.appendFileSync(log, JSON.stringify(entry) + '\n');
}

function notFound(hostname, syscall) {
  return Object.assign(new Error(`${syscall} ENOTFOUND ${hostname} (network guard: only localhost resolves in this test)`), { code: 'ENOTFOUND', errno: -3008, syscall, hostname });
}

const resolvable = (hostname) => typeof hostname === 'string' && (LOOPBACK.has(hostname.toLowerCase()) || net.isIP(hostname) !== 0);

/** Installs the guard; `closedPort` is a loopback port nothing listens on. Returns a function that removes it. */
export function installNetworkGuard(closedPort) {
  if (installed) return installed;
  const restore = [];
  const patch = (target, name, replacement) => {
    const original = target[name];
    if (typeof original !== 'function') return;
    target[name] = replacement(original);
    restore.push(() => (target[name] = original));
  };

  patch(net.Socket.prototype, 'connect', (original) =>
    function connect(...args) {
      let options = args[0];
      if (Array.isArray(options)) options = options[0];
      // A local pipe or socket file is not the network.
      if (options && typeof options === 'object' && options.path !== undefined) return original.apply(this, args);
      if (typeof options === 'string' && Number.isNaN(Number(options))) return original.apply(this, args);
      const callback = args.find((a) => typeof a === 'function');
      let host;
      let port;
      if (options && typeof options === 'object') {
        host = options.host;
        port = options.port;
      } else {
        port = args[0];
        host = typeof args[1] === 'string' ? args[1] : undefined;
      }
      record('tcp', host, port);
      const redirected = { ...(options && typeof options === 'object' ? options : {}), host: '127.0.0.1', port: closedPort, lookup: undefined, localAddress: undefined };
      delete redirected.lookup;
      delete redirected.localAddress;
      return original.call(this, redirected, ...(callback ? [callback] : []));
    },
  );

  patch(dns, 'lookup', (original) =>
    function lookup(hostname, options, callback) {
      const cb = typeof options === 'function' ? options : callback;
      if (!resolvable(hostname)) {
        record('dns', hostname, null);
        process.nextTick(cb, notFound(hostname, 'getaddrinfo'));
        return {};
      }
      return original.call(this, hostname, options, callback);
    },
  );
  patch(dns.promises, 'lookup', (original) =>
    async function lookup(hostname, options) {
      if (!resolvable(hostname)) {
        record('dns', hostname, null);
        throw notFound(hostname, 'getaddrinfo');
      }
      return original.call(this, hostname, options);
    },
  );
  // The c-ares resolvers talk to the system's DNS servers directly: answer nothing through them.
  const refuseResolve = (syscall) => () =>
    function resolve(hostname, ...rest) {
      record('dns', hostname, null);
      const cb = rest.find((a) => typeof a === 'function');
      if (cb) {
        process.nextTick(cb, notFound(hostname, syscall));
        return undefined;
      }
      return Promise.reject(notFound(hostname, syscall));
    };
  for (const target of [dns, dns.promises, dns.Resolver.prototype, dns.promises.Resolver.prototype]) {
    for (const name of Object.getOwnPropertyNames(target)) {
      if (/^resolve|^reverse$/.test(name)) patch(target, name, refuseResolve(name === 'reverse' ? 'getHostByAddr' : 'query'));
    }
  }

  patch(dgram.Socket.prototype, 'send', (original) =>
    function send(...args) {
      // send(msg, [offset, length,] port, [address,] [callback])
      const callback = typeof args.at(-1) === 'function' ? args.at(-1) : undefined;
      const rest = args.slice(1, callback ? -1 : undefined);
      const [port, address] = rest.length >= 3 ? [rest[2], rest[3]] : [rest[0], rest[1]];
      record('udp', address, port);
      if (address !== undefined && !LOOPBACK.has(String(address).toLowerCase())) {
        const error = Object.assign(new Error(`send ECONNREFUSED ${address}:${port} (network guard)`), { code: 'ECONNREFUSED', syscall: 'send' });
        if (callback) process.nextTick(callback, error);
        return undefined;
      }
      return original.apply(this, args);
    },
  );

  installed = () => {
    for (const undo of restore.reverse()) undo();
    installed = undefined;
  };
  return installed;
}

/** What commands tried to reach since the guard was installed (targets as asked, before redirection). */
export function networkAttempts() {
  return attempts.slice();
}

if (process.env.MAILROOM_NETWORK_GUARD && /^\d+$/.test(process.env.MAILROOM_NETWORK_GUARD)) {
  installNetworkGuard(Number(process.env.MAILROOM_NETWORK_GUARD));
}
