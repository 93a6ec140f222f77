import readline from 'node:readline/promises';
import { parseArgs } from 'node:util';
import { tenantBucket, type InfluxClient } from '@cdm/common';
import { ArchiveError, exportDay, restoreDay } from './cold-archive.ts';
import type { GrafanaSync } from './grafana-sync.ts';
import type { InfluxSync } from './influx-sync.ts';
import type { KeycloakClient } from '@cdm/common';
import { planPurge, PurgeRefused, runPurge } from './purge.ts';
import type { Plan, TenantSync } from './reconcile.ts';
import type { ThingsBoardSync } from './thingsboard-sync.ts';

export interface CliDeps {
  config: { TENANT_PARENT_GROUP: string; INFLUXDB_ORG: string };
  clients: { influx: InfluxClient };
  keycloak: KeycloakClient;
  thingsboard: ThingsBoardSync;
  grafana: GrafanaSync;
  influx: InfluxSync;
  sync: TenantSync;
}

const out = (s: string) => process.stdout.write(`${s}\n`);

/** Human form of a plan: one line per change, grouped by system, tenant names instead of ids. */
export function renderPlan(plan: Plan, sync: Pick<TenantSync, 'describe'>): string {
  const names = new Map(plan.tenants.map((t) => [t.cdmId, t.name]));
  const lines: string[] = [`${plan.tenants.length} tenant(s) in Keycloak`];
  for (const i of plan.invalid) lines.push(`  ! skipped group "${i.name}": ${i.reason}`);
  let total = 0;
  for (const s of plan.systems) {
    if (s.error) {
      lines.push(`${s.system}: cannot read — ${s.error}`);
      continue;
    }
    lines.push(`${s.system}: ${s.actions.length ? `${s.actions.length} change(s)` : 'in line'}`);
    for (const a of s.actions) {
      const { cdmId, action, ...rest } = sync.describe(s.system, a) as { cdmId: string; action: string } & Record<string, unknown>;
      const who = cdmId === '*' ? 'all tenants' : (names.get(cdmId) ?? `deleted tenant ${cdmId}`);
      const detail = Object.entries(rest)
        .map(([k, v]) => `${k}=${Array.isArray(v) ? v.join(',') : String(v)}`)
        .join(' ');
      lines.push(`  ${action.padEnd(18)} ${who}  ${detail}`);
    }
    total += s.actions.length;
  }
  lines.push(total ? `${total} change(s) in total` : 'nothing to change');
  return lines.join('\n');
}

export async function runCli(command: string, args: string[], usage: string, build: () => CliDeps): Promise<number> {
  if (!['plan', 'apply', 'purge', 'export', 'restore'].includes(command)) {
    process.stderr.write(`unknown command "${command}"\n${usage}\n`);
    return 2;
  }
  const d = build();
  if (command === 'export' || command === 'restore') return archive(command, args, d);
  if (command === 'plan') {
    const plan = await d.sync.plan();
    if (args.includes('--json')) out(JSON.stringify({ ...plan, systems: plan.systems.map((s) => ({ ...s, actions: s.actions.map((a) => d.sync.describe(s.system, a)) })) }, null, 2));
    else out(renderPlan(plan, d.sync));
    return plan.systems.some((s) => s.error) ? 1 : 0;
  }
  if (command === 'apply') {
    out('reading Keycloak, ThingsBoard, InfluxDB, Grafana and hawkBit access…');
    const r = await d.sync.apply();
    out(`pass ${r.runId}: ${r.tenants} tenant(s), ${r.applied} change(s) applied in ${(r.ms / 1000).toFixed(1)} s`);
    for (const f of r.failed) out(`  FAILED ${f.system}${f.cdmId === '*' ? '' : ` tenant ${f.cdmId}`}: ${f.error}`);
    return r.failed.length ? 1 : 0;
  }
  return purge(d, args);
}

/** Deletes for good, so it shows what goes and wants the tenant's name typed back (or --confirm <name>). */
async function purge(d: CliDeps, args: string[]): Promise<number> {
  const tenant = args.find((a, i) => !a.startsWith('--') && args[i - 1] !== '--confirm');
  if (!tenant) {
    process.stderr.write('usage: tenant-sync purge <tenant name or id> [--confirm <tenant name>]\n');
    return 2;
  }
  let plan;
  try {
    plan = await planPurge({ keycloak: d.keycloak, parentGroup: d.config.TENANT_PARENT_GROUP, thingsboard: d.thingsboard, grafana: d.grafana, influx: d.influx }, tenant);
  } catch (err) {
    if (err instanceof PurgeRefused) {
      process.stderr.write(`tenant-sync purge: refused: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
  out(`purge "${plan.name}" (${plan.cdmId}) deletes for good:`);
  for (const s of plan.steps) for (const a of s.actions) out(`  ${s.system.padEnd(12)} ${JSON.stringify(s.projection.describe(a))}`);
  const i = args.indexOf('--confirm');
  let answer = i >= 0 ? args[i + 1] : undefined;
  if (answer === undefined) {
    if (!process.stdin.isTTY) {
      process.stderr.write('tenant-sync purge: refused: needs confirmation — run it in a terminal, or pass --confirm <tenant name>\n');
      return 2;
    }
    const rl = readline.createInterface({ input: process.stdin, output: process.stdout });
    answer = (await rl.question(`type the tenant name (${plan.name}) to delete: `)).trim();
    rl.close();
  }
  if (answer !== plan.name) {
    process.stderr.write(`tenant-sync purge: refused: "${answer}" is not "${plan.name}"; nothing deleted\n`);
    return 2;
  }
  let n = 0;
  for (const s of plan.steps) {
    await runPurge({ ...plan, steps: [s] });
    n += s.actions.length;
    out(`  ${s.system}: done (${n}/${plan.steps.reduce((k, x) => k + x.actions.length, 0)})`);
  }
  out(`purged "${plan.name}"`);
  return 0;
}

/** `export` a day of a tenant's bucket to the cold tier, `restore` one back (progress on stderr). */
async function archive(command: 'export' | 'restore', args: string[], d: CliDeps): Promise<number> {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { tenant: { type: 'string' }, day: { type: 'string' }, out: { type: 'string' }, bucket: { type: 'string' } } });
  const deps = { influx: d.clients.influx, org: d.config.INFLUXDB_ORG, onProgress: (n: number) => process.stderr.write(`${command}: ${n} lines\n`) };
  try {
    if (command === 'export') {
      if (!values.tenant || !values.day || !values.out) {
        process.stderr.write('usage: tenant-sync export --tenant <tenant id> --day YYYY-MM-DD --out DIR\n');
        return 2;
      }
      const r = await exportDay(deps, { bucket: tenantBucket(values.tenant), day: values.day, dir: values.out });
      out(`exported ${r.lines} lines of ${r.bucket} on ${r.day} to ${r.file} (${r.bytes} bytes, sha256 ${r.sha256})`);
      return 0;
    }
    if (positionals.length !== 1) {
      process.stderr.write('usage: tenant-sync restore <DIR/bucket/day.lp.gz> [--bucket NAME]\n');
      return 2;
    }
    const r = await restoreDay(deps, { file: positionals[0]!, bucket: values.bucket });
    out(`restored ${r.lines} lines into ${r.bucket}`);
    return 0;
  } catch (err) {
    if (!(err instanceof ArchiveError)) throw err;
    process.stderr.write(`tenant-sync ${command}: ${err.message}\n`);
    return 2;
  }
}
