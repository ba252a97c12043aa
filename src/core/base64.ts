// Strict decoders: Node's Buffer.from(s, 'base64') silently skips junk, so validate the alphabet first.

const BASE64URL_RE = /^[A-Za-z0-9_-]*$/;
const BASE64_PADDED_RE = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const BASE64URL_UNPADDED_RE = /^(?:[A-Za-z0-9_-]{4})*(?:[A-Za-z0-9_-]{2,3})?$/;

/** Decodes unpadded base64url; null when the text is not canonical (bad alphabet, bad length, stray bits). */
export function decodeBase64UrlStrict(text: string): Buffer | null {
  if (!BASE64URL_RE.test(text) || text.length % 4 === 1) return null;
  const bytes = Buffer.from(text, 'base64url');
  // Canonical means re-encoding gives the same text (rejects non-zero trailing bits).
  return bytes.toString('base64url') === text ? bytes : null;
}

/** Decodes canonical standard base64 with its `=` padding; null otherwise. */
export function decodeBase64Strict(text: string): Buffer | null {
  if (text.length % 4 !== 0 || !BASE64_PADDED_RE.test(text)) return null;
  const bytes = Buffer.from(text, 'base64');
  return bytes.toString('base64') === text ? bytes : null;
}

/**
 * Decodes base64 or base64url, padded or not, as long as the text is canonical
 * in one alphabet (no mixing of `+/` with `-_`). Null otherwise.
 */
export function decodeBase64AnyStrict(text: string): Buffer | null {
  if (text.includes('-') || text.includes('_')) {
    const unpadded = stripPadding(text);
    if (unpadded === null || !BASE64URL_UNPADDED_RE.test(unpadded)) return null;
    return decodeBase64UrlStrict(unpadded);
  }
  if (text.endsWith('=')) return decodeBase64Strict(text);
  const padded = text + '='.repeat((4 - (text.length % 4)) % 4);
  return text.length % 4 === 1 ? null : decodeBase64Strict(padded);
}

function stripPadding(text: string): string | null {
  const unpadded = text.replace(/={1,2}$/, '');
  if (unpadded !== text && text.length % 4 !== 0) return null;
  return unpadded;
}
