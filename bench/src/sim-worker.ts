/**
 * One worker thread of bench:simulator --workers: runs its slice of the certificate directory's
 * devices and posts back the run's summary and the points InfluxDB accepted per device.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { loadCertDir } from '../../device/src/sim/identity.ts';
import { runOptions } from '../../device/src/sim/options.ts';
import { runSimulation, type Targets } from '../../device/src/sim/run.ts';
import type { Fleet } from '../../device/src/sim/fleet.ts';

export interface WorkerJob {
  options: Record<string, string>;
  targets: Targets;
  from: number;
  to: number;
  label: string;
}

const job = workerData as WorkerJob;
const o = runOptions.parse(job.options);
const identities = loadCertDir(o.certs!, job.to).slice(job.from);
let fleet: Fleet | undefined;
const summary = await runSimulation(o, job.targets, (l) => parentPort!.postMessage({ log: `${job.label}: ${l}` }), { identities, onFleet: (f) => (fleet = f) });
parentPort!.postMessage({ summary, acked: [...fleet!.pointsByDevice()] });
