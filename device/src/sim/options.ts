import { z } from 'zod';
import { durationSchema } from '@cdm/common';

const duration = durationSchema;
const count = (doc: string, dflt?: number) => (dflt === undefined ? z.coerce.number().int().min(1) : z.coerce.number().int().min(0).default(dflt)).describe(doc);
const share = (doc: string) => z.coerce.number().min(0).max(1).optional().describe(doc);

/** `sim run` flags (also taken from the stack with --stack); every one documented for --help. */
export const runOptions = z
  .strictObject({
    devices: count('number of virtual devices'),
    duration: duration('how long the fleet runs once connected (90s, 2m, 1h)', '2m'),
    enroll: z.boolean().default(false).describe('enroll every device through enroll-bridge (needs --enroll-url and --claim)'),
    certs: z.string().optional().describe('directory made by `sim make-certs`: pre-signed certificates for load runs'),
    'enroll-url': z.string().url().optional().describe('enroll-bridge API base URL'),
    claim: z.string().optional().describe('secret: enrollment claim token (or CDM_CLAIM); needs one use per device'),
    prefix: z
      .string()
      .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,40}$/)
      .default('sim')
      .describe('device id prefix: <prefix>-00001…'),
    'broker-url': z
      .string()
      .regex(/^mqtts:\/\//, 'must be mqtts:// (devices connect over mutual TLS)')
      .optional()
      .describe('MQTT broker mutual-TLS URL'),
    ca: z.string().optional().describe('PEM file of the CA the broker certificate chains to'),
    broker: z.enum(['mosquitto', 'thingsboard']).default('mosquitto').describe('topic scheme: thingsboard = v1/devices/me/*, mosquitto = v1/devices/<id>/* (a plain broker has no "me")'),
    'influx-url': z.string().url().optional().describe('InfluxDB v2 API URL devices write health points to'),
    window: duration('aggregation window: one telemetry message and one health point per device per window', '10s'),
    sample: duration('sample interval on the device', '1s'),
    seed: z.coerce.number().int().default(1).describe('seed of the fleet (same seed, same devices)'),
    silent: count('extra devices that went silent 25–73 h ago (one old health point each)', 0),
    'fail-updates': share('share of devices that fail every update from the start (as shared attribute fail_update=true)'),
    'connect-concurrency': count('TLS handshakes in flight while connecting', 32),
    'enroll-concurrency': count('enrollments in flight', 8),
    stack: z.boolean().default(false).describe('take broker, CA, InfluxDB and enroll-bridge URLs from the running local stack'),
  })
  .refine((o) => o.enroll !== !!o.certs, { message: 'give exactly one of --enroll or --certs <dir>' });
export type RunOptions = z.infer<typeof runOptions>;

export const makeCertsOptions = z.strictObject({
  devices: count('number of device certificates'),
  out: z.string().min(1).describe('directory to write fleet.json, <id>.crt and <id>.key to'),
  tenant: z.string().min(1).describe('tenant (cdm id) the devices belong to'),
  prefix: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,40}$/)
    .default('sim')
    .describe('device id prefix'),
  'token-dir': z.string().optional().describe("tenant-sync's token store: <tenant>.json holds the tenant's InfluxDB write token"),
  concurrency: count('signatures in flight', 16),
  stack: z.boolean().default(false).describe('step-ca and the token store of the running local stack (otherwise STEPCA_* variables)'),
});
export type MakeCertsOptions = z.infer<typeof makeCertsOptions>;

/** `--name value`, `--name=value` and bare `--flag` (true) into an object, for the schemas above. */
export function parseFlags(argv: string[]): Record<string, string | boolean> {
  const out: Record<string, string | boolean> = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (!a.startsWith('--')) throw new Error(`unexpected argument "${a}"`);
    const eq = a.indexOf('=');
    if (eq > 0) out[a.slice(2, eq)] = a.slice(eq + 1);
    else if (argv[i + 1] !== undefined && !argv[i + 1]!.startsWith('--')) out[a.slice(2)] = argv[++i]!;
    else out[a.slice(2)] = true;
  }
  return out;
}

export function describeFlags(schema: z.ZodObject): string {
  return Object.entries(schema.shape as Record<string, z.ZodType>)
    .map(([k, v]) => `  --${k.padEnd(20)} ${v.description ?? ''}`)
    .join('\n');
}

export function parseOptions<S extends z.ZodType>(schema: S, raw: Record<string, unknown>): z.infer<S> {
  const r = schema.safeParse(raw);
  if (!r.success) throw new Error(`invalid options:\n${r.error.issues.map((i) => `  ${i.path.length ? `--${i.path.join('.')}` : ''}: ${i.message}`).join('\n')}`);
  return r.data;
}
