import fs from 'node:fs';
import path from 'node:path';
import { Ajv, type ValidateFunction, type ErrorObject } from 'ajv';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import YAML from 'yaml';
import { repoDir } from '../paths.ts';

/** The official upstream specs, kept in the repository (stack/specs); CDM_SPECS_DIR overrides. */
export const specsDir = () => process.env.CDM_SPECS_DIR ?? path.join(repoDir, 'stack', 'specs');

type Json = Record<string, unknown>;
interface Parameter {
  name: string;
  in: 'path' | 'query' | 'header' | 'cookie';
  required?: boolean;
  schema?: Json;
}
interface Operation {
  parameters?: Parameter[];
  requestBody?: { required?: boolean; content?: Record<string, { schema?: Json }> };
  responses?: Record<string, { content?: Record<string, { schema?: Json }> } & { $ref?: string }>;
}

export interface MatchedOperation {
  method: string;
  template: string; // spec path key, e.g. /api/tenant/{tenantId}
  params: Record<string, string>;
  pointer: string; // JSON pointer of the operation inside the spec
  op: Operation;
}

/**
 * Where a generated spec is stricter than the server it describes, a relaxation says so, with the
 * reason; everything else is enforced as written.
 */
export type Relaxation =
  | {
      schema: string; // components/schemas name
      optional?: string[]; // properties the spec lists as required but the server fills in
      replace?: Json; // the schema as the server really reads it
      why: string;
    }
  | {
      operation: string; // "METHOD template" as in the spec, e.g. "PUT /rest/v1/system/configs/{keyName}"
      status: number; // a status the real server answers that the spec does not document
      why: string;
    };

export class ContractViolation extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

