import { DeviceConfig, OPERATIONS, OperationParams, ROLLOUT_DEFAULTS } from '@cdm/common';
import { z } from 'zod';
import { OUTCOMES } from './groups.ts';
import { permissionTable } from './permissions.ts';

type Json = Record<string, unknown>;

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const json = (schema: Json, description = 'OK') => ({ description, content: { 'application/json': { schema } } });
const error = (description: string) => json(ref('Error'), description);
const errors = (...codes: number[]) =>
  Object.fromEntries(
    codes.map((c) => [
      String(c),
      error(
        {
          400: 'invalid request (the reason names the field)',
          401: 'missing or invalid bearer token',
          403: 'the caller lacks the role this needs in the tenant (see the permission table)',
          404: 'no such device, command or group in the caller’s tenants',
          409: 'stale shadow version, or an ambiguous tenant name',
          415: 'the body is not JSON',
          422: 'the selector matches no device, too many, or more than the confirmation threshold without confirm',
          429: 'rate limited',
          502: 'an upstream (ThingsBoard, enroll-bridge, Keycloak) failed; the message names it',
        }[c] ?? 'error',
      ),
    ]),
  );
const pathId = (name: string, description: string) => ({ name, in: 'path', required: true, schema: { type: 'string' }, description });
const bearer = [{ bearer: [] }];
const schemaOf = (t: z.ZodType) => {
  const s = z.toJSONSchema(t, { io: 'input', unrepresentable: 'any' }) as Json;
  delete s.$schema;
  return s;
};

const isoTime = { type: 'string', format: 'date-time' };
const nullable = (s: Json) => ({ anyOf: [s, { type: 'null' }] });

/**
 * The fleet API's OpenAPI 3.1 document, served at /v1/openapi.json. Operation parameters and the
 * device configuration come from the shared contract, so the document cannot drift from what the
 * API and the agent validate; tests check every response against it.
 */
