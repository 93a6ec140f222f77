import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { Ajv, type ValidateFunction } from 'ajv';
import { parseAllDocuments } from 'yaml';
import { beforeAll, describe, expect, it } from 'vitest';
import { ensureGoBinary } from '../../stack/src/services/gobuild.ts';
import { defaultContext } from '../../stack/src/paths.ts';
import { BRIDGE_ENVS, requiredVariables } from './bridge-envs.ts';

/**
 * The Helm chart, checked without a cluster: `helm lint`, `helm template`, and every rendered object
 * against the Kubernetes API schemas (OpenAPI v3 of Kubernetes 1.34, kept in deploy/helm/
 * k8s-schemas.json) in strict mode — an unknown field is an error, as kubeconform --strict — then
 * what the schemas cannot say: each service gets every variable its configuration requires and
 * none it does not read, secrets only from Secrets, probes on /healthz, Services that reach a port.
 */
const HELM = { name: 'helm', module: 'helm.sh/helm/v3/cmd/helm', version: 'v3.22.0' };
/** The Kubernetes version the schemas are from, and the one templates render for. */
const KUBE = '1.34.4';
const chart = path.resolve(import.meta.dirname, '..', 'helm', 'cdm');
const run = promisify(execFile);
let helm = '';

interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels?: Record<string, string> };
  spec: Record<string, unknown>;
}
interface Container {
  name: string;
  image: string;
  env?: { name: string; value?: string; valueFrom?: { secretKeyRef?: { name: string; key: string } } }[];
  ports?: { name: string; containerPort: number; protocol?: string }[];
  readinessProbe?: { httpGet?: { path: string; port: string } };
  livenessProbe?: unknown;
}
interface PodSpec {
  containers: Container[];
}

/** Object schemas closed to unknown fields, as kubeconform's strict mode does with the same documents. */
function strict(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(strict);
  if (!node || typeof node !== 'object') return node;
  const o = Object.fromEntries(Object.entries(node).map(([k, v]) => [k, strict(v)]));
  if (o.properties && o.additionalProperties === undefined) o.additionalProperties = false;
  return o;
}

function validators(): (o: K8sObject) => string[] {
  const doc = JSON.parse(fs.readFileSync(path.resolve(chart, '..', 'k8s-schemas.json'), 'utf8')) as { kinds: Record<string, { schema: string }>; components: { schemas: object } };
  const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: false });
  ajv.addSchema({ $id: 'k8s', components: strict(doc.components) as object });
  const byKind = new Map<string, ValidateFunction>();
  for (const [kind, { schema }] of Object.entries(doc.kinds)) byKind.set(kind, ajv.compile({ $ref: `k8s#/components/schemas/${schema}` }));
  return (o) => {
    const v = byKind.get(`${o.apiVersion}/${o.kind}`);
    if (!v) return [`${o.apiVersion}/${o.kind} ${o.metadata?.name}: no schema kept for this kind (add it in deploy/src/k8s-schemas.ts)`];
    const ok: boolean = v(structuredClone(o) as unknown);
    return ok
      ? []
      : (v.errors ?? []).map((e) => `${o.kind} ${o.metadata.name}${e.instancePath}: ${e.message}${e.params && 'additionalProperty' in e.params ? ` (${String(e.params.additionalProperty)})` : ''}`);
  };
}

async function template(...args: string[]): Promise<K8sObject[]> {
  const { stdout } = await run(helm, ['template', 'cdm', chart, '--kube-version', KUBE, ...args], { maxBuffer: 16 * 1024 * 1024 });
  return parseAllDocuments(stdout)
    .map((d) => d.toJS() as K8sObject)
    .filter(Boolean);
}

const pods = (objects: K8sObject[]) =>
  objects
    .filter((o) => ['Deployment', 'StatefulSet'].includes(o.kind))
    .map((o) => ({ workload: o, labels: (o.spec.template as { metadata: { labels: Record<string, string> } }).metadata.labels, spec: (o.spec.template as { spec: PodSpec }).spec }));

beforeAll(async () => {
  helm = await ensureGoBinary(defaultContext(), HELM);
}, 900_000);

