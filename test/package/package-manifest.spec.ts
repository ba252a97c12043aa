import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

// The built package as a user gets it (after `npm run build`; `npm test` builds first): it loads
// through its package.json `exports` by name, with import and require, exports exactly the public
// names a Nest app needs, and imports nothing it does not declare (after @nestjs/config's manifest test).

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const DIST = join(ROOT, 'dist');
const manifest = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  name: string;
  exports: Record<string, string | Record<string, string>>;
  dependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
};

/** Every value a user imports from 'nestjs-approov': nothing internal (verifiers, secret parsing) leaks. */
const PUBLIC_VALUES = [
  'APPROOV_FAILURE_CODES',
  'APPROOV_MODULE_OPTIONS',
  'AllowApproovStatus',
  'ApproovBinding',
  'ApproovClaims',
  'ApproovConfigurationError',
  'ApproovGuard',
  'ApproovMessageSigning',
  'ApproovModule',
  'ApproovService',
  'ApproovStrategy',
  'MemoryReplayStore',
  'RedisReplayStore',
  'ReplayStoreUnavailableError',
  'SkipApproov',
  'UNAVAILABLE_FAILURE_CODES',
  'getApproovClaims',
];
/** The documented types beside them. */
const PUBLIC_TYPES = [
  'ApproovCheckResult',
  'ApproovContextType',
  'ApproovFailure',
  'ApproovFailureCode',
  'ApproovMessageSigningOptions',
  'ApproovModuleExtras',
  'ApproovModuleOptions',
  'ApproovReplayOptions',
  'ApproovRequestLike',
  'ApproovSignatureLabel',
  'ApproovTokenClaims',
  'MemoryReplayStoreOptions',
  'MessageSignatureResult',
  'RedisClientLike',
  'RedisReplayStoreOptions',
  'RedisReplayStoreUrlOptions',
  'ReplayStore',
  'VerifiedMessageSignature',
];
const TESTING_VALUES = ['createApproovToken', 'approovBindingHash', 'createApproovSecret'];

const filesUnder = (dir: string, suffix: string): string[] =>
  readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((name) => name.endsWith(suffix))
    .map((name) => join(dir, name));

/** Runs node from the repository root, where the package can import itself by name. */
function runNode(args: string[]): {
  keys: Record<string, string[]>;
  stderr: string;
  status: number | null;
} {
  const result = spawnSync(process.execPath, args, {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 20_000,
  });
  const lastLine = result.stdout.trim().split('\n').at(-1) ?? '';
  return {
    keys: lastLine.startsWith('{') ? JSON.parse(lastLine) : {},
    stderr: result.stderr,
    status: result.status,
  };
}

beforeAll(() => {
  if (!existsSync(join(DIST, 'index.mjs')))
    throw new Error('dist/ is missing: run `npm run build` (npm test does) first');
});

describe('the build', () => {
  it('has an ESM and a CommonJS file for every source file (dist is not stale); the CLI is ESM only', () => {
    const sources = filesUnder(join(ROOT, 'src'), '.ts')
      .filter((file) => !file.endsWith('.d.ts'))
      .map((file) => relative(join(ROOT, 'src'), file).replace(/\.ts$/, '.js'));
    expect(sources.filter((file) => !existsSync(join(DIST, 'esm', file)))).toEqual([]);
    expect(
      sources.filter((file) => !file.startsWith('cli/') && !existsSync(join(DIST, 'cjs', file))),
    ).toEqual([]);
  });

  it('has every file the exports map points to', () => {
    const targets = (entry: unknown): string[] =>
      typeof entry === 'string'
        ? [entry]
        : Object.values(entry as Record<string, unknown>).flatMap(targets);
    const all = targets(manifest.exports);
    expect(all.length).toBeGreaterThan(8); // two entries, four targets each, and package.json
    for (const target of all) expect(existsSync(join(ROOT, target))).toBe(true);
  });

  it('has source maps that carry their sources (src/ is not shipped)', () => {
    const maps = filesUnder(DIST, '.js.map');
    expect(maps.length).toBeGreaterThan(20);
    const withoutSources = maps.filter((file) => {
      const map = JSON.parse(readFileSync(file, 'utf8')) as {
        sources: string[];
        sourcesContent?: string[];
      };
      return (
        map.sourcesContent?.length !== map.sources.length ||
        map.sourcesContent.some((text) => !text)
      );
    });
    expect(withoutSources).toEqual([]);
  });
});

