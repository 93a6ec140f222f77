import { TenantActors, UpstreamError, cdmTenantInfo, withCdmTenantInfo, type DashboardInfo, type ThingsBoardClient, type User } from '@cdm/common';
import type { DesiredTenant } from './model.ts';
import { collect, mapLimit, READ_CONCURRENCY, type Projection } from './projection.ts';
import { cdmTbTenants } from './tb-tenants.ts';
import { OPERATOR_DASHBOARD, operatorUi, type OperatorUi } from './thingsboard-ui.ts';
import { OPERATORS_CUSTOMER, bridgeAdminEmail, planThingsBoard, type TbAction, type TbTenantState } from './thingsboard-plan.ts';

/**
 * ThingsBoard side of tenant-sync: reads the cdm-managed tenants (those whose additionalInfo
 * carries a cdmId) by listings, and applies a plan. Tenants without a cdmId are not ours and are
 * never touched.
 */
export class ThingsBoardSync implements Projection<TbTenantState[], TbAction> {
  readonly perTenant = true;
  readonly system = 'thingsboard';
  /** Acting inside a tenant goes the one way every bridge does (kept across passes, re-acquired when refused). */
  private readonly actors: TenantActors;
  /** cdm id → ThingsBoard tenant id, from the last read plus tenants created since. */
  private readonly tenants = new Map<string, string>();
  /** cdm id → id of its Operators customer, from the last read plus customers created since. */
  private readonly customers = new Map<string, string>();

  /** Dashboard id → its ThingsBoard version and the cdm version read at it: a dashboard unchanged since is not read again. */
  private readonly uiSeen = new Map<string, { tbVersion: number | null | undefined; version?: string }>();
  private readonly ui: OperatorUi;

  constructor(
    private readonly sys: ThingsBoardClient,
    o: { fleetUrl: string },
  ) {
    this.actors = new TenantActors(sys);
    this.ui = operatorUi(o.fleetUrl);
  }

  plan(desired: DesiredTenant[], actual: TbTenantState[], skipped: ReadonlySet<string>, everyone?: DesiredTenant[]): TbAction[] {
    return planThingsBoard(
      desired,
      actual.filter((s) => !skipped.has(s.cdmId)),
      { uiVersion: this.ui.version, ...(everyone ? { everyone } : {}) },
    );
  }

  describe(a: TbAction): Record<string, unknown> {
    switch (a.kind) {
      case 'create-tenant':
      case 'create-customer':
        return { action: a.kind, title: a.title };
      case 'update-tenant':
        return { action: a.kind, title: a.title, disabled: a.disabled };
      case 'create-admin':
      case 'create-operator':
        return { action: a.kind, email: a.person.email };
      case 'delete-user':
        return { action: a.kind, email: a.email, why: a.why };
      case 'put-operator-ui':
        return { action: a.kind, dashboard: OPERATOR_DASHBOARD, why: a.why };
      case 'delete-tenant':
        return { action: a.kind, title: a.title };
    }
  }

  async read(only?: ReadonlySet<string>): Promise<TbTenantState[]> {
    this.tenants.clear();
    this.customers.clear();
    return mapLimit(await cdmTbTenants(this.sys, only), READ_CONCURRENCY, async ({ cdmId, tbTenantId, title, disabled }) => {
      this.tenants.set(cdmId, tbTenantId);
      const admins = (await collect(this.sys.tenantUserPages(tbTenantId))).map(slim);
      const state: TbTenantState = { tbTenantId, title, cdmId, disabled, admins, operators: [] };
      const as = await this.actor(cdmId, admins);
      if (as) {
        const customer = await as.findCustomerByTitle(OPERATORS_CUSTOMER);
        if (customer?.id) {
          this.customers.set(cdmId, customer.id.id);
          state.operatorsCustomerId = customer.id.id;
          state.operators = (await collect(as.customerUserPages(customer.id.id))).map(slim);
        }
        state.ui = await this.readUi(as);
      }
      return state;
    });
  }

  /** The operators' dashboard of the tenant `as` acts in; its configuration is read only when ThingsBoard's version moved. */
  private async readUi(as: ThingsBoardClient): Promise<TbTenantState['ui']> {
    let info: DashboardInfo | undefined;
    for await (const page of as.tenantDashboardPages({ textSearch: OPERATOR_DASHBOARD })) {
      info = page.find((d) => d.title === OPERATOR_DASHBOARD && d.id);
      if (info) break;
    }
    if (!info?.id) return undefined;
    const id = info.id.id;
    let seen = this.uiSeen.get(id);
    if (!seen || seen.tbVersion !== info.version) {
      const full = await as.getDashboard(id);
      if (!full) return undefined;
      const cdm = full.configuration?.cdm as { version?: unknown } | undefined;
      seen = { tbVersion: full.version, version: typeof cdm?.version === 'string' ? cdm.version : undefined };
      this.uiSeen.set(id, seen);
    }
    return { dashboardId: id, version: seen.version, customerIds: (info.assignedCustomers ?? []).map((c) => c.customerId.id) };
  }

  /** Applies one tenant's actions in order; the first failure stops that tenant only. */
  async apply(_cdmId: string, actions: TbAction[]): Promise<void> {
    for (const a of actions) await this.one(a, this.tenants);
  }

