import type { KeycloakClient } from '@cdm/common';
import type { DesiredTenant } from './model.ts';
import { mapLimit, READ_CONCURRENCY, type Projection } from './projection.ts';
import { HAWKBIT_MANAGED, planHawkbit, type HawkbitAction, type HawkbitState } from './hawkbit-plan.ts';

/** hawkBit access as client-role mappings of the hawkBit client in Keycloak (see hawkbit-plan.ts). */
export class HawkbitAccessSync implements Projection<HawkbitState, HawkbitAction> {
  readonly system = 'hawkbit';
  private client?: { id: string; roles: Map<string, string> };

  constructor(private readonly o: { keycloak: KeycloakClient; clientId: string; releaseGroup: string }) {}

  async read(): Promise<HawkbitState> {
    const kc = this.o.keycloak;
    const client = await kc.findClient(this.o.clientId);
    if (!client)
      throw new Error(
        `Keycloak: client ${this.o.clientId} (hawkBit's permissions) not found in realm ${kc.realm} — import stack/keycloak/cdm-realm.json or create it with roles ${HAWKBIT_MANAGED.join(', ')}`,
      );
    const roles = new Map((await kc.clientRoles(client.id)).filter((r) => r.id && r.name).map((r) => [r.name!, r.id!]));
    const missing = HAWKBIT_MANAGED.filter((r) => !roles.has(r));
    if (missing.length) throw new Error(`Keycloak: client ${this.o.clientId} lacks roles ${missing.join(', ')} — add them (stack/keycloak/cdm-realm.json lists them)`);
    this.client = { id: client.id, roles };
    const holders: HawkbitState['holders'] = new Map();
    const listed = await mapLimit(HAWKBIT_MANAGED, READ_CONCURRENCY, (role) => kc.usersWithClientRole(client.id, role));
    for (const [i, role] of HAWKBIT_MANAGED.entries()) {
      for (const u of listed[i]!) {
        if (!u.id) continue;
        const h = holders.get(u.id) ?? { username: u.username ?? '', roles: new Set<string>() };
        h.roles.add(role);
        holders.set(u.id, h);
      }
    }
    const group = await kc.getGroupByPath(this.o.releaseGroup);
    const releaseManagers = new Map(group?.id ? (await kc.listMembers(group.id)).filter((u) => u.id && u.enabled !== false).map((u) => [u.id!, u.username ?? '']) : []);
    return { holders, releaseManagers };
  }

  plan(desired: DesiredTenant[], actual: HawkbitState): HawkbitAction[] {
    return planHawkbit(desired, actual);
  }

  describe(a: HawkbitAction): Record<string, unknown> {
    return a.kind === 'grant' ? { action: a.kind, user: a.username, roles: a.roles } : { action: a.kind, user: a.username, roles: a.roles, why: a.why };
  }

  async apply(_cdmId: string, actions: HawkbitAction[]): Promise<void> {
    const c = this.client;
    if (!c) throw new Error('hawkBit access: read() must run before apply()');
    for (const a of actions) {
      const roles = a.roles.map((name) => ({ id: c.roles.get(name)!, name }));
      if (a.kind === 'grant') await this.o.keycloak.addClientRoles(a.userId, c.id, roles);
      else await this.o.keycloak.removeClientRoles(a.userId, c.id, roles);
    }
  }
}
