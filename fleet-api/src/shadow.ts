import { parseConfig, SHADOW, type DeviceConfig } from '@cdm/common';

/** The shadow as the API shows it: what the platform wants, what the device last applied, and the difference. */
export interface ShadowView {
  desired: DeviceConfig;
  reported: DeviceConfig;
  /** Keys whose desired value the device has not (yet) applied, with the desired value (null: to remove). */
  delta: Record<string, unknown>;
  version: number;
  reportedVersion: number;
  /** When the device last reported applying a configuration (ISO), if ever. */
  lastSync?: string;
  /** Why the device refused the desired version, while it still refuses it. */
  error?: { version: number; message: string };
  state: 'in-sync' | 'pending' | 'refused';
}

/** ThingsBoard attribute values as read (JSON attributes arrive parsed or as text). */
type Attrs = Record<string, unknown>;

const json = (v: unknown): unknown => {
  if (typeof v !== 'string') return v;
  try {
    return JSON.parse(v);
  } catch {
    return undefined;
  }
};
const num = (v: unknown): number => (typeof v === 'number' ? v : typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : 0);
const config = (v: unknown): DeviceConfig => {
  const r = parseConfig(json(v) ?? {});
  return r.ok ? r.config : {};
};
const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/** Builds the view from the device's shared (desired) and client (reported) attributes. */
export function shadowView(shared: Attrs, client: Attrs): ShadowView {
  const desired = config(shared[SHADOW.desired]);
  const reported = config(client[SHADOW.reported]);
  const version = num(shared[SHADOW.desiredVersion]);
  const reportedVersion = num(client[SHADOW.reportedVersion]);
  const delta: Record<string, unknown> = {};
  for (const k of new Set([...Object.keys(desired), ...Object.keys(reported)]) as Set<keyof DeviceConfig>) {
    if (!same(desired[k], reported[k])) delta[k] = desired[k] ?? null;
  }
  const errVersion = num(client[SHADOW.errorVersion]);
  const refused = typeof client[SHADOW.error] === 'string' && client[SHADOW.error] !== '' && errVersion === version && reportedVersion < version;
  const lastSync = num(client[SHADOW.lastSync]);
  return {
    desired,
    reported,
    delta,
    version,
    reportedVersion,
    ...(lastSync ? { lastSync: new Date(lastSync).toISOString() } : {}),
    ...(refused ? { error: { version: errVersion, message: String(client[SHADOW.error]) } } : {}),
    state: refused ? 'refused' : reportedVersion >= version && !Object.keys(delta).length ? 'in-sync' : 'pending',
  };
}

export class StaleVersion extends Error {}
export class InvalidConfig extends Error {}

/**
 * A partial desired update: keys set to null are removed, others replace. Refused when the caller
 * read an older version (optimistic concurrency) or the result is not a valid configuration.
 */
export function patchDesired(current: ShadowView, expectedVersion: number, patch: Record<string, unknown>): { config: DeviceConfig; version: number } {
  if (expectedVersion !== current.version) throw new StaleVersion(`the shadow is at version ${current.version}, not ${expectedVersion}: read it again and re-apply your change`);
  const merged: Record<string, unknown> = { ...current.desired };
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete merged[k];
    else merged[k] = v;
  }
  const r = parseConfig(merged);
  if (!r.ok) throw new InvalidConfig(r.error);
  return { config: r.config, version: current.version + 1 };
}
