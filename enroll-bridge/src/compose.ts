import fs from 'node:fs';
import { hawkbitFrom, keycloakFrom, stepcaFrom, TenantAuthority, thingsboardFrom, wireguardFrom, type HawkbitClient, type Logger } from '@cdm/common';
import type { EnrollBridgeConfig } from './config.ts';
import { Enroller, type EnrollerOptions } from './enroll.ts';
import { hubAddress } from './pool.ts';
import { Store } from './store.ts';
import { TenantDirectory } from '@cdm/common';
import type { AdminApiOptions } from './admin-api.ts';
import { ThingsBoardDevices } from './tb-devices.ts';
import { TenantTokenFiles } from './tenant-tokens.ts';

/** Clients, store and enroller from a validated config: used by main.ts and by the e2e tests. */
export async function composeEnrollBridge(config: EnrollBridgeConfig, logger: Logger, hooks: Pick<EnrollerOptions, 'beforeStep' | 'observe'> = {}) {
  const store = await Store.open({ url: config.DATABASE_URL, dataDir: config.DATA_DIR, poolCidr: config.WG_POOL_CIDR, log: (m) => logger.warn(m) });
  const clients = { stepca: await stepcaFrom(config), thingsboard: thingsboardFrom(config), hawkbit: hawkbitFrom(config), wireguard: wireguardFrom(config) };
  const thingsboard = new ThingsBoardDevices(clients.thingsboard);
  const enroller = new Enroller({
    store,
    stepca: clients.stepca,
    thingsboard,
    hawkbit: clients.hawkbit,
    wireguard: clients.wireguard,
    tokens: new TenantTokenFiles(config.TENANT_TOKEN_DIR),
    wgEndpoint: config.WG_ENDPOINT,
    tenantQuota: config.TENANT_DEVICE_QUOTA,
    terminalKey: config.TERMINAL_GATEWAY_PUBLIC_KEY_FILE
      ? { authorizedKey: fs.readFileSync(config.TERMINAL_GATEWAY_PUBLIC_KEY_FILE, 'utf8').trim(), from: config.TERMINAL_GATEWAY_FROM ?? hubAddress(store.pool) }
      : undefined,
    logger,
    ...hooks,
  });
  const tenants = new TenantDirectory(clients.thingsboard);
  const authority = new TenantAuthority(keycloakFrom(config), { parentPath: config.TENANT_PARENT_GROUP });
  const admin = (verifier?: AdminApiOptions['verifier']): AdminApiOptions | undefined => (verifier ? { verifier, authority, store, enroller, logger } : undefined);
  return { store, clients, thingsboard, enroller, tenants, authority, admin };
}

/**
 * Devices authenticate to hawkBit's DDI API with the target security token enrollment hands them;
 * hawkBit accepts those only while the tenant setting is on (off by default). Idempotent.
 */
export async function enableTargetTokens(hawkbit: HawkbitClient): Promise<void> {
  if ((await hawkbit.getConfig('authentication.targettoken.enabled')) !== true) await hawkbit.setConfig('authentication.targettoken.enabled', true);
}
