import { parseDictionary, type Dictionary, type InnerList, type Item } from 'structured-headers';
import { decodeBase64Strict } from '../encoding/base64.js';

/**
 * True when a dictionary member is an inner list.
 * @internal Not in the typings: they must not need structured-headers' types, which `module: commonjs` cannot resolve.
 */
export function isInnerList(member: Item | InnerList): member is InnerList {
  return Array.isArray(member[0]);
}

/**
 * Parses an RFC 8941 dictionary, and also refuses one that names a key twice (the RFC keeps the
 * last value silently, and a member that an intermediary and this server read differently is a
 * way around the signature) or holds a byte sequence in non-canonical base64 (the parser accepts
 * missing padding and stray bits, so one signature could be written several ways).
 * Null when the value does not parse or breaks either rule.
 * @internal Not in the typings: they must not need structured-headers' types, which `module: commonjs` cannot resolve.
 */
export function parseDictionaryStrict(value: string): Dictionary | null {
  const parsed = parseDictionaryTracked(value);
  return parsed !== null && parsed.nonCanonical.size === 0 ? parsed.dictionary : null;
}

/**
 * parseDictionaryStrict for a field whose members are read one by one: a repeated key still
 * refuses the whole field (it would hide which member is meant), but a member holding
 * non-canonical base64 is only named in `nonCanonical`, for the reader of that member to refuse,
 * so another party's member cannot fail this one.
 * @internal Not in the typings: they must not need structured-headers' types, which `module: commonjs` cannot resolve.
 */
export function parseDictionaryTracked(
  value: string,
): { dictionary: Dictionary; nonCanonical: ReadonlySet<string> } | null {
  let dictionary: Dictionary;
  try {
    dictionary = parseDictionary(value);
  } catch {
    return null;
  }
  const scan = scanDictionary(value);
  if (scan.members !== dictionary.size) return null;
  if (scan.nonCanonical.length === 0) return { dictionary, nonCanonical: NONE };
  const keys = [...dictionary.keys()];
  return { dictionary, nonCanonical: new Set(scan.nonCanonical.map((index) => keys[index]!)) };
}

const NONE: ReadonlySet<string> = new Set();

// What may precede an item: a member or parameter `=`, an inner list's `(` or its separating space.
const BYTES_OPENER = new Set(['=', '(', ' ', '\t']);

/**
 * Counts the top-level members of a dictionary the parser already accepted, by its commas outside
 * strings and inner lists, and lists the members (by index) holding a byte sequence that is not
 * canonical base64. Not a parser. In a string a backslash escapes the next character; in a
 * display string (`%"..."`, RFC 9651) it is a literal, and `"` always ends it.
 */
function scanDictionary(value: string): { members: number; nonCanonical: number[] } {
  const nonCanonical: number[] = [];
  if (value.trim().length === 0) return { members: 0, nonCanonical };
  let members = 1;
  let inString = false;
  let escapes = false;
  let depth = 0;
  for (let i = 0; i < value.length; i++) {
    const c = value[i];
    if (inString) {
      if (escapes && c === '\\') i++;
      else if (c === '"') inString = false;
    } else if (c === '"') {
      inString = true;
      // Outside strings `%` before a quote can only open a display string (the parser accepted it).
      escapes = value[i - 1] !== '%';
    } else if (c === ':' && BYTES_OPENER.has(value[i - 1] ?? '=')) {
      // A colon opens a byte sequence where an item starts; inside a token it is a plain character.
      const end = value.indexOf(':', i + 1);
      if (
        decodeBase64Strict(value.slice(i + 1, end)) === null &&
        nonCanonical.at(-1) !== members - 1
      )
        nonCanonical.push(members - 1);
      i = end;
    } else if (c === '(') depth++;
    else if (c === ')') depth--;
    else if (c === ',' && depth === 0) members++;
  }
  return { members, nonCanonical };
}
