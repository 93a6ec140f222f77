import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { registerFactoryCa } from './factory-cas.ts';
import { parseFactoryCa, verifyFactoryChain } from './factory.ts';
import { makeFactoryPki } from './factory.test-helpers.ts';
import { Store, type FactoryCaRecord } from './store.ts';

const pki = makeFactoryPki();
const other = makeFactoryPki('Other');
const reg = (pem: string, o: Partial<FactoryCaRecord> = {}): FactoryCaRecord => ({ id: 'fca_1', tenantId: 'acme-id', ...parseFactoryCa(pem), revoked: false, createdAt: '', ...o });

describe('factory certificates', () => {
  it('accepts a device certificate chaining through the line CA to the registered root, naming device and tenant', () => {
    const d = pki.device('SN-0001');
    expect(verifyFactoryChain(d.chain, [reg(other.rootPem, { id: 'fca_0', tenantId: 'beta' }), reg(pki.rootPem)])).toMatchObject({ deviceId: 'SN-0001', ca: { id: 'fca_1', tenantId: 'acme-id' } });
  });

  it('accepts the line CA itself registered as the anchor', () => {
    expect(verifyFactoryChain(pki.device('SN-0002').chain.slice(0, 1), [reg(pki.lineCaPem)]).deviceId).toBe('SN-0002');
  });

  it('refuses a chain to an unregistered CA, a missing intermediate, a revoked registration', () => {
    expect(() => verifyFactoryChain(other.device('SN-0003').chain, [reg(pki.rootPem)])).toThrow(/does not chain to a registered factory CA/);
    expect(() => verifyFactoryChain(pki.device('SN-0004').chain.slice(0, 1), [reg(pki.rootPem)])).toThrow(/does not chain/);
    expect(() => verifyFactoryChain(pki.device('SN-0005').chain, [reg(pki.rootPem, { revoked: true })])).toThrow(/revoked/);
  });

  it('refuses an expired certificate, one not for client authentication, a bad CN, a CA as leaf, no certificate', () => {
    const later = new Date(Date.now() + 3 * 86_400_000);
    expect(() => verifyFactoryChain(pki.device('SN-0006', { days: 1 }).chain, [reg(pki.rootPem)], later)).toThrow(/not valid now/);
    expect(() => verifyFactoryChain(pki.device('SN-0007', { eku: 'serverAuth' }).chain, [reg(pki.rootPem)])).toThrow(/client authentication/);
    expect(() => verifyFactoryChain(pki.device('bad id!').chain, [reg(pki.rootPem)])).toThrow(/CN must be the device id/);
    expect(() => verifyFactoryChain([Buffer.from(pki.lineCaPem.replace(/-----[^-]+-----|\s/g, ''), 'base64')], [reg(pki.rootPem)])).toThrow(/CA certificate, not a device/);
    expect(() => verifyFactoryChain([], [reg(pki.rootPem)])).toThrow(/claim token or a factory certificate/);
    expect(() => verifyFactoryChain([Buffer.from('junk')], [reg(pki.rootPem)])).toThrow(/could not be parsed/);
  });

  it('registers only CA certificates', () => {
    expect(() => parseFactoryCa('nope')).toThrow(/not a PEM certificate/);
    const leafPem = `-----BEGIN CERTIFICATE-----\n${pki.device('SN-0008').chain[0]!.toString('base64')}\n-----END CERTIFICATE-----\n`;
    expect(() => parseFactoryCa(leafPem)).toThrow(/not a CA certificate/);
    expect(parseFactoryCa(pki.rootPem)).toMatchObject({ sha256: expect.stringMatching(/^[0-9a-f]{64}$/), subject: 'O=ACME Devices, CN=Factory Root CA' });
  });
});

describe('factory CA registration', () => {
  const store = () => Store.open({ dataDir: fs.mkdtempSync(path.join(os.tmpdir(), 'cdm-fca-')), poolCidr: '10.77.0.0/16' });

  it('registers a CA with a proof made by its key, for that tenant', async () => {
    const s = await store();
    expect(await registerFactoryCa(s, 'acme-id', pki.rootPem, pki.prove('acme-id'))).toMatchObject({ tenantId: 'acme-id', subject: 'O=ACME Devices, CN=Factory Root CA' });
  });

  it('attack: the CA certificate alone (public: in every device chain) or a proof for another tenant registers nothing', async () => {
    const s = await store();
    await expect(registerFactoryCa(s, 'evil-id', pki.lineCaPem, undefined)).rejects.toThrow(/proof of possession of the CA key required: .*openssl dgst -sha256 -sign/);
    await expect(registerFactoryCa(s, 'evil-id', pki.lineCaPem, pki.prove('acme-id', 'line'))).rejects.toThrow(/not a signature of the registration message/);
    await expect(registerFactoryCa(s, 'evil-id', pki.lineCaPem, other.prove('evil-id'))).rejects.toThrow(/not a signature/);
    await expect(registerFactoryCa(s, 'evil-id', pki.lineCaPem, 'bm90IGEgc2lnbmF0dXJl')).rejects.toThrow(/not a signature/);
    expect(await s.listFactoryCas()).toEqual([]);
  });

  it('attack: refuses a CA overlapping another tenant’s — its intermediate, its issuer, a look-alike subject, the same key', async () => {
    const s = await store();
    await registerFactoryCa(s, 'acme-id', pki.rootPem, pki.prove('acme-id'));
    // The line CA is issued by acme's root: whoever holds its key (a contract manufacturer) may not move devices to another tenant.
    await expect(registerFactoryCa(s, 'evil-id', pki.lineCaPem, pki.prove('evil-id', 'line'))).rejects.toThrow(/overlaps factory CA .* of another tenant \(issued by it\)/);
    const s2 = await store();
    await registerFactoryCa(s2, 'acme-id', pki.lineCaPem, pki.prove('acme-id', 'line'));
    await expect(registerFactoryCa(s2, 'evil-id', pki.rootPem, pki.prove('evil-id'))).rejects.toThrow(/\(its issuer\)/);
    const lookAlike = makeFactoryPki('Factory'); // same subject names, other keys
    await expect(registerFactoryCa(s, 'evil-id', lookAlike.rootPem, lookAlike.prove('evil-id'))).rejects.toThrow(/\(same subject\)/);
    // The same tenant may register its own root and line CA.
    expect((await registerFactoryCa(s, 'acme-id', pki.lineCaPem, pki.prove('acme-id', 'line'))).tenantId).toBe('acme-id');
    // An unrelated CA is fine for another tenant.
    expect((await registerFactoryCa(s, 'beta-id', other.rootPem, other.prove('beta-id'))).tenantId).toBe('beta-id');
  });
});
