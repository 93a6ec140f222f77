import crypto from 'node:crypto';
import type { GrafanaClient, GrafanaUser } from '@cdm/common';
import { ourRules, ruleForOrg } from './alert-rules.ts';
import { importable, SHA_TAG, type DashboardFile } from './dashboards.ts';
import { DATASOURCE_NAME, DATASOURCE_UID, planGrafana, type GrafanaAction, type GrafanaPlanContext, type GrafanaState, type GrafanaTenantState } from './grafana-plan.ts';
import { bucketName } from './influx-plan.ts';
import type { ReadTokens } from './influx-sync.ts';
import type { DesiredTenant } from './model.ts';
import { mapLimit, READ_CONCURRENCY, type Projection } from './projection.ts';

export const DASHBOARD_FOLDER = { uid: 'cdm', title: 'cdm' };

export interface GrafanaSyncOptions extends GrafanaPlanContext {
  grafana: GrafanaClient;
  tokens: ReadTokens;
}

/** Grafana side: reads orgs by listing, then per cdm org its data source, users and dashboards. */
export class GrafanaSync implements Projection<GrafanaState, GrafanaAction> {
  readonly system = 'grafana';
  readonly perTenant = true;
  private readonly orgs = new Map<string, number>();
  /** Each org's tenant as last read (null: not cdm's), so a pass over some tenants reads only their orgs. */
  private readonly tenantOfOrg = new Map<number, string | null>();
  /** Grafana's users by login and by email, listed once per pass when the first person is added. */
  private people?: Promise<Map<string, GrafanaUser>>;

  constructor(private readonly o: GrafanaSyncOptions) {}

  async read(tenants?: ReadonlySet<string>): Promise<GrafanaState> {
    const { grafana } = this.o;
    this.orgs.clear();
    this.people = undefined;
    const state: GrafanaState = { tenants: [], unclaimed: [], readTokens: await this.o.tokens.activeReadTokens() };
    const known = (id: number) => this.tenantOfOrg.get(id);
    // An org of a tenant outside the pass is left out; one never read (new, or not cdm's) is read.
    const orgs = (await grafana.listOrgs()).filter((o) => !tenants || !known(o.id) || tenants.has(known(o.id)!));
    const read = await mapLimit(orgs, READ_CONCURRENCY, async (org) => {
      const ds = await grafana.getDataSourceByUid(org.id, DATASOURCE_UID);
      const j = (ds?.jsonData ?? {}) as { cdmTenantId?: string; cdmTokenId?: string; organization?: string; defaultBucket?: string };
      this.tenantOfOrg.set(org.id, ds && j.cdmTenantId ? j.cdmTenantId : null);
      if (!ds || !j.cdmTenantId) return { unclaimed: { orgId: org.id, name: org.name } };
      if (tenants && !tenants.has(j.cdmTenantId)) return {};
      const [users, dashboards, rules, points, tree] = await Promise.all([
        grafana.orgUsers(org.id),
        grafana.search(org.id, { type: 'dash-db', tag: 'cdm', limit: 5000 }),
        this.o.alertRules?.length ? grafana.listAlertRules(org.id) : Promise.resolve([]),
        this.o.routes ? grafana.listContactPoints(org.id) : Promise.resolve(undefined),
        this.o.routes ? grafana.getPolicyTree(org.id) : Promise.resolve(undefined),
      ]);
      const t: GrafanaTenantState = {
        cdmId: j.cdmTenantId,
        orgId: org.id,
        name: org.name,
        datasource: { url: ds.url, organization: j.organization, defaultBucket: j.defaultBucket, tokenId: j.cdmTokenId },
        users: users.map((u) => ({ userId: u.userId, login: u.login, email: u.email.toLowerCase(), role: u.role })),
        dashboards: Object.fromEntries(dashboards.map((d) => [d.uid, d.tags?.find((x) => x.startsWith(SHA_TAG))?.slice(SHA_TAG.length)])),
        alertRules: ourRules(rules),
        ...(points && tree ? { routes: { points: points.filter((p) => p.uid).map((p) => ({ uid: p.uid!, name: p.name, url: p.settings?.url ?? '' })), tree } } : {}),
      };
      return { tenant: t };
    });
    for (const r of read) {
      if (r.tenant) {
        this.orgs.set(r.tenant.cdmId, r.tenant.orgId);
        state.tenants.push(r.tenant);
      } else if (r.unclaimed) state.unclaimed.push(r.unclaimed);
    }
    return state;
  }

