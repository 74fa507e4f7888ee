/**
 * The mail-flow state rules, table-driven: each row is a set of facts and the
 * state, rule and words they must lead to. Then the health service over a
 * real store: state changes logged once, the summary line, the probe settings.
 */
import crypto from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { evaluateHealth, HEALTH_RULES, type HealthFacts } from '../../src-main/engine/health/health-rules';
import { summaryLine } from '../../src-main/engine/health/health-service';
import { healthJson } from '../../src-main/cli/commands/health';
import { ProbeMarker, probeHeaderValue } from '../../src-main/engine/health/probe-marker';
import { worstState, type HealthState } from '../../src-main/shared/health';
import { openMailroom, type Mailroom } from '../../src-main/engine/mailroom';
import { staticKeyProvider } from '../../src-main/store/secret-box';
import { tempDir } from '../helpers/temp';
import fs from 'node:fs';
import path from 'node:path';
import { readBundle } from '../../src-main/engine/diagnostics/bundle';
import { createSession } from '../../src-main/ipc/session';

const NOW = Date.UTC(2026, 11, 2, 9, 14, 0);
const MIN = 60_000;

function facts(over: Partial<Omit<HealthFacts, 'receive' | 'queue'>> & { receive?: Partial<HealthFacts['receive']>; queue?: Partial<HealthFacts['queue']> } = {}): HealthFacts {
  const { receive, queue, ...rest } = over;
  return {
    now: NOW,
    mailboxId: 7,
    enabled: true,
    signIn: null,
    lastConnectionTest: null,
    lastProbe: null,
    probeSlowMs: 120_000,
    clientSecretExpiresAt: null,
    ...rest,
    receive: { failuresInRow: 0, lastError: null, lastFailedPollId: null, ...receive },
    queue: { pending: 0, oldestCreatedAt: null, oldestId: null, ...queue },
  };
}

const refused = { code: 'OAUTH_SIGN_IN_REQUIRED', message: 'Microsoft 365 asks for a new sign-in.' };
const probe = (p: Partial<NonNullable<HealthFacts['lastProbe']>>): HealthFacts['lastProbe'] => ({ id: 3, status: 'delivered', totalMs: 4_000, folder: 'INBOX', diagnosis: null, ...p });

const DAY = 86_400_000;

