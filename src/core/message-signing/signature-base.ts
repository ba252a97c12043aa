import { serializeString } from 'structured-headers';
import type { PublicOrigin } from './options.js';
import { readFieldValue } from '../http/request-headers.js';
import {
  resolveRequestTarget,
  type RequestTargetParts,
  type SignedRequestSource,
} from './request-target.js';

/**
 * The value of one covered component (RFC 9421 2.1, 2.2): a derived component from the target
 * parts, or a header field's values trimmed and joined with ", ". Null when it cannot be built.
 */
export type ComponentResolver = (name: string) => string | null;

/**
 * A derived component (RFC 9421 2.2, request side) from the method and the target parts; null
 * for a name that is not one. The one implementation the verifier and the test signer share.
 */
export function derivedComponentValue(
  name: string,
  method: string,
  target: RequestTargetParts | null,
): string | null {
  if (name === '@method') return method;
  if (target === null) return null;
  switch (name) {
    case '@target-uri':
      return target.targetUri;
    case '@authority':
      return target.authority;
    case '@scheme':
      return target.scheme;
    case '@request-target':
      return target.requestTarget;
    case '@path':
      return target.path;
    case '@query':
      return target.query;
    default:
      return null;
  }
}

/**
 * A resolver over a received request. `target` is given when already resolved (the verifier tries
 * the authority as received, then normalised); otherwise it is built lazily, once.
 */
export function requestComponentResolver(
  request: SignedRequestSource,
  trustProxy: boolean,
  target?: RequestTargetParts | null,
  origin: PublicOrigin | null = null,
): ComponentResolver {
  let parts = target;
  return (name) => {
    if (name.startsWith('@')) {
      if (name !== '@method' && parts === undefined)
        parts = resolveRequestTarget(request, trustProxy, origin);
      return derivedComponentValue(name, request.method, parts ?? null);
    }
    return readFieldValue(request, name);
  };
}

/**
 * The signature base (RFC 9421 2.5): one `"name": value` line per covered component, in order,
 * then the `"@signature-params"` line. Null when a component is missing or cannot be built.
 */
export function buildSignatureBase(
  components: readonly string[],
  resolve: ComponentResolver,
  signatureParams: string,
): string | null {
  let base = '';
  for (const name of components) {
    const value = resolve(name);
    // A newline in a value would let one component forge the next line of the base.
    if (value === null || /[\r\n]/.test(value)) return null;
    base += `${serializeString(name)}: ${value}\n`;
  }
  return `${base}"@signature-params": ${signatureParams}`;
}
