#!/usr/bin/env node
// nestjs-approov: mint and check Approov tokens without an Approov account, on the library's own core.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { runSignCommand, SIGN_HELP } from './sign.js';
import { ApproovConfigurationError } from '../core/errors.js';
import { parseApproovSecrets, resolveSecretSource } from '../core/token/secret.js';
import { verifyApproovToken } from '../core/token/verify-token.js';
import { decodeBase64UrlStrict } from '../core/encoding/base64.js';
import { checkTokenBinding } from '../core/token/binding.js';
import { createApproovSecret, createApproovToken } from '../testing/index.js';

const EXIT_OK = 0;
const EXIT_REJECTED = 1;
const EXIT_USAGE = 2;

/** A mistake in the command line: printed as one line with a pointer to --help, never a stack. */
class UsageError extends Error {}

interface Output {
  out: (line: string) => void;
  err: (line: string) => void;
}

const HELP: Record<string, string> = {
  main: `Usage: nestjs-approov <command> [options]

Mint and check Approov tokens for development and tests, without an Approov account.

Commands:
  secret    print a new random 64-byte secret, base64 (like: openssl rand -base64 64)
  token     mint a token signed with a secret (like: approov token -genExample)
  check     verify a token and print its claims and the verdict
  sign      sign a request as an app with installation message signing does

Options:
  -h, --help     help for a command: nestjs-approov <command> --help
  -v, --version  print the version

Exit codes: 0 success or valid token, 1 token rejected, 2 usage error.`,
  secret: `Usage: nestjs-approov secret

Prints a new random 64-byte secret in base64, for APPROOV_BASE64_SECRET in development.
A real deployment uses the account secret: approov secret -get base64.`,
  token: `Usage: nestjs-approov token --secret <base64> [--exp <seconds>] [--bind <value> ...]
                            [--claim <name>=<value> ...] [--no-exp] [--invalid]

Mints an HS256 Approov token, as the Approov cloud would, and prints it.

Options:
  --secret <base64>       the secret, base64 or base64url (default: $APPROOV_BASE64_SECRET,
                          then $APPROOV_BASE64URL_SECRET)
  --exp <seconds>         lifetime from now, default 300; a past token: --exp=-60
  --bind <value>          bind the token to a header value, e.g. --bind "Bearer abc"; repeat
                          for several headers, in order (like: approov token -setDataHashInToken)
  --claim <name>=<value>  add or override a claim; the value is JSON when it parses, else a string
  --no-exp                leave out the exp claim (a token every check must reject)
  --invalid               sign with a random other secret, as a failed attestation would

Example:
  nestjs-approov token --secret "$APPROOV_BASE64_SECRET" --bind "Bearer my-user-token"`,
  check: `Usage: nestjs-approov check --secret <base64> <token> [--bind <value> ...]

Verifies a token with the same rules as the NestJS module and prints its claims and the verdict.
With --bind, also checks the token's binding (pay claim) to those header values, in order.
Exits 0 when the token is valid, 1 when it is rejected (with the reason code).

Options:
  --secret <base64>  the secret, base64 or base64url (default: $APPROOV_BASE64_SECRET,
                     then $APPROOV_BASE64URL_SECRET)
  --bind <value>     a bound header value; repeat for several headers, in order`,
  sign: SIGN_HELP,
};

const COMMANDS = ['secret', 'token', 'check', 'sign'];
const COMMON_OPTIONS = { help: { type: 'boolean', short: 'h' } } as const;

function runCli(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>> = process.env,
  io: Output = {
    out: (line) => process.stdout.write(`${line}\n`),
    err: (line) => process.stderr.write(`${line}\n`),
  },
): number {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case undefined:
        io.err(HELP.main!);
        return EXIT_USAGE;
      case '-h':
      case '--help':
      case 'help':
        io.out(HELP[COMMANDS.includes(rest[0] ?? '') ? rest[0]! : 'main']!);
        return EXIT_OK;
      case '-v':
      case '--version':
        io.out(readVersion());
        return EXIT_OK;
      case 'secret':
        return secretCommand(rest, io);
      case 'token':
        return tokenCommand(rest, env, io);
      case 'check':
        return checkCommand(rest, env, io);
      case 'sign':
        return runSignCommand(rest, env, io);
      default:
        throw new UsageError(`unknown command "${command}".`);
    }
  } catch (error) {
    if (error instanceof UsageError || error instanceof ApproovConfigurationError || isParseArgsError(error)) {
      const helpTarget = command !== undefined && COMMANDS.includes(command) ? ` ${command}` : '';
      io.err(`nestjs-approov: ${(error as Error).message.replace(/\s*\n\s*/g, ' ')}`);
      io.err(`Run "nestjs-approov${helpTarget} --help" for usage.`);
      return EXIT_USAGE;
    }
    throw error;
  }
}

function parse<T extends NonNullable<ParseArgsConfig['options']>>(
  args: readonly string[],
  options: T,
  allowPositionals = false,
) {
  try {
    return parseArgs({ args: [...args], options: { ...COMMON_OPTIONS, ...options }, allowPositionals, strict: true });
  } catch (error) {
    if (isParseArgsError(error)) throw new UsageError((error as Error).message);
    throw error;
  }
}