const CASES: { name: string; facts: HealthFacts; state: HealthState; rule: string | null; words: RegExp; explain?: string }[] = [
  { name: 'nothing wrong', facts: facts(), state: 'healthy', rule: null, words: /Mail flows/ },
  { name: 'switched off, even with failures', facts: facts({ enabled: false, receive: { failuresInRow: 9 } }), state: 'disabled', rule: 'disabled', words: /Switched off/ },
  { name: 'sign-in refused', facts: facts({ signIn: { message: refused.message, since: NOW - 5 * MIN } }), state: 'sign-in-needed', rule: 'sign-in', words: /Sign-in needed: Microsoft 365 asks/, explain: 'sign-in' },
  { name: 'sign-in beats failures', facts: facts({ signIn: { message: 'x', since: null }, receive: { failuresInRow: 5 } }), state: 'sign-in-needed', rule: 'sign-in', words: /Sign-in needed/ },
  { name: 'three receives failed in a row', facts: facts({ receive: { failuresInRow: 3, lastError: { code: 'AUTH_FAILED', message: 'LOGIN refused' }, lastFailedPollId: 12 } }), state: 'failing', rule: 'receive-failing', words: /last 3 receives failed: AUTH_FAILED LOGIN refused/, explain: 'inbox-poll' },
  { name: 'two receives failed: only degraded', facts: facts({ receive: { failuresInRow: 2 } }), state: 'degraded', rule: 'receive-retrying', words: /2 in a row/ },
  { name: 'oldest queued message 31 min old', facts: facts({ queue: { pending: 4, oldestCreatedAt: NOW - 31 * MIN, oldestId: 99 } }), state: 'failing', rule: 'queue-stuck', words: /oldest of 4 .* 31 min \(more than 30 min\)/, explain: 'outbox-message' },
  { name: 'oldest queued exactly 30 min: not yet failing', facts: facts({ queue: { pending: 1, oldestCreatedAt: NOW - 30 * MIN, oldestId: 1 } }), state: 'degraded', rule: 'queue-slow', words: /30 min/ },
  { name: 'oldest queued 5 min: fine', facts: facts({ queue: { pending: 1, oldestCreatedAt: NOW - 5 * MIN, oldestId: 1 } }), state: 'healthy', rule: null, words: /Mail flows/ },
  { name: 'round trip slower than its threshold', facts: facts({ lastProbe: probe({ totalMs: 180_000 }) }), state: 'degraded', rule: 'probe-slow', words: /took 3 min, slower than its threshold of 2 min/, explain: 'probe' },
  { name: 'round trip under its threshold', facts: facts({ lastProbe: probe({ totalMs: 119_000 }) }), state: 'healthy', rule: null, words: /last round trip arrived/ },
  { name: 'probe not delivered', facts: facts({ lastProbe: probe({ status: 'failed', totalMs: null, folder: null, diagnosis: { code: 'PROBE_NOT_DELIVERED', message: 'did not arrive' } }) }), state: 'failing', rule: 'probe-failed', words: /PROBE_NOT_DELIVERED/ },
  { name: 'probe in Junk', facts: facts({ lastProbe: probe({ status: 'failed', folder: 'Junk', diagnosis: { code: 'PROBE_IN_JUNK', message: 'junk' } }) }), state: 'degraded', rule: 'probe-junk', words: /delivered to Junk/ },
  { name: 'newest connection test failed', facts: facts({ lastConnectionTest: { id: 5, ok: false, at: NOW, code: 'TLS_CERT_EXPIRED', summary: null } }), state: 'degraded', rule: 'test-failed', words: /TLS_CERT_EXPIRED/, explain: 'connection-test' },
  { name: 'client secret expires in 12 days', facts: facts({ clientSecretExpiresAt: NOW + 12 * DAY + 3_600_000 }), state: 'degraded', rule: 'secret-expiring', words: /client secret expires in 12 days \(2026-12-14\)/, explain: 'sign-in' },
  { name: 'client secret expires exactly 30 days ahead: warned', facts: facts({ clientSecretExpiresAt: NOW + 30 * DAY }), state: 'degraded', rule: 'secret-expiring', words: /expires in 30 days/ },
  { name: 'client secret expires in 31 days: fine', facts: facts({ clientSecretExpiresAt: NOW + 31 * DAY }), state: 'healthy', rule: null, words: /Mail flows/ },
  { name: 'client secret expires later today', facts: facts({ clientSecretExpiresAt: NOW + 3_600_000 }), state: 'degraded', rule: 'secret-expiring', words: /expires today/ },
  { name: 'certificate expires in 12 days: named as the certificate', facts: facts({ clientSecretExpiresAt: NOW + 12 * DAY + 3_600_000, clientCredential: 'certificate' }), state: 'degraded', rule: 'secret-expiring', words: /app-only certificate expires in 12 days/, explain: 'sign-in' },
  { name: 'certificate expired: sign-in needed', facts: facts({ clientSecretExpiresAt: NOW - DAY, clientCredential: 'certificate' }), state: 'sign-in-needed', rule: 'secret-expired', words: /certificate expired on 2026-12-01: .*a new certificate or a client secret/, explain: 'sign-in' },
  { name: 'client secret expired: sign-in needed', facts: facts({ clientSecretExpiresAt: NOW - DAY }), state: 'sign-in-needed', rule: 'secret-expired', words: /client secret expired on 2026-12-01: this mailbox cannot sign in/, explain: 'sign-in' },
  { name: 'expired secret outranks failing receives', facts: facts({ clientSecretExpiresAt: NOW, receive: { failuresInRow: 4 } }), state: 'sign-in-needed', rule: 'secret-expired', words: /expired/ },
  { name: 'a refused sign-in is told before the expired secret', facts: facts({ clientSecretExpiresAt: NOW - DAY, signIn: { message: 'AADSTS7000222', since: NOW } }), state: 'sign-in-needed', rule: 'sign-in', words: /AADSTS7000222/ },
  { name: 'failing outranks degraded, reasons worst first', facts: facts({ receive: { failuresInRow: 1 }, queue: { pending: 2, oldestCreatedAt: NOW - 45 * MIN, oldestId: 4 } }), state: 'failing', rule: 'queue-stuck', words: /45 min/ },
];

