import type { KeycloakClient } from '@cdm/common';
import { readKeycloak } from './keycloak-snapshot.ts';
import type { GrafanaSync } from './grafana-sync.ts';
import { purgeGrafana } from './grafana-plan.ts';
import type { InfluxSync } from './influx-sync.ts';
import { purgeInflux } from './influx-plan.ts';
import type { Action, Projection } from './projection.ts';
import type { ThingsBoardSync } from './thingsboard-sync.ts';
import { purgeThingsBoard } from './thingsboard-plan.ts';

export interface PurgePlan {
  cdmId: string;
  name: string;
  steps: { system: string; projection: Projection<unknown, Action>; actions: Action[] }[];
}

export interface PurgeDeps {
  keycloak: KeycloakClient;
  parentGroup: string;
  thingsboard: ThingsBoardSync;
  grafana: GrafanaSync;
  influx: InfluxSync;
}

/**
 * Finds what a deleted tenant left behind (named by its old name or cdm id) and plans deleting
 * it: ThingsBoard tenant (devices, telemetry, users), Grafana org (dashboards), InfluxDB bucket
 * and tokens, the stored device token. Refused while the Keycloak group exists: Keycloak owns
 * tenants, so a live tenant is never purged.
 */
export async function planPurge(d: PurgeDeps, tenant: string): Promise<PurgePlan> {
  const snapshot = await readKeycloak(d.keycloak, d.parentGroup);
  const live = snapshot.tenants.find((t) => t.id === tenant || t.name === tenant);
  if (live) throw new PurgeRefused(`tenant "${live.name}" still exists in Keycloak (${d.parentGroup}/${live.name}); delete the group first`);
  const [tb, gf, ix] = await Promise.all([d.thingsboard.read(), d.grafana.read(), d.influx.read()]);
  const tbHit = tb.find((t) => t.cdmId === tenant || t.title === tenant);
  const gfHit = gf.tenants.find((t) => t.cdmId === tenant || t.name === tenant);
  const cdmId = tbHit?.cdmId ?? gfHit?.cdmId ?? ix.tenants.find((t) => t.cdmId === tenant)?.cdmId;
  if (!cdmId) throw new PurgeRefused(`no cdm tenant named "${tenant}" in ThingsBoard, Grafana or InfluxDB`);
  const name = tbHit?.title ?? gfHit?.name ?? cdmId;
  const steps = [
    { system: 'thingsboard', projection: d.thingsboard, actions: purgeThingsBoard(cdmId, tb) },
    { system: 'grafana', projection: d.grafana, actions: purgeGrafana(cdmId, gf) },
    { system: 'influxdb', projection: d.influx, actions: purgeInflux(cdmId, ix, gf.readTokens.get(cdmId) ?? []) },
  ] as PurgePlan['steps'];
  return { cdmId, name, steps: steps.filter((s) => s.actions.length) };
}

export async function runPurge(p: PurgePlan): Promise<void> {
  for (const s of p.steps) await s.projection.apply(p.cdmId, s.actions);
}

export class PurgeRefused extends Error {}