const escape = (s: string) => s.replace(/~/g, '~0').replace(/\//g, '~1');
const METHODS = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options'];
const TRANSPORT_HEADERS = new Set(['accept', 'accept-encoding', 'content-length', 'user-agent', 'zap-trace-span']);

/**
 * An OpenAPI document used as a contract: matches a request to its operation and validates
 * parameters, content type and body against it, and validates responses too. Schemas compile
 * lazily per operation (the ThingsBoard spec has thousands) and are cached.
 */
export class Contract {
  spec: Json;
  private readonly ajv: Ajv;
  private readonly routes: { method: string; template: string; regex: RegExp; names: string[]; literal: number }[] = [];
  private readonly cache = new Map<string, ValidateFunction>();
  private readonly id: string;

  /** prefix: how the spec's path keys map to URLs (e.g. `/api` for Grafana, `/api/v2` for InfluxDB). */
  constructor(
    /** A spec file in specsDir, or a document in hand (a cdm service's own OpenAPI document). */
    file: string | { id: string; spec: Json },
    private readonly prefix = '',
    relaxations: Relaxation[] = [],
    /** springdoc renders Java polymorphism as oneOf of overlapping schemas, which nothing can satisfy. */
    behaviour: { oneOfAsAnyOf?: boolean; formats?: Record<string, RegExp> } = {},
  ) {
    if (typeof file === 'string') {
      const text = fs.readFileSync(path.join(specsDir(), file), 'utf8');
      this.spec = (file.endsWith('.json') ? JSON.parse(text) : YAML.parse(text)) as Json;
    } else {
      this.spec = structuredClone(file.spec);
    }
    const schemas = ((this.spec.components as Json | undefined)?.schemas ?? {}) as Record<string, Json>;
    for (const r of relaxations) {
      if ('operation' in r) {
        const [method, template] = r.operation.split(' ') as [string, string];
        const op = (this.spec.paths as Record<string, Json> | undefined)?.[template]?.[method.toLowerCase()] as Operation | undefined;
        if (!op) throw new Error(`relaxation for unknown operation ${r.operation}`);
        op.responses = { ...op.responses, [String(r.status)]: { description: r.why } } as Operation['responses'];
        continue;
      }
      const target = schemas[r.schema];
      if (!target) throw new Error(`relaxation for unknown schema ${r.schema}`);
      if (r.replace) schemas[r.schema] = r.replace;
      if (r.optional) target.required = ((target.required as string[] | undefined) ?? []).filter((p) => !r.optional!.includes(p));
    }
    if (behaviour.oneOfAsAnyOf) this.spec = renameKey(this.spec, 'oneOf', 'anyOf') as Json;
    const v31 = String(this.spec.openapi ?? '').startsWith('3.1');
    const opts = { strict: false, allErrors: true, validateSchema: false, discriminator: false } as const;
    this.ajv = v31 ? new Ajv2020(opts) : new Ajv(opts);
    addFormats.default(this.ajv);
    for (const f of ['int32', 'int64', 'float', 'double', 'byte', 'binary', 'password']) this.ajv.addFormat(f, true);
    // A spec's own meaning of a format name (InfluxDB's "duration" is a Flux duration, not ISO 8601).
    for (const [f, re] of Object.entries(behaviour.formats ?? {})) this.ajv.addFormat(f, re);
    this.id = `contract:${typeof file === 'string' ? file : file.id}`;
    // OpenAPI 3.0 "nullable" is not JSON Schema; express it as a null alternative.
    this.ajv.addSchema((v31 ? this.spec : rewriteNullable(this.spec)) as Json, this.id);
    for (const [template, item] of Object.entries((this.spec.paths ?? {}) as Record<string, Json>)) {
      for (const method of METHODS) {
        if (!item[method]) continue;
        const names: string[] = [];
        // An operation may override the server URL (InfluxDB serves /health and /ping at the root).
        const opServer = ((item[method] as Json).servers as { url: string }[] | undefined)?.[0]?.url;
        const base = opServer !== undefined ? opServer : this.prefix;
        const full = template.startsWith('/api/v1/provisioning') && this.prefix === '/api' ? template : `${base}${template}`;
        const regex = new RegExp(
          `^${full.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\{([^}]+)\}/g, (_m, n: string) => {
            names.push(n);
            return '([^/]+)';
          })}/?$`,
        );
        this.routes.push({ method, template, regex, names, literal: full.replace(/\{[^}]+\}/g, '').length });
      }
    }
    // Literal segments win over parameters (/api/tenant/devices before /api/tenant/{tenantId}).
    this.routes.sort((a, b) => b.literal - a.literal);
  }

  /** True when the spec has this operation (method + path key as written in the spec). */
  hasOperation(method: string, template: string): boolean {
    return Boolean(((this.spec.paths ?? {}) as Record<string, Json>)[template]?.[method.toLowerCase()]);
  }

  /** Finds the operation; 404 for an unknown path, 405 for a known path with another method. */
  match(method: string, urlPath: string): MatchedOperation {
    const m = method.toLowerCase();
    let pathKnown = false;
    for (const r of this.routes) {
      const hit = r.regex.exec(urlPath);
      if (!hit) continue;
      pathKnown = true;
      if (r.method !== m) continue;
      const params = Object.fromEntries(r.names.map((n, i) => [n, decodeURIComponent(hit[i + 1] ?? '')]));
      const pointer = `#/paths/${escape(r.template)}/${m}`;
      const op = (this.spec.paths as Record<string, Json>)[r.template]![m] as Operation;
      return { method: m, template: r.template, params, pointer, op };
    }
    throw new ContractViolation(pathKnown ? 405 : 404, pathKnown ? `${method} is not allowed on ${urlPath}` : `no such path in the spec: ${urlPath}`);
  }

  /** Validates parameters, content type and body; throws ContractViolation(400/415) with the reason. */
  validateRequest(mo: MatchedOperation, req: { query: Record<string, unknown>; headers: Record<string, string | string[] | undefined>; contentType?: string; body: unknown; rawLength: number }): void {
    const problems: string[] = [];
    for (const p of this.resolveParams(mo.op.parameters ?? [])) {
      // Negotiation headers are set by HTTP stacks themselves ("gzip, deflate, br") and servers
      // ignore codings they do not know, so they are not held to a spec's enum.
      if (p.in === 'header' && TRANSPORT_HEADERS.has(p.name.toLowerCase())) continue;
      const value = p.in === 'path' ? mo.params[p.name] : p.in === 'query' ? req.query[p.name] : p.in === 'header' ? req.headers[p.name.toLowerCase()] : undefined;
      if (value === undefined || value === '') {
        if (p.required) problems.push(`missing required ${p.in} parameter "${p.name}"`);
        continue;
      }
      const schema = (p.schema?.$ref ? this.deref(String(p.schema.$ref)) : p.schema) as Json | undefined;
      let v = Array.isArray(value) ? value[0] : value;
      // Media types are compared without their parameters ("application/json; encoding=utf-8").
      if (p.in === 'header' && p.name.toLowerCase() === 'content-type' && !(schema?.enum as unknown[] | undefined)?.includes(v)) v = String(v).split(';')[0]!.trim();
      const err = checkScalar(schema ?? {}, v);
      if (err) problems.push(`${p.in} parameter "${p.name}" ${err}`);
    }
    const rb = mo.op.requestBody;
    if (rb?.content) {
      if (req.rawLength === 0) {
        if (rb.required) problems.push('missing required request body');
      } else {
        const type = (req.contentType ?? '').split(';')[0]!.trim().toLowerCase();
        const key = Object.keys(rb.content).find((k) => k === type || k === '*/*' || (k.endsWith('/*') && type.startsWith(k.slice(0, -1))));
        if (!key) throw new ContractViolation(415, `content type "${type || 'none'}" not accepted; expected ${Object.keys(rb.content).join(' or ')}`);
        if (key.includes('json') && rb.content[key]?.schema) {
          const v = this.validator(`${mo.pointer}/requestBody/content/${escape(key)}/schema`);
          if (!v(req.body)) problems.push(...describe(v.errors, 'body'));
        }
      }
    }
    if (problems.length) throw new ContractViolation(400, problems.join('; '));
  }

  /** Returns the violations of a JSON response body against the spec for that status (empty = ok). */
  validateResponse(mo: MatchedOperation, status: number, body: unknown): string[] {
    const responses = mo.op.responses ?? {};
    const key = String(status) in responses ? String(status) : 'default' in responses ? 'default' : undefined;
    if (!key) return status >= 400 ? [] : [`status ${status} is not a documented response of ${mo.method.toUpperCase()} ${mo.template}`];
    let resp = responses[key]!;
    let pointer = `${mo.pointer}/responses/${escape(key)}`;
    if (resp.$ref) {
      pointer = resp.$ref;
      resp = this.deref(resp.$ref) as typeof resp;
    }
    const content = resp.content ?? {};
    const jsonKey = Object.keys(content).find((k) => k.includes('json'));
    if (!jsonKey || !content[jsonKey]?.schema || body === undefined) return [];
    const v = this.validator(`${pointer}/content/${escape(jsonKey)}/schema`);
    return v(body) ? [] : describe(v.errors, 'response');
  }

  private validator(pointer: string): ValidateFunction {
    let v = this.cache.get(pointer);
    if (!v) {
      v = this.ajv.compile({ $ref: `${this.id}${pointer}` });
      this.cache.set(pointer, v);
    }
    return v;
  }

  private resolveParams(params: Parameter[]): Parameter[] {
    return params.map((p) => ((p as unknown as { $ref?: string }).$ref ? (this.deref((p as unknown as { $ref: string }).$ref) as Parameter) : p));
  }

  private deref(ref: string): unknown {
    return ref
      .replace(/^#\//, '')
      .split('/')
      .reduce<unknown>((o, k) => (o as Json)?.[k.replace(/~1/g, '/').replace(/~0/g, '~')], this.spec);
  }
}

/** Query/path/header values arrive as strings: check them against a scalar schema. */
function checkScalar(schema: Json, value: unknown): string | undefined {
  const s = String(value);
  const e = schema.enum as unknown[] | undefined;
  if (e && !e.map(String).includes(s)) return `must be one of ${e.join(', ')} (got "${s}")`;
  switch (schema.type) {
    case 'integer':
      return /^-?\d+$/.test(s) ? undefined : `must be an integer (got "${s}")`;
    case 'number':
      return Number.isFinite(Number(s)) ? undefined : `must be a number (got "${s}")`;
    case 'boolean':
      return s === 'true' || s === 'false' ? undefined : `must be true or false (got "${s}")`;
    default:
      if (schema.format === 'uuid' && !/^[0-9a-f-]{36}$/i.test(s)) return `must be a UUID (got "${s}")`;
      return undefined;
  }
}

function describe(errors: ErrorObject[] | null | undefined, where: string): string[] {
  return (errors ?? [])
    .slice(0, 8)
    .map((e) => `${where}${e.instancePath || ''} ${e.message ?? 'is invalid'}${e.params && 'allowedValues' in e.params ? ` (${(e.params.allowedValues as unknown[]).join(', ')})` : ''}`);
}

function rewriteNullable(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(rewriteNullable);
  if (!node || typeof node !== 'object') return node;
  const o = Object.fromEntries(Object.entries(node).map(([k, v]) => [k, rewriteNullable(v)])) as Json;
  if (o.nullable === true) {
    delete o.nullable;
    return { anyOf: [o, { type: 'null' }] };
  }
  return o;
}

function renameKey(node: unknown, from: string, to: string): unknown {
  if (Array.isArray(node)) return node.map((n) => renameKey(n, from, to));
  if (!node || typeof node !== 'object') return node;
  return Object.fromEntries(Object.entries(node).map(([k, v]) => [k === from ? to : k, renameKey(v, from, to)]));
}