describe('Helm chart deploy/helm/cdm', () => {
  it('passes helm lint --strict', async () => {
    const r = await run(helm, ['lint', '--strict', '--kube-version', KUBE, chart]).catch((e: { stdout?: string }) => {
      throw new Error(e.stdout ?? String(e));
    });
    expect(r.stdout).toContain('0 chart(s) failed');
  });

  it('renders objects the Kubernetes 1.34 API schemas accept, with unknown fields refused', async () => {
    const check = validators();
    const objects = await template();
    expect(objects.map((o) => o.kind).sort()).toEqual([
      'Deployment',
      'Deployment',
      'Deployment',
      'Deployment',
      'PersistentVolumeClaim',
      'PersistentVolumeClaim',
      'PersistentVolumeClaim',
      'Service',
      'Service',
      'Service',
      'Service',
      'Service',
      'Service',
      'Service',
      'Service',
      'Service',
      'StatefulSet',
    ]);
    expect(objects.flatMap(check)).toEqual([]);
  });

  it('the check itself refuses a wrong object: a misspelt field, a number as a string, a missing container list', async () => {
    const check = validators();
    const [deployment] = (await template()).filter((o) => o.kind === 'Deployment');
    const bad = structuredClone(deployment!);
    (bad.spec as Record<string, unknown>).replica = 2;
    expect(check(bad).join('\n')).toContain('(replica)');
    const worse = structuredClone(deployment!);
    (worse.spec as Record<string, unknown>).replicas = 'two';
    expect(check(worse).join('\n')).toContain('/spec/replicas: must be integer');
    const worst = structuredClone(deployment!);
    delete (worst.spec.template as { spec: Partial<PodSpec> }).spec.containers;
    expect(check(worst).join('\n')).toContain("must have required property 'containers'");
  });

  it('gives each service every variable its configuration requires and none it does not read; secrets only from Secrets', async () => {
    const containers = new Map(pods(await template()).flatMap((p) => p.spec.containers.map((c) => [c.name, c] as const)));
    for (const [name, shape] of Object.entries(BRIDGE_ENVS)) {
      const c = containers.get(name);
      expect(c, `container ${name}`).toBeDefined();
      const env = c!.env ?? [];
      const names = env.map((e) => e.name);
      expect(names.length, `${name}: a variable set twice`).toBe(new Set(names).size);
      expect(
        requiredVariables(shape).filter((k) => !names.includes(k)),
        `${name}: required variables missing`,
      ).toEqual([]);
      expect(
        names.filter((k) => !(k in shape) && k !== 'STEPCA_ROOT_CERT_FILE'),
        `${name}: variables it does not read`,
      ).toEqual([]);
      const secretLike = env.filter((e) => /PASSWORD|SECRET|TOKEN$|FINGERPRINT/.test(e.name) && !e.name.endsWith('_FILE'));
      expect(
        secretLike.filter((e) => e.value !== undefined || e.valueFrom?.secretKeyRef?.name !== 'cdm-credentials').map((e) => e.name),
        `${name}: a secret not from the credentials Secret`,
      ).toEqual([]);
      expect(c!.image).toBe(`registry.example.com/cdm/${name}:0.1.0`);
      expect(c!.readinessProbe?.httpGet?.path, `${name}: readiness on /healthz`).toBe('/healthz');
      expect(c!.livenessProbe, `${name}: liveness`).toBeDefined();
    }
  });

  it("routes every Service to pods that serve its ports; ota-bridge and fleet-api find the directory's Service", async () => {
    const objects = await template();
    const all = pods(objects);
    const services = objects.filter((o) => o.kind === 'Service');
    for (const s of services) {
      const spec = s.spec as { selector: Record<string, string>; ports: { port: number; targetPort: number; protocol?: string }[] };
      const target = all.filter((p) => Object.entries(spec.selector).every(([k, v]) => p.labels[k] === v));
      expect(target.length, `Service ${s.metadata.name} selects one workload`).toBe(1);
      const served = target[0]!.spec.containers.flatMap((c) => (c.ports ?? []).map((p) => `${p.containerPort}/${p.protocol ?? 'TCP'}`));
      for (const p of spec.ports) expect(served, `Service ${s.metadata.name} port ${p.port}`).toContain(`${p.targetPort}/${p.protocol ?? 'TCP'}`);
    }
    const names = services.map((s) => s.metadata.name);
    for (const c of all.flatMap((p) => p.spec.containers)) {
      for (const e of c.env ?? []) {
        if (!e.value || !/^https?:\/\/cdm-/.test(e.value)) continue;
        expect(names, `${c.name}.${e.name} points at a Service of the chart`).toContain(new URL(e.value).hostname);
      }
    }
  });

  it('with secrets.database: each service its own DATABASE_URL from that Secret, and replicas for the pollers; without: one each, SQLite', async () => {
    const single = pods(await template());
    const shared = pods(await template('--set', 'secrets.database=cdm-database', '--set', 'otaBridge.replicas=2', '--set', 'otaBridge.storage.accessMode=ReadWriteMany'));
    const replicasOf = (all: typeof single, name: string) => (all.find((p) => p.workload.metadata.name === name)!.workload.spec as { replicas: number }).replicas;
    const urlOf = (all: typeof single, container: string) =>
      all
        .flatMap((p) => p.spec.containers)
        .find((c) => c.name === container)!
        .env!.find((e) => e.name === 'DATABASE_URL')?.valueFrom?.secretKeyRef;
    for (const [workload, container, key] of [
      ['cdm-tenant-sync', 'tenant-sync', 'TENANT_SYNC_DATABASE_URL'],
      ['cdm-fleet-monitor', 'fleet-monitor', 'FLEET_MONITOR_DATABASE_URL'],
      ['cdm-ota-bridge', 'ota-bridge', 'OTA_BRIDGE_DATABASE_URL'],
      ['cdm-fleet-api', 'fleet-api', 'FLEET_API_DATABASE_URL'],
    ] as const) {
      expect([replicasOf(single, workload), urlOf(single, container)], workload).toEqual([1, undefined]);
      expect([replicasOf(shared, workload), urlOf(shared, container)], workload).toEqual([2, { name: 'cdm-database', key }]);
    }
    expect(urlOf(shared, 'enroll-bridge')).toEqual({ name: 'cdm-database', key: 'ENROLL_BRIDGE_DATABASE_URL' });
    expect(replicasOf(shared, 'cdm-hub')).toBe(1);
  });

  it('takes values: replicas, storage class and the upstreams it is wired to', async () => {
    const objects = await template('--set', 'upstreams.hawkbit.url=http://hawkbit.ota:8080', '--set', 'otaBridge.storage.storageClassName=fast', '--set', 'image.tag=1.2.3');
    const ota = pods(objects).find((p) => p.workload.metadata.name === 'cdm-ota-bridge')!;
    const env = Object.fromEntries((ota.spec.containers[0]!.env ?? []).map((e) => [e.name, e.value]));
    expect(env.HAWKBIT_URL).toBe('http://hawkbit.ota:8080');
    expect(ota.spec.containers[0]!.image).toBe('registry.example.com/cdm/ota-bridge:1.2.3');
    expect(objects.find((o) => o.kind === 'PersistentVolumeClaim' && o.metadata.name === 'cdm-ota-data')?.spec.storageClassName).toBe('fast');
  });
});
