import 'reflect-metadata';
import crypto from 'node:crypto';
import { UpstreamError, isWgKey, targetDescription, tenantOfTarget, type HawkbitClient, type Logger, type MgmtTarget, type StepCaClient, type WireGuardClient } from '@cdm/common';
import { hashClaimToken, wellFormedClaimToken } from './claim-token.ts';
import { BadCsr, checkCsr, DEVICE_ID } from './csr.ts';
import { HttpError } from './errors.ts';
import { verifyFactoryChain } from './factory.ts';
import { PoolExhausted, STEPS, type DevicePatch, type DeviceRecord, type Step, type Store, type Voucher as VoucherKind } from './store.ts';
import { TenantNotReady, type ThingsBoardDevices } from './tb-devices.ts';

/** A host key line as OpenSSH writes it (type, base64 blob, optional comment), nothing else. */
export const SSH_HOST_KEY = /^(ssh-ed25519|ecdsa-sha2-nistp256|ecdsa-sha2-nistp384) [A-Za-z0-9+/]{60,400}={0,2}( [\x21-\x7e]{1,64})?$/;

export interface EnrollRequest {
  deviceId: string;
  csr: string;
  wgPublicKey: string;
  /** The device's SSH host key, pinned by the terminal gateway (optional: devices without sshd). */
  sshHostKey?: string;
  /** A claim token (Authorization: Bearer) … */
  claimToken?: string;
  /** … or the factory certificate chain (DER, leaf first) the device presented as TLS client. */
  factoryChain?: Buffer[];
}

/** Who vouches for an enrollment: a claim token or a factory certificate, resolved to a tenant. */
interface Voucher {
  tenantId: string;
  /** Set when the voucher is scoped to one device: only then may a known device change keys. */
  deviceId?: string;
  kind: VoucherKind;
  /** Takes one use (inside the transaction that creates the device); false when none is left. */
  consume(): boolean;
}

export interface EnrollResult {
  deviceId: string;
  tenantId: string;
  certificate: { chain: string; serial: string; notAfter: string };
  wireguard: { address: string; serverPublicKey: string; endpoint: string; allowedIps: string[] };
  hawkbit: { controllerId: string; securityToken?: string };
  influxdb: { org: string; bucket: string; token: string };
  /** The terminal gateway's SSH key and the address it connects from, for authorized_keys. */
  terminal?: { authorizedKey: string; from: string };
}

export interface TenantTokens {
  get(cdmId: string): { org: string; bucket: string; token: string } | undefined;
}

export interface EnrollerOptions {
  store: Store;
  stepca: StepCaClient;
  thingsboard: ThingsBoardDevices;
  hawkbit: HawkbitClient;
  wireguard: WireGuardClient;
  tokens: TenantTokens;
  wgEndpoint: string;
  /** The terminal gateway's public key (OpenSSH line), handed to devices at enrollment; unset: no terminal. */
  terminalKey?: { authorizedKey: string; from: string };
  logger: Logger;
  /** Devices a tenant may hold (not decommissioned): one leaked claim cannot drain the shared pool. */
  tenantQuota?: number;
  /** Test hook: runs before each step, so a test can crash an enrollment between any two steps. */
  beforeStep?: (step: Step, deviceId: string) => void | Promise<void>;
  /** Told how long each phase of an enrollment took (the checks, the store, each step, the answer): where the time goes. */
  observe?: (phase: EnrollPhase, ms: number) => void;
}

export type EnrollPhase = 'checks' | 'store' | Step | 'answer';

/** hawkBit's target as the enrollment last saw it: the answer hands its security token to the device. */
interface Seen {
  target?: { securityToken?: string };
}

/**
 * Enrollment as a saga over step-ca, ThingsBoard, hawkBit and WireGuard. The store records the
 * device (and its address) before any upstream is touched and marks each step when done, so a
 * retry — by the device or the repair pass — resumes where the last attempt stopped. Every step
 * is idempotent. One operation per device at a time.
 */
export class Enroller {
  private readonly inProgress = new Map<string, Promise<unknown>>();
  private serverKey?: string;

  constructor(private readonly o: EnrollerOptions) {}

