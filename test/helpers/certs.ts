/**
 * Test certificates made with openssl at test time, in a temporary folder:
 * a test CA, a leaf for 127.0.0.1/localhost signed by it, a self-signed one,
 * one signed by the CA for another host name, and an expired one (signed by
 * the CA for the right names, valid only in January 2020). EC P-256 keys
 * keep it fast (about 100 ms for the set).
 *
 * Trust the CA in a child process with NODE_EXTRA_CA_CERTS=<ca.certPath>,
 * or in-process with a `ca` option.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** A certificate and its key, as files and PEM text. */
export interface CertPair {
  certPath: string;
  keyPath: string;
  cert: string;
  key: string;
}

export interface TestCerts {
  dir: string;
  /** The test CA. */
  ca: CertPair;
  /** CN=localhost, SAN DNS:localhost, DNS:*.example.test, IP:127.0.0.1, IP:::1; signed by the CA. */
  leaf: CertPair;
  /** CN=localhost with the same names, self-signed. */
  selfSigned: CertPair;
  /** CN=wrong.example.test, SAN DNS:wrong.example.test only; signed by the CA. */
  wrongHost: CertPair;
  /** The leaf's names, signed by the CA, valid 2020-01-01 to 2020-02-01. */
  expired: CertPair;
  /** Removes the folder. */
  remove(): void;
}

const LOCAL_SAN = 'subjectAltName=DNS:localhost,DNS:*.example.test,IP:127.0.0.1,IP:::1';

function openssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
}

function pair(dir: string, name: string): CertPair {
  const certPath = path.join(dir, `${name}.crt`);
  const keyPath = path.join(dir, `${name}.key`);
  return { certPath, keyPath, cert: fs.readFileSync(certPath, 'utf8'), key: fs.readFileSync(keyPath, 'utf8') };
}

function newKey(dir: string, name: string): void {
  openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', `${name}.key`], dir);
}

function signedByCa(dir: string, name: string, subject: string, san: string): void {
  newKey(dir, name);
  openssl(['req', '-new', '-key', `${name}.key`, '-subj', subject, '-out', `${name}.csr`], dir);
  fs.writeFileSync(path.join(dir, `${name}.ext`), `${san}\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n`);
  openssl(['x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '30', '-sha256', '-extfile', `${name}.ext`, '-out', `${name}.crt`], dir);
}

/** Makes the set of test certificates in a new temporary folder. */
export function makeTestCerts(): TestCerts {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mailroom-certs-'));
  // Dovecot reads the files as its own user: the folder must be traversable.
  fs.chmodSync(dir, 0o755);

  newKey(dir, 'ca');
  openssl(['req', '-x509', '-new', '-key', 'ca.key', '-subj', '/CN=Mailroom Test CA', '-days', '30', '-sha256', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign', '-out', 'ca.crt'], dir);

  signedByCa(dir, 'leaf', '/CN=localhost', LOCAL_SAN);
  signedByCa(dir, 'wrong-host', '/CN=wrong.example.test', 'subjectAltName=DNS:wrong.example.test');

  newKey(dir, 'self-signed');
  openssl(['req', '-x509', '-new', '-key', 'self-signed.key', '-subj', '/CN=localhost', '-days', '30', '-addext', LOCAL_SAN, '-out', 'self-signed.crt'], dir);

  // `openssl x509 -req` cannot date a certificate in the past; `openssl ca` can.
  newKey(dir, 'expired');
  openssl(['req', '-new', '-key', 'expired.key', '-subj', '/CN=localhost', '-out', 'expired.csr'], dir);
  fs.mkdirSync(path.join(dir, 'ca-db'));
  fs.writeFileSync(path.join(dir, 'ca-db', 'index.txt'), '');
  fs.writeFileSync(path.join(dir, 'ca-db', 'serial'), '1000\n');
  fs.writeFileSync(
    path.join(dir, 'ca.cnf'),
    [
      '[ca]',
      'default_ca = test_ca',
      '[test_ca]',
      `dir = ${dir}`,
      'database = $dir/ca-db/index.txt',
      'serial = $dir/ca-db/serial',
      'new_certs_dir = $dir/ca-db',
      'certificate = $dir/ca.crt',
      'private_key = $dir/ca.key',
      'default_md = sha256',
      'policy = any_policy',
      'copy_extensions = none',
      'unique_subject = no',
      'x509_extensions = leaf_ext',
      '[any_policy]',
      'commonName = supplied',
      '[leaf_ext]',
      LOCAL_SAN,
      'basicConstraints = CA:FALSE',
      'extendedKeyUsage = serverAuth',
      '',
    ].join('\n'),
  );
  openssl(['ca', '-batch', '-config', 'ca.cnf', '-in', 'expired.csr', '-startdate', '20200101000000Z', '-enddate', '20200201000000Z', '-out', 'expired.crt', '-notext'], dir);

  for (const file of fs.readdirSync(dir)) if (/\.(crt|key)$/.test(file)) fs.chmodSync(path.join(dir, file), 0o644);

  return {
    dir,
    ca: pair(dir, 'ca'),
    leaf: pair(dir, 'leaf'),
    selfSigned: pair(dir, 'self-signed'),
    wrongHost: pair(dir, 'wrong-host'),
    expired: pair(dir, 'expired'),
    remove: () => fs.rmSync(dir, { recursive: true, force: true }),
  };
}
