// Types of jest.config.js, for the test that reads its test sets (test/lint/test-sets.spec.ts).
import type { Config } from 'jest';

export declare const INTEGRATION_PATTERNS: readonly string[];
declare const config: Config;
export default config;
