/**
 * The certificate of app-only access, read from what admins have at hand:
 * a PEM file (certificate and private key, in either order, the key
 * unencrypted or encrypted PKCS#8) or a PFX/.p12 file with its password (what
 * Windows' certificate export and Export-PfxCertificate write).
 *
 * A PFX is converted to PEM here with node:crypto alone, so that no openssl
 * binary is needed on the admin's PC and no package beyond Node: a minimal
 * DER reader for PKCS#12 (RFC 7292) that checks the file's MAC (a wrong
 * password is said as such), opens the encrypted certificate bags (PBES2
 * with PBKDF2 and AES or 3DES, as OpenSSL 3 and Windows' AES256_SHA256
 * option write; and the PKCS#12 PBE with 3DES of older Windows exports)
 * and hands the shrouded key bag to Node's own PKCS#8 decryption. Why by
 * hand: no maintained PKCS#12 reader is a dependency of Mailroom (pkijs is
 * only a build tool's), and this is 200 lines of well-specified format.
 *
 * msal-node wants the private key as PEM, the certificate's SHA-256
 * thumbprint, and optionally the chain (x5c); the password is used once and
 * never kept.
 */
import crypto from 'node:crypto';
import { AppError } from '../../shared/errors.js';
import type { AppCertificateInfo } from '../../shared/oauth-app.js';

/** A certificate credential ready for msal-node's `clientCertificate`. */
export interface CertificateCredential {
  /** Unencrypted PKCS#8 PEM: a secret. */
  privateKeyPem: string;
  /** The certificate matching the key first, then the rest of the chain, as PEM. */
  certificatePem: string;
  info: AppCertificateInfo;
}

// ---------------------------------------------------------------------------
// A minimal DER (and BER with definite lengths) reader

interface Node {
  tag: number;
  constructed: boolean;
  /** The content bytes. */
  value: Buffer;
  /** The whole element, tag and length included. */
  raw: Buffer;
}

function bad(what: string): AppError {
  return new AppError('CERTIFICATE_UNREADABLE', `The certificate file is not a PFX (PKCS#12) file Mailroom can read: ${what}.`, {
    hint: 'Export the certificate again with its private key as .pfx (Windows: certlm.msc > the certificate > All Tasks > Export > Yes, export the private key), or give a PEM file holding the certificate and its private key.',
  });
}

function readNode(buf: Buffer, offset: number): Node & { end: number } {
  if (offset + 2 > buf.length) throw bad('it ends early');
  const tag = buf[offset]!;
  let length = buf[offset + 1]!;
  let header = 2;
  if (length & 0x80) {
    const count = length & 0x7f;
    if (count === 0) throw bad('it uses indefinite lengths');
    if (count > 4 || offset + 2 + count > buf.length) throw bad('a length is out of range');
    length = 0;
    for (let i = 0; i < count; i++) length = length * 256 + buf[offset + 2 + i]!;
    header += count;
  }
  const end = offset + header + length;
  if (end > buf.length) throw bad('it ends early');
  return { tag, constructed: (tag & 0x20) !== 0, value: buf.subarray(offset + header, end), raw: buf.subarray(offset, end), end };
}

function children(node: Node): Node[] {
  const out: Node[] = [];
  let offset = 0;
  while (offset < node.value.length) {
    const child = readNode(node.value, offset);
    out.push(child);
    offset = child.end;
  }
  return out;
}

function parse(buf: Buffer): Node {
  const node = readNode(buf, 0);
  return node;
}

function oid(node: Node | undefined): string {
  if (!node || node.tag !== 0x06) throw bad('an object identifier is missing');
  const bytes = node.value;
  const parts: number[] = [Math.floor(bytes[0]! / 40), bytes[0]! % 40];
  let value = 0;
  for (let i = 1; i < bytes.length; i++) {
    value = value * 128 + (bytes[i]! & 0x7f);
    if (!(bytes[i]! & 0x80)) {
      parts.push(value);
      value = 0;
    }
  }
  return parts.join('.');
}

function integer(node: Node | undefined): number {
  if (!node || node.tag !== 0x02) throw bad('a number is missing');
  let value = 0;
  for (const b of node.value) value = value * 256 + b;
  return value;
}

/** An OCTET STRING's bytes; BER's constructed form (older exports) is joined. */
function octets(node: Node | undefined): Buffer {
  if (!node) throw bad('data is missing');
  if (node.constructed) return Buffer.concat(children(node).map((c) => octets(c)));
  return node.value;
}

