import { parseArgs } from 'node:util';
import cliProgress from 'cli-progress';
import type { HawkbitClient, TenantDirectory } from '@cdm/common';
import type { OtaStore } from './store.ts';
import { publish, PublishError, type RolloutAction } from './publish.ts';

export const USAGE = `usage: ota-bridge [daemon]     mirror hawkBit into ThingsBoard and InfluxDB on POLL_SCHEDULE, health gate, /healthz
       ota-bridge publish <bundle.raucb> --version V --tenant <name|id> [--groups 5,25,70] [--success 95] [--error 5]
                          [--action soft|forced|downloadonly] [--start]
       ota-bridge poll      one mirror pass now
       ota-bridge dead-letters [clear [<action id>]]
                            changes that could not be applied, with the reason (clear: after fixing it)`;

const ACTIONS: RolloutAction[] = ['soft', 'forced', 'downloadonly'];

/** `publish`: what a CI pipeline runs after building and signing a bundle. */
export async function runPublish(argv: string[], d: { hawkbit: HawkbitClient; tenants: TenantDirectory; keyring?: string }): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { version: { type: 'string' }, tenant: { type: 'string' }, groups: { type: 'string', default: '5,25,70' }, success: { type: 'string', default: '95' }, error: { type: 'string', default: '5' }, action: { type: 'string', default: 'soft' }, start: { type: 'boolean', default: false } },
  });
  if (positionals.length !== 1 || !values.version || !values.tenant) throw new PublishError(`publish needs a bundle, --version and --tenant\n${USAGE}`);
  if (!ACTIONS.includes(values.action as RolloutAction)) throw new PublishError(`--action: one of ${ACTIONS.join(', ')}`);
  const tenant = await d.tenants.require(values.tenant);
  // A bar on a terminal; in a CI log, a line per quarter instead of a redrawn bar.
  const bar = process.stderr.isTTY ? new cliProgress.SingleBar({ stream: process.stderr, format: 'upload [{bar}] {percentage}% {value}/{total} bytes' }, cliProgress.Presets.shades_classic) : undefined;
  let quarter = -1;
  const r = await publish(
    {
      bundle: positionals[0]!,
      version: values.version,
      tenant,
      groups: values.groups!.split(',').map(Number),
      successPct: Number(values.success),
      errorPct: Number(values.error),
      action: values.action as RolloutAction,
      start: values.start!,
    },
    {
      hawkbit: d.hawkbit,
      keyring: d.keyring,
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

/** `dead-letters`: what the mirror set aside (the device was gone or changed), and clearing them. */
export function runDeadLetters(argv: string[], store: OtaStore, out: (line: string) => void = (l) => process.stdout.write(`${l}\n`)): number {
  if (argv[0] === 'clear') {
    const id = argv[1] === undefined ? undefined : Number(argv[1]);
    if (id !== undefined && !Number.isInteger(id)) throw new Error('dead-letters clear takes an action id (a number)');
    out(`${store.clearDeadLetters(id)} dead letter(s) cleared`);
    return 0;
  }
  if (argv.length) throw new Error(`unknown dead-letters command ${argv[0]}\n${USAGE}`);
  const all = store.deadLetters();
  for (const d of all) out(`${new Date(d.at).toISOString()}  action ${d.actionId}  ${d.controllerId}  ${d.reason}`);
  out(all.length ? `${all.length} dead letter(s)` : 'no dead letters');
  return 0;
}
