/**
 * The message parser: the worker (a bundled file, rebuilt from source by the
 * tests' global setup) gives the same result as the in-thread path, and
 * starts from a folder with no node_modules; a malformed corpus never
 * throws; a parse that never ends is cut off as failed while the messages
 * with it are retried alone; when workers cannot start, messages are parsed
 * in-thread and that is said once; closing answers what is still waiting.
 * No test here depends on how fast the machine is: the parse that hangs
 * truly never ends, every watchdog is thousands of times longer than the
 * parses it guards, and the in-thread timeout is tested on an injected clock.
 */
import fs from 'node:fs';
import path from 'node:path';
import MailComposer from 'nodemailer/lib/mail-composer';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { InThreadParser, WorkerParser } from '../../src-main/engine/inbox/message-parser';
import { dateFromHeaderLines } from '../../src-main/engine/inbox/parsed-message';
import { parserWorkerFile } from '../../src-main/engine/inbox/parser-worker-file';
import { summarize } from '../../src-main/engine/inbox/message-summary';
import { generateMalformedCorpus } from '../fixtures/malformed/generate';
import { tempDir } from '../helpers/temp';

async function compose(options: ConstructorParameters<typeof MailComposer>[0]): Promise<Buffer> {
  return new MailComposer(options).compile().build();
}

const samples: Promise<Buffer[]> = (async () => [
  await compose({
    from: 'Ann Lee <ann@example.com>',
    to: 'Support <support@example.com>, bob@example.com',
    cc: 'Team: a@example.com, b@example.com;',
    subject: 'Drucker kaputt – bitte helfen',
    messageId: '<m1@example.com>',
    date: new Date(Date.UTC(2025, 10, 25, 9, 30)),
    text: 'Grüße aus dem Büro.\n'.repeat(50),
    attachments: [
      { filename: 'report.pdf', content: Buffer.from('%PDF-1.4\n' + 'x'.repeat(3000)), contentType: 'application/pdf' },
      { filename: 'logo.png', content: Buffer.alloc(200, 1), contentType: 'image/png', cid: 'logo@x' },
    ],
  }),
  await compose({ from: 'x@example.com', to: 'y@example.com', subject: 'HTML only', html: '<h1>Title</h1><p>Para &amp; more</p>', messageId: '<m2@example.com>' }),
  Buffer.from('Subject: =?utf-8?B?w6nDqMOg?=\r\nDate: not a date\r\n\r\nbody\r\n'),
])();

const worker = new WorkerParser(30_000, 2);
afterAll(() => worker.close());

