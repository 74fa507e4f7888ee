/**
 * The raw message handed straight to nodemailer's pool: its envelope is what
 * nodemailer's own normalisation gives (taken as is only for plain
 * addresses), and its stream is the queued bytes, with a line ending added
 * only where nodemailer's LastNewline would add one.
 */
import MimeNode from 'nodemailer/lib/mime-node';
import { describe, expect, it } from 'vitest';
import { RawMessage, smtpEnvelope } from '../../src-main/engine/outbox/raw-message';

function nodemailerEnvelope(from: string, to: string[]) {
  const node = new MimeNode();
  node.setEnvelope({ from, to });
  const e = node.getEnvelope();
  return { from: e.from, to: e.to };
}

async function read(message: RawMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of message.createReadStream()) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('latin1');
}

describe('raw message', () => {
  it('gives the envelope nodemailer would send', () => {
    const cases: [string, string[]][] = [
      ['support@example.test', ['customer1@example.net', 'a.b+tag@sub.example.org']],
      ['Support@Example.TEST', ['Customer@EXAMPLE.net']],
      ['support@example.test', ['jürgen@bücher.example', 'user@bücher.example']],
      ['support@example.test', ['dup@example.net', 'DUP@example.net', 'dup@example.net']],
      ['support@example.test', ['"odd local"@example.net', 'x@[192.0.2.1]']],
      ['support@xn--bcher-kva.example', ['user@xn--bcher-kva.example']],
    ];
    for (const [from, to] of cases) expect(smtpEnvelope(from, to), `${from} -> ${to.join(', ')}`).toEqual(nodemailerEnvelope(from, to));
  });

  it('streams the queued bytes, ending the last line as nodemailer does', async () => {
    const envelope = { from: 'a@example.test', to: ['b@example.test'] };
    expect(await read(new RawMessage(envelope, Buffer.from('Subject: x\r\n\r\nbody\r\n'), '<m@x>'))).toBe('Subject: x\r\n\r\nbody\r\n');
    expect(await read(new RawMessage(envelope, Buffer.from('Subject: x\r\n\r\nbody'), '<m@x>'))).toBe('Subject: x\r\n\r\nbody\r\n');
    expect(await read(new RawMessage(envelope, Buffer.from('Subject: x\r\n\r\nbody\r'), '<m@x>'))).toBe('Subject: x\r\n\r\nbody\r\n');
    const m = new RawMessage(envelope, Buffer.from('x'), '<m@x>');
    expect(m.messageId()).toBe('<m@x>');
    expect(m.getHeader('Message-ID')).toBe('<m@x>');
    const copy = m.getEnvelope();
    copy.to.push('c@example.test');
    expect(m.getEnvelope().to).toEqual(['b@example.test']);
  });

  it('asks for BODY=8BITMIME for a message with 8-bit bytes, and only then', () => {
    const envelope = { from: 'a@example.test', to: ['b@example.test'] };
    expect(new RawMessage(envelope, Buffer.from('Subject: x\r\n\r\nplain\r\n'), '<m@x>').getEnvelope().use8BitMime).toBeUndefined();
    expect(new RawMessage(envelope, Buffer.from('Subject: x\r\n\r\nGr\u00fc\u00dfe\r\n', 'utf8'), '<m@x>').getEnvelope().use8BitMime).toBe(true);
    expect(new RawMessage(envelope, Buffer.from('X-Gr\xfc: x\r\n\r\n\r\n', 'latin1'), '<m@x>').getEnvelope().use8BitMime).toBe(true);
  });
});
