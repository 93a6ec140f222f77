import { InfluxClient } from '@cdm/common';

/**
 * InfluxDB 2 tasks on the 1.8 backend. A task is Flux with `option task = {name, every, offset}`
 * ending in `to(bucket: …)`; 1.8's Flux is read-only, so the fake runs the script without its
 * `to()` on the real influxd and writes the rows back as line protocol — the aggregation itself is
 * influxd's Flux, only the write is the fake's.
 */
export interface TaskOptions {
  name: string;
  every?: string;
  offset?: string;
}

const DURATION = /^(\d+(ns|us|ms|s|m|h|d|w))+$/;

/** Pure: the task option of a script, or why it has none InfluxDB would accept. */
export function taskOptions(flux: string): TaskOptions | string {
  const m = /option\s+task\s*=\s*\{([^}]*)\}/.exec(flux);
  if (!m) return 'the script has no "option task = {…}"';
  const name = /name\s*:\s*"([^"]+)"/.exec(m[1]!)?.[1];
  const every = /every\s*:\s*([0-9a-z]+)/.exec(m[1]!)?.[1];
  const offset = /offset\s*:\s*([0-9a-z]+)/.exec(m[1]!)?.[1];
  if (!name) return 'option task has no name';
  if (!every || !DURATION.test(every)) return 'option task needs every (a duration; the fake runs no cron tasks)';
  if (offset && !DURATION.test(offset)) return `option task offset ${offset} is not a duration`;
  return { name, every, ...(offset ? { offset } : {}) };
}

export const durationMs = (d: string) => {
  const unit: Record<string, number> = { ns: 1e-6, us: 1e-3, ms: 1, s: 1e3, m: 60e3, h: 3600e3, d: 86400e3, w: 604800e3 };
  return [...d.matchAll(/(\d+)(ns|us|ms|s|m|h|d|w)/g)].reduce((t, [, n, u]) => t + Number(n) * unit[u!]!, 0);
};

/**
 * Pure: the query a run executes and where its rows go — imports first, then `now` set to the
 * run's scheduled time (as InfluxDB does), the task option's values inlined, `to()` taken off.
 */
export function runScript(flux: string, o: TaskOptions, scheduledFor: Date): { query: string; bucket: string } | string {
  const to = /\|>\s*to\(\s*bucket\s*:\s*"([^"]+)"(?:\s*,\s*org\s*:\s*"[^"]*")?\s*\)\s*$/.exec(flux.trim());
  if (!to) return 'the fake runs tasks whose script ends in |> to(bucket: "…")';
  const body = flux
    .trim()
    .slice(0, to.index)
    .replace(/option\s+task\s*=\s*\{[^}]*\}/, '')
    .replaceAll('task.every', o.every!)
    .replaceAll('task.offset', o.offset ?? '0s');
  const imports = [...body.matchAll(/^[ \t]*import[ \t]+"[^"]+"[ \t]*$/gm)].map((m) => m[0].trim());
  const rest = body.replace(/^[ \t]*import[ \t]+"[^"]+"[ \t]*$/gm, '');
  return { query: `${imports.join('\n')}\noption now = () => ${scheduledFor.toISOString()}\n${rest}`, bucket: to[1]! };
}

/** Runs `query` on influxd 1.8 and writes its rows into `db` (1.8 database/retention policy), in batches. */
export async function executeRun(backend: string, query: string, db: string): Promise<number> {
  // InfluxDB runs a task's query inside the server, with no client timeout: a run over an hour of a large tenant may take minutes.
  const influx = new InfluxClient({ baseURL: backend, token: 'influxd-1.8-has-no-auth', retries: 0, timeoutMs: 600_000 });
  let batch: string[] = [];
  let written = 0;
  const flush = async () => {
    if (!batch.length) return;
    const res = await fetch(`${backend}/api/v2/write?bucket=${encodeURIComponent(db)}&precision=ns`, {
      method: 'POST',
      headers: { 'Content-Type': 'text/plain; charset=utf-8' },
      body: batch.join('\n'),
    });
    if (res.status !== 204) throw new Error(`influxd refused the run's write: ${await res.text()}`);
    written += batch.length;
    batch = [];
  };
  for await (const line of influx.lines('', query)) {
    batch.push(line);
    if (batch.length >= 5000) await flush();
  }
  await flush();
  return written;
}