describe('health rules', () => {
  it.each(CASES)('$name -> $state', ({ facts: f, state, rule, words, explain }) => {
    const v = evaluateHealth(f);
    expect(v.state).toBe(state);
    expect(v.reasons[0]?.rule ?? null).toBe(rule);
    expect(v.reason).toMatch(words);
    if (explain) expect(v.explain.kind).toBe(explain);
    // Worst first.
    const order = ['disabled', 'healthy', 'degraded', 'failing', 'sign-in-needed'];
    const severities = v.reasons.map((r) => order.indexOf(r.state));
    expect([...severities].sort((a, b) => b - a)).toEqual(severities);
  });

  it('every rule has a unique id and is exercised by a case', () => {
    const ids = HEALTH_RULES.map((r) => r.id);
    expect(new Set(ids).size).toBe(ids.length);
    const covered = new Set(CASES.map((c) => c.rule));
    for (const id of ids) expect(covered, id).toContain(id);
  });

  it('the worst state of enabled mailboxes wins; disabled never does', () => {
    expect(worstState(['healthy', 'degraded', 'disabled'])).toBe('degraded');
    expect(worstState(['failing', 'sign-in-needed'])).toBe('sign-in-needed');
    expect(worstState(['disabled', 'disabled'])).toBe('disabled');
    expect(worstState([])).toBe('healthy');
  });

  it('summary line names each mailbox that is not healthy, with since when', () => {
    const at = new Date(2026, 11, 2, 9, 14).getTime();
    const rows = [
      { name: 'Sales', state: 'healthy' as const, since: null },
      { name: 'Billing', state: 'healthy' as const, since: null },
      { name: 'Hr', state: 'healthy' as const, since: null },
      { name: 'Support', state: 'sign-in-needed' as const, since: at },
    ];
    expect(summaryLine(rows, at)).toBe('3 of 4 mailboxes healthy; Support: sign-in needed since 09:14');
    expect(summaryLine([...rows.slice(0, 3), { name: 'Old', state: 'disabled', since: null }], at)).toBe('3 of 3 mailboxes healthy (1 disabled)');
    expect(summaryLine([], at)).toBe('No mailboxes yet.');
  });
});

describe('probe marker', () => {
  let engine: Mailroom;
  beforeEach(() => {
    engine = openMailroom({ dataDir: tempDir(), keyProvider: staticKeyProvider(crypto.randomBytes(32)) });
  });
  afterEach(() => engine.close());

  it('recognises its own tokens only, from the header of a raw message (folded or not)', () => {
    const marker = new ProbeMarker(engine.db);
    const token = marker.newToken();
    expect(marker.recognises(token)).toBe(true);
    // Another data folder's marker (another key) does not.
    const other = openMailroom({ dataDir: tempDir(), keyProvider: staticKeyProvider(crypto.randomBytes(32)) });
    try {
      expect(new ProbeMarker(other.db).recognises(token)).toBe(false);
    } finally {
      other.close();
    }
    expect(marker.recognises(token.replace(/.$/, (c) => (c === '0' ? '1' : '0')))).toBe(false);
    const raw = Buffer.from(`From: a@b.c\r\nx-mailroom-probe:\r\n ${token}\r\nSubject: s\r\n\r\nX-Mailroom-Probe: not-in-the-body\r\n`);
    expect(probeHeaderValue(raw)).toBe(token);
    expect(marker.probeTokenOf(raw)).toBe(token);
    expect(marker.probeTokenOf(Buffer.from('Subject: s\r\n\r\nX-Mailroom-Probe: ' + token + '\r\n'))).toBeNull();
  });
});

