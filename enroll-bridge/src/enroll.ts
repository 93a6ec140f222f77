import 'reflect-metadata';
import crypto from 'node:crypto';
import { UpstreamError, isWgKey, type Logger } from '@cdm/common';
import { BadCsr, checkCsr, DEVICE_ID } from './csr.ts';
import { Refused, StepFailed } from './errors.ts';
import { cidrText } from './pool.ts';
import { enrollmentSteps, ownTarget, retireIdentity, type Seen, type StepDef, type Upstreams } from './steps.ts';
import { STEPS, type DevicePatch, type DeviceRecord, type Step, type Store } from './store.ts';
import { TenantNotReady } from './tb-devices.ts';
import { voucherOf } from './vouchers.ts';

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

export interface EnrollerOptions extends Upstreams {
  store: Store;
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

/**
 * Enrollment as a saga over the step table (steps.ts): the store records the device (and its
 * address) before any upstream is touched and marks each step when done, so a retry — by the
 * device or the repair pass — resumes where the last attempt stopped; decommission undoes every
 * step in reverse. One operation per device at a time. Refusals are `Refused`, upstream trouble
 * `StepFailed`; the API edge (http-answer.ts) turns them into statuses.
 */
export class Enroller {
  private readonly inProgress = new Map<string, Promise<unknown>>();
  private readonly steps: Record<Step, StepDef>;
  private serverKey?: string;

  constructor(private readonly o: EnrollerOptions) {
    this.steps = enrollmentSteps(o);
  }

  enroll(req: EnrollRequest): Promise<EnrollResult> {
    return this.serial(req.deviceId, () => this.doEnroll(req));
  }

