import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkCsr } from './csr.ts';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'csr-'));
/** A CSR as enroll.sh makes it (openssl), with optional extra arguments. */
function csr(cn: string, keyArgs: string[] = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256'], extra: string[] = []): string {
  return execFileSync('openssl', ['req', '-new', ...keyArgs, '-nodes', '-keyout', path.join(tmp, 'k.pem'), '-subj', `/CN=${cn}`, ...extra], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
}

describe('checkCsr', () => {
  it('accepts an EC P-256 CSR for the device and fingerprints its key', async () => {
    const facts = await checkCsr(csr('dev-0001'), 'dev-0001');
    expect(facts.keyType).toBe('EC P-256');
    expect(facts.keySha256).toMatch(/^[0-9a-f]{64}$/);
  });

  it('accepts a SAN naming only the device, RSA 2048 too', async () => {
    await expect(checkCsr(csr('dev-0001', undefined, ['-addext', 'subjectAltName=DNS:dev-0001']), 'dev-0001')).resolves.toBeDefined();
    await expect(checkCsr(csr('dev-0001', ['-newkey', 'rsa:2048']), 'dev-0001')).resolves.toMatchObject({ keyType: 'RSA 2048' });
  });

  it('refuses each bad CSR with the reason', async () => {
    await expect(checkCsr(csr('dev-0002'), 'dev-0001')).rejects.toThrow('CN must be the device id "dev-0001"');
    await expect(checkCsr(csr('dev-0001', undefined, ['-addext', 'subjectAltName=DNS:dev-0001,DNS:bank.example']), 'dev-0001')).rejects.toThrow('may name only "dev-0001"');
    await expect(checkCsr(csr('dev-0001', undefined, ['-addext', 'basicConstraints=critical,CA:TRUE']), 'dev-0001')).rejects.toThrow('extension 2.5.29.19 is not allowed');
    await expect(checkCsr(csr('dev-0001', ['-newkey', 'rsa:1024']), 'dev-0001')).rejects.toThrow('RSA key of 1024 bits');
    await expect(checkCsr(csr('dev-0001', ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:secp256k1']), 'dev-0001')).rejects.toThrow('not allowed');
    await expect(checkCsr('hello', 'dev-0001')).rejects.toThrow('not a PEM-encoded PKCS#10');
    await expect(checkCsr(csr('dev-0001'), '../etc')).rejects.toThrow('device id must match');
    await expect(checkCsr('x'.repeat(9000), 'dev-0001')).rejects.toThrow('larger than 8192 bytes');
    const subj = execFileSync('openssl', ['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', path.join(tmp, 'k.pem'), '-subj', '/CN=dev-0001/O=Evil'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    await expect(checkCsr(subj, 'dev-0001')).rejects.toThrow('only CN (found O)');
  });

  it('refuses a CSR whose signature was tampered with', async () => {
    const pem = csr('dev-0001');
    const der = Buffer.from(pem.replace(/-----[^-]+-----|\s/g, ''), 'base64');
    der[der.length - 5] = der[der.length - 5]! ^ 0xff;
    const bad = `-----BEGIN CERTIFICATE REQUEST-----\n${der.toString('base64')}\n-----END CERTIFICATE REQUEST-----\n`;
    await expect(checkCsr(bad, 'dev-0001')).rejects.toThrow(/signature does not verify|not a PEM/);
  });
});
