/**
 * `mailroom test graph <mailbox>` and `mailbox add|update --send-via
 * --receive-via --graph-save-sent` as an admin runs them: the built CLI in a
 * child process, an app-only Microsoft 365 mailbox signed in against the
 * test IdP, Graph at the Graph-shaped peer (MAILROOM_GRAPH_URL). The same
 * JSON shape and exit codes as `test smtp`; no token in any output.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli';
import { startGraphPeer, type GraphPeer } from '../helpers/graph-peer';
import { startTestIdp, type TestIdp } from '../helpers/oauth-idp';

const MAILBOX = 'support@contoso.test';
const KEY = crypto.randomBytes(32).toString('hex');
let idp: TestIdp;
let graph: GraphPeer;
let dataDir: string;

const env = () => ({ NODE_EXTRA_CA_CERTS: idp.certs.caFile, MAILROOM_SECRET_KEY: KEY, MAILROOM_GRAPH_URL: graph.baseUrl });
const cli = (args: string[]) => runCli([...args, '--data-dir', dataDir], { env: env() });

beforeAll(async () => {
  idp = await startTestIdp();
  graph = await startGraphPeer({ idp });
  graph.addMailbox(MAILBOX, { displayName: 'Support' });
  // One data folder for the whole file (tempDir() would remove it after the first test).
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mailroom-graph-cli-'));
  const add = await cli(['mailbox', 'add', '--name', 'Support', '--address', MAILBOX, '--preset', 'microsoft365', '--auth', 'oauth2-app', '--send-via', 'graph', '--receive-via', 'graph', '--graph-save-sent', 'no', '--disabled', '--json']);
  expect(add.code, add.stderr).toBe(0);
  expect(JSON.parse(add.stdout)).toMatchObject({ sendVia: 'graph', receiveVia: 'graph', graph: { saveToSentItems: false } });
  const app = await runCli(['oauth', 'app', '--tenant', idp.tenantId, '--client-id', idp.clientId, '--authority', idp.authorityHost, '--secret-env', 'APP_SECRET', '--json', '--data-dir', dataDir], {
    env: { ...env(), APP_SECRET: idp.app.clientSecret },
  });
  expect(app.code, app.stderr).toBe(0);
}, 120_000);

afterAll(async () => {
  await graph?.stop();
  await idp?.stop();
  if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
});

describe('mailbox add|update with the transports', () => {
  it('update switches sending back to SMTP and Sent Items on; show says which transport each side uses', async () => {
    const update = await cli(['mailbox', 'update', 'Support', '--send-via', 'smtp', '--graph-save-sent', 'yes', '--json']);
    expect(update.code, update.stderr).toBe(0);
    expect(JSON.parse(update.stdout)).toMatchObject({ sendVia: 'smtp', receiveVia: 'graph', graph: { saveToSentItems: true } });
    const show = await cli(['mailbox', 'show', 'Support']);
    expect(show.stdout).toMatch(/incoming {2}via Microsoft Graph/);
    expect(show.stdout).not.toMatch(/outgoing {2}via Microsoft Graph/);
    const back = await cli(['mailbox', 'update', 'Support', '--send-via', 'graph', '--json']);
    expect(back.code, back.stderr).toBe(0);
  }, 60_000);

  it('refuses a value it does not know, naming the flag (exit 2)', async () => {
    const bad = await cli(['mailbox', 'update', 'Support', '--send-via', 'carrier-pigeon', '--json']);
    expect(bad.code).toBe(2);
    expect(bad.stdout + bad.stderr).toMatch(/--send-via/);
    const save = await cli(['mailbox', 'update', 'Support', '--graph-save-sent', 'maybe', '--json']);
    expect(save.code).toBe(2);
    expect(JSON.parse(save.stdout).error).toMatchObject({ code: 'USAGE', message: expect.stringMatching(/^--graph-save-sent takes yes or no/) });
  }, 60_000);

  it('refuses Graph for a mailbox that signs in with a password, at the field it concerns (exit 2)', async () => {
    const add = await cli(['mailbox', 'add', '--name', 'Plain', '--address', 'plain@example.com', '--imap-host', 'imap.example.com', '--smtp-host', 'smtp.example.com', '--send-via', 'graph', '--disabled', '--json']);
    expect(add.code).toBe(2);
    expect(JSON.parse(add.stdout).error).toMatchObject({ code: 'VALIDATION_FAILED' });
    expect(add.stdout).toMatch(/--send-via/);
  }, 60_000);
});

describe('mailroom test graph', () => {
  it('passes with --json: the same shape as test smtp, exit 0, the test message sent through Graph, no token anywhere', async () => {
    const sentBefore = graph.sent.length;
    const run = await cli(['test', 'graph', 'Support', '--to', 'customer@example.test', '--json']);
    expect(run.code, run.stdout + run.stderr).toBe(0);
    const report = JSON.parse(run.stdout);
    expect(Object.keys(report).sort()).toEqual(['diagnosis', 'ok', 'protocol', 'steps', 'target', 'transcript']);
    expect(report).toMatchObject({ ok: true, protocol: 'graph', target: { host: expect.stringMatching(/^127\.0\.0\.1:\d+$/), port: expect.any(Number), security: 'tls' }, diagnosis: null });
    expect(report.steps.map((s: { name: string; status: string }) => `${s.name}:${s.status}`)).toEqual(['token:ok', 'mailbox:ok', 'folder:ok', 'send-mail:ok']);
    expect(graph.sent.length).toBe(sentBefore + 1);
    for (const token of [...idp.issuedAppTokens().keys()]) expect(run.stdout).not.toContain(token);
    // Kept in the mailbox's history like an SMTP or IMAP test.
    const logs = await cli(['logs', '--json']);
    expect(logs.stdout).toMatch(/Microsoft Graph test of support@contoso\.test passed/);
  }, 60_000);

  it('prints the steps, the diagnosis and the curl commands in words, and exits 1 when a step fails', async () => {
    graph.restrictApp(idp.clientId, ['someone-else@contoso.test']);
    try {
      const run = await cli(['test', 'graph', 'Support']);
      expect(run.code, run.stderr).toBe(1);
      expect(run.stdout).toMatch(/FAILED: GRAPH_ACCESS_POLICY_DENIED at step: Open the folder \(GET mailFolders\)/);
      expect(run.stdout).toMatch(/What to change: .*Test-ApplicationAccessPolicy/);
      expect(run.stdout).toMatch(/curl -v -H 'Authorization: Bearer <TOKEN>' 'https:\/\/127\.0\.0\.1:\d+\/v1\.0\/users\/support%40contoso\.test/);
      for (const token of [...idp.issuedAppTokens().keys()]) expect(run.stdout).not.toContain(token);
    } finally {
      graph.restrictApp(idp.clientId, null);
    }
  }, 60_000);

  it('test mailbox tests the sides that go through Graph through Graph: { ok, mailbox, results } or one report', async () => {
    const both = await cli(['test', 'mailbox', 'Support', '--json']);
    expect(both.code, both.stdout + both.stderr).toBe(0);
    // Both sides go through Graph: one Graph test, printed as the one report it is.
    expect(JSON.parse(both.stdout)).toMatchObject({ ok: true, protocol: 'graph' });
  }, 60_000);

  it('exit 2 for a usage error, with JSON', async () => {
    const run = await cli(['test', 'graph', 'Support', '--timeout-ms', 'soon', '--json']);
    expect(run.code).toBe(2);
    expect(JSON.parse(run.stdout)).toMatchObject({ ok: false, error: { message: expect.stringMatching(/--timeout-ms/) } });
    const missing = await cli(['test', 'graph', 'Nobody', '--json']);
    expect(missing.code).not.toBe(0);
    expect(JSON.parse(missing.stdout).ok).toBe(false);
  }, 60_000);
});
