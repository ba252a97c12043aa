// `nestjs-approov keyset`: a signing key pair and the JWKS that publishes it, as an Approov keyset holds them.
import { createHash, createPrivateKey, type KeyObject } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { EXIT_OK, parseCommandArgs, UsageError, type Command } from './io.js';
import {
  ASYMMETRIC_ALGORITHMS,
  isAsymmetricAlgorithm,
  type AsymmetricAlgorithm,
} from '../core/keys/algorithms.js';
import {
  approovKeyPairFrom,
  createApproovKeyPair,
  type ApproovKeyPair,
} from '../testing/keyset.js';

const KEYSET_HELP = `Usage: nestjs-approov keyset [--alg <alg>] [--kid <id>] [--key-out <path>] [--jwks <path>]

Makes a signing key pair as "approov keyset -add ES256" does, writes the private key (PEM,
mode 600) and the public JWKS, for a local JWKS endpoint and for "token --alg". When the
JWKS file exists, the new key is added to it (a rotation); the private key file is never
overwritten.

Options:
  --alg <alg>        ${ASYMMETRIC_ALGORITHMS.join(', ')} (default ES256)
  --kid <id>         the key id (default: the key's RFC 7638 thumbprint)
  --key-out <path>   where the private key goes (default approov-keyset-<kid>.pem)
  --jwks <path>      where the JWKS goes (default jwks.json)

Example:
  nestjs-approov keyset --alg ES256 --kid k1
  nestjs-approov token --alg ES256 --key approov-keyset-k1.pem --kid k1`;

export const keysetCommand: Command = {
  name: 'keyset',
  help: KEYSET_HELP,
  run(args, _env, io) {
    const { values } = parseCommandArgs(args, {
      alg: { type: 'string' },
      kid: { type: 'string' },
      'key-out': { type: 'string' },
      jwks: { type: 'string' },
    });
    if (values.help) {
      io.out(KEYSET_HELP);
      return EXIT_OK;
    }
    return makeKeyset(values, io);
  },
};

function makeKeyset(
  values: { alg?: string; kid?: string; 'key-out'?: string; jwks?: string },
  io: { out: (line: string) => void },
): number {
  const alg = checkedAlgorithm(values.alg ?? 'ES256');
  const generated = createApproovKeyPair(alg);
  const key = approovKeyPairFrom(
    generated.privateKey,
    alg,
    values.kid ?? jwkThumbprint(generated.privateKey),
  );
  const keyPath =
    values['key-out'] ?? `approov-keyset-${key.kid.replace(/[^A-Za-z0-9._-]/g, '_')}.pem`;
  const jwksPath = values.jwks ?? 'jwks.json';
  if (existsSync(keyPath)) throw new UsageError(`${keyPath} exists: give another --key-out.`);

  const jwks = existsSync(jwksPath) ? readJwks(jwksPath) : { keys: [] };
  if (jwks.keys.some((entry) => (entry as { kid?: unknown }).kid === key.kid)) {
    throw new UsageError(`${jwksPath} already has a key with kid "${key.kid}".`);
  }
  jwks.keys.push({ ...key.publicJwk });
  writeFileSync(keyPath, key.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string, {
    mode: 0o600,
    flag: 'wx',
  });
  writeFileSync(jwksPath, `${JSON.stringify(jwks, null, 2)}\n`);
  io.out(`kid: ${key.kid}`);
  io.out(`alg: ${alg}`);
  io.out(`private key: ${keyPath}`);
  io.out(`jwks: ${jwksPath} (${jwks.keys.length} key${jwks.keys.length === 1 ? '' : 's'})`);
  io.out(`sign a token: nestjs-approov token --alg ${alg} --key ${keyPath} --kid ${key.kid}`);
  return EXIT_OK;
}

/** The keyset key in a PEM file, for `token --alg`; the kid defaults to its thumbprint. */
export function readKeysetKey(path: string, alg: string, kid: string | undefined): ApproovKeyPair {
  const algorithm = checkedAlgorithm(alg);
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(readFileSync(path));
  } catch {
    throw new UsageError(`--key ${path} is not a readable private key (PEM or DER).`);
  }
  const type = privateKey.asymmetricKeyType;
  const fits =
    algorithm === 'ES256'
      ? type === 'ec' && privateKey.asymmetricKeyDetails?.namedCurve === 'prime256v1'
      : algorithm === 'EdDSA'
        ? type === 'ed25519'
        : type === 'rsa';
  if (!fits)
    throw new UsageError(
      `--key ${path} is a ${type ?? 'unknown'} key: it cannot sign ${algorithm}.`,
    );
  return approovKeyPairFrom(privateKey, algorithm, kid ?? jwkThumbprint(privateKey));
}

/** RFC 7638: SHA-256 over the required public members in lexicographic order, base64url. */
export function jwkThumbprint(key: KeyObject): string {
  const jwk = key.export({ format: 'jwk' });
  const members =
    jwk.kty === 'RSA'
      ? { e: jwk.e, kty: jwk.kty, n: jwk.n }
      : jwk.kty === 'EC'
        ? { crv: jwk.crv, kty: jwk.kty, x: jwk.x, y: jwk.y }
        : { crv: jwk.crv, kty: jwk.kty, x: jwk.x };
  return createHash('sha256').update(JSON.stringify(members)).digest('base64url');
}

function checkedAlgorithm(alg: string): AsymmetricAlgorithm {
  if (!isAsymmetricAlgorithm(alg))
    throw new UsageError(
      `--alg must be one of ${ASYMMETRIC_ALGORITHMS.join(', ')} (got "${alg}").`,
    );
  return alg;
}

function readJwks(path: string): { keys: unknown[] } {
  try {
    const parsed = JSON.parse(readFileSync(path, 'utf8')) as { keys?: unknown };
    if (Array.isArray(parsed.keys)) return { ...parsed, keys: parsed.keys };
  } catch {
    // reported below
  }
  throw new UsageError(`${path} is not a JWKS file (an object with a "keys" array).`);
}
