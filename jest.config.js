// Jest in ESM mode (Nest 12 ships ESM): ts-jest with useESM, run with --experimental-vm-modules.
// Tests import the package by its name; it maps to the TypeScript sources.
/** @type {import('jest').Config} */
export default {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.spec.ts'],
  extensionsToTreatAsEsm: ['.ts'],
  transform: {
    '^.+\\.ts$': ['ts-jest', { useESM: true, tsconfig: '<rootDir>/tsconfig.json' }],
  },
  moduleNameMapper: {
    '^nestjs-approov$': '<rootDir>/src/index.ts',
    '^nestjs-approov/testing$': '<rootDir>/src/testing/index.ts',
    '^(\\.{1,2}/.*)\\.js$': '$1',
  },
  testTimeout: 30000,
};
