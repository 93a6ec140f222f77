import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { execFileP } from '../proc.ts';
import type { StackContext } from '../types.ts';
import { ensureDebian } from './apt.ts';
import { findJdk } from './java.ts';

/**
 * Pristine upstream source archives, used only where a released binary cannot be downloaded (the
 * registries some machines reach do not serve hawkBit's or ThingsBoard's). Looked for in
 * `CDM_UPSTREAM_SOURCES`, else in a `shared/upstreams` folder beside the repository or beside one
 * of its parents. The checksum is pinned: an archive that differs is refused.
 */
export function findSourceArchive(ctx: StackContext, file: string, sha256: string): string {
  const dirs: string[] = [];
  if (process.env.CDM_UPSTREAM_SOURCES) dirs.push(process.env.CDM_UPSTREAM_SOURCES);
  for (let d = path.dirname(ctx.repoDir); ; d = path.dirname(d)) {
    dirs.push(path.join(d, 'shared', 'upstreams'));
    if (d === path.dirname(d)) break;
  }
  const hit = dirs.map((d) => path.join(d, file)).find((f) => fs.existsSync(f));
  if (!hit) {
    throw new Error(`no source archive ${file} found (looked in ${dirs.slice(0, 3).join(', ')}, ...): set CDM_UPSTREAM_SOURCES to the folder that holds it (sha256 ${sha256})`);
  }
  const got = crypto.createHash('sha256').update(fs.readFileSync(hit)).digest('hex');
  if (got !== sha256) throw new Error(`${hit}: sha256 ${got}, expected ${sha256} — not the pinned upstream release; refusing to build it`);
  return hit;
}

/** A change to the upstream tree, checked: text that is not found exactly `count` times stops the build. */
export type SourceEdit =
  | { file: string; replace: string; with: string; count?: number }
  /** Replaces the body of the Java method whose declaration line is `method` (brace-matched). */
  | { file: string; method: string; body: string };

export interface SourceBuild {
  name: string;
  version: string;
  archive: { file: string; sha256: string };
  /** Why each edit is needed is said where the recipe is written. */
  edits: SourceEdit[];
  mvnArgs: string[];
  jdkMajor: number;
  /** What the build produced (file or folder, relative to the source tree) → its name in the cache. */
  outputs: Record<string, string>;
}

export function applyEdit(root: string, e: SourceEdit): void {
  const file = path.join(root, e.file);
  let text = fs.readFileSync(file, 'utf8');
  if ('replace' in e) {
    const n = text.split(e.replace).length - 1;
    if (n !== (e.count ?? 1)) throw new Error(`source edit: ${e.file} has ${n} × ${JSON.stringify(e.replace.slice(0, 80))}, expected ${e.count ?? 1}`);
    text = text.split(e.replace).join(e.with);
  } else {
    const at = text.indexOf(e.method);
    if (at < 0 || text.indexOf(e.method, at + 1) >= 0) throw new Error(`source edit: ${e.file} has no single method ${e.method}`);
    const open = text.indexOf('{', at + e.method.length - 1);
    let depth = 0;
    let end = open;
    do {
      if (text[end] === '{') depth++;
      else if (text[end] === '}') depth--;
      end++;
    } while (depth > 0 && end < text.length);
    text = `${text.slice(0, open + 1)}\n        ${e.body}\n    }${text.slice(end)}`;
  }
  fs.writeFileSync(file, text);
}

/** Maven with Maven Central as the only repository: the poms name others this machine cannot reach. */
function mavenSettings(dir: string): string {
  const file = path.join(dir, 'settings.xml');
  const url = process.env.CDM_MAVEN_MIRROR ?? 'https://repo.maven.apache.org/maven2';
  fs.writeFileSync(file, `<settings><mirrors><mirror><id>cdm-central</id><mirrorOf>*</mirrorOf><url>${url}</url></mirror></mirrors></settings>\n`);
  return file;
}

/**
 * Builds an upstream from its pinned source archive with Maven into
 * `<cache>/upstreams/<name>-<version>`, once: a stamp of the recipe makes a warm run a no-op and a
 * changed recipe a rebuild. Prints progress every 30 s (a cold build takes minutes).
 */
