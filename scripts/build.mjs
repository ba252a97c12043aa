// Builds dist/: an ESM build (dist/esm/, for import) and a CommonJS build (dist/cjs/, for require),
// behind two small entry files, dist/index.mjs and dist/index.cjs. Whichever entry loads first
// registers its exports on globalThis under a key naming this installed copy; the other entry hands
// out those same objects. So an app that both imports and requires the package gets one
// ApproovModule, one ApproovService (Nest's DI compares classes by identity): no dual-package hazard.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { chmodSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dist = join(root, 'dist');
const tsc = (project) =>
  promisify(execFile)(
    process.execPath,
    [join(root, 'node_modules/typescript/bin/tsc'), '-p', project],
    { cwd: root },
  ).catch((error) => {
    process.stderr.write(`${error.stdout}${error.stderr}`);
    throw new Error(`build: tsc -p ${project} failed`);
  });

rmSync(dist, { recursive: true, force: true }); // no stale file from an older layout reaches the tarball
await Promise.all([tsc('tsconfig.build.json'), tsc('tsconfig.build.cjs.json')]); // one core each
// The repository is "type": "module"; the files under dist/cjs/ are CommonJS.
writeFileSync(
  join(dist, 'cjs', 'package.json'),
  `${JSON.stringify({ type: 'commonjs' }, null, 2)}\n`,
);

// A subpath entry (terminus, throttler) imports the package's own entry by name, so it injects the
// same ApproovService as the app. Named, it would resolve against dist/cjs/package.json in the
// CommonJS build: point each build at its entry file instead.
for (const [build, entry] of [
  ['esm', 'index.mjs'],
  ['cjs', 'index.cjs'],
]) {
  for (const name of readdirSync(join(dist, build), { recursive: true, encoding: 'utf8' })) {
    if (!name.endsWith('.js')) continue;
    const file = join(dist, build, name);
    const code = readFileSync(file, 'utf8');
    const target = relative(dirname(file), join(dist, entry));
    const rewritten = code.replace(/(from |require\()(['"])nestjs-approov\2/g, `$1$2${target}$2`);
    if (rewritten !== code) writeFileSync(file, rewritten);
  }
}

// The names both builds really export at run time (loading them also proves they load).
const esmNames = Object.keys(
  await import(pathToFileURL(join(dist, 'esm', 'index.js')).href),
).sort();
const cjsNames = Object.keys(createRequire(import.meta.url)(join(dist, 'cjs', 'index.js'))).sort();
if (esmNames.length === 0 || esmNames.join() !== cjsNames.join()) {
  throw new Error(
    `build: the ESM and CommonJS builds export different names:\n${esmNames}\n${cjsNames}`,
  );
}

const KEY_COMMENT =
  '// One copy per installed package, whichever of import and require comes first: the key names this\n' +
  '// folder, so both entries of the same copy meet, and another installed copy stays apart.\n' +
  '// Frozen, on a property that cannot be rewritten or deleted: the guard cannot be swapped after load.\n';
// Defines the shared exports once (non-writable, non-configurable, frozen); `local` is this entry's build.
const REGISTER =
  'if (!Object.prototype.hasOwnProperty.call(globalThis, key)) {\n' +
  '  Object.defineProperty(globalThis, key, { value: Object.freeze({ ...local }), writable: false, configurable: false, enumerable: false });\n' +
  '}\n';
writeFileSync(
  join(dist, 'index.mjs'),
  "import { dirname } from 'node:path';\nimport { fileURLToPath } from 'node:url';\nimport * as local from './esm/index.js';\n\n" +
    KEY_COMMENT +
    'const key = Symbol.for(`nestjs-approov ${dirname(fileURLToPath(import.meta.url))}`);\n' +
    REGISTER +
    'const shared = globalThis[key];\n\n' +
    `export const {\n${esmNames.map((name) => `  ${name},`).join('\n')}\n} = shared;\n`,
);
writeFileSync(join(dist, 'index.d.mts'), "export * from './esm/index.js';\n");
writeFileSync(
  join(dist, 'index.cjs'),
  "'use strict';\nconst local = require('./cjs/index.js');\n\n" +
    KEY_COMMENT +
    'const key = Symbol.for(`nestjs-approov ${__dirname}`);\n' +
    REGISTER +
    'module.exports = globalThis[key];\n',
);
writeFileSync(join(dist, 'index.d.cts'), "export * from './cjs/index.js';\n");
// The CLI is a program, not an API: its typings would only weigh on the tarball.
for (const name of readdirSync(join(dist, 'esm', 'cli')))
  if (name.endsWith('.d.ts')) rmSync(join(dist, 'esm', 'cli', name));
chmodSync(join(dist, 'esm', 'cli', 'main.js'), 0o755);
