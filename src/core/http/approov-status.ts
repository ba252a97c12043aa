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