  enroll(req: EnrollRequest): Promise<EnrollResult> {
    return this.serial(req.deviceId, () => this.doEnroll(req));
  }

  /**
   * Renewal for a device that proved (mTLS) it holds its current certificate: a new certificate for
   * the CSR (same or new key), and ThingsBoard's X.509 credentials follow so MQTT keeps working.
   */
  renew(deviceId: string, presentedSerial: string, csr: string): Promise<{ chain: string; serial: string; notAfter: string }> {
    return this.serial(deviceId, async () => {
      const d = this.o.store.getDevice(deviceId);
      if (!d || d.status !== 'active') throw new HttpError(403, `device ${deviceId} is not enrolled`);
      const current = d.certSerial === presentedSerial;
      // The certificate renewal replaced stays good for renewal until the device shows the new one:
      // an answer lost on the way, or a failed ThingsBoard step, must not lock the device out.
      const previous = !current && d.prevCertSerial !== undefined && d.prevCertSerial === presentedSerial;
      if (!current && !previous) throw new HttpError(403, "that is not the device's current certificate");
      const facts = await checkCsr(csr, deviceId).catch((err: unknown) => {
        throw err instanceof BadCsr ? new HttpError(400, err.message) : err;
      });
      let next: DeviceRecord = d;
      try {
        if (!(previous && facts.keySha256 === d.keySha256)) {
          if (current) next = this.o.store.update(deviceId, { prevCertSerial: presentedSerial });
          next = this.o.store.update(deviceId, { ...(await this.step('certificate', next, csr)), keySha256: facts.keySha256 });
        } // else: a retry with the old certificate and the new key gets the certificate already issued
        next = this.o.store.update(deviceId, await this.step('thingsboard', next, undefined));
      } catch (err) {
        throw this.toHttp('certificate', err, deviceId);
      }
      this.o.logger.info({ deviceId, serial: next.certSerial, notAfter: next.certNotAfter, retry: previous }, 'renewed');
      return { chain: next.certPem!, serial: next.certSerial!, notAfter: next.certNotAfter! };
    });
  }

  decommission(deviceId: string): Promise<DeviceRecord> {
    return this.serial(deviceId, () => this.doDecommission(deviceId));
  }

  /**
   * Completes enrollments a device abandoned half-way (once signed, the rest needs nothing from the
   * device), rolls back those that never got a certificate within `abandonAfterMs` (their address
   * returns to the pool), and finishes decommissions that stopped half-way.
   */
  async repair(abandonAfterMs = 24 * 3600_000): Promise<{ completed: string[]; rolledBack: string[]; failed: string[] }> {
    const out = { completed: [] as string[], rolledBack: [] as string[], failed: [] as string[] };
    for (const d of [...this.o.store.listDevices({ status: 'enrolling' }), ...this.o.store.listDevices({ status: 'decommissioning' })]) {
      try {
        if (d.status === 'decommissioning') await this.decommission(d.deviceId);
        else if (d.certPem) await this.serial(d.deviceId, () => this.runSteps(this.o.store.getDevice(d.deviceId)!, undefined));
        else if (Date.now() - Date.parse(d.updatedAt) > abandonAfterMs) {
          await this.decommission(d.deviceId);
          out.rolledBack.push(d.deviceId);
          continue;
        } else continue; // no certificate yet: only the device's CSR can finish it; it retries on its own
        out.completed.push(d.deviceId);
      } catch (err) {
        out.failed.push(d.deviceId);
        this.o.logger.warn({ deviceId: d.deviceId, err: (err as Error).message }, 'repair failed; next pass retries');
      }
    }
    return out;
  }

  private async serial<T>(deviceId: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.inProgress.get(deviceId) ?? Promise.resolve();
    const run = prev.catch(() => undefined).then(fn);
    this.inProgress.set(deviceId, run);
    try {
      return await run;
    } finally {
      if (this.inProgress.get(deviceId) === run) this.inProgress.delete(deviceId);
    }
  }

