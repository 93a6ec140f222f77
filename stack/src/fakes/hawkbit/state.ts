import crypto from 'node:crypto';
import { reply, type FakeReply } from '../server.ts';
import { parseFiql } from './fiql.ts';

/** Audit fields every hawkBit entity carries. */
export interface Audit {
  createdAt: number;
  createdBy: string;
  lastModifiedAt: number;
  lastModifiedBy: string;
}

export interface Target extends Audit {
  controllerId: string;
  name: string;
  description?: string;
  address?: string;
  securityToken: string;
  updateStatus: 'unknown' | 'registered' | 'pending' | 'in_sync' | 'error';
  requestAttributes: boolean;
  attributes: Record<string, string>;
  lastControllerRequestAt?: number;
  installedAt?: number;
  assignedDs?: number;
  installedDs?: number;
}

export interface ModuleType extends Audit {
  id: number;
  key: string;
  name: string;
  description?: string;
  colour?: string;
  maxAssignments: number;
}

export interface DsType extends Audit {
  id: number;
  key: string;
  name: string;
  description?: string;
  colour?: string;
  mandatory: number[]; // module type ids
  optional: number[];
}

export interface Artifact extends Audit {
  id: number;
  moduleId: number;
  filename: string;
  size: number;
  sha1: string;
  md5: string;
  sha256: string;
  data: Buffer;
}

export interface SoftwareModule extends Audit {
  id: number;
  name: string;
  version: string;
  type: string; // module type key
  vendor?: string;
  description?: string;
  encrypted: boolean;
  locked: boolean;
  deleted: boolean;
  artifacts: Artifact[];
}

export interface DistributionSet extends Audit {
  id: number;
  name: string;
  version: string;
  type: string; // ds type key
  description?: string;
  modules: number[];
  locked: boolean;
  deleted: boolean;
  valid: boolean;
  requiredMigrationStep: boolean;
}

/** Action.Status in hawkBit, lower-cased as the REST API shows it. */
export type ActionState = 'scheduled' | 'retrieved' | 'running' | 'finished' | 'error' | 'warning' | 'download' | 'downloaded' | 'canceling' | 'canceled' | 'wait_for_confirmation' | 'cancel_rejected';

export type ActionType = 'soft' | 'forced' | 'timeforced' | 'downloadonly';

export interface ActionStatusEntry {
  id: number;
  status: ActionState;
  messages: string[];
  reportedAt: number;
  timestamp: number;
  code?: number;
}

export interface Action extends Audit {
  id: number;
  controllerId: string;
  dsId: number;
  actionType: ActionType;
  forceTime?: number;
  weight?: number;
  status: ActionState;
  active: boolean;
  rolloutId?: number;
  groupId?: number;
  lastStatusCode?: number;
  statuses: ActionStatusEntry[];
}

export interface Condition {
  condition: 'THRESHOLD';
  expression: string;
}

export interface RolloutGroup extends Audit {
  id: number;
  rolloutId: number;
  name: string;
  description?: string;
  status: 'creating' | 'ready' | 'scheduled' | 'running' | 'finished' | 'error';
  targetFilterQuery?: string;
  targetPercentage: number;
  successCondition: Condition;
  successAction: { action: 'NEXTGROUP' | 'PAUSE'; expression: string };
  errorCondition: Condition;
  errorAction: { action: 'PAUSE'; expression: string };
  confirmationRequired: boolean;
  targets: string[];
}

export type RolloutStatus = 'creating' | 'ready' | 'waiting_for_approval' | 'approval_denied' | 'starting' | 'running' | 'paused' | 'finished';

export interface Rollout extends Audit {
  id: number;
  name: string;
  description?: string;
  dsId: number;
  targetFilterQuery: string;
  status: RolloutStatus;
  actionType: ActionType;
  forcetime?: number;
  startAt?: number;
  weight: number;
  totalTargets: number;
  groups: number[];
  approvalRemark?: string;
  approveDecidedBy?: string;
}

