import crypto from 'node:crypto';
import { UpstreamError, targetDescription, tenantOfTarget, type HawkbitClient, type MgmtTarget, type StepCaClient, type WireGuardClient } from '@cdm/common';
import { Refused } from './errors.ts';
import type { DevicePatch, DeviceRecord, Step } from './store.ts';
import type { ThingsBoardDevices } from './tb-devices.ts';

export interface Upstreams {
  stepca: StepCaClient;
  thingsboard: ThingsBoardDevices;
  hawkbit: HawkbitClient;
  wireguard: WireGuardClient;
}

/** hawkBit's target as the enrollment last saw it: the answer hands its security token to the device. */
export interface Seen {
  target?: { securityToken?: string };
}

export interface StepContext {
  /** The device's certificate request; only the certificate step needs it. */
  csr?: string;
  seen: Seen;
}

/**
 * One step of an enrollment: what it does upstream and how that is undone, side by side. Both are
 * idempotent. The saga (enroll.ts) decides order, records and retries; this only talks to upstreams.
 */
export interface StepDef {
  /** Returns what the store is to record with the step (in the transaction that marks it done). */
  do(d: DeviceRecord, ctx: StepContext): Promise<DevicePatch>;
  /** Runs on decommission even when the step is not marked done: a crash between the call and the mark would leave an orphan. */
  undo(d: DeviceRecord): Promise<void>;
}

export function enrollmentSteps(u: Upstreams): Record<Step, StepDef> {
  return {
    certificate: {
      async do(d, { csr }) {
        if (!csr) throw new Error('no CSR to sign (only the device can continue)');
        const res = await u.stepca.sign(csr, d.deviceId);
        const chain = [res.crt, ...(res.certChain ?? []).slice(1)].join('\n');
        // Node's own parser: the pure-JS one cost a millisecond of event loop per certificate.
        const cert = new crypto.X509Certificate(res.crt);
        return { certPem: chain, certSerial: BigInt(`0x${cert.serialNumber}`).toString(), certNotAfter: new Date(cert.validTo).toISOString() };
      },
      undo: async (d) => {
        if (d.certSerial) await revokeCertificate(u.stepca, d.certSerial);
      },
    },
    thingsboard: {
      async do(d) {
        const attributes = {
          serial: d.deviceId,
          wg_ip: d.wgIp,
          enrolled_at: new Date().toISOString(),
          tenant: d.tenantId,
          cert_serial: d.certSerial,
          cert_not_after: d.certNotAfter,
        };
        return { tbDeviceId: await u.thingsboard.ensure(d.tenantId, d.deviceId, leaf(d.certPem!), attributes, { isNew: d.tbDeviceId === undefined }) };
      },
      undo: (d) => u.thingsboard.remove(d.tenantId, d.deviceId),
    },
    hawkbit: {
      async do(d, { seen }) {
        // The checks before the store write looked it up a moment ago (one operation per device at a time).
        seen.target ??= await ownTarget(u.hawkbit, d.deviceId, d.tenantId);
        seen.target ??= (await u.hawkbit.createTargets([{ controllerId: d.deviceId, name: d.deviceId, description: targetDescription(d.tenantId) }]))[0];
        return {};
      },
      undo: async (d) => void (await u.hawkbit.deleteTarget(d.deviceId)),
    },
    wireguard: {
      async do(d) {
        await u.wireguard.setPeer({ publicKey: d.wgPublicKey, allowedIps: [`${d.wgIp}/32`] });
        return {};
      },
      undo: (d) => u.wireguard.removePeer(d.wgPublicKey),
    },
  };
}

/**
 * Whether hawkBit already has this tenant's target for the device. A target with this id that is
 * not this tenant's (made by hand, or another tenant's) would put the device into someone else's
 * rollouts: refused, not taken over.
 */
export async function ownTarget(hawkbit: HawkbitClient, deviceId: string, tenantId: string): Promise<MgmtTarget | undefined> {
  const target = await hawkbit.getTarget(deviceId);
  if (target && tenantOfTarget(target.description) !== tenantId) {
    throw new Refused('conflict', `hawkBit already has a target ${deviceId} that is not this tenant's device; an admin must remove it in hawkBit before this device can enroll`);
  }
  return target;
}

/**
 * A re-keyed device's old identity stops working: its certificate is revoked and hawkBit gets a new
 * security token for the target (the old one may be in the hands of whoever had the old key).
 */
export async function retireIdentity(u: Pick<Upstreams, 'stepca' | 'hawkbit'>, old: DeviceRecord): Promise<void> {
  if (old.certSerial) await revokeCertificate(u.stepca, old.certSerial);
  if (await u.hawkbit.getTarget(old.deviceId)) {
    await u.hawkbit.updateTarget(old.deviceId, { name: old.deviceId, securityToken: crypto.randomBytes(24).toString('base64url') });
  }
}

async function revokeCertificate(stepca: StepCaClient, serial: string): Promise<void> {
  await stepca.revoke(serial).catch((err: unknown) => {
    if (!(err instanceof UpstreamError && /already (been )?revoked/i.test(err.message))) throw err;
  });
}

const leaf = (chain: string) => `${chain.split(/(?<=-----END CERTIFICATE-----)/)[0]!.trim()}\n`;
