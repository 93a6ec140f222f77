import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { rolloutPoints } from './metrics.ts';
import { publish, PublishError, rolloutBody, type PublishRequest } from './publish.ts';
import { BadBundle, verifyRaucBundle } from './rauc.ts';

const req: PublishRequest = {
  bundle: 'b.raucb',
  version: '2.1.0',
  tenant: { cdmId: 'g-1', name: 'acme' },
  groups: [5, 25, 70],
  successPct: 95,
  errorPct: 5,
  action: 'soft',
  holdSeconds: 86_400,
  start: false,
};

describe('publish', () => {
  it('builds the rollout: tenant filter, groups in order, a held pause at the success share (the last group none), pause at the error share', () => {
    const b = rolloutBody(req, 9, new Date('2026-11-24T10:00:00Z'));
    expect(b).toMatchObject({ name: 'acme 2.1.0 2026-11-24 10:00:00', description: 'cdm tenant g-1', distributionSetId: 9, targetFilterQuery: 'description=="cdm tenant g-1"', type: 'soft' });
    expect(b.groups!.map((g) => g.targetPercentage)).toEqual([5, 25, 70]);
    expect(b.groups![0]).toMatchObject({
      description: 'cdm hold 86400s',
      successCondition: { condition: 'THRESHOLD', expression: '95' },
      successAction: { action: 'PAUSE' },
      errorCondition: { expression: '5' },
      errorAction: { action: 'PAUSE' },
    });
    expect(b.groups![2]).toMatchObject({ successAction: { action: 'NEXTGROUP' } });
  });

  it('refuses groups that do not add up to 100 and percentages out of range', () => {
    expect(() => rolloutBody({ ...req, groups: [5, 25] }, 1)).toThrow(PublishError);
    expect(() => rolloutBody({ ...req, groups: [0, 100] }, 1)).toThrow(/between 0 and 100/);
    expect(() => rolloutBody({ ...req, successPct: 101 }, 1)).toThrow(/--success/);
    expect(() => rolloutBody({ ...req, groups: [Number('x')] }, 1)).toThrow(/--groups/);
  });

  it('writes one OTA point per group with counts and the success ratio', () => {
    const [p] = rolloutPoints(
      { id: 1, name: 'acme 2.1.0', status: 'running', totalTargets: 10 },
      [{ id: 2, name: 'group-1', totalTargetsPerStatus: { finished: 6, error: 1, running: 1, scheduled: 1, notstarted: 1 } }],
      new Date(1_000),
    );
    expect(p!.toLineProtocol()).toBe('ota_rollout,group=group-1,rollout=acme\\ 2.1.0 failure=1i,running=1i,scheduled=2i,success=6i,success_ratio=0.6 1000000000');
  });
});

describe('RAUC signature check', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cdm-rauc-test-'));
  const ssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
  for (const who of ['vendor', 'stranger']) ssl('req', '-x509', ...ec, '-keyout', `${who}.key`, '-out', `${who}.pem`, '-days', '2', '-subj', `/CN=${who} signing`);
  fs.writeFileSync(path.join(dir, 'rootfs.img'), Buffer.alloc(300_000, 7));
  const bundle = (signer: string, name: string, tamper = false) => {
    ssl('cms', '-sign', '-binary', '-in', 'rootfs.img', '-signer', `${signer}.pem`, '-inkey', `${signer}.key`, '-outform', 'DER', '-out', `${name}.sig`);
    const sig = fs.readFileSync(path.join(dir, `${name}.sig`));
    const img = Buffer.from(fs.readFileSync(path.join(dir, 'rootfs.img')));
    if (tamper) img[1000] = 8;
    const size = Buffer.alloc(8);
    size.writeBigUInt64BE(BigInt(sig.length));
    fs.writeFileSync(path.join(dir, name), Buffer.concat([img, sig, size]));
    return path.join(dir, name);
  };

  it('accepts a bundle signed by the keyring, refuses a tampered, a foreign and an unsigned one', async () => {
    await expect(verifyRaucBundle(bundle('vendor', 'good.raucb'), path.join(dir, 'vendor.pem'))).resolves.toBeUndefined();
    await expect(verifyRaucBundle(bundle('vendor', 'tampered.raucb', true), path.join(dir, 'vendor.pem'))).rejects.toThrow(BadBundle);
    await expect(verifyRaucBundle(bundle('stranger', 'foreign.raucb'), path.join(dir, 'vendor.pem'))).rejects.toThrow(/does not verify/);
    await expect(verifyRaucBundle(path.join(dir, 'rootfs.img'), path.join(dir, 'vendor.pem'))).rejects.toThrow(/no RAUC signature/);
  });

  it.each([
    ['RSA 3072', ['-newkey', 'rsa:3072']],
    ['ECDSA P-384', ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-384']],
    // Ed25519 (RFC 8419) is not here: this machine's OpenSSL 3.0 cannot make an Ed25519 CMS signature
    // ("no default digest"; with -md sha512 "invalid digest"), so RAUC on OpenSSL 3.0 cannot use one either.
  ] as [string, string[]][])('accepts a %s signing key in the keyring, and refuses its tampered bundle', async (_name, key) => {
    const who = `k-${key.join('').replace(/\W/g, '')}`;
    ssl('req', '-x509', ...key, '-nodes', '-keyout', `${who}.key`, '-out', `${who}.pem`, '-days', '2', '-subj', `/CN=${who} signing`);
    await expect(verifyRaucBundle(bundle(who, `${who}.raucb`), path.join(dir, `${who}.pem`))).resolves.toBeUndefined();
    await expect(verifyRaucBundle(bundle(who, `${who}-t.raucb`, true), path.join(dir, `${who}.pem`))).rejects.toThrow(/does not verify/);
    await expect(verifyRaucBundle(bundle(who, `${who}-f.raucb`), path.join(dir, 'vendor.pem'))).rejects.toThrow(/does not verify/);
  });

  it('attack: a bundle signed by a CA the machine trusts, but not in the keyring, is refused', async () => {
    // The "system" CA directory openssl reads by default (SSL_CERT_DIR) holds the stranger's CA.
    const system = path.join(dir, 'system-cas');
    fs.mkdirSync(system, { recursive: true });
    fs.copyFileSync(path.join(dir, 'stranger.pem'), path.join(system, 'stranger.pem'));
    ssl('rehash', system);
    const before = process.env.SSL_CERT_DIR;
    process.env.SSL_CERT_DIR = system;
    try {
      await expect(verifyRaucBundle(bundle('stranger', 'system-trusted.raucb'), path.join(dir, 'vendor.pem'))).rejects.toThrow(/does not verify/);
    } finally {
      if (before === undefined) delete process.env.SSL_CERT_DIR;
      else process.env.SSL_CERT_DIR = before;
    }
  });

  it('publish refuses to upload anything without a keyring', async () => {
    const hawkbit = new Proxy({}, { get: () => () => Promise.reject(new Error('hawkBit must not be called')) }) as never;
    await expect(publish({ ...req, bundle: bundle('vendor', 'unchecked.raucb') }, { hawkbit })).rejects.toThrow(/RAUC_KEYRING is not set/);
  });
});
