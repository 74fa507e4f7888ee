/**
 * The import's fast parse (a quick split by delimiter search, or mailsplit
 * driven directly, then mailparser's own decoders) against mailparser's full
 * parse: message by message they must give the same result, over a range of
 * well-formed mail (which must take the quick way) and over the corpus of
 * malformed mail (which takes whatever way applies, or falls back to the full
 * parse). The in-thread parser (simpleParser) is the reference.
 */
import MailComposer from 'nodemailer/lib/mail-composer';
import { afterAll, describe, expect, it } from 'vitest';
import { InThreadParser, WorkerParser } from '../../src-main/engine/inbox/message-parser';
import type { ParseOutcome } from '../../src-main/engine/inbox/message-summary';
import { generateMalformedCorpus, seededRandom } from '../fixtures/malformed/generate';

type ComposeOptions = ConstructorParameters<typeof MailComposer>[0];
const compose = (options: ComposeOptions) => new MailComposer(options).compile().build();

const pdf = Buffer.from('%PDF-1.4\n' + 'binary-ish \u00ff\u0001 content '.repeat(80), 'latin1');
const base: ComposeOptions = { from: 'Ann Lee <ann@example.com>', to: 'support@example.com', subject: 'Printer', messageId: '<w@example.com>', date: new Date(Date.UTC(2026, 0, 2, 3, 4, 5)) };

/** Well-formed shapes mail clients and help-desk systems send. */
const shapes: [string, ComposeOptions][] = [
  ['plain text', { ...base, text: 'Hello.\nThe printer is stuck.\n' }],
  ['long QP text with non-ASCII', { ...base, text: 'Grüße aus dem Büro – der Drucker streikt. '.repeat(60) }],
  ['HTML only', { ...base, html: '<p>Hello <b>support</b> &amp; team</p>' }],
  ['alternative', { ...base, text: 'Plain part', html: '<p>HTML part</p>' }],
  ['mixed with attachments', { ...base, text: 'See attached.', attachments: [{ filename: 'report.pdf', content: pdf, contentType: 'application/pdf' }, { filename: 'notes.txt', content: 'some notes\n' }] }],
  ['alternative, related image and attachment', { ...base, text: 'Plain', html: '<p>Logo <img src="cid:logo@x"></p>', attachments: [{ filename: 'logo.png', content: Buffer.alloc(300, 7), contentType: 'image/png', cid: 'logo@x' }, { filename: 'a.bin', content: Buffer.alloc(50, 1) }] }],
  ['non-ASCII names (RFC 2231 and encoded words)', { ...base, from: '"Jürgen Ölmann" <j@example.com>', to: ['Zoë <z@example.com>', '日本 <jp@example.com>'], cc: 'Team: a@example.com, b@example.com;', subject: 'Rückfrage zu Ticket 4711 – 至急', text: 'x', attachments: [{ filename: 'Übersicht März.pdf', content: pdf }] }],
  ['ISO-8859-1 text', { ...base, text: 'Caf\u00e9 cr\u00e8me', textEncoding: 'quoted-printable', headers: {} , encoding: undefined } as ComposeOptions],
  ['base64 text', { ...base, text: 'Base64 body '.repeat(30), textEncoding: 'base64' }],
  ['no Message-ID, no date', { from: 'x@example.com', to: 'y@example.com', subject: 'bare', text: 'b' }],
  ['octet-stream attachment named by extension', { ...base, text: 't', attachments: [{ filename: 'scan.jpg', content: Buffer.alloc(100, 2), contentType: 'application/octet-stream' }] }],
  ['inline text attachment', { ...base, text: 'main', attachments: [{ filename: 'inline.txt', content: 'inline body', contentDisposition: 'inline' }] }],
];

