#!/usr/bin/env node
// nestjs-approov: mint and check Approov tokens without an Approov account, on the library's own core.
import { readFileSync } from 'node:fs';
import { checkCommand } from './check.js';
import {
  EXIT_OK,
  EXIT_USAGE,
  exitOnUsageError,
  processOutput,
  runCommand,
  UsageError,
  type Command,
} from './io.js';
import { secretCommand } from './secret.js';
import { signCommand } from './sign.js';
import { tokenCommand } from './token.js';
import { keysetCommand } from './keyset.js';

const COMMANDS: readonly Command[] = [
  secretCommand,
  tokenCommand,
  checkCommand,
  signCommand,
  keysetCommand,
];

const MAIN_HELP = `Usage: nestjs-approov <command> [options]

Mint and check Approov tokens for development and tests, without an Approov account.

Commands:
  secret    print a new random 64-byte secret, base64 (like: openssl rand -base64 64)
  token     mint a token signed with a secret (like: approov token -genExample)
  check     verify a token and print its claims and the verdict
  sign      sign a request as an app with installation message signing does
  keyset    make a key pair and a JWKS file (like: approov keyset -add ES256)

Options:
  -h, --help     help for a command: nestjs-approov <command> --help
  -v, --version  print the version

Exit codes: 0 success or valid token, 1 token rejected, 2 usage error.`;

function runCli(argv: readonly string[]): number | Promise<number> {
  const [name, ...rest] = argv;
  const command = COMMANDS.find((candidate) => candidate.name === name);
  if (command !== undefined) return runCommand(command, rest, process.env, processOutput);
  switch (name) {
    case undefined:
      processOutput.err(MAIN_HELP);
      return EXIT_USAGE;
    case '-h':
    case '--help':
    case 'help':
      processOutput.out(
        COMMANDS.find((candidate) => candidate.name === rest[0])?.help ?? MAIN_HELP,
      );
      return EXIT_OK;
    case '-v':
    case '--version':
      processOutput.out(readVersion());
      return EXIT_OK;
    default:
      return exitOnUsageError(
        new UsageError(`unknown command "${name}".`),
        'nestjs-approov',
        processOutput,
      );
  }
}

function readVersion(): string {
  const manifest = JSON.parse(
    readFileSync(new URL('../../../package.json', import.meta.url), 'utf8'),
  ) as { version: string };
  return manifest.version;
}

// A reader that closes early (`| head -1`) has all it wants: end quietly, with success.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code !== 'EPIPE') throw error;
  process.exit(EXIT_OK);
});
const exitCode = runCli(process.argv.slice(2));
if (typeof exitCode === 'number') process.exitCode = exitCode;
else void exitCode.then((code) => (process.exitCode = code));