  private async doEnroll(req: EnrollRequest): Promise<EnrollResult> {
    const { store } = this.o;
    if (!DEVICE_ID.test(req.deviceId)) throw new HttpError(400, `deviceId must match ${DEVICE_ID.source}`);
    if (!isWgKey(req.wgPublicKey)) throw new HttpError(400, 'wgPublicKey must be a WireGuard public key (44 characters of base64)');
    if (req.sshHostKey !== undefined && !SSH_HOST_KEY.test(req.sshHostKey)) throw new HttpError(400, 'sshHostKey must be one OpenSSH public key line (ssh-ed25519 or ecdsa-sha2-nistp256/384)');
    const t0 = performance.now();
    const claim = this.voucher(req);
    const facts = await checkCsr(req.csr, req.deviceId).catch((err: unknown) => {
      throw err instanceof BadCsr ? new HttpError(400, err.message) : err;
    });
    const seen: Seen = {};

    let existing = store.getDevice(req.deviceId);
    // A serial squatted in another tenant with a claim (a leaked image can enroll any serial) goes to
    // the tenant whose factory certificate proves it holds the hardware: the squatter's record is
    // decommissioned (certificate revoked, peer and target removed), then the device enrolls here.
    const supersede = existing !== undefined && claim.kind === 'factory' && existing.tenantId !== claim.tenantId && existing.status !== 'decommissioned' && existing.enrolledBy !== 'factory';
    if (supersede) {
      this.quotaLeft(claim.tenantId);
      this.o.logger.warn({ deviceId: req.deviceId, from: existing!.tenantId, to: claim.tenantId }, 'device id enrolled elsewhere by a claim; its factory certificate moves it to its own tenant');
      existing = await this.doDecommission(req.deviceId);
    }
    // Before anything is written or signed, so a refused device leaves nothing behind.
    if (!existing?.done.includes('hawkbit'))
      seen.target = await this.ownTarget(req.deviceId, claim.tenantId).catch((err: unknown) => {
        throw this.toHttp('hawkbit', err, req.deviceId);
      });
    const t1 = performance.now();
    this.o.observe?.('checks', t1 - t0);
    let device: DeviceRecord;
    // Checked in the same transaction as the write: a WireGuard key is one tunnel, so a key another
    // device holds would move that device's peer to this one (seen: device A's tunnel was gone).
    const keyFree = () => {
      if (store.wgKeyHolder(req.wgPublicKey, req.deviceId)) throw new HttpError(409, 'wgPublicKey belongs to another device: generate a key on the device (wg genkey)');
    };
    // A request signed once proves possession once: the same bytes again may be a replay by anyone
    // who saw them, and would hand out the device's hawkBit token or replace its pinned host key.
    const fresh = () => {
      if (!store.useRequest(facts.requestSha256, req.deviceId))
        throw new HttpError(409, 'this certificate request was used before: sign a new one (enroll.sh puts a fresh challengePassword in each); a replayed request proves nothing');
    };
    const consume = <T>(fn: () => T, newDevice = true): T =>
      store.atomically(() => {
        keyFree();
        if (newDevice) this.quotaLeft(claim.tenantId);
        fresh();
        if (!claim.consume()) throw new HttpError(403, 'enrollment claim has no uses left');
        return fn();
      });
    const record = { deviceId: req.deviceId, tenantId: claim.tenantId, keySha256: facts.keySha256, wgPublicKey: req.wgPublicKey };
    const by = { enrolledBy: claim.kind };
    try {
      if (!existing) device = consume(() => store.update(store.createDevice(record).deviceId, by));
      else if (existing.status === 'decommissioned' && claim.kind === 'factory' && !supersede)
        throw new HttpError(403, 'device was decommissioned; enrolling it again needs a claim token from an admin, not its factory certificate');
      else if (existing.status === 'decommissioned') device = consume(() => store.update(store.restartDevice(record).deviceId, by));
      else if (existing.status === 'decommissioning') throw new HttpError(409, 'device is being decommissioned; retry when that has finished');
      else if (existing.tenantId !== claim.tenantId) throw new HttpError(403, 'device is enrolled in another tenant');
      else if (existing.keySha256 === facts.keySha256 && existing.wgPublicKey === req.wgPublicKey)
        device = store.atomically(() => (fresh(), existing!)); // a retry: same identity, freshly signed
      else if (claim.deviceId === req.deviceId) {
        // New keys for a known device need a claim made for exactly this device (no takeover by serial).
        device = consume(() => store.update(req.deviceId, { keySha256: facts.keySha256, wgPublicKey: req.wgPublicKey, status: 'enrolling', ...by }), false);
        await this.o.wireguard.removePeer(existing.wgPublicKey).catch(() => undefined);
        await this.retire(existing);
        delete seen.target; // retire gave the target a new security token
        device = store.markDone(req.deviceId, ['certificate', 'thingsboard', 'wireguard'], false);
      } else throw new HttpError(409, 'device already enrolled with another key; re-enrolling needs a claim created for this device (--device)');
    } catch (err) {
      if (err instanceof PoolExhausted) throw new HttpError(503, err.message);
      throw err;
    }
    if (req.sshHostKey !== undefined && device.sshHostKey !== req.sshHostKey) device = store.update(req.deviceId, { sshHostKey: req.sshHostKey });
    this.o.observe?.('store', performance.now() - t1);
    device = await this.runSteps(device, req.csr, seen);
    return this.timed('answer', () => this.result(device, seen));
  }