async function wellFormed(): Promise<{ name: string; raw: Buffer }[]> {
  const out: { name: string; raw: Buffer }[] = [];
  for (const [name, options] of shapes) {
    const raw = await compose(options);
    out.push({ name, raw });
    // The same message with bare LF line ends, as some servers store it.
    out.push({ name: `${name} (LF)`, raw: Buffer.from(raw.toString('latin1').replace(/\r\n/g, '\n'), 'latin1') });
  }
  // Hand-written: flowed text in Windows-1252, repeated To headers, a preamble and an epilogue.
  out.push({
    name: 'flowed windows-1252, repeated To, preamble and epilogue',
    raw: Buffer.from(
      [
        'From: a@example.com',
        'To: b@example.com',
        'To: "C, D" <c@example.com>',
        'Subject: =?windows-1252?Q?Caf=E9?=',
        'Message-ID: <flowed@example.com>',
        'MIME-Version: 1.0',
        'Content-Type: multipart/mixed; boundary="outer"',
        '',
        'This is the preamble.',
        '--outer',
        'Content-Type: text/plain; charset=windows-1252; format=flowed; delsp=yes',
        'Content-Transfer-Encoding: 8bit',
        '',
        'A flowed li ',
        'ne with caf\u00e9.',
        '--outer',
        'Content-Type: application/pdf; name="r.pdf"',
        'Content-Transfer-Encoding: base64',
        '',
        pdf.toString('base64').replace(/.{76}/g, '$&\r\n'),
        '--outer--',
        'The epilogue.',
        '',
      ].join('\r\n'),
      'latin1',
    ),
  });
  return out;
}

const reference = new InThreadParser();
const quick = new WorkerParser(30_000, 1, { way: 'quick' });
const split = new WorkerParser(30_000, 1, { way: 'split' });
const auto = new WorkerParser(30_000, 1, { way: 'auto' });
afterAll(() => Promise.all([quick.close(), split.close(), auto.close()]));

const isNotQuick = (o: ParseOutcome) => !o.ok && o.error.includes('NOT_QUICK');

