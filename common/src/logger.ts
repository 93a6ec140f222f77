import { pino, type Logger, type LoggerOptions } from 'pino';

/**
 * Paths that may carry secrets anywhere in a log object. Tokens, passwords and private keys must
 * never reach a log line, whatever a caller passes in.
 */
export const REDACT_PATHS = [
  'password', '*.password', 'token', '*.token', 'accessToken', '*.accessToken', 'refreshToken', '*.refreshToken',
  'privateKey', '*.privateKey', 'secret', '*.secret', 'authorization', '*.authorization', 'Authorization',
  '*.Authorization', 'headers.authorization', 'headers["x-authorization"]', 'config.headers', 'claim', '*.claim',
  'ott', '*.ott', 'key', '*.key', 'clientSecret', '*.clientSecret',
];

export function createLogger(name: string, opts: LoggerOptions = {}): Logger {
  return pino({
    name,
    level: process.env.LOG_LEVEL ?? 'info',
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    ...opts,
  });
}

export type { Logger };
