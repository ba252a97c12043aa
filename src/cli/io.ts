// What every CLI command shares: output, exit codes, usage errors and option parsing.
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { ApproovConfigurationError } from '../core/errors.js';
import { resolveSecretSource, type SecretSource } from '../core/keys/secret.js';

export const EXIT_OK = 0;
export const EXIT_REJECTED = 1;
export const EXIT_USAGE = 2;

export interface Output {
  out: (line: string) => void;
  err: (line: string) => void;
}

export type Env = Readonly<Record<string, string | undefined>>;

export const processOutput: Output = {
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
};

/** A mistake in the command line: printed as one line with a pointer to --help, never a stack. */
export class UsageError extends Error {}

export interface Command {
  readonly name: string;
  readonly help: string;
  /** Runs with the arguments after the command name; returns the exit code (a Promise when it fetches). */
  run(args: readonly string[], env: Env, io: Output): number | Promise<number>;
}

/** Runs a command; a usage mistake exits 2 with one line on stderr. */
export function runCommand(
  command: Command,
  args: readonly string[],
  env: Env,
  io: Output,
): number | Promise<number> {
  const onError = (error: unknown) => exitOnUsageError(error, `nestjs-approov ${command.name}`, io);
  try {
    const code = command.run(args, env, io);
    return typeof code === 'number' ? code : code.catch(onError);
  } catch (error) {
    return onError(error);
  }
}

/** Prints a usage mistake (or a bad secret) as one line plus a pointer to `help`; anything else is a bug and rethrown. */
export function exitOnUsageError(error: unknown, help: string, io: Output): number {
  if (!(
    error instanceof UsageError ||
    error instanceof ApproovConfigurationError ||
    isParseArgsError(error)
  ))
    throw error;
  io.err(`nestjs-approov: ${(error as Error).message.replace(/\s*\n\s*/g, ' ')}`);
  io.err(`Run "${help} --help" for usage.`);
  return EXIT_USAGE;
}

const HELP_OPTION = { help: { type: 'boolean', short: 'h' } } as const;
type CommandOptions = NonNullable<ParseArgsConfig['options']>;
type CommandArgsConfig<T extends CommandOptions> = {
  args: string[];
  options: typeof HELP_OPTION & T;
  allowPositionals: boolean;
  strict: true;
};

/** Strict option parsing with -h/--help on every command. */
export function parseCommandArgs<T extends CommandOptions>(
  args: readonly string[],
  options: T,
  allowPositionals = false,
): ReturnType<typeof parseArgs<CommandArgsConfig<T>>> {
  return parseArgs<CommandArgsConfig<T>>({
    args: [...args],
    options: { ...HELP_OPTION, ...options },
    allowPositionals,
    strict: true,
  });
}

/** A whole number of seconds, negative allowed (a past token, an old signature). */
export function parseSeconds(option: string, text: string): number {
  if (!/^-?\d{1,15}$/.test(text)) {
    throw new UsageError(
      `${option} must be a whole number of seconds, like 300 or ${option}=-60 (got "${text}").`,
    );
  }
  return Number(text);
}

/** The secret from --secret, else from the environment as the module reads it. */
export function secretSourceOf(option: string | undefined, env: Env): SecretSource {
  if (option !== undefined) return { value: option, setting: '--secret' };
  try {
    return resolveSecretSource(undefined, env);
  } catch {
    throw new UsageError('no secret: give --secret <base64> or set APPROOV_BASE64_SECRET.');
  }
}

function isParseArgsError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS_');
}
