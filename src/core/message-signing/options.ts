/** Options of installation message signing, at module level (`messageSigning`) and per route. */
export interface ApproovMessageSigningOptions {
  /**
   * Require a token with an `ipk` claim (and so a signed request). Default false: a token
   * without `ipk`, as Approov's failover service issues, passes; a token with `ipk` must
   * still come with a valid signature.
   */
  required?: boolean;
  /** Oldest accepted `created`, in seconds before now, 1 to 3600. Default 60. */
  maxAgeSec?: number;
  /**
   * Components the signature must cover. Default `['@method', '@target-uri', '<token header>']`
   * (the token header lower-cased, `approov-token` unless the `header` option says otherwise).
   */
  requiredComponents?: string[];
  /** Require `content-digest` to be covered when the request has a body. Default true. */
  requireContentDigest?: boolean;
  /**
   * Rebuild `@target-uri`, `@scheme` and `@authority` from `Forwarded`, else `X-Forwarded-Proto`
   * and `X-Forwarded-Host` (leftmost value). Only behind a proxy that overwrites these headers.
   * Default false: the connection's scheme and the `Host` header.
   */
  trustProxy?: boolean;
  /** Leeway in seconds for `created` and `expires`, 0 to 300. Default: the module's `clockToleranceSec`. */
  clockToleranceSec?: number;
  /**
   * Refuse a second sighting of the same signed request (401 `message_signature_replayed`) while
   * its signature could still pass. Default true. `false` lets a captured request be sent again
   * until it expires: only for idempotent routes whose replay does no harm.
   */
  replay?: boolean;
}

/** Every option settled: what the verifier reads per request. */
export interface ResolvedMessageSigningOptions {
  readonly required: boolean;
  readonly maxAgeSec: number;
  readonly requiredComponents: readonly string[];
  readonly requireContentDigest: boolean;
  readonly trustProxy: boolean;
  readonly clockToleranceSec: number;
  readonly replay: boolean;
}

export const DEFAULT_SIGNATURE_MAX_AGE_SEC = 60;
export const MAX_SIGNATURE_MAX_AGE_SEC = 3600;
const MAX_TOLERANCE_SEC = 300;

/** The derived components this verifier can rebuild (RFC 9421 2.2, request side). */
export const SUPPORTED_DERIVED_COMPONENTS: readonly string[] = Object.freeze([
  '@method',
  '@target-uri',
  '@authority',
  '@scheme',
  '@request-target',
  '@path',
  '@query',
]);

// RFC 9421 2.1: a field's component name is its lower-cased field name.
const LOWER_FIELD_NAME_RE = /^[!#$%&'*+\-.^_`|~0-9a-z]+$/;

/** True when `name` is a component this verifier can rebuild: a supported derived one or a field. */
export function isSupportedComponentName(name: string): boolean {
  return name.startsWith('@') ? SUPPORTED_DERIVED_COMPONENTS.includes(name) : LOWER_FIELD_NAME_RE.test(name);
}

/**
 * Checks a partial options object (module-level or a decorator's) and returns a frozen copy of
 * the fields that were given. `fail` receives the option path and why it is wrong, and throws.
 */
export function checkMessageSigningOptions(
  value: unknown,
  where: string,
  fail: (option: string, why: string) => never,
): Readonly<ApproovMessageSigningOptions> {
  if (value === undefined) return Object.freeze({});
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return fail(where, 'must be an object.');
  const given = value as Record<string, unknown>;
  const known = ['required', 'maxAgeSec', 'requiredComponents', 'requireContentDigest', 'trustProxy', 'clockToleranceSec', 'replay'];
  for (const key of Object.keys(given)) {
    if (!known.includes(key)) fail(`${where}.${key}`, `is not an option (known: ${known.join(', ')}).`);
  }
  const checked: ApproovMessageSigningOptions = {};
  for (const flag of ['required', 'requireContentDigest', 'trustProxy', 'replay'] as const) {
    if (given[flag] === undefined) continue;
    if (typeof given[flag] !== 'boolean') fail(`${where}.${flag}`, 'must be a boolean.');
    checked[flag] = given[flag] as boolean;
  }
  if (given.maxAgeSec !== undefined) {
    checked.maxAgeSec = checkSeconds(given.maxAgeSec, 1, MAX_SIGNATURE_MAX_AGE_SEC, `${where}.maxAgeSec`, fail);
  }
  if (given.clockToleranceSec !== undefined) {
    checked.clockToleranceSec = checkSeconds(given.clockToleranceSec, 0, MAX_TOLERANCE_SEC, `${where}.clockToleranceSec`, fail);
  }
  if (given.requiredComponents !== undefined) {
    const list = given.requiredComponents;
    if (!Array.isArray(list) || list.length === 0) {
      fail(`${where}.requiredComponents`, 'must be a non-empty array of component names.');
    }
    for (const name of list as unknown[]) {
      if (typeof name !== 'string' || !isSupportedComponentName(name)) {
        fail(
          `${where}.requiredComponents`,
          `contains "${String(name)}": use lower-case header names or one of ${SUPPORTED_DERIVED_COMPONENTS.join(', ')}.`,
        );
      }
    }
    checked.requiredComponents = Object.freeze([...new Set(list as string[])]) as string[];
  }
  return Object.freeze(checked);
}

function checkSeconds(
  value: unknown,
  min: number,
  max: number,
  option: string,
  fail: (option: string, why: string) => never,
): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max) {
    fail(option, `must be a number of seconds from ${min} to ${max}.`);
  }
  return value as number;
}

/**
 * Settles the options: built-in defaults, then each layer in turn (module-level, then the
 * route's), a later layer overriding field by field. Layers must already be checked.
 */
export function resolveMessageSigningOptions(
  tokenHeader: string,
  moduleClockToleranceSec: number,
  ...layers: readonly Readonly<ApproovMessageSigningOptions>[]
): ResolvedMessageSigningOptions {
  const merged: ApproovMessageSigningOptions = Object.assign({}, ...layers);
  return Object.freeze({
    required: merged.required ?? false,
    maxAgeSec: merged.maxAgeSec ?? DEFAULT_SIGNATURE_MAX_AGE_SEC,
    requiredComponents: Object.freeze([
      ...(merged.requiredComponents ?? ['@method', '@target-uri', tokenHeader.toLowerCase()]),
    ]),
    requireContentDigest: merged.requireContentDigest ?? true,
    trustProxy: merged.trustProxy ?? false,
    clockToleranceSec: merged.clockToleranceSec ?? moduleClockToleranceSec,
    replay: merged.replay ?? true,
  });
}