  plan(desired: DesiredTenant[], actual: GrafanaState, skipped: ReadonlySet<string>): GrafanaAction[] {
    return planGrafana(desired, actual, this.o, skipped);
  }

  /** Contact points are per org, and the tree must stop naming one before it goes: only people and orgs are freed first. */
  freesNames(a: GrafanaAction): boolean {
    return a.kind === 'remove-user' || a.kind === 'delete-org';
  }

  describe(a: GrafanaAction): Record<string, unknown> {
    switch (a.kind) {
      case 'create-contact-point':
      case 'delete-contact-point':
        return { action: a.kind, contactPoint: a.name, url: a.url };
      case 'put-policy-tree':
        return { action: a.kind, receivers: JSON.stringify(a.tree).match(/"receiver":"[^"]+"/g)?.length ?? 0 };
      case 'create-org':
      case 'adopt-org':
      case 'rename-org':
      case 'delete-org':
        return { action: a.kind, org: a.name };
      case 'set-datasource':
        return { action: a.kind, newToken: a.mintToken, why: a.why };
      case 'add-user':
        return { action: a.kind, email: a.person.email, role: a.role };
      case 'set-role':
        return { action: a.kind, email: a.email, role: a.role };
      case 'remove-user':
        return { action: a.kind, email: a.email, why: a.why };
      case 'save-dashboard':
        return { action: a.kind, uid: a.uid, title: a.title };
      case 'save-alert-rule':
        return { action: a.kind, rule: a.rule, title: a.title, update: !!a.existingUid };
    }
  }

  async apply(_cdmId: string, actions: GrafanaAction[]): Promise<void> {
    for (const a of actions) await this.one(a);
  }

  private peopleOnce(): Promise<Map<string, GrafanaUser>> {
    this.people ??= this.o.grafana.listUsers().then(
      (users) => new Map(users.flatMap((u) => [[u.login, u] as const, [u.email.toLowerCase(), u] as const])),
      (err: unknown) => {
        this.people = undefined; // the next add lists again
        throw err;
      },
    );
    return this.people;
  }

  private async one(a: GrafanaAction): Promise<void> {
    const { grafana } = this.o;
    switch (a.kind) {
      case 'create-org': {
        // An org left by a crash before its data source was written is found by name and reused.
        const existing = await grafana.getOrgByName(a.name);
        this.orgs.set(a.cdmId, existing?.id ?? (await grafana.createOrg(a.name)));
        return;
      }
      case 'adopt-org':
        this.orgs.set(a.cdmId, a.orgId);
        return;
      case 'rename-org':
        await grafana.renameOrg(a.orgId, a.name);
        return;
      case 'set-datasource':
        return this.setDataSource(a.cdmId, a.mintToken);
      case 'add-user': {
        const orgId = this.org(a.cdmId);
        const people = await this.peopleOnce();
        let user = people.get(a.person.login) ?? people.get(a.person.email.toLowerCase());
        if (!user) {
          // People sign in through Keycloak; the password only satisfies Grafana's API and is never kept.
          const id = await grafana.createUser({ ...a.person, password: crypto.randomBytes(24).toString('base64url') });
          user = { id, login: a.person.login, email: a.person.email };
          // The same person may be added to another tenant's org later in this pass.
          people.set(user.login, user).set(user.email.toLowerCase(), user);
        }
        await grafana.addOrgUser(orgId, user.login, a.role);
        return;
      }
      case 'set-role':
        await grafana.setOrgUserRole(this.org(a.cdmId), a.userId, a.role);
        return;
      case 'remove-user':
        await grafana.removeOrgUser(this.org(a.cdmId), a.userId);
        return;
      case 'save-dashboard': {
        const orgId = this.org(a.cdmId);
        const file = this.o.dashboards.find((d) => d.uid === a.uid);
        if (!file) throw new Error(`dashboard ${a.uid} not in DASHBOARDS_DIR`);
        await this.ensureFolder(orgId);
        await grafana.saveDashboard(orgId, importable(file), { folderUid: DASHBOARD_FOLDER.uid, overwrite: true, message: `cdm ${file.sha}` });
        return;
      }
      case 'save-alert-rule': {
        const orgId = this.org(a.cdmId);
        const file = this.o.alertRules?.find((r) => r.uid === a.rule);
        if (!file) throw new Error(`alert rule ${a.rule} not in DASHBOARDS_DIR/alerts`);
        await this.ensureFolder(orgId);
        const rule = ruleForOrg(file, orgId, DASHBOARD_FOLDER.uid);
        // A rule created by a pass that crashed before reading it back is found by its uid and updated.
        const uid = a.existingUid ?? ((await grafana.getAlertRule(orgId, rule.uid!)) ? rule.uid : undefined);
        if (uid) await grafana.updateAlertRule(orgId, uid, { ...rule, uid });
        else await grafana.createAlertRule(orgId, rule);
        return;
      }
      case 'delete-org':
        await grafana.deleteOrg(a.orgId);
        this.orgs.delete(a.cdmId);
        return;
      case 'create-contact-point':
        await grafana.createContactPoint(this.org(a.cdmId), { name: a.name, type: 'webhook', settings: { url: a.url, httpMethod: 'POST' }, disableResolveMessage: false });
        return;
      case 'put-policy-tree':
        await grafana.putPolicyTree(this.org(a.cdmId), a.tree);
        return;
      case 'delete-contact-point':
        await grafana.deleteContactPoint(this.org(a.cdmId), a.uid);
        return;
    }
  }

  private async setDataSource(cdmId: string, mintToken: boolean): Promise<void> {
    const { grafana, tokens } = this.o;
    const orgId = this.org(cdmId);
    const current = await grafana.getDataSourceByUid(orgId, DATASOURCE_UID);
    const minted = mintToken ? await tokens.mintReadToken(cdmId) : undefined;
    const tokenId = minted?.id ?? (current?.jsonData as { cdmTokenId?: string } | undefined)?.cdmTokenId;
    const ds = {
      uid: DATASOURCE_UID,
      name: DATASOURCE_NAME,
      type: 'influxdb',
      access: 'proxy' as const,
      url: this.o.influxUrl,
      isDefault: true,
      jsonData: { version: 'Flux', organization: this.o.influxOrg, defaultBucket: bucketName(cdmId), cdmTenantId: cdmId, cdmTokenId: tokenId },
      // Grafana keeps a secure field that an update leaves out, so the token is sent only when new.
      ...(minted ? { secureJsonData: { token: minted.token } } : {}),
    };
    if (current?.uid) await grafana.updateDataSource(orgId, current.uid, ds);
    else await grafana.createDataSource(orgId, ds);
    if (minted) {
      // The replaced read tokens read nothing any more; remove them so they cannot leak later.
      for (const id of await tokens.readTokenIds(cdmId)) if (id !== minted.id) await tokens.deleteToken(id);
    }
  }

  private async ensureFolder(orgId: number): Promise<void> {
    if (!(await this.o.grafana.getFolder(orgId, DASHBOARD_FOLDER.uid))) await this.o.grafana.createFolder(orgId, DASHBOARD_FOLDER.uid, DASHBOARD_FOLDER.title);
  }

  private org(cdmId: string): number {
    const id = this.orgs.get(cdmId);
    if (id === undefined) throw new Error(`Grafana org for tenant ${cdmId} not created yet`);
    return id;
  }
}

export type { DashboardFile };
