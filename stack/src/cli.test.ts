import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { shellQuote } from './cli.ts';

describe('stack env', () => {
  it('quotes values so eval gives them back unchanged, whatever they hold', () => {
    for (const v of ["it's", 'a $HOME `id` "q" \\ b', '', 'multi\nline']) {
      // As a person runs it: eval "$(npm run --silent stack -- env <bridge>)".
      expect(execFileSync('sh', ['-c', 'eval "$(cat)"; printf %s "$X"'], { input: `export X=${shellQuote(v)}\n`, encoding: 'utf8' })).toBe(v);
    }
  });
});
