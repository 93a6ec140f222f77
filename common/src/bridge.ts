import type { Server } from 'node:http';
import type { Logger } from 'pino';
import type { z } from 'zod';
import { describeEnv } from './upstream-config.ts';

/** `--help`: what the bridge does and every environment variable it reads (secrets marked). */
export function printHelpIfAsked(name: string, purpose: string, env: Record<string, z.ZodType>): void {
  if (!process.argv.includes('--help')) return;
  console.log(`${name}: ${purpose}\n\nEnvironment:\n${describeEnv(env)}`);
  process.exit(0);
}

/**
 * Process lifecycle shared by the bridges: log fatal start-up errors with the reason and exit 1,
 * close the health server on SIGINT/SIGTERM so a restart is clean.
 */
export function runMain(name: string, main: () => Promise<{ logger: Logger; servers: Server[]; stop?: () => Promise<void> }>): void {
  main().then(
    ({ logger, servers, stop }) => {
      const shutdown = (signal: string) => {
        logger.info({ signal }, `${name} stopping`);
        void Promise.resolve(stop?.())
          .catch((err: unknown) => logger.error({ err }, 'stop failed'))
          .finally(() => {
            for (const s of servers) s.close();
            process.exit(0);
          });
      };
      process.once('SIGINT', () => shutdown('SIGINT'));
      process.once('SIGTERM', () => shutdown('SIGTERM'));
    },
    (err: Error) => {
      process.stderr.write(`${name}: cannot start: ${err.message}\n`);
      process.exit(1);
    },
  );
}

/** Runs a one-shot command (a bridge CLI): exits with its code, or 1 with the reason on stderr (no stack). */
export function runCommand(name: string, command: () => Promise<number>): void {
  command().then(
    (code) => process.exit(code),
    (err: Error) => {
      // The cause names what the upstream said (an error that names only the step would leave ops guessing).
      const cause = err.cause instanceof Error ? `: ${err.cause.message}` : '';
      process.stderr.write(`${name}: ${err.message}${cause}\n`);
      process.exit(1);
    },
  );
}
