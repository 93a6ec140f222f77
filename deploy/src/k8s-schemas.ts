/**
 * Writes the Kubernetes API schemas the chart's objects are checked against (deploy/helm/
 * k8s-schemas.json), from the OpenAPI v3 documents published in the Kubernetes source
 * (api/openapi-spec/v3 of the k8s.io/kubernetes module): only the kinds the chart renders and
 * what they reference, descriptions dropped. The Go module proxy serves the source:
 *
 *   go mod download -json k8s.io/kubernetes@v1.34.4     # prints "Dir"
 *   npx tsx deploy/src/k8s-schemas.ts <Dir> v1.34.4
 */
import fs from 'node:fs';
import path from 'node:path';

/** apiVersion/kind → the document that defines it and its schema name. */
export const KINDS: Record<string, { doc: string; schema: string }> = {
  'apps/v1/Deployment': { doc: 'apis__apps__v1_openapi.json', schema: 'io.k8s.api.apps.v1.Deployment' },
  'apps/v1/StatefulSet': { doc: 'apis__apps__v1_openapi.json', schema: 'io.k8s.api.apps.v1.StatefulSet' },
  'v1/Service': { doc: 'api__v1_openapi.json', schema: 'io.k8s.api.core.v1.Service' },
  'v1/PersistentVolumeClaim': { doc: 'api__v1_openapi.json', schema: 'io.k8s.api.core.v1.PersistentVolumeClaim' },
};

type Json = Record<string, unknown>;

function refsOf(node: unknown, out: Set<string>): void {
  if (Array.isArray(node)) for (const x of node) refsOf(x, out);
  else if (node && typeof node === 'object') {
    for (const [k, v] of Object.entries(node)) {
      if (k === '$ref' && typeof v === 'string') out.add(v.replace('#/components/schemas/', ''));
      else refsOf(v, out);
    }
  }
}

const withoutDescriptions = (node: unknown): unknown =>
  Array.isArray(node)
    ? node.map(withoutDescriptions)
    : node && typeof node === 'object'
      ? Object.fromEntries(
          Object.entries(node)
            .filter(([k]) => k !== 'description')
            .map(([k, v]) => [k, withoutDescriptions(v)]),
        )
      : node;

if (process.argv[1]?.endsWith('k8s-schemas.ts')) {
  const [dir, version] = process.argv.slice(2);
  if (!dir || !version) throw new Error('usage: k8s-schemas.ts <k8s.io/kubernetes module dir> <version>');
  const schemas: Record<string, unknown> = {};
  for (const { doc, schema } of Object.values(KINDS)) {
    const all = (JSON.parse(fs.readFileSync(path.join(dir, 'api', 'openapi-spec', 'v3', doc), 'utf8')) as { components: { schemas: Record<string, Json> } }).components.schemas;
    const todo = [schema];
    while (todo.length) {
      const name = todo.pop()!;
      if (schemas[name]) continue;
      schemas[name] = withoutDescriptions(all[name]);
      const refs = new Set<string>();
      refsOf(all[name], refs);
      todo.push(...refs);
    }
  }
  const out = {
    source: `k8s.io/kubernetes@${version} api/openapi-spec/v3 (Apache-2.0), reduced by deploy/src/k8s-schemas.ts`,
    kinds: KINDS,
    components: { schemas: Object.fromEntries(Object.entries(schemas).sort(([a], [b]) => a.localeCompare(b))) },
  };
  fs.writeFileSync(path.join(import.meta.dirname, '..', 'helm', 'k8s-schemas.json'), `${JSON.stringify(out)}\n`);
  console.log(`${Object.keys(schemas).length} schemas`);
}
