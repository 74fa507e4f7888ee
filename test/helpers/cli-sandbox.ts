/**
 * A sandbox for running every CLI command with made-up input: a data folder
 * seeded with a mailbox "Support" whose servers are a closed loopback port,
 * an empty HOME (so the default data folder would show if anything fell back
 * to it), a decoy MAILROOM_DATA_DIR that must never be created, and
 * environment variables that keep autodetection and DNS on loopback.
 */
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Command } from 'commander';
import { openMailroom } from '../../src-main/engine/mailroom';
import { ROOT } from './paths';

/** A loopback port nothing listens on (it was free a moment ago; nothing of ours takes it). */
export async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** A fixed key for the sandbox's secrets, so the tests do not depend on where a key is kept. */
export const SANDBOX_SECRET_KEY = 'a'.repeat(64);

export interface Sandbox {
  root: string;
  /** HOME, APPDATA and XDG_CONFIG_HOME point here; it must stay empty. */
  home: string;
  /** MAILROOM_DATA_DIR points here; it must never be created. */
  decoy: string;
  /** A seeded data folder to copy for each run. */
  template: string;
  /** Files to give where a command reads one. */
  fixtures: { webConfig: string; settings: string; eml: string; emlDir: string; pem: string };
  closedPort: number;
  /** The environment for the CLI (merged over the test's own). */
  env: Record<string, string>;
}

/** Makes the sandbox under `root` (an empty temporary folder). */
export async function makeSandbox(root: string): Promise<Sandbox> {
  const home = path.join(root, 'home');
  const decoy = path.join(root, 'decoy-data-dir');
  const template = path.join(root, 'template');
  const fixturesDir = path.join(root, 'fixtures');
  fs.mkdirSync(home);
  fs.mkdirSync(fixturesDir);
  const port = await closedPort();
  const relayPort = await closedPort();

  const previousKey = process.env.MAILROOM_SECRET_KEY;
  process.env.MAILROOM_SECRET_KEY = SANDBOX_SECRET_KEY;
  const engine = openMailroom({ dataDir: template });
  try {
    const support = engine.mailboxes.create({
      name: 'Support',
      address: 'support@example.com',
      preset: 'generic',
      imap: { host: '127.0.0.1', port, security: 'none', auth: 'password' },
      smtp: { host: '127.0.0.1', port, security: 'none', auth: 'password' },
      password: 'sandbox-password',
    });
    await engine.relay.saveSettings({ port: relayPort, addAccounts: [{ username: 'scanner', mailboxId: support.id, password: 'relay-password' }] });
    for (let i = 0; i < 12; i++) {
      engine.log.write({ direction: 'send', level: i % 3 === 0 ? 'error' : 'info', code: i % 3 === 0 ? 'SERVER_TEMPORARY' : undefined, message: `Sandbox entry ${i}`, mailboxId: support.id });
    }
    await engine.outbox.compose({ mailboxId: support.id, to: ['alice@example.net'], subject: 'Sandbox', text: 'Hello' }, 'cli', 'cli');
  } finally {
    engine.close();
    if (previousKey === undefined) delete process.env.MAILROOM_SECRET_KEY;
    else process.env.MAILROOM_SECRET_KEY = previousKey;
  }

  const webConfig = path.join(fixturesDir, 'web.config');
  fs.copyFileSync(path.join(ROOT, 'test', 'fixtures', 'webconfig', 'superoffice-no-toggle.config'), webConfig);
  const settings = path.join(fixturesDir, 'settings.json');
  fs.writeFileSync(settings, JSON.stringify({ format: 'mailroom-settings', version: 1, mailboxes: [] }));
  const emlDir = path.join(fixturesDir, 'eml');
  fs.mkdirSync(emlDir);
  const eml = path.join(emlDir, 'one.eml');
  fs.writeFileSync(eml, 'From: support@example.com\r\nTo: alice@example.net\r\nSubject: Fixture\r\n\r\nHello\r\n');
  const pem = path.join(fixturesDir, 'not-a-cert.pem');
  fs.writeFileSync(pem, '-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydA==\n-----END CERTIFICATE-----\n');

  const env: Record<string, string> = {
    HOME: home,
    USERPROFILE: home,
    APPDATA: path.join(home, 'AppData', 'Roaming'),
    XDG_CONFIG_HOME: path.join(home, '.config'),
    MAILROOM_DATA_DIR: decoy,
    MAILROOM_SECRET_KEY: SANDBOX_SECRET_KEY,
    MAILROOM_DNS_SERVERS: `127.0.0.1:${port}`,
    MAILROOM_USER_REALM_URL: `http://127.0.0.1:${port}/getuserrealm.srf`,
    MAILROOM_AUTOCONFIG_URLS: `http://127.0.0.1:${port}/autoconfig`,
    MAILROOM_DETECT_TIMEOUT_MS: '1000',
    NO_COLOR: '1',
  };
  return { root, home, decoy, template, fixtures: { webConfig, settings, eml, emlDir, pem }, closedPort: port, env };
}

/** The environment of a child process: the sandbox's, plus the network guard (every connection to a closed loopback port). */
export function childEnv(sandbox: Sandbox, networkLog?: string): Record<string, string> {
  const guard = pathToFileURL(path.join(ROOT, 'test', 'helpers', 'network-guard.mjs')).href;
  return { ...sandbox.env, NODE_OPTIONS: `--import=${guard}`, MAILROOM_NETWORK_GUARD: String(sandbox.closedPort), ...(networkLog ? { MAILROOM_NETWORK_GUARD_LOG: networkLog } : {}) };
}

/** Every file and folder under `dir` (relative paths), for before/after comparisons. */
export function listTree(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string, rel: string) => {
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(d, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const r = rel ? path.join(rel, e.name) : e.name;
      out.push(e.isDirectory() ? r + path.sep : r);
      if (e.isDirectory()) walk(path.join(d, e.name), r);
    }
  };
  walk(dir, '');
  return out.sort();
}

/** The words that name a command, without "mailroom" (`['logs', 'export']`). */
export function commandWords(cmd: Command): string[] {
  const words: string[] = [];
  for (let c: Command | null = cmd; c?.parent; c = c.parent) words.unshift(c.name());
  return words;
}
