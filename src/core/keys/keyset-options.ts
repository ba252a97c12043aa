import { isIP } from 'node:net';
import {
  ASYMMETRIC_ALGORITHMS,
  DEFAULT_ASYMMETRIC_ALGORITHMS,
  isAsymmetricAlgorithm,
  type AsymmetricAlgorithm,
} from './algorithms.js';
import { DEFAULT_KEYSET_FETCH_OPTIONS, type KeySetFetchOptions } from './keyset.js';
import {
  checkOptionGroup,
  type OptionSchema,
  type RefuseOption,
} from '../options/option-schema.js';

/** The keyset settings after the boot checks. */
export interface ResolvedKeysetOptions extends KeySetFetchOptions {
  uri: URL;
  algorithms: readonly AsymmetricAlgorithm[];
  /** Refuse to start when the first fetch fails (default), or start and answer 503 until keys load. */
  requireAtBoot: boolean;
}

type Bad = RefuseOption;

const KEYSET_DEFAULTS = DEFAULT_KEYSET_FETCH_OPTIONS;

/** The `keyset` options, as data: names, types, ranges, defaults. */
export const KEYSET_OPTIONS = {
  requireAtBoot: { type: 'boolean', default: true },
  ttlSec: { type: 'number', min: 1, max: 86_400, unit: 'seconds', default: KEYSET_DEFAULTS.ttlSec },
  timeoutMs: {
    type: 'number',
    min: 50,
    max: 30_000,
    unit: 'milliseconds',
    default: KEYSET_DEFAULTS.timeoutMs,
  },
  maxResponseBytes: {
    type: 'number',
    min: 1_024,
    max: 1_048_576,
    unit: 'bytes',
    default: KEYSET_DEFAULTS.maxResponseBytes,
  },
  cooldownSec: {
    type: 'number',
    min: 1,
    max: 3_600,
    unit: 'seconds',
    default: KEYSET_DEFAULTS.cooldownSec,
  },
  maxStaleSec: {
    type: 'number',
    min: 0,
    max: 604_800,
    unit: 'seconds',
    default: KEYSET_DEFAULTS.maxStaleSec,
  },
} as const satisfies OptionSchema;

/**
 * Checks `jwksUri`, `algorithms` and `keyset` at boot. Undefined when no `jwksUri` is set (then
 * `algorithms` and `keyset` are errors: they would silently do nothing).
 */
export function resolveKeysetOptions(
  options: { jwksUri?: unknown; algorithms?: unknown; keyset?: unknown },
  bad: Bad,
): ResolvedKeysetOptions | undefined {
  if (options.jwksUri === undefined) {
    if (options.algorithms !== undefined)
      bad('algorithms', 'needs "jwksUri": the asymmetric algorithms verify only with keyset keys.');
    if (options.keyset !== undefined) bad('keyset', 'needs "jwksUri".');
    return undefined;
  }
  const uri = checkJwksUri(options.jwksUri, bad);
  const algorithms = checkAlgorithms(options.algorithms, bad);
  const given = checkOptionGroup(options.keyset, KEYSET_OPTIONS, 'keyset', bad);
  return {
    uri,
    algorithms,
    requireAtBoot: given.requireAtBoot ?? KEYSET_OPTIONS.requireAtBoot.default,
    ttlSec: given.ttlSec ?? KEYSET_OPTIONS.ttlSec.default,
    timeoutMs: given.timeoutMs ?? KEYSET_OPTIONS.timeoutMs.default,
    maxResponseBytes: given.maxResponseBytes ?? KEYSET_OPTIONS.maxResponseBytes.default,
    cooldownSec: given.cooldownSec ?? KEYSET_OPTIONS.cooldownSec.default,
    maxStaleSec: given.maxStaleSec ?? KEYSET_OPTIONS.maxStaleSec.default,
  };
}

/** https only, except plain http to a loopback host (a JWKS served by a test or a sidecar). */
export function checkJwksUri(value: unknown, bad: Bad): URL {
  if (typeof value !== 'string' && !(value instanceof URL))
    bad('jwksUri', 'must be an https URL string.');
  let uri: URL;
  try {
    uri = new URL(String(value));
  } catch {
    return bad('jwksUri', 'is not a valid URL.');
  }
  if (uri.username !== '' || uri.password !== '') bad('jwksUri', 'must not carry credentials.');
  if (uri.protocol === 'http:' && !isLoopbackHost(uri.hostname)) {
    bad(
      'jwksUri',
      'must use https (plain http only for a loopback host such as 127.0.0.1 or localhost).',
    );
  }
  if (uri.protocol !== 'https:' && uri.protocol !== 'http:')
    bad('jwksUri', 'must be an https URL.');
  return uri;
}

export function isLoopbackHost(hostname: string): boolean {
  if (hostname === 'localhost') return true;
  const bare = hostname.startsWith('[') ? hostname.slice(1, -1) : hostname;
  if (isIP(bare) === 4) return bare.startsWith('127.');
  return isIP(bare) === 6 && bare === '::1';
}

/** The `algorithms` option: a non-empty list of asymmetric algorithms (never HS256). */
export function checkAlgorithms(value: unknown, bad: Bad): readonly AsymmetricAlgorithm[] {
  if (value === undefined) return DEFAULT_ASYMMETRIC_ALGORITHMS;
  if (!Array.isArray(value) || value.length === 0) {
    bad('algorithms', `must be a non-empty array of ${ASYMMETRIC_ALGORITHMS.join(', ')}.`);
  }
  for (const alg of value as unknown[]) {
    if (alg === 'HS256')
      bad(
        'algorithms',
        'lists HS256: HS256 is accepted with the "secret" option alone, never with keyset keys.',
      );
    if (!isAsymmetricAlgorithm(alg)) {
      bad(
        'algorithms',
        `may hold only ${ASYMMETRIC_ALGORITHMS.join(', ')} (got ${JSON.stringify(String(alg)).slice(0, 40)}).`,
      );
    }
  }
  return Object.freeze([...new Set(value as AsymmetricAlgorithm[])]);
}
