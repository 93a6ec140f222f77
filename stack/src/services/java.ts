import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileP } from '../proc.ts';
import { ensureDebian } from './apt.ts';

/**
 * The newest JDK under /usr/lib/jvm whose major version is at least `min` (Temurin 25 or Debian's
 * 17 here), or with `exact` one of exactly that version (what an upstream is built and tested on).
 */
export function findJdk(min: number, o: { exact?: boolean } = {}): string {
  const root = '/usr/lib/jvm';
  const candidates = fs.existsSync(root) ? fs.readdirSync(root) : [];
  const scored = candidates
    .map((d) => ({ dir: path.join(root, d), major: Number(/(\d+)/.exec(d.replace(/^java-1\./, 'java-'))?.[1] ?? 0) }))
    .filter((c) => (o.exact ? c.major === min : c.major >= min) && fs.existsSync(path.join(c.dir, 'bin', 'java')))
    .sort((a, b) => b.major - a.major);
  if (!scored[0]) throw new Error(`no JDK ${o.exact ? '' : '>= '}${min} under /usr/lib/jvm: install one (e.g. apt-get install openjdk-${min}-jdk-headless)`);
  return scored[0].dir;
}

/** Fetches an artifact from Maven Central into ~/.m2 (the cache) and returns its local path. */
export async function mavenArtifact(log: (m: string) => void, coords: { group: string; artifact: string; version: string; type?: string }): Promise<string> {
  const type = coords.type ?? 'jar';
  // MAVEN_REPO_LOCAL moves the Maven cache (e.g. to measure a cold install).
  const repo = process.env.MAVEN_REPO_LOCAL ?? path.join(os.homedir(), '.m2', 'repository');
  const file = path.join(repo, ...coords.group.split('.'), coords.artifact, coords.version, `${coords.artifact}-${coords.version}.${type}`);
  if (fs.existsSync(file)) return file;
  log(`[install] downloading ${coords.group}:${coords.artifact}:${coords.version}:${type} from Maven Central`);
  try {
    await execFileP('mvn', ['-B', '-q', 'dependency:get', `-Dartifact=${coords.group}:${coords.artifact}:${coords.version}:${type}`, '-Dtransitive=false', `-Dmaven.repo.local=${repo}`], {
      maxBuffer: 64 * 1024 * 1024,
    });
  } catch (err) {
    throw new Error(`Maven could not fetch ${coords.artifact} ${coords.version}: is Maven installed and Maven Central reachable?\n${(err as { stdout?: string }).stdout ?? ''}`, { cause: err });
  }
  return file;
}

/** JDK 17 (Debian's), which hawkBit 1.0.4 and ThingsBoard 4.3 are built and run on; installed when missing. */
export async function ensureJdk17(log: (m: string) => void): Promise<string> {
  try {
    return findJdk(17, { exact: true });
  } catch {
    await ensureDebian(log, [{ bin: '/usr/lib/jvm/java-17-openjdk-amd64/bin/javac', pkg: 'openjdk-17-jdk-headless' }]);
    return findJdk(17, { exact: true });
  }
}
