import { readSingleHeader, type HeaderSource } from './request-headers.js';

/** The header Approov's SDKs (Android 3.7 and later) send with the outcome of fetching a token. */
export const APPROOV_STATUS_HEADER = 'approov-status';

// The SDKs send short lower-case words (`success`, `no_network`, `mitm_detected`...); anything
// else is reported as 'invalid', so a client cannot write into log lines or metrics labels.
const APPROOV_STATUS_RE = /^[a-z][a-z0-9_]{0,31}$/;

/**
 * The request's `Approov-Status`, sanitised: the value when it is a short lower-case word,
 * 'invalid' when it is anything else or repeated, undefined when absent. Case-folded first, as the
 * SDKs' own spelling is lower case and a proxy may not keep it.
 */
export function readApproovStatus(source: HeaderSource): string | undefined {
  const header = readSingleHeader(source, APPROOV_STATUS_HEADER);
  if (header.status === 'missing') return undefined;
  if (header.status === 'duplicate') return 'invalid';
  const value = header.value.trim().toLowerCase();
  return APPROOV_STATUS_RE.test(value) ? value : 'invalid';
}

/**
 * The statuses an SDK writes in the token header itself when it has no token (the token-header
 * status mode of Android SDK 3.5.6): the SDK's fetch statuses other than success, lower-cased.
 * Only these are read back from a token header, so nothing else a client puts there is logged.
 */
export const TOKEN_HEADER_STATUSES: ReadonlySet<string> = new Set([
  'bad_key',
  'bad_payload',
  'bad_url',
  'disabled',
  'internal_error',
  'mitm_detected',
  'missing_lib_dependency',
  'no_approov_service',
  'no_network',
  'no_network_permission',
  'not_initialized',
  'poor_network',
  'rejected',
  'unknown_key',
  'unknown_url',
  'unprotected_url',
]);
// Longer than every status: a token (hundreds of characters) is never lower-cased to be looked up.
const MAX_TOKEN_HEADER_STATUS_LENGTH = 32;

/** The SDK status a token header holds instead of a token, lower-cased; undefined for anything else. */
export function tokenHeaderStatus(value: string): string | undefined {
  if (value.length > MAX_TOKEN_HEADER_STATUS_LENGTH) return undefined;
  const status = value.trim().toLowerCase();
  return TOKEN_HEADER_STATUSES.has(status) ? status : undefined;
}

/** The SDK status the request's token header (`lowerName`) holds in place of a token, if it does. */
export function readTokenHeaderStatus(source: HeaderSource, lowerName: string): string | undefined {
  const header = readSingleHeader(source, lowerName);
  return header.status === 'ok' ? tokenHeaderStatus(header.value) : undefined;
}

/**
 * Checks a list of statuses a route or the module lets through without a token: short lower-case
 * words, never `success` (a client with a token has no reason to send it without one).
 */
export function checkApproovStatusList(
  value: unknown,
  fail: (why: string) => never,
): readonly string[] {
  if (!Array.isArray(value)) return fail('must be an array of Approov-Status values.');
  for (const status of value as unknown[]) {
    if (typeof status !== 'string' || !APPROOV_STATUS_RE.test(status)) {
      fail(
        `contains "${String(status)}": Approov-Status values are short lower-case words such as 'no_network'.`,
      );
    }
    if (status === 'success')
      fail(`must not contain 'success': a client that got a token sends it.`);
  }
  return Object.freeze([...new Set(value as string[])]);
}
