// RFC 9110 field-name: a token of visible characters other than delimiters.
const HEADER_NAME_RE = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/** True when `value` is a syntactically valid HTTP header name. */
export function isHeaderName(value: unknown): value is string {
  return typeof value === 'string' && HEADER_NAME_RE.test(value);
}
