import {
  createHmac,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  sign,
  type KeyObject,
} from 'node:crypto';
import { serializeDictionary, serializeInnerList, type Item } from 'structured-headers';
import { decodeBase64AnyStrict } from '../core/encoding/base64.js';
import { APPROOV_SIGNATURE_ALGORITHM } from '../core/message-signing/installation-keys.js';
import { ACCOUNT_SIGNATURE_ALGORITHM } from '../core/message-signing/account-keys.js';
import { APPROOV_SIGNATURE_LABEL } from '../core/message-signing/signature-fields.js';
import {
  buildSignatureBase,
  derivedComponentValue,
  type ComponentResolver,
} from '../core/message-signing/signature-base.js';
import { createContentDigest } from '../core/message-signing/content-digest.js';
import {
  normalizeAuthority,
  type RequestTargetParts,
} from '../core/message-signing/request-target.js';

export interface SignApproovRequestOptions {
  /** `install` (default): ECDSA with `privateKey`. `account`: `hmac-sha256` with `accountKey`. */
  label?: 'install' | 'account';
  /** The installation private key (label `install`): a KeyObject, PEM text, or PKCS#8 / SEC1 DER (bytes or base64). */
  privateKey?: KeyObject | string | Buffer;
  /** The account message-signing key (label `account`): base64 / base64url text or its bytes. */
  accountKey?: string | Buffer;
  /**
   * Sign what an SDK covers by default: `android` (3.5.8 and later: sf-binary; after the token,
   * `approov-traceid`, `approov-status`, `authorization`, `content-length`, `content-type` when
   * sent, then `content-digest` on bodies; see `sdkVersion` for earlier ones) or `ios` (sf-binary,
   * no `content-digest`). Without it: the Android set in sf-binary form.
   */
  sdk?: 'android' | 'ios';
  /**
   * The Android SDK version (`'3.5.6'`), with `sdk: 'android'`. Before 3.5.8 the signature is an
   * sf-string and `authorization` comes before `approov-traceid` / `approov-status`. Default: the
   * latest behaviour.
   */
  sdkVersion?: string;
  /** Cover a Content-Digest of the body (Android skips it for streamed bodies). Default true, false for `sdk: 'ios'`. */
  contentDigest?: boolean;
  /** The authority as the client writes it in Host (case, explicit default port). Default: the URL's, normalised. */
  authority?: string;
  /** The request method, as sent. */
  method: string;
  /** The absolute URL the request goes to, as the client sends it. */
  url: string | URL;
  /** The Approov token the request carries. */
  token: string;
  /** The body, as sent. A Content-Digest (sha-256) is made for it and covered. */
  body?: string | Buffer | Uint8Array;
  /** Other headers the request sends; `authorization`, `content-length` and `content-type` are covered when given. */
  headers?: Readonly<Record<string, string>>;
  /**
   * The covered components, in order. Default, as the Android SDK signs: `@method`, `@target-uri`,
   * the token header, then `authorization`, `content-length`, `content-type`, `content-digest` when present.
   */
  components?: readonly string[];
  /** `created`, seconds since the epoch. Default now. */
  created?: number;
  /** `expires`, seconds since the epoch; null leaves it out. Default created + 15, as the SDK does. */
  expires?: number | null;
  /**
   * A `nonce` parameter (RFC 9421 2.3), covered by the signature. The SDKs send none; a client
   * that does makes each request its own for replay protection, even an `account` one.
   */
  nonce?: string;
  /** The `alg` parameter. Default 'ecdsa-p256-sha256'; change it only for negative tests. */
  alg?: string;
  /** `binary` (iOS, Android 3.5.8 and later: `:<base64>:`) or `string` (Android before 3.5.8: `"<base64>"`). Default: the `sdk`'s form, else binary. */
  signatureForm?: 'binary' | 'string';
  /** Content-Digest algorithm. Default 'sha-256'. */
  digestAlgorithm?: 'sha-256' | 'sha-512';
  /** The token header name. Default 'Approov-Token'. */
  tokenHeader?: string;
}

/** The headers to add to a request so that it carries a valid installation message signature. */
export interface ApproovSignatureHeaders {
  'Signature-Input': string;
  Signature: string;
  /** Present when the request has a body (or a Content-Digest was given in `headers`). */
  'Content-Digest'?: string;
}

export interface ApproovSignedRequest {
  headers: ApproovSignatureHeaders;
  /** The exact text that was signed, for debugging a mismatch. */
  signatureBase: string;
}

