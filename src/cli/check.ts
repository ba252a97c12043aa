// `nestjs-approov check`: verify a token with the module's rules and print why.
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import type { KeyObject } from 'node:crypto';
import { systemClock } from '../core/clock.js';
import { decodeBase64UrlStrict } from '../core/encoding/base64.js';
import { TokenKeyring } from '../core/keys/keyring.js';
import { DEFAULT_KEYSET_FETCH_OPTIONS, JwksKeySet } from '../core/keys/keyset.js';
import { checkAlgorithms, checkJwksUri } from '../core/keys/keyset-options.js';
import { parseApproovSecrets } from '../core/keys/secret.js';
import { parseJsonObject } from '../core/token/jws.js';
import { ApproovVerifier } from '../core/token/verifier.js';
import {
  EXIT_OK,
  EXIT_REJECTED,
  parseCommandArgs,
  secretSourceOf,
  UsageError,
  type Command,
  type Env,
  type Output,
} from './io.js';

export const checkCommand: Command = {
  name: 'check',
  help: `Usage: nestjs-approov check --secret <base64> <token> [--bind <value> ...]
       nestjs-approov check --jwks <url> | --jwks-file <path> [--algorithms <list>] <token>

Verifies a token with the same rules as the NestJS module and prints its claims and the verdict.
With --bind, also checks the token's binding (pay claim) to those header values, in order.
With --jwks or --jwks-file, keyset tokens (ES256, RS256, ...) verify with that JWK Set's keys,
read as the module reads its jwksUri; HS256 tokens still need a secret.
Exits 0 when the token is valid, 1 when it is rejected (with the reason code), 2 when the
command or the keyset is unusable.

Options:
  --secret <base64>    the secret, base64 or base64url (default: $APPROOV_BASE64_SECRET,
                       then $APPROOV_BASE64URL_SECRET; optional with a keyset)
  --bind <value>       a bound header value; repeat for several headers, in order
  --jwks <url>         the JWK Set URL (https, or http on a loopback host), fetched once
  --jwks-file <path>   a JWK Set file instead
  --algorithms <list>  the keyset algorithms accepted, comma-separated (default ES256,RS256)`,
  async run(args, env, io) {
    const { values, positionals } = parseCommandArgs(
      args,
      {
        secret: { type: 'string' },
        bind: { type: 'string', multiple: true },
        jwks: { type: 'string' },
        'jwks-file': { type: 'string' },
        algorithms: { type: 'string' },
      },
      true,
    );
    if (values.help) {
      io.out(this.help);
      return EXIT_OK;
    }
    if (positionals.length !== 1) {
      throw new UsageError(
        positionals.length === 0 ? 'give the token to check.' : 'give exactly one token.',
      );
    }
    const token = positionals[0]!;
    const keyset = await loadKeyset(values, io);
    const keys = secretsFor(values.secret, env, keyset !== undefined);
    const now = systemClock();
    // The module's own verifier and keyring, clock fixed to the `now` printed below, no cache for one token.
    const verifier = new ApproovVerifier({
      keyring: new TokenKeyring(
        keys.map((key) => ({ key })),
        keyset,
        keyset?.config.algorithms ?? [],
      ),
      now: () => now,
      cacheSize: 0,
    });
    const result = verifier.verifyToken(token, values.bind);
    keyset?.close();
    const code = result.ok ? null : result.code;

    const decoded = decodePayload(token);
    if (decoded === null) {
      io.out('claims: (the payload is not a base64url JSON object)');
    } else {
      io.out(
        `claims${code === null ? '' : ' (not trusted: the token is rejected)'}: ${JSON.stringify(decoded, null, 2)}`,
      );
      if (typeof decoded.exp === 'number' && Number.isFinite(decoded.exp)) {
        const seconds = Math.round(decoded.exp - now);
        io.out(
          `expires: ${isoDate(decoded.exp)} (${seconds >= 0 ? `in ${seconds} s` : `${-seconds} s ago`})`,
        );
      }
    }
    if (code !== null) {
      io.out(`verdict: rejected (${code})`);
      return EXIT_REJECTED;
    }
    io.out(
      `verdict: valid${values.bind === undefined ? '' : `, bound to the ${values.bind.length} given value(s)`}`,
    );
    if (values.bind === undefined && decoded?.pay !== undefined) {
      io.out('note: the token carries a binding (pay); give --bind <value> to check it too.');
    }
    return EXIT_OK;
  },
};

/** The secrets from --secret or the environment; none is fine when a keyset gives the keys. */
function secretsFor(option: string | undefined, env: Env, hasKeyset: boolean): KeyObject[] {
  let source;
  try {
    source = secretSourceOf(option, env);
  } catch (error) {
    if (hasKeyset) return [];
    throw error;
  }
  return parseApproovSecrets(source);
}

/**
 * The keyset of --jwks (fetched once, as the module fetches jwksUri: same deadline, size cap and
 * key import) or --jwks-file (the same import, over the file's bytes). Undefined without either.
 */
async function loadKeyset(
  values: { jwks?: string; 'jwks-file'?: string; algorithms?: string },
  io: Output,
): Promise<JwksKeySet | undefined> {
  const { jwks, 'jwks-file': file, algorithms } = values;
  if (jwks !== undefined && file !== undefined)
    throw new UsageError('give --jwks or --jwks-file, not both.');
  if (jwks === undefined && file === undefined) {
    if (algorithms !== undefined) throw new UsageError('--algorithms needs --jwks or --jwks-file.');
    return undefined;
  }
  const refuse = (option: string, why: string): never => {
    throw new UsageError(`${option === 'jwksUri' ? '--jwks' : `--${option}`} ${why}`);
  };
  const accepted = checkAlgorithms(
    algorithms?.split(',').map((alg) => alg.trim()),
    refuse,
  );
  let uri: URL;
  let fetchImpl: typeof fetch | undefined;
  if (file !== undefined) {
    let bytes: Buffer;
    try {
      bytes = readFileSync(file);
    } catch {
      throw new UsageError(`--jwks-file ${file} is not a readable file.`);
    }
    uri = pathToFileURL(file);
    fetchImpl = () => Promise.resolve(new Response(bytes, { status: 200 }));
  } else {
    uri = checkJwksUri(jwks, refuse);
  }
  const keyset = new JwksKeySet({
    ...DEFAULT_KEYSET_FETCH_OPTIONS,
    uri,
    algorithms: accepted,
    fetch: fetchImpl,
  });
  let failure = 'no usable key';
  keyset.onEvent((event) => {
    if (event.type === 'fetch_failed') failure = event.reason;
    else {
      io.out(`keyset: ${event.keyCount} key(s) for ${accepted.join(', ')}`);
      for (const skipped of event.skipped) io.out(`keyset: skipped ${skipped}`);
    }
  });
  const loaded = await keyset.start();
  if (!loaded) {
    keyset.close();
    throw new UsageError(`${file === undefined ? '--jwks' : '--jwks-file'}: ${failure}.`);
  }
  return keyset;
}

/** The payload as a JSON object even when the token is rejected, to show what it claims. */
function decodePayload(token: string): Record<string, unknown> | null {
  const parts = token.split('.');
  if (parts.length !== 3) return null;
  const bytes = decodeBase64UrlStrict(parts[1]!);
  return bytes === null ? null : parseJsonObject(bytes);
}

function isoDate(seconds: number): string {
  const date = new Date(seconds * 1000);
  return Number.isNaN(date.getTime()) ? 'out of range' : date.toISOString();
}
