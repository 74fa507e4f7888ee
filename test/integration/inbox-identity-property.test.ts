/**
 * Import property test (issue 12, item 12), seeded and bounded: generated
 * mailboxes with colliding Message-IDs, identical resends (the same bytes
 * under a new UID), re-deliveries (other trace fields on top) and altered
 * copies (a field that is not a trace field on top: another message), put
 * on a private Dovecot in phases and imported by real polls, with each
 * after-import action. After every poll:
 *
 * - every message on the server has a row at its UID whose stored bytes are
 *   exactly the bytes the server was given;
 * - the duplicates are exactly the same-message cases (same content below
 *   the trace fields), each pointing at the first copy; every other message
 *   is imported, marked as sharing its Message-ID with the first different
 *   message that has it;
 * - no message was marked, moved or deleted on the server unless its own
 *   bytes were stored (and, with no faults injected, all of them were).
 *
 * The model below knows how each message was built, not how the importer
 * decides. MAILROOM_PROPERTY_SEED=N runs another seed.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ImapFlow } from 'imapflow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openInboxEngine, type InboxEngine } from '../../src-main/engine/inbox/open-inbox';
import { staticKeyProvider } from '../../src-main/store/secret-box';
import { startDovecot, type Dovecot } from '../helpers/dovecot';

const SEED = Number(process.env.MAILROOM_PROPERTY_SEED ?? 120_012);
const ACTIONS = ['mark-seen', 'move:Archive', 'delete'] as const;
/** Mailboxes generated per action. */
const CASES_PER_ACTION = 2;
/** Deliveries, then a poll, this many times per mailbox. */
const PHASES = 3;
const PASSWORD = 'Property-Pa55';

/** mulberry32: a small, fast, seedable generator. */
function generator(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (min: number, max: number) => min + Math.floor(next() * (max - min + 1));
  const pick = <T,>(items: readonly T[]): T => items[int(0, items.length - 1)]!;
  return { next, int, pick };
}
type Random = ReturnType<typeof generator>;

/** One message as first composed: what every copy of it shares below its trace fields. */
interface Template {
  index: number;
  messageId: string | null;
  core: string;
}

/** One message put on the server. */
interface Delivery {
  uid: number;
  bytes: string;
  /** Which message it is: copies with the same content id are the same message. */
  contentId: string;
  messageId: string | null;
  kind: 'first' | 'resend' | 'redelivery' | 'altered';
}

const WORDS = ['printer', 'VPN', 'password', 'laptop', 'invoice', 'refund', 'login', 'screen', 'urgent', 'thanks', 'again', 'broken'];

function makeTemplates(random: Random, caseIndex: number, user: string): Template[] {
  // Few Message-IDs for many messages, so they collide; some messages have none.
  const ids = Array.from({ length: random.int(1, 3) }, (_, k) => `c${caseIndex}-shared-${k}@collide.test`);
  return Array.from({ length: random.int(4, 7) }, (_, index) => {
    const messageId = random.next() < 0.2 ? null : random.pick(ids);
    // Same subject and body for some: only the Message-ID (or its absence) tells them apart.
    const text = random.next() < 0.3 ? 'Same words in several messages.' : Array.from({ length: random.int(3, 30) }, () => random.pick(WORDS)).join(' ') + ` (${index})`;
    const core = [
      `From: Customer ${index} <c${index}@ext.test>`,
      `To: ${user}`,
      `Subject: ${text.slice(0, 40)}`,
      ...(messageId ? [`Message-ID: <${messageId}>`] : []),
      `Date: Tue, 25 Nov 2025 10:${String(index).padStart(2, '0')}:00 +0000`,
      'Content-Type: text/plain; charset=us-ascii',
      '',
      text,
      '',
    ].join('\r\n');
    return { index, messageId, core };
  });
}

