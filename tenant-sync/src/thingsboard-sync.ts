import type { ThingsBoardClient, Tenant, User } from '@cdm/common';
import { OPERATORS_CUSTOMER, bridgeAdminEmail, type TbAction, type TbTenantState } from './thingsboard-plan.ts';

const collect = async <T>(it: AsyncIterable<T[]>): Promise<T[]> => {
  const out: T[] = [];
  for await (const p of it) out.push(...p);
  return out;
};
const info = (t: Tenant) => (t.additionalInfo ?? {}) as { cdmId?: string; cdmDisabled?: boolean };

/**
 * ThingsBoard side of tenant-sync: reads the cdm-managed tenants (those whose additionalInfo
 * carries a cdmId) by listings, and applies a plan. Tenants without a cdmId are not ours and are
 * never touched.
 */
export class ThingsBoardSync {
  private readonly acting = new Map<string, ThingsBoardClient>();

  constructor(private readonly sys: ThingsBoardClient) {}

  async read(): Promise<TbTenantState[]> {
    this.acting.clear();
    const tenants = (await collect(this.sys.tenantPages())).filter((t) => info(t).cdmId && t.id);
    const out: TbTenantState[] = [];
    for (const t of tenants) {
      const cdmId = info(t).cdmId!;
      const admins = (await collect(this.sys.tenantUserPages(t.id!.id))).map(slim);
      const state: TbTenantState = { tenantId: t.id!.id, title: t.title, cdmId, disabled: info(t).cdmDisabled === true, admins, operators: [] };
      const as = await this.actor(cdmId, admins);
      if (as) {
        const customer = await as.findCustomerByTitle(OPERATORS_CUSTOMER);
        if (customer?.id) {
          state.operatorsCustomerId = customer.id.id;
          state.operators = (await collect(as.customerUserPages(customer.id.id))).map(slim);
        }
      }
      out.push(state);
    }
    return out;
  }

  /** Applies one tenant's actions in order; the first failure stops that tenant only. */
  async apply(actions: TbAction[], tenants: Map<string, string>): Promise<void> {
    for (const a of actions) await this.one(a, tenants);
  }

  private async one(a: TbAction, tenants: Map<string, string>): Promise<void> {
    switch (a.kind) {
      case 'create-tenant': {
        const t = await this.sys.saveTenant({ title: a.title, additionalInfo: { cdmId: a.cdmId, cdmManaged: true } });
        tenants.set(a.cdmId, t.id!.id);
        return;
      }
      case 'update-tenant': {
        const t = await this.sys.getTenant(a.tenantId);
        if (!t) throw new Error(`ThingsBoard tenant ${a.tenantId} vanished`);
        await this.sys.saveTenant({ ...t, title: a.title, additionalInfo: { ...info(t), cdmId: a.cdmId, cdmManaged: true, cdmDisabled: a.disabled } });
        return;
      }
      case 'create-admin': {
        const tenantId = need(tenants, a.cdmId);
        await this.sys.saveUser({ email: a.person.email, firstName: a.person.firstName, lastName: a.person.lastName, authority: 'TENANT_ADMIN', tenantId: { id: tenantId, entityType: 'TENANT' } });
        return;
      }
      case 'create-customer': {
        const as = await this.actorFor(a.cdmId, tenants);
        if (!(await as.findCustomerByTitle(a.title))) await as.saveCustomer({ title: a.title, additionalInfo: { cdmId: a.cdmId } });
        return;
      }
      case 'create-operator': {
        const as = await this.actorFor(a.cdmId, tenants);
        const customer = await as.findCustomerByTitle(OPERATORS_CUSTOMER);
        if (!customer?.id) throw new Error(`ThingsBoard: customer ${OPERATORS_CUSTOMER} missing in tenant ${a.cdmId}`);
        await as.saveUser({ email: a.person.email, firstName: a.person.firstName, lastName: a.person.lastName, authority: 'CUSTOMER_USER', customerId: customer.id });
        return;
      }
      case 'delete-user':
        await this.sys.deleteUser(a.userId);
        return;
    }
  }

  /** The bridge admin of a tenant (or any admin of it) to act inside the tenant. */
  private async actor(cdmId: string, admins: { userId: string; email: string }[]): Promise<ThingsBoardClient | undefined> {
    const cached = this.acting.get(cdmId);
    if (cached) return cached;
    const admin = admins.find((u) => u.email === bridgeAdminEmail(cdmId)) ?? admins[0];
    if (!admin) return undefined;
    const c = await this.sys.actAs(admin.userId);
    this.acting.set(cdmId, c);
    return c;
  }

  private async actorFor(cdmId: string, tenants: Map<string, string>): Promise<ThingsBoardClient> {
    const admins = (await collect(this.sys.tenantUserPages(need(tenants, cdmId)))).map(slim);
    const c = await this.actor(cdmId, admins);
    if (!c) throw new Error(`ThingsBoard: tenant ${cdmId} has no tenant admin to act as`);
    return c;
  }
}

const slim = (u: User) => ({ userId: u.id!.id, email: u.email.toLowerCase() });
const need = (m: Map<string, string>, cdmId: string) => {
  const id = m.get(cdmId);
  if (!id) throw new Error(`ThingsBoard tenant for ${cdmId} not created yet`);
  return id;
};
