import { parseArgs } from 'node:util';
import fs from 'node:fs';
import { createClaim } from './claims.ts';
import { registerFactoryCa } from './factory-cas.ts';
import type { Enroller } from './enroll.ts';
import type { Store } from './store.ts';
import type { TenantDirectory } from '@cdm/common';

export interface CliDeps {
  store: Store;
  enroller: Enroller;
  tenants: TenantDirectory;
}

const out = (s: string) => process.stdout.write(`${s}\n`);

export async function runCli(argv: string[], d: CliDeps): Promise<number> {
  const [cmd, sub] = argv;
  if (cmd === 'claim' && sub === 'create') {
    const { values } = parseArgs({
      args: argv.slice(2),
      options: { tenant: { type: 'string' }, uses: { type: 'string', default: '1' }, expires: { type: 'string', default: '7d' }, device: { type: 'string' } },
    });
    if (!values.tenant) throw new Error('claim create needs --tenant <name or id>');
    const { claim, token } = await createClaim(d.store, { tenantId: (await d.tenants.require(values.tenant)).cdmId, uses: Number(values.uses), expires: values.expires!, deviceId: values.device });
    out(`claim ${claim.id} for tenant ${claim.tenantId}${claim.deviceId ? `, device ${claim.deviceId} only` : ''}: ${claim.maxUses} use(s), expires ${claim.expiresAt}`);
    out(`token (shown once; put it into the device image or its provisioning): ${token}`);
    return 0;
  }
  if (cmd === 'claim' && sub === 'list') {
    for (const c of await d.store.listClaims(argv[2]))
      out(`${c.id}  tenant ${c.tenantId}  ${c.usesLeft}/${c.maxUses} left  expires ${c.expiresAt}${c.revoked ? '  REVOKED' : ''}${c.deviceId ? `  device ${c.deviceId}` : ''}`);
    return 0;
  }
  if (cmd === 'claim' && sub === 'revoke' && argv[2]) {
    if (!(await d.store.revokeClaim(argv[2]))) throw new Error(`no claim ${argv[2]}`);
    out(`claim ${argv[2]} revoked`);
    return 0;
  }
  if (cmd === 'factory-ca' && sub === 'add') {
    const { values, positionals } = parseArgs({ args: argv.slice(2), options: { tenant: { type: 'string' }, proof: { type: 'string' } }, allowPositionals: true });
    if (!values.tenant || positionals.length !== 1) throw new Error('factory-ca add needs --tenant <name|id> --proof <signature.b64 file> <ca.pem>');
    const proof = values.proof ? fs.readFileSync(values.proof, 'utf8') : undefined;
    const ca = await registerFactoryCa(d.store, (await d.tenants.require(values.tenant)).cdmId, fs.readFileSync(positionals[0]!, 'utf8'), proof);
    out(`factory CA ${ca.id} (${ca.subject}, sha256 ${ca.sha256}) registered for tenant ${ca.tenantId}: devices whose factory certificate chains to it enroll there`);
    return 0;
  }
  if (cmd === 'factory-ca' && sub === 'list') {
    for (const c of await d.store.listFactoryCas(argv[2])) out(`${c.id}  tenant ${c.tenantId}  ${c.subject}  sha256 ${c.sha256.slice(0, 16)}…${c.revoked ? '  REVOKED' : ''}`);
    return 0;
  }
  if (cmd === 'factory-ca' && sub === 'revoke' && argv[2]) {
    if (!(await d.store.revokeFactoryCa(argv[2]))) throw new Error(`no factory CA ${argv[2]}`);
    out(`factory CA ${argv[2]} revoked: its devices can no longer enroll with their factory certificates (enrolled devices keep working)`);
    return 0;
  }
  if (cmd === 'decommission' && sub) {
    out(`decommissioning ${sub}: WireGuard peer, hawkBit target, ThingsBoard device, certificate…`);
    const r = await d.enroller.decommission(sub);
    out(`${sub}: ${r.status}; address freed`);
    return 0;
  }
  if (cmd === 'devices') {
    for (const x of await d.store.listDevices({ tenantId: sub }))
      out(
        `${x.deviceId}  ${x.status.padEnd(15)} tenant ${x.tenantId}  ${x.wgIp || '-'}  cert ${x.certSerial ?? '-'}  done ${x.done.join(',') || '-'}${x.lastError ? `  last error: ${x.lastError}` : ''}`,
      );
    return 0;
  }
  if (cmd === 'repair') {
    const r = await d.enroller.repair();
    out(`repair: ${r.completed.length} completed, ${r.rolledBack.length} abandoned enrollments rolled back, ${r.failed.length} failed${r.failed.length ? ` (${r.failed.join(', ')})` : ''}`);
    return r.failed.length ? 1 : 0;
  }
  process.stderr.write(`${USAGE}\n`);
  return 2;
}

export const USAGE = `usage: enroll-bridge [daemon]        the enrollment API, /healthz, and the repair pass on REPAIR_SCHEDULE
       enroll-bridge claim create --tenant <name|id> [--uses N] [--expires 30d] [--device <id>]
       enroll-bridge claim list [tenant-id] | claim revoke <claim-id>
       enroll-bridge factory-ca add --tenant <name|id> --proof <sig.b64> <ca.pem> | factory-ca list [tenant-id] | factory-ca revoke <id>
       enroll-bridge devices [tenant-id]
       enroll-bridge decommission <device-id>   revoke cert, remove peer, target and device, free the address
       enroll-bridge repair                     finish half-done enrollments and decommissions now`;