/** Trace fields a server adds on delivery, in some order and number. */
function traceFields(random: Random, user: string): string {
  const fields = [
    () => `Received: from mx${random.int(1, 9)}.ext.test (mx.ext.test [192.0.2.${random.int(1, 254)}])\r\n\tby imap.example.test with LMTP id ${crypto.randomBytes(4).toString('hex')}; Wed, 26 Nov 2025 09:${String(random.int(10, 59))}:00 +0000`,
    () => `Delivered-To: ${user}`,
    () => `Return-Path: <bounce-${random.int(1, 99)}@ext.test>`,
    () => `X-Original-To: ${user}`,
    () => `Authentication-Results: mx.example.test; spf=pass smtp.mailfrom=ext.test`,
  ];
  return Array.from({ length: random.int(1, 3) }, () => random.pick(fields)() + '\r\n').join('');
}

let dovecot: Dovecot;
let engine: InboxEngine;
let dataDir: string;
const users = ACTIONS.flatMap((action, a) => Array.from({ length: CASES_PER_ACTION }, (_, c) => ({ action, user: `prop${a * CASES_PER_ACTION + c}@example.test` })));

beforeAll(async () => {
  dovecot = await startDovecot({ users: Object.fromEntries(users.map((u) => [u.user, PASSWORD])), folders: ['Archive'] });
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mailroom-identity-property-'));
  // Small batches and slices, so copies of a message meet across batches and FETCHes as well as within them.
  engine = openInboxEngine({ dataDir, keyProvider: staticKeyProvider(crypto.randomBytes(32)), inbox: { batchMessages: 3, fetchSlice: 5 } });
}, 60_000);

afterAll(async () => {
  await engine?.close();
  await dovecot?.stop();
  if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
});

async function connect(user: string): Promise<ImapFlow> {
  const client = new ImapFlow({ host: '127.0.0.1', port: dovecot.port, secure: false, doSTARTTLS: false, auth: { user, pass: PASSWORD }, logger: false });
  await client.connect();
  return client;
}

/** A folder's messages on the server: UID, whether seen, exact bytes. */
async function folderContents(client: ImapFlow, folder: string): Promise<{ uid: number; seen: boolean; bytes: string }[]> {
  const lock = await client.getMailboxLock(folder);
  try {
    if (!client.mailbox || client.mailbox.exists === 0) return [];
    // (A FETCH response without the body is an unsolicited flag update of another connection's change.)
    return (await client.fetchAll('1:*', { uid: true, flags: true, source: true })).filter((m) => m.source).map((m) => ({
      uid: m.uid,
      seen: m.flags?.has('\\Seen') ?? false,
      bytes: m.source!.toString('latin1'),
    }));
  } finally {
    lock.release();
  }
}

