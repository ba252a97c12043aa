import { ApproovConfigurationError } from './errors.js';
import type { ApproovCheckReport } from './check/check-report.js';
import type { ApproovFailure } from './failure.js';
import {
  SECRET_ENV_VARIABLES,
  parseApproovSecretEntries,
  parseApproovSecrets,
  resolveSecretSource,
  sameSecretKey,
  type ParsedSecret,
} from './keys/secret.js';
import {
  KEYSET_OPTIONS,
  resolveKeysetOptions,
  type ResolvedKeysetOptions,
} from './keys/keyset-options.js';
import { JwksKeySet } from './keys/keyset.js';
import { TokenKeyring } from './keys/keyring.js';
import { DEFAULT_TOKEN_HEADER, type ApproovVerifierConfig } from './token/verifier.js';
import {
  DEFAULT_CACHE_MAX_BYTES,
  DEFAULT_CACHE_SIZE,
  MAX_CACHE_MAX_BYTES,
  MAX_CACHE_SIZE,
} from './token/verified-token-cache.js';
import type { KeyObject } from 'node:crypto';
import { MAX_CLOCK_TOLERANCE_SEC } from './clock.js';
import { checkApproovStatusList } from './http/approov-status.js';
import { isHeaderName } from './http/request-headers.js';
import {
  DEFAULT_BODY_TIMEOUT_SEC,
  MAX_BODY_TIMEOUT_SEC,
  MAX_MAX_BODY_BYTES,
} from './http/raw-body.js';
import {
  REJECT_LOG_OPTIONS,
  checkRejectLogOptions,
  type RejectLogOptions,
} from './check/reject-log.js';
import {
  MESSAGE_SIGNING_OPTIONS,
  checkMessageSigningOptions,
  type ApproovMessageSigningOptions,
} from './message-signing/options.js';
import {
  REPLAY_OPTIONS,
  checkReplayOptions,
  type ResolvedReplayOptions,
} from './replay/replay-options.js';
import { DEFAULT_ASYMMETRIC_ALGORITHMS } from './keys/algorithms.js';
import {
  checkOptionGroup,
  refuseUnknownOptions,
  type OptionSchema,
  type OptionSpec,
} from './options/option-schema.js';

/** The options the core understands; the Nest module's options are a superset. */
export interface ApproovCoreOptions {
  secret?: unknown;
  jwksUri?: unknown;
  algorithms?: unknown;
  keyset?: unknown;
  tokenHeader?: unknown;
  clockToleranceSec?: unknown;
  issuer?: unknown;
  audience?: unknown;
  allowApproovStatus?: unknown;
  cacheSize?: unknown;
  cacheMaxBytes?: unknown;
  bindingHeaders?: unknown;
  allowMissingBindingClaim?: unknown;
  messageSigning?: unknown;
  messageSigningKey?: unknown;
  maxBodyBytes?: unknown;
  bodyTimeoutSec?: unknown;
  replay?: unknown;
  mode?: unknown;
  onFailure?: unknown;
  onCheck?: unknown;
  rejectLog?: unknown;
}

export interface ResolvedApproovConfig {
  verifier: ApproovVerifierConfig;
  /** Lower-cased default binding headers, in order. */
  bindingHeaders: string[];
  mode: 'enforce' | 'monitor';
  /** The checked module-level message-signing defaults (only the fields given). */
  messageSigning: Readonly<ApproovMessageSigningOptions>;
  /** The body bound for Content-Digest checks; undefined: the adapter's default. */
  maxBodyBytes: number | undefined;
  /** The seconds a captured body has to arrive in full, from its headers. */
  bodyTimeoutSec: number;
  /** Where signed requests are remembered, the store call deadline, and whether to fail open. */
  replay: ResolvedReplayOptions;
  rejectLog: Required<RejectLogOptions>;
  /** The account message-signing keys (`messageSigningKey` or APPROOV_MESSAGE_SIGNING_KEY); empty when not set. */
  accountSigningKeys: KeyObject[];
  /** Sanitised `Approov-Status` values that let a request without a token through (module-wide). */
  allowApproovStatus: readonly string[];
  /** Called once per reject with the reason code. */
  onFailure?: (failure: ApproovFailure) => void;
  /** Called once per check with its outcome and duration. */
  onCheck?: (report: ApproovCheckReport) => void;
  /** The JWKS key holder, not yet started (the Nest service fetches it at boot), when `jwksUri` is set. */
  keyset?: JwksKeySet;
  /** The checked keyset settings, when `jwksUri` is set. */
  keysetOptions?: ResolvedKeysetOptions;
  /** Where the JWKS URL came from, for messages: 'option "jwksUri"' or 'APPROOV_JWKS_URI'. */
  jwksSetting?: string;
}

