/**
 * The outbox from the command line, as scripts use it: `mailroom send`,
 * `outbox list|show|retry|cancel|delete`, `engine run --until-idle --json`,
 * against a real smtp-server on loopback. Exit codes: 0 ok, 1 failed, 2 usage.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runCli } from '../helpers/cli';
import { startOutboxSmtp, type OutboxSmtp } from '../helpers/outbox-smtp';
import { openOutboxEnv } from '../helpers/outbox-engine';

const KEY = Buffer.alloc(32, 9).toString('base64');
const env = { MAILROOM_SECRET_KEY: KEY };
let server: OutboxSmtp;
let dir: string;
let dataDir: string;

const cli = (...args: string[]) => runCli([...args, '--data-dir', dataDir], { env, timeoutMs: 60_000 });

beforeAll(async () => {
  server = await startOutboxSmtp({ onRcptTo: (a) => (a.startsWith('nobody@') ? { code: 550, message: '5.1.1 User unknown' } : undefined) });
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mailroom-send-cli-'));
  dataDir = path.join(dir, 'data');
  const add = await cli(
    'mailbox', 'add', '--name', 'Support', '--address', 'support@example.test', '--preset', 'generic',
    '--imap-host', '127.0.0.1', '--smtp-host', '127.0.0.1', '--smtp-port', String(server.port), '--smtp-security', 'none', '--smtp-auth', 'none', '--json',
  );
  expect(add.code, add.stderr).toBe(0);
});

afterAll(async () => {
  await server?.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('mailroom send / outbox / engine run', () => {
  it('queues a composed message and prints it as JSON', async () => {
    const r = await cli('send', '--mailbox', 'Support', '--to', 'alice@example.net', 'bob@example.net', '--subject', 'Printer on floor 3', '--text', 'It works again.', '--json');
    expect(r.code, r.stderr).toBe(0);
    expect(r.json.queued).toBe(1);
    expect(r.json.messages[0]).toMatchObject({ status: 'queued', mailboxName: 'Support', subject: 'Printer on floor 3', recipientCount: 2, attempts: 0, source: 'cli' });
    expect(r.json.messages[0].messageId).toMatch(/@example\.test$/);
  });

  it('refuses an invalid address, naming the flag, and queues nothing', async () => {
    const before = (await cli('outbox', 'list', '--json')).json.length;
    const r = await cli('send', '--mailbox', 'Support', '--to', 'not-an-address', '--subject', 'x', '--text', 'y', '--json');
    expect(r.code).toBe(2);
    expect(r.json.error.code).toBe('VALIDATION_FAILED');
    expect(r.json.error.message).toContain('--to');
    expect((await cli('outbox', 'list', '--json')).json.length).toBe(before);
  });

  it('refuses mixing --to with --eml, and --to without --subject', async () => {
    const eml = path.join(dir, 'mixed.eml');
    fs.writeFileSync(eml, 'To: a@example.net\r\nSubject: s\r\n\r\nbody\r\n');
    const both = await cli('send', '--mailbox', 'Support', '--to', 'a@example.net', '--eml', eml, '--json');
    expect(both.code).toBe(2);
    expect(both.json.error.code).toBe('USAGE');
    const noSubject = await cli('send', '--mailbox', 'Support', '--to', 'a@example.net', '--text', 'x');
    expect(noSubject.code).toBe(2);
    expect(noSubject.stderr).toContain('--subject');
  });

  it('queues .eml files as they are: Message-ID kept, Bcc recipients kept in the envelope but not in the headers', async () => {
    const eml = path.join(dir, 'one.eml');
    fs.writeFileSync(eml, 'From: Support <support@example.test>\r\nTo: carol@example.net\r\nBcc: dave@example.net\r\nSubject: =?utf-8?B?w5xiZXJzaWNodA==?=\r\nMessage-ID: <kept-1@example.test>\r\n\r\nHello\r\n');
    const r = await cli('send', '--mailbox', 'Support', '--eml', eml, '--json');
    expect(r.code, r.stderr).toBe(0);
    const m = r.json.messages[0];
    expect(m).toMatchObject({ messageId: 'kept-1@example.test', subject: 'Übersicht', to: 'carol@example.net, dave@example.net', source: 'eml' });
    const show = await cli('outbox', 'show', String(m.id), '--json');
    expect(show.json.headers).not.toMatch(/^Bcc:/im);
    expect(show.json.headers).toContain('Message-ID: <kept-1@example.test>');
  });

  it('--eml-dir is all or nothing: one broken file queues none and is named', async () => {
    const folder = path.join(dir, 'batch');
    fs.mkdirSync(folder);
    for (let i = 0; i < 3; i++) fs.writeFileSync(path.join(folder, `m${i}.eml`), `To: r${i}@example.net\r\nSubject: batch ${i}\r\n\r\nbody ${i}\r\n`);
    fs.writeFileSync(path.join(folder, 'zz-broken.eml'), 'this is not a message');
    const before = (await cli('outbox', 'list', '--json')).json.length;
    const r = await cli('send', '--mailbox', 'Support', '--eml-dir', folder, '--json');
    expect(r.code).toBe(1);
    expect(r.json.error.code).toBe('MESSAGE_INVALID');
    expect(r.json.error.message).toContain('zz-broken.eml');
    expect((await cli('outbox', 'list', '--json')).json.length).toBe(before);
    fs.rmSync(path.join(folder, 'zz-broken.eml'));
    const ok = await cli('send', '--mailbox', 'Support', '--eml-dir', folder, '--json');
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.json.queued).toBe(3);
  });

  it('engine run --until-idle sends everything and ends with exactly { sent, deferred, failed, waitingForSignIn, ms }', async () => {
    await cli('send', '--mailbox', 'Support', '--to', 'nobody@example.net', '--subject', 'Refused', '--text', 'x');
    const r = await cli('engine', 'run', '--until-idle', '--json');
    expect(r.code, r.stderr).toBe(0);
    expect(Object.keys(r.json).sort()).toEqual(['deferred', 'failed', 'ms', 'sent', 'waitingForSignIn']);
    expect(r.json).toMatchObject({ sent: 5, deferred: 0, failed: 1 });
    expect(r.json.ms).toBeGreaterThanOrEqual(0);
    expect(server.messages).toHaveLength(5);
    expect(server.messages.map((m) => m.to).flat()).toContain('dave@example.net');
    expect(server.messages.find((m) => m.to.includes('dave@example.net'))!.raw).not.toMatch(/^Bcc:/im);
    const again = await cli('engine', 'run', '--until-idle', '--json');
    expect(again.json).toMatchObject({ sent: 0, deferred: 0, failed: 0 });
  });

  it('outbox list filters by status and shows the diagnosis of a failed message', async () => {
    const failed = await cli('outbox', 'list', '--status', 'failed', '--json');
    expect(failed.code).toBe(0);
    expect(failed.json).toHaveLength(1);
    expect(failed.json[0].lastError).toMatchObject({ code: 'RECIPIENT_REJECTED', stage: 'RCPT TO' });
    expect(failed.json[0].lastError.hint).toBeTruthy();
    const sent = await cli('outbox', 'list', '--status', 'sent', '--limit', '2', '--json');
    expect(sent.json).toHaveLength(2);
    expect(sent.json[0].id).toBeGreaterThan(sent.json[1].id);
    const bad = await cli('outbox', 'list', '--status', 'lost', '--json');
    expect(bad.code).toBe(2);
    expect(bad.json.error.message).toContain('--status');
    const text = await cli('outbox', 'list');
    expect(text.stdout).toMatch(/ID\s+STATUS\s+MAILBOX/);
    expect(text.stdout).toContain('RECIPIENT_REJECTED');
  });

  it('retry, cancel and delete change a message; a wrong id is NOT_FOUND with exit 1', async () => {
    const [failed] = (await cli('outbox', 'list', '--status', 'failed', '--json')).json;
    const retried = await cli('outbox', 'retry', String(failed.id), '--json');
    expect(retried.code, retried.stderr).toBe(0);
    // A fresh set of tries on top of the one already made.
    expect(retried.json).toMatchObject({ id: failed.id, status: 'queued', attempts: 1, maxAttempts: 1 + 8 });
    const cancelled = await cli('outbox', 'cancel', String(failed.id), '--json');
    expect(cancelled.json.status).toBe('cancelled');
    const cancelTwice = await cli('outbox', 'cancel', String(failed.id), '--json');
    expect(cancelTwice.code).toBe(1);
    expect(cancelTwice.json.error.code).toBe('CONFLICT');
    const detail = await cli('outbox', 'show', String(failed.id), '--json');
    expect(detail.json.history.map((h: { status: string }) => h.status)).toEqual(['queued', 'sending', 'failed', 'queued', 'cancelled']);
    const deleted = await cli('outbox', 'delete', String(failed.id), '--json');
    expect(deleted.json).toEqual({ deleted: true, id: failed.id });
    const gone = await cli('outbox', 'show', String(failed.id), '--json');
    expect(gone.code).toBe(1);
    expect(gone.json.error.code).toBe('NOT_FOUND');
    const badId = await cli('outbox', 'show', 'abc', '--json');
    expect(badId.code).toBe(2);
  });

  it('a second sender on the same data folder is refused with ENGINE_BUSY', async () => {
    // This test process takes the lease, as a running desktop app would.
    const holder = openOutboxEnv(path.join(dir, 'busy'), { port: server.port });
    try {
      expect(holder.outbox.startSending('desktop')).toBeNull();
      const r = await runCli(['engine', 'run', '--until-idle', '--json', '--data-dir', path.join(dir, 'busy')], { env, timeoutMs: 60_000 });
      expect(r.code).toBe(1);
      expect(r.json.error.code).toBe('ENGINE_BUSY');
      expect(r.json.error.message).toContain(`process ${process.pid}`);
      const queued = await runCli(['send', '--mailbox', 'Support', '--to', 'erin@example.net', '--subject', 's', '--text', 't', '--data-dir', path.join(dir, 'busy')], { env });
      expect(queued.code).toBe(0);
      expect(queued.stdout).toContain(`process ${process.pid}`);
    } finally {
      await holder.close();
    }
  });

  it('outbox settings change the retry policy and name a bad value', async () => {
    const r = await cli('outbox', 'settings', 'Support', '--max-attempts', '5', '--debug', 'on', '--json');
    expect(r.code, r.stderr).toBe(0);
    expect(r.json).toMatchObject({ maxAttempts: 5, debug: true, connections: 3 });
    const bad = await cli('outbox', 'settings', 'Support', '--connections', '99', '--json');
    expect(bad.code).toBe(2);
    expect(bad.json.error.message).toMatch(/connections/);
  });
});

/**
 * Every way bytes enter the outbox keeps them (issue 12 item 2): an .eml
 * file goes out as the file has it, with only the fields it lacked on top
 * and its Bcc fields removed (SMTP puts each line end on the wire as CR LF);
 * a composed message's subject and text come out of the MIME exactly as typed.
 */