describe('parser', () => {
  it('gives the same result in the worker and in-thread', async () => {
    const inThread = new InThreadParser();
    for (const raw of await samples) expect(await worker.parse(raw)).toEqual(await inThread.parse(raw));
  });

  it('reads addresses, dates, attachments and encoded words', async () => {
    const [first, second, third] = await samples;
    const a = await worker.parse(first!);
    expect(a.ok).toBe(true);
    if (!a.ok) return;
    expect(a.parsed.subject).toBe('Drucker kaputt – bitte helfen');
    expect(a.parsed.date).toBe(Date.UTC(2025, 10, 25, 9, 30));
    expect(a.parsed.to?.map((x) => x.address)).toEqual(['support@example.com', 'bob@example.com']);
    expect(a.parsed.cc?.[0]).toMatchObject({ name: 'Team', group: [{ address: 'a@example.com' }, { address: 'b@example.com' }] });
    expect(a.parsed.attachments.map((x) => [x.filename, x.contentType, x.size])).toEqual([
      ['report.pdf', 'application/pdf', 3009],
      ['logo.png', 'image/png', 200],
    ]);
    expect(a.parsed.text!.length).toBeLessThanOrEqual(1000);
    const b = await worker.parse(second!);
    expect(b.ok && b.parsed.html).toContain('<h1>Title</h1>');
    expect(b.ok && summarize(second!, b).snippet).toBe('Title Para & more');
    const c = await worker.parse(third!);
    expect(c.ok && c.parsed.subject).toBe('éèà');
    // mailparser puts "now" in place of an unreadable date; the import keeps none.
    expect(c.ok && c.parsed.date).toBeNull();
    expect(c.ok && summarize(third!, c).warnings).toContain('The Date header cannot be read.');
  });

  it('reads the Date header itself', () => {
    expect(dateFromHeaderLines([{ key: 'date', line: 'Date: Tue, 25 Nov 2025 10:00:00 +0100' }])).toBe(Date.UTC(2025, 10, 25, 9, 0, 0));
    expect(dateFromHeaderLines([{ key: 'date', line: 'Date: yesterday-ish' }])).toBeNull();
    expect(dateFromHeaderLines([])).toBeNull();
  });

  it('never throws on 1,200 malformed messages, and every one is summarised', async () => {
    const corpus = generateMalformedCorpus(1200);
    const outcomes = await Promise.all(corpus.map((m) => worker.parse(m.raw)));
    const summaries = corpus.map((m, i) => summarize(m.raw, outcomes[i]!));
    expect(summaries).toHaveLength(1200);
    for (const s of summaries) {
      expect(['imported', 'failed']).toContain(s.status);
      expect(s.contentKey).toMatch(/^[0-9a-f]{64}$/);
      if (s.status === 'failed') expect(s.errorCode).toMatch(/^MESSAGE_/);
    }
    // The corpus has messages mailparser refuses (a header over 1 MB, too many parts) and empty ones.
    const codes = new Set(summaries.map((s) => s.errorCode).filter(Boolean));
    expect(codes).toContain('MESSAGE_PARSE_FAILED');
    expect(codes).toContain('MESSAGE_EMPTY');
    expect(codes).toContain('MESSAGE_NO_HEADERS');
  }, 120_000);

  it('starts its worker from a folder with no node_modules: everything it needs is in its one file', async () => {
    const folder = tempDir();
    const copy = path.join(folder, path.basename(parserWorkerFile()));
    fs.copyFileSync(parserWorkerFile(), copy);
    const alone = new WorkerParser(30_000, 1, { workerFile: copy, way: 'quick' });
    try {
      const inThread = new InThreadParser();
      for (const raw of await samples) expect(await alone.parse(raw)).toEqual(await inThread.parse(raw));
      // Only a worker answers NOT_QUICK (the in-thread path has no quick way): these came from the copy.
      expect(await alone.parse(Buffer.from('Content-Type: multipart/mixed; boundary=x\r\n\r\n--x\r\n'))).toMatchObject({ ok: false, error: expect.stringContaining('NOT_QUICK') });
      expect(alone.unavailableReason).toBeNull();
    } finally {
      await alone.close();
    }
  });

  it('gives up a parse that never ends, and retries its companions alone', async () => {
    // The first message blocks its worker for good (a test-only marker): nothing comes back, the
    // watchdog ends the worker, and the three messages in flight are retried one at a time. The
    // blocking one is given up; the others parse. Each watchdog period is thousands of times what
    // one of these messages takes to parse, and the blocked parse never ends, however fast the machine.
    const marker = 'X-Test-Block-The-Parser: yes';
    const stuck = new WorkerParser(5_000, 1, { blockOn: marker });
    try {
      const [first, second] = await samples;
      const blocking = Buffer.concat([Buffer.from(`${marker}\r\n`), first!]);
      const [blocked, ...companions] = await Promise.all([stuck.parse(blocking), stuck.parse(first!), stuck.parse(second!)]);
      expect(blocked).toMatchObject({ ok: false, code: 'MESSAGE_PARSE_TIMEOUT' });
      const inThread = new InThreadParser();
      expect(companions).toEqual([await inThread.parse(first!), await inThread.parse(second!)]);
    } finally {
      await stuck.close();
    }
  }, 60_000);

  it('times a message in-thread from when its parse starts, not while it waits behind others', async () => {
    // An injected clock: time jumps past the timeout before any parse can finish. Only the parses
    // already running are given up; the 36 waiting behind them start afterwards, on fresh time.
    // (Timed from the call, a slow machine gave up messages that had only waited: the reference
    // parse of inbox-parser-ways.test.ts, 1,200 at once, timed out under load.)
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    try {
      const parser = new InThreadParser(1_000);
      const raw = (await samples)[0]!;
      const pending = Array.from({ length: 40 }, () => parser.parse(raw));
      vi.advanceTimersByTime(1_500);
      const outcomes = await Promise.all(pending);
      expect(outcomes.filter((o) => !o.ok && o.code === 'MESSAGE_PARSE_TIMEOUT')).toHaveLength(4);
      expect(outcomes.filter((o) => o.ok)).toHaveLength(36);
    } finally {
      vi.useRealTimers();
    }
  });

  it('parses in-thread when its worker file is missing, and says so once', async () => {
    const reasons: string[] = [];
    const parser = new WorkerParser(30_000, 2, { workerFile: path.join(tempDir(), 'parser-worker.mjs'), onUnavailable: (reason) => reasons.push(reason) });
    try {
      parser.warm();
      const raws = await samples;
      const outcomes = await Promise.all(Array.from({ length: 20 }, () => raws).flat().map((r) => parser.parse(r)));
      const inThread = new InThreadParser();
      for (const [i, raw] of raws.entries()) expect(outcomes[i]).toEqual(await inThread.parse(raw));
      expect(reasons).toHaveLength(1);
      expect(reasons[0]).toMatch(/parser-worker\.mjs is missing/);
      expect(parser.unavailableReason).toBe(reasons[0]);
    } finally {
      await parser.close();
    }
  });

  it('parses in-thread when its worker dies while loading, and says so once', async () => {
    const broken = path.join(tempDir(), 'parser-worker.cjs');
    fs.writeFileSync(broken, "throw new Error('this build is broken');\n");
    const reasons: string[] = [];
    const parser = new WorkerParser(30_000, 1, { workerFile: broken, onUnavailable: (reason) => reasons.push(reason) });
    try {
      const raws = await samples;
      const outcomes = await Promise.all(Array.from({ length: 20 }, () => raws).flat().map((r) => parser.parse(r)));
      const inThread = new InThreadParser();
      for (const [i, raw] of raws.entries()) expect(outcomes[i]).toEqual(await inThread.parse(raw));
      expect(reasons).toEqual([expect.stringContaining('this build is broken')]);
    } finally {
      await parser.close();
    }
  });

  it('answers waiting jobs when it is closed, and parses in-thread afterwards', async () => {
    const parser = new WorkerParser(30_000, 1);
    const raw = (await samples)[0]!;
    const pending = Array.from({ length: 20 }, () => parser.parse(raw));
    await parser.close();
    const outcomes = await Promise.all(pending);
    for (const o of outcomes) expect(o.ok || o.error).toBeTruthy();
    expect((await parser.parse(raw)).ok).toBe(true);
  });
});
