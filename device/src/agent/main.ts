import fs from 'node:fs';
import path from 'node:path';
import { Agent } from './agent.ts';
import { LinuxActions } from './actions.ts';

/**
 * cdm-agent on the device (systemd: device/systemd/cdm-agent.service, after enrollment). Reads the
 * identity enroll.sh left in CDM_STATE and ThingsBoard's MQTT address from the device config.
 * Every variable has a default for a standard image; tests point them at stand-ins.
 */
const env = process.env;
const etc = env.CDM_ETC ?? '/etc/cdm';
const state = env.CDM_STATE ?? '/var/lib/cdm';
const deviceConfig = Object.fromEntries(
  (fs.existsSync(path.join(etc, 'device-config')) ? fs.readFileSync(path.join(etc, 'device-config'), 'utf8') : '')
    .split('\n')
    .map((l) => /^\s*([A-Z_][A-Z0-9_]*)=(.*)$/.exec(l))
    .filter((m): m is RegExpExecArray => Boolean(m))
    .map((m) => [m[1]!, m[2]!.trim().replace(/^["']|["']$/g, '')]),
);
const setting = (k: string, dflt?: string) => env[k] ?? deviceConfig[k] ?? dflt;
const argv = (v: string | undefined) => (v ? v.split(/\s+/).filter(Boolean) : undefined);
const log = (m: string) => process.stdout.write(`${new Date().toISOString()} cdm-agent: ${m}\n`);
const die = (m: string) => {
  process.stderr.write(`cdm-agent: ${m}\n`);
  process.exit(1);
};

const host = setting('TB_MQTT_HOST');
const brokerUrl = setting('TB_MQTT_URL', host ? `mqtts://${host}:${setting('TB_MQTT_PORT', '8883')}` : undefined) ?? die('set TB_MQTT_URL or TB_MQTT_HOST in the device config');
const read = (f: string, what: string) => {
  try {
    return fs.readFileSync(f, 'utf8');
  } catch {
    return die(`cannot read ${what} (${f}): enroll first (enroll.sh)`);
  }
};

const agent = await Agent.start({
  brokerUrl: brokerUrl!,
  caPem: read(setting('CDM_AGENT_CA', path.join(state, 'root_ca.crt'))!, 'the CA of the broker'),
  certPem: read(path.join(state, 'device.crt'), 'the device certificate'),
  keyPem: read(path.join(state, 'device.key'), 'the device key'),
  stateFile: path.join(state, 'agent-state.json'),
  bootId: read(setting('CDM_AGENT_BOOT_ID_FILE', '/proc/sys/kernel/random/boot_id')!, 'the boot id').trim(),
  softwareVersion: setting('CDM_SW_VERSION'),
  actions: new LinuxActions({
    stateDir: state,
    selfTestDir: setting('CDM_AGENT_SELF_TEST_DIR', '/usr/lib/cdm/self-test.d')!,
    rebootCmd: argv(setting('CDM_AGENT_REBOOT_CMD', 'systemctl reboot'))!,
    recoveryCmd: argv(setting('CDM_AGENT_RECOVERY_CMD', '/usr/lib/cdm/hooks/recovery'))!,
    journalctl: setting('CDM_AGENT_JOURNALCTL', 'journalctl')!,
    configFile: setting('CDM_AGENT_CONFIG_FILE', path.join(etc, 'config.json'))!,
    reloadCmd: argv(setting('CDM_AGENT_RELOAD_CMD')),
  }),
  log,
});
const stop = () => void agent.stop().finally(() => process.exit(0));
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
