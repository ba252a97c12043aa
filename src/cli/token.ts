// `nestjs-approov token`: mint a token as the Approov cloud would.
import { randomBytes } from 'node:crypto';
import { parseApproovSecrets } from '../core/keys/secret.js';
import { createApproovToken } from '../testing/index.js';
import {
  createApproovKeyPair,
  createApproovKeysetToken,
  type ApproovKeyPair,
} from '../testing/keyset.js';
import { isAsymmetricAlgorithm } from '../core/keys/algorithms.js';
import { readKeysetKey } from './keyset.js';
import {
  EXIT_OK,
  parseCommandArgs,
  parseSeconds,
  secretSourceOf,
  UsageError,
  type Command,
} from './io.js';

export const tokenCommand: Command = {
  name: 'token',
  help: `Usage: nestjs-approov token --secret <base64> [--exp <seconds>] [--bind <value> ...]
                            [--claim <name>=<value> ...] [--no-exp] [--invalid]
       nestjs-approov token --alg <ES256|RS256|PS256|EdDSA> --key <pem-file> [--kid <id>] [...]

Mints an Approov token, as the Approov cloud would, and prints it: HS256 with the account
secret, or with --alg signed by a keyset key (see: nestjs-approov keyset).

Options:
  --secret <base64>       the secret, base64 or base64url (default: $APPROOV_BASE64_SECRET,
                          then $APPROOV_BASE64URL_SECRET)
  --exp <seconds>         lifetime from now, default 300; a past token: --exp=-60
  --bind <value>          bind the token to a header value, e.g. --bind "Bearer abc"; repeat
                          for several headers, in order (like: approov token -setDataHashInToken)
  --claim <name>=<value>  add or override a claim; the value is JSON when it parses, else a string
  --no-exp                leave out the exp claim (a token every check must reject)
  --invalid               sign with a random other secret (or key), as a failed attestation would
  --alg <alg>             sign with a keyset key instead: ES256, RS256, PS256 or EdDSA
  --key <pem-file>        the keyset private key (with --alg), as nestjs-approov keyset writes it
  --kid <id>              the kid header (with --alg; default the key's RFC 7638 thumbprint)

Example:
  nestjs-approov token --secret "$APPROOV_BASE64_SECRET" --bind "Bearer my-user-token"`,
  run(args, env, io) {
    const { values } = parseCommandArgs(args, {
      secret: { type: 'string' },
      exp: { type: 'string' },
      bind: { type: 'string', multiple: true },
      claim: { type: 'string', multiple: true },
      'no-exp': { type: 'boolean' },
      invalid: { type: 'boolean' },
      alg: { type: 'string' },
      key: { type: 'string' },
      kid: { type: 'string' },
    });
    if (values.help) {
      io.out(this.help);
      return EXIT_OK;
    }
    if (values.exp !== undefined && values['no-exp'])
      throw new UsageError('--exp and --no-exp exclude each other.');
    const keysetAlg = values.alg === undefined || values.alg === 'HS256' ? undefined : values.alg;
    if (keysetAlg === undefined && (values.key !== undefined || values.kid !== undefined)) {
      throw new UsageError(
        '--key and --kid sign keyset tokens: give --alg ES256 (or RS256, PS256, EdDSA) too.',
      );
    }
    if (keysetAlg !== undefined && values.secret !== undefined)
      throw new UsageError(`--secret signs HS256 only, not --alg ${keysetAlg}.`);
    if (keysetAlg !== undefined && values.key === undefined && !values.invalid)
      throw new UsageError(`--alg ${keysetAlg} needs --key <pem-file>.`);

    const claims: Record<string, unknown> = {};
    for (const entry of values.claim ?? []) {
      const [name, value] = splitClaim(entry);
      claims[name] = value;
    }
    if (values['no-exp']) claims.exp = undefined;
    if (keysetAlg !== undefined) {
      // --invalid signs with a fresh key under the same kid: the JWKS cannot verify it.
      const key = values.invalid
        ? randomKeysetKey(values.key, keysetAlg, values.kid)
        : readKeysetKey(values.key!, keysetAlg, values.kid);
      io.out(
        createApproovKeysetToken({
          key,
          claims,
          ...(values.exp !== undefined ? { expiresIn: parseSeconds('--exp', values.exp) } : {}),
          ...(values.bind !== undefined ? { bind: values.bind } : {}),
        }),
      );
      return EXIT_OK;
    }
    // --invalid needs no secret: it signs with a random one, so any checker rejects the signature.
    const secret = values.invalid ? randomBytes(64) : checkedSecret(values.secret, env);
    io.out(
      createApproovToken({
        secret,
        claims,
        ...(values.exp !== undefined ? { expiresIn: parseSeconds('--exp', values.exp) } : {}),
        ...(values.bind !== undefined ? { bind: values.bind } : {}),
      }),
    );
    return EXIT_OK;
  },
};

/** A random key of `alg` under the kid of the key at `path` (or `kid`), for --invalid. */
function randomKeysetKey(
  path: string | undefined,
  alg: string,
  kid: string | undefined,
): ApproovKeyPair {
  if (!isAsymmetricAlgorithm(alg))
    throw new UsageError(`--alg must be HS256, ES256, RS256, PS256 or EdDSA (got "${alg}").`);
  const named = path === undefined ? undefined : readKeysetKey(path, alg, kid);
  const random = createApproovKeyPair(alg);
  return { ...random, kid: named?.kid ?? kid ?? random.kid };
}

/** The secret text, validated as the module would at boot. */
function checkedSecret(
  option: string | undefined,
  env: Readonly<Record<string, string | undefined>>,
): string {
  const source = secretSourceOf(option, env);
  parseApproovSecrets(source);
  return source.value as string;
}

function splitClaim(entry: string): [string, unknown] {
  const equals = entry.indexOf('=');
  if (equals <= 0) throw new UsageError(`--claim needs <name>=<value> (got "${entry}").`);
  const text = entry.slice(equals + 1);
  try {
    return [entry.slice(0, equals), JSON.parse(text)];
  } catch {
    return [entry.slice(0, equals), text];
  }
}
