import { ApproovConfigurationError } from './errors.js';
import type { ApproovFailure } from './failure.js';
import {
  SECRET_ENV_VARIABLES,
  parseApproovSecretEntries,
  parseApproovSecrets,
  resolveSecretSource,
  type ParsedSecret,
} from './keys/secret.js';
import { resolveKeysetOptions, type ResolvedKeysetOptions } from './keys/keyset-options.js';
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
import { MAX_MAX_BODY_BYTES } from './http/raw-body.js';
import {
  DEFAULT_REJECT_LOG_INTERVAL_SEC,
  MAX_REJECT_LOG_INTERVAL_SEC,
  type RejectLogOptions,
} from './check/reject-log.js';
import {
  checkMessageSigningOptions,
  type ApproovMessageSigningOptions,
} from './message-signing/options.js';
import { checkReplayOptions, type ResolvedReplayOptions } from './replay/replay-options.js';

/** The options the core understands; the Nest module's options are a superset. */
export interface ApproovCoreOptions {
  secret?: unknown;
  header?: unknown;
  bindingHeaders?: unknown;
  mode?: unknown;
  clockToleranceSec?: unknown;
  issuer?: unknown;
  audience?: unknown;
  allowMissingBindingClaim?: unknown;
  onFailure?: unknown;
  cacheSize?: unknown;
  cacheMaxBytes?: unknown;
  messageSigning?: unknown;
  maxBodyBytes?: unknown;
  replay?: unknown;
  rejectLog?: unknown;
  messageSigningKey?: unknown;
  allowApproovStatus?: unknown;
  jwksUri?: unknown;
  algorithms?: unknown;
  keyset?: unknown;
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
  /** Where signed requests are remembered, the store call deadline, and whether to fail open. */
  replay: ResolvedReplayOptions;
  rejectLog: Required<RejectLogOptions>;
  /** The account message-signing keys (`messageSigningKey` or APPROOV_MESSAGE_SIGNING_KEY); empty when not set. */
  accountSigningKeys: KeyObject[];
  /** Sanitised `Approov-Status` values that let a request without a token through (module-wide). */
  allowApproovStatus: readonly string[];
  /** Called once per reject with the reason code. */
  onFailure?: (failure: ApproovFailure) => void;
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
 * Validates every option once, at boot, and builds the verifier configuration (keys included).
 * Throws ApproovConfigurationError naming the option or environment variable at fault.
 */
export function resolveApproovConfig(
  options: ApproovCoreOptions = {},
  env: Readonly<Record<string, string | undefined>> = process.env,
): ResolvedApproovConfig {
  const bad = (option: string, why: string): never => {
    throw new ApproovConfigurationError(`Approov option "${option}" ${why}`);
  };
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

  const header = options.header ?? DEFAULT_TOKEN_HEADER;
  if (!isHeaderName(header)) bad('header', 'must be a valid HTTP header name.');

  const bindingHeaders = options.bindingHeaders ?? DEFAULT_BINDING_HEADERS;
  if (!Array.isArray(bindingHeaders) || bindingHeaders.length === 0) {
    bad('bindingHeaders', 'must be a non-empty array of header names.');
  }
  for (const name of bindingHeaders as unknown[]) {
    if (!isHeaderName(name)) {
      bad('bindingHeaders', 'must contain only valid HTTP header names.');
    }
  }

  const mode = options.mode ?? 'enforce';
  if (mode !== 'enforce' && mode !== 'monitor') bad('mode', `must be 'enforce' or 'monitor'.`);

  const tolerance = options.clockToleranceSec ?? 0;
  if (
    typeof tolerance !== 'number' ||
    !Number.isFinite(tolerance) ||
    tolerance < 0 ||
    tolerance > MAX_CLOCK_TOLERANCE_SEC
  ) {
    bad('clockToleranceSec', `must be a number of seconds from 0 to ${MAX_CLOCK_TOLERANCE_SEC}.`);
  }

  const issuerSource = fromEnv('issuer', KEYSET_ENV_VARIABLES.issuer);
  const audienceSource = fromEnv('audience', KEYSET_ENV_VARIABLES.audience);
  const issuer = checkStringList(issuerSource.value, 'issuer', issuerSource.bad);
  const audience = checkStringList(audienceSource.value, 'audience', audienceSource.bad);

  const allowMissing = options.allowMissingBindingClaim ?? false;
  if (typeof allowMissing !== 'boolean') bad('allowMissingBindingClaim', 'must be a boolean.');
  if (options.onFailure !== undefined && typeof options.onFailure !== 'function') {
    bad('onFailure', 'must be a function.');
  }

  const cacheSize = options.cacheSize ?? DEFAULT_CACHE_SIZE;
  if (
    !Number.isSafeInteger(cacheSize) ||
    (cacheSize as number) < 0 ||
    (cacheSize as number) > MAX_CACHE_SIZE
  ) {
    bad('cacheSize', `must be an integer from 0 (no cache) to ${MAX_CACHE_SIZE}.`);
  }
  const cacheMaxBytes = options.cacheMaxBytes ?? DEFAULT_CACHE_MAX_BYTES;
  if (
    !Number.isSafeInteger(cacheMaxBytes) ||
    (cacheMaxBytes as number) < 1 ||
    (cacheMaxBytes as number) > MAX_CACHE_MAX_BYTES
  ) {
    bad(
      'cacheMaxBytes',
      `must be an integer number of bytes from 1 to ${MAX_CACHE_MAX_BYTES} (set cacheSize: 0 to disable the cache).`,
    );
  }
  const messageSigning = checkMessageSigningOptions(options.messageSigning, 'messageSigning', bad);
  const maxBodyBytes = options.maxBodyBytes;
  if (
    maxBodyBytes !== undefined &&
    (!Number.isSafeInteger(maxBodyBytes) ||
      (maxBodyBytes as number) < 1 ||
      (maxBodyBytes as number) > MAX_MAX_BODY_BYTES)
  ) {
    bad('maxBodyBytes', `must be an integer number of bytes from 1 to ${MAX_MAX_BODY_BYTES}.`);
  }
  const replay = checkReplayOptions(options.replay, bad);
  const accountSigningKeys = resolveAccountSigningKeys(options.messageSigningKey, env);
  const allowApproovStatus = checkApproovStatusList(options.allowApproovStatus ?? [], (why) =>
    bad('allowApproovStatus', why),
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
      clockToleranceSec: tolerance as number,
      issuer,
      audience,
      allowMissingBindingClaim: allowMissing as boolean,
      cacheSize: cacheSize as number,
      cacheMaxBytes: cacheMaxBytes as number,
    },
    bindingHeaders: (bindingHeaders as string[]).map((name) => name.toLowerCase()),
    mode: mode as 'enforce' | 'monitor',
    messageSigning,
    maxBodyBytes: maxBodyBytes as number | undefined,
    replay,
    rejectLog: checkRejectLogOptions(options.rejectLog, bad),
    accountSigningKeys,
    allowApproovStatus,
    ...(options.onFailure !== undefined
      ? { onFailure: options.onFailure as (failure: ApproovFailure) => void }
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

function checkRejectLogOptions(
  value: unknown,
  bad: (option: string, why: string) => never,
): Required<RejectLogOptions> {
  if (value === undefined) return { mode: 'summary', intervalSec: DEFAULT_REJECT_LOG_INTERVAL_SEC };
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    bad('rejectLog', 'must be an object.');
  const {
    mode = 'summary',
    intervalSec = DEFAULT_REJECT_LOG_INTERVAL_SEC,
    ...rest
  } = value as Record<string, unknown>;
  const unknown = Object.keys(rest);
  if (unknown.length > 0) bad(`rejectLog.${unknown[0]}`, 'is not an option (mode, intervalSec).');
  if (mode !== 'summary' && mode !== 'every')
    bad('rejectLog.mode', `must be 'summary' or 'every'.`);
  if (
    typeof intervalSec !== 'number' ||
    !Number.isFinite(intervalSec) ||
    intervalSec < 1 ||
    intervalSec > MAX_REJECT_LOG_INTERVAL_SEC
  ) {
    bad(
      'rejectLog.intervalSec',
      `must be a number of seconds from 1 to ${MAX_REJECT_LOG_INTERVAL_SEC}.`,
    );
  }
  return { mode: mode as 'summary' | 'every', intervalSec: intervalSec as number };
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
