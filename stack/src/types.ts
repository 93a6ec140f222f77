/** What `stack up` prints and writes to stack.json for tests, bridges and people. */
export interface Endpoint {
  url: string;
  /** Development credentials only; printed on purpose so a developer can log in. */
  credentials?: Record<string, string>;
  /** Anything else a consumer needs (file paths, realm, provisioner name, fingerprints...). */
  extra?: Record<string, string>;
}

export interface StackContext {
  /** Downloads and builds, kept between runs (outside the repo). */
  cacheDir: string;
  /** Runtime state: data dirs, pid files, logs, generated config. Survives `down`; `reset` wipes it. */
  stateDir: string;
  /** Repo root, for files the stack ships (realm export, configs). */
  repoDir: string;
  log: (msg: string) => void;
}

export interface Service {
  name: string;
  /** true: the real upstream; false: a contract fake (ThingsBoard, Grafana, InfluxDB management). */
  real: boolean;
  /** Pinned version string (for README and the note). */
  version: string;
  /** Idempotent; fast when everything is cached. */
  install(ctx: StackContext): Promise<void>;
  /** Starts the process in the background (detached, logs under stateDir/logs). */
  start(ctx: StackContext): Promise<void>;
  /** true once the service answers as it should. */
  healthy(ctx: StackContext): Promise<boolean>;
  /** Seconds to wait for healthy() after start before failing loudly. */
  startTimeoutSec: number;
  /** Services that must be healthy before this one starts; the others start alongside. */
  needs?: string[];
  /** Runs after healthy() for the first time (e.g. provisioning). Idempotent. */
  afterStart?(ctx: StackContext): Promise<void>;
  endpoint(ctx: StackContext): Endpoint;
  stop(ctx: StackContext): Promise<void>;
}
