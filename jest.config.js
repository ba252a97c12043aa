// Jest in ESM mode (Nest 12 ships ESM): ts-jest with useESM, run with --experimental-vm-modules.
// Tests import the package by its name; it maps to the TypeScript sources.
// Two sets: `unit` needs no build and no Redis (npm run test:unit, test:watch); `integration` runs
// the built package, the built sample app, the CLI or Redis. npm test runs both.
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('.', import.meta.url)).replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * Suites that need a build (dist/, sample-app/dist/) or Redis, by folder or by name: a suite that
 * talks to Redis has "redis" in its file name. test/lint/test-sets.spec.ts keeps the unit set clean.
 */
export const INTEGRATION_PATTERNS = [
  `^${ROOT}test/(cli|demo|package|sample-app)/.*\\.spec\\.ts$`,
  `^${ROOT}test/.*redis[^/]*\\.spec\\.ts$`,
];

/** @type {import('jest').Config} */
const shared = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  extensionsToTreatAsEsm: ['.ts'],
  transform: {
    '^.+\\.ts$': ['ts-jest', { useESM: true, tsconfig: '<rootDir>/tsconfig.json' }],
  },
  moduleNameMapper: {
    '^nestjs-approov$': '<rootDir>/src/index.ts',
    '^nestjs-approov/testing$': '<rootDir>/src/testing/index.ts',
    '^(\\.{1,2}/.*)\\.js$': '$1',
  },
};

/** @type {import('jest').Config} */
export default {
  testTimeout: 30000,
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
