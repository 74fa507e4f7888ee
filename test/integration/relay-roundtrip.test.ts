/**
 * The relay passes the submitted bytes through (issue 12 items 2 and 12):
 * seeded, generated messages (odd header lines, 8-bit bytes in names and
 * values, long lines, dots and "From " at line starts, bare LF and CR,
 * leading mbox separators) are submitted byte for byte to the real relay,
 * delivered by the real engine to an in-process smtp-server, and the bytes
 * that arrive upstream are compared with the bytes submitted: equal after
 * the relay's Received line (and a Message-ID, Date or From it adds only
 * when the message has none), or refused with 554 naming the line. MAIL
 * FROM upstream carries BODY=8BITMIME exactly when the message has 8-bit
 * bytes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import nodemailer from 'nodemailer';
import { startOutboxSmtp, type OutboxSmtp } from '../helpers/outbox-smtp';
import { openOutboxEnv, type OutboxTestEnv } from '../helpers/outbox-engine';
import { RawSmtpClient } from '../helpers/raw-smtp-client';
import { EngineRuntime } from '../../src-main/engine/runtime';

const SEED = 0x5eed12;
const MESSAGES = 120;
const PASSWORD = 'Roundtrip-Pa55-relay';
const MAILBOX = 'support@example.test';

let upstream: OutboxSmtp;
let env: OutboxTestEnv;
let runtime: EngineRuntime;
let relayPort: number;
let dataDir: string;

/** mulberry32: a small seeded generator, so a failure can be replayed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Fault = 'none' | 'mbox' | 'bare-lf' | 'bare-cr';

interface Generated {
  seq: number;
  bytes: Buffer;
  fault: Fault;
  /** The line of the fault (1-based), for the refusal. */
  faultLine: number;
  hasMessageId: boolean;
  hasDate: boolean;
  hasFrom: boolean;
}

