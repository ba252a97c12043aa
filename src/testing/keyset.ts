import { createServer, type ServerResponse } from 'node:http';
import {
  generateKeyPairSync,
  randomBytes,
  sign,
  type JsonWebKey,
  type KeyObject,
} from 'node:crypto';
import type { AddressInfo } from 'node:net';
import {
  algorithmProfile,
  verifyKeyInput,
  type AsymmetricAlgorithm,
} from '../core/keys/algorithms.js';
import { bindingDigest } from '../core/token/binding.js';

/** A signing key of an Approov keyset, as `approov keyset -add ES256` makes one, for tests and demos. */
export interface ApproovKeyPair {
  readonly kid: string;
  readonly alg: AsymmetricAlgorithm;
  readonly privateKey: KeyObject;
  /** The public JWK as the JWKS publishes it: kty, crv/n/e, kid, alg, use. */
  readonly publicJwk: JsonWebKey;
}

/** A fresh key pair for `alg` (default ES256; RSA keys are 2048-bit) with a random or given `kid`. */
export function createApproovKeyPair(
  alg: AsymmetricAlgorithm = 'ES256',
  kid = randomBytes(8).toString('hex'),
): ApproovKeyPair {
  const { privateKey } =
    alg === 'ES256'
      ? generateKeyPairSync('ec', { namedCurve: 'P-256' })
      : alg === 'EdDSA'
        ? generateKeyPairSync('ed25519')
        : generateKeyPairSync('rsa', { modulusLength: 2048 });
  return approovKeyPairFrom(privateKey, alg, kid);
}

/** The ApproovKeyPair of an existing private key (for example read from a PEM file). */
export function approovKeyPairFrom(
  privateKey: KeyObject,
  alg: AsymmetricAlgorithm,
  kid: string,
): ApproovKeyPair {
  const publicJwk = { ...privateKey.export({ format: 'jwk' }), kid, alg, use: 'sig' } as Record<
    string,
    unknown
  >;
  for (const member of ['d', 'p', 'q', 'dp', 'dq', 'qi']) delete publicJwk[member];
  return Object.freeze({ kid, alg, privateKey, publicJwk: Object.freeze(publicJwk) as JsonWebKey });
}

/** The JWK Set that publishes these keys' public halves. */
export function createApproovJwks(...keys: ApproovKeyPair[]): { keys: JsonWebKey[] } {
  return { keys: keys.map((key) => ({ ...key.publicJwk })) };
}

export interface CreateApproovKeysetTokenOptions {
  /** The keyset key that signs; its `alg` and `kid` go into the header. */
  key: ApproovKeyPair;
  /** Seconds from now until `exp`. Default 300. */
  expiresIn?: number;
  /** Extra or overriding claims (`iss`, `aud`, ...); `exp: undefined` leaves `exp` out. */
  claims?: Record<string, unknown>;
  /** Bind the token to these header values (concatenated in order). */
  bind?: string | readonly string[];
  /** Extra or overriding JOSE header fields, for negative tests (`kid: undefined` leaves it out). */
  joseHeader?: Record<string, unknown>;
  /** Clock in seconds since the epoch. Default now. */
  now?: number;
}

/** Mints an Approov token signed with a keyset key (ES256, RS256, PS256 or EdDSA). */
export function createApproovKeysetToken(options: CreateApproovKeysetTokenOptions): string {
  const now = options.now ?? Math.floor(Date.now() / 1000);
  const expiresIn = options.expiresIn ?? 300;
  if (!Number.isFinite(now) || !Number.isFinite(expiresIn)) {
    throw new TypeError('createApproovKeysetToken: expiresIn and now must be finite numbers');
  }
  const claims: Record<string, unknown> = { exp: now + expiresIn };
  if (options.bind !== undefined) {
    claims.pay = bindingDigest(
      typeof options.bind === 'string' ? [options.bind] : [...options.bind],
    ).toString('base64');
  }
  Object.assign(claims, options.claims);
  const header: Record<string, unknown> = {
    alg: options.key.alg,
    typ: 'JWT',
    kid: options.key.kid,
    ...options.joseHeader,
  };
  return signCompact(header, claims, options.key);
}

/** A compact JWS over these exact header and claims, signed by `key` with its algorithm. */
export function signCompact(
  header: Record<string, unknown>,
  claims: Record<string, unknown>,
  key: ApproovKeyPair,
): string {
  const json = (value: Record<string, unknown>): string =>
    Buffer.from(JSON.stringify(value)).toString('base64url');
  const defined = (value: Record<string, unknown>) =>
    Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined));
  const signingInput = `${json(defined(header))}.${json(defined(claims))}`;
  const profile = algorithmProfile(key.alg);
  const signature = sign(
    profile.hash,
    Buffer.from(signingInput),
    verifyKeyInput(key.alg, key.privateKey),
  );
  return `${signingInput}.${signature.toString('base64url')}`;
}

/** How the test JWKS server misbehaves: an error status, no answer, a non-JSON body or an empty set. */
export type ApproovJwksFailure = 'error' | 'hang' | 'garbage' | 'empty';

export interface ApproovJwksServer {
  /** The JWKS URL, on 127.0.0.1: give it to the module's `jwksUri` option. */
  readonly url: string;
  /** Requests served so far. */
  readonly requestCount: number;
  /** Publish these keys from now on (a rotation). */
  setKeys(...keys: ApproovKeyPair[]): void;
  /** Misbehave from now on, or behave again with null. */
  fail(mode: ApproovJwksFailure | null): void;
  close(): Promise<void>;
}

/**
 * Serves a JWKS on a free 127.0.0.1 port for end-to-end tests of an app that uses `jwksUri`:
 * rotate keys with setKeys(), make it fail with fail(), count fetches with requestCount.
 */
export async function startApproovJwksServer(
  ...keys: ApproovKeyPair[]
): Promise<ApproovJwksServer> {
  let published = createApproovJwks(...keys);
  let failure: ApproovJwksFailure | null = null;
  let requestCount = 0;
  const hanging = new Set<ServerResponse>();
  const server = createServer((request, response) => {
    requestCount++;
    request.resume();
    if (failure === 'hang') {
      hanging.add(response);
      response.on('close', () => hanging.delete(response));
      return;
    }
    if (failure === 'error') {
      response.writeHead(503, { 'content-type': 'text/plain' }).end('unavailable');
      return;
    }
    const body =
      failure === 'garbage'
        ? '<html>not a key set'
        : JSON.stringify(failure === 'empty' ? { keys: [] } : published);
    response
      .writeHead(200, { 'content-type': 'application/jwk-set+json', 'cache-control': 'no-store' })
      .end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/.well-known/jwks.json`,
    get requestCount() {
      return requestCount;
    },
    setKeys: (...next) => {
      published = createApproovJwks(...next);
    },
    fail: (mode) => {
      failure = mode;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const response of hanging) response.destroy();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