const OID = {
  data: '1.2.840.113549.1.7.1',
  encryptedData: '1.2.840.113549.1.7.6',
  keyBag: '1.2.840.113549.1.12.10.1.1',
  shroudedKeyBag: '1.2.840.113549.1.12.10.1.2',
  certBag: '1.2.840.113549.1.12.10.1.3',
  x509Certificate: '1.2.840.113549.1.9.22.1',
  pbes2: '1.2.840.113549.1.5.13',
  pbkdf2: '1.2.840.113549.1.5.12',
  pbeSha13Des: '1.2.840.113549.1.12.1.3',
  pbeSha12Des: '1.2.840.113549.1.12.1.4',
  pbeSha1Rc2128: '1.2.840.113549.1.12.1.5',
  pbeSha1Rc240: '1.2.840.113549.1.12.1.6',
} as const;

const HASHES: Record<string, { name: string; size: number; block: number }> = {
  '1.3.14.3.2.26': { name: 'sha1', size: 20, block: 64 },
  '2.16.840.1.101.3.4.2.1': { name: 'sha256', size: 32, block: 64 },
  '2.16.840.1.101.3.4.2.2': { name: 'sha384', size: 48, block: 128 },
  '2.16.840.1.101.3.4.2.3': { name: 'sha512', size: 64, block: 128 },
};
const HMACS: Record<string, string> = {
  '1.2.840.113549.2.7': 'sha1',
  '1.2.840.113549.2.9': 'sha256',
  '1.2.840.113549.2.10': 'sha384',
  '1.2.840.113549.2.11': 'sha512',
};
const CIPHERS: Record<string, { name: string; key: number }> = {
  '2.16.840.1.101.3.4.1.2': { name: 'aes-128-cbc', key: 16 },
  '2.16.840.1.101.3.4.1.22': { name: 'aes-192-cbc', key: 24 },
  '2.16.840.1.101.3.4.1.42': { name: 'aes-256-cbc', key: 32 },
  '1.2.840.113549.3.7': { name: 'des-ede3-cbc', key: 24 },
};

/** The password as PKCS#12's key derivation takes it: UTF-16BE with a terminating NUL. */
function bmpPassword(password: string): Buffer {
  const out = Buffer.alloc((password.length + 1) * 2);
  for (let i = 0; i < password.length; i++) out.writeUInt16BE(password.charCodeAt(i), i * 2);
  return out;
}

/** RFC 7292 appendix B.2: PKCS#12's own key derivation (id 1 key, 2 IV, 3 MAC key). */
export function pkcs12Kdf(password: Buffer, salt: Buffer, id: 1 | 2 | 3, iterations: number, length: number, hash: { name: string; size: number; block: number }): Buffer {
  const v = hash.block;
  const fill = (source: Buffer) => {
    if (!source.length) return Buffer.alloc(0);
    const out = Buffer.alloc(v * Math.ceil(source.length / v));
    for (let i = 0; i < out.length; i++) out[i] = source[i % source.length]!;
    return out;
  };
  const D = Buffer.alloc(v, id);
  const I = Buffer.concat([fill(salt), fill(password)]);
  const blocks: Buffer[] = [];
  let produced = 0;
  while (produced < length) {
    let A = crypto.createHash(hash.name).update(D).update(I).digest();
    for (let r = 1; r < iterations; r++) A = crypto.createHash(hash.name).update(A).digest();
    blocks.push(A);
    produced += A.length;
    const B = fill(A);
    for (let j = 0; j < I.length; j += v) {
      let carry = 1;
      for (let k = v - 1; k >= 0; k--) {
        const sum = I[j + k]! + B[k]! + carry;
        I[j + k] = sum & 0xff;
        carry = sum >> 8;
      }
    }
  }
  return Buffer.concat(blocks).subarray(0, length);
}

function wrongPassword(): AppError {
  return new AppError('CERTIFICATE_PASSWORD_WRONG', 'The PFX file could not be opened with this password.', {
    hint: 'Give the password the file was exported with (--certificate-password-env NAME names the environment variable that holds it; leave it out for a file without a password).',
  });
}

