// Jest in ESM mode (Nest 12 ships ESM): ts-jest with useESM, run with --experimental-vm-modules.
// Tests import the package by its name; it maps to the TypeScript sources.
// Two sets: `unit` needs no build and no Redis (npm run test:unit, test:watch); `integration` runs
// the built package, the built sample app, the CLI or Redis. npm test runs both.
import { readdirSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const ROOT = fileURLToPath(new URL('.', import.meta.url)).replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * Suites that need a build (dist/, sample-app/dist/) or a service, by folder or by name: a suite
 * that talks to Redis or NATS has "redis" or "nats" in its file name. test/lint/test-sets.spec.ts
 * keeps the unit set clean.
 */
export const INTEGRATION_PATTERNS = [
  `^${ROOT}test/(cli|demo|package|sample-app)/.*\\.spec\\.ts$`,
  `^${ROOT}test/.*(redis|nats)[^/]*\\.spec\\.ts$`,
];

/** src/ files that hold only types: nothing of them runs, yet V8 coverage would count their lines as missed. */
function typeOnlySources() {
  const src = new URL('src/', import.meta.url);
  const typeOnly = (statement) =>
    ts.isInterfaceDeclaration(statement) ||
    ts.isTypeAliasDeclaration(statement) ||
    ((ts.isImportDeclaration(statement) || ts.isExportDeclaration(statement)) &&
      (statement.importClause?.isTypeOnly ?? statement.isTypeOnly === true));
  return readdirSync(src, { recursive: true, encoding: 'utf8' }).filter(
    (file) =>
      file.endsWith('.ts') &&
      ts
        .createSourceFile(file, readFileSync(new URL(file, src), 'utf8'), ts.ScriptTarget.ES2022)
        .statements.every(typeOnly),
  );
}

/** @type {import('jest').Config} */
const shared = {
  testEnvironment: 'node',
  // src/ too: coverage counts the files no suite loads, and watch mode sees source edits.
  roots: ['<rootDir>/src', '<rootDir>/test'],
  extensionsToTreatAsEsm: ['.ts'],
  transform: {
    '^.+\\.ts$': ['ts-jest', { useESM: true, tsconfig: '<rootDir>/tsconfig.json' }],
  },
  moduleNameMapper: {
    '^nestjs-approov$': '<rootDir>/src/index.ts',
    '^nestjs-approov/testing$': '<rootDir>/src/testing/index.ts',
    '^nestjs-approov/terminus$': '<rootDir>/src/terminus/index.ts',
    '^nestjs-approov/throttler$': '<rootDir>/src/throttler/index.ts',
    '^nestjs-approov/swagger$': '<rootDir>/src/swagger/index.ts',
    '^nestjs-approov/opentelemetry$': '<rootDir>/src/opentelemetry/index.ts',
    '^(\\.{1,2}/.*)\\.js$': '$1',
    // Mercurius loads @fastify/static (for GraphiQL) which requires an ESM-only package: Jest on
    // Node 20 cannot load that, and no test serves GraphiQL (see the stand-in file).
    '^@fastify/static$': '<rootDir>/test/support/fastify-static-unavailable.cjs',
  },
};

/** @type {import('jest').Config} */
export default {
  testTimeout: 30000,
  // Coverage of src/ by the whole run (npm test), read by V8 itself: no instrumentation. The floor
  // sits just under what the suites reach, so a change that lowers coverage fails npm test.
  coverageProvider: 'v8',
  collectCoverageFrom: [
    'src/**/*.ts',
    // The CLI runs as the built bin in child processes (test/cli), out of the workers' coverage.
    '!src/cli/**',
    // @nestjs/throttler is CommonJS requiring Nest 12's ESM-only @nestjs/common: Jest's ESM mode cannot
    // load it, so its guard runs in child processes (test/package/throttler.e2e.spec.ts).
    '!src/throttler/**',
    ...typeOnlySources().map((file) => `!src/${file}`),
  ],
  coverageReporters: ['text-summary', 'html'],
  coverageThreshold: { global: { lines: 98, statements: 98, functions: 97, branches: 93 } },
  // ESM suites leave their modules in the worker, and V8 coverage reads them all after each suite:
  // with coverage on, a worker past this size is replaced, which more than halves coverage's cost.
  workerIdleMemoryLimit: process.argv.includes('--coverage') ? '200MB' : undefined,
  // Jest's default (cores - 1) is one worker on a 2-core machine: the suites then run one by one,
  // though most of their time is I/O and child processes.
  maxWorkers: Math.max(2, availableParallelism() - 1),
  projects: [
    {
      ...shared,
      displayName: 'unit',
      testMatch: ['**/*.spec.ts'],
      testPathIgnorePatterns: ['/node_modules/', ...INTEGRATION_PATTERNS],
    },
    {
      ...shared,
      displayName: 'integration',
      testRegex: INTEGRATION_PATTERNS,
    },
  ],
};