describe(`loading '${manifest.name}' by name through package.json exports`, () => {
  it('works with import(), for the entry and the ./testing subpath', () => {
    const script =
      `const main = await import('${manifest.name}'); const testing = await import('${manifest.name}/testing');` +
      `console.log(JSON.stringify({ main: Object.keys(main), testing: Object.keys(testing) }));`;
    const { keys, stderr, status } = runNode(['--input-type=module', '-e', script]);
    expect({ status, stderr: status === 0 ? '' : stderr }).toEqual({ status: 0, stderr: '' });
    expect([...(keys.main ?? [])].sort()).toEqual(PUBLIC_VALUES);
    expect(keys.testing).toEqual(expect.arrayContaining(TESTING_VALUES));
  });

  it('works with require(), for the entry and the ./testing subpath', () => {
    const script =
      `const main = require('${manifest.name}'); const testing = require('${manifest.name}/testing');` +
      `console.log(JSON.stringify({ main: Object.keys(main), testing: Object.keys(testing) }));`;
    const { keys, stderr, status } = runNode(['-e', script]);
    expect({ status, stderr: status === 0 ? '' : stderr }).toEqual({ status: 0, stderr: '' });
    expect([...(keys.main ?? [])].sort()).toEqual(PUBLIC_VALUES);
    expect(keys.testing).toEqual(expect.arrayContaining(TESTING_VALUES));
  });

  it('resolves import to the ESM entry and require to the CommonJS entry, in dist/', () => {
    const script = `console.log(JSON.stringify({ import: [import.meta.resolve('${manifest.name}')], require: [require.resolve('${manifest.name}')] }))`;
    const { keys } = runNode([
      '--input-type=module',
      '-e',
      `import { createRequire } from 'node:module'; const require = createRequire(import.meta.url); ${script}`,
    ]);
    expect(keys.import?.[0]).toMatch(/\/dist\/index\.mjs$/);
    expect(keys.require?.[0]).toMatch(/\/dist\/index\.cjs$/);
  });

  it.each([
    ['import first', 'const esm = await import(NAME); const cjs = require(NAME);'],
    ['require first', 'const cjs = require(NAME); const esm = await import(NAME);'],
  ])('gives one copy of every export to import and require (%s)', (_order, load) => {
    // Both entries of one installed copy hand out the same objects: no dual-package hazard.
    const script =
      `import { createRequire } from 'node:module'; const require = createRequire(import.meta.url); const NAME = '${manifest.name}';` +
      `${load} const names = Object.keys(esm);` +
      `console.log(JSON.stringify({ names, different: names.filter((name) => esm[name] !== cjs[name]), cjsOnly: Object.keys(cjs).filter((name) => !(name in esm)) }));`;
    const { keys, stderr, status } = runNode(['--input-type=module', '-e', script]);
    expect({ status, stderr: status === 0 ? '' : stderr }).toEqual({ status: 0, stderr: '' });
    expect([...(keys.names ?? [])].sort()).toEqual(PUBLIC_VALUES);
    expect({ different: keys.different, cjsOnly: keys.cjsOnly }).toEqual({
      different: [],
      cjsOnly: [],
    });
  });

  it.each([
    ['import', 'const loaded = await import(NAME);'],
    ['require', 'const loaded = require(NAME);'],
  ])('keeps the shared copy from being swapped or changed after it loads (%s)', (_entry, load) => {
    const script =
      `import { createRequire } from 'node:module'; const require = createRequire(import.meta.url); const NAME = '${manifest.name}';` +
      `${load} const key = Object.getOwnPropertySymbols(globalThis).find((symbol) => String(symbol).includes('nestjs-approov'));` +
      'const descriptor = Object.getOwnPropertyDescriptor(globalThis, key); const shared = globalThis[key];' +
      'const tries = [() => { globalThis[key] = {}; }, () => { delete globalThis[key]; }, () => { shared.ApproovGuard = class {}; }];' +
      "const refused = tries.map((attempt) => { try { 'use strict'; attempt(); return globalThis[key] === shared && shared.ApproovGuard === loaded.ApproovGuard; } catch { return true; } });" +
      'console.log(JSON.stringify({ state: [String(descriptor.writable), String(descriptor.configurable), String(Object.isFrozen(shared))], refused: refused.map(String) }));';
    const { keys, stderr, status } = runNode(['--input-type=module', '-e', script]);
    expect({ status, stderr: status === 0 ? '' : stderr }).toEqual({ status: 0, stderr: '' });
    expect(keys.state).toEqual(['false', 'false', 'true']);
    expect(keys.refused).toEqual(['true', 'true', 'true']);
  });

  it("serves Nest's DI one ApproovService when the module is imported and the service required", () => {
    // The hazard itself: an app whose ApproovModule comes from import and whose code looks the service
    // up with the class from require. Two copies would make app.get() throw.
    const script =
      "import 'reflect-metadata'; import { createRequire } from 'node:module'; import { Module } from '@nestjs/common';" +
      "import { NestFactory } from '@nestjs/core'; const { ApproovModule } = await import('" +
      manifest.name +
      "');" +
      "const { ApproovService } = createRequire(import.meta.url)('" +
      manifest.name +
      "');" +
      "class AppModule {} Module({ imports: [ApproovModule.forRoot({ secret: Buffer.from(Array.from({ length: 32 }, (_, i) => i)).toString('base64') })] })(AppModule);" +
      'const app = await NestFactory.createApplicationContext(AppModule, { logger: false });' +
      'const service = app.get(ApproovService); await app.close();' +
      "console.log(JSON.stringify({ found: [service instanceof ApproovService ? 'yes' : 'no'] }));";
    const { keys, stderr, status } = runNode(['--input-type=module', '-e', script]);
    expect({ status, stderr: status === 0 ? '' : stderr }).toEqual({ status: 0, stderr: '' });
    expect(keys.found).toEqual(['yes']);
  });

  it('declares exactly the public names, types included, in dist/esm/index.d.ts', () => {
    // index.ts lists named exports only, so reading its export clauses is enough (no type checker).
    const source = ts.createSourceFile(
      'index.d.ts',
      readFileSync(join(DIST, 'esm', 'index.d.ts'), 'utf8'),
      ts.ScriptTarget.ES2022,
    );
    const exported = source.statements.flatMap((statement) =>
      ts.isExportDeclaration(statement) &&
      statement.exportClause &&
      ts.isNamedExports(statement.exportClause)
        ? statement.exportClause.elements.map((element) => element.name.text)
        : [],
    );
    expect(exported.sort()).toEqual([...PUBLIC_VALUES, ...PUBLIC_TYPES].sort());
  });
});