/** Decrypts an EncryptedContentInfo's content with PBES2 or PKCS#12 PBE. */
function decrypt(algorithm: Node, data: Buffer, password: string): Buffer {
  const [algOid, params] = children(algorithm);
  const id = oid(algOid);
  let decipher: crypto.Decipher;
  if (id === OID.pbes2) {
    const [kdf, scheme] = children(params!);
    const [kdfOid, kdfParams] = children(kdf!);
    if (oid(kdfOid) !== OID.pbkdf2) throw bad('its encryption uses a key derivation other than PBKDF2');
    const k = children(kdfParams!);
    const salt = octets(k[0]);
    const iterations = integer(k[1]);
    let prf = 'sha1';
    for (const extra of k.slice(2)) if (extra.tag === 0x30) prf = HMACS[oid(children(extra)[0])] ?? '';
    if (!prf) throw bad('its key derivation uses an unknown hash');
    const [cipherOid, iv] = children(scheme!);
    const cipher = CIPHERS[oid(cipherOid)];
    if (!cipher) throw bad('it is encrypted with a cipher Mailroom does not know');
    const key = crypto.pbkdf2Sync(Buffer.from(password, 'utf8'), salt, iterations, cipher.key, prf);
    decipher = crypto.createDecipheriv(cipher.name, key, octets(iv));
  } else if (id === OID.pbeSha13Des || id === OID.pbeSha12Des) {
    const p = children(params!);
    const salt = octets(p[0]);
    const iterations = integer(p[1]);
    const sha1 = HASHES['1.3.14.3.2.26']!;
    const keyLength = id === OID.pbeSha13Des ? 24 : 16;
    let key = pkcs12Kdf(bmpPassword(password), salt, 1, iterations, keyLength, sha1);
    if (keyLength === 16) key = Buffer.concat([key, key.subarray(0, 8)]);
    const iv = pkcs12Kdf(bmpPassword(password), salt, 2, iterations, 8, sha1);
    decipher = crypto.createDecipheriv('des-ede3-cbc', key, iv);
  } else if (id === OID.pbeSha1Rc240 || id === OID.pbeSha1Rc2128) {
    throw new AppError('CERTIFICATE_UNREADABLE', 'The PFX file is encrypted with RC2, an old cipher that current Windows and Node no longer open.', {
      hint: 'Export it again with AES (PowerShell: Export-PfxCertificate ... -CryptoAlgorithmOption AES256_SHA256), or give a PEM file holding the certificate and its private key.',
    });
  } else {
    throw bad(`it is encrypted with an unknown method (${id})`);
  }
  try {
    return Buffer.concat([decipher.update(data), decipher.final()]);
  } catch {
    throw wrongPassword();
  }
}

function verifyMac(pfx: Node[], authSafeContent: Buffer, password: string): void {
  const macData = pfx[2];
  if (!macData) return; // a PFX without integrity protection: nothing to check against
  const [digestInfo, macSalt, iterationsNode] = children(macData);
  const [algorithm, digest] = children(digestInfo!);
  const hash = HASHES[oid(children(algorithm!)[0])];
  if (!hash) throw bad('its integrity check uses an unknown hash');
  const iterations = iterationsNode ? integer(iterationsNode) : 1;
  const expected = octets(digest);
  const attempt = (pw: Buffer) => crypto.createHmac(hash.name, pkcs12Kdf(pw, octets(macSalt), 3, iterations, hash.size, hash)).update(authSafeContent).digest();
  // An empty password is written either as two NUL bytes or as nothing, depending on the exporter.
  const candidates = password === '' ? [bmpPassword(''), Buffer.alloc(0)] : [bmpPassword(password)];
  if (!candidates.some((pw) => crypto.timingSafeEqual(attempt(pw), expected))) throw wrongPassword();
}

/** Reads a PFX (PKCS#12) file: the private key (PEM) and its certificates (DER). */
export function readPfx(file: Buffer, password: string): { privateKey: crypto.KeyObject; certificates: Buffer[] } {
  let pfx: Node[];
  try {
    pfx = children(parse(file));
  } catch (error) {
    if (error instanceof AppError) throw error;
    throw bad('it is not DER');
  }
  if (pfx.length < 2 || integer(pfx[0]) !== 3) throw bad('it is not a version 3 PFX');
  const [contentType, content] = children(pfx[1]!);
  if (oid(contentType) !== OID.data) throw bad('it is signed with a public key (Mailroom reads password-protected PFX files)');
  const authSafeContent = octets(children(content!)[0]);
  verifyMac(pfx, authSafeContent, password);

  const keys: crypto.KeyObject[] = [];
  const certificates: Buffer[] = [];
  const readBags = (safeContents: Buffer) => {
    for (const bag of children(parse(safeContents))) {
      const [bagId, bagValue] = children(bag);
      const type = oid(bagId);
      const value = children(bagValue!)[0]!;
      if (type === OID.certBag) {
        const [certId, certValue] = children(value);
        if (oid(certId) === OID.x509Certificate) certificates.push(octets(children(certValue!)[0]));
      } else if (type === OID.shroudedKeyBag) {
        try {
          keys.push(crypto.createPrivateKey({ key: value.raw, format: 'der', type: 'pkcs8', passphrase: password }));
        } catch {
          throw wrongPassword();
        }
      } else if (type === OID.keyBag) {
        keys.push(crypto.createPrivateKey({ key: value.raw, format: 'der', type: 'pkcs8' }));
      }
    }
  };
  for (const info of children(parse(authSafeContent))) {
    const [type, explicit] = children(info);
    const kind = oid(type);
    if (kind === OID.data) {
      readBags(octets(children(explicit!)[0]));
    } else if (kind === OID.encryptedData) {
      const encryptedData = children(children(explicit!)[0]!);
      const [, algorithm, encryptedContent] = children(encryptedData[1]!);
      if (!encryptedContent) continue;
      // [0] IMPLICIT OCTET STRING: primitive (0x80) or constructed (0xa0).
      const bytes = encryptedContent.constructed ? Buffer.concat(children(encryptedContent).map((c) => octets(c))) : encryptedContent.value;
      readBags(decrypt(algorithm!, bytes, password));
    }
  }
  if (!keys.length) throw bad('it holds no private key (export it again with "Yes, export the private key")');
  if (!certificates.length) throw bad('it holds no certificate');
  return { privateKey: keys[0]!, certificates };
}