describe(`import property (seed ${SEED})`, () => {
  it('stores every message\'s own bytes, dedupes exactly the same-message cases, and acts on the server only on stored messages', async () => {
    const random = generator(SEED);
    let checkedMessages = 0;
    const kinds = new Map<Delivery['kind'], number>();
    for (const [caseIndex, { action, user }] of users.entries()) {
      const where = `seed ${SEED}, case ${caseIndex} (${action}, ${user})`;
      const mailbox = engine.mailboxes.create({
        name: `Case ${caseIndex}`,
        address: user,
        preset: 'generic',
        imap: { host: '127.0.0.1', port: dovecot.port, security: 'none', afterImport: action },
        smtp: { host: '127.0.0.1', security: 'none' },
        password: PASSWORD,
      });
      const templates = makeTemplates(random, caseIndex, user);
      const deliveries: Delivery[] = [];
      const client = await connect(user);
      try {
        for (let phase = 0; phase < PHASES; phase++) {
          // Put a few messages on the server: new ones, and copies of ones already delivered.
          const count = random.int(2, 5);
          for (let n = 0; n < count; n++) {
            const earlier = deliveries.length ? random.pick(deliveries) : undefined;
            const roll = random.next();
            let d: Omit<Delivery, 'uid'>;
            if (!earlier || roll < 0.35) {
              const t = random.pick(templates);
              const first = !deliveries.some((x) => x.contentId === String(t.index));
              const bytes = (random.next() < 0.4 ? traceFields(random, user) : '') + t.core;
              d = { bytes, contentId: String(t.index), messageId: t.messageId, kind: first ? 'first' : 'redelivery' };
            } else if (roll < 0.6) {
              d = { ...earlier, kind: 'resend' };
            } else if (roll < 0.85) {
              const core = earlier.bytes.replace(/^(?:(?:Received|Delivered-To|Return-Path|X-Original-To|Authentication-Results):[^\r]*\r\n(?:[ \t][^\r]*\r\n)*)+/i, '');
              d = { bytes: traceFields(random, user) + core, contentId: earlier.contentId, messageId: earlier.messageId, kind: 'redelivery' };
            } else {
              // A field that is not a trace field on top: a different message, with the same Message-ID.
              const token = crypto.randomBytes(3).toString('hex');
              d = { bytes: `X-Forwarded-By: helpdesk-${token}\r\n${earlier.bytes}`, contentId: `${earlier.contentId}+${token}`, messageId: earlier.messageId, kind: 'altered' };
            }
            const appended = await client.append('INBOX', Buffer.from(d.bytes, 'latin1'));
            if (!appended || !appended.uid) throw new Error(`${where}: APPEND gave no UID`);
            deliveries.push({ ...d, uid: appended.uid });
            kinds.set(d.kind, (kinds.get(d.kind) ?? 0) + 1);
          }

          const poll = await engine.inbox.pollNow(mailbox.id);
          expect(poll, where).toMatchObject({ outcome: 'ok', failed: 0 });

          // The model: in UID order, a copy of content seen before is a duplicate of its first copy.
          const rows = new Map(engine.inbox.list({ mailboxId: mailbox.id, limit: 1000 }).messages.map((r) => [r.uid, r]));
          const firstByContent = new Map<string, number>();
          const firstByMessageId = new Map<string, number>();
          for (const d of [...deliveries].sort((a, b) => a.uid - b.uid)) {
            const row = rows.get(d.uid);
            const at = `${where}, phase ${phase}, UID ${d.uid} (${d.kind})`;
            expect(row, at).toBeDefined();
            // Its own bytes, exactly.
            expect(engine.inbox.rawBytes(row!.id).toString('latin1'), at).toBe(d.bytes);
            const original = firstByContent.get(d.contentId);
            if (original !== undefined) {
              expect(row, at).toMatchObject({ status: 'duplicate', duplicateOf: rows.get(original)!.id, sharesMessageIdWith: null });
            } else {
              const shares = d.messageId !== null ? firstByMessageId.get(d.messageId) : undefined;
              expect(row, at).toMatchObject({ status: 'imported', duplicateOf: null, sharesMessageIdWith: shares !== undefined ? rows.get(shares)!.id : null });
              firstByContent.set(d.contentId, d.uid);
              if (d.messageId !== null && !firstByMessageId.has(d.messageId)) firstByMessageId.set(d.messageId, d.uid);
            }
            expect(row!.actionState, at).toBe('done');
            checkedMessages++;
          }
          expect(rows.size, where).toBe(deliveries.length);

          // The server: only stored messages were touched, and (no faults here) all of them were.
          const inbox = await folderContents(client, 'INBOX');
          const delivered = new Map(deliveries.map((d) => [d.uid, d]));
          const touched =
            action === 'mark-seen' ? inbox.filter((m) => m.seen).map((m) => m.uid) : deliveries.filter((d) => !inbox.some((m) => m.uid === d.uid)).map((d) => d.uid);
          for (const uid of touched) {
            const row = rows.get(uid);
            expect(row && engine.inbox.rawBytes(row.id).toString('latin1'), `${where}: UID ${uid} was acted on`).toBe(delivered.get(uid)!.bytes);
          }
          expect(touched.length, where).toBe(deliveries.length);
          if (action === 'move:Archive') {
            const archive = (await folderContents(client, 'Archive')).map((m) => m.bytes).sort();
            expect(archive, where).toEqual(deliveries.map((d) => d.bytes).sort());
          }
        }
      } finally {
        await client.logout().catch(() => client.close());
      }
    }
    // The generator made every kind of case (else the seed proves little).
    for (const kind of ['first', 'resend', 'redelivery', 'altered'] as const) expect(kinds.get(kind) ?? 0, `${kind} copies with seed ${SEED}`).toBeGreaterThan(0);
    expect(checkedMessages).toBeGreaterThan(50);
  }, 120_000);
});
