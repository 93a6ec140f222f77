import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger, redactDeep } from './logger.ts';

describe('logger redaction', () => {
  it('attack: secrets nested deeper than one level (an upstream error carrying its request config) never reach the log', () => {
    const lines: string[] = [];
    const logger = createLogger('t', { level: 'info' }, new Writable({ write: (c, _e, cb) => (lines.push(String(c)), cb()) }));
    logger.child({ runId: 'r1' }).info(
      {
        err: { config: { headers: { Authorization: 'Bearer eyJsecret1' }, data: { password: 'pw-secret2', nested: { deeper: { client_secret: 'cs-secret3' } } } } },
        list: [{ token: 'tk-secret4' }],
        securityToken: 'hb-secret5',
        ok: 'visible',
      },
      'upstream failed',
    );
    const text = lines.join('');
    for (const s of ['eyJsecret1', 'pw-secret2', 'cs-secret3', 'tk-secret4', 'hb-secret5']) expect(text).not.toContain(s);
    expect(text).toContain('visible');
    expect(JSON.parse(text)).toMatchObject({ runId: 'r1', msg: 'upstream failed', securityToken: '[redacted]' });
  });

  it('copies without secrets at any depth, in arrays, through cycles', () => {
    expect(redactDeep({ a: { b: { c: { d: { refreshToken: 'x' } } } } })).toEqual({ a: { b: { c: { d: { refreshToken: '[redacted]' } } } } });
    const cyc: Record<string, unknown> = { password: 'p' };
    cyc.self = cyc;
    expect(redactDeep(cyc)).toEqual({ password: '[redacted]', self: '[circular]' });
    expect(redactDeep({ n: 1, s: 'x', nil: null })).toEqual({ n: 1, s: 'x', nil: null });
  });
});