  private async timed<T>(phase: EnrollPhase, fn: () => Promise<T>): Promise<T> {
    const t0 = performance.now();
    try {
      return await fn();
    } finally {
      this.o.observe?.(phase, performance.now() - t0);
    }
  }

  private voucher(req: EnrollRequest): Voucher {
    const { store } = this.o;
    if (req.claimToken === undefined) {
      const f = verifyFactoryChain(req.factoryChain ?? [], store.listFactoryCas());
      if (f.deviceId !== req.deviceId) throw new HttpError(403, `the factory certificate is for device ${f.deviceId}, not ${req.deviceId}`);
      return { tenantId: f.ca.tenantId, kind: 'factory', consume: () => true };
    }
    if (!wellFormedClaimToken(req.claimToken)) throw new HttpError(401, 'no valid enrollment claim');
    const claim = store.findClaimByHash(hashClaimToken(req.claimToken));
    if (!claim) throw new HttpError(401, 'no valid enrollment claim');
    if (claim.revoked) throw new HttpError(403, 'enrollment claim revoked');
    if (Date.parse(claim.expiresAt) <= Date.now()) throw new HttpError(403, 'enrollment claim expired');
    if (claim.deviceId && claim.deviceId !== req.deviceId) throw new HttpError(403, 'enrollment claim is for another device');
    return { tenantId: claim.tenantId, deviceId: claim.deviceId, kind: claim.deviceId ? 'device-claim' : 'claim', consume: () => store.consumeClaim(claim.id) };
  }

  private quotaLeft(tenantId: string): void {
    const quota = this.o.tenantQuota ?? 10_000;
    if (this.o.store.countDevices(tenantId) >= quota) throw new HttpError(403, `tenant ${tenantId} has its quota of ${quota} devices; decommission devices or ask ops to raise TENANT_DEVICE_QUOTA`);
  }

  /**
   * A re-keyed device's old identity stops working: its certificate is revoked and hawkBit gets a new
   * security token for the target (the old one may be in the hands of whoever had the old key).
   */
  private async retire(old: DeviceRecord): Promise<void> {
    if (old.certSerial) await this.revoke(old.certSerial);
    if (await this.o.hawkbit.getTarget(old.deviceId)) {
      await this.o.hawkbit.updateTarget(old.deviceId, { name: old.deviceId, securityToken: crypto.randomBytes(24).toString('base64url') });
    }
  }

  private async revoke(serial: string): Promise<void> {
    await this.o.stepca.revoke(serial).catch((err: unknown) => {
      if (!(err instanceof UpstreamError && /already (been )?revoked/i.test(err.message))) throw err;
    });
  }

