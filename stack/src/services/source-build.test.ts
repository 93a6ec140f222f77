import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { applyEdit, findSourceArchive } from './source-build.ts';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cdm-source-build-'));
const ctx = { cacheDir: tmp, stateDir: tmp, repoDir: path.join(tmp, 'nowhere', 'repo'), log: () => {} };
const sha = (b: Buffer | string) => crypto.createHash('sha256').update(b).digest('hex');
afterEach(() => delete process.env.CDM_UPSTREAM_SOURCES);

describe('source archives', () => {
  it('finds the archive through CDM_UPSTREAM_SOURCES and checks its pinned sha256', () => {
    const dir = fs.mkdtempSync(path.join(tmp, 'src-'));
    fs.writeFileSync(path.join(dir, 'up-1.0-src.tar.gz'), 'pristine');
    process.env.CDM_UPSTREAM_SOURCES = dir;
    expect(findSourceArchive(ctx, 'up-1.0-src.tar.gz', sha('pristine'))).toBe(path.join(dir, 'up-1.0-src.tar.gz'));
    fs.writeFileSync(path.join(dir, 'up-1.0-src.tar.gz'), 'tampered');
    expect(() => findSourceArchive(ctx, 'up-1.0-src.tar.gz', sha('pristine'))).toThrow(/not the pinned upstream release; refusing to build it/);
  });

  it('says where it looked and which variable to set when there is none', () => {
    expect(() => findSourceArchive(ctx, 'missing-src.tar.gz', sha('x'))).toThrow(/no source archive missing-src.tar.gz found .*set CDM_UPSTREAM_SOURCES/);
  });
});

describe('source edits', () => {
  const file = (text: string) => {
    const root = fs.mkdtempSync(path.join(tmp, 'tree-'));
    fs.writeFileSync(path.join(root, 'A.java'), text);
    return { root, read: () => fs.readFileSync(path.join(root, 'A.java'), 'utf8') };
  };

  it('replaces text that occurs exactly as often as expected, and stops the build otherwise', () => {
    const f = file('<v>1</v><v>1</v>');
    expect(() => applyEdit(f.root, { file: 'A.java', replace: '<v>1</v>', with: '<v>2</v>' })).toThrow(/has 2 × .*expected 1/);
    applyEdit(f.root, { file: 'A.java', replace: '<v>1</v>', with: '<v>2</v>', count: 2 });
    expect(f.read()).toBe('<v>2</v><v>2</v>');
  });

  it('replaces a Java method body, braces nested inside it included', () => {
    const f = file('class A {\n  public int f(int x) {\n    if (x > 0) { return g(x); }\n    return 0;\n  }\n  int h() { return 1; }\n}\n');
    applyEdit(f.root, { file: 'A.java', method: 'public int f(int x)', body: 'throw new UnsupportedOperationException();' });
    expect(f.read()).toBe('class A {\n  public int f(int x) {\n        throw new UnsupportedOperationException();\n    }\n  int h() { return 1; }\n}\n');
    expect(() => applyEdit(f.root, { file: 'A.java', method: 'public void none()', body: '' })).toThrow(/no single method/);
  });
});
