import crypto from 'node:crypto';
import { reply } from '../server.ts';
import { json, userOf, type Ctx, type H } from './ctx.ts';
import { assignAll, type AssignmentIn } from './mgmt-targets.ts';
import { audit, badRequest, conflict, ex, list, locked, must, notFound, touch, type Artifact, type DistributionSet, type SoftwareModule } from './state.ts';

const hash = (alg: string, data: Buffer) => crypto.createHash(alg).update(data).digest('hex');

/** Bytes of an artifact as a download (binary, so not validated as JSON). */
export function fileReply(a: Artifact) {
  return {
    status: 200,
    body: a.data,
    text: true,
    headers: { 'Content-Type': 'application/octet-stream', 'Content-Disposition': `attachment;filename=${a.filename}`, ETag: `"${a.sha1}"`, 'Last-Modified': new Date(a.createdAt).toUTCString() },
  };
}

/** Reads the "file" part of a multipart upload with the platform's own (undici) parser. */
async function uploadedFile(raw: Buffer, contentType: string | undefined): Promise<File | undefined> {
  try {
    const form = await new Response(raw, { headers: { 'Content-Type': contentType ?? '' } }).formData();
    const f = form.get('file');
    return typeof f === 'string' || f === null ? undefined : f;
  } catch {
    return undefined;
  }
}

