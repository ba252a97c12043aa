import { MAX_CLOCK_TOLERANCE_SEC } from '../clock.js';
import { isHeaderName } from '../http/request-headers.js';
import {
  checkOptionGroup,
  type OptionSchema,
  type RefuseOption,
} from '../options/option-schema.js';
import { normalizeAuthority } from './request-target.js';

/** The signature labels Approov's SDKs sign under: the installation key (ECDSA) and the account key (HMAC). */
export type ApproovSignatureLabel = 'install' | 'account';
export const APPROOV_SIGNATURE_LABELS: readonly ApproovSignatureLabel[] = Object.freeze([
  'install',
  'account',
]);

/** Options of message signing, at module level (`messageSigning`) and per route. */
export interface ApproovMessageSigningOptions {
  /**
   * The signatures that can vouch for a request: `install` (ECDSA P-256, key in the token's `ipk`)
   * and `account` (`hmac-sha256` with the module's `messageSigningKey`). A signature of an accepted
   * label that is present must verify; see `match` for how many must be present. Default `['install']`.
   */
  accept?: ApproovSignatureLabel[];
  /** `'any'` (default): one accepted signature that verifies is enough. `'all'`: every accepted label must be present and verify. */
  match?: 'any' | 'all';
  /**
   * Require a token with an `ipk` claim (an installation key, and so a signed request). Default
   * false: a token without `ipk`, as Approov's failover service issues, passes; a token with
   * `ipk` must still come with a valid signature.
   */
  requireInstallationKey?: boolean;
  /** Oldest accepted `created`, in seconds before now, 1 to 3600. Default 60. */
  maxAgeSec?: number;
  /**
   * Components the signature must cover. Default `['@method', '@target-uri', '<token header>']`
   * (the token header lower-cased, `approov-token` unless the `header` option says otherwise).
   */
  requiredComponents?: string[];
  /**
   * Require `content-digest` to be covered when the request has a body. Default false, because the
   * SDKs do not cover it by default (iOS never, Android not for streamed bodies): the body is then not
   * protected by the signature. When `content-digest` is covered it is always checked against the body.
   */
  requireContentDigest?: boolean;
  /**
   * Rebuild `@target-uri`, `@scheme` and `@authority` from `Forwarded`, else `X-Forwarded-Proto`
   * and `X-Forwarded-Host` (leftmost value). Only behind a proxy that overwrites these headers.
   * Default false: the connection's scheme and the `Host` header.
   */
  trustProxy?: boolean;
  /**
   * The public origin clients send their requests to (`'https://api.example.com'`), for a server
   * behind a TLS-terminating proxy: `@target-uri`, `@scheme` and `@authority` are built from it,
   * whatever the connection and the `Host` header say. Trusts no client header; when set, `trustProxy` is not used.
   */
  origin?: string;
  /**
   * Leeway in seconds for `created` and `expires`, 0 to 300. Default 10 (or the module's
   * `clockToleranceSec` when larger): phones sign with their own clock, which often runs a few
   * seconds off, and a signature stamped slightly in the future is no easier to replay.
   */
  clockToleranceSec?: number;
  /**
   * Serve the same signed request again while its signature can still pass. Default false: a
   * second sighting is refused (401 `signature_replayed`). `true` lets a captured request be sent
   * again until it expires: only for idempotent routes whose replay does no harm.
   */
  allowReplays?: boolean;
}

/** Every option settled: what the verifier reads per request. */
export interface ResolvedMessageSigningOptions {
  readonly accept: readonly ApproovSignatureLabel[];
  readonly match: 'any' | 'all';
  readonly requireInstallationKey: boolean;
  readonly maxAgeSec: number;
  readonly requiredComponents: readonly string[];
  readonly requireContentDigest: boolean;
  readonly trustProxy: boolean;
  /** The `origin` option, split: scheme and normalised authority; null when not set. */
  readonly origin: PublicOrigin | null;
  readonly clockToleranceSec: number;
  readonly allowReplays: boolean;
}

/** A fixed public origin: scheme and authority (host lower-cased, default port dropped). */
export interface PublicOrigin {
  readonly scheme: 'http' | 'https';
  readonly authority: string;
}

export const DEFAULT_SIGNATURE_MAX_AGE_SEC = 60;
export const MAX_SIGNATURE_MAX_AGE_SEC = 3600;
/** Default leeway for a client's clock on `created` and `expires`. */
export const DEFAULT_SIGNATURE_CLOCK_TOLERANCE_SEC = 10;

/** The derived components this verifier can rebuild (RFC 9421 2.2, request side). */
export const SUPPORTED_DERIVED_COMPONENTS: readonly string[] = Object.freeze([
  '@method',
  '@target-uri',
  '@authority',
  '@scheme',
  '@request-target',
  '@path',
  '@query',
]);

// RFC 9421 2.1: a field's component name is its lower-cased field name.
/** True when `name` is a component this verifier can rebuild: a supported derived one or a field. */
export function isSupportedComponentName(name: string): boolean {
  return name.startsWith('@')
    ? SUPPORTED_DERIVED_COMPONENTS.includes(name)
    : isHeaderName(name) && name === name.toLowerCase();
}

/**
 * The message-signing options (module-level `messageSigning` and `@ApproovMessageSigning()`), as
 * data: names, types, ranges, defaults. `requiredComponents` defaults to `@method`, `@target-uri`
 * and the token header; `clockToleranceSec` to 10 s or the module's tolerance when larger.
 */
