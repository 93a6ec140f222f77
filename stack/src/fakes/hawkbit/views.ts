import type { Action, ActionStatusEntry, Artifact, DistributionSet, DsType, HbState, ModuleType, Rollout, RolloutGroup, SoftwareModule, Target } from './state.ts';

/** "HH:MM:SS" (hawkBit's polling time format) in milliseconds. */
export const durationMs = (hms: string) => hms.split(':').reduce((acc, n) => acc * 60 + Number(n), 0) * 1000;

const audit = (e: { createdAt: number; createdBy: string; lastModifiedAt: number; lastModifiedBy: string }) => ({
  createdAt: e.createdAt,
  createdBy: e.createdBy,
  lastModifiedAt: e.lastModifiedAt,
  lastModifiedBy: e.lastModifiedBy,
});
const link = (href: string) => ({ href });
const enc = encodeURIComponent;

/** Management API representations, shaped as hawkBit's Mgmt*Mapper classes build them. */
export class Views {
  constructor(private readonly s: HbState) {}

  target(t: Target) {
    const base = `/rest/v1/targets/${enc(t.controllerId)}`;
    let pollStatus;
    if (t.lastControllerRequestAt !== undefined) {
      const next = t.lastControllerRequestAt + durationMs(this.s.config<string>('pollingTime'));
      pollStatus = { lastRequestAt: t.lastControllerRequestAt, nextExpectedRequestAt: next, overdue: Date.now() > next + durationMs(this.s.config<string>('pollingOverdueTime')) };
    }
    return {
      controllerId: t.controllerId,
      name: t.name,
      ...(t.description !== undefined ? { description: t.description } : {}),
      updateStatus: t.updateStatus,
      ...(t.address !== undefined ? { address: t.address } : {}),
      ...audit(t),
      securityToken: t.securityToken,
      requestAttributes: t.requestAttributes,
      ...(t.lastControllerRequestAt !== undefined ? { lastControllerRequestAt: t.lastControllerRequestAt, pollStatus } : {}),
      ...(t.installedAt !== undefined ? { installedAt: t.installedAt } : {}),
      _links: {
        self: link(base),
        assignedDS: link(`${base}/assignedDS`),
        installedDS: link(`${base}/installedDS`),
        attributes: link(`${base}/attributes`),
        actions: link(`${base}/actions?offset=0&limit=50&sort=id%3ADESC`),
      },
    };
  }

  /** What FIQL on targets sees (TargetFields: id is the controllerId, attribute.<key>, assignedds.*, ...). */
  targetFields(t: Target): Record<string, unknown> {
    const ds = (id?: number) => (id ? this.s.distributionSets.get(id) : undefined);
    return { ...t, id: t.controllerId, attribute: t.attributes, assignedDs: ds(t.assignedDs), installedDs: ds(t.installedDs) };
  }

  moduleType(t: ModuleType) {
    return {
      id: t.id,
      key: t.key,
      name: t.name,
      description: t.description,
      colour: t.colour,
      maxAssignments: t.maxAssignments,
      deleted: false,
      ...audit(t),
      _links: { self: link(`/rest/v1/softwaremoduletypes/${t.id}`) },
    };
  }

  dsType(t: DsType) {
    const base = `/rest/v1/distributionsettypes/${t.id}`;
    return {
      id: t.id,
      key: t.key,
      name: t.name,
      description: t.description,
      colour: t.colour,
      deleted: false,
      ...audit(t),
      _links: { self: link(base), mandatorymodules: link(`${base}/mandatorymoduletypes`), optionalmodules: link(`${base}/optionalmoduletypes`) },
    };
  }

