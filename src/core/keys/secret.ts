import { createSecretKey, timingSafeEqual, type KeyObject } from 'node:crypto';
import { decodeBase64AnyStrict } from '../encoding/base64.js';
import { ApproovConfigurationError } from '../errors.js';
import { isKeyId } from './key-id.js';

export const SECRET_ENV_VARIABLES = ['APPROOV_BASE64_SECRET', 'APPROOV_BASE64URL_SECRET'] as const;

/** RFC 7518 3.2: an HS256 key must be at least as long as the hash output. */
export const MIN_SECRET_BYTES = 32;

const PLACEHOLDERS = new Set(['approov_base64_secret_here', 'approov_base64url_secret_here']);

export interface SecretSource {
  /** The raw value(s), exactly as configured. */
  value: unknown;
  /** The option or environment variable it came from, for error messages. */
  setting: string;
}

/**
 * Picks the secret: the `secret` option when given, else APPROOV_BASE64_SECRET, else
 * APPROOV_BASE64URL_SECRET. A variable that is set but empty is an error, not a fall-through.
 */
export function resolveSecretSource(
  option: unknown,
  env: Readonly<Record<string, string | undefined>> = process.env,
): SecretSource {
  if (option !== undefined && option !== null) return { value: option, setting: 'secret option' };
  for (const name of SECRET_ENV_VARIABLES) {
    if (env[name] !== undefined) return { value: env[name], setting: name };
  }
  throw new ApproovConfigurationError(
    `Approov secret is missing: set the ApproovModule "secret" option, or the ${SECRET_ENV_VARIABLES.join(
      ' or ',
    )} environment variable (get it with: approov secret -get base64).`,
  );
}

/**
 * Parses one or several (rotation) base64/base64url secrets into HMAC KeyObjects, once, at boot.
 * Fails closed with an ApproovConfigurationError naming the setting; never echoes the value.
 */
export function parseApproovSecrets(source: SecretSource): KeyObject[] {
  return parseApproovSecretEntries(source).map((entry) => entry.key);
}

/** A parsed secret and the key id (`kid`) that selects it, when configured with one. */
export interface ParsedSecret {
  kid?: string;
  key: KeyObject;
}

/**
 * parseApproovSecrets, also accepting `{ kid, value }` entries (`approov secret -setKeyID`): a
 * token's `kid` then picks its secret. Ids must be unique non-empty strings.
 */
export function parseApproovSecretEntries(source: SecretSource): ParsedSecret[] {
  const { value, setting } = source;
  const values = Array.isArray(value) ? value : [value];
  if (values.length === 0) {
    throw new ApproovConfigurationError(
      `Approov ${setting} is an empty list: give at least one secret.`,
    );
  }
  const seen = new Set<string>();
  return values.map((entry, index) => {
    const name = values.length > 1 ? `${setting}[${index}]` : setting;
    if (typeof entry !== 'object' || entry === null) return { key: parseOneSecret(entry, name) };
    const { kid, value: secret } = entry as { kid?: unknown; value?: unknown };
    if (!isKeyId(kid)) {
      throw new ApproovConfigurationError(
        `Approov ${name}.kid must be a non-empty string (the secret's key id).`,
      );
    }
    if (seen.has(kid))
      throw new ApproovConfigurationError(`Approov ${name}.kid repeats another secret's id.`);
    seen.add(kid);
    return { kid, key: parseOneSecret(secret, `${name}.value`) };
  });
}

function parseOneSecret(entry: unknown, setting: string): KeyObject {
  const fail = (why: string): never => {
    throw new ApproovConfigurationError(`Approov ${setting} ${why}`);
  };
  if (typeof entry !== 'string') return fail('must be a base64 or base64url string.');
  if (entry.length === 0) return fail('is empty.');
  if (PLACEHOLDERS.has(entry.trim().toLowerCase())) {
    return fail(
      'is still the quickstart placeholder: set the real secret (approov secret -get base64).',
    );
  }
  if (entry.includes('-----BEGIN') || entry.trimStart().startsWith('{')) {
    return fail(
      'looks like a PEM or JWK key: Approov uses the base64 symmetric secret (approov secret -get base64).',
    );
  }
  if (/\s/.test(entry)) return fail('contains whitespace: give the base64 text alone.');
  const bytes = decodeBase64AnyStrict(entry);
  if (bytes === null) return fail('is not canonical base64 or base64url.');
  if (bytes.length < MIN_SECRET_BYTES) {
    return fail(
      `decodes to ${bytes.length} bytes: an HS256 secret needs at least ${MIN_SECRET_BYTES} (RFC 7518 3.2).`,
    );
  }
  // A key of one byte repeated (all zeros, say) is a placeholder or a bug, not a secret.
  if (bytes.every((byte) => byte === bytes[0])) {
    return fail(
      'is one byte repeated (all zeros, say): not a real secret (approov secret -get base64).',
    );
  }
  return createSecretKey(bytes);
}

/** True when two HMAC keys are the same bytes (compared in constant time). */
export function sameSecretKey(a: KeyObject, b: KeyObject): boolean {
  const left = a.export();
  const right = b.export();
  return left.length === right.length && timingSafeEqual(left, right);
}