  private async one(a: TbAction, tenants: Map<string, string>): Promise<void> {
    switch (a.kind) {
      case 'create-tenant': {
        const t = await this.sys.saveTenant({ title: a.title, additionalInfo: withCdmTenantInfo(undefined, a.cdmId) });
        tenants.set(a.cdmId, t.id!.id);
        return;
      }
      case 'update-tenant': {
        // ThingsBoard versions a tenant: another writer in between (a second tenant-sync reacting to
        // the same Keycloak event) is a 409. Read again: done if it already says what we would write.
        for (let attempt = 1; ; attempt++) {
          const t = await this.sys.getTenant(a.tbTenantId);
          if (!t) throw new Error(`ThingsBoard tenant ${a.tbTenantId} vanished`);
          if (t.title === a.title && cdmTenantInfo(t).disabled === a.disabled) return;
          try {
            await this.sys.saveTenant({ ...t, title: a.title, additionalInfo: withCdmTenantInfo(t.additionalInfo, a.cdmId, a.disabled) });
            return;
          } catch (err) {
            if (!(err instanceof UpstreamError && err.status === 409) || attempt >= 3) throw err;
          }
        }
      }
      case 'create-admin': {
        const tbTenantId = need(tenants, a.cdmId);
        await this.sys
          .saveUser({ email: a.person.email, firstName: a.person.firstName, lastName: a.person.lastName, authority: 'TENANT_ADMIN', tenantId: { id: tbTenantId, entityType: 'TENANT' } })
          .catch(async (err: unknown) => {
            // Another writer (a second tenant-sync, a pass racing a crash) got there first: fine if it is here.
            if (!taken(err) || !(await collect(this.sys.tenantUserPages(tbTenantId))).some((u) => u.email.toLowerCase() === a.person.email)) throw elsewhere(err, a.person.email);
          });
        return;
      }
      case 'create-customer': {
        const as = await this.actorFor(a.cdmId, tenants);
        const c = (await as.findCustomerByTitle(a.title)) ?? (await as.saveCustomer({ title: a.title, additionalInfo: { cdmId: a.cdmId } }));
        if (c.id) this.customers.set(a.cdmId, c.id.id);
        return;
      }
      case 'create-operator': {
        const as = await this.actorFor(a.cdmId, tenants);
        const known = this.customers.get(a.cdmId);
        const customer = known ? { id: { id: known, entityType: 'CUSTOMER' as const } } : await as.findCustomerByTitle(OPERATORS_CUSTOMER);
        if (!customer?.id) throw new Error(`ThingsBoard: customer ${OPERATORS_CUSTOMER} missing in tenant ${a.cdmId}`);
        await as.saveUser({ email: a.person.email, firstName: a.person.firstName, lastName: a.person.lastName, authority: 'CUSTOMER_USER', customerId: customer.id }).catch(async (err: unknown) => {
          if (!taken(err) || !(await collect(as.customerUserPages(customer.id!.id))).some((u) => u.email.toLowerCase() === a.person.email)) throw elsewhere(err, a.person.email);
        });
        return;
      }
      case 'delete-user':
        // As the tenant's own admin: ThingsBoard's system administrator may not delete a tenant's
        // customer users (403), and its tenant admins only while another one remains.
        await (await this.actorFor(a.cdmId, tenants)).deleteUser(a.userId);
        return;
      case 'put-operator-ui': {
        // Widget type first: the dashboard refers to it. Each step is a replace, so a pass that
        // stopped half-way is finished by the next one (the plan sees the old version or no assignment).
        const as = await this.actorFor(a.cdmId, tenants);
        await as.saveWidgetType(this.ui.widgetType);
        const existing = a.dashboardId ? await as.getDashboard(a.dashboardId) : undefined;
        const saved = await as.saveDashboard({ ...(existing ? { id: existing.id, version: existing.version } : {}), title: OPERATOR_DASHBOARD, configuration: this.ui.configuration });
        const customerId = this.customers.get(a.cdmId) ?? (await as.findCustomerByTitle(OPERATORS_CUSTOMER))?.id?.id;
        if (!customerId) throw new Error(`ThingsBoard: customer ${OPERATORS_CUSTOMER} missing in tenant ${a.cdmId}`);
        if (!(saved.assignedCustomers ?? []).some((c) => c.customerId.id === customerId)) await as.setDashboardCustomers(saved.id!.id, [customerId]);
        return;
      }
      case 'delete-tenant':
        // Only `purge`: ThingsBoard deletes the tenant's devices, telemetry and users with it.
        await this.sys.deleteTenant(a.tbTenantId);
        tenants.delete(a.cdmId);
        this.actors.forget(a.cdmId);
        return;
    }
  }

  /** The bridge admin of a tenant (or any admin of it) to act inside the tenant. */
  private async actor(cdmId: string, admins: { userId: string; email: string }[]): Promise<ThingsBoardClient | undefined> {
    const tbTenantId = this.tenants.get(cdmId);
    const admin = admins.find((u) => u.email === bridgeAdminEmail(cdmId)) ?? admins[0];
    if (!admin || !tbTenantId) return undefined;
    return this.actors.actor(cdmId, { tenantId: tbTenantId, adminUserId: admin.userId });
  }

  private async actorFor(cdmId: string, tenants: Map<string, string>): Promise<ThingsBoardClient> {
    return this.actors.actor(cdmId, { tenantId: need(tenants, cdmId) });
  }
}

/** ThingsBoard answers 400 "User with email ... already present in database!" for a taken email. */
const taken = (err: unknown) => err instanceof UpstreamError && err.status === 400 && /already present/i.test(err.message);
const elsewhere = (err: unknown, email: string) =>
  taken(err) ? new Error(`ThingsBoard: ${email} is already a user elsewhere (created by hand in another tenant?) — remove that user or change the email in Keycloak`) : err;

const slim = (u: User) => ({ userId: u.id!.id, email: u.email.toLowerCase() });
const need = (m: Map<string, string>, cdmId: string) => {
  const id = m.get(cdmId);
  if (!id) throw new Error(`ThingsBoard tenant for ${cdmId} not created yet`);
  return id;
};
