import QRCode from 'qrcode';
import { z } from 'zod';

export const RegistrationBody = z
  .object({
    tenant: z.string().min(1).max(200),
    /** The id the device will enroll with (its serial, as enroll.sh derives it). */
    deviceId: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{2,63}$/, '3-64 letters, digits, dot, dash or underscore, starting with a letter or digit'),
    /** How long the claim stays valid, e.g. 90d (from now: manufacturing and shipping). */
    expires: z
      .string()
      .regex(/^\d{1,4}[mhd]$/, 'a duration such as 12h or 90d')
      .default('90d'),
  })
  .strict();

/**
 * The owner-assignment payload printed on the device's label: scanned by the installer's app (or
 * typed into the device's setup page), it tells the device which tenant it belongs to and carries
 * the single-use claim only this device id can enroll with. A URI, so a phone camera shows what it is.
 */
export function ownerAssignment(r: { tenantId: string; deviceId: string; token: string }): string {
  const q = new URLSearchParams({ v: '1', tenant: r.tenantId, device: r.deviceId, claim: r.token });
  return `cdm:enroll?${q.toString()}`;
}

/** The QR code of the payload as a PNG data URL (error correction M: survives a scuffed label). */
export const qrPng = (content: string): Promise<string> => QRCode.toDataURL(content, { errorCorrectionLevel: 'M', margin: 2, scale: 6 });
