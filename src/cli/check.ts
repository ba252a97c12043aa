// `nestjs-approov check`: verify a token with the module's rules and print why.
import { systemClock } from '../core/clock.js';
import { decodeBase64UrlStrict } from '../core/encoding/base64.js';
import { TokenKeyring } from '../core/keys/keyring.js';
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
} from './io.js';

export const checkCommand: Command = {
  name: 'check',
  help: `Usage: nestjs-approov check --secret <base64> <token> [--bind <value> ...]

Verifies a token with the same rules as the NestJS module and prints its claims and the verdict.
With --bind, also checks the token's binding (pay claim) to those header values, in order.
Exits 0 when the token is valid, 1 when it is rejected (with the reason code).

Options:
  --secret <base64>  the secret, base64 or base64url (default: $APPROOV_BASE64_SECRET,
                     then $APPROOV_BASE64URL_SECRET)
  --bind <value>     a bound header value; repeat for several headers, in order`,
  run(args, env, io) {
    const { values, positionals } = parseCommandArgs(
      args,
      { secret: { type: 'string' }, bind: { type: 'string', multiple: true } },
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
    const keys = parseApproovSecrets(secretSourceOf(values.secret, env));
    const now = systemClock();
    // The module's own verifier, clock fixed to the `now` printed below, and no cache for one token.
    const verifier = new ApproovVerifier({
      keyring: TokenKeyring.ofSecrets(keys),
      now: () => now,
      cacheSize: 0,
    });
    const result = verifier.verifyToken(token, values.bind);
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
