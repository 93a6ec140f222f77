import fs from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { execFileP } from '../proc.ts';
import type { StackContext } from '../types.ts';
import { buildFromSource, builtFromSource, type SourceBuild } from './source-build.ts';

export const TB_VERSION = '4.3.1.3';
/** Where the jar and its data folder are kept, whichever way they were obtained. */
export const tbHome = (ctx: StackContext) => path.join(ctx.cacheDir, 'upstreams', `thingsboard-${TB_VERSION}`);

const LANGCHAIN = (artifact: string) => `        <dependency>
            <groupId>dev.langchain4j</groupId>
            <artifactId>${artifact}</artifactId>
        </dependency>
`;
const CHAT_MODEL = (config: string) => `public ChatModel configureChatModel(${config} chatModelConfig)`;
const AI_FILE = 'application/src/main/java/org/thingsboard/server/service/ai/Langchain4jChatModelConfigurerImpl.java';

/**
 * ThingsBoard CE 4.3.1.3 from its release tag (thingsboard/thingsboard 10535161), the server
 * without its web UI (the UI build downloads Node; the REST API, MQTT and rule engine are whole).
 * What the Maven Central these machines reach does not serve is replaced:
 * - ThingsBoard's langchain4j fork (1.16.1-TB1) by upstream dev.langchain4j 1.16.3; its Google
 *   GenAI and OpenAI-official modules are not served, so the three AI chat providers built on them
 *   (Gemini, Vertex Gemini, GitHub Models) answer "not in this build" — cdm uses no AI node;
 * - three Spring artifacts at the nearest served patch level (pinned in dependencyManagement);
 * - tbel 1.2.9 and winsw 1.8 (properties); the Gradle packaging step (downloads Gradle) is off;
 * - the application module's tests are not compiled (they need ThingsBoard's unserved Java client).
 */
export const thingsboardBuild: SourceBuild = {
  name: 'thingsboard',
  version: TB_VERSION,
  archive: { file: 'thingsboard-4.3.1.3-src.tar.gz', sha256: '830e5792eed49ade5e729ffc48641d3a7e4d2778de7e57bb3fa089fbb1a6a62d' },
  edits: [
    { file: 'pom.xml', replace: '<langchain4j.version>1.16.1-TB1</langchain4j.version>', with: '<langchain4j.version>1.16.3</langchain4j.version>' },
    ...['pom.xml', 'application/pom.xml', 'common/data/pom.xml', 'rule-engine/rule-engine-api/pom.xml', 'rule-engine/rule-engine-components/pom.xml'].map((file) => ({
      file,
      replace: '<groupId>org.thingsboard.langchain4j</groupId>',
      with: '<groupId>dev.langchain4j</groupId>',
      count: file === 'application/pom.xml' ? 8 : 1,
    })),
    { file: 'application/pom.xml', replace: LANGCHAIN('langchain4j-google-genai'), with: '' },
    { file: 'application/pom.xml', replace: LANGCHAIN('langchain4j-open-ai-official'), with: '' },
    { file: AI_FILE, replace: 'import dev.langchain4j.model.google.genai.GoogleGenAiChatModel;\n', with: '' },
    { file: AI_FILE, replace: 'import dev.langchain4j.model.openaiofficial.OpenAiOfficialChatModel;\n', with: '' },
    ...['GoogleAiGeminiChatModelConfig', 'GoogleVertexAiGeminiChatModelConfig', 'GitHubModelsChatModelConfig'].map((c) => ({
      file: AI_FILE,
      method: CHAT_MODEL(c),
      body: 'throw new UnsupportedOperationException("this AI provider is not in this ThingsBoard build (cdm local stack)");',
    })),
    // The release archive has no .git (git archive): build info without a commit id (unused at run time).
    {
      file: 'pom.xml',
      replace: '<commitIdGenerationMode>full</commitIdGenerationMode>',
      with: '<commitIdGenerationMode>full</commitIdGenerationMode>\n                        <failOnNoGitDirectory>false</failOnNoGitDirectory>',
    },
    // Its tests need ThingsBoard's Java REST client 4.3.1.3, which is not served: not compiled.
    {
      file: 'application/pom.xml',
      replace:
        '        <dependency>\n            <groupId>org.thingsboard.client</groupId>\n            <artifactId>thingsboard-ce-client</artifactId>\n            <scope>test</scope>\n        </dependency>\n',
      with: '',
    },
    { file: 'application/pom.xml', replace: '<main.dir>${basedir}/..</main.dir>', with: '<main.dir>${basedir}/..</main.dir>\n        <maven.test.skip>true</maven.test.skip>' },
    {
      file: 'pom.xml',
      replace: '    <dependencyManagement>\n        <dependencies>\n',
      with: `    <dependencyManagement>
        <dependencies>
            <dependency><groupId>org.springframework.integration</groupId><artifactId>spring-integration-redis</artifactId><version>6.5.5</version></dependency>
            <dependency><groupId>org.springframework.boot</groupId><artifactId>spring-boot-starter-websocket</artifactId><version>3.5.14</version></dependency>
            <dependency><groupId>org.springframework.boot</groupId><artifactId>spring-boot-starter-freemarker</artifactId><version>3.5.14</version></dependency>
`,
    },
  ],
  mvnArgs: [
    '-pl',
    'application',
    '-am',
    'package',
    '-DskipTests',
    '-Dlicense.skip=true',
    '-Dskip.installyarn=true',
    '-Dskip.yarn=true',
    '-Dpkg.package.phase=none',
    '-Dtbel.version=1.2.9',
    '-Dwinsw.version=1.8',
  ],
  jdkMajor: 17,
  outputs: { 'application/target/thingsboard-4.3.1.3-boot.jar': 'thingsboard.jar', 'application/target/data': 'data' },
};