export { DEFAULT_TOKEN_HEADER };
export const DEFAULT_BINDING_HEADERS = ['Authorization'];
/** The environment variables read when the matching option is not given. */
export const KEYSET_ENV_VARIABLES = {
  jwksUri: 'APPROOV_JWKS_URI',
  issuer: 'APPROOV_ISSUER',
  audience: 'APPROOV_AUDIENCE',
} as const;
export { MAX_CLOCK_TOLERANCE_SEC };

/**
 * Every option of the module's top level, as data: names, types, ranges and defaults (undefined:
 * none, or read from the environment, see SECRET_ENV_VARIABLES and KEYSET_ENV_VARIABLES). The
 * nested groups carry their own schema.
 */
export const APPROOV_OPTIONS = {
  // Token and keys
  secret: { type: 'custom' },
  jwksUri: { type: 'custom' },
  algorithms: { type: 'custom', default: DEFAULT_ASYMMETRIC_ALGORITHMS },
  keyset: { type: 'group', options: KEYSET_OPTIONS },
  tokenHeader: { type: 'custom', default: DEFAULT_TOKEN_HEADER },
  clockToleranceSec: {
    type: 'number',
    min: 0,
    max: MAX_CLOCK_TOLERANCE_SEC,
    unit: 'seconds',
    default: 0,
  },
  issuer: { type: 'custom' },
  audience: { type: 'custom' },
  allowApproovStatus: { type: 'custom', default: [] },
  cacheSize: {
    type: 'number',
    integer: true,
    min: 0,
    max: MAX_CACHE_SIZE,
    hint: '0: no cache',
    default: DEFAULT_CACHE_SIZE,
  },
  cacheMaxBytes: {
    type: 'number',
    integer: true,
    min: 1,
    max: MAX_CACHE_MAX_BYTES,
    unit: 'bytes',
    hint: 'set cacheSize: 0 to disable the cache',
    default: DEFAULT_CACHE_MAX_BYTES,
  },
  // Binding
  bindingHeaders: { type: 'custom', default: DEFAULT_BINDING_HEADERS },
  allowMissingBindingClaim: { type: 'boolean', default: false },
  // Message signing and replay
  messageSigning: { type: 'group', options: MESSAGE_SIGNING_OPTIONS },
  messageSigningKey: { type: 'custom' },
  // Default: the adapter's own body limit (Fastify's bodyLimit, 1 MiB on Express).
  maxBodyBytes: { type: 'number', integer: true, min: 1, max: MAX_MAX_BODY_BYTES, unit: 'bytes' },
  bodyTimeoutSec: {
    type: 'number',
    min: 1,
    max: MAX_BODY_TIMEOUT_SEC,
    unit: 'seconds',
    default: DEFAULT_BODY_TIMEOUT_SEC,
  },
  replay: { type: 'group', options: REPLAY_OPTIONS },
  // Reporting
  mode: { type: 'oneOf', values: ['enforce', 'monitor'], default: 'enforce' },
  onFailure: { type: 'function' },
  onCheck: { type: 'function' },
  rejectLog: { type: 'group', options: REJECT_LOG_OPTIONS },
} as const satisfies OptionSchema & Record<keyof ApproovCoreOptions, OptionSpec>;

/** forRoot / forRootAsync flags: Nest keeps them out of the options, so one found here was misplaced. */
const MODULE_EXTRAS = ['protectAllRoutes', 'isGlobal'];
const misplacedExtra = (name: string): string | undefined =>
  MODULE_EXTRAS.includes(name)
    ? 'is a forRoot / forRootAsync flag, not an option: give it next to useFactory, not in the options it returns.'
    : undefined;