/** Fields each SDK covers when the request has them, after `@method`, `@target-uri` and the token. */
const OPTIONAL_SIGNED_FIELDS: Readonly<
  Record<'android' | 'android-before-3.5.8' | 'ios' | 'default', readonly string[]>
> = {
  android: [
    'approov-traceid',
    'approov-status',
    'authorization',
    'content-length',
    'content-type',
    'content-digest',
  ],
  'android-before-3.5.8': [
    'authorization',
    'approov-traceid',
    'approov-status',
    'content-length',
    'content-type',
    'content-digest',
  ],
  ios: ['authorization', 'content-length', 'content-type'],
  default: ['authorization', 'content-length', 'content-type', 'content-digest'],
};

/**
 * Signs a request as an Approov SDK does (RFC 9421: label `install`, ECDSA P-256 r||s, or label
 * `account`, HMAC-SHA256), and returns the Signature-Input, Signature and Content-Digest headers.
 * For tests, demos and the CLI. Throws TypeError on a missing or unusable key, URL or component.
 */
export function createApproovRequestSignature(
  options: SignApproovRequestOptions,
): ApproovSignedRequest {
  const label = options.label ?? APPROOV_SIGNATURE_LABEL;
  const signBase = signerFor(label, options);
  const url = new URL(options.url);
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new TypeError('createApproovRequestSignature: url must be http or https');
  const scheme = url.protocol.slice(0, -1);
  const authority = options.authority ?? normalizeAuthority(url.host, scheme);
  if (authority === null)
    throw new TypeError('createApproovRequestSignature: url has no usable host');
  const requestTarget = `${url.pathname || '/'}${url.search}`;

  const fields = new Map<string, string>();
  for (const [name, value] of Object.entries(options.headers ?? {}))
    fields.set(name.toLowerCase(), value.trim());
  fields.set((options.tokenHeader ?? 'Approov-Token').toLowerCase(), options.token);
  const digestBody = options.contentDigest ?? options.sdk !== 'ios';
  if (options.body !== undefined && digestBody && !fields.has('content-digest')) {
    fields.set('content-digest', createContentDigest(options.body, options.digestAlgorithm));
  }

  const profile = sdkProfile(options);
  const tokenComponent = (options.tokenHeader ?? 'Approov-Token').toLowerCase();
  const components = [
    ...(options.components ?? [
      '@method',
      '@target-uri',
      tokenComponent,
      ...OPTIONAL_SIGNED_FIELDS[profile].filter((name) => fields.has(name)),
    ]),
  ];
  const created = options.created ?? Math.floor(Date.now() / 1000);
  const params = new Map<string, string | number>([
    [
      'alg',
      options.alg ??
        (label === 'account' ? ACCOUNT_SIGNATURE_ALGORITHM : APPROOV_SIGNATURE_ALGORITHM),
    ],
    ['created', created],
  ]);
  const expires = options.expires === undefined ? created + 15 : options.expires;
  if (expires !== null) params.set('expires', expires);
  if (options.nonce !== undefined) params.set('nonce', options.nonce);
  const signatureParams = serializeInnerList([
    components.map((name): Item => [name, new Map()]),
    params,
  ]);

  const target: RequestTargetParts = {
    scheme,
    authority,
    receivedAuthority: authority,
    requestTarget,
    path: url.pathname || '/',
    query: url.search === '' ? '?' : url.search,
    targetUri: `${scheme}://${authority}${requestTarget}`,
  };
  const resolve: ComponentResolver = (name) =>
    name.startsWith('@')
      ? derivedComponentValue(name, options.method, target)
      : (fields.get(name) ?? null);
  const signatureBase = buildSignatureBase(components, resolve, signatureParams);
  if (signatureBase === null)
    throw new TypeError(
      'createApproovRequestSignature: a covered component is missing from the request',
    );
  const signature = signBase(Buffer.from(signatureBase, 'latin1'));
  const form = options.signatureForm ?? (profile === 'android-before-3.5.8' ? 'string' : 'binary');

  const headers: ApproovSignatureHeaders = {
    'Signature-Input': `${label}=${signatureParams}`,
    Signature:
      form === 'string'
        ? serializeDictionary({ [label]: signature.toString('base64') })
        : serializeDictionary({ [label]: signature }),
  };
  const digest = fields.get('content-digest');
  if (digest !== undefined) headers['Content-Digest'] = digest;
  return { headers, signatureBase };
}