function generate(random: () => number, seq: number): Generated {
  const pick = <T,>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  const chance = (p: number) => random() < p;
  const roll = random();
  const fault: Fault = roll < 0.7 ? 'none' : roll < 0.8 ? 'mbox' : roll < 0.9 ? 'bare-lf' : 'bare-cr';
  const bytes8 = (n: number) => Buffer.from(Array.from({ length: n }, () => 0x80 + Math.floor(random() * 0x80)));
  const ascii = (n: number) => Array.from({ length: n }, () => String.fromCharCode(0x20 + Math.floor(random() * 0x5f))).join('');
  const lines: Buffer[] = [];
  const line = (text: string | Buffer) => lines.push(typeof text === 'string' ? Buffer.from(text, 'latin1') : text);

  const hasFrom = chance(0.85);
  const hasMessageId = chance(0.7);
  const hasDate = chance(0.7);
  // The first line is a header field (or, for the mbox fault, the separator).
  if (fault === 'mbox') line(`From app@printer.test ${pick(['Mon Jan  5 10:00:00 2026', 'Tue Nov 25 08:15:02 2026'])}`);
  line(`X-Test-Seq: ${seq}`);
  const optional: (() => void)[] = [
    () => line(`To: ${pick(['accounts@example.net', 'Accounts <accounts@example.net>', '"Team, A" <team@example.net>'])}`),
    () => line(pick(['Subject : spaced colon', 'Subject: plain subject', 'Subject: =?utf-8?B?w5xiZXJzaWNodA==?='])),
    () => line(Buffer.concat([Buffer.from('Subject: 8-bit '), Buffer.from('Grüße Überweisung', 'utf8')])),
    () => line(`X-Obs : ${ascii(20)}`),
    () => {
      line(Buffer.concat([Buffer.from('X-Gr'), bytes8(3), Buffer.from(': value')]));
      line(Buffer.concat([Buffer.from('\t continued '), bytes8(5)]));
    },
    () => line(`X-Long: ${ascii(998 + Math.floor(random() * 3000))}`),
    () => {
      line('X-Folded: first');
      line(' second');
      line('\tthird');
    },
    () => line(`this line is not a header ${ascii(10)}`),
    () => line('X-Empty:'),
    () => line(`MIME-Version: 1.0`),
  ];
  const required: (() => void)[] = [];
  if (hasFrom) required.push(() => line(pick(['From: App <app@printer.test>', 'From : app@printer.test', 'FROM: app@printer.test'])));
  if (hasMessageId) required.push(() => line(`Message-ID: <gen-${seq}-${Math.floor(random() * 1e9)}@printer.test>`));
  if (hasDate) required.push(() => line('Date: Wed, 25 Nov 2026 10:00:00 +0000'));
  const chosen = [...required, ...optional.filter(() => chance(0.6))];
  // Fisher-Yates with the seeded generator.
  for (let i = chosen.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [chosen[i], chosen[j]] = [chosen[j]!, chosen[i]!];
  }
  for (const add of chosen) add();
  line('');
  const bodyLines = Math.floor(random() * 30);
  for (let i = 0; i < bodyLines; i++) {
    const kind = Math.floor(random() * 9);
    if (kind === 0) line(ascii(Math.floor(random() * 80)));
    else if (kind === 1) line(Buffer.from(`Grüße aus Köln, ${ascii(10)} – ✓`, 'utf8'));
    else if (kind === 2) line(bytes8(1 + Math.floor(random() * 40)));
    else if (kind === 3) line(ascii(998 + Math.floor(random() * 4000)));
    else if (kind === 4) line(pick(['.', '..', '.leading dot', '. space']));
    else if (kind === 5) line(pick(['From the start of a line', 'From app@printer.test Mon Jan  5 10:00:00 2026', '>From quoted']));
    else if (kind === 6) line('');
    else if (kind === 7) line(`tab\there\x01\x07 control`);
    else line(`Subject: not a header, the body ${ascii(5)}`);
  }
  line('end');
  // Join with CR LF, then plant the one fault.
  let faultLine = 0;
  const eols = lines.map(() => '\r\n');
  if (fault === 'bare-lf' || fault === 'bare-cr') {
    // Any line but the separator line before the body can lose its CR (or its LF).
    const at = Math.floor(random() * lines.length);
    eols[at] = fault === 'bare-lf' ? '\n' : '\r';
    faultLine = at + 1;
  } else if (fault === 'mbox') faultLine = 1;
  const bytes = Buffer.concat(lines.flatMap((l, i) => [l, Buffer.from(eols[i]!, 'latin1')]));
  return { seq, bytes, fault, faultLine, hasMessageId, hasDate, hasFrom };
}

beforeAll(async () => {
  upstream = await startOutboxSmtp({ users: { [MAILBOX]: 'upstream-secret' } });
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mailroom-relay-roundtrip-'));
  env = openOutboxEnv(dataDir, { port: upstream.port, auth: { mode: 'password', user: MAILBOX, password: 'upstream-secret' } });
  await env.engine.relay.saveSettings({ addAccounts: [{ username: 'scanner', mailboxId: env.mailbox.id, password: PASSWORD }] });
  runtime = new EngineRuntime(env.engine, { runtime: 'test', relay: false, inbox: false });
  await runtime.start();
  relayPort = (await env.engine.relay.start(0)).port;
});

afterAll(async () => {
  await runtime?.stop(1000);
  await env?.engine.relay.stop();
  await env?.close();
  await upstream?.stop();
  if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
});

