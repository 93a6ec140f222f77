import { z } from 'zod';

/**
 * What the fleet API and the device agent (device/agent, and the fleet simulator) agree on: the
 * operations a device executes over ThingsBoard RPC, their parameters, the reply, and the shadow
 * as ThingsBoard attributes. Both sides validate with these schemas, so a parameter the agent
 * would refuse is refused by the API first (400) instead of becoming a failed command.
 *
 * Shadow on ThingsBoard's own model (its UI shows both halves):
 * - desired = shared attributes `config` (JSON object) and `config_version` (integer), written by
 *   the fleet API; ThingsBoard pushes them to the device on change and on request.
 * - reported = client attributes the agent publishes after applying: `config_reported`,
 *   `config_reported_version`, `config_last_sync` (ms), and `config_error` when it refused a
 *   version (`config_error_version` names which).
 */
export const AGENT_PROTOCOL_VERSION = 1;

export const SHADOW = {
  desired: 'config',
  desiredVersion: 'config_version',
  reported: 'config_reported',
  reportedVersion: 'config_reported_version',
  lastSync: 'config_last_sync',
  error: 'config_error',
  errorVersion: 'config_error_version',
} as const;

/** Device configuration the platform may set without a firmware update. */
export const DeviceConfig = z
  .object({
    sampling_interval_s: z.number().int().min(1).max(3600),
    window_s: z.number().int().min(5).max(3600),
    log_level: z.enum(['error', 'warn', 'info', 'debug']),
    features: z.record(z.string().regex(/^[a-z][a-z0-9_]{0,39}$/, 'feature names are lower_snake_case'), z.boolean()),
  })
  .partial()
  .strict();
export type DeviceConfig = z.infer<typeof DeviceConfig>;

const DAY_S = 86_400;

/** Parameters per operation; the agent refuses an operation it does not know. */
export const OperationParams = {
  reboot: z.object({ delay_s: z.number().int().min(0).max(3600).default(0) }).strict(),
  'factory-reset': z.object({}).strict(),
  recovery: z.object({}).strict(),
  diagnostics: z
    .object({
      /** Journal lines from the last N seconds. */
      logs_since_s: z
        .number()
        .int()
        .min(1)
        .max(7 * DAY_S)
        .optional(),
      log_lines: z.number().int().min(1).max(2000).default(200),
      self_test: z.boolean().default(false),
      sensors: z.boolean().default(false),
    })
    .strict(),
  /** Apply the desired configuration now (it is otherwise applied when ThingsBoard pushes it). */
  'config-apply': z.object({}).strict(),
} as const;
export type Operation = keyof typeof OperationParams;
export const OPERATIONS = Object.keys(OperationParams) as Operation[];
export const isOperation = (s: string): s is Operation => Object.hasOwn(OperationParams, s);

/** The request body ThingsBoard delivers: `{method, params}`. */
export const RpcRequest = z.object({ method: z.string().min(1).max(64), params: z.unknown().optional() });

/** The agent's reply (the RPC response payload). A refusal or failure is `ok: false` with a reason. */
export const RpcReply = z.discriminatedUnion('ok', [z.object({ ok: z.literal(true), result: z.unknown().optional() }), z.object({ ok: z.literal(false), error: z.string().max(2000) })]);
export type RpcReply = z.infer<typeof RpcReply>;

/** Validates an operation's parameters; a message fit for a 400 or for the agent's refusal. */
export function parseOperation(method: string, params: unknown): { ok: true; params: Record<string, unknown> } | { ok: false; error: string } {
  if (!isOperation(method)) return { ok: false, error: `unknown operation "${method}" (known: ${OPERATIONS.join(', ')})` };
  const r = OperationParams[method].safeParse(params ?? {});
  if (!r.success) return { ok: false, error: `parameters of ${method}: ${r.error.issues.map((i) => `${i.path.join('.') || '(params)'}: ${i.message}`).join('; ')}` };
  return { ok: true, params: r.data as Record<string, unknown> };
}

/** Validates a configuration; unknown keys are refused (a typo must not look applied). */
export function parseConfig(v: unknown): { ok: true; config: DeviceConfig } | { ok: false; error: string } {
  const r = DeviceConfig.safeParse(v);
  // zod reports a bad record key without the key rule's message; name the rule.
  const msg = (i: z.core.$ZodIssue) => (i.code === 'invalid_key' ? 'feature names are lower_snake_case, up to 40 characters' : i.message);
  if (!r.success) return { ok: false, error: `configuration: ${r.error.issues.map((i) => `${i.path.join('.') || '(config)'}: ${msg(i)}`).join('; ')}` };
  return { ok: true, config: r.data };
}