const RELEASE_DEB = `https://github.com/thingsboard/thingsboard/releases/download/v${TB_VERSION}/thingsboard-${TB_VERSION}.deb`;

/** The released Debian package (what a user on the internet installs): its jar and data folder. */
async function fromRelease(ctx: StackContext): Promise<string | undefined> {
  const out = tbHome(ctx);
  if (fs.existsSync(path.join(out, 'release.stamp'))) return out;
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), 15_000);
  let res: Response;
  try {
    res = await fetch(RELEASE_DEB, { signal: abort.signal });
  } catch (err) {
    ctx.log(`[install] thingsboard: release ${RELEASE_DEB} not reachable (${(err as Error).message}); building from source`);
    return undefined;
  } finally {
    clearTimeout(timer);
  }
  if (!res.ok || !res.body) {
    ctx.log(`[install] thingsboard: release ${RELEASE_DEB} answered ${res.status}; building from source`);
    return undefined;
  }
  ctx.log(`[install] thingsboard: downloading ${RELEASE_DEB}`);
  const tmp = fs.mkdtempSync(path.join(ctx.cacheDir, 'tb-deb-'));
  try {
    const deb = path.join(tmp, 'tb.deb');
    await pipeline(Readable.fromWeb(res.body as import('node:stream/web').ReadableStream), fs.createWriteStream(deb));
    await execFileP('dpkg-deb', ['-x', deb, path.join(tmp, 'x')]);
    const share = path.join(tmp, 'x', 'usr', 'share', 'thingsboard');
    fs.rmSync(out, { recursive: true, force: true });
    fs.mkdirSync(out, { recursive: true });
    fs.copyFileSync(path.join(share, 'bin', 'thingsboard.jar'), path.join(out, 'thingsboard.jar'));
    fs.cpSync(path.join(share, 'data'), path.join(out, 'data'), { recursive: true });
    fs.writeFileSync(path.join(out, 'release.stamp'), RELEASE_DEB);
    return out;
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

/** ThingsBoard's jar and data folder: the cached build, else the release, else a source build. */
export async function obtainThingsBoard(ctx: StackContext): Promise<void> {
  if (builtFromSource(ctx, thingsboardBuild) || (await fromRelease(ctx))) return;
  await buildFromSource(ctx, thingsboardBuild);
}
