import { describe, expect, it } from 'vitest';
import { parseFactoryCa, verifyFactoryChain } from './factory.ts';
import { makeFactoryPki } from './factory.test-helpers.ts';
import type { FactoryCaRecord } from './store.ts';

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