describe('what goes out is what was handed over', () => {
  const tagged = (tag: string) => server.messages.filter((m) => m.bytes.includes(Buffer.from(tag)));

  it('sends .eml files (CR LF and LF, --eml and --eml-dir) byte for byte, odd header lines included', async () => {
    const folder = path.join(dir, 'exact');
    fs.mkdirSync(folder);
    const crlf = Buffer.concat([
      Buffer.from('Subject : spaced colon\r\nX-Obs : kept\r\nX-Gr'),
      Buffer.from([0xfc, 0xdf]),
      Buffer.from('e: v\r\n\tcontinued\r\nnot a header line\r\nTo: exact@example.net\r\nBcc: blind@example.net\r\nX-Tag: eml-crlf\r\nMessage-ID: <eml-crlf@example.test>\r\nDate: Wed, 25 Nov 2026 10:00:00 +0000\r\nFrom: a@example.test\r\n\r\n.dot\r\nFrom the start\r\n'),
      Buffer.from(`${'L'.repeat(1500)}\r\n`),
    ]);
    const lf = Buffer.from('To: exact@example.net\nSubject: lf file\nX-Tag: eml-lf\nFrom: a@example.test\n\nline one\nline two\n');
    fs.writeFileSync(path.join(folder, 'crlf.eml'), crlf);
    fs.writeFileSync(path.join(folder, 'lf.eml'), lf);
    const single = path.join(dir, 'single.eml');
    const one = Buffer.from('To: exact@example.net\r\nX-Tag: eml-single\r\nMessage-ID: <eml-single@example.test>\r\nDate: Wed, 25 Nov 2026 10:00:00 +0000\r\nFrom: a@example.test\r\nSubject: Gr\xfc\xdfe\r\n\r\n8-bit \xe9\r\n', 'latin1');
    fs.writeFileSync(single, one);
    expect((await cli('send', '--mailbox', 'Support', '--eml-dir', folder, '--json')).code).toBe(0);
    expect((await cli('send', '--mailbox', 'Support', '--eml', single, '--json')).code).toBe(0);
    const run = await cli('engine', 'run', '--until-idle', '--json');
    expect(run.code, run.stderr).toBe(0);

    const [sentCrlf] = tagged('X-Tag: eml-crlf');
    const withoutBcc = Buffer.from(crlf.toString('latin1').replace('Bcc: blind@example.net\r\n', ''), 'latin1');
    expect(sentCrlf!.bytes.equals(withoutBcc)).toBe(true);
    expect(sentCrlf!.to).toEqual(['exact@example.net', 'blind@example.net']);
    expect(sentCrlf!.mailFromArgs).toEqual({ BODY: '8BITMIME' });
    const [sentLf] = tagged('X-Tag: eml-lf');
    const text = sentLf!.bytes.toString('latin1');
    expect(text).toMatch(/^Message-ID: <[^>]+>\r\nDate: [^\r\n]+\r\n/);
    expect(text.slice(text.indexOf('To: exact'))).toBe(lf.toString('latin1').replace(/\n/g, '\r\n'));
    expect(sentLf!.mailFromArgs).toEqual({});
    const [sentOne] = tagged('X-Tag: eml-single');
    expect(sentOne!.bytes.equals(one)).toBe(true);
  });

  it('sends a composed subject and text exactly as typed', async () => {
    const { simpleParser } = await import('mailparser');
    const subject = `  Grüße: "quoted" =?x?= ${'long '.repeat(40)}✓`;
    const textBody = `From the start of a line\n.\n..two dots\nGrüße aus Köln\n${'x'.repeat(2000)}\n\ttab\nX-Tag: compose-exact\nend`;
    const r = await cli('send', '--mailbox', 'Support', '--to', 'exact@example.net', '--subject', subject, '--text', textBody, '--json');
    expect(r.code, r.stderr).toBe(0);
    expect((await cli('engine', 'run', '--until-idle', '--json')).code).toBe(0);
    const sent = server.messages.find((m) => m.raw.includes(r.json.messages[0].messageId))!;
    const parsed = await simpleParser(sent.bytes);
    expect(parsed.subject).toBe(subject);
    expect(parsed.text?.replace(/\r\n/g, '\n').replace(/\n$/, '')).toBe(textBody);
  });
});