export const MESSAGE_SIGNING_OPTIONS = {
  accept: { type: 'custom', default: ['install'] },
  match: { type: 'oneOf', values: ['any', 'all'], default: 'any' },
  requireInstallationKey: { type: 'boolean', default: false },
  maxAgeSec: {
    type: 'number',
    min: 1,
    max: MAX_SIGNATURE_MAX_AGE_SEC,
    unit: 'seconds',
    default: DEFAULT_SIGNATURE_MAX_AGE_SEC,
  },
  requiredComponents: { type: 'custom' },
  requireContentDigest: { type: 'boolean', default: false },
  trustProxy: { type: 'boolean', default: false },
  origin: { type: 'custom' },
  clockToleranceSec: {
    type: 'number',
    min: 0,
    max: MAX_CLOCK_TOLERANCE_SEC,
    unit: 'seconds',
    default: DEFAULT_SIGNATURE_CLOCK_TOLERANCE_SEC,
  },
  allowReplays: { type: 'boolean', default: false },
} as const satisfies OptionSchema &
  Record<keyof ApproovMessageSigningOptions, OptionSchema[string]>;

/**
 * Checks a partial options object (module-level or a decorator's) and returns a frozen copy of
 * the fields that were given. `fail` receives the option path and why it is wrong, and throws.
 */
export function checkMessageSigningOptions(
  value: unknown,
  where: string,
  fail: RefuseOption,
): Readonly<ApproovMessageSigningOptions> {
  const given = checkOptionGroup(value, MESSAGE_SIGNING_OPTIONS, where, fail);
  const checked: ApproovMessageSigningOptions = {};
  for (const name of [
    'requireInstallationKey',
    'requireContentDigest',
    'trustProxy',
    'allowReplays',
    'maxAgeSec',
    'clockToleranceSec',
    'match',
  ] as const) {
    if (given[name] !== undefined) (checked as Record<string, unknown>)[name] = given[name];
  }
  if (given.origin !== undefined) {
    if (parseOrigin(given.origin) === null) {
      fail(
        `${where}.origin`,
        `must be an http or https origin such as 'https://api.example.com' (no path, query or credentials).`,
      );
    }
    if (given.trustProxy === true)
      fail(`${where}.origin`, 'and trustProxy exclude each other: the origin is already fixed.');
    checked.origin = given.origin as string;
  }
  if (given.accept !== undefined) {
    const list = given.accept;
    if (
      !Array.isArray(list) ||
      list.length === 0 ||
      list.some((label) => !APPROOV_SIGNATURE_LABELS.includes(label))
    ) {
      fail(
        `${where}.accept`,
        `must be a non-empty array of ${APPROOV_SIGNATURE_LABELS.map((l) => `'${l}'`).join(', ')}.`,
      );
    }
    checked.accept = Object.freeze([
      ...new Set(list as ApproovSignatureLabel[]),
    ]) as ApproovSignatureLabel[];
  }
  if (given.requiredComponents !== undefined) {
    const list = given.requiredComponents;
    if (!Array.isArray(list) || list.length === 0) {
      fail(`${where}.requiredComponents`, 'must be a non-empty array of component names.');
    }
    for (const name of list as unknown[]) {
      if (typeof name !== 'string' || !isSupportedComponentName(name)) {
        fail(
          `${where}.requiredComponents`,
          `contains "${String(name)}": use lower-case header names or one of ${SUPPORTED_DERIVED_COMPONENTS.join(', ')}.`,
        );
      }
    }
    checked.requiredComponents = Object.freeze([...new Set(list as string[])]) as string[];
  }
  return Object.freeze(checked);
}

/**
 * Settles the options: built-in defaults, then each layer in turn (module-level, then the
 * route's), a later layer overriding field by field. Layers must already be checked.
 */
export function resolveMessageSigningOptions(
  tokenHeader: string,
  moduleClockToleranceSec: number,
  ...layers: readonly Readonly<ApproovMessageSigningOptions>[]
): ResolvedMessageSigningOptions {
  const merged: ApproovMessageSigningOptions = Object.assign({}, ...layers);
  const defaults = MESSAGE_SIGNING_OPTIONS;
  return Object.freeze({
    accept: Object.freeze([...(merged.accept ?? defaults.accept.default)]),
    match: merged.match ?? defaults.match.default,
    requireInstallationKey:
      merged.requireInstallationKey ?? defaults.requireInstallationKey.default,
    maxAgeSec: merged.maxAgeSec ?? defaults.maxAgeSec.default,
    requiredComponents: Object.freeze([
      ...(merged.requiredComponents ?? ['@method', '@target-uri', tokenHeader.toLowerCase()]),
    ]),
    requireContentDigest: merged.requireContentDigest ?? defaults.requireContentDigest.default,
    trustProxy: merged.trustProxy ?? defaults.trustProxy.default,
    origin: merged.origin === undefined ? null : parseOrigin(merged.origin),
    clockToleranceSec:
      merged.clockToleranceSec ??
      Math.max(defaults.clockToleranceSec.default, moduleClockToleranceSec),
    allowReplays: merged.allowReplays ?? defaults.allowReplays.default,
  });
}

/** Splits an origin (`https://api.example.com[:port]`) into scheme and normalised authority; null when it is not one. */
export function parseOrigin(value: unknown): PublicOrigin | null {
  if (typeof value !== 'string') return null;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return null;
  }
  const scheme = url.protocol.slice(0, -1);
  if (scheme !== 'http' && scheme !== 'https') return null;
  if (
    url.username !== '' ||
    url.password !== '' ||
    url.search !== '' ||
    url.hash !== '' ||
    url.pathname !== '/'
  )
    return null;
  const authority = normalizeAuthority(url.host, scheme);
  return authority === null ? null : { scheme, authority };
}
