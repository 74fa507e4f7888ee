/**
 * Tells what a port speaks from the first bytes it sent, so a wrong port or
 * a wrong security mode is named as such instead of as a timeout or a
 * garbled reply.
 */
import type { DetectedProtocol } from '../diagnose/diagnose.js';

/** The protocol the first bytes from a server belong to. */
export function detectProtocol(bytes: Buffer | string): DetectedProtocol {
  const buffer = typeof bytes === 'string' ? Buffer.from(bytes, 'latin1') : bytes;
  if (buffer.length >= 2 && (buffer[0] === 0x16 || buffer[0] === 0x15) && buffer[1] === 0x03) return 'tls';
  const text = buffer.toString('latin1');
  if (/^HTTP\/\d/.test(text)) return 'http';
  if (/^SSH-\d/.test(text)) return 'ssh';
  if (/^\+OK\b/.test(text)) return 'pop3';
  if (/^\* (OK|PREAUTH|BYE)\b/i.test(text)) return 'imap';
  if (/^220[ -].*\bFTP\b/i.test(text)) return 'ftp';
  if (/^[2-5]\d\d[ -]/.test(text)) return 'smtp';
  return 'unknown';
}
