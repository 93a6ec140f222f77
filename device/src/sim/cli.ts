/**
 * Fleet simulator CLI.
 *
 *   npm run sim -- make-certs --stack --tenant acme --devices 1000 --out /tmp/fleet
 *   npm run sim -- --stack --certs /tmp/fleet --devices 1000 --duration 2m
 *   npm run sim -- --stack --enroll --claim cdm_claim_… --devices 50 --duration 5m
 */
import fs from 'node:fs';
import path from 'node:path';
import { loadConfig, stepcaEnv, stepcaFrom } from '@cdm/common';
import { bridgeEnv, defaultContext } from '@cdm/stack';
import { z } from 'zod';
import { makeCertDir, type InfluxTarget } from './identity.ts';
import { describeFlags, makeCertsOptions, parseFlags, parseOptions, runOptions, type MakeCertsOptions } from './options.ts';
import { runSimulation, stackTargets, type Targets } from './run.ts';

const log = (line: string) => process.stderr.write(`${new Date().toISOString().slice(11, 19)} ${line}\n`);

const usage = `usage: sim [run] [options]        run a simulated fleet
       sim make-certs [options]     sign device certificates with step-ca for load runs

run options:
${describeFlags(runOptions)}

make-certs options:
${describeFlags(makeCertsOptions)}`;

async function run(argv: string[]): Promise<void> {
  const o = parseOptions(runOptions, parseFlags(argv));
  const stack = o.stack ? stackTargets(defaultContext().stateDir, o.broker) : undefined;
  const pick = <T>(flag: T | undefined, fromStack: T | undefined, name: string): T => {
    const v = flag ?? fromStack;
    if (v === undefined) throw new Error(`--${name} is required (or --stack)`);
    return v;
  };
  const targets: Targets = {
    brokerUrl: pick(o['broker-url'], stack?.brokerUrl, 'broker-url'),
    caPem: o.ca ? fs.readFileSync(o.ca, 'utf8') : pick(undefined, stack?.caPem, 'ca'),
    influxUrl: pick(o['influx-url'], stack?.influxUrl, 'influx-url'),
    enrollUrl: o['enroll-url'] ?? stack?.enrollUrl,
    enrollCaPem: stack?.enrollCaPem,
  };
  log(`simulating ${o.devices} devices for ${o.duration / 1000}s (window ${o.window / 1000}s, sample ${o.sample / 1000}s) against ${targets.brokerUrl}`);
  const summary = await runSimulation(o, targets, log);
  log('done');
  console.log(JSON.stringify(summary, null, 2));
  if (summary.connectFailures || summary.failedPoints) process.exitCode = 1;
}

const tokenFile = z.object({ org: z.string(), bucket: z.string(), token: z.string() });

async function makeCerts(argv: string[]): Promise<void> {
  const o: MakeCertsOptions = parseOptions(makeCertsOptions, parseFlags(argv));
  const ctx = defaultContext();
  let env: NodeJS.ProcessEnv = process.env;
  let tokenDir = o['token-dir'];
  if (o.stack) {
    const endpoints = JSON.parse(fs.readFileSync(path.join(ctx.stateDir, 'stack.json'), 'utf8'));
    env = { ...bridgeEnv(endpoints, ctx.stateDir)['enroll-bridge'], ...process.env };
    tokenDir ??= path.join(ctx.stateDir, 'tenant-tokens');
  }
  if (!tokenDir) throw new Error('--token-dir is required (or --stack): where tenant-sync keeps <tenant>.json with the write token');
  const file = path.join(tokenDir, `${o.tenant}.json`);
  if (!fs.existsSync(file)) throw new Error(`${file} not found: is ${o.tenant} a tenant tenant-sync has provisioned?`);
  const influx: InfluxTarget = tokenFile.parse(JSON.parse(fs.readFileSync(file, 'utf8')));
  const stepca = await stepcaFrom(loadConfig(z.object(stepcaEnv), env));
  const ids = Array.from({ length: o.devices }, (_, i) => `${o.prefix}-${String(i + 1).padStart(5, '0')}`);
  const t0 = performance.now();
  await makeCertDir({ stepca, dir: o.out, tenant: o.tenant, influx, ids, concurrency: o.concurrency, onProgress: (n) => (n % 100 === 0 || n === ids.length) && log(`signed ${n}/${ids.length}`) });
  log(`${ids.length} certificates in ${o.out} (${((performance.now() - t0) / 1000).toFixed(1)} s)`);
}

async function main(argv: string[]): Promise<void> {
  if (argv.includes('--help') || argv.includes('-h')) return void console.log(usage);
  const [first, ...rest] = argv;
  if (first === 'make-certs') return makeCerts(rest);
  return run(first === 'run' ? rest : argv);
}

main(process.argv.slice(2)).then(
  () => process.exit(process.exitCode ?? 0),
  (err: Error) => {
    console.error(`sim: ${err.message}`);
    process.exit(2);
  },
);