describe('relay round trip of generated messages', () => {
  it(`passes ${MESSAGES} seeded messages through byte for byte, or refuses them with 554 naming the line`, async () => {
    const random = prng(SEED);
    const messages = Array.from({ length: MESSAGES }, (_, i) => generate(random, i + 1));
    const client = await RawSmtpClient.connect(relayPort);
    expect((await client.authPlain('scanner', PASSWORD)).code).toBe(235);
    const library = nodemailer.createTransport({ host: '127.0.0.1', port: relayPort, secure: false, ignoreTLS: true, pool: true, maxConnections: 1, auth: { user: 'scanner', pass: PASSWORD } });
    const queued = new Map<number, Generated>();
    try {
      for (const m of messages) {
        const context = `message ${m.seq} (seed ${SEED}, fault ${m.fault})`;
        // A real library client for a share of the clean ones: it sends the raw bytes as they are.
        if (m.fault === 'none' && m.seq % 5 === 0) {
          const info = await library.sendMail({ envelope: { from: 'app@printer.test', to: ['accounts@example.net'] }, raw: m.bytes });
          expect(info.response, context).toMatch(/^250 2\.0\.0 Queued as \d+ for Support$/);
          queued.set(Number(/Queued as (\d+)/.exec(info.response)![1]), m);
          continue;
        }
        const reply = await client.send('app@printer.test', ['accounts@example.net'], m.bytes);
        if (m.fault === 'none') {
          expect(reply.code, `${context}: ${reply.text}`).toBe(250);
          queued.set(Number(/Queued as (\d+)/.exec(reply.text)![1]), m);
        } else {
          expect(reply.code, `${context}: ${reply.text}`).toBe(554);
          const what = m.fault === 'mbox' ? 'is an mbox separator, not a header' : `ends with a bare ${m.fault === 'bare-lf' ? 'LF' : 'CR'}`;
          expect(reply.text, context).toMatch(new RegExp(`^5\\.6\\.0 Line ${m.faultLine} ".*" ${what}`));
        }
      }
    } finally {
      library.close();
      await client.quit();
    }
    expect(queued.size).toBeGreaterThan(MESSAGES / 2);

    await expect.poll(() => [...queued.keys()].filter((id) => env.engine.outbox.get(id).status !== 'sent').length, { timeout: 40_000, interval: 200 }).toBe(0);
    for (const [id, m] of queued) {
      const context = `message ${m.seq} (outbox ${id}, seed ${SEED})`;
      const tag = Buffer.from(`X-Test-Seq: ${m.seq}\r\n`);
      const arrived = upstream.messages.filter((u) => u.bytes.includes(tag));
      expect(arrived.length, context).toBe(1);
      const bytes = arrived[0]!.bytes;
      // The submitted bytes, unchanged, at the end...
      expect(bytes.length, context).toBeGreaterThan(m.bytes.length);
      expect(bytes.subarray(bytes.length - m.bytes.length).equals(m.bytes), context).toBe(true);
      // ...below the Received line and only the fields the message lacked.
      const added = bytes.subarray(0, bytes.length - m.bytes.length).toString('latin1');
      const expected = [
        /Received: from (?:scanner\.test|\[127\.0\.0\.1\]) \(\[127\.0\.0\.1\]\) by mailroom-relay\.localhost \(Mailroom relay\) with ESMTPA id \w+; \w{3}, \d\d \w{3} \d{4} \d\d:\d\d:\d\d \+0000\r\n/.source,
        ...(m.hasMessageId ? [] : ['Message-ID: <[0-9a-f-]{36}@example\\.test>\\r\\n']),
        ...(m.hasDate ? [] : ['Date: \\w{3}, \\d\\d \\w{3} \\d{4} \\d\\d:\\d\\d:\\d\\d \\+0000\\r\\n']),
        ...(m.hasFrom ? [] : ['From: support@example\\.test\\r\\n']),
      ].join('');
      expect(added, context).toMatch(new RegExp(`^${expected}$`));
      // 8BITMIME is announced exactly for 8-bit messages (smtp-server offers it).
      const eightBit = bytes.some((b) => b > 0x7f);
      expect(arrived[0]!.mailFromArgs.BODY, context).toBe(eightBit ? '8BITMIME' : undefined);
      expect(arrived[0]!.from).toBe(MAILBOX);
    }
    // The refusals are in the log, each naming its line.
    const refused = messages.filter((m) => m.fault !== 'none').length;
    expect(env.engine.log.query({ code: 'RELAY_MESSAGE_REFUSED' }, 1000).length).toBe(refused);
  }, 60_000);
});