const PEM_BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----[\s\S]+?-----END \1-----/g;

function toPem(der: Buffer): string {
  const body = der.toString('base64').replace(/.{1,64}/g, '$&\n');
  return `-----BEGIN CERTIFICATE-----\n${body}-----END CERTIFICATE-----\n`;
}

/**
 * The credential from a certificate file: a PFX (with `password`, '' when
 * it has none) or PEM text with the certificate and its private key. The
 * certificate whose public key matches the key comes first.
 */
export function readCertificateCredential(input: { pem?: string; pfx?: Buffer; password?: string }): CertificateCredential {
  let privateKey: crypto.KeyObject;
  let certificates: crypto.X509Certificate[];
  if (input.pfx) {
    const read = readPfx(input.pfx, input.password ?? '');
    privateKey = read.privateKey;
    certificates = read.certificates.map((der) => new crypto.X509Certificate(der));
  } else {
    const text = input.pem ?? '';
    const blocks = [...text.matchAll(PEM_BLOCK)].map((m) => ({ label: m[1]!, pem: m[0] }));
    const keyBlock = blocks.find((b) => /PRIVATE KEY$/.test(b.label));
    const certBlocks = blocks.filter((b) => b.label === 'CERTIFICATE');
    if (!keyBlock || !certBlocks.length) {
      throw new AppError('CERTIFICATE_UNREADABLE', `The PEM file holds ${!certBlocks.length ? 'no certificate' : 'no private key'}.`, {
        hint: 'Give one PEM file with both the certificate (-----BEGIN CERTIFICATE-----) and its private key (-----BEGIN PRIVATE KEY-----), or the .pfx file with its password.',
      });
    }
    try {
      privateKey = crypto.createPrivateKey({ key: keyBlock.pem, format: 'pem', ...(input.password ? { passphrase: input.password } : {}) });
    } catch {
      throw keyBlock.label.includes('ENCRYPTED') ? wrongPassword() : new AppError('CERTIFICATE_UNREADABLE', 'The private key in the PEM file cannot be read.', { hint: 'Export the key again as PKCS#8 PEM (-----BEGIN PRIVATE KEY-----), or give the .pfx file with its password.' });
    }
    try {
      certificates = certBlocks.map((b) => new crypto.X509Certificate(b.pem));
    } catch {
      throw new AppError('CERTIFICATE_UNREADABLE', 'A certificate in the PEM file cannot be read.', { hint: 'Export the certificate again (Base-64 encoded X.509).' });
    }
  }
  const publicKey = crypto.createPublicKey(privateKey);
  const ownSpki = publicKey.export({ type: 'spki', format: 'der' });
  const leafIndex = certificates.findIndex((c) => c.publicKey.export({ type: 'spki', format: 'der' }).equals(ownSpki));
  if (leafIndex < 0) {
    throw new AppError('CERTIFICATE_KEY_MISMATCH', 'The private key does not belong to the certificate in the file.', {
      hint: 'Export the certificate together with its own private key (one .pfx, or one PEM file with both).',
    });
  }
  const leaf = certificates[leafIndex]!;
  const ordered = [leaf, ...certificates.filter((_, i) => i !== leafIndex)];
  const type = privateKey.asymmetricKeyType;
  if (type !== 'rsa') {
    throw new AppError('CERTIFICATE_UNREADABLE', `The certificate's key is ${type?.toUpperCase() ?? 'of an unknown type'}; Microsoft Entra signs app-only sign-ins with RSA keys only.`, {
      hint: 'Create an RSA certificate (2048 bits or more), e.g. New-SelfSignedCertificate -KeyAlgorithm RSA -KeyLength 2048 ..., upload its public part to the app registration and give Mailroom the .pfx.',
    });
  }
  const hex = (fingerprint: string) => fingerprint.replace(/:/g, '').toUpperCase();
  return {
    privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    certificatePem: ordered.map((c) => toPem(c.raw)).join(''),
    info: {
      thumbprintSha256: hex(leaf.fingerprint256),
      thumbprintSha1: hex(leaf.fingerprint),
      subject: leaf.subject.replace(/\n/g, ', '),
      notBefore: Date.parse(leaf.validFrom),
      notAfter: Date.parse(leaf.validTo),
    },
  };
}