/** Tenant configuration keys hawkBit knows, with their defaults (see TenantConfigurationKey). */
export const CONFIG_DEFAULTS: Record<string, unknown> = {
  'authentication.targettoken.enabled': false,
  'authentication.gatewaytoken.enabled': false,
  'authentication.gatewaytoken.key': '',
  pollingTime: '00:05:00',
  pollingOverdueTime: '00:05:00',
  maintenanceWindowPollCount: 3,
  'anonymous.download.enabled': false,
  'repository.actions.autoclose.enabled': false,
  'multi.assignments.enabled': false,
  'batch.assignments.enabled': false,
  'user.confirmation.flow.enabled': false,
  'rollout.approval.enabled': false,
  'action.cleanup.enabled': false,
};

/** hawkBit prefixes messages it writes itself into action histories, and hides them from devices. */
export const SERVER_MESSAGE_PREFIX = 'Update Server: ';

/** Everything the hawkBit fake knows, in memory (one tenant). */
export class HbState {
  targets = new Map<string, Target>();
  configs = new Map<string, unknown>();
  moduleTypes = new Map<number, ModuleType>();
  dsTypes = new Map<number, DsType>();
  modules = new Map<number, SoftwareModule>();
  distributionSets = new Map<number, DistributionSet>();
  actions = new Map<number, Action>();
  rollouts = new Map<number, Rollout>();
  groups = new Map<number, RolloutGroup>();
  private seq = new Map<string, number>();

  constructor() {
    this.reset();
  }

  reset(): void {
    for (const m of [this.targets, this.configs, this.moduleTypes, this.dsTypes, this.modules, this.distributionSets, this.actions, this.rollouts, this.groups, this.seq]) m.clear();
    // A new hawkBit tenant starts with these types (JpaSystemManagement.createStandardSoftwareDataSetup).
    const sys = audit('system');
    const app = { id: this.next('smt'), key: 'application', name: 'Application', description: 'Application Addons', maxAssignments: 2147483647, ...sys };
    const os = { id: this.next('smt'), key: 'os', name: 'OS', description: 'Core firmware or operation system', maxAssignments: 1, ...sys };
    for (const t of [app, os]) this.moduleTypes.set(t.id, t);
    const ds = (key: string, name: string, description: string, mandatory: number[], optional: number[]) => {
      const t = { id: this.next('dst'), key, name, description, mandatory, optional, ...sys };
      this.dsTypes.set(t.id, t);
    };
    ds('os', 'OS only', 'Default type with Firmware/OS only.', [os.id], []);
    ds('app', 'App(s) only', 'Default type with app(s) only.', [app.id], []);
    ds('os_app', 'OS with app(s)', 'Default type with Firmware/OS and optional app(s).', [os.id], [app.id]);
  }

  /** hawkBit keeps one id sequence per table. */
  next(kind: string): number {
    const n = (this.seq.get(kind) ?? 0) + 1;
    this.seq.set(kind, n);
    return n;
  }

  config<T = unknown>(key: string): T {
    return (this.configs.has(key) ? this.configs.get(key) : CONFIG_DEFAULTS[key]) as T;
  }

  moduleTypeByKey(key: string): ModuleType | undefined {
    return [...this.moduleTypes.values()].find((t) => t.key === key);
  }

  dsTypeByKey(key: string): DsType | undefined {
    return [...this.dsTypes.values()].find((t) => t.key === key);
  }

  /** A distribution set is complete when every mandatory module type of its type is present. */
  isComplete(ds: DistributionSet): boolean {
    const type = this.dsTypeByKey(ds.type);
    const present = new Set(ds.modules.map((id) => this.moduleTypeByKey(this.modules.get(id)?.type ?? '')?.id));
    return Boolean(type) && type!.mandatory.every((t) => present.has(t));
  }

  targetActions(controllerId: string): Action[] {
    return [...this.actions.values()].filter((a) => a.controllerId === controllerId);
  }
}

export const audit = (user: string, now = Date.now()): Audit => ({ createdAt: now, createdBy: user, lastModifiedAt: now, lastModifiedBy: user });
export const touch = (e: Audit, user: string) => Object.assign(e, { lastModifiedAt: Date.now(), lastModifiedBy: user });
export const newToken = () => crypto.randomBytes(16).toString('hex');

