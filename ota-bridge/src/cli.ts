import { parseArgs } from 'node:util';
import cliProgress from 'cli-progress';
import { parseDuration, ROLLOUT_DEFAULTS, type HawkbitClient, type TenantDirectory } from '@cdm/common';
import type { OtaStore } from './store.ts';
import { publish, PublishError, type RolloutAction } from './publish.ts';

export const USAGE = `usage: ota-bridge [daemon]     mirror hawkBit into ThingsBoard and InfluxDB on POLL_SCHEDULE, health gate, /healthz
       ota-bridge publish <bundle.raucb> --version V --tenant <name|id> [--groups 1,9,40,50] [--success 95] [--error 5]
                          [--hold 24h] [--action soft|forced|downloadonly] [--start] [--chunks DIR]
                            a delta (casync) bundle's chunks are copied from DIR (default: <bundle>.castr,
                            as rauc convert writes it) into CHUNK_STORE_DIR and checked before upload
                            stages of the devices (%); each but the last holds the rollout --hold,
                            then ota-bridge starts the next if its devices stayed healthy
       ota-bridge hold <rollout id> <duration>
                            change the hold of that rollout's stages from now on (e.g. 2h; 0 = release at
                            the next pass if healthy); recorded with who changed it
       ota-bridge poll      one mirror pass now
       ota-bridge dead-letters [clear [<action id>]]
                            changes that could not be applied, with the reason (clear: after fixing it)`;

const ACTIONS: RolloutAction[] = ['soft', 'forced', 'downloadonly'];

const holdSeconds = (s: string) => {
  try {
    return Math.round(parseDuration(s) / 1000);
  } catch (err) {
    throw new PublishError(`--hold: ${(err as Error).message}`);
  }
};

/** `publish`: what a CI pipeline runs after building and signing a bundle. */
export async function runPublish(argv: string[], d: { hawkbit: HawkbitClient; tenants: TenantDirectory; keyring?: string; chunkStore?: string }): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      version: { type: 'string' },
      tenant: { type: 'string' },
      groups: { type: 'string', default: ROLLOUT_DEFAULTS.groups.join(',') },
      success: { type: 'string', default: String(ROLLOUT_DEFAULTS.successPct) },
      error: { type: 'string', default: String(ROLLOUT_DEFAULTS.errorPct) },
      hold: { type: 'string', default: `${ROLLOUT_DEFAULTS.holdSeconds}s` },
      action: { type: 'string', default: ROLLOUT_DEFAULTS.action },
      start: { type: 'boolean', default: false },
      chunks: { type: 'string' },
    },
  });
  if (positionals.length !== 1 || !values.version || !values.tenant) throw new PublishError(`publish needs a bundle, --version and --tenant\n${USAGE}`);
  if (!ACTIONS.includes(values.action as RolloutAction)) throw new PublishError(`--action: one of ${ACTIONS.join(', ')}`);
  const tenant = await d.tenants.require(values.tenant);
  // A bar on a terminal; in a CI log, a line per quarter instead of a redrawn bar.
  const bar = process.stderr.isTTY
    ? new cliProgress.SingleBar({ stream: process.stderr, format: 'upload [{bar}] {percentage}% {value}/{total} bytes' }, cliProgress.Presets.shades_classic)
    : undefined;
  let quarter = -1;
  const r = await publish(
    {
      bundle: positionals[0]!,
      version: values.version,
      tenant,
      groups: values.groups!.split(',').map(Number),
      successPct: Number(values.success),
      errorPct: Number(values.error),
      holdSeconds: holdSeconds(values.hold!),
      action: values.action as RolloutAction,
      start: values.start!,
      chunks: values.chunks,
    },
    {
      hawkbit: d.hawkbit,
      keyring: d.keyring,
      chunkStore: d.chunkStore,
      say: (line) => process.stdout.write(`${line}\n`),
      onProgress: (sent, total) => {
        if (bar) {
          if (!bar.getTotal()) bar.start(total, 0);
          bar.update(sent);
          if (sent >= total) bar.stop();
        } else if (Math.floor((4 * sent) / Math.max(total, 1)) > quarter) {
          quarter = Math.floor((4 * sent) / Math.max(total, 1));
          process.stdout.write(`upload ${Math.round((100 * sent) / Math.max(total, 1))}% (${sent}/${total} bytes)\n`);
        }
      },
    },
  );
  process.stdout.write(`${JSON.stringify(r)}\n`);
  return 0;
}

/** `hold`: an operator shortens (or lengthens) a rollout's holds; the change is kept with who made it. */
export async function runHold(argv: string[], store: OtaStore, o: { by: string; now: number; out?: (line: string) => void }): Promise<number> {
  const out = o.out ?? ((l: string) => process.stdout.write(`${l}\n`));
  const id = Number(argv[0]);
  if (argv.length !== 2 || !Number.isInteger(id) || id <= 0) throw new Error(`hold takes a rollout id and a duration\n${USAGE}`);
  const seconds = Math.round(parseDuration(argv[1]!) / 1000);
  const before = await store.holdOverride(id);
  await store.setHoldOverride(id, seconds, o.by, o.now);
  out(`rollout ${id}: stages held ${seconds} s from now on${before ? ` (was ${before.holdSeconds} s, set by ${before.by})` : ''}; changed by ${o.by}`);
  return 0;
}

/** `dead-letters`: what the mirror set aside (the device was gone or changed), and clearing them. */
export async function runDeadLetters(argv: string[], store: OtaStore, out: (line: string) => void = (l) => process.stdout.write(`${l}\n`)): Promise<number> {
  if (argv[0] === 'clear') {
    const id = argv[1] === undefined ? undefined : Number(argv[1]);
    if (id !== undefined && !Number.isInteger(id)) throw new Error('dead-letters clear takes an action id (a number)');
    out(`${await store.clearDeadLetters(id)} dead letter(s) cleared`);
    return 0;
  }
  if (argv.length) throw new Error(`unknown dead-letters command ${argv[0]}\n${USAGE}`);
  const all = await store.deadLetters();
  for (const d of all) out(`${new Date(d.at).toISOString()}  action ${d.actionId}  ${d.controllerId}  ${d.reason}`);
  out(all.length ? `${all.length} dead letter(s)` : 'no dead letters');
  return 0;
}