function secretCommand(args: readonly string[], io: Output): number {
  const { values } = parse(args, {});
  if (values.help) return help('secret', io);
  io.out(createApproovSecret(64));
  return EXIT_OK;
}

function tokenCommand(args: readonly string[], env: Readonly<Record<string, string | undefined>>, io: Output): number {
  const { values } = parse(args, {
    secret: { type: 'string' },
    exp: { type: 'string' },
    bind: { type: 'string', multiple: true },
    claim: { type: 'string', multiple: true },
    'no-exp': { type: 'boolean' },
    invalid: { type: 'boolean' },
  });
  if (values.help) return help('token', io);
  if (values.exp !== undefined && values['no-exp']) throw new UsageError('--exp and --no-exp exclude each other.');

  // --invalid needs no secret: it signs with a random one, so any checker rejects the signature.
  const secret = values.invalid ? randomBytes(64) : checkedSecret(values.secret, env);
  const claims: Record<string, unknown> = {};
  for (const entry of values.claim ?? []) {
    const [name, value] = splitClaim(entry);
    claims[name] = value;
  }
  if (values['no-exp']) claims.exp = undefined;
  io.out(
    createApproovToken({
      secret,
      expiresIn: values.exp === undefined ? 300 : parseSeconds(values.exp),
      claims,
      ...(values.bind !== undefined ? { bind: values.bind } : {}),
    }),
  );
  return EXIT_OK;
}

function checkCommand(args: readonly string[], env: Readonly<Record<string, string | undefined>>, io: Output): number {
  const { values, positionals } = parse(
    args,
    { secret: { type: 'string' }, bind: { type: 'string', multiple: true } },
    true,
  );
  if (values.help) return help('check', io);
  if (positionals.length !== 1) {
    throw new UsageError(positionals.length === 0 ? 'give the token to check.' : 'give exactly one token.');
  }
  const token = positionals[0]!;
  const keys = parseApproovSecrets(secretSource(values.secret, env));
  const now = Date.now() / 1000;

  const result = verifyApproovToken(token, keys, now);
  let code = result.ok ? null : result.code;
  if (result.ok && values.bind !== undefined) code = checkTokenBinding(result.claims, values.bind);

  const decoded = decodePayload(token);
  if (decoded === undefined) {
    io.out('claims: (the payload is not a base64url JSON object)');
  } else {
    io.out(`claims${code === null ? '' : ' (not trusted: the token is rejected)'}: ${JSON.stringify(decoded, null, 2)}`);
    if (typeof decoded.exp === 'number' && Number.isFinite(decoded.exp)) {
      const seconds = Math.round(decoded.exp - now);
      io.out(`expires: ${isoDate(decoded.exp)} (${seconds >= 0 ? `in ${seconds} s` : `${-seconds} s ago`})`);
    }
  }
  if (code !== null) {
    io.out(`verdict: rejected (${code})`);
    return EXIT_REJECTED;
  }
  io.out(`verdict: valid${values.bind === undefined ? '' : `, bound to the ${values.bind.length} given value(s)`}`);
  if (values.bind === undefined && decoded?.pay !== undefined) {
    io.out('note: the token carries a binding (pay); give --bind <value> to check it too.');
  }
  return EXIT_OK;
}

function help(command: string, io: Output): number {
  io.out(HELP[command]!);
  return EXIT_OK;
}

/** The secret from --secret or the environment, validated as the module would at boot. */
function checkedSecret(option: string | undefined, env: Readonly<Record<string, string | undefined>>): string {
  const source = secretSource(option, env);
  parseApproovSecrets(source);
  return source.value as string;
}

function secretSource(option: string | undefined, env: Readonly<Record<string, string | undefined>>) {
  if (option !== undefined) return { value: option, setting: '--secret' };
  try {
    return resolveSecretSource(undefined, env);
  } catch {
    throw new UsageError('no secret: give --secret <base64> or set APPROOV_BASE64_SECRET.');
  }
}

function parseSeconds(text: string): number {
  const seconds = Number(text);
  if (!/^-?[\d.]+$/.test(text) || !Number.isFinite(seconds)) {
    throw new UsageError(`--exp must be a number of seconds, like 300 or --exp=-60 (got "${text}").`);
  }
  return seconds;
}

function splitClaim(entry: string): [string, unknown] {
  const equals = entry.indexOf('=');
  if (equals <= 0) throw new UsageError(`--claim needs <name>=<value> (got "${entry}").`);
  const text = entry.slice(equals + 1);
  try {
    return [entry.slice(0, equals), JSON.parse(text)];
  } catch {
    return [entry.slice(0, equals), text];
  }
}

function decodePayload(token: string): Record<string, unknown> | undefined {
  const parts = token.split('.');
  if (parts.length !== 3) return undefined;
  const bytes = decodeBase64UrlStrict(parts[1]!);
  if (bytes === null) return undefined;
  try {
    const value: unknown = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

function isoDate(seconds: number): string {
  const date = new Date(seconds * 1000);
  return Number.isNaN(date.getTime()) ? 'out of range' : date.toISOString();
}

function readVersion(): string {
  const manifest = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return manifest.version;
}

function isParseArgsError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS_');
}

process.exitCode = runCli(process.argv.slice(2));
