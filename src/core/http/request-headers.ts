/** The parts of a Node request that header reading needs (IncomingMessage, Http2ServerRequest, or a test double). */
export interface HeaderSource {
  /** Name/value pairs as received, duplicates kept: [name0, value0, name1, value1, ...]. */
  rawHeaders?: readonly string[];
  /** Fallback when rawHeaders is absent; an array value means the header was repeated. */
  headers?: Readonly<Record<string, string | readonly string[] | undefined>>;
}

// Node keeps about maxHeadersCount header lines; unset, the parser's cap is 2000 rawHeaders entries.
const NODE_DEFAULT_MAX_HEADER_ENTRIES = 2000;

/**
 * True when Node may have dropped header lines: it keeps the first maxHeadersCount and silently
 * discards the rest, so a second token or signature past the cut would go unseen. Fail closed.
 */
export function headerListMayBeCut(source: HeaderSource & { socket?: unknown }): boolean {
  const raw = source.rawHeaders;
  if (raw === undefined) return false;
  // The Node connection's server, when the source is an IncomingMessage (net sets socket.server).
  const max = (
    source.socket as { server?: { maxHeadersCount?: unknown } | null } | null | undefined
  )?.server?.maxHeadersCount;
  if (max === 0) return false; // 0 lifts Node's cap: nothing is dropped
  return (
    raw.length >= (typeof max === 'number' && max > 0 ? max * 2 : NODE_DEFAULT_MAX_HEADER_ENTRIES)
  );
}

// RFC 9110 5.1: a field name is a token.
const HEADER_NAME_RE = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/** True when `name` is a valid HTTP field name (any case). */
export function isHeaderName(name: unknown): name is string {
  return typeof name === 'string' && HEADER_NAME_RE.test(name);
}

export type SingleHeader =
  { status: 'ok'; value: string } | { status: 'missing' } | { status: 'duplicate' };

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
    return value.length === 1 && value[0]!.length > 0
      ? { status: 'ok', value: value[0]! }
      : MISSING;
  }
  return value.length === 0 ? MISSING : { status: 'ok', value };
}

/**
 * All the values of a header field, in order, each trimmed (RFC 9421 2.1); null when absent.
 * Reads rawHeaders so that repeated field lines stay separate values.
 */
export function readHeaderValues(source: HeaderSource, lowerName: string): string[] | null {
  const values: string[] = [];
  const raw = source.rawHeaders;
  if (raw !== undefined) {
    for (let i = 0; i < raw.length; i += 2) {
      const name = raw[i]!;
      if (name.length === lowerName.length && name.toLowerCase() === lowerName)
        values.push((raw[i + 1] ?? '').trim());
    }
  } else {
    const value = source.headers?.[lowerName];
    if (typeof value === 'string') values.push(value.trim());
    else if (value !== undefined) for (const one of value) values.push(one.trim());
  }
  return values.length === 0 ? null : values;
}

/** A field's value as HTTP defines it: its lines trimmed and joined with ", " (RFC 9110 5.3); null when absent. */
export function readFieldValue(source: HeaderSource, lowerName: string): string | null {
  const values = readHeaderValues(source, lowerName);
  return values === null ? null : values.join(', ');
}
