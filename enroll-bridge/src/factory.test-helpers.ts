import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { registrationMessage } from './factory-cas.ts';

/** A factory PKI made with openssl, as a manufacturer would: root CA → line CA → device certificates. */
export interface FactoryPki {
  dir: string;
  rootPem: string;
  lineCaPem: string;
  /** Issues a device (bootstrap) certificate; returns its file paths and DER chain (leaf, line CA). */
  device(cn: string, o?: { days?: number; eku?: string; issuer?: 'line' | 'root' }): { cert: string; key: string; chain: Buffer[] };
  /** The registration proof (base64 signature of registrationMessage) made with the root's or line CA's key. */
  prove(tenantId: string, which?: 'root' | 'line'): string;
}

const ssl = (args: string[], cwd: string) => execFileSync('openssl', args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
const der = (pem: string) => Buffer.from(pem.replace(/-----[^-]+-----|\s/g, ''), 'base64');

export function makeFactoryPki(name = 'Factory'): FactoryPki {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cdm-factory-'));
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
  ssl(
    [
      'req',
      '-x509',
      ...ec,
      '-keyout',
      'root.key',
      '-out',
      'root.pem',
      '-days',
      '3650',
      '-subj',
      `/O=ACME Devices/CN=${name} Root CA`,
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
    ],
    dir,
  );
  ssl(['req', ...ec, '-keyout', 'line.key', '-out', 'line.csr', '-subj', `/O=ACME Devices/CN=${name} Line 1 CA`], dir);
  fs.writeFileSync(path.join(dir, 'ca.ext'), 'basicConstraints=critical,CA:TRUE,pathlen:0\nkeyUsage=critical,keyCertSign,cRLSign\n');
  ssl(['x509', '-req', '-in', 'line.csr', '-CA', 'root.pem', '-CAkey', 'root.key', '-CAcreateserial', '-out', 'line.pem', '-days', '3650', '-extfile', 'ca.ext'], dir);
  const read = (f: string) => fs.readFileSync(path.join(dir, f), 'utf8');
  let n = 0;
  return {
    dir,
    rootPem: read('root.pem'),
    lineCaPem: read('line.pem'),
    prove(tenantId, which = 'root') {
      const pem = read(`${which}.pem`);
      const msg = registrationMessage(tenantId, crypto.createHash('sha256').update(new crypto.X509Certificate(pem).raw).digest('hex'));
      return crypto.sign('sha256', Buffer.from(msg), fs.readFileSync(path.join(dir, `${which}.key`))).toString('base64');
    },
    device(cn, o = {}) {
      const base = `dev${++n}`;
      ssl(['req', ...ec, '-keyout', `${base}.key`, '-out', `${base}.csr`, '-subj', `/O=ACME Devices/CN=${cn}`], dir);
      fs.writeFileSync(path.join(dir, `${base}.ext`), `basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=${o.eku ?? 'clientAuth'}\n`);
      const issuer = o.issuer === 'root' ? 'root' : 'line';
      ssl(
        ['x509', '-req', '-in', `${base}.csr`, '-CA', `${issuer}.pem`, '-CAkey', `${issuer}.key`, '-CAcreateserial', '-out', `${base}.pem`, '-days', String(o.days ?? 3650), '-extfile', `${base}.ext`],
        dir,
      );
      const leaf = read(`${base}.pem`);
      // The device sends its certificate followed by the line CA, as a TLS client does with a chain file.
      const chainFile = path.join(dir, `${base}.chain.pem`);
      fs.writeFileSync(chainFile, issuer === 'line' ? leaf + read('line.pem') : leaf);
      return { cert: chainFile, key: path.join(dir, `${base}.key`), chain: issuer === 'line' ? [der(leaf), der(read('line.pem'))] : [der(leaf)] };
    },
  };
}
