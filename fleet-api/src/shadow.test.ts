import { describe, expect, it } from 'vitest';
import { InvalidConfig, patchDesired, shadowView, StaleVersion } from './shadow.ts';

describe('device shadow', () => {
  it('in sync when the device reported the desired version with the same values', () => {
    const v = shadowView({ config: '{"log_level":"info"}', config_version: 3 }, { config_reported: { log_level: 'info' }, config_reported_version: 3, config_last_sync: 1_700_000_000_000 });
    expect(v).toMatchObject({ state: 'in-sync', version: 3, reportedVersion: 3, delta: {}, lastSync: '2023-11-14T22:13:20.000Z' });
  });

  it('pending with a delta naming what differs, including keys to remove', () => {
    const v = shadowView({ config: { log_level: 'debug', window_s: 30 }, config_version: 4 }, { config_reported: { log_level: 'info', sampling_interval_s: 5 }, config_reported_version: 3 });
    expect(v.state).toBe('pending');
    expect(v.delta).toEqual({ log_level: 'debug', window_s: 30, sampling_interval_s: null });
  });

  it('refused while the device reports an error for the current version, pending again after a new one', () => {
    const client = { config_reported: {}, config_reported_version: 1, config_error: 'window_s: no', config_error_version: 2 };
    expect(shadowView({ config: { window_s: 30 }, config_version: 2 }, client)).toMatchObject({ state: 'refused', error: { version: 2, message: 'window_s: no' } });
    expect(shadowView({ config: { window_s: 60 }, config_version: 3 }, client).state).toBe('pending');
  });

  it('a stale version is refused (409 at the API); a current one bumps it', () => {
    const cur = shadowView({ config: { log_level: 'info' }, config_version: 2 }, {});
    expect(() => patchDesired(cur, 1, { log_level: 'debug' })).toThrow(StaleVersion);
    expect(patchDesired(cur, 2, { log_level: 'debug', features: { gps: true } })).toEqual({ config: { log_level: 'debug', features: { gps: true } }, version: 3 });
    expect(patchDesired(cur, 2, { log_level: null })).toEqual({ config: {}, version: 3 });
  });

  it('refuses values out of schema and unknown keys (a typo must not look applied)', () => {
    const cur = shadowView({}, {});
    expect(() => patchDesired(cur, 0, { sampling_interval_s: 0 })).toThrow(InvalidConfig);
    expect(() => patchDesired(cur, 0, { sampling_intervall_s: 5 })).toThrow(/Unrecognized key/);
    expect(() => patchDesired(cur, 0, { features: { 'Bad-Name': true } })).toThrow(/lower_snake_case/);
  });

  it('ignores garbage in attributes rather than failing the read', () => {
    expect(shadowView({ config: '{not json', config_version: 'x' }, { config_reported: 42 })).toMatchObject({ desired: {}, reported: {}, version: 0, state: 'in-sync' });
  });
});
