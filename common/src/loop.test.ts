import { describe, expect, it } from 'vitest';
import { createLogger } from './logger.ts';
import { PassLoop } from './loop.ts';

const logger = createLogger('t', { level: 'silent' });
const tick = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('PassLoop', () => {
  it('never runs two passes at once: a trigger during a pass joins it', async () => {
    let inFlight = 0;
    let most = 0;
    let runs = 0;
    const loop = new PassLoop({ name: 't', logger, every: 60_000, pass: async () => (runs++, (most = Math.max(most, ++inFlight)), await tick(30), inFlight--) });
    await Promise.all([loop.trigger('a'), loop.trigger('b'), loop.trigger('c')]);
    expect([runs, most]).toEqual([1, 1]);
    await loop.trigger('d');
    expect(runs).toBe(2);
  });

  it('tells the pass what started it (start, the schedule or the trigger’s reason)', async () => {
    const whys: string[] = [];
    const loop = new PassLoop({ name: 't', logger, every: 60_000, runAtStart: true, pass: async (why) => void whys.push(why) });
    loop.start();
    await loop.trigger('joins the start pass');
    await loop.trigger('keycloak admin event');
    await loop.stop();
    expect(whys).toEqual(['start', 'keycloak admin event']);
  });

  it('a pass that throws is counted and the next one runs; gauges carry the last pass', async () => {
    let n = 0;
    const loop = new PassLoop({ name: 'x', logger, every: 20, pass: async () => (n++ === 0 ? Promise.reject(new Error('upstream down')) : { failed: 2 }), failures: (r) => r.failed });
    expect(loop.gauges()).toMatchObject({ cdm_x_passes_total: 0, cdm_x_last_pass_age_seconds: -1 });
    loop.start();
    for (let i = 0; i < 50 && n < 3; i++) await tick(20);
    await loop.stop();
    expect(loop.gauges()).toMatchObject({ cdm_x_pass_errors_total: 1, cdm_x_last_pass_failures: 2, cdm_x_last_pass_age_seconds: 0 });
    expect(loop.gauges().cdm_x_passes_total).toBeGreaterThanOrEqual(2);
  });

  it('refuses a schedule that is not cron at construction, naming the loop', () => {
    expect(() => new PassLoop({ name: 'ota', logger, every: 'every minute', pass: async () => 0 })).toThrow(/ota: "every minute" is not a valid cron schedule/);
  });
});
