import { pino, type Logger, type LoggerOptions } from 'pino';

/**
 * Field names that carry secrets wherever they sit in a log object: tokens, passwords, private
 * keys, claims, Authorization headers. Matched case-insensitively at any depth (pino's own
 * `redact` paths reach one wildcard level; an upstream error's request config nests deeper).
 */
export const SECRET_KEYS =
  /^(password|passwd|token|access_?token|refresh_?token|id_?token|security_?token|private_?key|secret|client_?secret|authorization|x-authorization|cookie|set-cookie|claim|claim_?token|ott|key)$/i;
const MAX_DEPTH = 10;

/** A copy of `value` with every secret field censored, at any depth (cycles and depth bounded). */
export function redactDeep(value: unknown, depth = 0, seen = new WeakSet<object>()): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (depth >= MAX_DEPTH) return '[too deep]';
  if (seen.has(value)) return '[circular]';
  seen.add(value);
  if (Array.isArray(value)) return value.map((v) => redactDeep(v, depth + 1, seen));
  if (value instanceof Error) return { type: value.name, message: value.message, stack: value.stack };
  if (value instanceof Date || Buffer.isBuffer(value)) return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = SECRET_KEYS.test(k) ? '[redacted]' : redactDeep(v, depth + 1, seen);
  return out;
}

export function createLogger(name: string, opts: LoggerOptions = {}, destination?: pino.DestinationStream): Logger {
  const options: LoggerOptions = {
    name,
    level: process.env.LOG_LEVEL ?? 'info',
    formatters: { log: (obj) => redactDeep(obj) as Record<string, unknown>, bindings: (b) => redactDeep(b) as Record<string, unknown> },
    ...opts,
  };
  return destination ? pino(options, destination) : pino(options);
}

export type { Logger };
