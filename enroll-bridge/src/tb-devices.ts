import type { ThingsBoardClient } from '@cdm/common';

export const DEVICE_PROFILE = 'cdm-x509';
/** The tenant admin tenant-sync creates in every tenant for the bridges (see tenant-sync). */
const bridgeAdminEmail = (cdmId: string) => `cdm-bridge+${cdmId}@cdm.invalid`;

export class TenantNotReady extends Error {}

/**
 * ThingsBoard side of a device: the device in its tenant with X.509 credentials (its current
 * certificate) and server attributes. ThingsBoard lets only a tenant admin create devices, so
 * this acts as the tenant's bridge admin. Every call is idempotent (found by name first).
 */
export class ThingsBoardDevices {
  private readonly actors = new Map<string, Promise<ThingsBoardClient>>();
  private readonly profiles = new Map<string, Promise<string>>();

  constructor(private readonly sys: ThingsBoardClient) {}

  private actor(cdmId: string): Promise<ThingsBoardClient> {
    let p = this.actors.get(cdmId);
    if (!p) {
      p = this.resolve(cdmId);
      this.actors.set(cdmId, p);
      p.catch(() => this.actors.delete(cdmId)); // not cached on failure: the next call looks again
    }
    return p;
  }

  private async resolve(cdmId: string): Promise<ThingsBoardClient> {
    for await (const page of this.sys.tenantPages()) {
      const t = page.find((x) => (x.additionalInfo as { cdmId?: string } | undefined)?.cdmId === cdmId);
      if (!t?.id) continue;
      if ((t.additionalInfo as { cdmDisabled?: boolean }).cdmDisabled) throw new TenantNotReady(`tenant ${cdmId} is disabled (its Keycloak group was deleted)`);
      for await (const users of this.sys.tenantUserPages(t.id.id)) {
        const admin = users.find((u) => u.email.toLowerCase() === bridgeAdminEmail(cdmId));
        if (admin?.id) return this.sys.actAs(admin.id.id);
      }
      throw new TenantNotReady(`ThingsBoard tenant ${cdmId} has no bridge admin yet — tenant-sync creates it; retry after its next pass`);
    }
    throw new TenantNotReady(`no ThingsBoard tenant for ${cdmId} yet — tenant-sync creates it from the Keycloak group; retry after its next pass`);
  }

  /** One lookup-or-create per tenant at a time: concurrent first enrollments must not both create it. */
  private profileId(as: ThingsBoardClient, cdmId: string): Promise<string> {
    let p = this.profiles.get(cdmId);
    if (!p) {
      p = (async () => {
        const found = await as.findDeviceProfile(DEVICE_PROFILE);
        if (found?.id) return found.id.id;
        const made = await as
          .saveDeviceProfile({
            name: DEVICE_PROFILE,
            description: 'cdm devices: MQTT with X.509 client certificates from step-ca',
            type: 'DEFAULT',
            transportType: 'MQTT',
            provisionType: 'DISABLED',
            profileData: { configuration: { type: 'DEFAULT' }, transportConfiguration: { type: 'MQTT' } },
          })
          // Another bridge instance made it in between: use theirs.
          .catch(async (err: unknown) => (await as.findDeviceProfile(DEVICE_PROFILE)) ?? Promise.reject(err));
        return made.id!.id;
      })();
      this.profiles.set(cdmId, p);
      p.catch(() => this.profiles.delete(cdmId));
    }
    return p;
  }

  /** Creates the device, or brings an existing one's certificate and attributes up to date. */
  async ensure(cdmId: string, deviceId: string, certPem: string, attributes: Record<string, unknown>): Promise<string> {
    const as = await this.actor(cdmId);
    let device = await as.findDeviceByName(deviceId);
    if (!device) {
      const profile = await this.profileId(as, cdmId);
      device = await as.saveDeviceWithCredentials(
        { name: deviceId, type: DEVICE_PROFILE, deviceProfileId: { id: profile, entityType: 'DEVICE_PROFILE' } },
        { credentialsType: 'X509_CERTIFICATE', credentialsValue: certPem },
      );
    } else {
      const creds = await as.getDeviceCredentials(device.id!.id);
      if (creds && (creds.credentialsType !== 'X509_CERTIFICATE' || creds.credentialsValue !== certPem)) {
        await as.updateDeviceCredentials({ ...creds, credentialsType: 'X509_CERTIFICATE', credentialsValue: certPem });
      }
    }
    await as.saveAttributes({ id: device.id!.id, entityType: 'DEVICE' }, 'SERVER_SCOPE', attributes);
    return device.id!.id;
  }

  /** Deletes the device (decommission); already gone is fine. */
  async remove(cdmId: string, deviceId: string): Promise<void> {
    const as = await this.actor(cdmId).catch((err: unknown) => {
      if (err instanceof TenantNotReady) return undefined; // tenant gone: nothing of ours left there
      throw err;
    });
    const device = await as?.findDeviceByName(deviceId);
    if (as && device?.id) await as.deleteDevice(device.id.id);
  }

  async ping(): Promise<void> {
    await this.sys.ping();
  }
}