describe('the fast parse gives what mailparser gives', () => {
  it('takes the quick way for well-formed mail, with the same result', async () => {
    for (const { name, raw } of await wellFormed()) {
      const expected = await reference.parse(raw);
      expect(expected.ok, name).toBe(true);
      const q = await quick.parse(raw);
      expect(isNotQuick(q), `${name} should take the quick way`).toBe(false);
      expect(q, name).toEqual(expected);
      expect(await split.parse(raw), name).toEqual(expected);
      expect(await auto.parse(raw), name).toEqual(expected);
    }
  });

  it('gives the same result on the edges of the quick split', async () => {
    const h = (ct: string) => `From: a@example.com\r\nSubject: edge\r\nMIME-Version: 1.0\r\nContent-Type: ${ct}\r\n\r\n`;
    const part = (body: string, ct = 'text/plain') => `Content-Type: ${ct}\r\n\r\n${body}`;
    const edges: [string, string][] = [
      ['delimiter with trailing spaces', `${h('multipart/mixed; boundary=b')}--b  \r\n${part('one')}\r\n--b\t\r\n${part('two')}\r\n--b-- \r\n`],
      ['closing delimiter at the very end, no line end', `${h('multipart/mixed; boundary=b')}--b\r\n${part('one')}\r\n--b--`],
      ['content lines that start like the delimiter', `${h('multipart/mixed; boundary=b')}--b\r\n${part('--bx is not a delimiter\r\n--b- neither\r\n-- b nor this')}\r\n--b--\r\n`],
      ['inner boundary a prefix of the outer', `${h('multipart/mixed; boundary=abc')}--abc\r\nContent-Type: multipart/alternative; boundary=ab\r\n\r\n--ab\r\n${part('x')}\r\n--ab--\r\n--abc--\r\n`],
      ['same boundary nested', `${h('multipart/mixed; boundary=s')}--s\r\nContent-Type: multipart/alternative; boundary=s\r\n\r\n--s\r\n${part('x')}\r\n--s--\r\n--s--\r\n`],
      ['inner multipart never closed', `${h('multipart/mixed; boundary=o')}--o\r\nContent-Type: multipart/alternative; boundary=i\r\n\r\n--i\r\n${part('x')}\r\n--o\r\n${part('after')}\r\n--o--\r\n`],
      ['delimiter lines in the epilogue', `${h('multipart/mixed; boundary=e')}--e\r\n${part('x')}\r\n--e--\r\nepilogue\r\n--e\r\n${part('late')}\r\n`],
      ['a part with no header block', `${h('multipart/mixed; boundary=n')}--n\r\n--n\r\n${part('x')}\r\n--n--\r\n`],
      ['a part with an empty header block', `${h('multipart/mixed; boundary=n')}--n\r\n\r\nno headers here\r\n--n--\r\n`],
      ['runs of carriage returns', `${h('multipart/mixed; boundary=c')}--c\r\r\n${part('x\r\r\n')}\r\n--c--\r\r\n`],
      ['carriage return before a delimiter', `${h('multipart/mixed; boundary=r')}--r\r\n${part('x')}\n\r--r\r\n${part('y')}\r\n--r--\r\n`],
      ['quoted boundary with spaces', `${h('multipart/mixed; boundary="a b  c"')}--a b  c\r\n${part('x')}\r\n--a b  c--\r\n`],
      ['empty bodies and blank lines before delimiters', `${h('multipart/mixed; boundary=z')}--z\r\n${part('')}\r\n--z\r\n${part('\r\n\r\n')}\r\n--z--\r\n`],
      ['HTML next to text in mixed', `${h('multipart/mixed; boundary=m')}--m\r\n${part('text')}\r\n--m\r\n${part('<p>html</p>', 'text/html')}\r\n--m--\r\n`],
      ['delivery status report', `${h('multipart/report; report-type=delivery-status; boundary=d')}--d\r\n${part('failed')}\r\n--d\r\n${part('Status: 5.1.1', 'message/delivery-status')}\r\n--d--\r\n`],
      ['content type without a boundary', `${h('multipart/mixed')}body\r\n`],
    ];
    for (const [name, text] of edges) {
      const raw = Buffer.from(text, 'latin1');
      const expected = await reference.parse(raw);
      const q = await quick.parse(raw);
      if (!isNotQuick(q)) expect(q, name).toEqual(expected);
      expect(await split.parse(raw), name).toEqual(expected);
      expect(await auto.parse(raw), name).toEqual(expected);
    }
  });

  it('gives the same result on 600 mutations of well-formed mail (seeded)', async () => {
    const random = seededRandom(4711);
    const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)]!;
    const sources = (await wellFormed()).map((m) => m.raw.toString('latin1'));
    let quickTaken = 0;
    for (let n = 0; n < 600; n++) {
      const text = pick(sources);
      const boundaries = [...text.matchAll(/boundary="?([^";\r\n]+)"?/g)].map((m) => m[1]!);
      const lines = text.split(/(?<=\n)/);
      for (let k = 1 + Math.floor(random() * 3); k > 0; k--) {
        const at = Math.floor(random() * lines.length);
        const b = boundaries.length ? pick(boundaries) : 'x';
        const insert = pick([`--${b}\r\n`, `--${b}--\r\n`, `--${b} \r\n`, `--${b}-\r\n`, '\r\n', '\n', '\r', ' \r\n', `--${b}\r\r\n`, '\r--' + b + '\r\n', 'Content-Type: text/html\r\n', '--\r\n', '']);
        const op = random();
        if (op < 0.5) lines.splice(at, 0, insert);
        else if (op < 0.75) lines.splice(at, 1);
        else lines.splice(at, 0, lines[at] ?? '');
      }
      const raw = Buffer.from(lines.join(''), 'latin1');
      const expected = await reference.parse(raw);
      const q = await quick.parse(raw);
      if (!isNotQuick(q)) {
        quickTaken++;
        expect(q, `mutation ${n}`).toEqual(expected);
      }
      expect(await auto.parse(raw), `mutation ${n}`).toEqual(expected);
    }
    expect(quickTaken).toBeGreaterThan(200);
  }, 120_000);

  it('gives the same result for every message of the malformed corpus, whichever way it takes', async () => {
    const corpus = generateMalformedCorpus(1200);
    const [expected, quickly, splitly, automatic] = await Promise.all([
      Promise.all(corpus.map((m) => reference.parse(m.raw))),
      Promise.all(corpus.map((m) => quick.parse(m.raw))),
      Promise.all(corpus.map((m) => split.parse(m.raw))),
      Promise.all(corpus.map((m) => auto.parse(m.raw))),
    ]);
    let quickTaken = 0;
    corpus.forEach((m, i) => {
      const what = `#${m.n} ${m.category}: ${m.variant}`;
      if (!isNotQuick(quickly[i]!)) {
        quickTaken++;
        expect(quickly[i], what).toEqual(expected[i]);
      }
      expect(splitly[i], what).toEqual(expected[i]);
      expect(automatic[i], what).toEqual(expected[i]);
    });
    // The quick way is for plain shapes, but plenty of the corpus still has one.
    expect(quickTaken).toBeGreaterThan(100);
  }, 180_000);
});
