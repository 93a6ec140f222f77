import { z } from 'zod';

/**
 * The device directory: enroll-bridge owns device identity and answers other services' questions
 * about it (which tenant, which ThingsBoard device, which tunnel address and host key), so no
 * service opens enroll-bridge's store. Served on enroll-bridge's internal health port; callers
 * authenticate with a Keycloak service-account token whose audience includes DIRECTORY_AUDIENCE.
 */
export const DIRECTORY_AUDIENCE = 'cdm-directory';
export const DIRECTORY_VERSION = 1;
export const MAX_LOOKUP = 1000;

export const DirectoryDevice = z
  .object({
    deviceId: z.string().min(1),
    /** cdm tenant id (Keycloak group id). */
    tenantId: z.string().min(1),
    status: z.enum(['enrolling', 'active', 'decommissioning', 'decommissioned']),
    wgIp: z.string().optional(),
    sshHostKey: z.string().optional(),
    tbDeviceId: z.string().optional(),
    /** The current certificate: its serial and end of validity (ISO). */
    certSerial: z.string().optional(),
    certNotAfter: z.string().optional(),
  })
  .strict();
export type DirectoryDevice = z.infer<typeof DirectoryDevice>;

export const LookupRequest = z.object({ ids: z.array(z.string().min(1).max(64)).max(MAX_LOOKUP) }).strict();
export const LookupAnswer = z.object({ version: z.literal(DIRECTORY_VERSION), devices: z.array(DirectoryDevice) }).strict();
export const DeviceAnswer = z.object({ version: z.literal(DIRECTORY_VERSION), device: DirectoryDevice }).strict();
