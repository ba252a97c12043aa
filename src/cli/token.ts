// `nestjs-approov token`: mint a token as the Approov cloud would.
import { randomBytes } from 'node:crypto';
import { parseApproovSecrets } from '../core/token/secret.js';
import { createApproovToken } from '../testing/index.js';
import { EXIT_OK, parseCommandArgs, parseSeconds, secretSourceOf, UsageError, type Command } from './io.js';

export const tokenCommand: Command = {
  name: 'token',
  help: `Usage: nestjs-approov token --secret <base64> [--exp <seconds>] [--bind <value> ...]
                            [--claim <name>=<value> ...] [--no-exp] [--invalid]

Mints an HS256 Approov token, as the Approov cloud would, and prints it.

Options:
  --secret <base64>       the secret, base64 or base64url (default: $APPROOV_BASE64_SECRET,
                          then $APPROOV_BASE64URL_SECRET)
  --exp <seconds>         lifetime from now, default 300; a past token: --exp=-60
  --bind <value>          bind the token to a header value, e.g. --bind "Bearer abc"; repeat
                          for several headers, in order (like: approov token -setDataHashInToken)
  --claim <name>=<value>  add or override a claim; the value is JSON when it parses, else a string
  --no-exp                leave out the exp claim (a token every check must reject)
  --invalid               sign with a random other secret, as a failed attestation would

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
    });
    if (values.help) {
      io.out(this.help);
      return EXIT_OK;
    }
    if (values.exp !== undefined && values['no-exp']) throw new UsageError('--exp and --no-exp exclude each other.');

    // --invalid needs no secret: it signs with a random one, so any checker rejects the signature.
    const secret = values.invalid ? randomBytes(64) : checkedSecret(values.secret, env);
    const claims: Record<string, unknown> = {};
    for (const entry of values.claim ?? []) {
      const [name, value] = splitClaim(entry);
      claims[name] = value;
    }
    if (values['no-exp']) claims.exp = undefined;
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

/** The secret text, validated as the module would at boot. */
function checkedSecret(option: string | undefined, env: Readonly<Record<string, string | undefined>>): string {
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
