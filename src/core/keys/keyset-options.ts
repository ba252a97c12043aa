import { isIP } from 'node:net';
import {
  ASYMMETRIC_ALGORITHMS,
  DEFAULT_ASYMMETRIC_ALGORITHMS,
  isAsymmetricAlgorithm,
  type AsymmetricAlgorithm,
} from './algorithms.js';
import { DEFAULT_KEYSET_FETCH_OPTIONS, type KeySetFetchOptions } from './keyset.js';

/** The keyset settings after the boot checks. */
export interface ResolvedKeysetOptions extends KeySetFetchOptions {
  uri: URL;
  algorithms: readonly AsymmetricAlgorithm[];
  /** Refuse to start when the first fetch fails (default), or start and answer 503 until keys load. */
  requireAtBoot: boolean;
}

type Bad = (option: string, why: string) => never;

/** Each tuning field of the `keyset` option: its lowest and highest accepted value. */
const KEYSET_LIMITS: Readonly<Record<keyof KeySetFetchOptions, readonly [number, number]>> = {
  ttlSec: [1, 86_400],
  timeoutMs: [50, 30_000],
  maxResponseBytes: [1_024, 1_048_576],
  cooldownSec: [1, 3_600],
  maxStaleSec: [0, 604_800],
};

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

  const keyset = options.keyset ?? {};
  if (typeof keyset !== 'object' || keyset === null || Array.isArray(keyset))
    bad('keyset', 'must be an object.');
  const given = keyset as Record<string, unknown>;
  for (const name of Object.keys(given)) {
    if (name !== 'requireAtBoot' && !Object.hasOwn(KEYSET_LIMITS, name)) {
      bad(
        `keyset.${name}`,
        `is not a keyset setting (known: requireAtBoot, ${Object.keys(KEYSET_LIMITS).join(', ')}).`,
      );
    }
  }
  const requireAtBoot = given.requireAtBoot ?? true;
  if (typeof requireAtBoot !== 'boolean') bad('keyset.requireAtBoot', 'must be a boolean.');
  const fetchOptions = { ...DEFAULT_KEYSET_FETCH_OPTIONS };
  for (const [name, [min, max]] of Object.entries(KEYSET_LIMITS) as Array<
    [keyof KeySetFetchOptions, [number, number]]
  >) {
    const value = given[name];
    if (value === undefined) continue;
    if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max) {
      bad(`keyset.${name}`, `must be a number from ${min} to ${max}.`);
    }
    fetchOptions[name] = value as number;
  }
  return { uri, algorithms, requireAtBoot: requireAtBoot as boolean, ...fetchOptions };
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

function checkAlgorithms(value: unknown, bad: Bad): readonly AsymmetricAlgorithm[] {
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