export async function buildFromSource(ctx: StackContext, b: SourceBuild): Promise<string> {
  const out = builtDir(ctx, b);
  const stamp = recipeStamp(b);
  const stampFile = path.join(out, 'build.stamp');
  if (builtFromSource(ctx, b)) return out;

  await ensureDebian(ctx.log, [{ bin: 'mvn', pkg: 'maven' }]);
  const archive = findSourceArchive(ctx, b.archive.file, b.archive.sha256);
  const work = fs.mkdtempSync(path.join(ctx.cacheDir, `build-${b.name}-`));
  try {
    ctx.log(`[install] ${b.name} ${b.version}: building from ${archive} (a few minutes on a cold Maven cache)`);
    await execFileP('tar', ['xzf', archive, '-C', work]);
    const [top] = fs.readdirSync(work);
    const src = path.join(work, top!);
    for (const e of b.edits) applyEdit(src, e);
    const repo = process.env.MAVEN_REPO_LOCAL ?? path.join(os.homedir(), '.m2', 'repository');
    const javaHome = findJdk(b.jdkMajor, { exact: true });
    await runMaven(ctx, b.name, src, ['-B', '-s', mavenSettings(work), `-Dmaven.repo.local=${repo}`, ...b.mvnArgs], javaHome);
    fs.rmSync(out, { recursive: true, force: true });
    fs.mkdirSync(out, { recursive: true });
    for (const [from, to] of Object.entries(b.outputs)) fs.cpSync(path.join(src, from), path.join(out, to), { recursive: true });
    fs.writeFileSync(stampFile, stamp);
    return out;
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

const builtDir = (ctx: StackContext, b: SourceBuild) => path.join(ctx.cacheDir, 'upstreams', `${b.name}-${b.version}`);

/** The folder of a finished build of exactly this recipe, if the cache has one. */
export function builtFromSource(ctx: StackContext, b: SourceBuild): string | undefined {
  const stampFile = path.join(builtDir(ctx, b), 'build.stamp');
  return fs.existsSync(stampFile) && fs.readFileSync(stampFile, 'utf8') === recipeStamp(b) ? builtDir(ctx, b) : undefined;
}

export function recipeStamp(b: SourceBuild): string {
  return crypto
    .createHash('sha256')
    .update(JSON.stringify({ v: b.version, a: b.archive, e: b.edits, m: b.mvnArgs, j: b.jdkMajor, o: b.outputs }))
    .digest('hex');
}

async function runMaven(ctx: StackContext, name: string, cwd: string, args: string[], javaHome: string): Promise<void> {
  const started = Date.now();
  const tail: string[] = [];
  let module = '';
  const tick = setInterval(() => ctx.log(`[install]   ... ${name} building ${module} (${Math.round((Date.now() - started) / 1000)} s)`), 30_000);
  try {
    await new Promise<void>((resolve, reject) => {
      const child = spawn('mvn', args, { cwd, env: { ...process.env, JAVA_HOME: javaHome, PATH: `${javaHome}/bin:${process.env.PATH}` }, stdio: ['ignore', 'pipe', 'pipe'] });
      const take = (d: Buffer) => {
        for (const line of d.toString().split('\n')) {
          const m = /\[INFO\] Building (.+?) \S+\s+\[(\d+\/\d+)\]/.exec(line);
          if (m) module = `${m[1]} [${m[2]}]`;
          if (line.trim()) tail.push(line);
        }
        if (tail.length > 80) tail.splice(0, tail.length - 80);
      };
      child.stdout.on('data', take);
      child.stderr.on('data', take);
      child.on('error', reject);
      child.on('exit', (code) =>
        code === 0
          ? resolve()
          : reject(
              new Error(
                `Maven build of ${name} failed (exit ${code}): is Maven Central reachable? Last lines:\n${
                  tail
                    .filter((l) => /ERROR|FAIL/.test(l))
                    .slice(-25)
                    .join('\n') || tail.slice(-25).join('\n')
                }`,
              ),
            ),
      );
    });
  } finally {
    clearInterval(tick);
  }
  ctx.log(`[install] ${name}: Maven build done in ${Math.round((Date.now() - started) / 1000)} s`);
}
