import { OPERATORS_CUSTOMER, TenantActors, UpstreamError, TenantNotReady, x509CredentialsValue, type Device, type ThingsBoardClient } from '@cdm/common';

export { TenantNotReady };

export const DEVICE_PROFILE = 'cdm-x509';
/**
 * ThingsBoard side of a device: the device in its tenant with X.509 credentials (its current
 * certificate) and server attributes. ThingsBoard lets only a tenant admin create devices, so
 * this acts as the tenant's bridge admin. Every call is idempotent (a create that finds the name
 * taken finds the device by name and brings it up to date).
 */
export class ThingsBoardDevices {
  private readonly profiles = new Map<string, Promise<string>>();
  private readonly operators = new Map<string, string>();
  private readonly tenants: TenantActors;

  constructor(private readonly sys: ThingsBoardClient) {
    this.tenants = new TenantActors(sys);
  }

  private actor(cdmId: string): Promise<ThingsBoardClient> {
    return this.tenants.actor(cdmId);
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

  /**
   * Creates the device, or brings an existing one's certificate and attributes up to date. A device
   * the store has never seen in ThingsBoard (`isNew`) is created in one call, already its operators'
   * (two calls less on every enrollment); when ThingsBoard has it after all (a retry after a crash)
   * or the remembered customer is gone, the long way finds and repairs it.
   */
  async ensure(cdmId: string, deviceId: string, certPem: string, attributes: Record<string, unknown>, o: { isNew?: boolean } = {}): Promise<string> {
    const as = await this.actor(cdmId);
    const device = (o.isNew ? await this.create(as, cdmId, deviceId, certPem) : undefined) ?? (await this.repair(as, cdmId, deviceId, certPem));
    await as.saveAttributes({ id: device.id!.id, entityType: 'DEVICE' }, 'SERVER_SCOPE', attributes);
    return device.id!.id;
  }

  private async create(as: ThingsBoardClient, cdmId: string, deviceId: string, certPem: string): Promise<Device | undefined> {
    const operators = await this.operatorsOf(as, cdmId);
    const profile = await this.profileId(as, cdmId);
    return as
      .saveDeviceWithCredentials(
        {
          name: deviceId,
          type: DEVICE_PROFILE,
          deviceProfileId: { id: profile, entityType: 'DEVICE_PROFILE' },
          ...(operators ? { customerId: { id: operators, entityType: 'CUSTOMER' } } : {}),
        },
        { credentialsType: 'X509_CERTIFICATE', credentialsValue: certPem },
      )
      .catch((err: unknown) => {
        if (!(err instanceof UpstreamError && err.status === 400)) throw err;
        if (/non-existent customer/i.test(err.message)) return void this.operators.delete(cdmId);
        if (/already exists/i.test(err.message)) return undefined;
        throw err;
      });
  }

  private async repair(as: ThingsBoardClient, cdmId: string, deviceId: string, certPem: string): Promise<Device> {
    let device = await as.findDeviceByName(deviceId);
    if (!device) {
      const profile = await this.profileId(as, cdmId);
      device = await as.saveDeviceWithCredentials(
        { name: deviceId, type: DEVICE_PROFILE, deviceProfileId: { id: profile, entityType: 'DEVICE_PROFILE' } },
        { credentialsType: 'X509_CERTIFICATE', credentialsValue: certPem },
      );
    } else {
      const creds = await as.getDeviceCredentials(device.id!.id);
      if (creds && (creds.credentialsType !== 'X509_CERTIFICATE' || x509CredentialsValue(creds.credentialsValue ?? '') !== x509CredentialsValue(certPem))) {
        await as.updateDeviceCredentials({ ...creds, credentialsType: 'X509_CERTIFICATE', credentialsValue: certPem });
      }
    }
    // The tenant's operators (customer users in ThingsBoard) see the device once it is their customer's.
    // Until tenant-sync has made the customer, admins alone see it; the next ensure (renewal) assigns it.
    const operators = await this.operatorsOf(as, cdmId);
    if (operators && device.customerId?.id !== operators) {
      await as.assignDeviceToCustomer(operators, device.id!.id).catch((err: unknown) => {
        // The customer was deleted by hand (tenant-sync makes a new one): look it up again next time.
        if (err instanceof UpstreamError && err.status === 404) return void this.operators.delete(cdmId);
        throw err;
      });
    }
    return device;
  }

  /** The tenant's Operators customer id, looked up once per tenant (again while it does not exist yet). */
  private async operatorsOf(as: ThingsBoardClient, cdmId: string): Promise<string | undefined> {
    const known = this.operators.get(cdmId);
    if (known) return known;
    const id = (await as.findCustomerByTitle(OPERATORS_CUSTOMER))?.id?.id;
    if (id) this.operators.set(cdmId, id);
    return id;
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