  /**
   * The certificate first (the others carry it or need the device to hold one), then ThingsBoard,
   * hawkBit and WireGuard at the same time: they are independent. What they did is recorded in one
   * transaction (a disk flush each costs the event loop milliseconds): the steps that succeeded are
   * done, so a retry runs only what failed; a crash before that record redoes them, idempotently.
   */
  private async runSteps(device: DeviceRecord, csr: string | undefined, seen: Seen = {}): Promise<DeviceRecord> {
    const { store } = this.o;
    const run = async (step: Step, d: DeviceRecord): Promise<DevicePatch> => {
      await this.o.beforeStep?.(step, d.deviceId);
      return this.timed(step, () => this.step(step, d, csr, seen));
    };
    const recorded = (steps: Step[]) => {
      for (const step of steps) this.o.logger.debug({ deviceId: device.deviceId, step }, 'enrollment step done');
    };
    if (!device.done.includes('certificate')) {
      try {
        device = store.markDone(device.deviceId, ['certificate'], true, await run('certificate', device));
        recorded(['certificate']);
      } catch (err) {
        store.update(device.deviceId, { lastError: `certificate: ${(err as Error).message}` });
        throw this.toHttp('certificate', err, device.deviceId);
      }
    }
    const signed = device;
    const steps = STEPS.filter((s) => !signed.done.includes(s));
    const results = await Promise.allSettled(steps.map((s) => run(s, signed)));
    const failed = results.findIndex((r) => r.status === 'rejected');
    const patch = Object.assign({}, ...results.map((r) => (r.status === 'fulfilled' ? r.value : {}))) as DevicePatch;
    const done = steps.filter((_, i) => results[i]!.status === 'fulfilled');
    if (failed < 0) {
      const active = store.markDone(device.deviceId, done, true, { ...patch, status: 'active', lastError: undefined });
      recorded(done);
      return active;
    }
    const err = (results[failed] as PromiseRejectedResult).reason as Error;
    store.markDone(device.deviceId, done, true, { ...patch, lastError: `${steps[failed]}: ${err.message}` });
    recorded(done);
    throw this.toHttp(steps[failed]!, err, device.deviceId);
  }

  /** Does one step upstream; returns what the store is to record with it (in the transaction that marks it done). */
  private async step(step: Step, d: DeviceRecord, csr: string | undefined, seen: Seen = {}): Promise<DevicePatch> {
    switch (step) {
      case 'certificate': {
        if (!csr) throw new Error('no CSR to sign (only the device can continue)');
        const res = await this.o.stepca.sign(csr, d.deviceId);
        const chain = [res.crt, ...(res.certChain ?? []).slice(1)].join('\n');
        // Node's own parser: the pure-JS one cost a millisecond of event loop per certificate.
        const cert = new crypto.X509Certificate(res.crt);
        return { certPem: chain, certSerial: BigInt(`0x${cert.serialNumber}`).toString(), certNotAfter: new Date(cert.validTo).toISOString() };
      }
      case 'thingsboard': {
        const id = await this.o.thingsboard.ensure(
          d.tenantId,
          d.deviceId,
          leaf(d.certPem!),
          {
            serial: d.deviceId,
            wg_ip: d.wgIp,
            enrolled_at: new Date().toISOString(),
            tenant: d.tenantId,
            cert_serial: d.certSerial,
            cert_not_after: d.certNotAfter,
          },
          { isNew: d.tbDeviceId === undefined },
        );
        return { tbDeviceId: id };
      }
      case 'hawkbit': {
        // The checks before the store write looked it up a moment ago (one operation per device at a time).
        seen.target ??= await this.ownTarget(d.deviceId, d.tenantId);
        seen.target ??= (await this.o.hawkbit.createTargets([{ controllerId: d.deviceId, name: d.deviceId, description: targetDescription(d.tenantId) }]))[0];
        return {};
      }
      case 'wireguard':
        await this.o.wireguard.setPeer({ publicKey: d.wgPublicKey, allowedIps: [`${d.wgIp}/32`] });
        return {};
    }
  }

  /**
   * Whether hawkBit already has this tenant's target for the device. A target with this id that is
   * not this tenant's (made by hand, or another tenant's) would put the device into someone else's
   * rollouts: refused, not taken over.
   */
  private async ownTarget(deviceId: string, tenantId: string): Promise<MgmtTarget | undefined> {
    const target = await this.o.hawkbit.getTarget(deviceId);
    if (target && tenantOfTarget(target.description) !== tenantId) {
      throw new HttpError(409, `hawkBit already has a target ${deviceId} that is not this tenant's device; an admin must remove it in hawkBit before this device can enroll`);
    }
    return target;
  }

