/**
 * The contract between tenant-sync (which makes a ThingsBoard tenant per Keycloak tenant group) and
 * every service that finds a tenant in ThingsBoard: `additionalInfo.cdmId` is the Keycloak group id,
 * `cdmDisabled` marks a tenant whose group was deleted (kept with its data). A tenant without
 * cdmId is not cdm's and is never touched.
 */
export interface CdmTenantInfo {
  cdmId?: string;
  disabled: boolean;
}

export function cdmTenantInfo(t: { additionalInfo?: unknown }): CdmTenantInfo {
  const info = (t.additionalInfo && typeof t.additionalInfo === 'object' ? t.additionalInfo : {}) as { cdmId?: unknown; cdmDisabled?: unknown };
  return { cdmId: typeof info.cdmId === 'string' && info.cdmId ? info.cdmId : undefined, disabled: info.cdmDisabled === true };
}

/** additionalInfo for a cdm tenant, keeping whatever else ThingsBoard or people put there. */
export function withCdmTenantInfo(existing: unknown, cdmId: string, disabled?: boolean): Record<string, unknown> {
  const base = existing && typeof existing === 'object' ? (existing as Record<string, unknown>) : {};
  return { ...base, cdmId, cdmManaged: true, ...(disabled === undefined ? {} : { cdmDisabled: disabled }) };
}
