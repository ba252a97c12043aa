import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';

// The eslint.config.js rules that keep src/ in shape, each shown firing on a bad file and staying
// quiet on a good one. Fixtures are linted as text under a path in src/, so the path-based config applies.
const ROOT = fileURLToPath(new URL('../..', import.meta.url));

// ESLint runs once, in a child process: its config loader wants plain Node, not Jest's VM.
const LINT_SCRIPT = `
  import { ESLint } from 'eslint';
  const fixtures = JSON.parse(await new Response(process.stdin).text());
  const eslint = new ESLint();
  const flagged = [];
  for (const { path, code } of fixtures) {
    const [result] = await eslint.lintText(code, { filePath: path });
    flagged.push([...new Set(result.messages.filter((m) => m.ruleId === 'no-restricted-imports').map((m) => m.line))]);
  }
  console.log(JSON.stringify(flagged));
`;

interface Fixture {
  rule: string;
  path: string;
  imports: string[];
  /** 1-based lines of `imports` the rule must flag; every other line must pass. */
  flagged: number[];
}

const NEST_AND_NODE = [
  "import { Injectable } from '@nestjs/common';",
  "import { Reflector } from '@nestjs/core';",
  "import passport from 'passport';",
  "import { createHash } from 'node:crypto';",
];
const LAYER_CROSSING = [
  "import { ApproovGuard } from '../approov.guard.js';",
  "import { ApproovModule } from '../index.js';",
  "import { Injectable } from '@nestjs/common';",
  "import { verifyApproovToken } from '../core/token/jws.js';",
  "import { runCommand } from '../cli/io.js';",
];

const FIXTURES: Fixture[] = [
  {
    rule: 'no Nest or Passport import in a core feature',
    path: 'src/core/token/fixture.ts',
    imports: NEST_AND_NODE,
    flagged: [1, 2, 3],
  },
  {
    rule: 'no Nest or Passport import at the core root',
    path: 'src/core/fixture.ts',
    imports: NEST_AND_NODE,
    flagged: [1, 2, 3],
  },
  {
    rule: 'the core root imports nothing outside src/core/',
    path: 'src/core/fixture.ts',
    imports: [
      "import { ApproovService } from '../approov.service.js';",
      "import { systemClock } from './clock.js';",
    ],
    flagged: [1],
  },
  {
    rule: 'a core feature imports nothing outside src/core/',
    path: 'src/core/token/fixture.ts',
    imports: [
      "import { ApproovService } from '../../approov.service.js';",
      "import { createApproovToken } from '../../testing/index.js';",
    ],
    flagged: [1, 2],
  },
  {
    rule: 'a core feature imports the shared core, its own folder, and only types of another feature',
    path: 'src/core/token/fixture.ts',
    imports: [
      "import { readSingleHeader } from '../http/request-headers.js';",
      "import { decodeBase64UrlStrict } from '../encoding/base64.js';",
      "import { ApproovConfigurationError } from '../errors.js';",
      "import type { ApproovFailureCode } from '../failure.js';",
      "import { systemClock } from '../clock.js';",
      "import { whenSettled } from '../maybe-async.js';",
      "import { checkOptionGroup } from '../options/option-schema.js';",
      "import { checkTokenBinding } from './binding.js';",
      "import type { ApproovMessageSigningOptions } from '../message-signing/options.js';",
      "import { resolveMessageSigningOptions } from '../message-signing/options.js';",
      "import { resolveApproovConfig } from '../approov-config.js';",
      "import { ApproovCheck } from '../check/approov-check.js';",
      "import type { ApproovVerdict } from '../check/approov-check.js';",
    ],
    flagged: [10, 11, 12],
  },
  {
    rule: 'core/check/ composes the features, and imports nothing outside src/core/',
    path: 'src/core/check/fixture.ts',
    imports: [
      "import { ApproovVerifier } from '../token/verifier.js';",
      "import { MessageSignatureVerifier } from '../message-signing/verify.js';",
      "import { resolveApproovConfig } from '../approov-config.js';",
      "import { nodeRequestOf } from '../http/request.js';",
      "import { ApproovService } from '../../approov.service.js';",
      "import { Logger } from '@nestjs/common';",
    ],
    flagged: [5, 6],
  },
  {
    rule: 'cli/ builds on the core, not on the Nest layer',
    path: 'src/cli/fixture.ts',
    imports: LAYER_CROSSING,
    flagged: [1, 2, 3],
  },
  {
    rule: 'testing/ builds on the core, not on the Nest layer or the CLI',
    path: 'src/testing/fixture.ts',
    imports: LAYER_CROSSING,
    flagged: [1, 2, 3, 5],
  },
  {
    rule: 'the Nest layer builds on the core, not on cli/ or testing/',
    path: 'src/fixture.ts',
    imports: [
      "import { createApproovToken } from './testing/index.js';",
      "import { runCommand } from './cli/io.js';",
      "import { ApproovVerifier } from './core/token/verifier.js';",
    ],
    flagged: [1, 2],
  },
  {
    rule: 'the Nest layer imports no Passport statically (an optional peer, loaded with import())',
    path: 'src/fixture.ts',
    imports: [
      "import passport from 'passport';",
      "import { PassportStrategy } from '@nestjs/passport';",
      "import { Strategy } from 'passport-jwt';",
      "import type { Authenticator } from 'passport';",
      "const loaded = await import('passport');",
    ],
    flagged: [1, 2, 3, 4],
  },
];

function lintFixtures(): Promise<number[][]> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      process.execPath,
      ['--input-type=module', '-e', LINT_SCRIPT],
      { cwd: ROOT, timeout: 90_000 },
      (error, stdout, stderr) =>
        error === null ? resolve(JSON.parse(stdout) as number[][]) : reject(new Error(stderr)),
    );
    child.stdin!.end(
      JSON.stringify(
        FIXTURES.map(({ path, imports }) => ({ path, code: `${imports.join('\n')}\n` })),
      ),
    );
  });
}

describe('the architecture lint rules', () => {
  let flagged: number[][];
  beforeAll(async () => {
    flagged = await lintFixtures();
  }, 90_000);

  it.each(FIXTURES.map((fixture, index) => [fixture.rule, index] as const))(
    '%s',
    (_rule, index) => {
      expect(flagged[index]).toEqual(FIXTURES[index]!.flagged);
    },
  );
});
