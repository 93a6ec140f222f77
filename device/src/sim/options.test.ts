import { describe, expect, it } from 'vitest';
import { parseDuration } from '@cdm/common';
import { parseFlags, parseOptions, runOptions } from './options.ts';

describe('sim options', () => {
  it('reads --name value, --name=value and bare flags', () => {
    expect(parseFlags(['--devices', '10', '--duration=90s', '--enroll', '--stack'])).toEqual({ devices: '10', duration: '90s', enroll: true, stack: true });
    expect(() => parseFlags(['devices'])).toThrow('unexpected argument "devices"');
  });

  it('fills defaults and converts durations', () => {
    const o = parseOptions(runOptions, parseFlags(['--devices', '1000', '--certs', '/tmp/fleet']));
    expect(o).toMatchObject({ devices: 1000, duration: 120_000, window: 10_000, sample: 1000, broker: 'mosquitto', prefix: 'sim', silent: 0 });
  });

  it('refuses what cannot work, saying which flag', () => {
    expect(() => parseOptions(runOptions, parseFlags(['--devices', '5']))).toThrow('give exactly one of --enroll or --certs');
    expect(() => parseOptions(runOptions, parseFlags(['--devices', '0', '--enroll']))).toThrow('--devices');
    expect(() => parseOptions(runOptions, parseFlags(['--devices', '5', '--enroll', '--broker-url', 'mqtt://x:1883']))).toThrow('must be mqtts://');
    expect(() => parseOptions(runOptions, parseFlags(['--devices', '5', '--enroll', '--colour', 'red']))).toThrow(/colour/);
  });

  it('parses durations', () => {
    expect([parseDuration('500ms'), parseDuration('90s'), parseDuration('2m'), parseDuration('1h'), parseDuration('30')]).toEqual([500, 90_000, 120_000, 3_600_000, 30_000]);
    expect(() => parseDuration('2 weeks')).toThrow('not a duration');
  });
});