/**
 * The headers of several signatures of one request in one Signature-Input / Signature pair, as
 * the SDKs send `install` and `account` together (the Content-Digest of the first that has one).
 */
export function combineApproovSignatures(
  ...signed: readonly ApproovSignatureHeaders[]
): ApproovSignatureHeaders {
  const merged: ApproovSignatureHeaders = {
    'Signature-Input': signed.map((headers) => headers['Signature-Input']).join(', '),
    Signature: signed.map((headers) => headers.Signature).join(', '),
  };
  const digest = signed.find((headers) => headers['Content-Digest'] !== undefined)?.[
    'Content-Digest'
  ];
  if (digest !== undefined) merged['Content-Digest'] = digest;
  return merged;
}

/** Which SDK's default set to sign: the Android one changed its form and order in 3.5.8. */
function sdkProfile(options: SignApproovRequestOptions): keyof typeof OPTIONAL_SIGNED_FIELDS {
  if (options.sdkVersion === undefined) return options.sdk ?? 'default';
  const version = options.sdkVersion.split('.');
  if (
    options.sdk !== 'android' ||
    version.length < 2 ||
    version.length > 3 ||
    !version.every((part) => /^\d{1,4}$/.test(part))
  )
    throw new TypeError(
      "createApproovRequestSignature: sdkVersion is an Android SDK version such as '3.5.6', with sdk: 'android'",
    );
  const [major = 0, minor = 0, patch = 0] = version.map(Number);
  const before358 = major * 1e8 + minor * 1e4 + patch < 3 * 1e8 + 5 * 1e4 + 8;
  return before358 ? 'android-before-3.5.8' : 'android';
}

function signerFor(
  label: 'install' | 'account',
  options: SignApproovRequestOptions,
): (base: Buffer) => Buffer {
  if (label === 'account') {
    const secret =
      typeof options.accountKey === 'string'
        ? decodeBase64AnyStrict(options.accountKey.trim())
        : options.accountKey;
    if (secret === undefined || secret === null || secret.length === 0) {
      throw new TypeError(
        'createApproovRequestSignature: label account needs accountKey (base64 or base64url)',
      );
    }
    return (base) => createHmac('sha256', secret).update(base).digest();
  }
  if (options.privateKey === undefined)
    throw new TypeError('createApproovRequestSignature: label install needs privateKey');
  const key = loadInstallationPrivateKey(options.privateKey);
  return (base) => sign('sha256', base, { key, dsaEncoding: 'ieee-p1363' });
}

/** Loads an EC P-256 private key from a KeyObject, PEM, or PKCS#8 / SEC1 DER (bytes or base64). */
export function loadInstallationPrivateKey(input: KeyObject | string | Buffer): KeyObject {
  let key: KeyObject | undefined;
  if (typeof input === 'object' && !Buffer.isBuffer(input)) {
    key = input;
  } else if (typeof input === 'string' && input.includes('-----BEGIN')) {
    key = tryKey(() => createPrivateKey(input));
  } else {
    const der = typeof input === 'string' ? decodeBase64AnyStrict(input.trim()) : input;
    if (der !== null) {
      key =
        tryKey(() => createPrivateKey({ key: der, format: 'der', type: 'pkcs8' })) ??
        tryKey(() => createPrivateKey({ key: der, format: 'der', type: 'sec1' }));
    }
  }
  if (
    key === undefined ||
    key.type !== 'private' ||
    key.asymmetricKeyType !== 'ec' ||
    key.asymmetricKeyDetails?.namedCurve !== 'prime256v1'
  ) {
    throw new TypeError(
      'the installation key must be an EC P-256 private key (PEM, or PKCS#8 / SEC1 DER in base64)',
    );
  }
  return key;
}

function tryKey(load: () => KeyObject): KeyObject | undefined {
  try {
    return load();
  } catch {
    return undefined;
  }
}

/** The `ipk` claim value for a private key: base64 DER SubjectPublicKeyInfo of its public key. */
export function installationPublicKey(privateKey: KeyObject | string | Buffer): string {
  return createPublicKey(loadInstallationPrivateKey(privateKey))
    .export({ format: 'der', type: 'spki' })
    .toString('base64');
}

/** A fresh installation key pair: the private key as PKCS#8 PEM and the matching `ipk` claim. */
export function createInstallationKeyPair(): { privateKey: string; ipk: string } {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return {
    privateKey: privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
    ipk: publicKey.export({ format: 'der', type: 'spki' }).toString('base64'),
  };
}