  module(m: SoftwareModule) {
    const base = `/rest/v1/softwaremodules/${m.id}`;
    return {
      id: m.id,
      name: m.name,
      version: m.version,
      type: m.type,
      typeName: this.s.moduleTypeByKey(m.type)?.name,
      ...(m.vendor !== undefined ? { vendor: m.vendor } : {}),
      ...(m.description !== undefined ? { description: m.description } : {}),
      encrypted: m.encrypted,
      locked: m.locked,
      deleted: m.deleted,
      ...audit(m),
      _links: { self: link(base), artifacts: link(`${base}/artifacts`), metadata: link(`${base}/metadata?offset=0&limit=50`) },
    };
  }

  artifact(a: Artifact) {
    const base = `/rest/v1/softwaremodules/${a.moduleId}/artifacts/${a.id}`;
    return {
      id: a.id,
      hashes: { sha1: a.sha1, md5: a.md5, sha256: a.sha256 },
      providedFilename: a.filename,
      size: a.size,
      ...audit(a),
      _links: { self: link(base), download: link(`${base}/download`) },
    };
  }

  ds(d: DistributionSet) {
    const base = `/rest/v1/distributionsets/${d.id}`;
    return {
      id: d.id,
      name: d.name,
      version: d.version,
      type: d.type,
      typeName: this.s.dsTypeByKey(d.type)?.name,
      ...(d.description !== undefined ? { description: d.description } : {}),
      complete: this.s.isComplete(d),
      locked: d.locked,
      deleted: d.deleted,
      valid: d.valid,
      requiredMigrationStep: d.requiredMigrationStep,
      modules: d.modules.map((id) => this.module(this.s.modules.get(id)!)),
      ...audit(d),
      _links: { self: link(base), modules: link(`${base}/assignedSM?offset=0&limit=50`), metadata: link(`${base}/metadata?offset=0&limit=50`) },
    };
  }

  action(a: Action, full = false) {
    const base = `/rest/v1/targets/${enc(a.controllerId)}/actions/${a.id}`;
    const rollout = a.rolloutId ? this.s.rollouts.get(a.rolloutId) : undefined;
    const ds = this.s.distributionSets.get(a.dsId)!;
    return {
      id: a.id,
      type: a.status === 'canceling' || a.status === 'canceled' ? 'cancel' : 'update',
      // As hawkBit 1.0.4 answers (seen on the real server): the state itself and `active`; the
      // published spec's pending/finished + detailStatus shape is not what the server sends.
      active: a.active,
      status: a.status,
      forceType: a.actionType,
      ...(a.actionType === 'timeforced' && a.forceTime !== undefined ? { forceTime: a.forceTime } : {}),
      ...(a.weight !== undefined ? { weight: a.weight } : {}),
      ...(rollout ? { rollout: rollout.id, rolloutName: rollout.name } : {}),
      ...(a.lastStatusCode !== undefined ? { lastStatusCode: a.lastStatusCode } : {}),
      ...audit(a),
      _links: {
        self: link(base),
        ...(full
          ? {
              target: { href: `/rest/v1/targets/${enc(a.controllerId)}`, name: this.s.targets.get(a.controllerId)?.name },
              distributionset: { href: `/rest/v1/distributionsets/${ds.id}`, name: `${ds.name}:${ds.version}` },
              status: link(`${base}/status?offset=0&limit=50&sort=id%3ADESC`),
              ...(rollout ? { rollout: { href: `/rest/v1/rollouts/${rollout.id}`, name: rollout.name } } : {}),
            }
          : {}),
      },
    };
  }

  /** What FIQL on actions sees (ActionFields: `status` is the Action.Status, `active` the flag). */
  actionFields(a: Action): Record<string, unknown> {
    const t = this.s.targets.get(a.controllerId);
    const r = a.rolloutId ? this.s.rollouts.get(a.rolloutId) : undefined;
    return { ...a, target: t && { controllerId: t.controllerId, name: t.name }, distributionSet: this.s.distributionSets.get(a.dsId), rollout: r && { id: r.id, name: r.name } };
  }