/**
 * Validates every option once, at boot, and builds the verifier configuration (keys included).
 * Throws ApproovConfigurationError naming the option or environment variable at fault.
 */
export function resolveApproovConfig(
  options: ApproovCoreOptions = {},
  env: Readonly<Record<string, string | undefined>> = process.env,
): ResolvedApproovConfig {
  const bad = (option: string, why: string): never => {
    throw new ApproovConfigurationError(
      option === '' ? `Approov options ${why}` : `Approov option "${option}" ${why}`,
    );
  };
  // Unknown keys first: a misspelt option would otherwise surface as the one it failed to set.
  refuseUnknownOptions(options, APPROOV_OPTIONS, '', bad, misplacedExtra);
  // Like the secret, the keyset settings may come from the environment; errors then name the variable.
  const fromEnv = (option: 'jwksUri' | 'issuer' | 'audience', variable: string) =>
    options[option] !== undefined || env[variable] === undefined
      ? { value: options[option], bad }
      : {
          value: env[variable],
          bad: (name: string, why: string): never => {
            if (name !== option) return bad(name, why);
            throw new ApproovConfigurationError(`Approov ${variable} ${why}`);
          },
        };
  const jwks = fromEnv('jwksUri', KEYSET_ENV_VARIABLES.jwksUri);
  const keysetOptions = resolveKeysetOptions({ ...options, jwksUri: jwks.value }, jwks.bad);
  const secrets = resolveSecrets(options.secret, env, keysetOptions !== undefined);
  const given = checkOptionGroup(options, APPROOV_OPTIONS, '', bad, misplacedExtra);

  const header = given.tokenHeader ?? APPROOV_OPTIONS.tokenHeader.default;
  if (!isHeaderName(header)) bad('tokenHeader', 'must be a valid HTTP header name.');

  const bindingHeaders = given.bindingHeaders ?? APPROOV_OPTIONS.bindingHeaders.default;
  if (!Array.isArray(bindingHeaders) || bindingHeaders.length === 0) {
    bad('bindingHeaders', 'must be a non-empty array of header names.');
  }
  for (const name of bindingHeaders as unknown[]) {
    if (!isHeaderName(name)) {
      bad('bindingHeaders', 'must contain only valid HTTP header names.');
    }
  }

  const issuerSource = fromEnv('issuer', KEYSET_ENV_VARIABLES.issuer);
  const audienceSource = fromEnv('audience', KEYSET_ENV_VARIABLES.audience);
  const issuer = checkStringList(issuerSource.value, 'issuer', issuerSource.bad);
  const audience = checkStringList(audienceSource.value, 'audience', audienceSource.bad);

  const messageSigning = checkMessageSigningOptions(given.messageSigning, 'messageSigning', bad);
  const replay = checkReplayOptions(given.replay, bad);
  const accountSigningKeys = resolveAccountSigningKeys(options.messageSigningKey, env);
  refuseSharedAccountKey(accountSigningKeys, secrets, options, env);
  const allowApproovStatus = checkApproovStatusList(
    given.allowApproovStatus ?? APPROOV_OPTIONS.allowApproovStatus.default,
    (why) => bad('allowApproovStatus', why),
  );

  const keyset = keysetOptions === undefined ? undefined : new JwksKeySet(keysetOptions);
  const keyring = new TokenKeyring(secrets, keyset, keysetOptions?.algorithms ?? []);

  return {
    ...(keyset !== undefined
      ? {
          keyset,
          keysetOptions,
          jwksSetting: jwks.bad === bad ? 'option "jwksUri"' : KEYSET_ENV_VARIABLES.jwksUri,
        }
      : {}),
    verifier: {
      keyring,
      tokenHeader: header as string,
      clockToleranceSec: given.clockToleranceSec ?? APPROOV_OPTIONS.clockToleranceSec.default,
      issuer,
      audience,
      allowMissingBindingClaim:
        given.allowMissingBindingClaim ?? APPROOV_OPTIONS.allowMissingBindingClaim.default,
      cacheSize: given.cacheSize ?? APPROOV_OPTIONS.cacheSize.default,
      cacheMaxBytes: given.cacheMaxBytes ?? APPROOV_OPTIONS.cacheMaxBytes.default,
    },
    bindingHeaders: (bindingHeaders as string[]).map((name) => name.toLowerCase()),
    mode: given.mode ?? APPROOV_OPTIONS.mode.default,
    messageSigning,
    maxBodyBytes: given.maxBodyBytes,
    bodyTimeoutSec: given.bodyTimeoutSec ?? APPROOV_OPTIONS.bodyTimeoutSec.default,
    replay,
    rejectLog: checkRejectLogOptions(given.rejectLog, bad),
    accountSigningKeys,
    allowApproovStatus,
    ...(given.onFailure !== undefined
      ? { onFailure: given.onFailure as (failure: ApproovFailure) => void }
      : {}),
    ...(given.onCheck !== undefined
      ? { onCheck: given.onCheck as (report: ApproovCheckReport) => void }
      : {}),
  };
}

