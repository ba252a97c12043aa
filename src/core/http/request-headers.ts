/** The parts of a Node request that header reading needs (IncomingMessage, Http2ServerRequest, or a test double). */
export interface HeaderSource {
  /** Name/value pairs as received, duplicates kept: [name0, value0, name1, value1, ...]. */
  rawHeaders?: readonly string[];
  /** Fallback when rawHeaders is absent; an array value means the header was repeated. */
  headers?: Readonly<Record<string, string | readonly string[] | undefined>>;
}

// RFC 9110 5.1: a field name is a token.
const HEADER_NAME_RE = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/** True when `name` is a valid HTTP field name (any case). */
export function isHeaderName(name: unknown): name is string {
  return typeof name === 'string' && HEADER_NAME_RE.test(name);
}

export type SingleHeader = { status: 'ok'; value: string } | { status: 'missing' } | { status: 'duplicate' };

const MISSING: SingleHeader = { status: 'missing' };
const DUPLICATE: SingleHeader = { status: 'duplicate' };

/**
 * Reads a header that must appear exactly once with a non-empty value. Scans rawHeaders because
 * Node merges repeats of unknown headers with ", " and silently drops repeats of Authorization.
 * `lowerName` must already be lower case.
 */
export function readSingleHeader(source: HeaderSource, lowerName: string): SingleHeader {
  const raw = source.rawHeaders;
  if (raw !== undefined) {
    let found: string | undefined;
    for (let i = 0; i < raw.length; i += 2) {
      const name = raw[i]!;
      if (name.length === lowerName.length && name.toLowerCase() === lowerName) {
        if (found !== undefined) return DUPLICATE;
        found = raw[i + 1] ?? '';
      }
    }
    return found === undefined || found.length === 0 ? MISSING : { status: 'ok', value: found };
  }
  const value = source.headers?.[lowerName];
  if (value === undefined) return MISSING;
  if (typeof value !== 'string') {
    if (value.length > 1) return DUPLICATE;
    return value.length === 1 && value[0]!.length > 0 ? { status: 'ok', value: value[0]! } : MISSING;
  }
  return value.length === 0 ? MISSING : { status: 'ok', value };
}