describe('the imports of dist/', () => {
  const declared = new Set([
    ...Object.keys(manifest.dependencies ?? {}),
    ...Object.keys(manifest.peerDependencies ?? {}),
  ]);
  const packageOf = (specifier: string) =>
    specifier.startsWith('@')
      ? specifier.split('/').slice(0, 2).join('/')
      : specifier.split('/')[0]!;
  const isBuiltin = (specifier: string) =>
    specifier.startsWith('node:') || builtinModules.includes(specifier.split('/')[0]!);

  /** Every bare specifier (not relative, not a builtin) imported by the built files, with the file. */
  const bareImports = (suffix: string): Array<[string, string]> =>
    filesUnder(DIST, suffix).flatMap((file) =>
      ts
        .preProcessFile(readFileSync(file, 'utf8'), true, true)
        .importedFiles.map((imported) => imported.fileName)
        .filter((specifier) => !specifier.startsWith('.') && !isBuiltin(specifier))
        .map((specifier) => [relative(DIST, file), packageOf(specifier)] as [string, string]),
    );

  it('finds the imports it checks', () => {
    expect(bareImports('.js').map(([, name]) => name)).toEqual(
      expect.arrayContaining(['@nestjs/common', '@nestjs/core']),
    );
  });

  it('imports at run time only declared dependencies, peer dependencies and node: builtins', () => {
    expect(bareImports('.js').filter(([, name]) => !declared.has(name))).toEqual([]);
  });

  it('refers in its type declarations only to declared dependencies and peer dependencies', () => {
    expect(bareImports('.d.ts').filter(([, name]) => !declared.has(name))).toEqual([]);
  });

  it('keeps @nestjs/*, passport and reflect-metadata as peers, not dependencies', () => {
    const runtime = Object.keys(manifest.dependencies ?? {});
    expect(
      runtime.filter(
        (name) =>
          name.startsWith('@nestjs/') || name.startsWith('passport') || name === 'reflect-metadata',
      ),
    ).toEqual([]);
  });
});
