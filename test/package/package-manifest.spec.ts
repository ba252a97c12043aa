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
  'ApproovCheckOutcome',
  'ApproovCheckReport',
  'ApproovCheckResult',
  'ApproovContextType',
  'ApproovFailure',
  'ApproovFailureCode',
  'ApproovKeysetStatus',
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
const SWAGGER_VALUES = [
  'APPROOV_SECURITY_SCHEME',
  'ApiApproov',
  'addApproovToDocument',
  'approovSecurityScheme',
];

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

/** The optional integrations: each entry, the peer only it loads, and what it exports. */
const INTEGRATIONS: ReadonlyArray<readonly [string, string, readonly string[]]> = [
  ['terminus', '@nestjs/terminus', ['APPROOV_HEALTH_STORE_DEADLINE_MS', 'ApproovHealthIndicator']],
  ['throttler', '@nestjs/throttler', ['APPROOV_DEVICE_TRACKER_PREFIX', 'ApproovThrottlerGuard']],
];

describe.each(INTEGRATIONS)('the ./%s entry', (entry, peer, values) => {
  it.each([
    ['import', `const root = await import(NAME); const sub = await import(NAME + '/${entry}');`],
    ['require', `const root = require(NAME); const sub = require(NAME + '/${entry}');`],
    [
      'import, then require',
      `const root = await import(NAME); const sub = require(NAME + '/${entry}');`,
    ],
    [
      'require, then import',
      `const root = require(NAME); const sub = await import(NAME + '/${entry}');`,
    ],
  ])('loads with %s, and injects the ApproovService of the main entry', (_how, load) => {
    // What Nest injects: constructor parameter types, and @Inject() properties (Nest's own key).
    const script =
      `import 'reflect-metadata'; import { createRequire } from 'node:module'; const require = createRequire(import.meta.url); const NAME = '${manifest.name}';` +
      `${load} const injected = Object.values(sub).filter((value) => typeof value === 'function').flatMap((value) => [...(Reflect.getMetadata('design:paramtypes', value) ?? []), ...(Reflect.getMetadata('self:properties_metadata', value) ?? []).map((property) => property.type)]);` +
      'console.log(JSON.stringify({ names: Object.keys(sub), same: [String(injected.includes(root.ApproovService))] }));';
    const { keys, stderr, status } = runNode(['--input-type=module', '-e', script]);
    expect({ status, stderr: status === 0 ? '' : stderr }).toEqual({ status: 0, stderr: '' });
    expect([...(keys.names ?? [])].sort()).toEqual([...values].sort());
    expect(keys.same).toEqual(['true']);
  });

  it(`is the only file of dist/ that imports ${peer}; the main entry never loads it`, () => {
    const importers = ['esm', 'cjs'].flatMap((build) =>
      filesUnder(join(DIST, build), '.js')
        .filter((file) =>
          ts
            .preProcessFile(readFileSync(file, 'utf8'), true, true)
            .importedFiles.some(({ fileName }) => fileName === peer),
        )
        .map((file) => relative(DIST, file)),
    );
    expect(importers.sort()).toEqual([`cjs/${entry}/index.js`, `esm/${entry}/index.js`]);
    const { keys } = runNode([
      '--input-type=module',
      '-e',
      `import { createRequire } from 'node:module'; const require = createRequire(import.meta.url); await import('${manifest.name}'); require('${manifest.name}');` +
        `console.log(JSON.stringify({ loaded: Object.keys(require.cache).filter((file) => file.includes('${peer}/')) }));`,
    ]);
    expect(keys.loaded).toEqual([]);
  });
});

describe(`the optional '${manifest.name}/swagger' entry`, () => {
  it.each([
    ['import()', ['--input-type=module', '-e'], 'await import(NAME)'],
    ['require()', ['-e'], 'require(NAME)'],
  ])('loads with %s and exports exactly its public names', (_how, flags, load) => {
    const script = `const NAME = '${manifest.name}/swagger'; const swagger = ${load}; console.log(JSON.stringify({ names: Object.keys(swagger) }));`;
    const { keys, stderr, status } = runNode([...flags, script]);
    expect({ status, stderr: status === 0 ? '' : stderr }).toEqual({ status: 0, stderr: '' });
    expect([...(keys.names ?? [])].sort()).toEqual(SWAGGER_VALUES);
  });

  it('is an optional peer, and the main entry never loads it (nor @nestjs/swagger)', () => {
    const meta = (manifest as { peerDependenciesMeta?: Record<string, { optional?: boolean }> })
      .peerDependenciesMeta;
    expect(meta?.['@nestjs/swagger']).toEqual({ optional: true });
    for (const build of ['esm', 'cjs']) {
      // Every file the main entry reaches through relative imports, and their bare imports.
      const seen = new Set<string>();
      const bare = new Set<string>();
      const visit = (file: string) => {
        if (seen.has(file)) return;
        seen.add(file);
        for (const { fileName } of ts.preProcessFile(readFileSync(file, 'utf8'), true, true)
          .importedFiles) {
          if (fileName.startsWith('.')) visit(join(file, '..', fileName));
          else bare.add(fileName);
        }
      };
      visit(join(DIST, build, 'index.js'));
      expect(seen.size).toBeGreaterThan(20);
      expect([...seen].filter((file) => file.includes('/swagger/'))).toEqual([]);
      expect([...bare].filter((name) => name.startsWith('@nestjs/swagger'))).toEqual([]);
    }
  });
});

describe(`'${manifest.name}/opentelemetry', an optional peer's own entry`, () => {
  it.each([
    ['import', `const otel = await import('${manifest.name}/opentelemetry');`],
    ['require', `const otel = require('${manifest.name}/opentelemetry');`],
  ])('loads with %s and gives the onCheck hook', (_entry, load) => {
    const script =
      `import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);` +
      `${load} console.log(JSON.stringify({ names: Object.keys(otel).sort(), hook: [typeof otel.approovOpenTelemetry()] }));`;
    const { keys, stderr, status } = runNode(['--input-type=module', '-e', script]);
    expect({ status, stderr: status === 0 ? '' : stderr }).toEqual({ status: 0, stderr: '' });
    expect(keys.names).toEqual(expect.arrayContaining(['approovOpenTelemetry']));
    expect(keys.hook).toEqual(['function']);
  });

  it('is the only part of dist/ that imports @opentelemetry/api: the main entry never loads it', () => {
    const importers = filesUnder(DIST, '.js')
      .filter((file) =>
        /from ['"]@opentelemetry\/|require\(['"]@opentelemetry\//.test(readFileSync(file, 'utf8')),
      )
      .map((file) => relative(DIST, file))
      .sort();
    expect(importers).toEqual(['cjs/opentelemetry/index.js', 'esm/opentelemetry/index.js']);
    expect(manifest.peerDependencies?.['@opentelemetry/api']).toBeDefined();
  });
});

describe('the imports of dist/', () => {
  const declared = new Set([
    manifest.name, // a subpath entry's typings import the main entry by name
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
