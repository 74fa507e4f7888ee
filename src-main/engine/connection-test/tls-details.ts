/**
 * What a TLS handshake showed: version, cipher, the server's certificate and
 * whether it verified. Also the one-line form shown as the step detail.
 */
import type tls from 'node:tls';
import type { StepTls, TlsDetails } from '../../shared/diagnosis.js';
import { isRetiredTlsVersion, MINIMUM_TLS_VERSION, tlsVersionLabel } from '../tls-policy.js';

function distinguishedName(name: tls.Certificate | undefined): string | null {
  if (!name || typeof name !== 'object') return null;
  const parts = Object.entries(name as unknown as Record<string, string | string[]>).map(([key, value]) => `${key}=${Array.isArray(value) ? value.join('+') : value}`);
  return parts.length ? parts.join(', ') : null;
}

function isoDate(text: string | undefined): string | null {
  if (!text) return null;
  const date = new Date(text);
  return Number.isNaN(date.getTime()) ? text : date.toISOString();
}

/** Reads the session and certificate of a connected TLS socket. */
export function readTlsDetails(socket: tls.TLSSocket): TlsDetails {
  const cert = socket.getPeerCertificate(false) as Partial<tls.PeerCertificate> | null;
  const hasCert = cert && Object.keys(cert).length > 0;
  const verificationError = socket.authorized ? null : String(socket.authorizationError ?? 'UNKNOWN_VERIFICATION_ERROR');
  return {
    protocol: socket.getProtocol() ?? null,
    cipher: socket.getCipher()?.standardName ?? socket.getCipher()?.name ?? null,
    subject: hasCert ? distinguishedName(cert.subject) : null,
    subjectAltNames: hasCert && cert.subjectaltname ? cert.subjectaltname.split(/,\s*/).filter(Boolean) : [],
    issuer: hasCert ? distinguishedName(cert.issuer) : null,
    validFrom: hasCert ? isoDate(cert.valid_from) : null,
    validTo: hasCert ? isoDate(cert.valid_to) : null,
    fingerprint256: hasCert ? (cert.fingerprint256 ?? null) : null,
    trusted: socket.authorized,
    verificationError,
  };
}

/** The names a certificate is valid for, for a hint ("it is for mail.example.com"). */
export function certificateNames(details: TlsDetails): string[] {
  const names = details.subjectAltNames.map((n) => n.replace(/^(DNS|IP Address):/, ''));
  if (!names.length && details.subject) {
    const cn = /CN=([^,]+)/.exec(details.subject)?.[1];
    if (cn) names.push(cn);
  }
  return names;
}

/** One line for the step detail. */
export function describeTls(details: TlsDetails): string {
  const parts = [
    [details.protocol, details.cipher].filter(Boolean).join(' '),
    details.subject ? `certificate ${details.subject}` : 'no certificate',
    details.subjectAltNames.length ? `names ${details.subjectAltNames.join(', ')}` : '',
    details.issuer ? `issued by ${details.issuer}` : '',
    details.validFrom && details.validTo ? `valid ${details.validFrom.slice(0, 10)} to ${details.validTo.slice(0, 10)}` : '',
    details.trusted ? 'trusted' : `NOT trusted (${details.verificationError})`,
  ];
  return parts.filter(Boolean).join('; ');
}

/** The version and cipher of a completed handshake, as a step carries them. */
export function stepTlsOf(details: TlsDetails): StepTls {
  return { version: details.protocol, cipher: details.cipher, supported: !isRetiredTlsVersion(details.protocol) };
}

/** The step detail of a handshake refused because the server speaks only an old TLS version. */
export function describeRefusedVersion(offer: { version: string; cipher: string | null } | undefined): string {
  const minimum = tlsVersionLabel(MINIMUM_TLS_VERSION);
  if (!offer) return `TLS handshake refused: the server offers no TLS version Mailroom accepts (${minimum} or later), and did not say which one it speaks`;
  return `TLS handshake refused: the server speaks only ${tlsVersionLabel(offer.version)} (${offer.version}${offer.cipher ? `, cipher ${offer.cipher}` : ''}); Mailroom requires ${minimum} or later`;
}