export function openApiDocument(): Json {
  const CommandStatus = { type: 'string', enum: ['pending', 'sending', 'queued', 'sent', 'delivered', 'successful', 'failed', 'timeout', 'expired', 'cancelled'] };
  const Outcome = { type: 'string', enum: [...OUTCOMES] };
  const Metadata = {
    type: 'object',
    additionalProperties: false,
    properties: { region: { type: 'string' }, site: { type: 'string' }, owner: { type: 'string' }, tags: { type: 'array', items: { type: 'string' } } },
  };
  const schemas: Record<string, Json> = {
    Error: { type: 'object', required: ['error'], properties: { error: { type: 'string' } } },
    DeviceConfig: schemaOf(DeviceConfig),
    Metadata,
    DeviceSummary: {
      type: 'object',
      additionalProperties: false,
      required: ['deviceId', 'tenantId', 'status', 'tbDeviceId', 'online', 'metadata'],
      properties: {
        deviceId: { type: 'string' },
        tenantId: { type: 'string', description: 'cdm tenant id (the Keycloak group id)' },
        status: { type: 'string', enum: ['enrolling', 'active', 'decommissioning', 'decommissioned'] },
        tbDeviceId: { type: 'string' },
        wgIp: { type: 'string' },
        certSerial: { type: 'string' },
        certNotAfter: { type: 'string' },
        firmware: { type: 'string' },
        otaStatus: { type: 'string', description: "the last update's state, as ota-bridge mirrors it from hawkBit" },
        online: { type: 'boolean' },
        lastSeen: isoTime,
        metadata: ref('Metadata'),
      },
    },
    DeviceList: {
      type: 'object',
      additionalProperties: false,
      required: ['tenant', 'total', 'offset', 'limit', 'devices'],
      properties: {
        tenant: ref('TenantRef'),
        total: { type: 'integer' },
        offset: { type: 'integer' },
        limit: { type: 'integer' },
        devices: { type: 'array', items: ref('DeviceSummary') },
      },
    },
    TenantRef: { type: 'object', additionalProperties: false, required: ['id', 'name'], properties: { id: { type: 'string' }, name: { type: 'string' } } },
    Device: {
      type: 'object',
      additionalProperties: false,
      required: ['deviceId', 'tenantId', 'status', 'certificate', 'firmware', 'online', 'lastSeen', 'metadata', 'openAlarms', 'allowed'],
      properties: {
        deviceId: { type: 'string' },
        tenantId: { type: 'string' },
        status: { type: 'string' },
        wgIp: { type: 'string' },
        certificate: { type: 'object', required: ['serial', 'notAfter'], properties: { serial: nullable({ type: 'string' }), notAfter: nullable({ type: 'string' }) } },
        firmware: nullable({ type: 'string' }),
        online: { type: 'boolean' },
        lastSeen: nullable(isoTime),
        metadata: Metadata,
        openAlarms: { type: 'array', items: { type: 'object', required: ['type', 'severity', 'since'], properties: { type: { type: 'string' }, severity: { type: 'string' }, since: isoTime } } },
        allowed: { type: 'array', items: { type: 'string' }, description: 'The actions of the permission table the caller may do on this device (the API enforces them regardless)' },
      },
    },
    DevicePatch: {
      type: 'object',
      additionalProperties: false,
      required: ['metadata'],
      properties: {
        metadata: {
          type: 'object',
          description: 'null removes a value',
          additionalProperties: false,
          properties: { region: nullable({ type: 'string' }), site: nullable({ type: 'string' }), owner: nullable({ type: 'string' }), tags: nullable({ type: 'array', items: { type: 'string' } }) },
        },
      },
    },
    Shadow: {
      type: 'object',
      additionalProperties: false,
      required: ['deviceId', 'desired', 'reported', 'delta', 'version', 'reportedVersion', 'state'],
      properties: {
        deviceId: { type: 'string' },
        desired: ref('DeviceConfig'),
        reported: ref('DeviceConfig'),
        delta: { type: 'object', description: 'keys whose desired value is not applied yet (null: to be removed)' },
        version: { type: 'integer', description: 'desired version; send it back with a change (optimistic concurrency)' },
        reportedVersion: { type: 'integer' },
        lastSync: isoTime,
        error: { type: 'object', required: ['version', 'message'], properties: { version: { type: 'integer' }, message: { type: 'string' } } },
        state: { type: 'string', enum: ['in-sync', 'pending', 'refused'] },
      },
    },
    ShadowPatch: {
      type: 'object',
      additionalProperties: false,
      required: ['version', 'desired'],
      properties: { version: { type: 'integer', minimum: 0 }, desired: { type: 'object', description: 'partial DeviceConfig; null removes a key' } },
    },
    CommandRequest: {
      type: 'object',
      additionalProperties: false,
      required: ['operation'],
      properties: {
        operation: { type: 'string', enum: OPERATIONS },
        params: { type: 'object', description: 'per operation: see x-operation-params' },
        expiresInSeconds: { type: 'integer', minimum: 1, description: 'undelivered after this long → expired' },
      },
    },
    Command: {
      type: 'object',
      additionalProperties: false,
      required: ['commandId', 'deviceId', 'operation', 'params', 'status', 'requestedBy', 'createdAt', 'expiresAt', 'updatedAt'],
      properties: {
        commandId: { type: 'string', format: 'uuid' },
        deviceId: { type: 'string' },
        operation: { type: 'string', enum: OPERATIONS },
        params: { type: 'object' },
        status: CommandStatus,
        result: { description: "the device's answer (successful)" },
        error: { type: 'string' },
        requestedBy: { type: 'string' },
        groupId: { type: 'string' },
        createdAt: isoTime,
        expiresAt: isoTime,
        updatedAt: isoTime,
      },
    },
    GroupRequest: {
      type: 'object',
      additionalProperties: false,
      required: ['tenant', 'selector', 'operation'],
      properties: {
        tenant: { type: 'string', description: 'tenant id or unique name' },
        selector: {
          type: 'object',
          additionalProperties: false,
          properties: {
            ids: { type: 'array', items: { type: 'string' } },
            firmware: { type: 'string' },
            otaStatus: { type: 'string' },
            region: { type: 'string' },
            site: { type: 'string' },
            owner: { type: 'string' },
            tag: { type: 'string' },
            online: { type: 'boolean' },
          },
        },
        operation: { type: 'string', enum: OPERATIONS },
        params: { type: 'object' },
        concurrency: { type: 'integer', minimum: 1, default: 10 },
        expiresInSeconds: { type: 'integer', minimum: 1 },
        confirm: { type: 'boolean', default: false },
      },
    },
    Group: {
      type: 'object',
      additionalProperties: false,
      required: ['group', 'progress', 'devices', 'page'],
      properties: {
        group: {
          type: 'object',
          required: ['id', 'tenantId', 'operation', 'state', 'concurrency'],
          properties: {
            id: { type: 'string' },
            tenantId: { type: 'string' },
            operation: { type: 'string' },
            state: { type: 'string', enum: ['running', 'cancelled', 'finished'] },
            concurrency: { type: 'integer' },
          },
        },
        progress: { type: 'object', required: ['total'], additionalProperties: { type: 'integer' } },
        devices: {
          type: 'array',
          description: 'one page of the per-device outcomes (see page)',
          items: {
            type: 'object',
            required: ['deviceId', 'outcome', 'status', 'commandId'],
            properties: { deviceId: { type: 'string' }, outcome: Outcome, status: CommandStatus, commandId: { type: 'string' }, error: { type: 'string' }, result: {} },
          },
        },
        page: {
          type: 'object',
          additionalProperties: false,
          required: ['offset', 'limit', 'matching'],
          properties: { offset: { type: 'integer' }, limit: { type: 'integer' }, matching: { type: 'integer', description: 'devices with the asked outcome (all when none asked)' } },
        },
      },
    },
    DeploymentRequest: {
      type: 'object',
      additionalProperties: false,
      required: ['tenant', 'distributionSetId'],
      properties: {
        tenant: { type: 'string' },
        distributionSetId: { type: 'integer', description: 'a distribution set published for this tenant (ota-bridge publish)' },
        selector: {
          type: 'object',
          additionalProperties: false,
          required: ['ids'],
          properties: { ids: { type: 'array', items: { type: 'string' }, maxItems: 500 } },
          description: 'named devices; the whole tenant when absent',
        },
        groups: { type: 'array', items: { type: 'number' }, description: 'stage sizes in % of the selected devices, adding up to 100', default: ROLLOUT_DEFAULTS.groups },
        successPct: { type: 'number', default: ROLLOUT_DEFAULTS.successPct, description: 'a stage is done at this share of successes: the deployment pauses for its hold' },
        errorPct: { type: 'number', default: ROLLOUT_DEFAULTS.errorPct, description: 'the deployment pauses at this share of failures in a stage' },
        holdSeconds: {
          type: 'integer',
          minimum: 0,
          maximum: 90 * 86_400,
          default: ROLLOUT_DEFAULTS.holdSeconds,
          description:
            "after each stage but the last, ota-bridge's hold gate waits this long and starts the next stage only if the stage's devices stayed healthy (no OTA Failure/Boot Mismatch above its threshold, not offline more than the others); otherwise the deployment stays paused with a tenant alarm naming the signal. Resuming (POST …/resume) starts the next stage at once",
        },
        action: { type: 'string', enum: ['soft', 'forced', 'downloadonly'], default: ROLLOUT_DEFAULTS.action },
        start: { type: 'boolean', default: false },
      },
    },
    Deployment: {
      type: 'object',
      additionalProperties: false,
      required: ['deploymentId', 'tenantId', 'name', 'status', 'totalTargets', 'totalTargetsPerStatus', 'stages'],
      properties: {
        deploymentId: { type: 'integer', description: "hawkBit's rollout id" },
        tenantId: { type: 'string' },
        name: { type: 'string' },
        status: { type: 'string', description: "hawkBit's rollout status (creating, ready, starting, running, paused, finished, deleting…)" },
        distributionSetId: { type: 'integer' },
        totalTargets: { type: 'integer' },
        totalTargetsPerStatus: { type: 'object', additionalProperties: { type: 'integer' } },
        stages: {
          type: 'array',
          items: {
            type: 'object',
            required: ['name', 'status', 'totalTargets', 'totalTargetsPerStatus'],
            properties: {
              name: { type: 'string' },
              status: { type: 'string' },
              targetPercentage: { type: 'number' },
              totalTargets: { type: 'integer' },
              totalTargetsPerStatus: { type: 'object', additionalProperties: { type: 'integer' } },
            },
          },
        },
      },
    },
    RegistrationRequest: {
      type: 'object',
      additionalProperties: false,
      required: ['tenant', 'deviceId'],
      properties: {
        tenant: { type: 'string' },
        deviceId: { type: 'string', description: 'the id the device will enroll with (its serial)' },
        expires: { type: 'string', default: '90d', description: 'claim validity, e.g. 12h or 90d' },
      },
    },
    Registration: {
      type: 'object',
      additionalProperties: false,
      required: ['deviceId', 'tenantId', 'claim', 'token', 'ownerAssignment'],
      properties: {
        deviceId: { type: 'string' },
        tenantId: { type: 'string' },
        claim: {
          type: 'object',
          required: ['id', 'expiresAt'],
          properties: {
            id: { type: 'string' },
            tenantId: { type: 'string' },
            deviceId: { type: 'string' },
            usesLeft: { type: 'integer' },
            maxUses: { type: 'integer' },
            expiresAt: { type: 'string' },
          },
        },
        token: { type: 'string', description: 'the claim token, shown once: only this device id can enroll with it, once' },
        ownerAssignment: {
          type: 'object',
          required: ['content', 'png'],
          properties: {
            content: { type: 'string', description: 'cdm:enroll?v=1&tenant=…&device=…&claim=… — what the label’s QR code holds' },
            png: { type: 'string', description: 'the QR code as a PNG data URL' },
          },
        },
      },
    },
    Audit: {
      type: 'object',
      required: ['tenant', 'entries'],
      properties: {
        tenant: ref('TenantRef'),
        entries: {
          type: 'array',
          items: {
            type: 'object',
            required: ['at', 'actor', 'actorName', 'action', 'devices', 'outcome'],
            properties: {
              at: isoTime,
              actor: { type: 'string' },
              actorName: { type: 'string' },
              action: { type: 'string' },
              tenantId: { type: 'string' },
              devices: { type: 'array', items: { type: 'string' } },
              outcome: { type: 'string', enum: ['done', 'refused', 'failed'] },
              detail: { type: 'string' },
            },
          },
        },
      },
    },
  };
  const device = pathId('id', 'cdm device id');
  return {
    openapi: '3.1.0',
    info: {
      title: 'cdm fleet API',
      version: '1.0.0',
      description: `Devices, shadow, commands and group operations of a cdm fleet. Authenticate with a Keycloak access token (audience cdm-fleet); what a caller may do is decided per tenant from their Keycloak role groups (admins, operators, oncall):\n\n| action | roles |\n|---|---|\n${permissionTable()}\n\nA device of a tenant you are not in answers 404.`,
    },
    servers: [{ url: '/v1' }],
    security: bearer,
    components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } }, schemas },
    'x-operation-params': Object.fromEntries(Object.entries(OperationParams).map(([k, v]) => [k, schemaOf(v)])),
    paths: {
      '/openapi.json': { get: { summary: 'This document', security: [], responses: { 200: json({ type: 'object' }) } } },
      '/devices': {
        post: {
          summary: "Register a device ahead of manufacturing: its single-use claim (from enroll-bridge) and the label's owner-assignment QR code",
          requestBody: { required: true, content: { 'application/json': { schema: ref('RegistrationRequest') } } },
          responses: { 201: json(ref('Registration'), 'registered'), ...errors(400, 401, 403, 404, 409, 415, 502) },
        },
        get: {
          summary: "A tenant's active devices, filtered",
          parameters: [
            { name: 'tenant', in: 'query', required: true, schema: { type: 'string' } },
            ...['firmware', 'otaStatus', 'region', 'site', 'owner', 'tag'].map((n) => ({ name: n, in: 'query', schema: { type: 'string' } })),
            { name: 'online', in: 'query', schema: { type: 'string', enum: ['true', 'false'] } },
            { name: 'offset', in: 'query', schema: { type: 'integer', minimum: 0, default: 0 } },
            { name: 'limit', in: 'query', schema: { type: 'integer', minimum: 1, maximum: 1000, default: 100 } },
          ],
          responses: { 200: json(ref('DeviceList')), ...errors(400, 401, 403, 404, 409, 502) },
        },
      },
      '/devices/{id}': {
        get: { summary: 'One device: identity, certificate, firmware, online, metadata, open alarms', parameters: [device], responses: { 200: json(ref('Device')), ...errors(401, 403, 404, 502) } },
        patch: {
          summary: "Set a device's metadata (region, site, owner, tags)",
          parameters: [device],
          requestBody: { required: true, content: { 'application/json': { schema: ref('DevicePatch') } } },
          responses: { 200: json({ type: 'object', required: ['deviceId', 'metadata'] }), ...errors(400, 401, 403, 404, 415, 502) },
        },
      },
      '/devices/{id}/shadow': {
        get: { summary: 'Desired and reported configuration, their difference, version and last sync', parameters: [device], responses: { 200: json(ref('Shadow')), ...errors(401, 403, 404, 502) } },
        patch: {
          summary: 'Change the desired configuration (partial; send the version you read)',
          parameters: [device],
          requestBody: { required: true, content: { 'application/json': { schema: ref('ShadowPatch') } } },
          responses: { 200: json(ref('Shadow')), ...errors(400, 401, 403, 404, 409, 415, 502) },
        },
      },
      '/devices/{id}/command': {
        post: {
          summary: 'Send a command (persistent: delivered when the device is back, or expires)',
          parameters: [device],
          requestBody: { required: true, content: { 'application/json': { schema: ref('CommandRequest') } } },
          responses: { 202: json(ref('Command'), 'accepted; follow the Location'), ...errors(400, 401, 403, 404, 415, 502) },
        },
      },
      '/devices/{id}/commands': {
        get: {
          summary: "The device's recent commands",
          parameters: [device],
          responses: {
            200: json({ type: 'object', required: ['deviceId', 'commands'], properties: { deviceId: { type: 'string' }, commands: { type: 'array', items: ref('Command') } } }),
            ...errors(401, 403, 404),
          },
        },
      },
      '/devices/{id}/commands/{commandId}': {
        get: {
          summary: "A command's delivery status and the device's answer",
          parameters: [device, pathId('commandId', 'from the command’s Location')],
          responses: { 200: json(ref('Command')), ...errors(401, 403, 404, 502) },
        },
      },
      '/groups/operations': {
        post: {
          summary: 'Run an operation on the devices a selector matches, with a concurrency limit',
          requestBody: { required: true, content: { 'application/json': { schema: ref('GroupRequest') } } },
          responses: { 202: json(ref('Group'), 'accepted; follow the Location'), ...errors(400, 401, 403, 404, 409, 415, 422, 502) },
        },
      },
      '/groups/operations/{id}': {
        get: {
          summary: 'Progress and per-device outcomes (paged; filter by outcome, e.g. failed)',
          parameters: [
            pathId('id', 'group operation id'),
            { name: 'outcome', in: 'query', schema: Outcome },
            { name: 'offset', in: 'query', schema: { type: 'integer', minimum: 0, default: 0 } },
            { name: 'limit', in: 'query', schema: { type: 'integer', minimum: 1, maximum: 10000, default: 1000 } },
          ],
          responses: { 200: json(ref('Group')), ...errors(400, 401, 403, 404) },
        },
      },
      '/groups/operations/{id}/cancel': {
        post: {
          summary: 'Stop sending; withdraw what offline devices have not taken',
          parameters: [pathId('id', 'group operation id')],
          responses: { 200: json(ref('Group')), ...errors(401, 403, 404, 502) },
        },
      },
      '/ota/deployments': {
        post: {
          summary: 'Deploy a published distribution set to the tenant (or named devices) in stages, by the rules of ota-bridge publish',
          requestBody: { required: true, content: { 'application/json': { schema: ref('DeploymentRequest') } } },
          responses: { 201: json(ref('Deployment'), 'created in hawkBit; follow the Location'), ...errors(400, 401, 403, 404, 409, 415, 422, 502) },
        },
      },
      '/ota/deployments/{id}': {
        get: {
          summary: 'State per stage, read from hawkBit',
          parameters: [pathId('id', 'deployment (hawkBit rollout) id')],
          responses: { 200: json(ref('Deployment')), ...errors(401, 403, 404, 502) },
        },
      },
      ...Object.fromEntries(
        (['pause', 'resume', 'cancel'] as const).map((verb) => [
          `/ota/deployments/{id}/${verb}`,
          {
            post: {
              summary: { pause: 'Pause the running stage', resume: 'Resume a paused deployment', cancel: 'Cancel: hawkBit stops what it has not run and removes the deployment' }[verb],
              parameters: [pathId('id', 'deployment id')],
              responses: { 200: json(ref('Deployment')), ...errors(401, 403, 404, 502) },
            },
          },
        ]),
      ),
      '/audit': {
        get: {
          summary: "The tenant's audit trail (admins)",
          parameters: [{ name: 'tenant', in: 'query', required: true, schema: { type: 'string' } }],
          responses: { 200: json(ref('Audit')), ...errors(401, 403, 404) },
        },
      },
    },
  };
}