  /**
   * Renewal for a device that proved (mTLS) it holds its current certificate: a new certificate for
   * the CSR (same or new key), and ThingsBoard's X.509 credentials follow so MQTT keeps working.
   */
  renew(deviceId: string, presentedSerial: string, csr: string): Promise<{ chain: string; serial: string; notAfter: string }> {
    return this.serial(deviceId, async () => {
      const d = await this.o.store.getDevice(deviceId);
      if (!d || d.status !== 'active') throw new Refused('forbidden', `device ${deviceId} is not enrolled`);
      const current = d.certSerial === presentedSerial;
      // The certificate renewal replaced stays good for renewal until the device shows the new one:
      // an answer lost on the way, or a failed ThingsBoard step, must not lock the device out.
      const previous = !current && d.prevCertSerial !== undefined && d.prevCertSerial === presentedSerial;
      if (!current && !previous) throw new Refused('forbidden', "that is not the device's current certificate");
      const facts = await checkedCsr(csr, deviceId);
      let next: DeviceRecord = d;
      if (!(previous && facts.keySha256 === d.keySha256)) {
        if (current) next = await this.o.store.update(deviceId, { prevCertSerial: presentedSerial });
        next = await this.o.store.update(deviceId, { ...(await this.upstream('certificate', next, { csr, seen: {} })), keySha256: facts.keySha256 });
      } // else: a retry with the old certificate and the new key gets the certificate already issued
      next = await this.o.store.update(deviceId, await this.upstream('thingsboard', next, { seen: {} }));
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
    for (const d of [...(await this.o.store.listDevices({ status: 'enrolling' })), ...(await this.o.store.listDevices({ status: 'decommissioning' }))]) {
      try {
        if (d.status === 'decommissioning') await this.decommission(d.deviceId);
        else if (d.certPem)
          await this.serial(d.deviceId, async () => {
            // Another replica may have finished or undone it meanwhile: act on what the store says now.
            const now = await this.o.store.getDevice(d.deviceId);
            if (now?.status === 'enrolling') await this.runSteps(now, undefined);
          });
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

  /** One operation per device at a time: queued here within this process, a lease across replicas. */
  private async serial<T>(deviceId: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.inProgress.get(deviceId) ?? Promise.resolve();
    const run = prev.catch(() => undefined).then(() => this.o.store.exclusive(deviceId, fn));
    this.inProgress.set(deviceId, run);
    try {
      return await run;
    } finally {
      if (this.inProgress.get(deviceId) === run) this.inProgress.delete(deviceId);
    }
  }

  private async doEnroll(req: EnrollRequest): Promise<EnrollResult> {
    const { store } = this.o;
    if (!DEVICE_ID.test(req.deviceId)) throw new Refused('invalid', `deviceId must match ${DEVICE_ID.source}`);
    if (!isWgKey(req.wgPublicKey)) throw new Refused('invalid', 'wgPublicKey must be a WireGuard public key (44 characters of base64)');
    if (req.sshHostKey !== undefined && !SSH_HOST_KEY.test(req.sshHostKey)) throw new Refused('invalid', 'sshHostKey must be one OpenSSH public key line (ssh-ed25519 or ecdsa-sha2-nistp256/384)');
    const t0 = performance.now();
    const claim = await voucherOf(store, req);
    const facts = await checkedCsr(req.csr, req.deviceId);
    const seen: Seen = {};

    let existing = await store.getDevice(req.deviceId);
    // A serial squatted in another tenant with a claim (a leaked image can enroll any serial) goes to
    // the tenant whose factory certificate proves it holds the hardware: the squatter's record is
    // decommissioned (certificate revoked, peer and target removed), then the device enrolls here.
    const supersede = existing !== undefined && claim.kind === 'factory' && existing.tenantId !== claim.tenantId && existing.status !== 'decommissioned' && existing.enrolledBy !== 'factory';
    if (supersede) {
      await this.quotaLeft(store, claim.tenantId);
      this.o.logger.warn({ deviceId: req.deviceId, from: existing!.tenantId, to: claim.tenantId }, 'device id enrolled elsewhere by a claim; its factory certificate moves it to its own tenant');
      existing = await this.doDecommission(req.deviceId);
    }
    // Before anything is written or signed, so a refused device leaves nothing behind.
    if (!existing?.done.includes('hawkbit')) seen.target = await this.failedAt('hawkbit', req.deviceId, () => ownTarget(this.o.hawkbit, req.deviceId, claim.tenantId));
    const t1 = performance.now();
    this.o.observe?.('checks', t1 - t0);
    let device: DeviceRecord;
    // Checked in the same transaction as the write: a WireGuard key is one tunnel, so a key another
    // device holds would move that device's peer to this one (seen: device A's tunnel was gone).
    const keyFree = async (s: Store) => {
      if (await s.wgKeyHolder(req.wgPublicKey, req.deviceId)) throw new Refused('conflict', 'wgPublicKey belongs to another device: generate a key on the device (wg genkey)');
    };
    // A request signed once proves possession once: the same bytes again may be a replay by anyone
    // who saw them, and would hand out the device's hawkBit token or replace its pinned host key.
    const fresh = async (s: Store) => {
      if (!(await s.useRequest(facts.requestSha256, req.deviceId)))
        throw new Refused('conflict', 'this certificate request was used before: sign a new one (enroll.sh puts a fresh challengePassword in each); a replayed request proves nothing');
    };
    const consume = <T>(fn: (s: Store) => Promise<T>, newDevice = true): Promise<T> =>
      store.atomically(async (s) => {
        await keyFree(s);
        if (newDevice) {
          await s.lockTenant(claim.tenantId);
          await this.quotaLeft(s, claim.tenantId);
        }
        await fresh(s);
        if (!(await claim.consume(s))) throw new Refused('forbidden', 'enrollment claim has no uses left');
        return fn(s);
      });
    const record = { deviceId: req.deviceId, tenantId: claim.tenantId, keySha256: facts.keySha256, wgPublicKey: req.wgPublicKey };
    const by = { enrolledBy: claim.kind };
    if (!existing) device = await consume(async (s) => s.update((await s.createDevice(record)).deviceId, by));
    else if (existing.status === 'decommissioned' && claim.kind === 'factory' && !supersede)
      throw new Refused('forbidden', 'device was decommissioned; enrolling it again needs a claim token from an admin, not its factory certificate');
    else if (existing.status === 'decommissioned') device = await consume(async (s) => s.update((await s.restartDevice(record)).deviceId, by));
    else if (existing.status === 'decommissioning') throw new Refused('conflict', 'device is being decommissioned; retry when that has finished');
    else if (existing.tenantId !== claim.tenantId) throw new Refused('forbidden', 'device is enrolled in another tenant');
    else if (existing.keySha256 === facts.keySha256 && existing.wgPublicKey === req.wgPublicKey)
      device = await store.atomically(async (s) => (await fresh(s), existing!)); // a retry: same identity, freshly signed
    else if (claim.deviceId === req.deviceId) {
      // New keys for a known device need a claim made for exactly this device (no takeover by serial).
      device = await consume((s) => s.update(req.deviceId, { keySha256: facts.keySha256, wgPublicKey: req.wgPublicKey, status: 'enrolling', ...by }), false);
      await this.o.wireguard.removePeer(existing.wgPublicKey).catch(() => undefined);
      await retireIdentity(this.o, existing);
      delete seen.target; // retiring gave the target a new security token
      device = await store.markDone(req.deviceId, ['certificate', 'thingsboard', 'wireguard'], false);
    } else throw new Refused('conflict', 'device already enrolled with another key; re-enrolling needs a claim created for this device (--device)');
    if (req.sshHostKey !== undefined && device.sshHostKey !== req.sshHostKey) device = await store.update(req.deviceId, { sshHostKey: req.sshHostKey });
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

  private async quotaLeft(store: Store, tenantId: string): Promise<void> {
    const quota = this.o.tenantQuota ?? 10_000;
    if ((await store.countDevices(tenantId)) >= quota)
      throw new Refused('forbidden', `tenant ${tenantId} has its quota of ${quota} devices; decommission devices or ask ops to raise TENANT_DEVICE_QUOTA`);
  }

  /**
   * The certificate first (the others carry it or need the device to hold one), then ThingsBoard,
   * hawkBit and WireGuard at the same time: they are independent. What they did is recorded in one
   * transaction (a disk flush each costs the event loop milliseconds): the steps that succeeded are
   * done, so a retry runs only what failed; a crash before that record redoes them, idempotently.
   */
  private async runSteps(device: DeviceRecord, csr: string | undefined, seen: Seen = {}): Promise<DeviceRecord> {
    const { store } = this.o;
    const run = (step: Step, d: DeviceRecord): Promise<DevicePatch> =>
      this.timed(step, () =>
        this.failedAt(step, d.deviceId, async () => {
          await this.o.beforeStep?.(step, d.deviceId);
          return this.steps[step].do(d, { csr, seen });
        }),
      );
    const recorded = (steps: Step[]) => {
      for (const step of steps) this.o.logger.debug({ deviceId: device.deviceId, step }, 'enrollment step done');
    };
    if (!device.done.includes('certificate')) {
      try {
        device = await store.markDone(device.deviceId, ['certificate'], true, await run('certificate', device));
        recorded(['certificate']);
      } catch (err) {
        await store.update(device.deviceId, { lastError: `certificate: ${detail(err)}` });
        throw err;
      }
    }
    const signed = device;
    const steps = STEPS.filter((s) => !signed.done.includes(s));
    const results = await Promise.allSettled(steps.map((s) => run(s, signed)));
    const failed = results.findIndex((r) => r.status === 'rejected');
    const patch = Object.assign({}, ...results.map((r) => (r.status === 'fulfilled' ? r.value : {}))) as DevicePatch;
    const done = steps.filter((_, i) => results[i]!.status === 'fulfilled');
    if (failed < 0) {
      const active = await store.markDone(device.deviceId, done, true, { ...patch, status: 'active', lastError: undefined });
      recorded(done);
      return active;
    }
    const err = (results[failed] as PromiseRejectedResult).reason as Error;
    await store.markDone(device.deviceId, done, true, { ...patch, lastError: `${steps[failed]}: ${detail(err)}` });
    recorded(done);
    throw err;
  }

  /** One step's `do` upstream; a failure becomes StepFailed naming step and upstream, the details logged. */
  private upstream(step: Step, d: DeviceRecord, ctx: Parameters<StepDef['do']>[1]): Promise<DevicePatch> {
    return this.failedAt(step, d.deviceId, () => this.steps[step].do(d, ctx));
  }

  private async failedAt<T>(step: Step, deviceId: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      if (err instanceof Refused || err instanceof TenantNotReady) throw err;
      const upstream = err instanceof UpstreamError ? err.upstream : 'the bridge';
      this.o.logger.warn({ deviceId, step, err: (err as Error).message }, 'enrollment step failed upstream; a retry resumes here');
      throw new StepFailed(step, upstream, 'enroll', err);
    }
  }

  private async doDecommission(deviceId: string): Promise<DeviceRecord> {
    const { store } = this.o;
    let d = await store.getDevice(deviceId);
    if (!d) throw new Refused('not-found', `device ${deviceId} not enrolled`);
    if (d.status === 'decommissioned') return d;
    d = await store.update(deviceId, { status: 'decommissioning' });
    // Reverse order; each undo is idempotent and recorded, so a failure resumes here. Every undo runs
    // even if its step is not marked done (see StepDef.undo).
    for (const step of [...STEPS].reverse()) {
      try {
        await this.steps[step].undo(d);
        await store.markDone(deviceId, [step], false);
      } catch (err) {
        await store.update(deviceId, { lastError: `decommission ${step}: ${(err as Error).message}` });
        if (err instanceof TenantNotReady) throw err;
        throw new StepFailed(step, err instanceof UpstreamError ? err.upstream : 'the bridge', 'decommission', err);
      }
    }
    await store.releaseAddress(deviceId);
    return store.update(deviceId, { lastError: undefined });
  }

  private async result(d: DeviceRecord, seen: Seen): Promise<EnrollResult> {
    const influx = this.o.tokens.get(d.tenantId);
    if (!influx) throw new Refused('unavailable', `no InfluxDB write token for tenant ${d.tenantId} yet (tenant-sync makes it); retry later`, 60);
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
        allowedIps: [cidrText(this.o.store.pool)],
      },
      hawkbit: { controllerId: d.deviceId, securityToken: target?.securityToken },
      influxdb: { org: influx.org, bucket: influx.bucket, token: influx.token },
      ...(this.o.terminalKey ? { terminal: this.o.terminalKey } : {}),
    };
  }
}

/** What went wrong, in the upstream's words where there was one (for the store's lastError, which admins see). */
const detail = (err: unknown) => ((err instanceof StepFailed ? err.cause : err) as Error).message;

/** The CSR's facts for this device, or a refusal saying what is wrong with it. */
const checkedCsr = (csr: string, deviceId: string) =>
  checkCsr(csr, deviceId).catch((err: unknown) => {
    throw err instanceof BadCsr ? new Refused('invalid', err.message) : err;
  });

export const newClaimId = () => `clm_${crypto.randomBytes(6).toString('hex')}`;
