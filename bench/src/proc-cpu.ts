import fs from 'node:fs';

/** Which local-stack component a process is, from its command line (undefined: not one of ours). */
function component(cmdline: string, self: number, pid: number): string | undefined {
  if (pid === self) return 'this process (the bench, and in bench:enroll the bridge)';
  if (/thingsboard/i.test(cmdline)) return 'ThingsBoard';
  if (/hawkbit/i.test(cmdline)) return 'hawkBit';
  if (/keycloak/i.test(cmdline)) return 'Keycloak';
  if (/step-ca/.test(cmdline)) return 'step-ca';
  if (/(^|\/)postgres[ :]/.test(cmdline)) return 'PostgreSQL';
  if (/^\S*\bwg\b|wireguard-go/.test(cmdline)) return 'WireGuard';
  if (/\bmosquitto\b/.test(cmdline)) return 'Mosquitto';
  if (/\binfluxd\b/.test(cmdline)) return 'InfluxDB 1.8';
  if (/fakes\/main\.ts influxdb2/.test(cmdline)) return 'InfluxDB 2 API (contract fake)';
  if (/fakes\/main\.ts grafana/.test(cmdline)) return 'Grafana (contract fake)';
  return undefined;
}

/**
 * CPU seconds each local-stack component has used so far, from /proc (Linux): a benchmark takes
 * two readings and prints the difference, so the note can say which server a run's time went to.
 */
export function stackCpu(): Map<string, number> {
  const hz = 100; // USER_HZ: 100 on every Linux this runs on
  const out = new Map<string, number>();
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmdline = fs.readFileSync(`/proc/${entry}/cmdline`, 'utf8').replace(/\0/g, ' ');
      const name = component(cmdline, process.pid, Number(entry));
      if (!name) continue;
      // Fields after the command name in parentheses: utime is the 12th, stime the 13th.
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      out.set(name, (out.get(name) ?? 0) + (Number(f[11]) + Number(f[12])) / hz);
    } catch {
      // the process ended between listing and reading
    }
  }
  return out;
}

/** CPU seconds per component between two readings, largest first. */
export function cpuSince(before: Map<string, number>, after = stackCpu()): [string, number][] {
  return [...after].map(([k, v]): [string, number] => [k, v - (before.get(k) ?? 0)]).sort((a, b) => b[1] - a[1]);
}
