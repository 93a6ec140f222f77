/**
 * The contract between enroll-bridge (which makes a device's hawkBit target) and ota-bridge (which
 * mirrors its update state): the target's description names the cdm tenant that owns the device.
 * hawkBit has one tenant for all of cdm's, so this marker is how a target is known to be a cdm
 * device of a given tenant; a target without it was not made by cdm.
 */
const MARKER = /^cdm tenant (\S+)$/;

export function targetDescription(tenantId: string): string {
  if (!/^\S+$/.test(tenantId)) throw new Error(`invalid tenant id ${JSON.stringify(tenantId)}`);
  return `cdm tenant ${tenantId}`;
}

/** The cdm tenant a target belongs to, or undefined when cdm did not make it. */
export function tenantOfTarget(description: string | undefined): string | undefined {
  return MARKER.exec(description ?? '')?.[1];
}