/** Software module types, software modules with artifacts, distribution set types and sets. */
export function repoHandlers(c: Ctx): Record<string, H> {
  const { s, v } = c;
  const module = (id: string | undefined) => must(s.modules, id, 'SoftwareModule');
  const dset = (id: string | undefined) => must(s.distributionSets, id, 'DistributionSet');
  const inUse = (m: SoftwareModule) => [...s.distributionSets.values()].some((d) => !d.deleted && d.modules.includes(m.id));

  /** Adds modules to a set, checking that its type allows their types (SP_DS_MODULE_UNSUPPORTED). */
  const addModules = (d: DistributionSet, ids: number[]) => {
    const type = s.dsTypeByKey(d.type)!;
    for (const id of ids) {
      const m = module(String(id));
      const mt = s.moduleTypeByKey(m.type)!;
      if (!type.mandatory.includes(mt.id) && !type.optional.includes(mt.id)) {
        throw ex(
          400,
          'hawkbit.server.error.distributionset.modules.unsupported',
          `Distribution set type ${type.key} does not support software module type ${mt.key}`,
          'org.eclipse.hawkbit.repository.exception.UnsupportedSoftwareModuleForThisDistributionSetException',
        );
      }
      if (!d.modules.includes(id)) d.modules.push(id);
    }
  };

  return {
    // ---- types
    'GET /rest/v1/softwaremoduletypes': ({ query }) =>
      reply(
        200,
        list(
          [...s.moduleTypes.values()],
          query,
          (t) => ({ ...t }),
          (t) => v.moduleType(t),
        ),
      ),
    'GET /rest/v1/softwaremoduletypes/{softwareModuleTypeId}': ({ params }) => reply(200, v.moduleType(must(s.moduleTypes, params.softwareModuleTypeId, 'SoftwareModuleType'))),
    'POST /rest/v1/softwaremoduletypes': ({ body, principal }) => {
      const items = json<{ key: string; name: string; description?: string; colour?: string; maxAssignments?: number }[]>(body);
      const clash = items.find((t) => [...s.moduleTypes.values()].some((x) => x.key === t.key || x.name === t.name));
      if (clash) return conflict(`SoftwareModuleType with key ${clash.key} already exists`);
      return reply(
        201,
        items.map((t) => {
          const rec = { id: s.next('smt'), key: t.key, name: t.name, description: t.description, colour: t.colour, maxAssignments: t.maxAssignments ?? 1, ...audit(userOf(principal)) };
          s.moduleTypes.set(rec.id, rec);
          return v.moduleType(rec);
        }),
      );
    },
    'GET /rest/v1/distributionsettypes': ({ query }) =>
      reply(
        200,
        list(
          [...s.dsTypes.values()],
          query,
          (t) => ({ ...t }),
          (t) => v.dsType(t),
        ),
      ),
    'GET /rest/v1/distributionsettypes/{distributionSetTypeId}': ({ params }) => reply(200, v.dsType(must(s.dsTypes, params.distributionSetTypeId, 'DistributionSetType'))),
    'POST /rest/v1/distributionsettypes': ({ body, principal }) => {
      const items = json<{ key: string; name: string; description?: string; colour?: string; mandatorymodules?: { id: number }[]; optionalmodules?: { id: number }[] }[]>(body);
      const clash = items.find((t) => [...s.dsTypes.values()].some((x) => x.key === t.key || x.name === t.name));
      if (clash) return conflict(`DistributionSetType with key ${clash.key} already exists`);
      const ids = (l?: { id: number }[]) => (l ?? []).map((m) => must(s.moduleTypes, m.id, 'SoftwareModuleType').id);
      return reply(
        201,
        items.map((t) => {
          const rec = {
            id: s.next('dst'),
            key: t.key,
            name: t.name,
            description: t.description,
            colour: t.colour,
            mandatory: ids(t.mandatorymodules),
            optional: ids(t.optionalmodules),
            ...audit(userOf(principal)),
          };
          s.dsTypes.set(rec.id, rec);
          return v.dsType(rec);
        }),
      );
    },

    // ---- software modules
    'POST /rest/v1/softwaremodules': ({ body, principal }) => {
      const items = json<{ name: string; version: string; type: string; vendor?: string; description?: string; encrypted?: boolean }[]>(body);
      for (const m of items) {
        if (!s.moduleTypeByKey(m.type)) return notFound('SoftwareModuleType', m.type);
        if ([...s.modules.values()].some((x) => !x.deleted && x.name === m.name && x.version === m.version && x.type === m.type))
          return conflict(`SoftwareModule ${m.name}:${m.version} of type ${m.type} already exists`);
      }
      return reply(
        201,
        items.map((m) => {
          const rec: SoftwareModule = {
            id: s.next('sm'),
            name: m.name,
            version: m.version,
            type: m.type,
            vendor: m.vendor,
            description: m.description,
            encrypted: m.encrypted ?? false,
            locked: false,
            deleted: false,
            artifacts: [],
            ...audit(userOf(principal)),
          };
          s.modules.set(rec.id, rec);
          return v.module(rec);
        }),
      );
    },
    'GET /rest/v1/softwaremodules': ({ query }) =>
      reply(
        200,
        list(
          [...s.modules.values()].filter((m) => !m.deleted),
          query,
          (m) => ({ ...m }),
          (m) => v.module(m),
        ),
      ),
    'GET /rest/v1/softwaremodules/{softwareModuleId}': ({ params }) => reply(200, v.module(module(params.softwareModuleId))),
    'PUT /rest/v1/softwaremodules/{softwareModuleId}': ({ params, body, principal }) => {
      const m = module(params.softwareModuleId);
      const { description, vendor, locked: lock } = json<{ description?: string; vendor?: string; locked?: boolean }>(body);
      Object.assign(m, description !== undefined ? { description } : {}, vendor !== undefined ? { vendor } : {}, lock !== undefined ? { locked: lock } : {});
      touch(m, userOf(principal));
      return reply(200, v.module(m));
    },
    // A module that is part of a set stays (marked deleted), as in hawkBit; otherwise it is gone.
    'DELETE /rest/v1/softwaremodules/{softwareModuleId}': ({ params }) => {
      const m = module(params.softwareModuleId);
      if (inUse(m)) m.deleted = true;
      else s.modules.delete(m.id);
      return reply(200);
    },
    'POST /rest/v1/softwaremodules/{softwareModuleId}/artifacts': async ({ params, query, headers, raw, principal }) => {
      const m = module(params.softwareModuleId);
      const file = await uploadedFile(raw, headers['content-type'] as string | undefined);
      if (!file || file.size === 0) return badRequest('the multipart part "file" is missing or empty', 'hawkbit.server.error.artifact.uploadFailed');
      if (m.locked) return locked(`SoftwareModule ${m.id} is locked`);
      const data = Buffer.from(await file.arrayBuffer());
      const filename = query.filename || file.name;
      if (m.artifacts.some((a) => a.filename === filename)) return conflict(`Artifact with filename ${filename} already exists in software module ${m.id}`);
      const sums = { md5: hash('md5', data), sha1: hash('sha1', data), sha256: hash('sha256', data) };
      for (const alg of ['md5', 'sha1', 'sha256'] as const) {
        const given = query[`${alg}sum`];
        if (given && given.toLowerCase() !== sums[alg])
          return badRequest(`Upload failed: ${alg.toUpperCase()} checksum does not match`, `hawkbit.server.error.artifact.uploadFailed.checksum.${alg}.match`);
      }
      const a: Artifact = { id: s.next('artifact'), moduleId: m.id, filename, size: data.length, ...sums, data, ...audit(userOf(principal)) };
      m.artifacts.push(a);
      return reply(201, v.artifact(a));
    },
    'GET /rest/v1/softwaremodules/{softwareModuleId}/artifacts': ({ params }) =>
      reply(
        200,
        module(params.softwareModuleId).artifacts.map((a) => v.artifact(a)),
      ),
    'GET /rest/v1/softwaremodules/{softwareModuleId}/artifacts/{artifactId}': ({ params }) => {
      const a = module(params.softwareModuleId).artifacts.find((x) => x.id === Number(params.artifactId));
      return a ? reply(200, v.artifact(a)) : notFound('Artifact', params.artifactId);
    },
    'DELETE /rest/v1/softwaremodules/{softwareModuleId}/artifacts/{artifactId}': ({ params }) => {
      const m = module(params.softwareModuleId);
      const i = m.artifacts.findIndex((x) => x.id === Number(params.artifactId));
      if (i < 0) return notFound('Artifact', params.artifactId);
      m.artifacts.splice(i, 1);
      return reply(200);
    },
    'GET /rest/v1/softwaremodules/{softwareModuleId}/artifacts/{artifactId}/download': ({ params }) => {
      const a = module(params.softwareModuleId).artifacts.find((x) => x.id === Number(params.artifactId));
      return a ? fileReply(a) : notFound('Artifact', params.artifactId);
    },

    // ---- distribution sets
    'POST /rest/v1/distributionsets': ({ body, principal }) => {
      const items = json<{ name?: string; version?: string; type?: string; description?: string; modules?: { id: number }[]; requiredMigrationStep?: boolean; locked?: boolean }[]>(body);
      const created: DistributionSet[] = [];
      for (const d of items) {
        if (!d.name || !d.version) return badRequest('name and version of a distribution set must not be empty');
        // Without a type, hawkBit uses the tenant's default set type (os_app).
        const type = s.dsTypeByKey(d.type ?? 'os_app');
        if (!type) return notFound('DistributionSetType', d.type);
        if ([...s.distributionSets.values(), ...created].some((x) => !x.deleted && x.name === d.name && x.version === d.version))
          return conflict(`DistributionSet ${d.name}:${d.version} already exists`);
        const rec: DistributionSet = {
          id: s.next('ds'),
          name: d.name,
          version: d.version,
          type: type.key,
          description: d.description,
          modules: [],
          locked: false,
          deleted: false,
          valid: true,
          requiredMigrationStep: d.requiredMigrationStep ?? false,
          ...audit(userOf(principal)),
        };
        addModules(
          rec,
          (d.modules ?? []).map((m) => m.id),
        );
        rec.locked = d.locked ?? false;
        created.push(rec);
      }
      for (const d of created) s.distributionSets.set(d.id, d);
      return reply(
        201,
        created.map((d) => v.ds(d)),
      );
    },
    'GET /rest/v1/distributionsets': ({ query }) =>
      reply(
        200,
        list(
          [...s.distributionSets.values()].filter((d) => !d.deleted),
          query,
          (d) => ({ ...d, complete: s.isComplete(d) }),
          (d) => v.ds(d),
        ),
      ),
    'GET /rest/v1/distributionsets/{distributionSetId}': ({ params }) => reply(200, v.ds(dset(params.distributionSetId))),
    'PUT /rest/v1/distributionsets/{distributionSetId}': ({ params, body, principal }) => {
      const d = dset(params.distributionSetId);
      const change = json<{ name?: string; description?: string; version?: string; locked?: boolean; requiredMigrationStep?: boolean }>(body);
      Object.assign(d, Object.fromEntries(Object.entries(change).filter(([k, x]) => x !== undefined && ['name', 'description', 'version', 'locked', 'requiredMigrationStep'].includes(k))));
      touch(d, userOf(principal));
      return reply(200, v.ds(d));
    },
    // A set that was ever assigned stays (marked deleted) for the action history.
    'DELETE /rest/v1/distributionsets/{distributionSetId}': ({ params }) => {
      const d = dset(params.distributionSetId);
      if ([...s.actions.values()].some((a) => a.dsId === d.id)) d.deleted = true;
      else s.distributionSets.delete(d.id);
      return reply(200);
    },
    'GET /rest/v1/distributionsets/{distributionSetId}/assignedSM': ({ params, query }) => {
      const d = dset(params.distributionSetId);
      return reply(
        200,
        list(
          d.modules.map((id) => s.modules.get(id)!),
          { ...query, q: undefined },
          (m) => ({ ...m }),
          (m) => v.module(m),
        ),
      );
    },
    'POST /rest/v1/distributionsets/{distributionSetId}/assignedSM': ({ params, body, principal }) => {
      const d = dset(params.distributionSetId);
      if (d.locked) return locked(`DistributionSet ${d.id} is locked`);
      addModules(
        d,
        json<{ id: number }[]>(body).map((m) => m.id),
      );
      touch(d, userOf(principal));
      return reply(200);
    },
    'DELETE /rest/v1/distributionsets/{distributionSetId}/assignedSM/{softwareModuleId}': ({ params, principal }) => {
      const d = dset(params.distributionSetId);
      if (d.locked) return locked(`DistributionSet ${d.id} is locked`);
      const m = module(params.softwareModuleId);
      d.modules = d.modules.filter((id) => id !== m.id);
      touch(d, userOf(principal));
      return reply(200);
    },
    'GET /rest/v1/distributionsets/{distributionSetId}/assignedTargets': ({ params, query }) => {
      const d = dset(params.distributionSetId);
      return reply(
        200,
        list(
          [...s.targets.values()].filter((t) => t.assignedDs === d.id),
          query,
          (t) => v.targetFields(t),
          (t) => v.target(t),
          'controllerId:ASC',
        ),
      );
    },
    'GET /rest/v1/distributionsets/{distributionSetId}/installedTargets': ({ params, query }) => {
      const d = dset(params.distributionSetId);
      return reply(
        200,
        list(
          [...s.targets.values()].filter((t) => t.installedDs === d.id),
          query,
          (t) => v.targetFields(t),
          (t) => v.target(t),
          'controllerId:ASC',
        ),
      );
    },
    'POST /rest/v1/distributionsets/{distributionSetId}/assignedTargets': ({ params, query, body, principal }) => {
      const ds = dset(params.distributionSetId);
      const pairs = json<AssignmentIn[]>(body).map((a) => {
        const t = s.targets.get(String(a.id));
        if (!t) throw notFound('Target', a.id);
        return { t, ds, a };
      });
      return reply(200, assignAll(c, pairs, query.offline === 'true', userOf(principal)));
    },
  };
}
