import { z } from 'zod';

/** `500ms`, `90s`, `2m`, `12h`, `30d` or plain seconds → milliseconds: the one duration syntax of cdm's CLIs and options. */
export function parseDuration(s: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)?$/.exec(s.trim());
  if (!m) throw new Error(`"${s}" is not a duration (e.g. 90s, 2m, 12h, 30d)`);
  return Math.round(Number(m[1]) * { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[(m[2] ?? 's') as 'ms' | 's' | 'm' | 'h' | 'd']);
}

/** A duration option or variable (zod): the text as written, milliseconds once parsed, `doc` for --help. */
export const durationSchema = (doc: string, dflt: string) =>
  z
    .string()
    .default(dflt)
    .transform((s, ctx) => {
      try {
        return parseDuration(s);
      } catch (err) {
        ctx.addIssue({ code: 'custom', message: (err as Error).message });
        return z.NEVER;
      }
    })
    .describe(doc);
