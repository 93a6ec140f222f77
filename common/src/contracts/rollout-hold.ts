/**
 * The contract between whoever creates a staged rollout (`ota-bridge publish`, the fleet API's
 * deployments) and ota-bridge's hold gate: a stage (hawkBit rollout group) that must be held
 * before the next starts carries its hold time in its description, so the fact lives with the
 * rollout in hawkBit (the owner of rollout state) and survives restarts of every cdm service.
 */
const MARKER = /^cdm hold (\d{1,9})s$/;

export function holdDescription(seconds: number): string {
  if (!Number.isInteger(seconds) || seconds < 0 || seconds > 999_999_999) throw new Error(`invalid hold ${seconds}: whole seconds from 0`);
  return `cdm hold ${seconds}s`;
}

/** The hold after a stage, in seconds, or undefined when the stage carries none (not cdm's, or the last). */
export function holdOf(description: string | undefined): number | undefined {
  const m = MARKER.exec(description ?? '');
  return m ? Number(m[1]) : undefined;
}