describe('health service', () => {
  let engine: Mailroom;
  let now = NOW;
  beforeEach(() => {
    engine = openMailroom({ dataDir: tempDir(), keyProvider: staticKeyProvider(crypto.randomBytes(32)) });
    now = NOW;
    (engine.health as unknown as { clock: () => number }).clock = () => now;
  });
  afterEach(() => engine.close());

  it('logs each change of state once (direction system), with since, and announces it', () => {
    const m = engine.mailboxes.create({ name: 'Support', address: 'support@gmail.com' });
    const events: unknown[] = [];
    engine.events.on('health.changed', (e) => events.push(e));
    expect(engine.health.overview().mailboxes[0]).toMatchObject({ name: 'Support', state: 'healthy', since: NOW });
    // The receive fails three times in a row (as the importer records it).
    engine.db.prepare('INSERT INTO inbox_state (mailbox_id, consecutive_failures, last_error_code, last_error_message, last_error_at, last_try_at) VALUES (?, 3, ?, ?, ?, ?)').run(m.id, 'AUTH_FAILED', 'LOGIN refused', NOW, NOW);
    now += MIN;
    const o = engine.health.overview();
    expect(o.mailboxes[0]).toMatchObject({ state: 'failing', since: NOW + MIN });
    expect(o.summary).toMatch(/^0 of 1 mailbox healthy; Support: failing since \d\d:\d\d$/);
    now += MIN;
    engine.health.overview();
    const changes = engine.log.query({ direction: 'system' }).filter((e) => e.message.includes('->'));
    expect(changes).toHaveLength(1);
    expect(changes[0]).toMatchObject({ mailboxId: m.id, level: 'error', code: 'HEALTH_FAILING' });
    expect(changes[0]!.message).toContain('Support: Healthy -> Failing. The last 3 receives failed');
    // It recovers.
    engine.db.prepare('UPDATE inbox_state SET consecutive_failures = 0 WHERE mailbox_id = ?').run(m.id);
    engine.health.overview();
    expect(engine.log.query({ direction: 'system' })[0]!.message).toMatch(/Failing -> Healthy/);
    expect(events).toEqual([
      { mailboxId: m.id, from: null, to: 'healthy', reason: expect.any(String) },
      { mailboxId: m.id, from: 'healthy', to: 'failing', reason: expect.any(String) },
      { mailboxId: m.id, from: 'failing', to: 'healthy', reason: expect.any(String) },
    ]);
  });

  it('reads the queue: how many wait and how old the oldest is', () => {
    const m = engine.mailboxes.create({ name: 'Support', address: 'support@gmail.com', smtp: { host: 'smtp.gmail.com' } });
    engine.outbox.queueRaw(m.id, [{ raw: Buffer.from('From: support@gmail.com\r\nTo: a@example.com\r\nSubject: x\r\n\r\nbody\r\n') }], 'cli');
    engine.db.prepare('UPDATE outbox_messages SET created_at = ?').run(NOW - 40 * MIN);
    const row = engine.health.overview().mailboxes[0]!;
    expect(row.queue).toEqual({ pending: 1, oldestAgeSeconds: 40 * 60 });
    expect(row.state).toBe('failing');
    expect(row.explain.kind).toBe('outbox-message');
  });

  it("an app-only mailbox's row carries the client secret's expiry; within 30 days it is Degraded, and health --json says when", () => {
    const shared = engine.mailboxes.create({
      name: 'Shared',
      address: 'shared@contoso.com',
      imap: { host: 'outlook.office365.com', port: 993, security: 'tls', auth: 'oauth2-app' },
      smtp: { host: 'smtp.office365.com', port: 587, security: 'starttls', auth: 'oauth2-app' },
    });
    const other = engine.mailboxes.create({ name: 'Support', address: 'support@gmail.com' });
    // No registration yet: no expiry to tell.
    expect(engine.health.overview().mailboxes.find((r) => r.mailboxId === shared.id)!.clientSecretExpiresAt).toBeNull();
    engine.oauth.appOnly.saveSettings({ tenant: 'contoso.onmicrosoft.com', clientId: '11111111-2222-3333-4444-555555555555', credential: 'secret', clientSecret: 'not-a-real-secret', secretExpiresOn: '2026-12-20' });
    const expiresAt = Date.parse('2026-12-20T23:59:59.999Z');
    const o = engine.health.overview();
    const row = o.mailboxes.find((r) => r.mailboxId === shared.id)!;
    expect(row).toMatchObject({ state: 'degraded', clientSecretExpiresAt: expiresAt, explain: { kind: 'sign-in', id: shared.id } });
    expect(row.reason).toMatch(/client secret expires in 18 days \(2026-12-20\)/);
    // A mailbox that signs in with a password has nothing to do with the secret.
    expect(o.mailboxes.find((r) => r.mailboxId === other.id)).toMatchObject({ state: 'healthy', clientSecretExpiresAt: null });
    expect(healthJson(o).mailboxes.find((r) => r.name === 'Shared')).toMatchObject({ state: 'degraded', clientSecretExpiresAt: '2026-12-20T23:59:59.999Z' });
    // Once it has expired the mailbox cannot sign in: Sign-in needed, logged as such.
    now = expiresAt + 1;
    expect(engine.health.overview().mailboxes.find((r) => r.mailboxId === shared.id)).toMatchObject({ state: 'sign-in-needed' });
    expect(engine.log.query({ direction: 'system', code: 'HEALTH_SIGN_IN_NEEDED' })[0]!.message).toMatch(/Shared: Degraded -> Sign-in needed\. The app-only client secret expired on 2026-12-20/);
  });

  it('probe settings: off by default, every 15 minutes, validated', () => {
    const m = engine.mailboxes.create({ name: 'Support', address: 'support@gmail.com' });
    expect(engine.health.probeSettings(m.id)).toMatchObject({ enabled: false, intervalSeconds: 900, timeoutSeconds: 600, targetAddress: null });
    expect(engine.health.saveProbeSettings({ mailboxId: m.id, enabled: true, targetAddress: 'loop@example.com' })).toMatchObject({ enabled: true, intervalSeconds: 900, targetAddress: 'loop@example.com' });
    expect(() => engine.health.saveProbeSettings({ mailboxId: m.id, intervalSeconds: 10 })).toThrow(/intervalSeconds: must be at least 60 seconds/);
  });
});

