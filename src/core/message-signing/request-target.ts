import { readHeaderValues, readSingleHeader, type HeaderSource } from '../http/request-headers.js';

/** What message-signature verification needs of a request, on any framework. */
export interface SignedRequestSource extends HeaderSource {
  /** The method, as received. */
  method: string;
  /** The request-target exactly as received: Node's raw `req.url`, before any rewrite. */
  target: string;
  /** True when the connection to this server is TLS. */
  encrypted: boolean;
  /** The body bytes as received; undefined when the framework did not keep them (no `rawBody`). */
  rawBody?: Buffer;
  /**
   * True while the body is not had yet (signatures are checked before it is read): a covered
   * Content-Digest then fails with `rawBodyUnavailable`, even when no body framing was seen.
   */
  bodyPending?: boolean;
}

/** The URI parts RFC 9421 2.2 derives components from. */
export interface RequestTargetParts {
  /** `http` or `https`, lower case. */
  scheme: string;
  /** host[:port], host lower-cased, default port dropped (RFC 9110 4.2.3). */
  authority: string;
  /** host[:port] exactly as received (case and an explicit default port kept): what a client may have signed. */
  receivedAuthority: string;
  /** The request-target as received (origin-form). */
  requestTarget: string;
  /** The path as received, `/` when empty; percent-encoding kept. */
  path: string;
  /** `?` and the query as received; `?` alone when there is none (RFC 9421 2.2.7). */
  query: string;
  /** scheme://authority + request-target: the target URI (RFC 9110 7.1). */
  targetUri: string;
}

// host (reg-name, IPv4 or [IPv6]) and an optional port: what a Host header may hold (RFC 9110 7.2).
// eslint-disable-next-line security/detect-unsafe-regex -- linear: one repeat per alternative, and ':' ends the host
const AUTHORITY_RE = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9\-._~!$&'()*+,;=%]+)(?::(\d{0,5}))?$/;
// A request-target in origin-form: no spaces, controls or fragment; Node has already rejected worse.
const ORIGIN_FORM_RE = /^\/[\x21-\x7e]*$/;
const DEFAULT_PORTS: Readonly<Record<string, string>> = { http: '80', https: '443' };

/**
 * Rebuilds the target URI of a request from its scheme, Host header and raw request-target.
 * With a fixed `origin`, the scheme and host are its own. With `trustProxy`, they come from `Forwarded` (first element), else from
 * `X-Forwarded-Proto` / `X-Forwarded-Host` (leftmost value), when present.
 * Returns null when the parts are missing or malformed; never throws.
 */
export function resolveRequestTarget(
  request: SignedRequestSource,
  trustProxy: boolean,
  origin: { scheme: string; authority: string } | null = null,
): RequestTargetParts | null {
  // Only origin-form (/path?query) is rebuilt; absolute-form and `*` are proxy business.
  if (!ORIGIN_FORM_RE.test(request.target) || request.target.includes('#')) return null;

  let scheme: string | undefined = request.encrypted ? 'https' : 'http';
  let host: string | undefined;
  if (origin !== null) {
    scheme = origin.scheme;
    host = origin.authority;
  } else if (trustProxy) {
    const forwarded = readForwarded(request);
    if (forwarded === null) return null;
    const proto = forwarded.proto ?? leftmost(request, 'x-forwarded-proto');
    if (proto === null) return null;
    if (proto !== undefined) scheme = proto.toLowerCase();
    const forwardedHost = forwarded.host ?? leftmost(request, 'x-forwarded-host');
    if (forwardedHost === null) return null;
    host = forwardedHost;
  }
  if (scheme !== 'http' && scheme !== 'https') return null;
  if (host === undefined) {
    let header = readSingleHeader(request, 'host');
    // HTTP/2 carries the authority in a pseudo-header instead of Host.
    if (header.status === 'missing') header = readSingleHeader(request, ':authority');
    if (header.status !== 'ok') return null;
    host = header.value.trim();
  }
  const authority = normalizeAuthority(host, scheme);
  if (authority === null) return null;

  const queryStart = request.target.indexOf('?');
  const path = queryStart === -1 ? request.target : request.target.slice(0, queryStart);
  const query = queryStart === -1 ? '?' : request.target.slice(queryStart);
  return {
    scheme,
    authority,
    receivedAuthority: host,
    requestTarget: request.target,
    path: path.length === 0 ? '/' : path,
    query,
    targetUri: `${scheme}://${authority}${request.target}`,
  };
}

/** The same parts with the authority as received, or null when that is already the normalised one. */
export function withReceivedAuthority(parts: RequestTargetParts): RequestTargetParts | null {
  if (parts.receivedAuthority === parts.authority) return null;
  const authority = parts.receivedAuthority;
  return { ...parts, authority, targetUri: `${parts.scheme}://${authority}${parts.requestTarget}` };
}

/** Lower-cases the host and drops the scheme's default port (and an empty port). */
export function normalizeAuthority(host: string, scheme: string): string | null {
  const match = AUTHORITY_RE.exec(host);
  if (match === null) return null;
  const name = match[1]!.toLowerCase();
  const port = match[2];
  return port === undefined || port === '' || port === DEFAULT_PORTS[scheme]
    ? name
    : `${name}:${port}`;
}

/** The leftmost comma-separated value of a proxy header: undefined when absent, null when unusable. */
function leftmost(request: HeaderSource, name: string): string | undefined | null {
  const header = readSingleHeader(request, name);
  if (header.status === 'missing') return undefined;
  if (header.status === 'duplicate') return null;
  const value = header.value.split(',')[0]!.trim();
  return value.length === 0 ? null : value;
}

const FORWARDED_PAIR_RE =
  /^\s*([A-Za-z]+)=(?:"((?:[^"\\]|\\.)*)"|([!#$%&'*+\-.^_`|~0-9A-Za-z]+))\s*(;|,|$)/;

/**
 * The `proto` and `host` of the first element of a `Forwarded` header (RFC 7239 4): the element
 * the proxy closest to the client wrote. Null when the header is repeated or does not parse.
 */
function readForwarded(request: HeaderSource): { proto?: string; host?: string } | null {
  const header = readSingleHeader(request, 'forwarded');
  if (header.status === 'missing') return {};
  if (header.status === 'duplicate') return null;
  const found: { proto?: string; host?: string } = {};
  let rest = header.value;
  while (rest.trim().length > 0) {
    const pair = FORWARDED_PAIR_RE.exec(rest);
    if (pair === null) return null;
    const name = pair[1]!.toLowerCase();
    const value = pair[2] !== undefined ? pair[2].replace(/\\(.)/g, '$1') : pair[3]!;
    if (name === 'proto' || name === 'host') {
      if (found[name] !== undefined) return null;
      found[name] = value;
    }
    if (pair[4] !== ';') break; // end of the first element
    rest = rest.slice(pair[0].length);
  }
  return found;
}

/** True when the request carries a body: kept body bytes, or a framing header announcing one. */
export function requestHasBody(request: SignedRequestSource): boolean {
  if (request.rawBody !== undefined) return request.rawBody.length > 0;
  if (readHeaderValues(request, 'transfer-encoding') !== null) return true;
  const length = readHeaderValues(request, 'content-length');
  return length !== null && length.some((value) => value !== '0');
}
