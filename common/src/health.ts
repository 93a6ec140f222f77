import express from 'express';
import type { Server } from 'node:http';
import type { Logger } from 'pino';

export type Check = () => Promise<void>;

export interface HealthServerOptions {
  host: string;
  port: number;
  logger: Logger;
  /** Named upstream checks; a check throws to report "down". */
  checks: Record<string, Check>;
  /** Extra gauges for /metrics, read at scrape time (e.g. last reconcile status per tenant). */
  gauges?: () => Record<string, number> | Promise<Record<string, number>>;
  /** Internal APIs served beside /healthz (e.g. enroll-bridge's device directory). */
  routes?: express.Router;
}

export interface HealthReport {
  status: 'ok' | 'degraded';
  checks: Record<string, { ok: boolean; error?: string }>;
}

export async function runChecks(checks: Record<string, Check>): Promise<HealthReport> {
  const entries = await Promise.all(
    Object.entries(checks).map(async ([name, check]) => {
      try {
        await check();
        return [name, { ok: true }] as const;
      } catch (err) {
        return [name, { ok: false, error: (err as Error).message }] as const;
      }
    }),
  );
  const out = Object.fromEntries(entries);
  return { status: entries.every(([, r]) => r.ok) ? 'ok' : 'degraded', checks: out };
}

/** Prometheus text exposition of upstream status and bridge gauges. */
export function renderMetrics(report: HealthReport, gauges: Record<string, number> = {}): string {
  const lines = ['# HELP cdm_upstream_up 1 when the upstream answered the last health check', '# TYPE cdm_upstream_up gauge'];
  for (const [name, r] of Object.entries(report.checks)) lines.push(`cdm_upstream_up{upstream="${name}"} ${r.ok ? 1 : 0}`);
  for (const [name, v] of Object.entries(gauges)) lines.push(`${name} ${v}`);
  return `${lines.join('\n')}\n`;
}

/**
 * /healthz (200 when every upstream answers, 503 otherwise, with the reason per upstream) and
 * /metrics. Every bridge serves both so ops see which upstream is failing without reading logs.
 */
export async function startHealthServer(opts: HealthServerOptions): Promise<Server> {
  const app = express();
  app.get('/healthz', async (_req, res) => {
    const report = await runChecks(opts.checks);
    res.status(report.status === 'ok' ? 200 : 503).json(report);
  });
  app.get('/metrics', async (_req, res) => {
    const report = await runChecks(opts.checks);
    res.type('text/plain; version=0.0.4').send(renderMetrics(report, await opts.gauges?.()));
  });
  if (opts.routes) app.use(opts.routes);
  return new Promise((resolve, reject) => {
    const server = app.listen(opts.port, opts.host, () => {
      opts.logger.info({ host: opts.host, port: opts.port }, 'health endpoint listening');
      resolve(server);
    });
    server.on('error', reject);
  });
}