  private async doDecommission(deviceId: string): Promise<DeviceRecord> {
    const { store } = this.o;
    let d = store.getDevice(deviceId);
    if (!d) throw new HttpError(404, `device ${deviceId} not enrolled`);
    if (d.status === 'decommissioned') return d;
    d = store.update(deviceId, { status: 'decommissioning' });
    // Reverse order; each step is undone idempotently and recorded, so a failure resumes here.
    const undo: Record<Step, () => Promise<void>> = {
      wireguard: () => this.o.wireguard.removePeer(d!.wgPublicKey),
      hawkbit: async () => void (await this.o.hawkbit.deleteTarget(deviceId)),
      thingsboard: () => this.o.thingsboard.remove(d!.tenantId, deviceId),
      certificate: async () => {
        if (d!.certSerial) await this.revoke(d!.certSerial);
      },
    };
    // Every undo runs even if its step is not marked done: a crash after the upstream call but
    // before the mark would otherwise leave an orphan (a peer, a target, a device).
    for (const step of [...STEPS].reverse()) {
      try {
        await undo[step]();
        d = store.markDone(deviceId, [step], false);
      } catch (err) {
        store.update(deviceId, { lastError: `decommission ${step}: ${(err as Error).message}` });
        throw toHttp(step, err);
      }
    }
    store.releaseAddress(deviceId);
    return store.update(deviceId, { lastError: undefined });
  }

  private async result(d: DeviceRecord, seen: Seen): Promise<EnrollResult> {
    const influx = this.o.tokens.get(d.tenantId);
    if (!influx) throw new HttpError(503, `no InfluxDB write token for tenant ${d.tenantId} yet (tenant-sync makes it); retry later`, 60);
    this.serverKey ??= (await this.o.wireguard.dump()).publicKey;
    const target = seen.target ?? (await this.o.hawkbit.getTarget(d.deviceId));
    return {
      deviceId: d.deviceId,
      tenantId: d.tenantId,
      certificate: { chain: d.certPem!, serial: d.certSerial!, notAfter: d.certNotAfter! },
      wireguard: {
        address: `${d.wgIp}/32`,
        serverPublicKey: this.serverKey,
        endpoint: this.o.wgEndpoint,
        allowedIps: [`${this.poolCidr()}`],
      },
      hawkbit: { controllerId: d.deviceId, securityToken: target?.securityToken },
      influxdb: { org: influx.org, bucket: influx.bucket, token: influx.token },
      ...(this.o.terminalKey ? { terminal: this.o.terminalKey } : {}),
    };
  }

  /** For devices: which step and upstream failed, not the upstream's words (those go to the log). */
  private toHttp(step: Step, err: unknown, deviceId: string): Error {
    if (err instanceof HttpError || err instanceof TenantNotReady) return toHttp(step, err);
    const upstream = err instanceof UpstreamError ? err.upstream : 'the bridge';
    this.o.logger.warn({ deviceId, step, err: (err as Error).message }, 'enrollment step failed upstream; a retry resumes here');
    return new HttpError(502, `${step} step failed at ${upstream}; retry later (the bridge logged the details)`);
  }

  private poolCidr(): string {
    const { base, prefix } = this.o.store.pool;
    return `${[24, 16, 8, 0].map((s) => (base >>> s) & 255).join('.')}/${prefix}`;
  }
}

const leaf = (chain: string) => `${chain.split(/(?<=-----END CERTIFICATE-----)/)[0]!.trim()}\n`;

/** Upstream trouble is 502/503 naming the upstream and the step; our own refusals pass through. */
function toHttp(step: Step, err: unknown): Error {
  if (err instanceof HttpError) return err;
  if (err instanceof TenantNotReady) return new HttpError(503, err.message, 60);
  const e = err as Error;
  return new HttpError(502, `${step} step failed: ${e.message}`);
}

export const newClaimId = () => `clm_${crypto.randomBytes(6).toString('hex')}`;