  actionStatus(e: ActionStatusEntry) {
    return { id: e.id, type: e.status, messages: e.messages, reportedAt: e.reportedAt, timestamp: e.timestamp, ...(e.code !== undefined ? { code: e.code } : {}) };
  }

  rollout(r: Rollout, details: boolean) {
    const base = `/rest/v1/rollouts/${r.id}`;
    const ds = this.s.distributionSets.get(r.dsId)!;
    return {
      id: r.id,
      name: r.name,
      ...(r.description !== undefined ? { description: r.description } : {}),
      targetFilterQuery: r.targetFilterQuery,
      distributionSetId: r.dsId,
      status: r.status,
      totalTargets: r.totalTargets,
      deleted: false,
      type: r.actionType,
      dynamic: false,
      weight: r.weight,
      ...(r.forcetime !== undefined ? { forcetime: r.forcetime } : {}),
      ...audit(r),
      ...(details
        ? {
            totalTargetsPerStatus: this.perStatus(
              r,
              [...this.s.actions.values()].filter((a) => a.rolloutId === r.id),
              r.totalTargets,
            ),
            totalGroups: r.groups.length,
            ...(r.startAt !== undefined ? { startAt: r.startAt } : {}),
            ...(r.approveDecidedBy !== undefined ? { approveDecidedBy: r.approveDecidedBy } : {}),
            ...(r.approvalRemark !== undefined ? { approvalRemark: r.approvalRemark } : {}),
          }
        : {}),
      _links: {
        self: link(base),
        ...(details
          ? {
              start: link(`${base}/start`),
              pause: link(`${base}/pause`),
              resume: link(`${base}/resume`),
              triggerNextGroup: link(`${base}/triggerNextGroup`),
              approve: link(`${base}/approve`),
              deny: link(`${base}/deny`),
              groups: link(`${base}/deploygroups?offset=0&limit=50`),
              distributionset: { href: `/rest/v1/distributionsets/${ds.id}`, name: `${ds.name}:${ds.version}` },
            }
          : {}),
      },
    };
  }

  group(g: RolloutGroup, details: boolean) {
    const r = this.s.rollouts.get(g.rolloutId)!;
    return {
      id: g.id,
      name: g.name,
      ...(g.description !== undefined ? { description: g.description } : {}),
      status: g.status,
      targetPercentage: g.targetPercentage,
      ...(g.targetFilterQuery ? { targetFilterQuery: g.targetFilterQuery } : {}),
      totalTargets: g.targets.length,
      dynamic: false,
      successCondition: g.successCondition,
      successAction: g.successAction,
      errorCondition: g.errorCondition,
      errorAction: g.errorAction,
      ...(this.s.config('user.confirmation.flow.enabled') ? { confirmationRequired: g.confirmationRequired } : {}),
      ...audit(g),
      ...(details
        ? {
            totalTargetsPerStatus: this.perStatus(
              r,
              [...this.s.actions.values()].filter((a) => a.groupId === g.id),
              g.targets.length,
            ),
          }
        : {}),
      _links: { self: link(`/rest/v1/rollouts/${r.id}/deploygroups/${g.id}`) },
    };
  }

  /** TotalTargetCountStatus: action states folded into the six buckets the API reports. */
  private perStatus(r: Rollout, actions: Action[], total: number): Record<string, number> {
    const out: Record<string, number> = { scheduled: 0, running: 0, error: 0, finished: 0, cancelled: 0, notstarted: 0 };
    for (const a of actions) {
      const bucket =
        a.status === 'scheduled'
          ? 'scheduled'
          : a.status === 'error'
            ? 'error'
            : a.status === 'finished'
              ? 'finished'
              : a.status === 'canceled'
                ? 'cancelled'
                : a.status === 'downloaded' && r.actionType === 'downloadonly'
                  ? 'finished'
                  : 'running';
      out[bucket]!++;
    }
    out.notstarted = total - actions.length;
    return out;
  }
}