/** The secrets; with a keyset they are optional (a backend may hold no secret at all). */
function resolveSecrets(
  option: unknown,
  env: Readonly<Record<string, string | undefined>>,
  hasKeyset: boolean,
): ParsedSecret[] {
  const absent =
    (option === undefined || option === null) &&
    SECRET_ENV_VARIABLES.every((name) => env[name] === undefined);
  if (absent && hasKeyset) return [];
  return parseApproovSecretEntries(resolveSecretSource(option, env));
}

function checkStringList(
  value: unknown,
  option: string,
  bad: (option: string, why: string) => never,
): string | string[] | undefined {
  if (value === undefined) return undefined;
  const list = Array.isArray(value) ? value : [value];
  if (list.length === 0 || list.some((entry) => typeof entry !== 'string' || entry.length === 0)) {
    bad(option, 'must be a non-empty string or a non-empty array of them.');
  }
  return value as string | string[];
}

/**
 * The account message-signing key signs requests in the app; the token secret signs tokens in the
 * Approov cloud. One key for both lets whoever holds one forge the other: refused, naming both
 * settings (never a value).
 */
function refuseSharedAccountKey(
  accountKeys: readonly KeyObject[],
  secrets: readonly ParsedSecret[],
  options: ApproovCoreOptions,
  env: Readonly<Record<string, string | undefined>>,
): void {
  if (!accountKeys.some((key) => secrets.some((secret) => sameSecretKey(key, secret.key)))) return;
  const accountSetting =
    options.messageSigningKey !== undefined && options.messageSigningKey !== null
      ? 'messageSigningKey option'
      : MESSAGE_SIGNING_KEY_ENV;
  throw new ApproovConfigurationError(
    `Approov ${accountSetting} is the same key as the token secret (${resolveSecretSource(options.secret, env).setting}): ` +
      'give the account message-signing key there, not the token secret.',
  );
}

/** Where the account message-signing key is read from when the option is not given. */
export const MESSAGE_SIGNING_KEY_ENV = 'APPROOV_MESSAGE_SIGNING_KEY';

/**
 * The account message-signing keys, parsed once at boot with the token secret's rules (canonical
 * base64 or base64url, 32 bytes or more, never echoed): the `messageSigningKey` option, else
 * APPROOV_MESSAGE_SIGNING_KEY. An empty list when neither is set: `account` signatures then fail.
 */
export function resolveAccountSigningKeys(
  option: unknown,
  env: Readonly<Record<string, string | undefined>> = process.env,
): KeyObject[] {
  if (option !== undefined && option !== null)
    return parseApproovSecrets({ value: option, setting: 'messageSigningKey option' });
  const fromEnv = env[MESSAGE_SIGNING_KEY_ENV];
  if (fromEnv === undefined) return [];
  if (fromEnv.length === 0)
    throw new ApproovConfigurationError(
      `Approov ${MESSAGE_SIGNING_KEY_ENV} is set but empty: unset it or give the key.`,
    );
  return parseApproovSecrets({ value: fromEnv, setting: MESSAGE_SIGNING_KEY_ENV });
}