// ---- errors, shaped like hawkBit's ExceptionInfo
export const ex = (status: number, errorCode: string, message: string, exceptionClass = 'org.eclipse.hawkbit.repository.exception.EntityNotFoundException'): FakeReply =>
  reply(status, { exceptionClass, errorCode, message });
export const notFound = (entity: string, id: unknown): FakeReply => ex(404, 'hawkbit.server.error.repo.entityNotFound', `${entity} with given identifier {${String(id)}} does not exist.`);
export const badRequest = (message: string, errorCode = 'hawkbit.server.error.repo.constraintViolation'): FakeReply => ex(400, errorCode, message, 'jakarta.validation.ValidationException');
export const conflict = (message: string): FakeReply => ex(409, 'hawkbit.server.error.repo.entityAlreadyExists', message, 'org.eclipse.hawkbit.repository.exception.EntityAlreadyExistsException');
export const locked = (message: string): FakeReply => ex(423, 'hawkbit.server.error.locked', message, 'org.eclipse.hawkbit.repository.exception.LockedException');
export const illegalRolloutState = (message: string): FakeReply =>
  ex(400, 'hawkbit.server.error.rollout.illegalState', message, 'org.eclipse.hawkbit.repository.exception.RolloutIllegalStateException');

/** Looks an entity up by a numeric path id or throws hawkBit's 404. */
export function must<T>(map: Map<number, T>, id: string | number | undefined, entity: string): T {
  const e = map.get(Number(id));
  if (!e || (e as { deleted?: boolean }).deleted) throw notFound(entity, id);
  return e;
}

// ---- listing: FIQL filter, sort, offset/limit paging
type Row = Record<string, unknown>;

export function filter<T>(items: T[], q: string | undefined, view: (t: T) => Row): T[] {
  let pred: ReturnType<typeof parseFiql>;
  try {
    pred = parseFiql(q);
  } catch (e) {
    throw ex(400, 'hawkbit.server.error.rest.param.rsqlParamSyntax', (e as Error).message, 'org.eclipse.hawkbit.repository.exception.RSQLParameterSyntaxException');
  }
  return items.filter((t) => pred(view(t)));
}

/** `field:DIR[,field:DIR]`; field names are case-insensitive as in hawkBit's sort enums. */
export function sorted<T>(items: T[], sort: string | undefined, view: (t: T) => Row, fallback = 'id:ASC'): T[] {
  const keys = (sort || fallback).split(',').map((part) => {
    const [field = '', dir = 'ASC'] = part.split(':');
    if (!/^(ASC|DESC)$/i.test(dir))
      throw ex(400, 'hawkbit.server.error.rest.param.invalidDirection', `Sort direction ${dir} is invalid.`, 'org.eclipse.hawkbit.rest.exception.SortParameterUnsupportedDirectionException');
    return { field: field.toLowerCase(), d: dir.toUpperCase() === 'DESC' ? -1 : 1 };
  });
  const get = (r: Row, f: string) => r[Object.keys(r).find((k) => k.toLowerCase() === f) ?? f];
  return [...items].sort((a, b) => {
    const va = view(a);
    const vb = view(b);
    for (const { field, d } of keys) {
      const x = get(va, field) as string | number;
      const y = get(vb, field) as string | number;
      if (x !== y) return (x ?? '') < (y ?? '') ? -d : d;
    }
    return 0;
  });
}

export function page<T>(items: T[], query: Record<string, string | undefined>): { content: T[]; total: number; size: number } {
  const offset = Math.max(Number(query.offset ?? 0), 0);
  const limit = Math.min(Math.max(Number(query.limit ?? 50), 1), 500);
  const content = items.slice(offset, offset + limit);
  return { content, total: items.length, size: content.length };
}

/** filter + sort + page, the shape of every hawkBit list endpoint. */
export function list<T, O>(items: T[], query: Record<string, string | undefined>, view: (t: T) => Row, out: (t: T) => O, fallbackSort?: string) {
  const p = page(sorted(filter(items, query.q, view), query.sort, view, fallbackSort), query);
  return { ...p, content: p.content.map(out) };
}