describe('the diagnostics bundle', () => {
  it('carries the mail flow (states, reasons, probes), and a bundle view shows its probes', async () => {
    const dir = tempDir();
    const theirs = openMailroom({ dataDir: dir, keyProvider: staticKeyProvider(crypto.randomBytes(32)) });
    const m = theirs.mailboxes.create({ name: 'Support', address: 'support@gmail.com' });
    const id = theirs.health.repo.startProbe({ mailboxId: m.id, token: 't1', trigger: 'schedule', target: m.address, startedAt: Date.now() - 60_000, pid: 1 });
    theirs.health.repo.finishProbe(id, { status: 'failed', finishedAt: Date.now(), sendMs: 300, deliverMs: null, totalMs: null, folder: null, diagnosis: { code: 'PROBE_NOT_DELIVERED', message: 'did not arrive', hint: 'look' } });
    const made = await theirs.diagnostics.createBundle(path.join(dir, 'b.zip'), { runtime: 'cli' });
    theirs.close();
    const bundle = await readBundle(fs.readFileSync(made.path));
    expect(bundle.manifest.sections).toContain('mail-flow');
    expect(bundle.sections['mail-flow']).toMatchObject({ summary: '0 of 1 mailbox healthy; Support: failing', mailboxes: [{ name: 'Support', state: 'failing' }], probes: [{ status: 'failed' }] });

    const mine = openMailroom({ dataDir: tempDir(), keyProvider: staticKeyProvider(crypto.randomBytes(32)) });
    const session = createSession(mine, { runtime: 'console' });
    try {
      const ctx = { transport: 'console' as const };
      expect(await session.router.invoke('diagnostics.importBundle', { fileName: 'b.zip', dataBase64: fs.readFileSync(made.path).toString('base64') }, ctx)).toMatchObject({ ok: true });
      const probes = await session.router.invoke('health.probes', { periodMs: 24 * 3_600_000 }, ctx);
      expect(probes).toMatchObject({ ok: true, value: [{ status: 'failed', diagnosis: { code: 'PROBE_NOT_DELIVERED' } }] });
      const overview = await session.router.invoke('health.overview', {}, ctx);
      expect(overview).toMatchObject({ ok: true, value: { mailboxes: [{ name: 'Support', state: 'failing' }] } });
    } finally {
      session.close();
      mine.close();
    }
  });
});
