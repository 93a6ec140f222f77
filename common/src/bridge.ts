import type { Server } from 'node:http';
import type { Logger } from 'pino';

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
