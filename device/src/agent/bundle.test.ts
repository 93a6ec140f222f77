import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const repo = path.resolve(import.meta.dirname, '..', '..', '..');

describe('cdm-agent bundle (what device images ship)', () => {
  it('builds to one file that starts under plain node and names what it misses', async () => {
    const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'cdm-agent-bundle-')), 'cdm-agent.mjs');
    const script = JSON.parse(fs.readFileSync(path.join(repo, 'package.json'), 'utf8')).scripts['agent:bundle'] as string;
    await run('npm', ['run', '--silent', 'agent:bundle', '--', `--outfile=${out}`], { cwd: repo, timeout: 60_000 });
    expect(script).toContain('device/src/agent/main.ts');
    const etc = path.dirname(out);
    fs.writeFileSync(path.join(etc, 'device-config'), 'TB_MQTT_HOST=tb.example.com\n');
    const r = await run(process.execPath, [out], { env: { CDM_ETC: etc, CDM_STATE: etc }, timeout: 30_000 }).catch((e: { code: number; stderr: string }) => e);
    expect(r).toMatchObject({ code: 1, stderr: expect.stringContaining(`cannot read the CA of the broker (${etc}/root_ca.crt): enroll first`) });
  }, 90_000);
});
